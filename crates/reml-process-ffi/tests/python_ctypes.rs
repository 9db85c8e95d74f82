//! The scenario of `docs/c-abi.md` from Python `ctypes` against the built cdylib; skipped,
//! visibly, when `python3` is not installed.

mod common;

use std::process::Command;

#[test]
fn python_ctypes_runs_the_scenario() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIPPED python_ctypes_runs_the_scenario: python3 not found");
        return;
    }
    let lib = common::cdylib();
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = common::policy(dir.path());
    let audit = dir.path().join("audit.jsonl");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenario.py");
    let run = Command::new("python3")
        .arg(&script)
        .arg(&lib)
        .arg(&policy)
        .arg(&audit)
        .output()
        .expect("run python3");
    common::assert_scenario_ran("python scenario", &run, &audit);
}
