//! Shared helpers of the command's end-to-end tests.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `rp-helper` program of the `test-helper` crate (built by `cargo test --workspace`).
pub fn helper() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let p = dir.join("rp-helper");
    assert!(
        p.is_file(),
        "{} is missing: run the suite with `cargo test --workspace`",
        p.display()
    );
    p
}

/// The `reml-process` binary under test.
pub fn reml_process() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_reml-process"))
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

/// Whether a process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    matches!(proc_state(pid), Some(c) if c != 'Z' && c != 'X')
}

/// Asserts that every pid is gone (or a zombie about to be reaped) within 10 s.
pub fn assert_gone(pids: &[i32]) {
    for &pid in pids {
        eventually(Duration::from_secs(10), &format!("pid {pid} gone"), || {
            (!alive(pid)).then_some(())
        });
    }
}

/// Every decimal number in `text`, in order.
pub fn pids(text: &str) -> Vec<i32> {
    text.split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// Whether `program` can be started (`program --version`).
pub fn have(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs `shell_command` on a pseudo-terminal through util-linux `script`; `steps`: wait
/// until the terminal output contains the first string, then type the second. Returns the
/// terminal output and whether `script` (that is, the command) exited 0. `None` (with a
/// visible SKIPPED line) when `script` is not installed.
pub fn under_pty(shell_command: &str, steps: &[(&str, &str)]) -> Option<(String, bool)> {
    if !have("script") {
        eprintln!("SKIPPED: util-linux `script` is not installed");
        return None;
    }
    let mut script = std::process::Command::new("script")
        .args(["-qec", shell_command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let output = Arc::new(Mutex::new(String::new()));
    let mut stdout = script.stdout.take().unwrap();
    let sink = output.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut stdin = script.stdin.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen_upto = 0;
    for (wait_for, send) in steps {
        loop {
            let text = output.lock().unwrap().clone();
            if let Some(i) = text[seen_upto..].find(wait_for) {
                seen_upto += i + wait_for.len();
                break;
            }
            if Instant::now() > deadline {
                let _ = script.kill();
                let _ = script.wait();
                panic!("never saw {wait_for:?} on the terminal:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        stdin.write_all(send.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    // The terminal's input stays open until the command is done.
    let status = loop {
        if let Some(st) = script.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = script.kill();
            let _ = script.wait();
            panic!("did not finish:\n{}", output.lock().unwrap());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    drop(stdin);
    reader.join().unwrap();
    let text = output.lock().unwrap().replace('\r', "");
    Some((text, status.success()))
}
