//! What a supervisor such as `reml-process run` needs beyond spawning (`docs/command.md`,
//! "Signals"): forwarding the signals it receives to its child,
//! reaping the orphans it adopts as child subreaper while the job runs, passing on the
//! signal dispositions its own caller gave it, and writing to a standard stream it shares
//! with others.
//!
//! | need | item |
//! |---|---|
//! | forward `HUP`, `INT`, `TERM`, … to the job | [`SignalForwarder::install`], [`SignalForwarder::run`] |
//! | no zombie piles up while the job runs | [`SignalForwarder::install_reaping_orphans`] |
//! | `nohup`'s `HUP`, a caller's ignored `PIPE` stay ignored in the job | [`inherited_ignored_signals`] with [`SignalDispositions::Ignore`](crate::SignalDispositions::Ignore) |
//! | the job does not outlive a killed supervisor | [`Command::parent_death_signal`](crate::Command::parent_death_signal) |
//! | a shared stdout/stderr made non-blocking by someone else loses nothing | [`write_all_waiting`] |

use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags};

use crate::error::ProcessError;
use crate::signal::Signal;

/// The signals a supervisor forwards to its child: `HUP`, `INT`, `QUIT`, `TERM`, `ALRM`,
/// `USR1`, `USR2` (`docs/command.md`).
pub const FORWARDED_SIGNALS: [Signal; 7] = [
    Signal::HUP,
    Signal::INT,
    Signal::QUIT,
    Signal::TERM,
    Signal::ALRM,
    Signal::USR1,
    Signal::USR2,
];

/// How often a forwarder that reaps orphans sweeps even without a `SIGCHLD`: a safety net for
/// a `SIGCHLD` taken by a thread that does not block it, or a child the kernel's list of
/// children did not show at the moment of a sweep.
const SWEEP_INTERVAL: Duration = Duration::from_millis(500);

/// Receives signals synchronously so they can be forwarded to a child instead of ending us;
/// optionally reaps the orphans a child subreaper adopts.
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
    /// Whether the caller asked for `SIGCHLD` to be forwarded too.
    forward_sigchld: bool,
    /// With orphan reaping: the children this process had at install (pid, start time),
    /// which are never reaped.
    reaping: Option<Vec<(i32, u64)>>,
}

impl SignalForwarder {
    /// Blocks `signals` in the calling thread and starts receiving them.
    ///
    /// # Errors
    /// `SpawnFailed` with the errno when the mask or the signalfd cannot be set up;
    /// `Unsupported` off Linux.
    pub fn install(signals: &[Signal]) -> Result<SignalForwarder, ProcessError> {
        Self::install_with(signals, false)
    }

    /// [`install`](Self::install), and while [`run`](Self::run) runs, reap the children of
    /// this process that end and that nobody else will wait for: orphans it adopted as
    /// child subreaper ([`crate::set_child_subreaper`]), which would otherwise stay zombies
    /// until it exits. An explicit opt-in for a process that supervises, like
    /// `reml-process run`, which turns it on.
    ///
    /// # What it reaps, exactly
    /// Every child of this process that has ended, **except**
    /// - the children this library spawned and has not reaped yet: it waits for those
    ///   through their pidfds, and reaping one here would lose its exit status. A child
    ///   being spawned at the moment of a sweep is covered too: spawns register their child
    ///   under a lock they hold from before `clone`, which a sweep takes exclusively, so no
    ///   child of the library is ever between creation and registration while a sweep looks;
    /// - the children this process already had when this forwarder was installed (by pid and
    ///   start time): a shell that `exec`s into a supervisor may leave one.
    ///
    /// So it also reaps **any other child the host creates afterwards by other means**
    /// (`std::process`, `fork`): the kernel gives no way to tell such a child from an
    /// adopted orphan. Their exit statuses are lost to the host (its `wait` fails with
    /// `ECHILD`). Use it only in a process that spawns through this library alone.
    ///
    /// # How
    /// `SIGCHLD` is blocked and received on the same `signalfd` (not forwarded, unless
    /// `signals` lists it); each one starts a sweep: when a `waitid(WNOWAIT)` probe finds
    /// an ended child, the children listed in `/proc/self/task/*/children`, one
    /// `waitid(WNOHANG)` each. A sweep also runs when
    /// [`run`](Self::run) starts and every 500 ms, in case a `SIGCHLD` went to a thread that
    /// does not block it (install before any other thread exists, as for forwarding).
    /// Nothing is reaped outside [`run`](Self::run).
    ///
    /// # Errors
    /// As [`install`](Self::install).
    pub fn install_reaping_orphans(signals: &[Signal]) -> Result<SignalForwarder, ProcessError> {
        Self::install_with(signals, true)
    }

