//! Errors of the plugin and their diagnostics (spec §5).
//!
//! [`ProcessError`] and [`ThreadError`] follow the spec's shapes (`{ kind, message, code }` and
//! `{ kind, message }`). Both implement [`IntoDiagnostic`], which turns them into a
//! [`Diagnostic`] with a stable machine code (`core.process.spawn_failed`, …), a severity, the
//! message and audit metadata, so they merge into the audit log.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// The kind of a [`ProcessError`] (spec §5 `ProcessErrorKind`).
///
/// How failures map to kinds:
/// - a malformed command (empty program, NUL byte, bad env key, missing cwd, stale handle,
///   invalid signal, argument list too long) → [`InvalidCommand`](Self::InvalidCommand);
/// - no permission (file not executable, denied by the policy, effect outside the scope)
///   → [`PermissionDenied`](Self::PermissionDenied);
/// - the OS refusing to create or exec the child, or to wait for it → [`SpawnFailed`](Self::SpawnFailed)
///   with the errno in [`ProcessError::code`];
/// - a time limit that expired → [`TimedOut`](Self::TimedOut) (also from a spawn whose wait
///   for a stdio FIFO's other end passed `Command::stdio_open_timeout`);
/// - the child ended by a signal → [`TerminatedBySignal`](Self::TerminatedBySignal) with the
///   signal number in `code` (also from a spawn whose wait for a stdio FIFO was ended by
///   `Command::interrupt`, with the signal it was triggered with);
/// - a feature this platform lacks → [`Unsupported`](Self::Unsupported).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessErrorKind {
    /// The OS could not create or start the process (errno in `code`).
    SpawnFailed,
    /// A wait's time limit expired; the process keeps running and its handle stays valid.
    /// From a spawn: the wait for a stdio FIFO's other end expired, nothing was started.
    TimedOut,
    /// The process was ended by a signal (signal number in `code`). From a spawn: a signal
    /// ended the wait for a stdio FIFO's other end, nothing was started.
    TerminatedBySignal,
    /// The command or an argument of the call is malformed.
    InvalidCommand,
    /// The caller may not do this: file permissions, the security policy, or the effect scope.
    PermissionDenied,
    /// Not available on this platform or in this configuration.
    Unsupported,
}

impl ProcessErrorKind {
    /// The snake_case name used in JSON (`docs/command.md` `error.kind`), e.g. `"spawn_failed"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProcessErrorKind::SpawnFailed => "spawn_failed",
            ProcessErrorKind::TimedOut => "timed_out",
            ProcessErrorKind::TerminatedBySignal => "terminated_by_signal",
            ProcessErrorKind::InvalidCommand => "invalid_command",
            ProcessErrorKind::PermissionDenied => "permission_denied",
            ProcessErrorKind::Unsupported => "unsupported",
        }
    }
}

impl fmt::Display for ProcessErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of a process operation (spec §5 `ProcessError`).
///
/// `code` is the OS error number (errno) for OS failures, and the signal number for
/// [`ProcessErrorKind::TerminatedBySignal`]; `None` otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProcessError {
    /// What went wrong, as one of the spec's six kinds.
    pub kind: ProcessErrorKind,
    /// A human-readable message naming the program or argument concerned and the reason.
    /// Names and paths in it show their bytes that are not UTF-8 as `\xNN` ([`os_text`]);
    /// control characters are not escaped here (a printer does that).
    pub message: String,
    /// The errno, or the signal number for `TerminatedBySignal`.
    pub code: Option<i32>,
    /// A diagnostic code that replaces the kind's (`system.capability.missing`).
    #[serde(skip)]
    diagnostic: Option<&'static str>,
    /// Refused by the security policy (not by the OS).
    #[serde(skip)]
    policy: bool,
}

impl ProcessError {
    /// Builds an error with no code.
    pub fn new(kind: ProcessErrorKind, message: impl Into<String>) -> Self {
        ProcessError {
            kind,
            message: message.into(),
            code: None,
            diagnostic: None,
            policy: false,
        }
    }

