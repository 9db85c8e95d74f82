//! How the command ends: its own exit statuses, the one error line, and the status when the
//! output could not be written (`docs/command.md`); the exit status of a run and of a check
//! (coreutils `timeout` conventions: 124–127, 128+N).

use reml_process::outcome::{Cause, ProcessOutcome};
use reml_process::{ProcessError, ProcessErrorKind};

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

/// The exit status of `reml-process run` for a run's outcome (coreutils `timeout`
/// conventions, `docs/command.md`): 125 when a required audit log could not be written
/// (whatever else happened: the job was ended); the child's code; 124 when our limit expired
/// (time limit or output-cap kill); 128+N for a signal not ours; for a start failure 127 (not
/// found), 126 (cannot run or denied), 125 (ours), or as [`exit_status_for_error`] says for
/// a wait of the spawn that was cut short.
pub fn exit_status(outcome: &ProcessOutcome) -> i32 {
    if outcome
        .error
        .as_ref()
        .is_some_and(ProcessError::is_audit_failure)
    {
        return 125;
    }
    if outcome.timed_out || outcome.cause == Cause::OutputCapped {
        return 124;
    }
    if let Some(t) = outcome.termination {
        return t.shell_code();
    }
    match &outcome.error {
        Some(e) => exit_status_for_error(e),
        None => 125,
    }
}

/// The exit status for an error that kept a program from starting (`run`, and the decision
/// of `check`): 127 not found; 126 cannot run or denied; 124 when the time limit passed while
/// the spawn waited for a stdio FIFO's other end (`TimedOut`); 128+N when signal N
/// interrupted that wait (`TerminatedBySignal`); 125 for the rest (ours).
pub fn exit_status_for_error(e: &ProcessError) -> i32 {
    if e.is_audit_failure() {
        return 125;
    }
    match e.kind {
        ProcessErrorKind::TimedOut => 124,
        ProcessErrorKind::TerminatedBySignal => match e.code {
            Some(n @ 1..=64) => 128 + n,
            _ => 125,
        },
        ProcessErrorKind::PermissionDenied => 126,
        ProcessErrorKind::SpawnFailed => match e.code {
            Some(libc::ENOENT) => 127,
            Some(libc::EACCES | libc::ENOEXEC | libc::EISDIR | libc::ETXTBSY | libc::EPERM) => 126,
            // Linux only (a bad ELF interpreter).
            #[cfg(target_os = "linux")]
            Some(libc::ELIBBAD) => 126,
            _ => 125,
        },
        _ => 125,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spawn_failed(errno: i32) -> ProcessError {
        ProcessError::with_code(ProcessErrorKind::SpawnFailed, "x", errno)
    }

    #[test]
    fn errors_map_to_the_timeout_conventions() {
        assert_eq!(exit_status_for_error(&spawn_failed(libc::ENOENT)), 127);
        for errno in [
            libc::EACCES,
            libc::ENOEXEC,
            libc::EISDIR,
            libc::ETXTBSY,
            libc::EPERM,
        ] {
            assert_eq!(exit_status_for_error(&spawn_failed(errno)), 126, "{errno}");
        }
        assert_eq!(exit_status_for_error(&spawn_failed(libc::ENOMEM)), 125);
        assert_eq!(exit_status_for_error(&ProcessError::denied("no")), 126);
        assert_eq!(
            exit_status_for_error(&ProcessError::audit_failed("disk")),
            125
        );
        let timed_out = ProcessError::new(ProcessErrorKind::TimedOut, "fifo");
        assert_eq!(exit_status_for_error(&timed_out), 124);
        let signalled = ProcessError::with_code(ProcessErrorKind::TerminatedBySignal, "int", 2);
        assert_eq!(exit_status_for_error(&signalled), 130);
        assert_eq!(exit_status_for_error(&ProcessError::invalid("bad")), 125);
    }

    #[test]
    fn an_audit_failure_outranks_the_child_and_the_time_limit() {
        let outcome = ProcessOutcome {
            program: "/bin/true".into(),
            args: Vec::new(),
            pid: Some(1),
            termination: Some(reml_process::Termination::Exited(
                reml_process::ExitStatus::from_code(3),
            )),
            timed_out: true,
            cause: Cause::TimedOut,
            duration: std::time::Duration::ZERO,
            output: Default::default(),
            error: Some(ProcessError::audit_failed("disk full")),
            isolation: Default::default(),
        };
        assert_eq!(exit_status(&outcome), 125);
        let outcome = ProcessOutcome {
            error: None,
            ..outcome
        };
        assert_eq!(exit_status(&outcome), 124);
        let outcome = ProcessOutcome {
            timed_out: false,
            cause: Cause::Exited,
            ..outcome
        };
        assert_eq!(exit_status(&outcome), 3);
    }
}
