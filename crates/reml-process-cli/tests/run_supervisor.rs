//! `reml-process run` as a well-mannered supervisor (`docs/command.md`): the child holds only
//! fds 0–2, signals `run` receives are forwarded, an ignored `SIGCHLD` or another child of the
//! process does not confuse it, and a closed or full output never makes it panic.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rustix::process::Signal;

const WELL_UNDER: Duration = Duration::from_secs(20);

/// Waits for `child` with a deadline (kills it and panics when the deadline passes).
fn wait_with_deadline(mut child: Child, limit: Duration) -> std::process::Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("reml-process did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `reml-process run ARGS` with stdout and stderr piped.
///
/// Only for children without descendants that outlive them: reading the output to its end
/// waits for every holder of the pipes. Trees get [`spawn_run_quiet`].
fn spawn_run(args: &[&str]) -> Child {
    std::process::Command::new(reml_path())
        .arg("run")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Starts `reml-process run ARGS` with every stdio stream on /dev/null.
fn spawn_run_quiet(args: &[&str]) -> Child {
    std::process::Command::new(reml_path())
        .arg("run")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until `run_pid` has a child that runs `exe`; returns its pid.
fn started_child(run_pid: i32, exe: &std::path::Path) -> i32 {
    eventually(Duration::from_secs(10), "the child to be running", || {
        children_of(run_pid).into_iter().find(|&c| runs(c, exe))
    })
}

/// Waits until `path` holds at least one whole line of pids; returns them.
fn pids_in_file(path: &std::path::Path) -> Vec<i32> {
    eventually(
        Duration::from_secs(10),
        "the pids in the output file",
        || {
            let text = std::fs::read_to_string(path).ok()?;
            let line = text.lines().next().filter(|_| text.contains('\n'))?;
            let pids: Vec<i32> = line
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
            (!pids.is_empty()).then_some(pids)
        },
    )
}

#[test]
fn the_child_holds_only_0_1_2_even_when_run_inherits_more() {
    let h = helper_str();
    // Control: an extra descriptor 7 does reach a program started directly.
    let direct = std::process::Command::new("sh")
        .args(["-c", r#"exec 7</dev/null; exec "$0" fds"#, &h])
        .output()
        .unwrap();
    let direct = String::from_utf8_lossy(&direct.stdout).into_owned();
    assert!(
        direct.split_whitespace().any(|f| f == "7"),
        "control: {direct:?}"
    );
    // Through run: only 0 1 2.
    let via_run = std::process::Command::new("sh")
        .args(["-c", r#"exec 7</dev/null; exec "$0" run -- "$1" fds"#])
        .arg(reml_path())
        .arg(&h)
        .output()
        .unwrap();
    assert_eq!(via_run.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&via_run.stdout), "0 1 2\n");
}

#[test]
fn the_child_holds_only_0_1_2_with_collect_and_json() {
    let h = helper_str();
    let out = run(&["--json", "--", &h, "fds"]).output().unwrap();
    assert_eq!(field(&one_json(&out), "stdout"), "0 1 2\n");
    let out = run(&["--collect", "--stdin", "pipe", "--", &h, "fds"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0 1 2\n");
}

#[test]
fn term_sent_to_run_is_forwarded_to_the_child() {
    let h = helper();
    let hs = helper_str();
    let child = spawn_run(&["--json", "--", &hs, "sleep", "30"]);
    let run_pid = child.id() as i32;
    let mut cleanup = Cleanup::default();
    let grandchild = started_child(run_pid, &h);
    cleanup.pids.push(grandchild);
    kill(run_pid, Signal::TERM);
    let out = wait_with_deadline(child, WELL_UNDER);
    assert_eq!(
        out.status.code(),
        Some(143),
        "run exits with the child's status"
    );
    let j = one_json(&out);
    assert_eq!(field(&j, "pid"), grandchild);
    assert_eq!(field(&j, "signal"), 15);
    assert_eq!(field(&j, "cause"), "signaled");
    assert_eq!(field(&j, "timed_out"), false);
    assert!(!alive(grandchild));
}

#[test]
fn forwarded_signal_reaches_the_whole_group() {
    let h = helper_str();
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("pids");
    let spec = format!("file:{}", out_file.display());
    let child = spawn_run_quiet(&["--stdout", &spec, "--", &h, "tree", "2", "30"]);
    let run_pid = child.id() as i32;
    let grandchildren = pids_in_file(&out_file);
    let mut cleanup = Cleanup::default();
    cleanup.processes_and_their_groups(&grandchildren);
    kill(run_pid, Signal::HUP);
    let out = wait_with_deadline(child, WELL_UNDER);
    assert_eq!(
        out.status.code(),
        Some(128 + 1),
        "the tree helper died of HUP"
    );
    assert_gone(&grandchildren);
}

#[test]
fn with_no_new_group_the_signal_goes_to_the_child_only() {
    let h = helper_str();
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("pids");
    let spec = format!("file:{}", out_file.display());
    let child = spawn_run_quiet(&[
        "--no-new-group",
        "--stdout",
        &spec,
        "--",
        &h,
        "tree",
        "1",
        "30",
    ]);
    let run_pid = child.id() as i32;
    let grandchildren = pids_in_file(&out_file);
    let mut cleanup = Cleanup::default();
    cleanup.pids.extend(&grandchildren);
    // The tree helper itself (in our group here, so by pid).
    cleanup.pids.extend(children_of(run_pid));
    kill(run_pid, Signal::USR1);
    let out = wait_with_deadline(child, WELL_UNDER);
    assert_eq!(out.status.code(), Some(128 + 10));
    assert!(alive(grandchildren[0]), "the grandchild was not signalled");
}

#[test]
fn run_inside_run_ends_the_innermost_program_on_the_outer_limit() {
    let h = helper_str();
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("pids");
    let spec = format!("file:{}", out_file.display());
    let reml = reml_path();
    let mut cleanup = Cleanup::default();
    let start = Instant::now();
    let out = run(&[
        "--json",
        "--timeout",
        "1",
        "--",
        reml.to_str().unwrap(),
        "run",
        "--stdout",
        &spec,
        "--",
        &h,
        "tree",
        "1",
        "60",
    ])
    .output()
    .unwrap();
    let grandchildren = pids_in_file(&out_file);
    cleanup.processes_and_their_groups(&grandchildren);
    assert!(start.elapsed() < WELL_UNDER);
    assert_eq!(code(&out), 124);
    let j = one_json(&out);
    // The inner run forwarded TERM and exited with its child's status (143), before any
    // KILL: the outer run saw its child exit, not die of a signal.
    assert_eq!(field(&j, "exit_code"), 143, "{j:?}");
    assert_gone(&grandchildren);
}

#[test]
fn run_inside_coreutils_timeout_ends_the_innermost_program() {
    let Some(timeout) = which("timeout") else {
        skip(
            "run_inside_coreutils_timeout_ends_the_innermost_program",
            "coreutils `timeout` is not on PATH",
        );
        return;
    };
    let h = helper_str();
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("pids");
    let spec = format!("file:{}", out_file.display());
    let mut cleanup = Cleanup::default();
    let start = Instant::now();
    let out = std::process::Command::new(timeout)
        .arg("1")
        .arg(reml_path())
        .args(["run", "--stdout", &spec, "--", &h, "tree", "1", "60"])
        .output()
        .unwrap();
    let grandchildren = pids_in_file(&out_file);
    cleanup.processes_and_their_groups(&grandchildren);
    assert!(start.elapsed() < WELL_UNDER);
    assert_eq!(out.status.code(), Some(124), "timeout's own status");
    assert_gone(&grandchildren);
}

#[test]
fn a_signal_run_inherited_as_ignored_is_not_forwarded() {
    // `nohup`-style: HUP ignored by our parent stays ignored, and the child is not sent it.
    let h = helper();
    let hs = helper_str();
    // rp-helper sets HUP (1) to "ignore", then execs run in its place (same pid).
    let mut cmd = std::process::Command::new(&h);
    cmd.args(["with-signals", "1", "-", "--"])
        .arg(reml_path())
        .args(["run", "--json", "--", &hs, "sleep", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let run_pid = child.id() as i32;
    let grandchild = started_child(run_pid, &h);
    let _cleanup = Cleanup {
        pids: vec![grandchild],
        groups: vec![],
    };
    kill(run_pid, Signal::HUP);
    let out = wait_with_deadline(child, WELL_UNDER);
    assert_eq!(
        out.status.code(),
        Some(0),
        "neither run nor its child died of HUP"
    );
    assert_eq!(field(&one_json(&out), "cause"), "exited");
}

#[test]
fn an_ignored_sigchld_does_not_lose_the_exit_status() {
    let h = helper_str();
    // rp-helper sets SIGCHLD (17) to "ignore", then execs run in its place.
    let mut cmd = std::process::Command::new(&h);
    cmd.args(["with-signals", "17", "-", "--"])
        .arg(reml_path())
        .args(["run", "--json", "--", &h, "exit", "3"]);
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_with_deadline(child, WELL_UNDER);
    assert_eq!(out.status.code(), Some(3));
    let j = one_json(&out);
    assert_eq!(field(&j, "exit_code"), 3);
    assert_eq!(field(&j, "cause"), "exited");
}

#[test]
fn another_child_of_the_process_is_neither_waited_for_nor_reported() {
    // The shell starts a long sleep, then becomes `run` (exec): that sleep is now a child
    // of `run` that `run` did not start.
    let h = helper_str();
    let start = Instant::now();
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            r#""$1" sleep 60 >/dev/null 2>&1 & echo $! >&2; exec "$0" run --json -- "$1" exit 4"#,
        ])
        .arg(reml_path())
        .arg(&h)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let other: Option<i32> = stderr.lines().next().and_then(|l| l.trim().parse().ok());
    let _cleanup = Cleanup {
        pids: other.into_iter().collect(),
        groups: vec![],
    };
    assert!(
        start.elapsed() < WELL_UNDER,
        "run did not wait for the other child"
    );
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    let j = one_json(&out);
    assert_eq!(field(&j, "exit_code"), 4);
    assert_ne!(Some(field(&j, "pid").as_i64().unwrap() as i32), other);
    assert!(
        alive(other.expect("the sleep's pid")),
        "the other child was left alone"
    );
}

#[test]
fn a_closed_stdout_does_not_panic() {
    let h = helper_str();
    for mode in ["--json", "--collect"] {
        let mut child = std::process::Command::new(reml_path())
            .args(["run", mode, "--", &h, "out", "100000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before anything is written.
        drop(child.stdout.take());
        let out = wait_with_deadline(child, WELL_UNDER);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{mode}: {stderr}");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{mode}: the child's status; {stderr}"
        );
    }
}

#[test]
fn a_full_stdout_is_our_failure_with_one_line() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        skip(
            "a_full_stdout_is_our_failure_with_one_line",
            "/dev/full is not available",
        );
        return;
    };
    let out = std::process::Command::new(reml_path())
        .args(["run", "--json", "--", "true"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let line = one_error_line(&out);
    assert!(line.contains("cannot write"), "{line}");
}
