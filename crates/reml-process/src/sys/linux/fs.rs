//! Descriptor and file-system calls of the shared code that only this backend has: pipes
//! (`pipe2`), sealed shared memory (`memfd_create`) and the procfs test (`statfs`).
//!
//! # References
//! `pipe2(2)`, `memfd_create(2)`, `fcntl(2)` (`F_ADD_SEALS`), `statfs(2)` (`PROC_SUPER_MAGIC`).

use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::io::Errno;

/// `pipe2(O_CLOEXEC)`: (read end, write end).
pub(crate) fn pipe_cloexec() -> rustix::io::Result<(OwnedFd, OwnedFd)> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
}

/// A `memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)` of `size` bytes, sealed against
/// shrinking (`F_SEAL_SHRINK`).
///
/// # Errors
/// The step that failed (`"create"`, `"size"`, `"seal"`) and its errno.
pub(crate) fn sealed_memfd(name: &str, size: u64) -> Result<OwnedFd, (&'static str, Errno)> {
    use rustix::fs::{MemfdFlags, SealFlags};
    let fd = rustix::fs::memfd_create(name, MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING)
        .map_err(|e| ("create", e))?;
    rustix::fs::ftruncate(&fd, size).map_err(|e| ("size", e))?;
    rustix::fs::fcntl_add_seals(&fd, SealFlags::SHRINK).map_err(|e| ("seal", e))?;
    Ok(fd)
}

/// Whether `dir` lies on a procfs mount (`statfs` magic `PROC_SUPER_MAGIC`); `false` when
/// it cannot be asked.
pub(crate) fn on_procfs(dir: &Path) -> bool {
    rustix::fs::statfs(dir)
        .is_ok_and(|s| s.f_type as rustix::fs::FsWord == rustix::fs::PROC_SUPER_MAGIC)
}
