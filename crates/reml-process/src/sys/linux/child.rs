//! The child side of a spawn: the block the parent prepares and the function the child runs
//! between `clone` and exec (only raw system calls: no allocation, no locks).
//!
//! The parent ([`super::process::spawn`]) fills a [`ChildArgs`] from a `SpawnSpec`; the child,
//! on its own small stack in the parent's memory (`CLONE_VM | CLONE_VFORK`), sets up what the
//! spec says, in this order, and execs:
//!
//! 1. signal dispositions (every handled signal to its default, ignored ones as asked);
//! 2. the parent-death signal, and the check that the parent is still there;
//! 3. with full isolation: its identity in the new user namespace, a private mount tree, its
//!    own `/proc`, the loopback interface up (`super::namespace`);
//! 4. process group, rlimits, working directory;
//! 5. the Landlock sandbox (`no_new_privs` + `landlock_restrict_self`);
//! 6. descriptors, the terminal's foreground, an empty signal mask, exec.
//!
//! A failure is written into the shared block (stage, detail, errno) and the child exits 127
//! without running anything; the parent reads it back with [`ChildArgs::failure`].

use std::ffi::{c_char, c_int, c_void, CStr};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::ptr;

use crate::sys::spawn_types::{Pgroup, RawDispositions, RawRlimit, SpawnError, SpawnSpec, Stage};

/// The block shared between parent and child (the child writes only `err_*`).
#[repr(C)]
pub(super) struct ChildArgs {
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
    /// Full isolation: 1 when the child starts in new namespaces (`super::namespace`).
    isolate: c_int,
    /// `uid_map` and `gid_map` lines (NUL-terminated), written by the child itself.
    uid_map: *const c_char,
    gid_map: *const c_char,
    /// Landlock rights the child's own `/proc` gets (0: none), added by the child after the
    /// mount, since the parent's rule names the host's `/proc`.
    proc_rights: u64,
    /// A pidfd of the parent (-1: none), to check that the parent is still there when the
    /// child is in a new PID namespace (where `getppid` answers 0).
    parent_pidfd: c_int,
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
const STAGE_NAMESPACE: c_int = 9;

const DISP_KEEP_IGNORED_EXCEPT_PIPE: c_int = 0;
const DISP_RESET_ALL: c_int = 1;
const DISP_IGNORE: c_int = 2;

/// Size of the child's stack. The child function only makes system calls with a few words of
/// locals; 64 KiB leaves a wide margin even in debug builds.
pub(super) const CHILD_STACK: usize = 64 * 1024;

impl ChildArgs {
    /// The block for `spec`. `argv` and `envp` are the NULL-terminated pointer arrays of
    /// `spec.argv` and `spec.envp`; they, `spec` and `parent_pidfd` must outlive the spawn.
    pub(super) fn new(
        spec: &SpawnSpec<'_>,
        argv: &[*const c_char],
        envp: &[*const c_char],
        parent_pidfd: Option<RawFd>,
    ) -> ChildArgs {
        let max_target = spec.fd_map.iter().map(|&(_, t)| t).max().unwrap_or(2);
        let (pgroup_kind, pgroup_id) = match spec.pgroup {
            Pgroup::Inherit => (0, 0),
            Pgroup::New => (1, 0),
            Pgroup::Join(id) => (1, id),
        };
        ChildArgs {
            program: spec.program.as_ptr(),
            exec_fd: spec.exec_fd.map_or(-1, |fd| fd.as_raw_fd()),
            check_identity: spec.exec_identity.is_some() as c_int,
            check_dev: spec.exec_identity.map_or(0, |i| i.0),
            check_ino: spec.exec_identity.map_or(0, |i| i.1),
            argv: argv.as_ptr(),
            envp: envp.as_ptr(),
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
            // PID 1 of a namespace gets a signal only when it handles it, with the single
            // exception of KILL (and STOP) sent from an ancestor namespace: any other
            // parent-death signal would be dropped by the kernel for a program without a
            // handler, and the namespace would outlive its supervisor.
            pdeathsig: match (&spec.isolation, spec.parent_death_signal) {
                (Some(_), s) if s != 0 => libc::SIGKILL,
                (_, s) => s,
            },
            parent_pid: rustix::process::getpid().as_raw_nonzero().get(),
            landlock_fd: spec.landlock_fd,
            isolate: c_int::from(spec.isolation.is_some()),
            uid_map: spec.isolation.map_or(ptr::null(), |i| i.uid_map.as_ptr()),
            gid_map: spec.isolation.map_or(ptr::null(), |i| i.gid_map.as_ptr()),
            proc_rights: spec.isolation.map_or(0, |i| i.proc_rights),
            parent_pidfd: parent_pidfd.unwrap_or(-1),
            err_stage: STAGE_NONE,
            err_arg: 0,
            err_errno: 0,
        }
    }

    /// The `clone` flags of this child's namespaces (0 without full isolation).
    pub(super) fn namespace_flags(&self) -> c_int {
        if self.isolate != 0 {
            super::namespace::CLONE_FLAGS
        } else {
            0
        }
    }

    /// What the child reported before it exited 127, or `None` when it reached exec.
    pub(super) fn failure(&self) -> Option<SpawnError> {
        let stage = match self.err_stage {
            STAGE_NONE => return None,
            STAGE_SETPGID => Stage::SetPgid,
            STAGE_RLIMIT => Stage::Rlimit(self.err_arg as usize),
            STAGE_CHDIR => Stage::Chdir,
            STAGE_FD => Stage::Fd(self.err_arg),
            STAGE_IDENTITY => Stage::Identity,
            STAGE_PDEATHSIG => Stage::ParentDeathSignal,
            STAGE_SANDBOX => Stage::Sandbox,
            STAGE_NAMESPACE => Stage::Namespace(self.err_arg),
            _ => Stage::Exec,
        };
        Some(SpawnError {
            stage,
            errno: self.err_errno,
        })
    }
}

/// The child side. Runs on its own stack in the parent's memory; only raw system calls.
pub(super) extern "C" fn child_main(arg: *mut c_void) -> c_int {
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
            // In a new PID namespace `getppid` answers 0 (the parent is outside it), so the
            // check asks the parent's pidfd instead: readable once the parent has ended.
            let parent_gone = if a.parent_pidfd >= 0 {
                let mut pfd = libc::pollfd {
                    fd: a.parent_pidfd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                libc::poll(&mut pfd, 1, 0) != 0
            } else {
                libc::syscall(libc::SYS_getppid) as c_int != a.parent_pid
            };
            if parent_gone {
                end_as_by_signal(a.pdeathsig);
            }
        }
        // 1c. Full isolation: identity, mount tree, own /proc, loopback (before the Landlock
        //     ruleset is applied: a Landlock domain may not change its mounts).
        if a.isolate != 0 {
            let step = super::namespace::enter(a.uid_map, a.gid_map, a.proc_rights, a.landlock_fd);
            if step != 0 {
                return child_fail(a, STAGE_NAMESPACE, step);
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

pub(super) fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}
