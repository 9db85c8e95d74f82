//! `--policy`, `--audit` and `--pass-fd` of `reml-process run` (`docs/command.md`,
//! `docs/policy.md`, `docs/audit-log.md`): each is acted on, never silently ignored. The layers
//! themselves are tested in the library; these tests check that the command reaches them and
//! reports their answers with the right status.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn write_policy(dir: &Path, body: &str) -> String {
    let p = dir.join("policy.toml");
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_owned()
}

#[test]
fn a_program_the_policy_does_not_allow_is_126_and_does_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write_policy(dir.path(), "[commands]\nallow = [\"/bin/true\"]\n");
    let marker = dir.path().join("ran");
    let m = marker.to_str().unwrap();
    let out = run(&[
        "--json",
        "--policy",
        &policy,
        "--",
        "sh",
        "-c",
        r#"touch "$0""#,
        m,
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), 126, "denied by the policy");
    assert!(!marker.exists(), "the program ran");
    let line = one_error_line(&out);
    assert!(line.contains("denied by the policy"), "{line}");
    let j = one_json(&out);
    assert_eq!(field(&j, "cause"), "not_started");
    assert_eq!(
        field(field(&j, "error").as_object().unwrap(), "kind"),
        "permission_denied"
    );
}

#[test]
fn an_allowed_program_runs_under_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let h = helper_str();
    let policy = write_policy(dir.path(), &format!("[commands]\nallow = [\"{h}\"]\n"));
    let out = run(&["--policy", &policy, "--", &h, "exit", "6"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 6);
}

#[test]
fn a_missing_or_invalid_policy_is_125_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let out = run(&["--policy", missing.to_str().unwrap(), "--", "true"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    let line = one_error_line(&out);
    assert!(line.contains("nope.toml"), "{line}");
    assert_eq!(
        line.matches("nope.toml").count(),
        1,
        "the path once: {line}"
    );

    let policy = write_policy(
        dir.path(),
        "[commands]\nallow = [\"/bin/true\"]\nalow = []\n",
    );
    let out = run(&["--policy", &policy, "--", "true"]).output().unwrap();
    assert_eq!(code(&out), 125);
    let line = one_error_line(&out);
    assert!(
        line.contains("policy.toml") && line.contains("alow"),
        "{line}"
    );
    assert!(line.contains("line 3"), "with the line: {line}");
}

#[test]
fn audit_writes_a_verifiable_log_of_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let l = log.to_str().unwrap();
    let out = run(&["--audit", l, "--", "sh", "-c", "exit 2"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    let text = std::fs::read_to_string(&log).expect("the audit log was written");
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let events: Vec<&str> = records.iter().filter_map(|r| r["event"].as_str()).collect();
    assert!(events.contains(&"process.spawned"), "{events:?}");
    let exited = records
        .iter()
        .find(|r| r["event"] == "process.exited")
        .expect("an end record");
    assert_eq!(exited["metadata"]["process.exit_status"], 2, "{exited}");
    let verify = reml().args(["audit", "verify", l]).output().unwrap();
    assert_eq!(
        code(&verify),
        0,
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[test]
fn audit_required_by_the_policy_but_not_given_is_125() {
    let dir = tempfile::tempdir().unwrap();
    let h = helper_str();
    let policy = write_policy(
        dir.path(),
        &format!("[capability]\naudit_required = true\n\n[commands]\nallow = [\"{h}\"]\n"),
    );
    let out = run(&["--policy", &policy, "--", &h, "exit", "0"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    assert!(one_error_line(&out).contains("audit"));
}

#[test]
fn pass_fd_hands_the_descriptor_when_the_policy_allows_it() {
    let dir = tempfile::tempdir().unwrap();
    let h = helper_str();
    let allow = write_policy(
        dir.path(),
        &format!("[commands]\nallow = [\"{h}\"]\npass_fds = true\n"),
    );
    let out = run(&["--policy", &allow, "--pass-fd", "0:3", "--", &h, "fds"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0 1 2 3\n");

    let deny = write_policy(dir.path(), &format!("[commands]\nallow = [\"{h}\"]\n"));
    let out = run(&["--policy", &deny, "--pass-fd", "0:3", "--", &h, "fds"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 126, "pass_fds = false refuses");
    assert!(out.stdout.is_empty());
    assert!(one_error_line(&out).contains("pass_fds"));
}

#[test]
fn bad_pass_fd_is_125() {
    let h = helper_str();
    for spec in ["x", "3", "3:", "-1:3", "0:x"] {
        let out = run(&["--pass-fd", spec, "--", &h, "fds"]).output().unwrap();
        assert_eq!(code(&out), 125, "--pass-fd {spec}");
        assert!(
            one_error_line(&out).contains("--pass-fd"),
            "--pass-fd {spec}"
        );
        assert!(out.stdout.is_empty());
    }
    // A source descriptor we do not hold.
    let out = run(&["--pass-fd", "57:3", "--", &h, "fds"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    assert!(one_error_line(&out).contains("57"));
}
