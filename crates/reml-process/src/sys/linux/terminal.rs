//! The controlling terminal: its foreground process group and its attributes, changed from a
//! process that may be in the background.
//!
//! A process outside the terminal's foreground group that calls `tcsetpgrp` or `tcsetattr`
//! is sent `SIGTTOU` (and stopped by it) unless `SIGTTOU` is blocked or ignored
//! (`tty_check_change` in the kernel). We block it in the calling thread for the duration of
//! the call only; with it blocked the kernel lets the call through and sends nothing, so no
//! `SIGTTOU` stays pending.
//!
//! # References
//! tcsetpgrp(3), tcgetpgrp(3), tcsetattr(3), termios(3), pthread_sigmask(3).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

pub(crate) use rustix::termios::Termios;

/// A close-on-exec duplicate of our standard input when it is a terminal.
pub(crate) fn stdin_terminal() -> Option<OwnedFd> {
    let stdin = rustix::stdio::stdin();
    if !rustix::termios::isatty(stdin) {
        return None;
    }
    rustix::io::fcntl_dupfd_cloexec(stdin, 3).ok()
}

/// `tcgetpgrp(fd)`: the terminal's foreground process group.
pub(crate) fn foreground_pgrp(fd: BorrowedFd<'_>) -> io::Result<i32> {
    Ok(rustix::termios::tcgetpgrp(fd)?.as_raw_nonzero().get())
}

/// `tcsetpgrp(fd, pgid)` with `SIGTTOU` blocked in the calling thread.
pub(crate) fn set_foreground_pgrp(fd: BorrowedFd<'_>, pgid: i32) -> io::Result<()> {
    let pid =
        rustix::process::Pid::from_raw(pgid).ok_or(io::Error::from_raw_os_error(libc::EINVAL))?;
    with_sigttou_blocked(|| rustix::termios::tcsetpgrp(fd, pid).map_err(Into::into))
}

/// `tcgetattr(fd)`.
pub(crate) fn get_attributes(fd: BorrowedFd<'_>) -> io::Result<Termios> {
    Ok(rustix::termios::tcgetattr(fd)?)
}

/// `tcsetattr(fd, TCSANOW, t)` with `SIGTTOU` blocked in the calling thread.
pub(crate) fn set_attributes(fd: BorrowedFd<'_>, t: &Termios) -> io::Result<()> {
    with_sigttou_blocked(|| {
        rustix::termios::tcsetattr(fd.as_fd(), rustix::termios::OptionalActions::Now, t)
            .map_err(Into::into)
    })
}

fn with_sigttou_blocked<T>(f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    // SAFETY: sigset_t is plain data initialised by sigemptyset/pthread_sigmask before use;
    // pthread_sigmask gets valid pointers and changes only the calling thread's mask, which
    // is set back to the saved one right after `f` (callers pass closures that only make a
    // system call and cannot panic).
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTTOU);
        let r = libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        let result = f();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        result
    }
}

/// Stops our own process group with `sig` the way a terminal key would (`kill(0, sig)`: pid 0
/// names the caller's group, also when its id is not visible in our pid namespace).
/// Returns once we are continued — or at once when the kernel discards the stop because our
/// group is orphaned (no job-control shell above us).
///
/// The kernel hands a process-directed signal to the sending thread when it can (it is
/// running and does not block the signal), so that thread stops on its way out of `kill`
/// and runs no further code until continued. (A second, thread-directed `raise` would stop
/// us a second time after the `SIGCONT`: stop signals queued before a `SIGCONT` are
/// discarded by it, later ones are not.)
pub(crate) fn stop_own_group(sig: i32) {
    // SAFETY: kill(2) with pid 0 (our own group) takes no pointers; the default action
    // of the stop signals we are called with (TSTP, TTIN, TTOU; this library installs no
    // handler for them) is to stop the process until SIGCONT.
    unsafe {
        libc::kill(0, sig);
    }
}
