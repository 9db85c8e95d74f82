//! Process creation, waiting and signalling where there is no backend: the same names as
//! `sys/linux/process.rs`. [`spawn`] always fails, so no [`Spawned`] ever exists here and the
//! operations on one are unreachable; they fail with `Unsupported` all the same.
//!
//! `crate::native` checks [`super::SUPPORTED`] before anything else and answers
//! `ProcessErrorKind::Unsupported` naming the platform, before a descriptor is opened or a
//! file created.

use std::ffi::c_int;
use std::io;
use std::os::fd::{OwnedFd, RawFd};

use crate::sys::unsupported_error;

pub(crate) use crate::sys::spawn_types::{
    Pgroup, RawDispositions, RawRlimit, SpawnError, SpawnSpec, Stage, Termination, WaitEvent,
};

/// A child just created. Never constructed here: [`spawn`] always fails.
#[allow(dead_code)]
pub(crate) struct Spawned {
    pub pid: i32,
    pub pidfd: Option<OwnedFd>,
}

/// No pidfds here: nothing to disable.
pub(crate) fn disable_pidfd() {}

/// No pidfds here.
pub(crate) fn pidfd_supported() -> bool {
    false
}

/// No pidfds here.
pub(crate) fn pidfd_exit_info_supported() -> bool {
    false
}

/// Always fails: `Stage::Clone` with `ENOSYS`. (Not reached through the public API, which
/// refuses with `Unsupported` first.)
pub(crate) fn spawn(_spec: &SpawnSpec<'_>) -> Result<Spawned, SpawnError> {
    Err(SpawnError {
        stage: Stage::Clone,
        errno: libc::ENOSYS,
    })
}

/// `Unsupported` (no child can exist).
pub(crate) fn try_wait_job_state(_child: &Spawned) -> io::Result<Option<WaitEvent>> {
    Err(unsupported_error("waiting for a process"))
}

/// `Unsupported` (no child can exist).
pub(crate) fn reap_blocking(_child: &Spawned) -> io::Result<Termination> {
    Err(unsupported_error("waiting for a process"))
}

/// Never true here: this backend creates no children.
pub(crate) fn is_library_child(_pid: i32) -> bool {
    false
}

/// `Unsupported` (no child can exist).
pub(crate) fn try_reap(_child: &Spawned) -> io::Result<Option<Termination>> {
    Err(unsupported_error("waiting for a process"))
}

/// `Unsupported` (no child can exist).
pub(crate) fn send_signal(_child: &Spawned, _sig: i32) -> io::Result<()> {
    Err(unsupported_error("signalling a process"))
}

/// `Unsupported`.
pub(crate) fn kill_group(_pgid: i32, _sig: i32) -> io::Result<()> {
    Err(unsupported_error("signalling a process group"))
}

/// The limit on arguments plus environment is not known here: `usize::MAX`, so preparing a
/// command does not refuse it on this account. The spawn itself is refused.
pub(crate) fn arg_max() -> usize {
    usize::MAX
}

/// Not known here: `false`, so the spawn reaches the backend, which refuses it.
pub(crate) fn sigchld_ignored() -> bool {
    false
}

/// There are no resource numbers here: -1 (never passed to the OS: the spawn is refused).
pub(crate) fn rlimit_resource(_r: impl Into<crate::sys::spawn_types::RawResource>) -> c_int {
    -1
}

/// Not known here: `None` (no process can exist anyway).
pub(crate) fn process_start_time(_child: &Spawned) -> Option<u64> {
    None
}

/// Not known here: `None`.
pub(crate) fn boot_id() -> Option<&'static str> {
    None
}

/// Not known here: `None` (no ceiling), so the policy's limits are kept as written. The spawn
/// itself is refused.
pub(crate) fn hard_rlimit(
    _resource: impl Into<crate::sys::spawn_types::RawResource>,
) -> Option<u64> {
    None
}

/// Not known here: `u64::MAX`, so preparing a command does not refuse descriptor targets on
/// this account. The spawn itself is refused.
pub(crate) fn nofile_soft_limit() -> u64 {
    u64::MAX
}

/// `Unsupported`: passing descriptors to a child is not implemented here.
pub(crate) fn dup_inherited_fd(_fd: RawFd) -> io::Result<OwnedFd> {
    Err(unsupported_error(
        "passing inherited descriptors to a child",
    ))
}

/// Descriptors are not classified here: `"other"`. (Only called for the audit record of a
/// successful spawn, which cannot happen here.)
pub(crate) fn fd_kind(_fd: &OwnedFd) -> &'static str {
    "other"
}

/// "No limit", as in the Linux backend.
pub(crate) const RLIM_INFINITY: u64 = u64::MAX;

/// No children here: nothing to reap.
pub(crate) fn reap_orphans(_keep: &[(i32, u64)]) -> usize {
    0
}

/// No children here.
pub(crate) fn current_children() -> Vec<(i32, u64)> {
    Vec::new()
}
