//! How a process ended (spec §1 `ExitStatus`, §5).

use std::fmt;

use crate::signal::Signal;

/// The exit status of a process that exited normally (spec §1 `ExitStatus`).
///
/// `wait_process` returns `Ok(ExitStatus)` only for a normal exit, whatever its code; a death
/// by signal is `Err(ProcessError)` of kind `TerminatedBySignal` with the signal number in
/// `code`, so `kill -9` and `exit 137` are never confused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExitStatus {
    code: i32,
}

impl ExitStatus {
    /// A status with exit code `code` (0‥=255 on Unix).
    pub const fn from_code(code: i32) -> ExitStatus {
        ExitStatus { code }
    }

    /// The exit code, 0‥=255.
    pub const fn code(self) -> i32 {
        self.code
    }

    /// Whether the code is 0.
    pub const fn success(self) -> bool {
        self.code == 0
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit code {}", self.code)
    }
}

/// How a process ended: a normal exit or a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Termination {
    /// It called `exit(code)` or returned from `main`.
    Exited(ExitStatus),
    /// It was ended by `signal`; `core_dumped` when the kernel wrote a core file.
    Signaled {
        /// The signal that ended it.
        signal: Signal,
        /// Whether a core dump was produced.
        core_dumped: bool,
    },
}

impl Termination {
    /// The exit code for a normal exit.
    pub fn code(self) -> Option<i32> {
        match self {
            Termination::Exited(s) => Some(s.code()),
            Termination::Signaled { .. } => None,
        }
    }

    /// The signal for a death by signal.
    pub fn signal(self) -> Option<Signal> {
        match self {
            Termination::Exited(_) => None,
            Termination::Signaled { signal, .. } => Some(signal),
        }
    }

    /// The shell's convention: the code, or 128 + signal number.
    pub fn shell_code(self) -> i32 {
        match self {
            Termination::Exited(s) => s.code(),
            Termination::Signaled { signal, .. } => 128 + signal.number(),
        }
    }
}

impl fmt::Display for Termination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Termination::Exited(s) => s.fmt(f),
            Termination::Signaled {
                signal,
                core_dumped,
            } => {
                write!(f, "killed by {signal}")?;
                if *core_dumped {
                    f.write_str(" (core dumped)")?;
                }
                Ok(())
            }
        }
    }
}
