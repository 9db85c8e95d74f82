//! Landlock is Linux's: here there is no ruleset to build, and a confining isolation level is
//! refused (never downgraded), as `sys/linux/landlock.rs` refuses it on a kernel without
//! Landlock.

use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

/// The Landlock ABI: always 0 (no Landlock on this platform).
pub(crate) fn abi() -> i32 {
    0
}

/// Why a ruleset could not be built (the same shape as the Linux backend's).
#[derive(Debug)]
#[allow(dead_code)] // `Io` exists for the shared code's match; it is never built here.
pub(crate) enum RulesetError {
    /// What the level needs and this platform lacks.
    Missing(String),
    /// Any other failure.
    Io(String, io::Error),
}

/// Always [`RulesetError::Missing`]: a sandbox cannot be built on this platform.
pub(crate) fn build_ruleset(
    _read: &[&Path],
    _write: &[&Path],
    _network: bool,
) -> Result<OwnedFd, RulesetError> {
    Err(RulesetError::Missing(format!(
        "Landlock is Linux's; this platform ({}) has no sandbox",
        std::env::consts::OS
    )))
}

/// The rights of a sandbox directory: none (no Landlock on this platform).
pub(crate) fn directory_rights(_write: bool) -> u64 {
    0
}
