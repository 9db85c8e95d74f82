//! Process creation, waiting and signalling on Linux.
//!
//! # How a child is created
//! `clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD, exit signal 0)`, the same shape as glibc's
//! `posix_spawn`: the child runs on a small separate stack in the parent's memory while the
//! calling thread is suspended until the child execs or exits. No page tables are copied, so
//! it keeps `vfork` speed, yet the child can still do what we need before exec: set up signal
//! dispositions and the mask, arm a parent-death signal, join or lead a process group, set
//! rlimits, change directory, arrange descriptors, and exec the checked file by descriptor.
//! The child only makes raw system calls (no allocation, no locks). An exec failure is
//! written by the child into the shared argument block, so `spawn` reports it with the errno
//! instead of a child exiting 127.
//!
//! The exit signal passed to `clone` is **0**, but the kernel resets it to `SIGCHLD` when the
//! child execs (its exec changes its "execution domain"; `/proc/PID/stat` shows 17), so after
//! exec our children are ordinary `SIGCHLD` children: a host's `waitpid(-1, …)` can reap them
//! and a host that ignores `SIGCHLD` makes the kernel auto-reap them. Exit statuses survive
//! both because we hold a pidfd: `try_reap` reads the status back with `PIDFD_INFO_EXIT`
//! (Linux 6.15+); on older kernels such a lost status is an `Unsupported` error, never a made-up
//! one, and spawning under an ignored `SIGCHLD` is refused up front. In the other direction we
//! wait with `__WALL` on our own pidfd or pid only, never on `-1`, so we never reap a child we
//! did not create.
//!
//! `CLONE_PIDFD` (Linux 5.2+) returns a pidfd atomically with the child. It is probed on the
//! first spawn; where the kernel refuses it (`EINVAL`), spawning continues without one and
//! waiting falls back to polling `waitid(WNOHANG)` every `check_interval`.
//!
//! # References
//! clone(2), pidfd_open(2), pidfd_send_signal(2), waitid(2), execveat(2), close_range(2),
//! setpgid(2), setrlimit(2), sigaction(2), sigprocmask(2), prctl(2) (`PR_SET_PDEATHSIG`).

use std::collections::BTreeMap;
use std::ffi::{c_char, c_int, c_void};
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};

use super::child::{child_main, errno, ChildArgs, CHILD_STACK};
pub(crate) use super::wait::{
    current_children, pidfd_exit_info_supported, reap_blocking, reap_orphans, try_reap,
    try_wait_job_state,
};
pub(crate) use crate::sys::spawn_types::{
    Pgroup, RawDispositions, RawRlimit, SpawnError, SpawnSpec, Stage, Termination, WaitEvent,
};

/// A child just created.
pub(crate) struct Spawned {
    pub pid: i32,
    pub pidfd: Option<OwnedFd>,
    /// The child's start time in clock ticks after boot (field 22 of `/proc/PID/stat`) when
    /// it is known from the clock read around `clone` ([`start_ticks_between`]); `None`
    /// when `/proc` must be asked ([`process_start_time`]).
    start_ticks: Option<u64>,
    /// Whether `pid` still counts in [`LIBRARY_CHILDREN`] (until it is reaped or this value
    /// is dropped, whichever comes first).
    registered: AtomicBool,
}

/// The children this library created and has not reaped yet: pid → how many [`Spawned`]
/// values hold it (more than one only for a moment, when a pid we just reaped is reused by
/// our next child before the first value has let go of it).
///
/// Two readers need it:
/// - the tree walk, to tell our own children from orphans adopted as a subreaper (the kernel
///   resets every child's exit signal to `SIGCHLD` at exec, so that cannot tell them apart);
/// - the orphan sweep ([`reap_orphans`]), which must never reap one of them: we wait for
///   them through their pidfds, and a status reaped by someone else is lost (before Linux
///   6.15) or at best read back.
///
/// # Why a just-cloned child can never be swept
/// A child exists from the moment `clone` creates it, and may even have exited (an exec
/// failure, or a program that ends at once) by the time `clone` returns to us — before it is
/// registered here. [`SPAWN_GATE`] closes that window: every spawn holds it *shared* from
/// before `clone` until the pid is registered, and the sweep holds it *exclusively* for its
/// whole run. So while a sweep runs, no child of ours is between `clone` and registration,
/// and every child of ours that has not been reaped is in this set. Spawns do not exclude one
/// another (shared), only sweeps, which are short: one listing of our children and one
/// `waitid(WNOHANG)` per candidate.
static LIBRARY_CHILDREN: Mutex<BTreeMap<i32, usize>> = Mutex::new(BTreeMap::new());

