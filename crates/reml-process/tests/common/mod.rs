//! Shared helpers of the integration tests: those of both suites come from the
//! `test-helper` crate's library; what only this suite needs is here.
#![allow(dead_code)]

// Each test binary uses some of these; the others are unused there.
#[allow(unused_imports)]
pub use test_helper::{
    alive, assert_gone, eventually, helper, no_pid_namespace_here, own_group_and_session, own_pgrp,
    pgid_of, pids, proc_state, processes_with_arg, rerun_under, rerun_with_signals, under_pty,
    unique_sleep_marker, zombie_children,
};

use std::time::Duration;

/// Run options with a time limit and grace period in milliseconds, collecting output.
pub fn limited(timeout_ms: u64, grace_ms: u64) -> reml_process::RunOptions {
    reml_process::RunOptions {
        timeout: Some(Duration::from_millis(timeout_ms)),
        kill_after: Duration::from_millis(grace_ms),
        collect_output: true,
        ..reml_process::RunOptions::default()
    }
}
