//! Waiting for our children on Linux: `waitid` by pidfd (or pid), the exit status read back
//! from a pidfd when the kernel already released the child, and the orphan sweep of a child
//! subreaper.

use std::ffi::c_int;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU8, Ordering};

use super::child::errno;
use super::process::{is_library_child, Spawned, PIDFD_NO, PIDFD_UNKNOWN, PIDFD_YES, SPAWN_GATE};
use crate::sys::spawn_types::{Termination, WaitEvent};

/// `waitid` for one of our children, by pidfd when we have one, else by pid; always with
/// `__WALL` (a child is created with exit signal 0; the flag costs nothing after exec resets
/// it to `SIGCHLD`) and never for any other process.
///
/// `flags` are `WEXITED`, `WSTOPPED`, `WCONTINUED`, `WNOHANG`, `WNOWAIT` as needed. Returns
/// `Ok(None)` with `WNOHANG` when nothing is ready.
fn waitid(child: &Spawned, flags: c_int) -> io::Result<Option<WaitEvent>> {
    // SAFETY: siginfo_t is plain data; zeroed is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let (idtype, id) = match &child.pidfd {
        Some(fd) => (libc::P_PIDFD, fd.as_raw_fd() as libc::id_t),
        None => (libc::P_PID, child.pid as libc::id_t),
    };
    loop {
        // SAFETY: `info` is a valid, writable siginfo_t; idtype/id name only our own child.
        let r = unsafe { libc::waitid(idtype, id, &mut info, flags | libc::__WALL) };
        if r == 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return Err(e);
    }
    // SAFETY: after a successful waitid the si_pid/si_status fields are initialised (or zero
    // with WNOHANG when nothing was ready).
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    Ok(Some(match info.si_code {
        libc::CLD_EXITED => WaitEvent::Ended(Termination::Exited(status)),
        libc::CLD_KILLED => WaitEvent::Ended(Termination::Signaled {
            signal: status,
            core_dumped: false,
        }),
        libc::CLD_DUMPED => WaitEvent::Ended(Termination::Signaled {
            signal: status,
            core_dumped: true,
        }),
        libc::CLD_STOPPED | libc::CLD_TRAPPED => WaitEvent::Stopped(status),
        _ => WaitEvent::Continued,
    }))
}

/// A stop or a continue of the child not reported before (`WSTOPPED | WCONTINUED |
/// WNOHANG`, never `WEXITED`: this never reaps). Each event is reported once: `waitid`
/// consumes it. `Ok(None)`: nothing new, or the child has ended (or is already reaped).
pub(crate) fn try_wait_job_state(child: &Spawned) -> io::Result<Option<WaitEvent>> {
    match waitid(child, libc::WSTOPPED | libc::WCONTINUED | libc::WNOHANG) {
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => Ok(None),
        other => other,
    }
}

