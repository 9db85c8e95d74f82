//! `reml-process run` ends the whole job when its time limit expires (spec §7):
//! every descendant — `setsid` escapees, double-forked daemons, pipelines, children that
//! ignore `TERM`, grandchildren holding the output pipe — is gone when `run` returns; a
//! child `run` had before is left alone; a stopped child is reported; `--json` says why the
//! child ended (`cause`).

mod common;

use assert_cmd::Command;
use common::{alive, assert_gone, helper, pids, reml_process};
use serde_json::Value;

fn run_json(args: &[&str]) -> (Value, i32) {
    let out = Command::new(reml_process())
        .arg("run")
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.code().unwrap())
}

fn h() -> String {
    helper().display().to_string()
}

fn numbers(v: &Value, stream: &str) -> Vec<i32> {
    pids(v[stream].as_str().unwrap())
}

#[test]
fn setsid_escapee_is_gone_after_the_limit() {
    assert_orphan_gone_after_the_limit("500ms", &[&h(), "setsid-child", "100"]);
}

#[test]
fn double_forked_daemon_is_gone_after_the_limit() {
    assert_orphan_gone_after_the_limit("800ms", &[&h(), "double-fork", "100"]);
}

/// Runs `command` (which prints the pid of one process that leaves its tree, then keeps
/// running) under `--timeout timeout --kill-after 500ms`: the limit ends the job, and the
/// process that left is gone too.
#[track_caller]
fn assert_orphan_gone_after_the_limit(timeout: &str, command: &[&str]) {
    let mut args = vec!["--timeout", timeout, "--kill-after", "500ms", "--"];
    args.extend_from_slice(command);
    let (v, code) = run_json(&args);
    assert_eq!(code, 124, "{v}");
    assert_eq!(v["cause"], "timed_out");
    let orphan = numbers(&v, "stdout");
    assert_eq!(orphan.len(), 1, "{v}");
    assert_gone(&orphan);
}

#[test]
fn shell_pipeline_is_gone_after_the_limit() {
    let (v, code) = run_json(&[
        "--timeout",
        "800ms",
        "--kill-after",
        "500ms",
        "--",
        "sh",
        "-c",
        r#"sh -c 'echo $$ >&2; exec sleep 100' | sh -c 'echo $$ >&2; exec sleep 100'"#,
    ]);
    assert_eq!(code, 124, "{v}");
    let members = numbers(&v, "stderr");
    assert_eq!(members.len(), 2, "{v}");
    assert_gone(&members);
    assert_gone(&[v["pid"].as_i64().unwrap() as i32]);
}

/// Children that ignore `TERM`: the shell and its background child ignore it; `KILL` after the
/// grace ends both.
#[test]
fn children_ignoring_term_are_killed_after_the_grace() {
    let (v, code) = run_json(&[
        "--timeout",
        "500ms",
        "--kill-after",
        "500ms",
        "--",
        "sh",
        "-c",
        "trap '' TERM; sleep 30 & echo $!; sleep 30",
    ]);
    assert_eq!(code, 124, "{v}");
    assert_eq!(v["signal"], 9, "{v}");
    assert_eq!(v["cause"], "timed_out");
    assert!(
        v["duration_ms"].as_f64().unwrap() >= 1000.0,
        "grace honoured: {v}"
    );
    assert_gone(&numbers(&v, "stdout"));
}

/// Grandchildren keep the output pipe open, through the command (one in the group, one that
/// left it with `setsid`); partial output, exit 124, both gone.
#[test]
fn grandchildren_holding_the_output_are_gone() {
    let out = Command::new(reml_process())
        .args([
            "run",
            "--collect",
            "--timeout",
            "1s",
            "--kill-after",
            "500ms",
            "--",
            "sh",
            "-c",
            "echo hi; sleep 100 & echo $!; setsid sleep 100 & echo $!; sleep 100",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("hi"), "{text}");
    let rest: Vec<i32> = lines.filter_map(|l| l.parse().ok()).collect();
    assert_eq!(rest.len(), 2, "{text}");
    assert_gone(&rest);
}

/// A shell that `exec`s into `run` leaves its own background child to `run`: it is not the
/// job's, so it survives the job's whole-tree termination.
#[test]
fn pre_existing_child_of_run_survives_the_job() {
    let script = format!(
        "{h} sleep 30 >/dev/null 2>&1 & echo $! >&2; exec {run} run --timeout 800ms --kill-after 300ms -- {h} double-fork 100",
        h = h(),
        run = reml_process().display()
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert_eq!(out.status.code(), Some(124), "{out:?}");
    let host_child = pids(&out.stderr);
    let daemon = pids(&out.stdout);
    assert_eq!((host_child.len(), daemon.len()), (1, 1), "{out:?}");
    assert_gone(&daemon);
    let pid = host_child[0];
    assert!(alive(pid), "the pre-existing child was touched");
    // Clean up the survivor we started, through a pidfd (never a recycled pid), after
    // checking it is still our helper.
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let pidfd = rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(pid).unwrap(),
        rustix::process::PidfdFlags::empty(),
    )
    .unwrap();
    assert!(String::from_utf8_lossy(&cmdline).contains("rp-helper"));
    rustix::process::pidfd_send_signal(&pidfd, rustix::process::Signal::KILL).unwrap();
    assert_gone(&[pid]);
}

/// A stopped child is reported with one line on stderr and still ended by the limit.
#[test]
fn stopped_child_is_reported_and_ended() {
    let out = Command::new(reml_process())
        .args(["run", "--timeout", "800ms", "--kill-after", "2s", "--"])
        .arg(helper())
        .args(["kill-self", "19"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains("stopped by"))
        .unwrap_or_else(|| panic!("no stop line: {err}"));
    assert!(
        line.starts_with("reml-process: ")
            && line.contains("rp-helper (pid ")
            && line.ends_with(") stopped by SIGSTOP"),
        "{line}"
    );
}

#[test]
fn json_cause_for_each_ending() {
    let (v, code) = run_json(&["--", &h(), "exit", "3"]);
    assert_eq!((code, v["cause"].as_str()), (3, Some("exited")), "{v}");
    let (v, code) = run_json(&["--", &h(), "kill-self", "9"]);
    assert_eq!((code, v["cause"].as_str()), (137, Some("signaled")), "{v}");
    let (v, code) = run_json(&["--timeout", "300ms", "--", &h(), "sleep", "30"]);
    assert_eq!((code, v["cause"].as_str()), (124, Some("timed_out")), "{v}");
    let (v, code) = run_json(&["--", "/nonexistent/reml-process-test"]);
    assert_eq!(
        (code, v["cause"].as_str()),
        (127, Some("not_started")),
        "{v}"
    );
}

/// A child that exits on its own ends the job for `run` (as with coreutils `timeout`): a
/// background process it started is left running, not killed, and `run` returns the child's
/// status without waiting for it.
#[test]
fn background_process_of_a_child_that_exits_on_its_own_is_left_running() {
    let script = format!("{} sleep 30 >/dev/null 2>&1 & echo $!; exit 0", h());
    let (v, code) = run_json(&["--", "sh", "-c", &script]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["cause"], "exited");
    let background = numbers(&v, "stdout");
    assert_eq!(background.len(), 1, "{v}");
    let alive_after = alive(background[0]);
    common::kill(background[0], rustix::process::Signal::KILL);
    assert!(alive_after, "the background process was killed: {v}");
}
