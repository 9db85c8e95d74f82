//! `run --policy` and `run --audit`, `describe`, end to end (`docs/command.md`, `docs/policy.md`,
//! `docs/audit-log.md`).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_reml-process");

fn dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("run-policy-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn records(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const POLICY: &str = r#"
[capability]
effect_scope = ["process", "signal", "io.blocking", "memory", "audit"]
[commands]
allow = ["/usr/bin/echo", "env"]
allowed_signals = ["TERM", "KILL"]
[env]
deny = ["LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH", "MY_SECRET"]
[limits]
max_wall_time = "10s"
[audit]
redact = ["--password=*"]
"#;

#[test]
fn allowed_program_runs_and_denied_one_is_126_with_one_line() {
    let d = dir();
    let p = write(d.path(), "p.toml", POLICY);
    Command::new(BIN)
        .args(["run", "--policy"])
        .arg(&p)
        .args(["--", "echo", "hi"])
        .assert()
        .code(0)
        .stdout("hi\n");
    let out = Command::new(BIN)
        .args(["run", "--policy"])
        .arg(&p)
        .args(["--", "cat", "/etc/hostname"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(126));
    assert!(out.stdout.is_empty(), "nothing ran");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("reml-process: "), "{err}");
    assert!(
        err.contains("/usr/bin/cat") && err.contains("denied"),
        "{err}"
    );
}

#[test]
fn invalid_or_unsafe_policy_is_125() {
    let d = dir();
    let typo = write(
        d.path(),
        "typo.toml",
        "[commands]\nallow = [\"/usr/bin/echo\"]\nalow = 1\n",
    );
    let out = Command::new(BIN)
        .args(["run", "--policy"])
        .arg(&typo)
        .args(["--", "echo", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("alow") && err.contains("line 3"), "{err}");
    let plain = write(d.path(), "plain", "not a program");
    let unsafe_policy = write(
        d.path(),
        "unsafe.toml",
        &format!("[commands]\nallow = [\"{}\"]\n", plain.display()),
    );
    let out = Command::new(BIN)
        .args(["run", "--policy"])
        .arg(&unsafe_policy)
        .args(["--", "echo", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("security review"));
    Command::new(BIN)
        .args(["run", "--policy"])
        .arg(d.path().join("missing.toml"))
        .args(["--", "echo"])
        .assert()
        .code(125);
}

/// A policy that allows the supervisor let `run -- reml-process run -- PROGRAM` run any
/// program outside the allow-list: such a policy now fails the review, and nothing runs.
#[test]
fn policy_allowing_the_supervisor_is_refused_before_anything_runs() {
    let d = dir();
    let marker = d.path().join("escaped");
    let p = write(
        d.path(),
        "p.toml",
        &format!(
            "[capability]\neffect_scope = [\"process\", \"signal\", \"io.blocking\"]\n\
             [commands]\nallow = [\"{BIN}\"]\n[limits]\nmax_wall_time = \"10s\"\n"
        ),
    );
    let out = Command::new(BIN)
        .args(["run", "--policy"])
        .arg(&p)
        .args(["--", BIN, "run", "--", "touch"])
        .arg(&marker)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(
        err.contains("security review") && err.contains("policy.command.launcher"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!marker.exists(), "the nested supervisor ran a program");
}

#[test]
fn inherited_denied_variable_is_dropped_and_asked_one_refused() {
    let d = dir();
    let p = write(d.path(), "p.toml", POLICY);
    let out = Command::new(BIN)
        .env("MY_SECRET", "inherited")
        .env("HARMLESS", "kept")
        .args(["run", "--policy"])
        .arg(&p)
        .args(["--", "env"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("MY_SECRET"), "{text}");
    assert!(text.contains("HARMLESS=kept"));
    Command::new(BIN)
        .args(["run", "--policy"])
        .arg(&p)
        .args(["--env", "LD_PRELOAD=/x.so", "--", "env"])
        .assert()
        .code(126);
}

#[test]
fn audit_required_without_a_log_is_125_and_nothing_runs() {
    let d = dir();
    let p = write(
        d.path(),
        "p.toml",
        "[capability]\naudit_required = true\n[commands]\nallow = [\"/usr/bin/touch\"]\n",
    );
    let marker = d.path().join("marker");
    Command::new(BIN)
        .args(["run", "--policy"])
        .arg(&p)
        .arg("--")
        .arg("touch")
        .arg(&marker)
        .assert()
        .code(125);
    Command::new(BIN)
        .args(["run", "--policy"])
        .arg(&p)
        .arg("--audit")
        .arg(d.path().join("no/such/dir/log"))
        .arg("--")
        .arg("touch")
        .arg(&marker)
        .assert()
        .code(125);
    assert!(!marker.exists());
}

#[test]
fn audit_log_records_what_was_asked_what_ran_and_how_it_ended() {
    let d = dir();
    let p = write(d.path(), "p.toml", POLICY);
    let log = d.path().join("audit.jsonl");
    Command::new(BIN)
        .args(["run", "--policy"])
        .arg(&p)
        .arg("--audit")
        .arg(&log)
        .args(["--", "echo", "--password=hunter2", "ok"])
        .assert()
        .code(0);
    Command::new(BIN)
        .args(["run", "--policy"])
        .arg(&p)
        .arg("--audit")
        .arg(&log)
        .args(["--", "cat", "/etc/hostname"])
        .assert()
        .code(126);
    Command::new(BIN)
        .args(["run", "--audit"])
        .arg(&log)
        .args(["--", "sh", "-c", "exit 7"])
        .assert()
        .code(7);
    let recs = records(&log);
    let events: Vec<&str> = recs.iter().map(|r| r["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        [
            "process.spawned",
            "process.exited",
            "process.released",
            "process.denied",
            "process.spawned",
            "process.exited",
            "process.released"
        ]
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("hunter2"));
    assert_eq!(recs[0]["metadata"]["process.command"][0], "/usr/bin/echo");
    assert_eq!(recs[0]["metadata"]["process.command"][1], "***");
    assert_eq!(recs[1]["metadata"]["process.exit_status"], 0);
    assert!(recs[3]["metadata"]["process.reason"]
        .as_str()
        .unwrap()
        .contains("not an allowed program"));
    assert_eq!(recs[5]["metadata"]["process.exit_status"], 7);
    Command::new(BIN)
        .args(["audit", "verify"])
        .arg(&log)
        .assert()
        .code(0)
        .stdout("ok: 7 records\n");
}

#[test]
fn supervisor_killed_mid_run_loses_nothing_complete() {
    let d = dir();
    let log = d.path().join("audit.jsonl");
    let mut child = std::process::Command::new(BIN)
        .arg("run")
        .arg("--audit")
        .arg(&log)
        .args(["--", "sleep", "30"])
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        let n = std::fs::File::open(&log)
            .map(|f| std::io::BufReader::new(f).lines().count())
            .unwrap_or(0);
        if n >= 1 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no spawn record");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let spawned = &records(&log)[0];
    let pid = spawned["metadata"]["process.pid"].as_i64().unwrap();
    // The chain is whole; the start without an end is named on a second line.
    let open = format!(
        "open: 1 lifecycle without an end record: pid {pid} ({})\n",
        spawned["subject"].as_str().unwrap()
    );
    Command::new(BIN)
        .args(["audit", "verify"])
        .arg(&log)
        .assert()
        .code(0)
        .stdout(format!("ok: 1 records\n{open}"));
    // The orphaned sleep was left; end it (its pid is in the record).
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
    // The chain continues after the crash.
    Command::new(BIN)
        .args(["run", "--audit"])
        .arg(&log)
        .args(["--", "true"])
        .assert()
        .code(0);
    Command::new(BIN)
        .args(["audit", "verify"])
        .arg(&log)
        .assert()
        .code(0)
        .stdout(format!("ok: 4 records\n{open}"));
}

#[test]
fn describe_prints_the_descriptor() {
    let out = Command::new(BIN)
        .args(["describe", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["id"], "core.process");
    assert_eq!(v["stage"], "beta");
    assert_eq!(
        v["effect_scope"],
        serde_json::json!([
            "audit",
            "hardware",
            "io.blocking",
            "memory",
            "process",
            "signal",
            "thread"
        ])
    );
    assert_eq!(
        v["provider"],
        serde_json::json!({"kind": "plugin", "package": "reml-process", "version": "0.1.0"})
    );
    assert_eq!(v["manifest_path"], "plugin.toml");
    assert!(v["last_verified_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        v["security"],
        serde_json::json!({"audit_required": false, "isolation_level": "none", "policy": null,
                           "allowed_commands": 1, "limits": {"max_processes": 64},
                           "kernel": reml_process::sandbox::kernel_support().to_json()})
    );
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "stage",
            "effect_scope",
            "provider",
            "manifest_path",
            "last_verified_at",
            "security"
        ]
    );
    let d = dir();
    let p = write(d.path(), "p.toml", POLICY);
    let out = Command::new(BIN)
        .args(["describe", "--json", "--policy"])
        .arg(&p)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["security"]["allowed_commands"], 2);
    assert_eq!(v["security"]["policy"], p.display().to_string());
    assert_eq!(
        v["effect_scope"],
        serde_json::json!(["audit", "io.blocking", "memory", "process", "signal"])
    );
}

/// A policy that fails the security review is exit 1 and one line that names the file (it
/// named only the capability, so with several files nothing said which to fix).
#[test]
fn describe_names_the_policy_that_fails_the_review() {
    let d = dir();
    let p = write(
        d.path(),
        "missing.toml",
        "[commands]\nallow = [\"/usr/bin/no-such-tool-here\"]\n",
    );
    let out = Command::new(BIN)
        .args(["describe", "--policy"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("reml-process: {}: ", p.display())),
        "{err}"
    );
    assert!(err.contains("policy.command.not_found"), "{err}");
}
