//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The `rp-helper` program of the `test-helper` crate (built by `cargo test --workspace`).
pub fn helper() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test> → target/<profile>/rp-helper
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let p = dir.join("rp-helper");
    assert!(
        p.is_file(),
        "{} is missing: run the suite with `cargo test --workspace` so the test-helper crate is built",
        p.display()
    );
    p
}

/// Polls `f` until it returns `Some`, or panics after `limit`.
pub fn eventually<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The state letter of a process from /proc/PID/stat, `None` when it no longer exists.
pub fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.chars().next()
}

/// This process's (process group, session) from /proc/self/stat. Either is 0 when its
/// leader lives outside our pid namespace (as under a CI runner's or a container's pid
/// namespace): the kernel has no number for it here. (rustix's `getpgrp`/`getsid` assume a
/// positive id and panic on 0, so tests read the ids this way.)
pub fn own_group_and_session() -> (i32, i32) {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    let fields: Vec<i32> = stat[stat.rfind(')').expect("stat has a name") + 2..]
        .split_whitespace()
        .skip(2)
        .take(2)
        .map(|f| f.parse().expect("numeric pgid and sid"))
        .collect();
    (fields[0], fields[1])
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    matches!(proc_state(pid), Some(c) if c != 'Z' && c != 'X')
}

/// Pids of this process's children that are zombies (from /proc/self/task/*/children).
pub fn zombie_children() -> Vec<i32> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task")
        .expect("tasks")
        .flatten()
    {
        let Ok(list) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        for pid in list
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            if proc_state(pid) == Some('Z') {
                out.push(pid);
            }
        }
    }
    out
}

/// Re-runs the ignored test `name` of the current test binary under `rp-helper with-signals`
/// with the given ignored and blocked signal numbers; returns its combined output and
/// asserts it passed. Used for tests that need process-wide signal state.
pub fn rerun_with_signals(name: &str, ignored: &str, blocked: &str) -> String {
    rerun_under(&["with-signals", ignored, blocked, "--"], name)
}

/// Re-runs the ignored test `name` of the current test binary as `rp-helper WRAPPER… EXE
/// ARGS…` (the wrapper's arguments end with its `--`); returns its combined output and
/// asserts that it passed and that it ran.
pub fn rerun_under(wrapper: &[&str], name: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(helper())
        .args(wrapper)
        .arg(exe)
        .args([
            "--ignored",
            "--exact",
            name,
            "--nocapture",
            "--test-threads=1",
        ])
        .env("REML_INNER_TEST", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "inner test {name} failed:\n{text}");
    assert!(
        text.contains("1 passed"),
        "inner test {name} did not run:\n{text}"
    );
    text
}

/// Run options with a time limit and grace period in milliseconds, collecting output.
pub fn limited(timeout_ms: u64, grace_ms: u64) -> reml_process::RunOptions {
    reml_process::RunOptions {
        timeout: Some(Duration::from_millis(timeout_ms)),
        kill_after: Duration::from_millis(grace_ms),
        collect_output: true,
        ..reml_process::RunOptions::default()
    }
}

/// The whitespace-separated numbers in `text` (pids a helper printed).
pub fn pids(text: &[u8]) -> Vec<i32> {
    String::from_utf8_lossy(text)
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// Waits until none of `pids` is alive (a zombie left to its parent counts as ended).
pub fn assert_gone(pids: &[i32]) {
    for &pid in pids {
        eventually(Duration::from_secs(10), &format!("pid {pid} gone"), || {
            (!alive(pid)).then_some(())
        });
    }
}
