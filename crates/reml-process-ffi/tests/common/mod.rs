//! Shared by the C and Python tests: the built cdylib, a policy, an audit log.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `target/<profile>/libreml_process_ffi.so`, built by cargo with the package's library
/// (crate-type cdylib); built with `cargo build` if it is missing.
pub fn cdylib() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf();
    let lib = profile_dir.join("libreml_process_ffi.so");
    if !lib.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", "reml-process-ffi", "--lib"])
            .status()
            .expect("cargo build");
        assert!(status.success(), "building the cdylib failed");
    }
    assert!(lib.exists(), "{} not found", lib.display());
    lib
}

/// The header's directory.
pub fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}

/// A policy allowing `/bin/sh` (no isolation), TERM and KILL only.
pub fn policy(dir: &Path) -> PathBuf {
    let p = dir.join("policy.toml");
    std::fs::write(
        &p,
        "[capability]\nisolation_level = \"none\"\n[commands]\nallow = [\"/bin/sh\"]\n\
         allowed_signals = [\"TERM\", \"KILL\"]\n",
    )
    .expect("write policy");
    p
}

/// The `event` of every record of the audit log at `path`.
pub fn audit_events(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("audit log")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("audit line is JSON");
            v["event"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

/// Asserts the scenario's records are all in the audit log.
pub fn assert_scenario_audited(path: &Path) {
    let events = audit_events(path);
    for e in [
        "process.denied",
        "process.spawned",
        "process.exited",
        "process.kill",
        "process.released",
    ] {
        assert!(events.iter().any(|x| x == e), "{e} not in {events:?}");
    }
}

/// Asserts what both scenarios (C and Python) must show: `run` succeeded and printed `ok`,
/// the process it left held (`leftover PID`) is gone after `reml_process_bridge_free`, and
/// the audit log at `audit` records the scenario ([`assert_scenario_audited`]).
pub fn assert_scenario_ran(what: &str, run: &std::process::Output, audit: &Path) {
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success() && stdout.contains("ok"),
        "{what} failed: {stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let leftover: i32 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("leftover "))
        .and_then(|p| p.trim().parse().ok())
        .expect("leftover pid");
    assert!(leftover > 0);
    assert!(
        !Path::new(&format!("/proc/{leftover}")).exists(),
        "the held process outlived reml_process_bridge_free"
    );
    assert_scenario_audited(audit);
}
