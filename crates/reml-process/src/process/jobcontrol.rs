//! Job control (spec §7): handing the terminal to a child's process group and taking it
//! back, with the terminal's state restored.
//!
//! A job-control shell runs each job in its own process group and makes that group the
//! terminal's **foreground** group, so the job reads the keyboard and receives the keys'
//! signals (`^C` → `SIGINT`, `^Z` → `SIGTSTP`); a background group that reads the terminal
//! is stopped by `SIGTTIN`. [`TerminalGuard`] does the supervisor's half:
//!
//! 1. [`acquire`](TerminalGuard::acquire), before the spawn: only when our stdin is a
//!    terminal **and our own group is its foreground group** (a supervisor started in the
//!    background must not steal the terminal from its shell); saves the terminal attributes
//!    (termios).
//! 2. [`hand_over`](TerminalGuard::hand_over), after the spawn: `tcsetpgrp` to the child's
//!    group. The child also does it itself before exec ([`crate::Command::foreground`]),
//!    so there is no window in which it reads the terminal from the background.
//! 3. [`reclaim`](TerminalGuard::reclaim) (also on drop): the foreground back to our group,
//!    then the saved attributes back (`tcsetattr(TCSANOW)`), whatever the child did to them
//!    (raw mode, no echo) and however it ended — killed by a time limit included.
//!
//! Every `tcsetpgrp`/`tcsetattr` is made with `SIGTTOU` blocked in the calling thread: once
//! the child holds the foreground we are a background process, and the kernel would
//! otherwise stop us with `SIGTTOU`.
//!
//! # Caveats
//! If the supervisor itself is killed by `SIGKILL`, nobody gives the terminal back: the
//! shell's own job control takes it back when it sees its job end (interactive shells do).
//!
//! # References
//! tcsetpgrp(3), tcgetpgrp(3), tcsetattr(3), credentials(7) (job control), the bash manual
//! "Job Control Basics".

use std::os::fd::{AsFd, OwnedFd};

use crate::error::ProcessError;
use crate::sys::imp::terminal as sys;
use crate::sys::imp::tree::getpgrp;

/// The terminal on our stdin, handed to a child's process group and given back on
/// [`reclaim`](Self::reclaim) or drop (see the module docs).
pub struct TerminalGuard {
    fd: OwnedFd,
    our_pgrp: i32,
    saved: sys::Termios,
    /// The child's group while it holds the foreground.
    holder: Option<i32>,
    /// The child's attributes, saved when it was stopped, restored when it resumes.
    child_saved: Option<sys::Termios>,
}

impl std::fmt::Debug for TerminalGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalGuard")
            .field("our_pgrp", &self.our_pgrp)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl TerminalGuard {
    /// A guard for the terminal on our stdin, with its attributes saved — when stdin is a
    /// terminal and our process group is its foreground group; `None` otherwise (no
    /// terminal, we run in the background, or our group's leader is outside our pid
    /// namespace so the group has no number we could hand the terminal back to), in which
    /// case nothing is handed over.
    ///
    /// # Platform-specific behavior
    /// Linux only; elsewhere always `None` (job control is not implemented there).
    pub fn acquire() -> Option<TerminalGuard> {
        let fd = sys::stdin_terminal()?;
        let our_pgrp = getpgrp();
        if our_pgrp <= 0 {
            return None;
        }
        if sys::foreground_pgrp(fd.as_fd()).ok()? != our_pgrp {
            return None;
        }
        let saved = sys::get_attributes(fd.as_fd()).ok()?;
        Some(TerminalGuard {
            fd,
            our_pgrp,
            saved,
            holder: None,
            child_saved: None,
        })
    }

    /// Makes `pgid` the terminal's foreground group (`tcsetpgrp`, `SIGTTOU` blocked), and
    /// records it as the holder [`reclaim`](Self::reclaim) takes the terminal back from —
    /// also when the call fails, since a child spawned with [`crate::Command::foreground`]
    /// may have taken it itself (and then, if it already ended, `EPERM` is our answer).
    ///
    /// # Errors
    /// `SpawnFailed` with the errno (`EPERM`: `pgid` is not a group of our session — it may
    /// have ended already; `ENOTTY`: the terminal is no longer our controlling terminal).
    pub fn hand_over(&mut self, pgid: i32) -> Result<(), ProcessError> {
        self.holder = Some(pgid);
        sys::set_foreground_pgrp(self.fd.as_fd(), pgid).map_err(|e| {
            ProcessError::from_io(
                format!("cannot give the terminal to process group {pgid} (tcsetpgrp)"),
                &e,
            )
        })
    }

    /// The group that holds the foreground through this guard, if any.
    pub fn holder(&self) -> Option<i32> {
        self.holder
    }

    /// Whether our own group is the terminal's foreground group right now.
    pub fn we_are_foreground(&self) -> bool {
        sys::foreground_pgrp(self.fd.as_fd()).is_ok_and(|g| g == self.our_pgrp)
    }

    /// Takes the foreground back for our group and restores the attributes saved by
    /// [`acquire`](Self::acquire) — when the foreground is still the child's group, ours, or
    /// a group with no process left (one the job created and gave the terminal to, then
    /// ended). When a live group other than the child's holds it (our shell moved us to the
    /// background meanwhile), the terminal is theirs and is left alone. Idempotent.
    ///
    /// # Errors
    /// `SpawnFailed` with the errno when the terminal refuses (hung up: `EIO`, `ENOTTY`).
    pub fn reclaim(&mut self) -> Result<(), ProcessError> {
        let holder = self.holder.take();
        let fg = sys::foreground_pgrp(self.fd.as_fd());
        let ours = match fg {
            Ok(g) => {
                g == self.our_pgrp
                    || Some(g) == holder
                    || crate::sys::imp::process::kill_group(g, 0)
                        .is_err_and(|e| e.raw_os_error() == Some(libc::ESRCH))
            }
            // No foreground group (ENOTTY after a hangup): nothing to take back.
            Err(_) => false,
        };
        if !ours {
            return Ok(());
        }
        let r1 = sys::set_foreground_pgrp(self.fd.as_fd(), self.our_pgrp);
        let r2 = sys::set_attributes(self.fd.as_fd(), &self.saved);
        r1.and(r2).map_err(|e| {
            ProcessError::from_io("cannot take the terminal back (tcsetpgrp/tcsetattr)", &e)
        })
    }

    /// The job stopped: saves its terminal attributes, then [`reclaim`](Self::reclaim)s
    /// ours, so the shell above us gets a sane terminal. Undo with
    /// [`resume`](Self::resume).
    ///
    /// # Errors
    /// As [`reclaim`](Self::reclaim).
    pub fn suspend(&mut self) -> Result<(), ProcessError> {
        let Some(_) = self.holder else {
            return Ok(());
        };
        self.child_saved = sys::get_attributes(self.fd.as_fd()).ok();
        self.reclaim()
    }

    /// The job continues in the foreground: restores the attributes it had when it stopped
    /// and hands it the terminal again.
    ///
    /// # Errors
    /// As [`hand_over`](Self::hand_over).
    pub fn resume(&mut self, pgid: i32) -> Result<(), ProcessError> {
        if let Some(t) = self.child_saved.take() {
            let _ = sys::set_attributes(self.fd.as_fd(), &t);
        }
        self.hand_over(pgid)
    }
}

impl Drop for TerminalGuard {
    /// [`reclaim`](Self::reclaim), ignoring errors.
    fn drop(&mut self) {
        let _ = self.reclaim();
    }
}