/// Orders spawns against orphan sweeps (see [`LIBRARY_CHILDREN`]).
pub(super) static SPAWN_GATE: RwLock<()> = RwLock::new(());

fn library_children() -> MutexGuard<'static, BTreeMap<i32, usize>> {
    LIBRARY_CHILDREN.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether `pid` is a child this library created and has not yet reaped or let go of.
pub(crate) fn is_library_child(pid: i32) -> bool {
    library_children().contains_key(&pid)
}

impl Spawned {
    /// Registers a child just cloned (under [`SPAWN_GATE`], shared).
    fn register(pid: i32, pidfd: Option<OwnedFd>, start_ticks: Option<u64>) -> Spawned {
        *library_children().entry(pid).or_insert(0) += 1;
        Spawned {
            pid,
            pidfd,
            start_ticks,
            registered: AtomicBool::new(true),
        }
    }

    /// Takes `pid` out of [`LIBRARY_CHILDREN`] once: when the child has been reaped (so the
    /// pid is free for the kernel to reuse, perhaps for an orphan the sweep should reap), or
    /// when this value goes.
    pub(super) fn unregister(&self) {
        if self.registered.swap(false, Ordering::AcqRel) {
            let mut set = library_children();
            if let Some(n) = set.get_mut(&self.pid) {
                *n -= 1;
                if *n == 0 {
                    set.remove(&self.pid);
                }
            }
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.unregister();
    }
}

pub(super) const PIDFD_UNKNOWN: u8 = 0;
pub(super) const PIDFD_YES: u8 = 1;
pub(super) const PIDFD_NO: u8 = 2;
static CLONE_PIDFD_STATE: AtomicU8 = AtomicU8::new(PIDFD_UNKNOWN);

/// Forces the no-pidfd fallback for this process (tests of the fallback path).
pub(crate) fn disable_pidfd() {
    CLONE_PIDFD_STATE.store(PIDFD_NO, Ordering::Relaxed);
}

/// Whether spawns get a pidfd (after the first probe; `true` before it).
pub(crate) fn pidfd_supported() -> bool {
    CLONE_PIDFD_STATE.load(Ordering::Relaxed) != PIDFD_NO
}

/// Spawns a child as described in the module docs.
///
/// All signals are blocked in the calling thread around `clone`, so no handler of ours can run
/// in the child on the shared stack of memory; the child resets every handled signal to its
/// default, sets up the ignored ones as `spec.dispositions` says, and installs an empty mask
/// just before exec.
pub(crate) fn spawn(spec: &SpawnSpec<'_>) -> Result<Spawned, SpawnError> {
    let mut argv_ptrs: Vec<*const c_char> = spec.argv.iter().map(|s| s.as_ptr()).collect();
    argv_ptrs.push(ptr::null());
    let mut envp_ptrs: Vec<*const c_char> = spec.envp.ptrs().collect();
    envp_ptrs.push(ptr::null());
    // A child in a new PID namespace cannot compare `getppid` with our pid (it reads 0): it
    // watches a pidfd of ours instead (see `child`).
    let parent_pidfd = match (&spec.isolation, spec.parent_death_signal) {
        (Some(_), s) if s != 0 => Some(
            rustix::process::pidfd_open(
                rustix::process::getpid(),
                rustix::process::PidfdFlags::empty(),
            )
            .map_err(|e| SpawnError {
                stage: Stage::Namespace(super::namespace::STEP_PARENT_PIDFD),
                errno: e.raw_os_error(),
            })?,
        ),
        _ => None,
    };
    let mut args = ChildArgs::new(
        spec,
        &argv_ptrs,
        &envp_ptrs,
        parent_pidfd.as_ref().map(|fd| fd.as_raw_fd()),
    );
    let mut stack: Vec<u8> = Vec::with_capacity(CHILD_STACK);
    // The stack grows down on every Linux architecture Rust supports; align the top to 16.
    let stack_top = ((stack.as_mut_ptr() as usize + CHILD_STACK) & !15) as *mut c_void;

    // Shared: an orphan sweep cannot run until the child is registered (see LIBRARY_CHILDREN).
    let gate = SPAWN_GATE.read().unwrap_or_else(|p| p.into_inner());
    let old_mask = block_all_signals();
    let mut result = clone_child(&mut args, stack_top, pidfd_supported());
    if let Err(e) = &result {
        if e.errno == libc::EINVAL && CLONE_PIDFD_STATE.load(Ordering::Relaxed) == PIDFD_UNKNOWN {
            // A kernel without CLONE_PIDFD (before 5.2) refuses the flag.
            CLONE_PIDFD_STATE.store(PIDFD_NO, Ordering::Relaxed);
            result = clone_child(&mut args, stack_top, false);
        }
    }
    restore_signals(&old_mask);
    drop(gate);
    drop(stack);
    drop(parent_pidfd);
    let spawned = result?;
    if spawned.pidfd.is_some() {
        CLONE_PIDFD_STATE.store(PIDFD_YES, Ordering::Relaxed);
    }
    if let Some(failure) = args.failure() {
        // The child failed before or at exec and has exited (127); reap it so no zombie stays.
        let _ = reap_blocking(&spawned);
        return Err(failure);
    }
    Ok(spawned)
}

fn clone_child(
    args: &mut ChildArgs,
    stack_top: *mut c_void,
    with_pidfd: bool,
) -> Result<Spawned, SpawnError> {
    let mut pidfd: c_int = -1;
    let namespaces = args.namespace_flags();
    let mut flags = libc::CLONE_VM | libc::CLONE_VFORK | namespaces;
    if with_pidfd {
        flags |= libc::CLONE_PIDFD;
    }
    // SAFETY: `child_main` only reads `args` (which outlives the call: CLONE_VFORK suspends
    // this thread until the child has exec'd or exited) and makes raw system calls; it never
    // returns into Rust code of the parent, allocates, or takes locks. `stack_top` points to
    // the top of a live, writable allocation of CHILD_STACK bytes owned by our caller, used by
    // nobody else until `clone` returns. With CLONE_PIDFD the kernel writes the pidfd into
    // `pidfd` (the parent_tid argument); without it that argument is ignored.
    let before = boottime_ns();
    let pid = unsafe {
        libc::clone(
            child_main,
            stack_top,
            flags,
            args as *mut ChildArgs as *mut c_void,
            &mut pidfd as *mut c_int,
        )
    };
    let after = boottime_ns();
    if pid < 0 {
        return Err(SpawnError {
            stage: if namespaces != 0 {
                Stage::Namespace(super::namespace::STEP_CLONE)
            } else {
                Stage::Clone
            },
            errno: errno(),
        });
    }
    let pidfd = if with_pidfd && pidfd >= 0 {
        // SAFETY: the kernel just created this descriptor for us (CLONE_PIDFD, close-on-exec)
        // and nothing else owns it.
        Some(unsafe { OwnedFd::from_raw_fd(pidfd) })
    } else {
        None
    };
    Ok(Spawned::register(
        pid,
        pidfd,
        start_ticks_between(before, after),
    ))
}

/// `CLOCK_BOOTTIME` now, in nanoseconds (vDSO; no system call on the usual clock sources).
fn boottime_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    // CLOCK_BOOTTIME is never negative; 2^64 ns is 584 years of uptime.
    (t.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(t.tv_nsec as u64)
}

/// The start time, in clock ticks after boot, of a child created by a `clone` during which
/// `CLOCK_BOOTTIME` went from `before` to `after` (ns); `None` when the two reads fall in
/// different ticks.
///
/// The kernel stamps a new task with `ktime_get_boottime_ns()` inside `clone`
/// (`copy_process`: `start_boottime`), and `/proc/PID/stat` reports it as
/// `nsec_to_clock_t(start_boottime)`, i.e. `⌊ns / (10⁹ / USER_HZ)⌋` when `USER_HZ` divides
/// 10⁹ (it is 100 on every architecture but alpha, whose 1024 takes the `/proc` path).
/// `clock_gettime(CLOCK_BOOTTIME)` reads the same timekeeper (in a time namespace both are
/// shifted by the reader's offset), so
/// `before ≤ start_boottime ≤ after`, and when both ends are in one tick that tick is the
/// start time: exactly the number `/proc` would give, without opening it (about 40 µs per
/// spawn here: a new `/proc/PID` directory, its `stat` and a context switch). A tick passing
/// during the `clone` (about one spawn in a hundred), or an unusual `USER_HZ`, leaves it to
/// the `/proc` read. `tests/audit_process_id.rs` compares the two for hundreds of children.
fn start_ticks_between(before: u64, after: u64) -> Option<u64> {
    let hz = rustix::param::clock_ticks_per_second();
    if hz == 0 || 1_000_000_000 % hz != 0 || after < before {
        return None;
    }
    let ns_per_tick = 1_000_000_000 / hz;
    let (a, b) = (before / ns_per_tick, after / ns_per_tick);
    (a == b).then_some(a)
}

fn block_all_signals() -> u64 {
    let all: u64 = !0;
    let mut old: u64 = 0;
    // SAFETY: rt_sigprocmask on the calling thread with valid pointers to 8-byte sets (the
    // kernel's sigset size on Linux). Blocking is undone by `restore_signals`.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &all as *const u64,
            &mut old as *mut u64,
            8usize,
        );
    }
    old
}

