//! How the command ends: its own exit statuses, the one error line, and the status when the
//! output could not be written (`docs/command.md`).

use crate::output::escape_controls;

/// Exit status for our own failures (bad option, invalid policy, audit not writable).
pub const EXIT_OWN_FAILURE: i32 = 125;

/// Prints `reml-process: MESSAGE` on standard error: always one line (`docs/command.md`).
///
/// Control characters in the message — a program name or a path with a newline or an escape
/// sequence in it — are escaped here ([`escape_controls`]), so no caller can forget it.
/// Bytes that are not UTF-8 must be made visible when the message is built
/// ([`reml_process::error::os_text`]; the library's messages do so). Written through
/// [`output`](crate::output) like everything else: a full or closed stderr is no panic.
pub fn error_line(message: impl std::fmt::Display) {
    let line = format!(
        "reml-process: {}
",
        escape_controls(&message.to_string())
    );
    crate::output::stderr(line.as_bytes());
}

/// The exit status of the command that would exit with `status`: 125 when a write failed
/// with anything but `EPIPE` ([`crate::output`]), after one line saying so on standard error
/// (when standard error can still take it); `status` otherwise.
pub fn finish(status: i32) -> i32 {
    match crate::output::take_failure() {
        Some(reason) => {
            error_line(format_args!("cannot write the output: {reason}"));
            EXIT_OWN_FAILURE
        }
        None => status,
    }
}
