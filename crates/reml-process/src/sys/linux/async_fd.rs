//! Registering a pidfd with tokio's reactor (the `tokio` feature's `wait_async`).

use std::io;
use std::os::fd::OwnedFd;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Registers `fd` (a pidfd we own) for readability with the current tokio runtime.
///
/// # Errors
/// The reactor's registration error (`ENOMEM`, `ENOSPC`).
///
/// # Panics
/// Outside a tokio runtime, or in one without the I/O driver (tokio's panic).
pub(crate) fn register_readable(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: `fd` is an `OwnedFd`, so it is open and valid; the `AsyncFd` takes ownership of
    // it, so it stays open and refers to the same file description until the `AsyncFd` is
    // dropped (nobody else can close it), and `OwnedFd::as_raw_fd` always returns the same
    // number.
    unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(|e| e.into_parts().1)
}
