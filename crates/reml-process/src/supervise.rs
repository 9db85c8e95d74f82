//! What a supervisor such as `reml-process run` needs beyond spawning (`contract.md` §1, "run
//! behaves as a well-mannered supervisor"): forwarding the signals it receives to its child,
//! and passing on the signal dispositions its own caller gave it.
//!
//! | need | item |
//! |---|---|
//! | forward `HUP`, `INT`, `TERM`, … to the job | [`SignalForwarder::install`], [`SignalForwarder::run`] |
//! | `nohup`'s `HUP`, a caller's ignored `PIPE` stay ignored in the job | [`inherited_ignored_signals`] with [`SignalDispositions::Ignore`](crate::SignalDispositions::Ignore) |
//! | the job does not outlive a killed supervisor | [`Command::parent_death_signal`](crate::Command::parent_death_signal) |

use std::os::fd::OwnedFd;

use rustix::event::{PollFd, PollFlags};

use crate::error::ProcessError;
use crate::signal::Signal;

/// The signals a supervisor forwards to its child: `HUP`, `INT`, `QUIT`, `TERM`, `ALRM`,
/// `USR1`, `USR2` (`contract.md` §1).
pub const FORWARDED_SIGNALS: [Signal; 7] = [
    Signal::HUP,
    Signal::INT,
    Signal::QUIT,
    Signal::TERM,
    Signal::ALRM,
    Signal::USR1,
    Signal::USR2,
];

/// Receives signals synchronously so they can be forwarded to a child instead of ending us.
///
/// [`install`](Self::install) blocks the signals in the calling thread and opens a
/// `signalfd` for them. Call it from the main thread **before any other thread exists**: a
/// thread inherits its creator's mask, and a signal sent to the process is delivered to any
/// thread that does not block it. Children spawned by this library start with an empty
/// signal mask whatever we block here.
///
/// # Platform-specific behavior
/// Linux only (`signalfd`); elsewhere `install` returns `Unsupported`.
pub struct SignalForwarder {
    signalfd: OwnedFd,
    stop_read: OwnedFd,
    stop_write: OwnedFd,
}

impl SignalForwarder {
    /// Blocks `signals` in the calling thread and starts receiving them.
    ///
    /// # Errors
    /// `SpawnFailed` with the errno when the mask or the signalfd cannot be set up;
    /// `Unsupported` off Linux.
    pub fn install(signals: &[Signal]) -> Result<SignalForwarder, ProcessError> {
        let numbers: Vec<i32> = signals.iter().map(|s| s.number()).collect();
        let signalfd = crate::sys::imp::signals::block_and_open(&numbers)
            .map_err(|e| ProcessError::from_io("cannot receive signals (signalfd)", &e))?;
        #[cfg(reml_linux)]
        let pipe = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC);
        // Not reached: the backend refused the signalfd above.
        #[cfg(not(reml_linux))]
        let pipe: rustix::io::Result<(OwnedFd, OwnedFd)> = Err(rustix::io::Errno::NOSYS);
        let (stop_read, stop_write) =
            pipe.map_err(|e| ProcessError::from_errno("cannot create a pipe", e.raw_os_error()))?;
        Ok(SignalForwarder {
            signalfd,
            stop_read,
            stop_write,
        })
    }

    /// Calls `forward` for every received signal until [`stop`](Self::stop) is called (from
    /// another thread). Returns at once if `stop` was called before.
    pub fn run(&self, mut forward: impl FnMut(Signal)) {
        loop {
            let mut fds = [
                PollFd::new(&self.signalfd, PollFlags::IN),
                PollFd::new(&self.stop_read, PollFlags::IN),
            ];
            match rustix::event::poll(&mut fds, None) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(_) => return,
            }
            if !fds[1].revents().is_empty() {
                return;
            }
            while let Ok(Some(n)) = crate::sys::imp::signals::read_signal(&self.signalfd) {
                if let Ok(sig) = Signal::new(n) {
                    forward(sig);
                }
            }
        }
    }

    /// Makes [`run`](Self::run) return (now or at its next call).
    pub fn stop(&self) {
        let _ = rustix::io::write(&self.stop_write, &[1]);
    }
}

/// Whether `signal`'s disposition in this process is "ignore" (as inherited, e.g. `nohup`'s
/// `HUP`). A supervisor leaves such signals out of what it forwards: blocking them would make
/// the kernel queue them although the caller meant them to be ignored.
///
/// # Platform-specific behavior
/// Linux only; elsewhere `false`.
pub fn is_ignored(signal: Signal) -> bool {
    crate::sys::imp::signals::is_ignored(signal.number())
}

/// Puts `SIGCHLD` back to its default disposition when it is "ignore" (or has
/// `SA_NOCLDWAIT`), which would make the kernel discard our children's exit statuses; returns
/// whether it changed anything.
///
/// Process-wide: for a program like `reml-process run` that owns its process. A library host
/// need not call it on Linux 6.15+, where exit statuses are read back from the pidfd; on older
/// kernels spawning under an ignored `SIGCHLD` is refused with `Unsupported`.
///
/// # Platform-specific behavior
/// Linux only; elsewhere `false` (nothing is changed).
pub fn reset_sigchld_to_default() -> bool {
    crate::sys::imp::signals::default_sigchld()
}

/// The signals whose disposition was "ignore" when this process started — what its caller
/// gave it, such as `nohup`'s `HUP`, a shell's `INT` and `QUIT` for a background job, or an
/// ignored `SIGPIPE` — sorted by number.
///
/// Recorded once at process start, **before `main`** (an ELF constructor run by the C
/// library), so before the Rust runtime sets `SIGPIPE` to "ignore" for itself: a Rust
/// program cannot learn its inherited `SIGPIPE` disposition any later. Later changes (the
/// runtime's, or `reml-process run` putting an ignored `SIGCHLD` back to its default) do not
/// show here. A supervisor passes the answer on with
/// [`SignalDispositions::Ignore`](crate::SignalDispositions::Ignore), so its child ignores
/// exactly what the supervisor's caller ignored (`contract.md` §1).
///
/// # Platform-specific behavior
/// Linux (glibc and musl run the constructor); `None` elsewhere. Where this crate is part of
/// a shared object loaded later (`dlopen`), the record is of the dispositions when it was
/// loaded, which for a Rust host include its ignored `SIGPIPE`.
///
/// # Examples
/// ```
/// # #[cfg(target_os = "linux")] {
/// use reml_process::supervise::inherited_ignored_signals;
/// use reml_process::{Command, SignalDispositions};
/// let mut cmd = Command::new("job");
/// if let Some(ignored) = inherited_ignored_signals() {
///     cmd.signal_dispositions(SignalDispositions::Ignore(ignored));
/// }
/// # }
/// ```
pub fn inherited_ignored_signals() -> Option<Vec<Signal>> {
    let mask = crate::sys::imp::signals::ignored_at_start()?;
    Some(
        (1..=64)
            .filter(|n| mask & (1u64 << (n - 1)) != 0)
            .filter_map(|n| Signal::new(n).ok())
            .collect(),
    )
}
