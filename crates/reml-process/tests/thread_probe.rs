//! The `thread_probe` example end to end: its JSON against what
//! `/proc/PID/task/TID/` says, and its failure shapes (a name longer than 15 bytes, an
//! affinity to absent CPUs, detached, time limit).
//!
//! The example binary is built by `cargo test` (examples are built with the tests); when it is
//! missing (e.g. `cargo test --test thread_probe`), each test prints a SKIPPED line.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(30);

/// `target/<profile>/examples/thread_probe`, next to this test's `deps/` directory.
fn probe(test: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe
        .parent()?
        .parent()?
        .join("examples")
        .join("thread_probe");
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED {test}: the thread_probe example is not built at {} (run `cargo test -p \
             reml-process`, which builds examples, or `cargo build -p reml-process --example \
             thread_probe`)",
            path.display()
        );
        None
    }
}

/// Runs the probe to completion (bounded by `--work`, which these tests keep short).
fn run(path: &PathBuf, args: &[&str]) -> (Output, Value) {
    let out = Command::new(path).args(args).output().unwrap();
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let mut lines = text.lines();
    let json: Value = serde_json::from_str(lines.next().expect("one JSON line")).unwrap();
    assert_eq!(lines.next(), None, "exactly one line: {text}");
    (out, json)
}

fn assert_failure(path: &PathBuf, args: &[&str], kind: &str, needles: &[&str]) {
    let (out, json) = run(path, args);
    assert!(!out.status.success(), "{args:?} must fail: {json}");
    assert_eq!(json["ok"], false, "{json}");
    assert_eq!(json["error"]["kind"], kind, "{json}");
    let msg = json["error"]["message"].as_str().unwrap();
    for n in needles {
        assert!(msg.contains(n), "missing {n:?} in {msg}");
    }
}

/// Fields of `/proc/PID/task/TID/stat`, 1-based like `proc(5)`.
fn stat_field(stat: &str, n: usize) -> i64 {
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after
        .split_whitespace()
        .nth(n - 3)
        .unwrap()
        .parse()
        .unwrap()
}