    /// Builds an error with a code (errno or signal number).
    pub fn with_code(kind: ProcessErrorKind, message: impl Into<String>, code: i32) -> Self {
        ProcessError {
            kind,
            message: message.into(),
            code: Some(code),
            diagnostic: None,
            policy: false,
        }
    }

    /// `InvalidCommand` with `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ProcessErrorKind::InvalidCommand, message)
    }

    /// `PermissionDenied` with `message`.
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(ProcessErrorKind::PermissionDenied, message)
    }

    /// `PermissionDenied` decided by the security policy: `code` is `EACCES` (13)
    /// like the OS's refusal, and [`is_policy_denial`](Self::is_policy_denial) tells the two
    /// apart (the audit log records `process.denied` for these).
    pub fn denied_by_policy(message: impl Into<String>) -> Self {
        let mut e = Self::with_code(ProcessErrorKind::PermissionDenied, message, libc::EACCES);
        e.policy = true;
        e
    }

    /// Whether the security policy refused the operation (see
    /// [`denied_by_policy`](Self::denied_by_policy)).
    pub fn is_policy_denial(&self) -> bool {
        self.policy
    }

    /// `Unsupported` with `message`.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ProcessErrorKind::Unsupported, message)
    }

    /// An OS failure: `message: <strerror> (errno N)`, kind `SpawnFailed` unless the errno is
    /// `EACCES`/`EPERM` (then `PermissionDenied`).
    pub fn from_errno(message: impl fmt::Display, errno: i32) -> Self {
        let kind = if errno == libc::EACCES || errno == libc::EPERM {
            ProcessErrorKind::PermissionDenied
        } else {
            ProcessErrorKind::SpawnFailed
        };
        ProcessError::with_code(
            kind,
            format!("{message}: {} (errno {errno})", errno_text(errno)),
            errno,
        )
    }

    /// An OS failure reported by the `sys` layer: [`from_errno`](Self::from_errno) with its
    /// errno (`EIO` when it carries none), or `Unsupported` with `message: <reason>` when the
    /// backend does not implement the operation on this platform (an `io::Error` of kind
    /// `Unsupported` without an errno; the Linux backend never returns one).
    pub(crate) fn from_io(message: impl fmt::Display, e: &std::io::Error) -> Self {
        match e.raw_os_error() {
            Some(errno) => Self::from_errno(message, errno),
            None if e.kind() == std::io::ErrorKind::Unsupported => {
                Self::unsupported(format!("{message}: {e}"))
            }
            None => Self::from_errno(message, libc::EIO),
        }
    }

    /// `Unsupported` because no capability is registered under `id` (registry chapter 3-8;
    /// spec §6): diagnostic code `system.capability.missing`.
    pub fn capability_missing(id: &str) -> Self {
        ProcessError {
            kind: ProcessErrorKind::Unsupported,
            message: format!(
                "no capability is registered under `{id}` (system.capability.missing)"
            ),
            code: None,
            diagnostic: Some("system.capability.missing"),
            policy: false,
        }
    }

    /// `PermissionDenied` because the audit log is required (`audit_required = true`) and a
    /// record cannot be written: diagnostic code [`AUDIT_FAILED`](Self::AUDIT_FAILED), told
    /// apart by [`is_audit_failure`](Self::is_audit_failure). `reml-process run` exits 125
    /// for it (our own failure, not the program's).
    pub fn audit_failed(message: impl Into<String>) -> Self {
        let mut e = Self::new(ProcessErrorKind::PermissionDenied, message);
        e.diagnostic = Some(Self::AUDIT_FAILED);
        e
    }

    /// The diagnostic code of [`audit_failed`](Self::audit_failed).
    pub const AUDIT_FAILED: &'static str = "core.process.audit_failed";

    /// Whether this is a required audit log that could not be written
    /// ([`audit_failed`](Self::audit_failed)).
    pub fn is_audit_failure(&self) -> bool {
        self.diagnostic == Some(Self::AUDIT_FAILED)
    }

    /// The stable diagnostic code of this error: `core.process.<kind>` (e.g.
    /// `core.process.spawn_failed`), `system.capability.missing` for
    /// [`capability_missing`](Self::capability_missing), `core.process.audit_failed` for
    /// [`audit_failed`](Self::audit_failed).
    pub fn diagnostic_code(&self) -> String {
        match self.diagnostic {
            Some(code) => code.to_owned(),
            None => format!("core.process.{}", self.kind.as_str()),
        }
    }
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProcessError {}