/// Reaps the child if it has ended (`WNOHANG`). `Ok(None)`: still running.
///
/// When the kernel already released the child (`ECHILD`: the host ignores `SIGCHLD`, so the
/// kernel auto-reaped it, or the host's own `waitpid(-1)` took it), the exit status is read
/// back from the pidfd (`PIDFD_GET_INFO` with `PIDFD_INFO_EXIT`, Linux 6.15+). Where that is
/// not available the `ECHILD` error is returned: never a made-up status.
pub(crate) fn try_reap(child: &Spawned) -> io::Result<Option<Termination>> {
    match waitid(child, libc::WEXITED | libc::WNOHANG) {
        Ok(Some(WaitEvent::Ended(t))) => {
            child.unregister();
            Ok(Some(t))
        }
        Ok(_) => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => {
            // No longer our child, whoever released it.
            child.unregister();
            match &child.pidfd {
                Some(fd) => match pidfd_exit_status(fd.as_fd())? {
                    Some(t) => Ok(Some(t)),
                    None => Err(e),
                },
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// `struct pidfd_info` (include/uapi/linux/pidfd.h), first version: 64 bytes.
#[repr(C)]
#[derive(Default)]
struct PidfdInfo {
    mask: u64,
    cgroupid: u64,
    pid: u32,
    tgid: u32,
    ppid: u32,
    ruid: u32,
    rgid: u32,
    euid: u32,
    egid: u32,
    suid: u32,
    sgid: u32,
    fsuid: u32,
    fsgid: u32,
    exit_code: i32,
}

const PIDFD_INFO_EXIT: u64 = 1 << 3;
/// `_IOWR(PIDFS_IOCTL_MAGIC = 0xFF, 11, struct pidfd_info)` with the 64-byte struct.
const PIDFD_GET_INFO: u64 = (3 << 30) | (64 << 16) | (0xFF << 8) | 11;

/// `ioctl(fd, PIDFD_GET_INFO)` asking for `PIDFD_INFO_EXIT`.
fn pidfd_get_exit_info(fd: BorrowedFd<'_>) -> io::Result<PidfdInfo> {
    let mut info = PidfdInfo {
        mask: PIDFD_INFO_EXIT,
        ..PidfdInfo::default()
    };
    // SAFETY: PIDFD_GET_INFO reads `mask` and writes at most size_of::<PidfdInfo>() = 64
    // bytes (the size encoded in the request number) into `info`, a live, writable value.
    let r = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            PIDFD_GET_INFO as _,
            &mut info as *mut PidfdInfo,
        )
    };
    if r == 0 {
        Ok(info)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The exit status of a (possibly already reaped) child, from its pidfd. `Ok(None)` when the
/// kernel does not offer `PIDFD_INFO_EXIT` or has no exit information (still running).
fn pidfd_exit_status(fd: BorrowedFd<'_>) -> io::Result<Option<Termination>> {
    match pidfd_get_exit_info(fd) {
        Ok(info) if info.mask & PIDFD_INFO_EXIT != 0 => {
            Ok(Some(decode_wait_status(info.exit_code)))
        }
        Ok(_) => Ok(None),
        Err(e) => match e.raw_os_error() {
            Some(libc::ENOTTY | libc::EINVAL | libc::ESRCH) => Ok(None),
            _ => Err(e),
        },
    }
}

/// Decodes a `wait(2)` status word.
fn decode_wait_status(status: i32) -> Termination {
    if status & 0x7f == 0 {
        Termination::Exited((status >> 8) & 0xff)
    } else {
        Termination::Signaled {
            signal: status & 0x7f,
            core_dumped: status & 0x80 != 0,
        }
    }
}

static EXIT_INFO_STATE: AtomicU8 = AtomicU8::new(PIDFD_UNKNOWN);

/// Whether this kernel gives a reaped child's exit status through its pidfd
/// (`PIDFD_INFO_EXIT`). Probed once on a pidfd of our own process.
pub(crate) fn pidfd_exit_info_supported() -> bool {
    match EXIT_INFO_STATE.load(Ordering::Relaxed) {
        PIDFD_YES => return true,
        PIDFD_NO => return false,
        _ => {}
    }
    // SAFETY: pidfd_open on our own pid with no flags; the result is checked and owned.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0u32) };
    if fd < 0 {
        // A transient failure (EMFILE) is not cached.
        if errno() != libc::EMFILE && errno() != libc::ENFILE {
            EXIT_INFO_STATE.store(PIDFD_NO, Ordering::Relaxed);
        }
        return false;
    }
    // SAFETY: the kernel just gave us this descriptor.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    let r = pidfd_get_exit_info(fd.as_fd());
    // A running process answers the ioctl (without the EXIT bit) on kernels that know it;
    // older kernels answer ENOTTY. Kernels with PIDFD_GET_INFO but before PIDFD_INFO_EXIT
    // (6.13, 6.14) cannot be told apart here; on them a lost status is still an error.
    let ok = r.is_ok();
    EXIT_INFO_STATE.store(if ok { PIDFD_YES } else { PIDFD_NO }, Ordering::Relaxed);
    ok
}

/// Reaps the child, blocking until it ends.
pub(crate) fn reap_blocking(child: &Spawned) -> io::Result<Termination> {
    loop {
        match waitid(child, libc::WEXITED) {
            Ok(Some(WaitEvent::Ended(t))) => {
                child.unregister();
                return Ok(t);
            }
            Ok(_) => {}
            Err(e) => {
                if e.raw_os_error() == Some(libc::ECHILD) {
                    child.unregister();
                }
                return Err(e);
            }
        }
    }
}

/// Reaps every child of this process that has ended, except the children this library
/// created and has not reaped yet ([`LIBRARY_CHILDREN`]) and those listed in `keep` by (pid,
/// start time); returns how many it reaped. Never blocks (`waitid(P_PID, pid, WEXITED |
/// WNOHANG)` per candidate; no `__WALL`: only ordinary `SIGCHLD` children, which every
/// reparented orphan is).
///
/// Holds [`SPAWN_GATE`] exclusively, so no child of ours is between `clone` and
/// registration meanwhile. A pid listed here and then reaped by someone else and reused is,
/// if it is our child at all, a new child that is not the library's (none can be created
/// during the sweep): reaping it is what the sweep is for.
pub(crate) fn reap_orphans(keep: &[(i32, u64)]) -> usize {
    let _gate = SPAWN_GATE.write().unwrap_or_else(|p| p.into_inner());
    let me = super::tree::getpid();
    let mut reaped = 0;
    for pid in super::tree::children(me) {
        if is_library_child(pid) {
            continue;
        }
        if keep.iter().any(|&(p, _)| p == pid) {
            // Still the child we had before (same start time), or gone: leave it alone.
            match super::tree::stat(pid) {
                Some(st) if keep.contains(&(pid, st.starttime)) => continue,
                None => continue,
                Some(_) => {}
            }
        }
        let Some(p) = rustix::process::Pid::from_raw(pid) else {
            continue;
        };
        let flags = rustix::process::WaitIdOptions::EXITED | rustix::process::WaitIdOptions::NOHANG;
        // Otherwise still running, or not our child (any more).
        if let Ok(Some(_)) = super::tree::waitid(rustix::process::WaitId::Pid(p), flags) {
            reaped += 1;
        }
    }
    reaped
}

/// Our children now, with their start times (what [`reap_orphans`] is to leave alone).
pub(crate) fn current_children() -> Vec<(i32, u64)> {
    super::tree::children(super::tree::getpid())
        .into_iter()
        .filter_map(|c| super::tree::stat(c).map(|s| (c, s.starttime)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{decode_wait_status, Termination};

    /// Every status word `wait(2)` can report for an ended child, checked against the C
    /// library's own macros (`WIFEXITED`, `WEXITSTATUS`, `WTERMSIG`, `WCOREDUMP`).
    #[test]
    fn decode_wait_status_agrees_with_the_c_library_macros() {
        let exited = (0..=255).map(|code| code << 8);
        let signaled = (1..=64).flat_map(|sig| [sig, sig | 0x80]);
        for status in exited.chain(signaled).filter(|s| s & 0x7f != 0x7f) {
            let expected = if libc::WIFEXITED(status) {
                Termination::Exited(libc::WEXITSTATUS(status))
            } else {
                assert!(libc::WIFSIGNALED(status), "status {status:#x}");
                Termination::Signaled {
                    signal: libc::WTERMSIG(status),
                    core_dumped: libc::WCOREDUMP(status),
                }
            };
            assert_eq!(decode_wait_status(status), expected, "status {status:#x}");
        }
    }

    #[test]
    fn decode_wait_status_examples() {
        assert_eq!(decode_wait_status(0), Termination::Exited(0));
        assert_eq!(decode_wait_status(3 << 8), Termination::Exited(3));
        assert_eq!(decode_wait_status(255 << 8), Termination::Exited(255));
        assert_eq!(
            decode_wait_status(libc::SIGKILL),
            Termination::Signaled {
                signal: 9,
                core_dumped: false
            }
        );
        assert_eq!(
            decode_wait_status(libc::SIGSEGV | 0x80),
            Termination::Signaled {
                signal: 11,
                core_dumped: true
            }
        );
    }
}
