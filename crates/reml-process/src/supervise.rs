//! What a supervisor such as `reml-process run` needs beyond spawning: forwarding the signals
//! it receives to its child (`contract.md` §1, "run behaves as a well-mannered supervisor"),
//! and writing to a standard stream it shares with others ([`write_all_waiting`]).

use std::os::fd::{BorrowedFd, OwnedFd};

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
/// thread that does not block it. Children spawned by this library start with an empty mask
/// and default dispositions whatever we block here.
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

#[cfg(all(test, reml_linux))]
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
