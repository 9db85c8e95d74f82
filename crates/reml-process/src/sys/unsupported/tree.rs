//! The descendants of a process where there is no backend: the same names as
//! `sys/linux/tree.rs`. No process is ever held here (no pidfds, no `/proc` walk): the
//! queries find nothing and the operations fail with `Unsupported`.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use crate::sys::unsupported_error;

/// The fields of a process's status the tree walk needs. Never constructed here.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stat {
    pub state: char,
    pub ppid: i32,
    pub pgid: i32,
    pub starttime: u64,
    pub exit_signal: i32,
}

/// `None`: processes are not inspected here.
pub(crate) fn stat(_pid: i32) -> Option<Stat> {
    None
}

/// Empty: children are not listed here.
pub(crate) fn children(_pid: i32) -> Vec<i32> {
    Vec::new()
}

/// `true`: no child is ever created here.
#[allow(dead_code)]
pub(crate) fn has_no_children() -> bool {
    true
}

/// `false`: nothing is ever reaped here.
pub(crate) fn may_have_ended_child() -> bool {
    false
}

/// Our own process id (`std::process::id`).
pub(crate) fn getpid() -> i32 {
    // Process ids fit in an i32 on every platform Rust supports.
    std::process::id() as i32
}

/// 0: process groups are not read here (no caller reaches this: it is only asked with a
/// terminal in hand or a child spawned, and neither exists here).
pub(crate) fn getpgrp() -> i32 {
    0
}

/// `Unsupported`.
pub(crate) fn pidfd_open(_pid: i32) -> io::Result<OwnedFd> {
    Err(unsupported_error("holding a process by descriptor (pidfd)"))
}

/// `Unsupported`.
pub(crate) fn pidfd_signal(_fd: BorrowedFd<'_>, _sig: i32) -> io::Result<()> {
    Err(unsupported_error(
        "signalling a process by descriptor (pidfd)",
    ))
}

/// `true`: nothing held here is alive (no pidfd can exist, so nothing is signalled or read
/// on its account).
pub(crate) fn pidfd_exited(_fd: BorrowedFd<'_>) -> bool {
    true
}

/// `Unsupported`.
pub(crate) fn reap_pidfd(_fd: BorrowedFd<'_>) -> io::Result<bool> {
    Err(unsupported_error(
        "waiting for a process by descriptor (pidfd)",
    ))
}

/// `Unsupported`.
pub(crate) fn set_child_subreaper(_on: bool) -> io::Result<()> {
    Err(unsupported_error("the child subreaper"))
}

/// `Unsupported`.
pub(crate) fn is_child_subreaper() -> io::Result<bool> {
    Err(unsupported_error("the child subreaper"))
}
