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
use std::ffi::{c_char, c_int, c_void, CStr};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};

pub(crate) use crate::sys::spawn_types::{
    Pgroup, RawDispositions, RawRlimit, SpawnError, SpawnSpec, Stage, Termination, WaitEvent,
};

/// A child just created.
pub(crate) struct Spawned {
    pub pid: i32,
    pub pidfd: Option<OwnedFd>,
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
static SPAWN_GATE: RwLock<()> = RwLock::new(());

fn library_children() -> MutexGuard<'static, BTreeMap<i32, usize>> {
    LIBRARY_CHILDREN.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether `pid` is a child this library created and has not yet reaped or let go of.
pub(crate) fn is_library_child(pid: i32) -> bool {
    library_children().contains_key(&pid)
}

impl Spawned {
    /// Registers a child just cloned (under [`SPAWN_GATE`], shared).
    fn register(pid: i32, pidfd: Option<OwnedFd>) -> Spawned {
        *library_children().entry(pid).or_insert(0) += 1;
        Spawned {
            pid,
            pidfd,
            registered: AtomicBool::new(true),
        }
    }

    /// Takes `pid` out of [`LIBRARY_CHILDREN`] once: when the child has been reaped (so the
    /// pid is free for the kernel to reuse, perhaps for an orphan the sweep should reap), or
    /// when this value goes.
    fn unregister(&self) {
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

const PIDFD_UNKNOWN: u8 = 0;
const PIDFD_YES: u8 = 1;
const PIDFD_NO: u8 = 2;
static CLONE_PIDFD_STATE: AtomicU8 = AtomicU8::new(PIDFD_UNKNOWN);

/// Forces the no-pidfd fallback for this process (tests of the fallback path).
pub(crate) fn disable_pidfd() {
    CLONE_PIDFD_STATE.store(PIDFD_NO, Ordering::Relaxed);
}

/// Whether spawns get a pidfd (after the first probe; `true` before it).
pub(crate) fn pidfd_supported() -> bool {
    CLONE_PIDFD_STATE.load(Ordering::Relaxed) != PIDFD_NO
}

/// The block shared between parent and child (the child writes only `err_*`).
#[repr(C)]
struct ChildArgs {
    program: *const c_char,
    exec_fd: c_int,
    check_identity: c_int,
    check_dev: u64,
    check_ino: u64,
    argv: *const *const c_char,
    envp: *const *const c_char,
    cwd: *const c_char,
    fd_map: *const (RawFd, RawFd),
    fd_map_len: usize,
    /// Lowest descriptor number for temporary copies (above every target).
    temp_base: c_int,
    pgroup_kind: c_int,
    pgroup_id: c_int,
    rlimits: *const RawRlimit,
    rlimits_len: usize,
    foreground: c_int,
    /// `DISP_*`, with `ignore_mask` for `DISP_IGNORE`.
    disp_mode: c_int,
    ignore_mask: u64,
    /// `PR_SET_PDEATHSIG` signal, 0 for none, and our pid to check the parent against.
    pdeathsig: c_int,
    parent_pid: c_int,
    /// Landlock ruleset descriptor to apply before exec, -1 for none (sandbox hook).
    landlock_fd: c_int,
    err_stage: c_int,
    err_arg: c_int,
    err_errno: c_int,
}

const STAGE_NONE: c_int = 0;
const STAGE_SETPGID: c_int = 1;
const STAGE_RLIMIT: c_int = 2;
const STAGE_CHDIR: c_int = 3;
const STAGE_FD: c_int = 4;
const STAGE_EXEC: c_int = 5;
const STAGE_IDENTITY: c_int = 6;
const STAGE_PDEATHSIG: c_int = 7;
const STAGE_SANDBOX: c_int = 8;

const DISP_KEEP_IGNORED_EXCEPT_PIPE: c_int = 0;
const DISP_RESET_ALL: c_int = 1;
const DISP_IGNORE: c_int = 2;

/// Size of the child's stack. The child function only makes system calls with a few words of
/// locals; 64 KiB leaves a wide margin even in debug builds.
const CHILD_STACK: usize = 64 * 1024;

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
    let max_target = spec.fd_map.iter().map(|&(_, t)| t).max().unwrap_or(2);
    let (pgroup_kind, pgroup_id) = match spec.pgroup {
        Pgroup::Inherit => (0, 0),
        Pgroup::New => (1, 0),
        Pgroup::Join(id) => (1, id),
    };
    let mut args = ChildArgs {
        program: spec.program.as_ptr(),
        exec_fd: spec.exec_fd.map_or(-1, |fd| fd.as_raw_fd()),
        check_identity: spec.exec_identity.is_some() as c_int,
        check_dev: spec.exec_identity.map_or(0, |i| i.0),
        check_ino: spec.exec_identity.map_or(0, |i| i.1),
        argv: argv_ptrs.as_ptr(),
        envp: envp_ptrs.as_ptr(),
        cwd: spec.cwd.map_or(ptr::null(), CStr::as_ptr),
        fd_map: spec.fd_map.as_ptr(),
        fd_map_len: spec.fd_map.len(),
        temp_base: max_target.max(2) + 1,
        pgroup_kind,
        pgroup_id,
        rlimits: spec.rlimits.as_ptr(),
        rlimits_len: spec.rlimits.len(),
        foreground: c_int::from(spec.foreground),
        disp_mode: match spec.dispositions {
            RawDispositions::KeepIgnoredExceptPipe => DISP_KEEP_IGNORED_EXCEPT_PIPE,
            RawDispositions::ResetAll => DISP_RESET_ALL,
            RawDispositions::Ignore(_) => DISP_IGNORE,
        },
        ignore_mask: match spec.dispositions {
            RawDispositions::Ignore(mask) => mask,
            _ => 0,
        },
        pdeathsig: spec.parent_death_signal,
        // SAFETY: getpid(2) has no preconditions and cannot fail.
        parent_pid: unsafe { libc::getpid() },
        landlock_fd: spec.landlock_fd,
        err_stage: STAGE_NONE,
        err_arg: 0,
        err_errno: 0,
    };
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
    let spawned = result?;
    if spawned.pidfd.is_some() {
        CLONE_PIDFD_STATE.store(PIDFD_YES, Ordering::Relaxed);
    }
    if args.err_stage != STAGE_NONE {
        // The child failed before or at exec and has exited (127); reap it so no zombie stays.
        let _ = reap_blocking(&spawned);
        let stage = match args.err_stage {
            STAGE_SETPGID => Stage::SetPgid,
            STAGE_RLIMIT => Stage::Rlimit(args.err_arg as usize),
            STAGE_CHDIR => Stage::Chdir,
            STAGE_FD => Stage::Fd(args.err_arg),
            STAGE_IDENTITY => Stage::Identity,
            STAGE_PDEATHSIG => Stage::ParentDeathSignal,
            STAGE_SANDBOX => Stage::Sandbox,
            _ => Stage::Exec,
        };
        return Err(SpawnError {
            stage,
            errno: args.err_errno,
        });
    }
    Ok(spawned)
}

fn clone_child(
    args: &mut ChildArgs,
    stack_top: *mut c_void,
    with_pidfd: bool,
) -> Result<Spawned, SpawnError> {
    let mut pidfd: c_int = -1;
    let mut flags = libc::CLONE_VM | libc::CLONE_VFORK;
    if with_pidfd {
        flags |= libc::CLONE_PIDFD;
    }
    // SAFETY: `child_main` only reads `args` (which outlives the call: CLONE_VFORK suspends
    // this thread until the child has exec'd or exited) and makes raw system calls; it never
    // returns into Rust code of the parent, allocates, or takes locks. `stack_top` points to
    // the top of a live, writable allocation of CHILD_STACK bytes owned by our caller, used by
    // nobody else until `clone` returns. With CLONE_PIDFD the kernel writes the pidfd into
    // `pidfd` (the parent_tid argument); without it that argument is ignored.
    let pid = unsafe {
        libc::clone(
            child_main,
            stack_top,
            flags,
            args as *mut ChildArgs as *mut c_void,
            &mut pidfd as *mut c_int,
        )
    };
    if pid < 0 {
        return Err(SpawnError {
            stage: Stage::Clone,
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
    Ok(Spawned::register(pid, pidfd))
}

/// The child side. Runs on its own stack in the parent's memory; only raw system calls.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `ChildArgs` the parent passed to clone; the parent is suspended
    // (CLONE_VFORK) so nothing else touches it while we run.
    let a = unsafe { &mut *(arg as *mut ChildArgs) };
    // SAFETY: every call below is a raw system call (or `sigaction`, the C library's bare
    // wrapper of one) on values prepared by the parent:
    // NUL-terminated strings (CStrings, and the environment block whose strings each end at
    // their only NUL: `CStrBlock`'s invariant) and NULL-terminated pointer arrays that stay
    // alive while the parent is suspended. Nothing allocates or locks. On failure we record the stage and
    // errno in `a` and `_exit` without running any destructor or atexit handler.
    unsafe {
        // 1. Dispositions. Every handled signal goes back to its default: no handler of the
        //    parent may run here, and a handler's address means nothing after exec. Ignored
        //    signals stay ignored or go back to their default as `disp_mode` says
        //    (`crate::command::SignalDispositions`), and `DISP_IGNORE` ignores exactly the
        //    signals of `ignore_mask`. The query reads only the handler, the first word of
        //    the kernel's `struct sigaction` on every architecture but MIPS; an all-zero
        //    action is SIG_DFL with no flags and an empty mask. The buffer is larger than
        //    the kernel's struct. Ignoring goes through the C library's `sigaction`, a bare
        //    system call wrapper (async-signal-safe, as glibc's own `posix_spawn` child uses
        //    it), so the kernel's struct layout stays the C library's business.
        for sig in 1..=64 {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            let mut old = [0usize; 8];
            if libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                ptr::null::<usize>(),
                old.as_mut_ptr(),
                8usize,
            ) != 0
            {
                continue;
            }
            let ignored = old[0] == libc::SIG_IGN;
            let ignore = match a.disp_mode {
                DISP_KEEP_IGNORED_EXCEPT_PIPE => ignored && sig != libc::SIGPIPE,
                DISP_IGNORE => a.ignore_mask & (1u64 << (sig - 1)) != 0,
                _ => false,
            };
            if ignore {
                if !ignored {
                    let mut act: libc::sigaction = std::mem::zeroed();
                    act.sa_sigaction = libc::SIG_IGN;
                    libc::sigaction(sig, &act, ptr::null_mut());
                }
            } else if old[0] != libc::SIG_DFL {
                let dfl = [0usize; 8];
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    dfl.as_ptr(),
                    ptr::null_mut::<usize>(),
                    8usize,
                );
            }
        }
        // 1b. Parent-death signal, then the race it leaves: if our parent ended before the
        //     prctl, the kernel will never send the signal (we were already reparented), so
        //     the program must not start unsupervised. The signal is blocked here (the whole
        //     mask still is), so a death after the prctl leaves it pending until step 6,
        //     where the emptied mask delivers it before exec.
        if a.pdeathsig != 0 {
            if libc::syscall(
                libc::SYS_prctl,
                libc::PR_SET_PDEATHSIG,
                a.pdeathsig as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            ) != 0
            {
                return child_fail(a, STAGE_PDEATHSIG, 0);
            }
            if libc::syscall(libc::SYS_getppid) as c_int != a.parent_pid {
                end_as_by_signal(a.pdeathsig);
            }
        }
        // 2. Process group.
        if a.pgroup_kind != 0 && libc::setpgid(0, a.pgroup_id) != 0 {
            return child_fail(a, STAGE_SETPGID, 0);
        }
        // 3. Resource limits.
        for i in 0..a.rlimits_len {
            let r = &*a.rlimits.add(i);
            let lim = libc::rlimit64 {
                rlim_cur: r.soft,
                rlim_max: r.hard,
            };
            if libc::syscall(
                libc::SYS_prlimit64,
                0,
                r.resource,
                &lim as *const libc::rlimit64,
                ptr::null_mut::<libc::rlimit64>(),
            ) != 0
            {
                return child_fail(a, STAGE_RLIMIT, i as c_int);
            }
        }
        // 4. Working directory.
        if !a.cwd.is_null() && libc::chdir(a.cwd) != 0 {
            return child_fail(a, STAGE_CHDIR, 0);
        }
        // 4b. Sandbox hook: no_new_privs + landlock_restrict_self (before the descriptors
        //     are rearranged and closed, while the ruleset descriptor is still open).
        if a.landlock_fd >= 0 && super::landlock::restrict_self(a.landlock_fd) != 0 {
            return child_fail(a, STAGE_SANDBOX, 0);
        }
        // 5. Descriptors: first copy every source above all targets (close-on-exec), then
        //    dup2 each copy onto its target (dup2 clears close-on-exec on the target). Two
        //    phases, so a source that is also another pair's target is never clobbered.
        let map = std::slice::from_raw_parts(a.fd_map, a.fd_map_len);
        let mut temps = [0 as c_int; 64]; // 3 stdio + MAX_PASSED_FDS (60) < 64
        if map.len() > temps.len() {
            a.err_errno = libc::EMFILE;
            return child_fail_errno(a, STAGE_FD, -1);
        }
        for (i, &(src, dst)) in map.iter().enumerate() {
            let t = libc::fcntl(src, libc::F_DUPFD_CLOEXEC, a.temp_base);
            if t < 0 {
                return child_fail(a, STAGE_FD, dst);
            }
            temps[i] = t;
        }
        // The descriptor we exec moves above every target too, so no mapping can replace it
        // (a passed descriptor whose target number equals it would otherwise be exec'd).
        if a.exec_fd >= 0 {
            let t = libc::fcntl(a.exec_fd, libc::F_DUPFD_CLOEXEC, a.temp_base);
            if t < 0 {
                return child_fail(a, STAGE_EXEC, 0);
            }
            a.exec_fd = t;
        }
        for (i, &(_, dst)) in map.iter().enumerate() {
            if libc::dup2(temps[i], dst) < 0 {
                return child_fail(a, STAGE_FD, dst);
            }
        }
        // Everything else at 3 and above is closed now, whoever opened it: the child holds
        // 0, 1, 2, the targets and the descriptor it execs. Closing (not only marking
        // close-on-exec) matters: a descriptor open for writing on the very file we exec —
        // another thread of ours writing a fresh binary — would make our own exec fail with
        // ETXTBSY. (`close_range` needs Linux 5.9; where it is missing, mark close-on-exec
        // (5.11) instead; before that, this library's descriptors are close-on-exec from
        // birth anyway.)
        let mut keep = [0 as c_int; 65];
        let mut n = 0;
        for &(_, dst) in map {
            if dst >= 3 {
                keep[n] = dst;
                n += 1;
            }
        }
        if a.exec_fd >= 3 {
            keep[n] = a.exec_fd;
            n += 1;
        }
        let keep = &mut keep[..n];
        keep.sort_unstable();
        let close = |lo: u32, hi: u32| {
            if libc::syscall(libc::SYS_close_range, lo, hi, 0u32) != 0 {
                libc::syscall(libc::SYS_close_range, lo, hi, libc::CLOSE_RANGE_CLOEXEC);
            }
        };
        let mut lo: u32 = 3;
        for &k in keep.iter() {
            let k = k as u32;
            if k > lo {
                close(lo, k - 1);
            }
            lo = lo.max(k + 1);
        }
        close(lo, u32::MAX);
        // 5b. Job control: take the terminal's foreground for our group ourselves, as a
        //     job-control shell's child does, so a program that reads the terminal at once
        //     never meets SIGTTIN before the parent's own tcsetpgrp. SIGTTOU is blocked here
        //     (the whole mask still is), so the kernel allows the call from the background.
        if a.foreground != 0 {
            let pgrp: libc::pid_t = libc::getpgrp();
            libc::ioctl(0, libc::TIOCSPGRP, &pgrp as *const libc::pid_t);
        }
        // 6. Empty signal mask (the parent blocked everything around clone).
        let empty: u64 = 0;
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const u64,
            ptr::null_mut::<u64>(),
            8usize,
        );
        // 7. Exec: the checked file by descriptor when we have one, else the resolved path.
        //    ETXTBSY means someone still holds the file open for writing — typically a
        //    sibling thread's child forked while that thread was writing this (freshly built
        //    or copied) executable, which closes the descriptor at its own exec a moment
        //    later. Retry for up to ~200 ms (1 ms apart) before reporting it.
        if a.check_identity != 0 {
            // The file at the path must still be the one the policy checked.
            let fd = libc::open(a.program, libc::O_PATH | libc::O_CLOEXEC);
            if fd < 0 {
                return child_fail(a, STAGE_EXEC, 0);
            }
            let mut st: libc::stat = std::mem::zeroed();
            let ok = libc::fstat(fd, &mut st) == 0
                && st.st_dev == a.check_dev
                && st.st_ino == a.check_ino;
            libc::close(fd);
            if !ok {
                a.err_errno = libc::ESTALE;
                return child_fail_errno(a, STAGE_IDENTITY, 0);
            }
        }
        let pause = libc::timespec {
            tv_sec: 0,
            tv_nsec: 1_000_000,
        };
        for _ in 0..200 {
            if a.exec_fd >= 0 {
                libc::syscall(
                    libc::SYS_execveat,
                    a.exec_fd,
                    c"".as_ptr(),
                    a.argv,
                    a.envp,
                    libc::AT_EMPTY_PATH,
                );
            } else {
                libc::execve(a.program, a.argv, a.envp);
            }
            if errno() != libc::ETXTBSY {
                break;
            }
            libc::nanosleep(&pause, ptr::null_mut());
        }
        child_fail(a, STAGE_EXEC, 0)
    }
}

/// Ends the child as `sig` would: with its default action when that ends a process, else
/// (or if it somehow does not) by exiting with 128 + `sig`. The parent is gone: nobody reads
/// the shared block any more.
///
/// # Safety
/// Only to be called in the child created by `clone_child`.
unsafe fn end_as_by_signal(sig: c_int) -> ! {
    let ends_a_process = !matches!(
        sig,
        libc::SIGCHLD
            | libc::SIGCONT
            | libc::SIGURG
            | libc::SIGWINCH
            | libc::SIGSTOP
            | libc::SIGTSTP
            | libc::SIGTTIN
            | libc::SIGTTOU
    );
    // SAFETY: raw system calls on plain values: the default action for `sig`, the signal to
    // ourselves (pending, as everything is blocked), then unblocking it alone delivers it.
    // `_exit` ends the child without touching the parent's shared state.
    unsafe {
        if ends_a_process {
            let dfl = [0usize; 8];
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                dfl.as_ptr(),
                ptr::null_mut::<usize>(),
                8usize,
            );
            libc::syscall(libc::SYS_kill, libc::syscall(libc::SYS_getpid), sig);
            let one: u64 = 1u64 << (sig - 1);
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_UNBLOCK,
                &one as *const u64,
                ptr::null_mut::<u64>(),
                8usize,
            );
        }
        libc::_exit(128 + sig)
    }
}

