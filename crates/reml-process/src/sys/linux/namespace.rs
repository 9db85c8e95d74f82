//! Namespaces for the `full_isolation` level (`docs/sandbox.md`).
//!
//! The child is created by the usual `clone(CLONE_VM | CLONE_VFORK)` with [`CLONE_FLAGS`]
//! added: new user, PID, mount, IPC, UTS and network namespaces. It is PID 1 of its PID
//! namespace, so when it ends the kernel kills every process left in it. Before exec, still on
//! the vfork-style path (no fork is needed: a process may write its own maps), the child
//! ([`enter`]):
//!
//! 1. writes `deny` to `/proc/self/setgroups`, then its `uid_map` and `gid_map`: the caller's
//!    effective uid and gid mapped onto themselves, so the program keeps the caller's identity
//!    (root stays root inside, with capabilities over the new namespaces only; any other user
//!    keeps no capability after exec);
//! 2. makes its whole mount tree private (`MS_REC | MS_PRIVATE`), so nothing it mounts
//!    propagates to the host;
//! 3. mounts its own `/proc` (the new PID namespace's: `$$` is 1, other processes of the host
//!    are not there), `nosuid,nodev,noexec`;
//! 4. brings up `lo`, the only interface of its network namespace;
//! 5. gives its own `/proc` the Landlock rights `[sandbox]` grants `/proc` (the parent's rule
//!    names the host's procfs, which the new mount hides).
//!
//! The Landlock ruleset is applied after these steps (a Landlock domain may not change its
//! mounts). Every step is a raw system call on values the parent prepared.
//!
//! # References
//! user_namespaces(7), pid_namespaces(7), mount_namespaces(7), network_namespaces(7),
//! clone(2), mount(2), netdevice(7) (`SIOCSIFFLAGS`), proc(5) (`/proc/sys/user`).

use std::ffi::{c_char, c_int};
use std::ptr;

/// The namespaces of a fully isolated child.
pub(crate) const CLONE_FLAGS: c_int = libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWNET;

/// What the running kernel lacks for `full_isolation`, or `None` when it provides it (probed
/// once from `/proc`: the namespace kinds in `/proc/self/ns`, their limits in `/proc/sys/user`,
/// and for a caller other than root the distribution switches that forbid unprivileged user
/// namespaces). A kernel that passes and still refuses makes the spawn fail with
/// `PermissionDenied` naming the step.
pub(crate) fn missing() -> Option<String> {
    static MISSING: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    MISSING.get_or_init(probe).clone()
}

fn probe() -> Option<String> {
    const KINDS: [&str; 6] = ["user", "pid", "mnt", "ipc", "uts", "net"];
    let lacking: Vec<&str> = KINDS
        .into_iter()
        .filter(|ns| !std::path::Path::new("/proc/self/ns").join(ns).exists())
        .collect();
    if !lacking.is_empty() {
        return Some(format!(
            "this kernel has no {} namespaces (built without them)",
            lacking.join(", ")
        ));
    }
    let read_number =
        |path: &str| -> Option<i64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
    for name in KINDS {
        let path = format!("/proc/sys/user/max_{name}_namespaces");
        if read_number(&path) == Some(0) {
            return Some(format!("{name} namespaces are switched off ({path} is 0)"));
        }
    }
    if !rustix::process::geteuid().is_root() {
        if read_number("/proc/sys/kernel/unprivileged_userns_clone") == Some(0) {
            return Some(
                "unprivileged user namespaces are switched off (/proc/sys/kernel/unprivileged_userns_clone is 0)"
                    .to_owned(),
            );
        }
        if read_number("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == Some(1) {
            return Some(
                "AppArmor restricts unprivileged user namespaces (/proc/sys/kernel/apparmor_restrict_unprivileged_userns is 1)"
                    .to_owned(),
            );
        }
    }
    None
}

