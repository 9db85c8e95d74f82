//! Receiving signals where there is no backend: the same names as `sys/linux/signals.rs`.
//! There is no `signalfd` here, so nothing is blocked and nothing is received.

use std::io;
use std::os::fd::OwnedFd;

use crate::sys::spawn_types::Received;
use crate::sys::unsupported_error;

/// `Unsupported`; the signals are left as they are (not blocked).
pub(crate) fn block_and_open(_signals: &[i32]) -> io::Result<OwnedFd> {
    Err(unsupported_error("signal forwarding"))
}

/// `Unsupported` (no signalfd can exist).
pub(crate) fn read_signal(_fd: &OwnedFd) -> io::Result<Option<Received>> {
    Err(unsupported_error("signal forwarding"))
}

/// Dispositions are not read here: `false` (documented on `crate::supervise::is_ignored`).
pub(crate) fn is_ignored(_sig: i32) -> bool {
    false
}

/// Dispositions are not changed here (documented on
/// `crate::supervise::ignore_file_size_signal`).
pub(crate) fn ignore_sigxfsz() {}

/// Dispositions are not changed here: `false`, nothing changed (documented on
/// `crate::supervise::reset_sigchld_to_default`).
pub(crate) fn default_sigchld() -> bool {
    false
}

/// Dispositions are not recorded here: `None` (documented on
/// `crate::supervise::inherited_ignored_signals`).
pub(crate) fn ignored_at_start() -> Option<u64> {
    None
}