    fn install_with(signals: &[Signal], reap: bool) -> Result<SignalForwarder, ProcessError> {
        let forward_sigchld = signals.contains(&Signal::CHLD);
        let mut numbers: Vec<i32> = signals.iter().map(|s| s.number()).collect();
        if reap && !forward_sigchld {
            numbers.push(Signal::CHLD.number());
        }
        // Before the mask changes: what exists now is never reaped.
        let reaping = reap.then(crate::sys::imp::process::current_children);
        let signalfd = crate::sys::imp::signals::block_and_open(&numbers)
            .map_err(|e| ProcessError::from_io("cannot receive signals (signalfd)", &e))?;
        // Without a backend not reached: it refused the signalfd above.
        let pipe = crate::sys::imp::fs::pipe_cloexec();
        let (stop_read, stop_write) =
            pipe.map_err(|e| ProcessError::from_errno("cannot create a pipe", e.raw_os_error()))?;
        Ok(SignalForwarder {
            signalfd,
            stop_read,
            stop_write,
            forward_sigchld,
            reaping,
        })
    }

    /// Calls `forward` for every received signal until [`stop`](Self::stop) is called (from
    /// another thread), and reaps orphans meanwhile when installed with
    /// [`install_reaping_orphans`](Self::install_reaping_orphans). Returns at once if `stop`
    /// was called before.
    pub fn run(&self, forward: impl FnMut(Signal)) {
        self.run_until(forward, |_| false);
    }

    /// [`run`](Self::run), also returning when a `SIGCHLD` received reports the end (exit,
    /// death by a signal) of a child for which `ended(pid)` answers `true`: once the signals
    /// already pending have been forwarded, without a sweep. A supervisor uses it to let its
    /// forwarder go as soon as the job's child has ended by itself, so that it need not wait
    /// for the forwarder at the end. A `SIGCHLD` merged with an earlier one (the kernel keeps
    /// one pending) names the earlier child only: then `run_until` goes on until
    /// [`stop`](Self::stop), as `run` does.
    pub(crate) fn run_until(
        &self,
        mut forward: impl FnMut(Signal),
        mut ended: impl FnMut(i32) -> bool,
    ) {
        let tick = self.reaping.as_ref().map(|_| rustix::event::Timespec {
            tv_sec: SWEEP_INTERVAL.as_secs() as i64,
            tv_nsec: SWEEP_INTERVAL.subsec_nanos() as _,
        });
        self.sweep();
        loop {
            let mut fds = [
                PollFd::new(&self.signalfd, PollFlags::IN),
                PollFd::new(&self.stop_read, PollFlags::IN),
            ];
            match rustix::event::poll(&mut fds, tick.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(_) => return,
            }
            if !fds[1].revents().is_empty() {
                return;
            }
            // Drained before the sweep: a child that ends after the read sends a new SIGCHLD,
            // so no end is missed between the two.
            let mut child_ended = false;
            while let Ok(Some(r)) = crate::sys::imp::signals::read_signal(&self.signalfd) {
                let Ok(sig) = Signal::new(r.signo) else {
                    continue;
                };
                if sig != Signal::CHLD || self.forward_sigchld {
                    forward(sig);
                }
                if r.is_child_end() && !child_ended && ended(r.pid) {
                    child_ended = true;
                }
            }
            if child_ended {
                return;
            }
            self.sweep();
        }
    }

