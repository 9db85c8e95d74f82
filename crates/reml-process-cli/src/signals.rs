//! Signal set-up of `run` (`docs/command.md`, "Signals").
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
//! # The child's dispositions
//! The child ignores exactly what our caller ignored ([`child_dispositions`]): `nohup`'s
//! `HUP` keeps protecting it, and a caller's ignored `SIGPIPE` stays ignored (as coreutils
//! `timeout` keeps it) while the `SIGPIPE` our own Rust runtime ignored before `main` does
//! not reach it; an ignored `SIGCHLD` we put back to its default is passed on as ignored.
//!
//! # References
//! `sigaction(2)` (querying a disposition), `signal(7)` (ignored signals across `execve`).
use reml_process::supervise::{inherited_ignored_signals, is_ignored, reset_sigchld_to_default};
use reml_process::{Signal, SignalDispositions};

/// Puts `SIGCHLD` back to its default disposition when it is "ignore" or has
/// `SA_NOCLDWAIT`, so the kernel keeps our child's exit status for our wait.
pub fn default_sigchld() {
    reset_sigchld_to_default();
}

/// `signals` without those whose disposition is "ignore".
///
/// Read from the record taken before `main` ([`inherited_ignored_signals`], one query per
/// signal already made) rather than asked again: nothing in this process changes the
/// disposition of a forwarded signal before this point (the Rust runtime changes `PIPE`,
/// `SEGV` and `BUS`, `main` `XFSZ`, [`default_sigchld`] `CHLD`: none of them forwarded), so
/// for them the two answers are the same. Where nothing was recorded, the current
/// disposition is asked.
pub fn not_ignored(signals: &[Signal]) -> Vec<Signal> {
    let recorded = inherited_ignored_signals();
    signals
        .iter()
        .copied()
        .filter(|s| match &recorded {
            Some(ignored) => !ignored.contains(s),
            None => !is_ignored(*s),
        })
        .collect()
}

/// The child's signal dispositions: exactly the signals our caller gave us as ignored,
/// recorded before `main`; where they were not recorded (not on Linux), the library's
/// default (ignored signals stay ignored, except `SIGPIPE`).
pub fn child_dispositions() -> SignalDispositions {
    match inherited_ignored_signals() {
        Some(ignored) => SignalDispositions::Ignore(ignored),
        None => SignalDispositions::default(),
    }
}