fn restore_signals(old: &u64) {
    // SAFETY: as in `block_all_signals`; restores the mask saved there.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            old as *const u64,
            ptr::null_mut::<u64>(),
            8usize,
        );
    }
}

/// Sends `sig` to the child: through its pidfd (`pidfd_send_signal`), or by pid when there is
/// none — callers guarantee the child is not yet reaped, so the pid cannot have been reused.
pub(crate) fn send_signal(child: &Spawned, sig: i32) -> io::Result<()> {
    // SAFETY: pidfd_send_signal with a pidfd we own, a NULL siginfo and flags 0; kill with
    // the pid of our own unreaped child.
    let r = unsafe {
        match &child.pidfd {
            Some(fd) => libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd.as_raw_fd(),
                sig,
                ptr::null::<libc::siginfo_t>(),
                0u32,
            ) as c_int,
            None => libc::kill(child.pid, sig),
        }
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sends `sig` to every process of group `pgid` (`kill(-pgid, sig)`). `sig` 0 only checks
/// that the group still has a member.
pub(crate) fn kill_group(pgid: i32, sig: i32) -> io::Result<()> {
    if pgid <= 1 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: kill(2) with a negative pid addresses a process group; no memory is involved.
    let r = unsafe { libc::kill(-pgid, sig) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `sysconf(_SC_ARG_MAX)`: the kernel's limit on arguments plus environment, in bytes.
pub(crate) fn arg_max() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_ARG_MAX) };
    if v > 0 {
        v as usize
    } else {
        128 * 1024
    }
}

