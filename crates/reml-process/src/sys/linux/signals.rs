//! Receiving signals synchronously through a `signalfd`, for supervisors that forward them;
//! the dispositions this process inherited, recorded before `main`.
//!
//! # References
//! signalfd(2), pthread_sigmask(3), sigaction(2), signal(7).

use crate::sys::spawn_types::Received;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The signals whose disposition was "ignore" when this process started (bit `n - 1` for
/// signal `n`), valid once [`RECORDED`] is set.
static IGNORED_AT_START: AtomicU64 = AtomicU64::new(0);
static RECORDED: AtomicBool = AtomicBool::new(false);

/// Records the inherited dispositions. Runs as an ELF constructor: the C library calls every
/// function of the executable's `.init_array` before `main`, so before the Rust runtime's
/// start-up (inside `main`) sets `SIGPIPE` to "ignore". In a shared object it runs when the
/// object is loaded.
extern "C" fn record_inherited_dispositions() {
    let mut mask = 0u64;
    for sig in 1..=64 {
        // SAFETY: a query only (null new action) into a zeroed, plain-data sigaction that
        // the call fills. Signals the C library reserves (32, 33) are refused with EINVAL
        // and count as not ignored.
        let ignored = unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
        };
        if ignored {
            mask |= 1u64 << (sig - 1);
        }
    }
    IGNORED_AT_START.store(mask, Ordering::Relaxed);
    RECORDED.store(true, Ordering::Release);
}

/// The constructor's entry in `.init_array` (see [`record_inherited_dispositions`]).
/// `#[used]` keeps it through compilation; the linker keeps every `.init_array` entry of the
/// objects it links, and this object is linked whenever [`ignored_at_start`] is called.
#[used]
#[link_section = ".init_array"]
static RECORD_AT_START: extern "C" fn() = record_inherited_dispositions;

/// The signals whose disposition was "ignore" when this process started (bit `n - 1` for
/// signal `n`), or `None` when the constructor did not run (never on glibc or musl Linux).
pub(crate) fn ignored_at_start() -> Option<u64> {
    RECORDED
        .load(Ordering::Acquire)
        .then(|| IGNORED_AT_START.load(Ordering::Relaxed))
}

/// Blocks `signals` in the calling thread (threads created later inherit the mask) and opens
/// a close-on-exec, non-blocking signalfd that receives them.
pub(crate) fn block_and_open(signals: &[i32]) -> io::Result<OwnedFd> {
    // SAFETY: sigset_t is plain data initialised by sigemptyset; pthread_sigmask and signalfd
    // get valid pointers to it; the returned descriptor is new and owned by us.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        let r = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Reads one pending signal from a signalfd; `Ok(None)` when none is pending.
pub(crate) fn read_signal(fd: &OwnedFd) -> io::Result<Option<Received>> {
    // SAFETY: signalfd_siginfo is plain data; read writes at most its size into it.
    unsafe {
        let mut info: libc::signalfd_siginfo = std::mem::zeroed();
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        let n = libc::read(
            fd.as_raw_fd(),
            &mut info as *mut libc::signalfd_siginfo as *mut libc::c_void,
            size,
        );
        if n == size as isize {
            return Ok(Some(Received {
                signo: info.ssi_signo as i32,
                pid: info.ssi_pid as i32,
                code: info.ssi_code,
            }));
        }
        let e = io::Error::last_os_error();
        if n < 0 && e.raw_os_error() == Some(libc::EAGAIN) {
            return Ok(None);
        }
        Err(e)
    }
}

/// Whether the current disposition of `sig` is "ignore" (`SIG_IGN`).
pub(crate) fn is_ignored(sig: i32) -> bool {
    // SAFETY: a query only (null new action) into a zeroed, plain-data sigaction that the
    // call fills.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Sets `SIGXFSZ` to "ignore" for this process (a write past `RLIMIT_FSIZE` then fails with
/// `EFBIG` instead of ending the process).
pub(crate) fn ignore_sigxfsz() {
    // SAFETY: installs SIG_IGN, a disposition with no handler code to run and no
    // memory-safety preconditions; sigaction(2) only reads its plain-data argument.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Puts `SIGCHLD` back to its default disposition when it is "ignore" or has
/// `SA_NOCLDWAIT`; returns whether it changed anything.
pub(crate) fn default_sigchld() -> bool {
    // SAFETY: a query into a zeroed, plain-data sigaction, then installing SIG_DFL; neither
    // has memory-safety preconditions.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut old) == 0
            && (old.sa_sigaction == libc::SIG_IGN || old.sa_flags & libc::SA_NOCLDWAIT != 0)
        {
            libc::signal(libc::SIGCHLD, libc::SIG_DFL);
            return true;
        }
    }
    false
}
