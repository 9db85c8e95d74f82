//! The descendants of a process on Linux: found through `/proc`, held and signalled through
//! pidfds, adopted orphans reaped through pidfds.
//!
//! Every read of `/proc/PID/...` for a process we hold a pidfd for is bracketed by checks that
//! the pidfd has not become readable (the process has not exited): a process that has not
//! exited cannot have been reaped, so its pid cannot have been reused, so what we read is
//! about the process the pidfd names.
//!
//! # References
//! proc(5) (`/proc/PID/stat`, `/proc/PID/task/TID/children`), pidfd_open(2),
//! pidfd_send_signal(2), waitid(2) (`P_PIDFD`), prctl(2) (`PR_SET_CHILD_SUBREAPER`).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::ptr;

use rustix::event::{PollFd, PollFlags};

/// The fields of `/proc/PID/stat` the tree walk needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stat {
    /// Field 3: the state letter (`R`, `S`, `D`, `T`, `t`, `Z`, `X`, …).
    pub state: char,
    /// Field 4: the parent's process id (its thread-group id).
    pub ppid: i32,
    /// Field 5: the process group.
    pub pgid: i32,
    /// Field 22: start time, clock ticks after boot. With the pid, it names one process.
    pub starttime: u64,
    /// Field 38: the signal the parent gets when this process ends. `SIGCHLD` for nearly
    /// every process: the kernel resets it to `SIGCHLD` at `execve` (so the children this
    /// library clones without one have it too once they run their program) and on
    /// reparenting; a clone child that has not exec'd may have another or 0. It cannot tell
    /// our children from adopted orphans (`LIBRARY_CHILDREN` in `process.rs` does).
    pub exit_signal: i32,
}

/// Reads `/proc/PID/stat`; `None` when the process does not exist (or is unreadable).
pub(crate) fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Parses the text of `/proc/PID/stat`. The command name (field 2) may contain spaces and
/// parentheses, so fields are counted after its last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = text.get(text.rfind(')')? + 1..)?;
    // Field 3 is the first after the name; index 0 here.
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| f.get(n - 3).copied();
    Some(Stat {
        state: field(3)?.chars().next()?,
        ppid: field(4)?.parse().ok()?,
        pgid: field(5)?.parse().ok()?,
        starttime: field(22)?.parse().ok()?,
        exit_signal: field(38)?.parse().ok()?,
    })
}

/// The children of every thread of process `pid` (`/proc/PID/task/*/children`), in no
/// particular order, without duplicates. Empty when the process is gone.
///
/// For our own process, [`has_no_children`] is asked first: a supervisor like `run` starts
/// with no children, and one system call then stands for the walk of `/proc`.
pub(crate) fn children(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    if pid == getpid() && has_no_children() {
        return out;
    }
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(list) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        out.extend(
            list.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether this process has no child at all, of any kind, in any state: `waitid(P_ALL,
/// WEXITED | WNOHANG | WNOWAIT | __WALL)` fails with `ECHILD` exactly when no child of any
/// of our threads is eligible, and `__WALL` makes every child eligible (ordinary, clone
/// children, running, stopped or zombie). `WNOWAIT` leaves a zombie it finds unreaped, so the
/// question changes nothing. Any other answer (a child found, another error) is "not sure",
/// and the caller walks `/proc` as before.
pub(crate) fn has_no_children() -> bool {
    let flags = rustix::process::WaitIdOptions::EXITED
        | rustix::process::WaitIdOptions::NOHANG
        | rustix::process::WaitIdOptions::NOWAIT
        | rustix::process::WaitIdOptions::from_bits_retain(libc::__WALL as u32);
    matches!(
        waitid(rustix::process::WaitId::All, flags),
        Err(rustix::io::Errno::CHILD)
    )
}

/// Whether some ordinary child of ours (one that sends `SIGCHLD` when it ends, as every
/// reparented orphan and every child after `execve` does) has ended and is not reaped yet:
/// `waitid(P_ALL, WEXITED | WNOHANG | WNOWAIT)`, which reaps nothing. `false` means an orphan
/// sweep ([`super::process::reap_orphans`], which reaps only such children) would find nothing
/// to reap at this moment; `true` (or an error other than `ECHILD`) means it may.
pub(crate) fn may_have_ended_child() -> bool {
    let flags = rustix::process::WaitIdOptions::EXITED
        | rustix::process::WaitIdOptions::NOHANG
        | rustix::process::WaitIdOptions::NOWAIT;
    !matches!(
        waitid(rustix::process::WaitId::All, flags),
        Err(rustix::io::Errno::CHILD) | Ok(None)
    )
}

/// `waitid(id, flags)`, again when a signal interrupts it.
pub(crate) fn waitid(
    id: rustix::process::WaitId<'_>,
    flags: rustix::process::WaitIdOptions,
) -> rustix::io::Result<Option<rustix::process::WaitIdStatus>> {
    loop {
        match rustix::process::waitid(id.clone(), flags) {
            Err(rustix::io::Errno::INTR) => continue,
            r => return r,
        }
    }
}

/// Our own process id.
pub(crate) fn getpid() -> i32 {
    rustix::process::getpid().as_raw_nonzero().get()
}

/// Our own process group, or 0 when its leader lives outside our pid namespace: the kernel
/// then has no number for it in our namespace and `getpgrp(2)` returns 0 (a process started
/// by `unshare --pid --fork`, by a container runtime or by a CI runner that makes a pid
/// namespace). 0 is never a real group, so it equals no child's group. (rustix's `getpgrp`
/// assumes a positive id and is not used for that reason.)
pub(crate) fn getpgrp() -> i32 {
    // SAFETY: getpgrp(2) takes no arguments, touches no memory and cannot fail.
    unsafe { libc::getpgrp() }
}

/// `pidfd_open(pid, 0)`: a close-on-exec pidfd for `pid`.
///
/// # Errors
/// `ESRCH` when there is no such process; `ENOSYS` before Linux 5.3; `EMFILE`.
pub(crate) fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    let pid =
        rustix::process::Pid::from_raw(pid).ok_or(io::Error::from_raw_os_error(libc::ESRCH))?;
    rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).map_err(Into::into)
}