/// Records the current errno and the stage, then exits the child with 127.
///
/// # Safety
/// Only to be called in the child created by `clone_child`.
unsafe fn child_fail(a: &mut ChildArgs, stage: c_int, arg: c_int) -> c_int {
    a.err_errno = errno();
    child_fail_errno(a, stage, arg)
}

/// # Safety
/// Only to be called in the child created by `clone_child`.
unsafe fn child_fail_errno(a: &mut ChildArgs, stage: c_int, arg: c_int) -> c_int {
    a.err_stage = stage;
    a.err_arg = arg;
    // SAFETY: `_exit` ends the child at once without touching the parent's shared state.
    unsafe { libc::_exit(127) }
}

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
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
        loop {
            match rustix::process::waitid(rustix::process::WaitId::Pid(p), flags) {
                Ok(Some(_)) => reaped += 1,
                Err(rustix::io::Errno::INTR) => continue,
                // Still running, or not our child (any more).
                Ok(None) | Err(_) => {}
            }
            break;
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
/// `/proc/PID/stat`. `None` when the file cannot be read or parsed, or when the child was
/// reaped by the time the read was done, so that the pid may have been another process's:
/// after the read, `pidfd_send_signal(pidfd, 0)` must still find the child (a zombie still
/// holds its pid; only reaping frees it). Without a pidfd (kernels before 5.2) the caller
/// must know the child is not reaped: the library then refuses hosts that ignore `SIGCHLD`,
/// and only its own waits reap.
pub(crate) fn process_start_time(child: &Spawned) -> Option<u64> {
    let stat = std::fs::read(format!("/proc/{}/stat", child.pid)).ok()?;
    // `PID (COMM) STATE …`: COMM may hold spaces and parentheses, so count from the last `)`.
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
    // Field 3 (`state`) is the first after `)`; field 22 is the twentieth.
    let start = rest.split_ascii_whitespace().nth(19)?.parse().ok()?;
    if let Some(fd) = &child.pidfd {
        super::tree::pidfd_signal(fd.as_fd(), 0).ok()?;
    }
    Some(start)
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