/// The current disposition of `SIGCHLD` is "ignore" (or `SA_NOCLDWAIT` is set).
pub(crate) fn sigchld_ignored() -> bool {
    // SAFETY: querying a disposition with a NULL new action and a valid out pointer.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGCHLD, ptr::null(), &mut old) == 0
            && (old.sa_sigaction == libc::SIG_IGN || old.sa_flags & libc::SA_NOCLDWAIT != 0)
    }
}

/// The `RLIMIT_*` number of a resource (anything that converts into the raw form, such as
/// `crate::command::Resource`).
pub(crate) fn rlimit_resource(r: impl Into<crate::sys::spawn_types::RawResource>) -> c_int {
    use crate::sys::spawn_types::RawResource as R;
    (match r.into() {
        R::Cpu => libc::RLIMIT_CPU,
        R::As => libc::RLIMIT_AS,
        R::Nofile => libc::RLIMIT_NOFILE,
        R::Core => libc::RLIMIT_CORE,
        R::Nproc => libc::RLIMIT_NPROC,
        R::Fsize => libc::RLIMIT_FSIZE,
    }) as c_int
}

/// The child's start time, in clock ticks after boot: field 22 (`starttime`) of
/// `/proc/PID/stat`, known from the clock read around `clone` for nearly every child
/// ([`start_ticks_between`]), else read from the file. `None` when the file cannot be read
/// or parsed, or when the child was reaped by the time the read was done, so that the pid
/// may have been another process's:
/// after the read, `pidfd_send_signal(pidfd, 0)` must still find the child (a zombie still
/// holds its pid; only reaping frees it). Without a pidfd (kernels before 5.2) the caller
/// must know the child is not reaped: the library then refuses hosts that ignore `SIGCHLD`,
/// and only its own waits reap.
pub(crate) fn process_start_time(child: &Spawned) -> Option<u64> {
    if let Some(ticks) = child.start_ticks {
        return Some(ticks);
    }
    // One `openat`, one `read` into a stack buffer, one `close` (`std::fs::read` adds a
    // `statx` and, since procfs reports size 0, probes with five reads). The line is at most
    // about 700 bytes (52 numbers and a 16-byte `comm`); it is used only when it ends with
    // its newline, so a short read can never give a cut number.
    let mut path = [0u8; 32];
    let path = proc_stat_path(&mut path, child.pid)?;
    let fd = rustix::fs::open(
        path,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC | rustix::fs::OFlags::NOCTTY,
        rustix::fs::Mode::empty(),
    )
    .ok()?;
    let mut buf = [0u8; 1024];
    let n = loop {
        match rustix::io::read(&fd, &mut buf) {
            Err(rustix::io::Errno::INTR) => continue,
            r => break r.ok()?,
        }
    };
    drop(fd);
    let stat = buf.get(..n)?;
    if stat.last() != Some(&b'\n') {
        return None;
    }
    let start = stat_start_time(stat)?;
    if let Some(fd) = &child.pidfd {
        super::tree::pidfd_signal(fd.as_fd(), 0).ok()?;
    }
    Some(start)
}

