//! `reml-process run` where its process group and session have no number in its pid
//! namespace (the leader lives outside it: a CI runner's or a container's pid namespace,
//! where `getpgrp()` returns 0). The time limit still ends the whole job, in a new group
//! and with `--no-new-group`, and `run` exits 124 with `cause: timed_out`. (An earlier
//! build panicked here in debug and was undefined behaviour in release.)
//!
//! The outer test re-runs the inner one as pid 2 of a fresh pid namespace
//! (`rp-helper pidns`), so this holds on any machine, not only where CI happens to run.

mod common;

use common::{
    assert_gone, helper, no_pid_namespace_here, own_pgrp, pids, reml_process, rerun_under,
};
use serde_json::Value;

#[test]
fn time_limit_ends_the_job_when_our_group_has_no_number_in_our_pid_namespace() {
    let inner = "inner_time_limit_ends_the_job_when_our_group_has_no_number";
    if let Some(why) = no_pid_namespace_here() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    rerun_under(&["pidns", "--"], inner);
}

#[test]
#[ignore = "run by time_limit_ends_the_job_when_our_group_has_no_number_in_our_pid_namespace"]
fn inner_time_limit_ends_the_job_when_our_group_has_no_number() {
    // The premise: the environment really hides our group.
    assert_eq!(own_pgrp(), 0);
    let helper = helper().display().to_string();
    for extra in [&[][..], &["--no-new-group"][..]] {
        let out = std::process::Command::new(reml_process())
            .args([
                "run",
                "--json",
                "--timeout",
                "300ms",
                "--kill-after",
                "300ms",
            ])
            .args(extra)
            .args(["--", &helper, "tree", "2", "30"])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{extra:?}: not JSON ({e}): {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_eq!(out.status.code(), Some(124), "{extra:?}: {v}");
        assert_eq!(v["cause"], "timed_out", "{extra:?}: {v}");
        let grandchildren = pids(v["stdout"].as_str().unwrap());
        assert_eq!(grandchildren.len(), 2, "{extra:?}: {v}");
        assert_gone(&grandchildren);
    }
}
