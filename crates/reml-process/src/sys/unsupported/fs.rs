//! Descriptor and file-system calls of the shared code where there is no backend: the same
//! names as `sys/linux/fs.rs`. Pipes and shared memory fail with `ENOSYS` (the shared code
//! refuses before it asks: no spawn, no signal forwarder, no memfd exist here); the procfs
//! test, lacking `statfs` magic numbers, answers by path.

use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::io::Errno;

/// No pipes here: `ENOSYS`. Not reached: the callers refuse first.
pub(crate) fn pipe_cloexec() -> rustix::io::Result<(OwnedFd, OwnedFd)> {
    Err(Errno::NOSYS)
}

/// No memfd here: `ENOSYS` at the `"create"` step. Not reached: `SharedMemory::create`
/// refuses first.
pub(crate) fn sealed_memfd(_name: &str, _size: u64) -> Result<OwnedFd, (&'static str, Errno)> {
    Err(("create", Errno::NOSYS))
}

/// Without `statfs` magic numbers: a directory under `/proc`.
pub(crate) fn on_procfs(dir: &Path) -> bool {
    dir.starts_with("/proc")
}