/// `/proc/PID/stat` as a C string in `buf`, without allocating.
fn proc_stat_path(buf: &mut [u8; 32], pid: i32) -> Option<&std::ffi::CStr> {
    use std::io::Write;
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    write!(cursor, "/proc/{pid}/stat\0").ok()?;
    let len = cursor.position() as usize;
    std::ffi::CStr::from_bytes_with_nul(&buf[..len]).ok()
}

/// Field 22 (`starttime`) of a `/proc/PID/stat` line.
fn stat_start_time(stat: &[u8]) -> Option<u64> {
    // `PID (COMM) STATE …`: COMM may hold spaces and parentheses, so count from the last `)`.
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
    // Field 3 (`state`) is the first after `)`; field 22 is the twentieth.
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// This boot's id (`/proc/sys/kernel/random/boot_id`, a UUID the kernel draws at boot),
/// read once; `None` when it cannot be read.
pub(crate) fn boot_id() -> Option<&'static str> {
    static BOOT_ID: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    BOOT_ID
        .get_or_init(|| {
            std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
        })
        .as_deref()
}

/// Our hard limit of `resource` (`getrlimit(2)`), which a child inherits and which an
/// unprivileged process cannot raise; `None` when unlimited (`RLIM_INFINITY`).
pub(crate) fn hard_rlimit(
    resource: impl Into<crate::sys::spawn_types::RawResource>,
) -> Option<u64> {
    use crate::sys::spawn_types::RawResource;
    use rustix::process::Resource as R;
    let r = match resource.into() {
        RawResource::Cpu => R::Cpu,
        RawResource::As => R::As,
        RawResource::Nofile => R::Nofile,
        RawResource::Core => R::Core,
        RawResource::Nproc => R::Nproc,
        RawResource::Fsize => R::Fsize,
    };
    rustix::process::getrlimit(r).maximum
}

/// Our soft `RLIMIT_NOFILE` (the child inherits it unless the command changes it).
pub(crate) fn nofile_soft_limit() -> u64 {
    let lim = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    lim.current.unwrap_or(u64::MAX)
}

/// A close-on-exec duplicate of descriptor number `fd`, which this process inherited (for
/// `reml-process run --pass-fd`).
///
/// # Errors
/// `EBADF` when `fd` is not open.
pub(crate) fn dup_inherited_fd(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) on a plain number touches no memory; the kernel checks
    // that the number is open (EBADF otherwise). The result is a new descriptor we own.
    let r = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `r` was just created for us by fcntl.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

/// What kind of object a descriptor refers to, for audit records: `"memfd"`, `"file"`,
/// `"pipe"`, `"socket"`, `"directory"`, `"char-device"`, `"other"` (never its contents).
pub(crate) fn fd_kind(fd: &OwnedFd) -> &'static str {
    use rustix::fs::FileType;
    let Ok(st) = rustix::fs::fstat(fd) else {
        return "other";
    };
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => {
            let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()));
            match link {
                Ok(p) if p.to_string_lossy().starts_with("/memfd:") => "memfd",
                _ => "file",
            }
        }
        FileType::Fifo => "pipe",
        FileType::Socket => "socket",
        FileType::Directory => "directory",
        FileType::CharacterDevice => "char-device",
        _ => "other",
    }
}

/// `RLIM_INFINITY` as a u64.
pub(crate) const RLIM_INFINITY: u64 = libc::RLIM_INFINITY;

#[cfg(test)]
mod tests {
    use super::start_ticks_between;

    #[test]
    fn start_ticks_only_when_both_reads_are_in_one_tick() {
        let tick = 1_000_000_000 / rustix::param::clock_ticks_per_second();
        // 12.3 ticks after boot to 12.9: tick 12.
        assert_eq!(
            start_ticks_between(12 * tick + tick / 3, 12 * tick + tick * 9 / 10),
            Some(12)
        );
        // The last nanosecond of tick 12 to the first of 13: unknown.
        assert_eq!(start_ticks_between(13 * tick - 1, 13 * tick), None);
        assert_eq!(start_ticks_between(13 * tick, 13 * tick), Some(13));
        // A clock that went backwards is not trusted.
        assert_eq!(start_ticks_between(12 * tick + 5, 12 * tick + 4), None);
    }
}