/// The [`enter`] step that failed (the detail of `Stage::Namespace`), in words.
pub(crate) fn step_text(step: c_int) -> &'static str {
    match step {
        STEP_CLONE => "create the namespaces (clone with CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET)",
        STEP_PARENT_PIDFD => "open a pidfd of this process (pidfd_open) to watch for its death",
        STEP_SETGROUPS => "write /proc/self/setgroups",
        STEP_UID_MAP => "write its uid_map",
        STEP_GID_MAP => "write its gid_map",
        STEP_PRIVATE => "make its mount tree private",
        STEP_PROC => "mount its own /proc (a host whose /proc is partly hidden, as in some containers, refuses this)",
        STEP_LOOPBACK => "bring up the loopback interface",
        STEP_PROC_RULE => "give its own /proc the sandbox rights of /proc (landlock_add_rule)",
        _ => "set up its namespaces",
    }
}

/// `clone` itself failed (in the parent).
pub(crate) const STEP_CLONE: c_int = 1;
/// `pidfd_open` of the parent failed (in the parent).
pub(crate) const STEP_PARENT_PIDFD: c_int = 2;
const STEP_SETGROUPS: c_int = 3;
const STEP_UID_MAP: c_int = 4;
const STEP_GID_MAP: c_int = 5;
const STEP_PRIVATE: c_int = 6;
const STEP_PROC: c_int = 7;
const STEP_LOOPBACK: c_int = 8;
const STEP_PROC_RULE: c_int = 9;

/// In the child, right after `clone` with [`CLONE_FLAGS`]: the steps of the module docs.
/// Returns 0, or the failed step with errno set.
///
/// # Safety
/// Only to be called in a child created with [`CLONE_FLAGS`]; `uid_map` and `gid_map` are
/// NUL-terminated strings that stay alive until exec; `landlock_fd` is a Landlock ruleset or
/// -1. Async-signal-safe: raw system calls only, on the stack.
pub(crate) unsafe fn enter(
    uid_map: *const c_char,
    gid_map: *const c_char,
    proc_rights: u64,
    landlock_fd: c_int,
) -> c_int {
    // SAFETY: every call is a raw system call on NUL-terminated strings (the literals and
    // the parent's CStrings) and on plain values on this stack; nothing allocates.
    unsafe {
        if write_file(c"/proc/self/setgroups".as_ptr(), c"deny".as_ptr()) != 0 {
            return STEP_SETGROUPS;
        }
        if write_file(c"/proc/self/uid_map".as_ptr(), uid_map) != 0 {
            return STEP_UID_MAP;
        }
        if write_file(c"/proc/self/gid_map".as_ptr(), gid_map) != 0 {
            return STEP_GID_MAP;
        }
        if libc::mount(
            ptr::null(),
            c"/".as_ptr(),
            ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            ptr::null(),
        ) != 0
        {
            return STEP_PRIVATE;
        }
        if libc::mount(
            c"proc".as_ptr(),
            c"/proc".as_ptr(),
            c"proc".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            ptr::null(),
        ) != 0
        {
            return STEP_PROC;
        }
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if sock < 0 {
            return STEP_LOOPBACK;
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as c_char;
        }
        req.ifr_ifru.ifru_flags = (libc::IFF_UP | libc::IFF_LOOPBACK | libc::IFF_RUNNING) as i16;
        let r = libc::ioctl(sock, libc::SIOCSIFFLAGS, &req as *const libc::ifreq);
        libc::close(sock);
        if r != 0 {
            return STEP_LOOPBACK;
        }
        if proc_rights != 0
            && landlock_fd >= 0
            && super::landlock::add_rule_in_child(landlock_fd, c"/proc".as_ptr(), proc_rights) != 0
        {
            return STEP_PROC_RULE;
        }
    }
    0
}

/// Writes the NUL-terminated `text` to the file at `path` in one `write`. 0, or -1 with errno.
///
/// # Safety
/// Both pointers are NUL-terminated strings. Async-signal-safe.
unsafe fn write_file(path: *const c_char, text: *const c_char) -> c_int {
    // SAFETY: raw open/write/close on NUL-terminated strings; `strlen` reads up to the NUL.
    unsafe {
        let fd = libc::open(path, libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return -1;
        }
        let len = libc::strlen(text);
        let n = libc::write(fd, text.cast(), len);
        let saved = *libc::__errno_location();
        libc::close(fd);
        if n != len as isize {
            *libc::__errno_location() = if n < 0 { saved } else { libc::EIO };
            return -1;
        }
    }
    0
}
