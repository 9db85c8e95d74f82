//! The controlling terminal where there is no backend: the same names as
//! `sys/linux/terminal.rs`. No terminal is ever found on stdin, so `crate::jobcontrol`'s
//! `TerminalGuard::acquire` answers `None` and nothing is handed over.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use crate::sys::unsupported_error;

/// Saved terminal attributes. Uninhabited: attributes are never read here.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Termios {}

/// `None`: job control is not implemented here, whatever stdin is.
pub(crate) fn stdin_terminal() -> Option<OwnedFd> {
    None
}

/// `Unsupported`.
pub(crate) fn foreground_pgrp(_fd: BorrowedFd<'_>) -> io::Result<i32> {
    Err(unsupported_error("terminal job control"))
}

/// `Unsupported`.
pub(crate) fn set_foreground_pgrp(_fd: BorrowedFd<'_>, _pgid: i32) -> io::Result<()> {
    Err(unsupported_error("terminal job control"))
}

/// `Unsupported`.
pub(crate) fn get_attributes(_fd: BorrowedFd<'_>) -> io::Result<Termios> {
    Err(unsupported_error("terminal job control"))
}

/// Unreachable: no [`Termios`] value can exist.
pub(crate) fn set_attributes(_fd: BorrowedFd<'_>, t: &Termios) -> io::Result<()> {
    match *t {}
}

/// Does nothing. Only called with a `TerminalGuard` holding the terminal, which cannot exist
/// here ([`stdin_terminal`] finds none).
pub(crate) fn stop_own_group(_sig: i32) {}