    /// One orphan sweep, when reaping
    /// (see [`install_reaping_orphans`](Self::install_reaping_orphans)).
    ///
    /// Walks `/proc` only when some ordinary child has ended (a `waitid(WNOWAIT)` probe, which
    /// reaps nothing): the sweep reaps only such children, so when there is none it would
    /// reap nothing. A child that ends after the probe sends a new `SIGCHLD` (or is found by
    /// the next periodic sweep), as a child that ends after a walk always did.
    fn sweep(&self) {
        if let Some(keep) = &self.reaping {
            if crate::sys::imp::tree::may_have_ended_child() {
                crate::sys::imp::process::reap_orphans(keep);
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

/// Ignores `SIGXFSZ` in this process, so a write past its file-size limit (`RLIMIT_FSIZE`)
/// fails with `EFBIG` — which a supervisor reports (exit 125) — instead of killing the
/// supervisor and leaving its job unsupervised. The library's own audit sinks refuse a
/// record that would not fit beforehand; this covers every other write (error lines, the
/// collected output, the `--json` object).
///
/// Process-wide, for a program like `reml-process run` that owns its process. Children are
/// not affected when they are spawned with [`SignalDispositions::Ignore`] of what the
/// caller ignored, or with the default (which keeps ignored signals: then pass
/// [`inherited_ignored_signals`] explicitly).
///
/// [`SignalDispositions::Ignore`]: crate::SignalDispositions::Ignore
///
/// # Platform-specific behavior
/// Linux only; elsewhere nothing is changed.
pub fn ignore_file_size_signal() {
    crate::sys::imp::signals::ignore_sigxfsz()
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
/// exactly what the supervisor's caller ignored (`docs/command.md`).
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

/// Writes all of `bytes` to `fd`, waiting for room when the descriptor is non-blocking.
///
/// A standard output or error is usually a pipe or a terminal shared with other processes,
/// and any of them may set `O_NONBLOCK` on the shared file description. A plain `write_all`
/// then fails with `EAGAIN` as soon as the reader falls behind, and the rest is lost. This
/// loop writes on after partial writes, retries `EINTR`, and on `EAGAIN`/`EWOULDBLOCK`
/// waits in `poll(2)` for `POLLOUT` — without a time limit, as a blocking write would — and
/// then writes on. The descriptor's flags are left as they are (they belong to everyone who
/// shares it).
///
/// # Errors
/// The first other error of `write(2)` or `poll(2)`: `EPIPE`
/// ([`std::io::ErrorKind::BrokenPipe`]) when the reader went away, `ENOSPC`, `EIO`, `EBADF`,
/// …; [`std::io::ErrorKind::WriteZero`] if `write(2)` accepts nothing for a non-empty
/// buffer. The bytes before the error have been written.
///
/// # References
/// `write(2)`, `poll(2)`, `pipe(7)` (`O_NONBLOCK` and `PIPE_BUF`).
pub fn write_all_waiting(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> std::io::Result<()> {
    use rustix::io::Errno;
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::INTR) => {}
            // `EWOULDBLOCK` is `EAGAIN` on Linux and on every Unix rustix supports.
            Err(Errno::AGAIN) => {
                let mut fds = [PollFd::new(&fd, PollFlags::OUT)];
                match rustix::event::poll(&mut fds, None) {
                    // Ready, or an error condition (`POLLERR`, `POLLHUP`) that the next
                    // write reports with its errno.
                    Ok(_) | Err(Errno::INTR) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

// The tests need a real pipe (`pipe2`): a fact of the target, not of the backend.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsFd;

    use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
    use rustix::pipe::{pipe_with, PipeFlags};

    #[test]
    fn a_non_blocking_pipe_with_a_slow_reader_gets_every_byte() {
        let (r, w) = pipe_with(PipeFlags::CLOEXEC).unwrap();
        fcntl_setfl(&w, fcntl_getfl(&w).unwrap() | OFlags::NONBLOCK).unwrap();
        // 1 MiB: sixteen times what the pipe holds, so the writer meets EAGAIN.
        let data: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
        let reader = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(500));
            let mut all = Vec::new();
            std::fs::File::from(r).read_to_end(&mut all).unwrap();
            all
        });
        write_all_waiting(w.as_fd(), &data).unwrap();
        drop(w);
        assert!(reader.join().unwrap() == data, "every byte, in order");
    }

    #[test]
    fn a_reader_gone_is_broken_pipe() {
        let (r, w) = pipe_with(PipeFlags::CLOEXEC).unwrap();
        drop(r);
        let e = write_all_waiting(w.as_fd(), b"x").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
    }
}