/// Starts a probe whose thread keeps working, reads its JSON line, and checks every "os"
/// field against `/proc/PID/task/TID/` while the thread is still alive.
fn compare_with_proc(args: &[&str]) -> Value {
    let path = match probe("compare_with_proc") {
        Some(p) => p,
        None => return Value::Null,
    };
    let mut child = KillOnDrop(
        Command::new(path)
            .args(args)
            .args(["--work", "120s"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(DEADLINE)
        .expect("the probe printed its line");
    let json: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(json["ok"], true, "{json}");
    let os = &json["os"];
    let tid = os["tid"].as_u64().unwrap();
    let task = format!("/proc/{}/task/{tid}", child.0.id());

    let comm = std::fs::read_to_string(format!("{task}/comm")).unwrap();
    assert_eq!(os["name"], comm.trim_end_matches('\n'));
    let stat = std::fs::read_to_string(format!("{task}/stat")).unwrap();
    assert_eq!(os["nice"].as_i64().unwrap(), stat_field(&stat, 19), "nice");
    assert_eq!(
        os["rt_priority"].as_i64().unwrap(),
        stat_field(&stat, 40),
        "rt_priority"
    );
    let policy =
        ["other", "fifo", "rr", "batch", "", "idle", "deadline"][stat_field(&stat, 41) as usize];
    assert_eq!(os["policy"], policy, "policy");
    let status = std::fs::read_to_string(format!("{task}/status")).unwrap();
    let allowed: reml_process::CpuSet = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        os["affinity"],
        serde_json::json!(allowed.to_vec()),
        "affinity"
    );

    drop(child);
    json
}

/// Ends the probe (which would otherwise work for 120 s) however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn probe_output_matches_proc_for_a_named_low_priority_pinned_thread() {
    let json = compare_with_proc(&[
        "--name",
        "worker-thread-0001",
        "--cpus",
        "0",
        "--priority",
        "low",
    ]);
    if json.is_null() {
        return;
    }
    // And it is what was asked for.
    assert_eq!(json["os"]["name"], "worker-thread-0");
    assert_eq!(json["os"]["affinity"], serde_json::json!([0]));
    assert_eq!(json["os"]["nice"], 10);
    assert_eq!(json["os"]["policy"], "other");
    assert_eq!(json["join"], Value::Null);
}

#[test]
fn probe_output_matches_proc_for_a_realtime_thread() {
    let caps = std::fs::read_to_string("/proc/self/status").unwrap();
    if !caps.lines().any(|l| {
        l.strip_prefix("CapEff:")
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .is_some_and(|c| c & (1 << 23) != 0)
    }) {
        eprintln!("SKIPPED probe_output_matches_proc_for_a_realtime_thread: needs CAP_SYS_NICE");
        return;
    }
    let json = compare_with_proc(&["--priority", "realtime"]);
    if json.is_null() {
        return;
    }
    assert_eq!(json["os"]["policy"], "rr");
    assert_eq!(json["os"]["rt_priority"], 1);
}

#[test]
fn probe_join_reports_ok_and_exits_zero() {
    let Some(path) = probe("probe_join_reports_ok_and_exits_zero") else {
        return;
    };
    let (out, json) = run(&path, &["--join", "--cpus", "0-0", "--stack-size", "64KiB"]);
    assert!(out.status.success(), "{json}");
    assert_eq!(json["ok"], true);
    assert_eq!(json["join"], "ok");
    assert_eq!(json["os"]["affinity"], serde_json::json!([0]));
}

#[test]
fn probe_invalid_cpus_name_the_cpu() {
    let Some(path) = probe("probe_invalid_cpus_name_the_cpu") else {
        return;
    };
    let possible: reml_process::CpuSet =
        std::fs::read_to_string("/sys/devices/system/cpu/possible")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
    let absent = (possible.max_cpu().unwrap() + 1).to_string();
    let mixed = format!("0,{absent}");
    let named = format!("CPU {absent}");
    assert_failure(&path, &["--cpus", &absent], "invalid_affinity", &[&named]);
    assert_failure(&path, &["--cpus", &mixed], "invalid_affinity", &[&named]);
    assert_failure(
        &path,
        &["--cpus", "5000"],
        "invalid_affinity",
        &["CPU 5000"],
    );
    assert_failure(&path, &["--cpus", ""], "invalid_affinity", &["empty"]);
}

#[test]
fn probe_detached_join_fails_saying_why() {
    let Some(path) = probe("probe_detached_join_fails_saying_why") else {
        return;
    };
    assert_failure(
        &path,
        &["--detached", "--join"],
        "join_failed",
        &["detached", "cannot be joined"],
    );
}

#[test]
fn probe_join_time_limit_expiry_is_join_failed() {
    let Some(path) = probe("probe_join_time_limit_expiry_is_join_failed") else {
        return;
    };
    assert_failure(
        &path,
        &["--work", "60s", "--join-timeout", "100ms"],
        "join_failed",
        &["timed out"],
    );
}

#[test]
fn probe_long_name_and_impossible_stack() {
    let Some(path) = probe("probe_long_name_and_impossible_stack") else {
        return;
    };
    let (_, json) = run(&path, &["--name", "worker-thread-0001", "--join"]);
    assert_eq!(
        json["os"]["name"], "worker-thread-0",
        "a long name through the probe"
    );
    assert_failure(
        &path,
        &["--stack-size", "1024TiB", "--join"],
        "creation_failed",
        &["errno"],
    );
}

#[test]
fn probe_bad_command_line_exits_2_with_error_json() {
    let Some(path) = probe("probe_bad_command_line_exits_2_with_error_json") else {
        return;
    };
    let (out, json) = run(&path, &["--priority", "urgent"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json["ok"], false);
    assert!(json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("urgent"));
    let (out, json) = run(&path, &["--cpus", "0,x"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json["error"]["kind"], "invalid_affinity");
}