/// `pidfd_send_signal(fd, sig, NULL, 0)`. `sig` 0 only checks that the process exists (a
/// zombie exists; a reaped process does not: `ESRCH`).
pub(crate) fn pidfd_signal(fd: BorrowedFd<'_>, sig: i32) -> io::Result<()> {
    // SAFETY: pidfd_send_signal with a pidfd borrowed from a live OwnedFd, a NULL siginfo
    // (the kernel fills in one for SI_USER) and flags 0; no memory is passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            sig,
            ptr::null::<libc::siginfo_t>(),
            0u32,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether the process of a pidfd has exited (the pidfd polls readable: it is a zombie or
/// already reaped).
pub(crate) fn pidfd_exited(fd: BorrowedFd<'_>) -> bool {
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    let zero = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match rustix::event::poll(&mut fds, Some(&zero)) {
        Ok(n) => n > 0 && !fds[0].revents().is_empty(),
        // Cannot tell: say "not exited", so callers never trust a /proc read they cannot
        // bracket (they only act on processes they hold a pidfd for).
        Err(_) => false,
    }
}

/// Reaps the process of `fd` if it is our child and has ended: `waitid(P_PIDFD, fd,
/// WEXITED | WNOHANG | __WALL)`. `Ok(true)` when reaped now; `Ok(false)` when it is still
/// running; `ECHILD` when it is not our child (or was reaped by someone else).
pub(crate) fn reap_pidfd(fd: BorrowedFd<'_>) -> io::Result<bool> {
    let flags = rustix::process::WaitIdOptions::EXITED
        | rustix::process::WaitIdOptions::NOHANG
        | rustix::process::WaitIdOptions::from_bits_retain(libc::__WALL as u32);
    waitid(rustix::process::WaitId::PidFd(fd.as_fd()), flags)
        .map(|status| status.is_some())
        .map_err(Into::into)
}

/// `prctl(PR_SET_CHILD_SUBREAPER, on)` for the calling process.
pub(crate) fn set_child_subreaper(on: bool) -> io::Result<()> {
    let me = on.then(rustix::process::getpid);
    rustix::process::set_child_subreaper(me).map_err(Into::into)
}

/// `prctl(PR_GET_CHILD_SUBREAPER)` for the calling process.
pub(crate) fn is_child_subreaper() -> io::Result<bool> {
    Ok(rustix::process::child_subreaper()?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_of_self_parses() {
        let s = stat(getpid()).expect("own stat");
        assert_eq!(s.pgid, getpgrp());
        assert_eq!(
            s.ppid,
            rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get())
        );
        assert!(s.starttime > 0);
    }

    #[test]
    fn stat_with_a_hostile_name() {
        let text = "42 (a) b (c) S 7 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 \
                    0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let s = parse_stat(text).unwrap();
        assert_eq!(
            s,
            Stat {
                state: 'S',
                ppid: 7,
                pgid: 42,
                starttime: 12345,
                exit_signal: 17
            }
        );
    }
}
