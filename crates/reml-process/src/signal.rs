//! Signals (spec §1, `Signal` from the Signal plugin `core.signal`).
//!
//! A [`Signal`] is a signal number with named constants. It parses `TERM`, `SIGTERM`,
//! `sigterm` and `15` alike, and refuses numbers the platform does not have.

use std::fmt;
use std::str::FromStr;

use crate::error::ProcessError;

/// A POSIX signal number (spec §1 `Signal`).
///
/// Only numbers the platform knows can be built through [`Signal::new`] or parsing: on Linux
/// 1‥=64 (`SIGRTMIN`‥`SIGRTMAX` are 34‥=64 as glibc reserves 32 and 33; those two are still
/// accepted by number because the kernel accepts them). `0` is not a signal here; use
/// [`Signal::new`] for checking existence-only semantics explicitly elsewhere.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signal(i32);

macro_rules! signals {
    ($( $(#[$doc:meta])* $name:ident = $num:expr, $text:literal; )*) => {
        impl Signal {
            $( $(#[$doc])* pub const $name: Signal = Signal($num); )*
        }
        const NAMED: &[(&str, i32)] = &[ $( ($text, $num), )* ];
    };
}

signals! {
    /// Hangup (1).
    HUP = libc::SIGHUP, "HUP";
    /// Interrupt from the keyboard (2).
    INT = libc::SIGINT, "INT";
    /// Quit from the keyboard, with core dump (3).
    QUIT = libc::SIGQUIT, "QUIT";
    /// Illegal instruction (4).
    ILL = libc::SIGILL, "ILL";
    /// Trace/breakpoint trap (5).
    TRAP = libc::SIGTRAP, "TRAP";
    /// Abort (6).
    ABRT = libc::SIGABRT, "ABRT";
    /// Bus error (7 on x86 Linux).
    BUS = libc::SIGBUS, "BUS";
    /// Floating-point exception (8).
    FPE = libc::SIGFPE, "FPE";
    /// Kill, cannot be caught or ignored (9).
    KILL = libc::SIGKILL, "KILL";
    /// User-defined signal 1 (10 on x86 Linux).
    USR1 = libc::SIGUSR1, "USR1";
    /// Invalid memory reference (11).
    SEGV = libc::SIGSEGV, "SEGV";
    /// User-defined signal 2 (12 on x86 Linux).
    USR2 = libc::SIGUSR2, "USR2";
    /// Broken pipe (13).
    PIPE = libc::SIGPIPE, "PIPE";
    /// Timer (14).
    ALRM = libc::SIGALRM, "ALRM";
    /// Termination request (15).
    TERM = libc::SIGTERM, "TERM";
    /// Child stopped or ended (17 on x86 Linux).
    CHLD = libc::SIGCHLD, "CHLD";
    /// Continue if stopped (18 on x86 Linux).
    CONT = libc::SIGCONT, "CONT";
    /// Stop, cannot be caught or ignored (19 on x86 Linux).
    STOP = libc::SIGSTOP, "STOP";
    /// Stop from the terminal (20 on x86 Linux).
    TSTP = libc::SIGTSTP, "TSTP";
    /// Background read from the terminal (21).
    TTIN = libc::SIGTTIN, "TTIN";
    /// Background write to the terminal (22).
    TTOU = libc::SIGTTOU, "TTOU";
    /// Urgent condition on a socket (23 on x86 Linux).
    URG = libc::SIGURG, "URG";
    /// CPU time limit exceeded, sent by `RLIMIT_CPU` (24 on x86 Linux).
    XCPU = libc::SIGXCPU, "XCPU";
    /// File size limit exceeded (25 on x86 Linux).
    XFSZ = libc::SIGXFSZ, "XFSZ";
    /// Virtual alarm clock (26 on x86 Linux).
    VTALRM = libc::SIGVTALRM, "VTALRM";
    /// Profiling timer expired (27 on x86 Linux).
    PROF = libc::SIGPROF, "PROF";
    /// Window resize (28 on x86 Linux).
    WINCH = libc::SIGWINCH, "WINCH";
    /// I/O now possible (29 on x86 Linux).
    IO = libc::SIGIO, "IO";
    /// Bad system call (31 on x86 Linux).
    SYS = libc::SIGSYS, "SYS";
}

/// Highest signal number on this platform (`_NSIG - 1`).
#[cfg(target_os = "linux")]
pub const MAX_SIGNAL: i32 = 64;
/// Highest signal number on this platform (`NSIG - 1`).
#[cfg(not(target_os = "linux"))]
pub const MAX_SIGNAL: i32 = 31;

impl Signal {
    /// The signal with number `number`.
    ///
    /// # Errors
    /// `InvalidCommand` naming the number when it is not a signal of this platform
    /// (`number < 1` or `> MAX_SIGNAL`, which is 64 on Linux).
    pub fn new(number: i32) -> Result<Signal, ProcessError> {
        if (1..=MAX_SIGNAL).contains(&number) {
            Ok(Signal(number))
        } else {
            Err(ProcessError::invalid(format!(
                "signal {number} does not exist (valid: 1-{MAX_SIGNAL})"
            )))
        }
    }

    /// The signal number.
    pub const fn number(self) -> i32 {
        self.0
    }

    /// The short name without the `SIG` prefix (`"TERM"`), or `None` for unnamed
    /// (real-time) numbers.
    pub fn name(self) -> Option<&'static str> {
        NAMED.iter().find(|(_, n)| *n == self.0).map(|(s, _)| *s)
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "SIG{n}({})", self.0),
            None => write!(f, "Signal({})", self.0),
        }
    }
}

impl fmt::Display for Signal {
    /// `SIGTERM`, or the bare number for unnamed signals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "SIG{n}"),
            None => write!(f, "{}", self.0),
        }
    }
}