/// The kind of a [`ThreadError`] (spec §5 `ThreadErrorKind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadErrorKind {
    /// The thread could not be created or configured (name, stack size, priority, limits).
    CreationFailed,
    /// The thread could not be joined: it panicked, is detached, was joined already, the time
    /// limit expired, or the handle is stale.
    JoinFailed,
    /// An affinity set is empty or names a CPU that does not exist, is offline or not allowed.
    InvalidAffinity,
    /// Not available on this platform or in this configuration.
    Unsupported,
}

impl ThreadErrorKind {
    /// The snake_case name used in JSON, e.g. `"invalid_affinity"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ThreadErrorKind::CreationFailed => "creation_failed",
            ThreadErrorKind::JoinFailed => "join_failed",
            ThreadErrorKind::InvalidAffinity => "invalid_affinity",
            ThreadErrorKind::Unsupported => "unsupported",
        }
    }
}

impl fmt::Display for ThreadErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of a thread operation (spec §5 `ThreadError`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ThreadError {
    /// What went wrong.
    pub kind: ThreadErrorKind,
    /// A human-readable message; OS failures include the errno.
    pub message: String,
}

impl ThreadError {
    /// Builds a thread error.
    pub fn new(kind: ThreadErrorKind, message: impl Into<String>) -> Self {
        ThreadError {
            kind,
            message: message.into(),
        }
    }

    /// The stable diagnostic code, e.g. `core.process.thread.creation_failed`.
    pub fn diagnostic_code(&self) -> String {
        format!("core.process.thread.{}", self.kind.as_str())
    }
}

impl fmt::Display for ThreadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ThreadError {}

/// The severity of a [`Diagnostic`] or an audit record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Informational: an operation happened.
    Info,
    /// Something worth a look that did not stop the operation.
    Warning,
    /// The operation failed or was refused.
    Error,
}

impl Severity {
    /// `"info"`, `"warning"` or `"error"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A structured diagnostic (spec §5 `IntoDiagnostic`, audit chapter 3-6).
///
/// `code` is stable and machine-readable (`core.process.spawn_failed`,
/// `system.capability.missing`, …); `metadata` holds audit keys such as `process.pid`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    /// Stable machine code.
    pub code: String,
    /// How serious it is.
    pub severity: Severity,
    /// Human-readable message.
    pub message: String,
    /// Audit metadata (keys like `process.pid`, `error.code`), sorted by key.
    pub metadata: BTreeMap<String, serde_json::Value>,
}

/// Conversion into a structured [`Diagnostic`] (spec §5).
pub trait IntoDiagnostic {
    /// The diagnostic for this value; never fails.
    fn into_diagnostic(self) -> Diagnostic;
}

impl IntoDiagnostic for ProcessError {
    fn into_diagnostic(self) -> Diagnostic {
        let mut metadata = BTreeMap::new();
        metadata.insert("error.kind".to_owned(), self.kind.as_str().into());
        if let Some(code) = self.code {
            let key = if self.kind == ProcessErrorKind::TerminatedBySignal {
                "process.signal"
            } else {
                "error.errno"
            };
            metadata.insert(key.to_owned(), code.into());
        }
        let severity = match self.kind {
            ProcessErrorKind::TimedOut | ProcessErrorKind::TerminatedBySignal => Severity::Warning,
            _ => Severity::Error,
        };
        Diagnostic {
            code: self.diagnostic_code(),
            severity,
            message: self.message,
            metadata,
        }
    }
}

