//! Signal set-up of `run` (contract.md §1, "a well-mannered supervisor").
//!
//! # `SIGCHLD`
//! A `SIGCHLD` disposition of "ignore" inherited from our parent makes the kernel discard our
//! child's exit status; the library keeps it through the pidfd where the kernel allows
//! (`PIDFD_INFO_EXIT`, Linux 6.15) and otherwise refuses to spawn. `run` never needs that
//! disposition, so [`default_sigchld`] puts it back to the default before anything else, and
//! `run` works on every kernel.
//!
//! # Forwarding
//! The forwarding itself is the library's [`reml_process::SignalForwarder`]. This module only
//! leaves out the signals `run` inherited as **ignored** — `nohup`'s `HUP`, or `INT`/`QUIT`
//! of a background job started by a non-interactive shell. Blocking a signal makes the kernel
//! queue it even when its disposition is "ignore", so forwarding those would end a child that
//! its caller meant to shield (Ctrl-C on a script would reach its background `run` jobs).
//! Left unblocked, they stay ignored by `run` as the caller asked.
//!
//! # References
//! `sigaction(2)` (querying a disposition), `signal(7)` (ignored signals across `execve`).
use reml_process::supervise::{is_ignored, reset_sigchld_to_default};
use reml_process::Signal;

/// Puts `SIGCHLD` back to its default disposition when it is "ignore" or has
/// `SA_NOCLDWAIT`, so the kernel keeps our child's exit status for our wait.
pub fn default_sigchld() {
    reset_sigchld_to_default();
}

/// `signals` without those whose current disposition is "ignore".
pub fn not_ignored(signals: &[Signal]) -> Vec<Signal> {
    signals
        .iter()
        .copied()
        .filter(|s| !is_ignored(*s))
        .collect()
}