impl FromStr for Signal {
    type Err = ProcessError;

    /// Parses `TERM`, `SIGTERM`, `sigterm`, `15`, and `RTMIN+N` / `RTMAX-N` on Linux.
    ///
    /// # Errors
    /// `InvalidCommand` naming the text when it is no signal of this platform.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            return match t.parse::<i32>() {
                Ok(n) => Signal::new(n),
                Err(_) => Err(ProcessError::invalid(format!("signal {t} does not exist"))),
            };
        }
        let upper = t.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        if let Some((_, n)) = NAMED.iter().find(|(name, _)| *name == bare) {
            return Ok(Signal(*n));
        }
        #[cfg(target_os = "linux")]
        {
            let rt = |base: i32, rest: &str, sign: i32| -> Option<Signal> {
                let off: i32 = if rest.is_empty() {
                    0
                } else {
                    rest.parse().ok()?
                };
                // Checked: the offset is any i32 the text spells.
                Signal::new(base.checked_add(sign.checked_mul(off)?)?).ok()
            };
            if let Some(rest) = bare.strip_prefix("RTMIN") {
                let rest = rest.strip_prefix('+').unwrap_or(rest);
                if let Some(s) = rt(34, rest, 1).filter(|s| s.0 >= 34) {
                    return Ok(s);
                }
            } else if let Some(rest) = bare.strip_prefix("RTMAX") {
                let rest = rest.strip_prefix('-').unwrap_or(rest);
                if let Some(s) = rt(64, rest, -1).filter(|s| s.0 >= 34) {
                    return Ok(s);
                }
            }
        }
        Err(ProcessError::invalid(format!(
            "unknown signal `{s}` (use a name like TERM or SIGTERM, or a number 1-{MAX_SIGNAL})"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProcessErrorKind;

    #[test]
    fn parses_all_spellings() {
        for s in ["TERM", "SIGTERM", "sigterm", "15", " term "] {
            assert_eq!(s.parse::<Signal>().unwrap(), Signal::TERM, "{s}");
        }
        assert_eq!("KILL".parse::<Signal>().unwrap().number(), 9);
        assert_eq!("RTMIN+2".parse::<Signal>().unwrap().number(), 36);
        assert_eq!("RTMAX".parse::<Signal>().unwrap().number(), 64);
    }

    #[test]
    fn refuses_unknown() {
        for s in ["0", "65", "99999999999", "", "FOO", "SIG", "-1", "RTMIN+40"] {
            let e = s.parse::<Signal>().unwrap_err();
            assert_eq!(e.kind, ProcessErrorKind::InvalidCommand, "{s}");
        }
        assert!(Signal::new(0).is_err());
        assert!(Signal::new(65).is_err());
    }

    #[test]
    fn real_time_offsets_never_overflow() {
        // `34 + 2147483647` and `-1 * i32::MIN` used to overflow (a panic in debug builds).
        for s in [
            "RTMIN+2147483647",
            "RTMAX--2147483648",
            "RTMIN-2147483648",
            "RTMAX-2147483647",
        ] {
            let e = s.parse::<Signal>().unwrap_err();
            assert_eq!(e.kind, ProcessErrorKind::InvalidCommand, "{s}");
        }
    }

    #[test]
    fn display() {
        assert_eq!(Signal::KILL.to_string(), "SIGKILL");
        assert_eq!(Signal::new(40).unwrap().to_string(), "40");
    }
}