impl IntoDiagnostic for ThreadError {
    fn into_diagnostic(self) -> Diagnostic {
        let mut metadata = BTreeMap::new();
        metadata.insert("error.kind".to_owned(), self.kind.as_str().into());
        Diagnostic {
            code: self.diagnostic_code(),
            severity: Severity::Error,
            message: self.message,
            metadata,
        }
    }
}

/// The text of an errno (`strerror`), e.g. `"No such file or directory"`.
pub fn errno_text(errno: i32) -> String {
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    // std appends " (os error N)"; we print our own "(errno N)".
    match s.rfind(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// A file name, path or argument as message text: its valid UTF-8 as it is, and each byte
/// that is not part of valid UTF-8 as `\xNN` (two lowercase hex digits).
///
/// [`Path::display`](std::path::Path::display) and `to_string_lossy` turn such bytes into
/// U+FFFD, so two different names can read the same in a message; every error message of
/// this library that names a program, a path or an environment variable shows it this way.
/// Control characters are kept as they are: a message is text, and whoever prints it on a
/// terminal escapes them (`reml-process` does, and JSON does). A backslash is not escaped, so
/// a name that literally contains `\xff` reads like one with the byte 0xff.
///
/// ```
/// use std::ffi::OsStr;
/// use std::os::unix::ffi::OsStrExt;
/// let name = OsStr::from_bytes(b"caf\xc3\xa9-\xff\n");
/// assert_eq!(reml_process::error::os_text(name).to_string(), "café-\\xff\n");
/// ```
pub fn os_text<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> OsText<'_> {
    OsText(s.as_ref())
}

/// The [`Display`](fmt::Display) form of [`os_text`].
#[derive(Clone, Copy, Debug)]
pub struct OsText<'a>(&'a std::ffi::OsStr);

impl fmt::Display for OsText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.as_encoded_bytes().utf8_chunks() {
            f.write_str(chunk.valid())?;
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_text_shows_every_byte() {
        use std::os::unix::ffi::OsStrExt;
        let shown = |b: &[u8]| os_text(std::ffi::OsStr::from_bytes(b)).to_string();
        assert_eq!(shown(b"plain"), "plain");
        assert_eq!(shown(b"\xff\xfe"), "\\xff\\xfe");
        // A truncated sequence, then valid text again; controls stay as they are.
        assert_eq!(shown(b"a\xe2\x82b\tc"), "a\\xe2\\x82b\tc");
        assert_eq!(shown("é€".as_bytes()), "é€");
    }

    #[test]
    fn diagnostic_codes_are_stable() {
        let e = ProcessError::from_errno("spawn /bin/x", libc::ENOEXEC);
        assert_eq!(e.kind, ProcessErrorKind::SpawnFailed);
        assert_eq!(e.code, Some(libc::ENOEXEC));
        assert!(e.message.contains("errno 8"), "{}", e.message);
        let d = e.into_diagnostic();
        assert_eq!(d.code, "core.process.spawn_failed");
        assert_eq!(d.severity, Severity::Error);
        assert_eq!(d.metadata["error.errno"], 8);

        let d = ProcessError::with_code(ProcessErrorKind::TerminatedBySignal, "killed", 9)
            .into_diagnostic();
        assert_eq!(d.code, "core.process.terminated_by_signal");
        assert_eq!(d.metadata["process.signal"], 9);

        let d = ThreadError::new(ThreadErrorKind::InvalidAffinity, "cpu 5").into_diagnostic();
        assert_eq!(d.code, "core.process.thread.invalid_affinity");
    }

    #[test]
    fn eacces_is_permission_denied() {
        let e = ProcessError::from_errno("exec /tmp/x", libc::EACCES);
        assert_eq!(e.kind, ProcessErrorKind::PermissionDenied);
        assert!(e.message.contains("Permission denied"), "{}", e.message);
    }
}
