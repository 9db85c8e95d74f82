//! `run` as a well-mannered supervisor (`docs/command.md`, "Signals"): signal forwarding, nested
//! supervisors, foreign children, inherited dispositions, durations.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;

const BIN: &str = env!("CARGO_BIN_EXE_reml-process");

fn helper() -> PathBuf {
    let p = PathBuf::from(BIN).parent().unwrap().join("rp-helper");
    assert!(
        p.is_file(),
        "{} missing: run `cargo test --workspace`",
        p.display()
    );
    p
}

fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(list) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(
                    list.split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
        }
    }
    out
}

fn wait_until<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s[s.rfind(')').unwrap() + 2..].starts_with('Z'),
    }
}

#[test]
fn each_listed_signal_is_forwarded_and_run_exits_with_the_childs_status() {
    for (name, num) in [
        ("HUP", 1),
        ("INT", 2),
        ("QUIT", 3),
        ("TERM", 15),
        ("ALRM", 14),
        ("USR1", 10),
        ("USR2", 12),
    ] {
        // Through `default-signals`, which execs `run` with nothing ignored: a signal the
        // caller ignored stays ignored in the child (`docs/command.md`), so a test run started
        // with `INT` ignored would otherwise see the forwarded `INT` change nothing.
        let mut run = std::process::Command::new(helper())
            .args(["default-signals", "--", BIN, "run", "--"])
            .arg(helper())
            .args(["sleep", "30"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let pid = run.id();
        let child = wait_until(Duration::from_secs(30), "the child", || {
            if let Some(st) = run.try_wait().unwrap() {
                panic!("{name}: run ended before its child appeared: {st:?}");
            }
            children_of(pid).first().copied()
        });
        std::process::Command::new("kill")
            .args([format!("-{name}"), pid.to_string()])
            .status()
            .unwrap();
        let status = run.wait().unwrap();
        // Forwarded: `run` itself exits normally with 128+N, it is not killed by the signal.
        assert_eq!(
            status.signal(),
            None,
            "{name}: run died of the signal itself"
        );
        assert_eq!(status.code(), Some(128 + num), "{name}");
        assert!(gone(child), "{name}: child {child} survived");
    }
}

#[test]
fn run_inside_run_ends_the_innermost_program_when_the_outer_limit_expires() {
    let start = Instant::now();
    let mut outer = std::process::Command::new(BIN)
        .args(["run", "--timeout", "1", "--", BIN, "run", "--"])
        .arg(helper())
        .args(["sleep", "60"])
        .spawn()
        .unwrap();
    let outer_pid = outer.id();
    let inner = wait_until(Duration::from_secs(10), "inner run", || {
        children_of(outer_pid).first().copied()
    });
    let innermost = wait_until(Duration::from_secs(10), "innermost program", || {
        children_of(inner).first().copied()
    });
    let status = outer.wait().unwrap();
    assert_eq!(status.code(), Some(124));
    assert!(start.elapsed() < Duration::from_secs(20));
    wait_until(Duration::from_secs(5), "innermost program gone", || {
        gone(innermost).then_some(())
    });
}

#[test]
fn run_inside_timeout_and_timeout_inside_run() {
    if std::process::Command::new("timeout")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIP: coreutils timeout not found");
        return;
    }
    let start = Instant::now();
    Command::new("timeout")
        .args(["1", BIN, "run", "--", "sleep", "60"])
        .assert()
        .code(124);
    Command::new(BIN)
        .args([
            "run",
            "--timeout",
            "1",
            "--",
            "timeout",
            "60",
            "sleep",
            "60",
        ])
        .assert()
        .code(124);
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_child_the_process_already_had_is_neither_waited_for_nor_reported() {
    // The shell starts a background sleep, then execs into run: the sleep is run's child.
    let start = Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} sleep 31 >/dev/null 2>&1 & echo $! >&2; exec {BIN} run --json -- {} exit 5",
            helper().display(),
            helper().display()
        ))
        .output()
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "run waited for a foreign child"
    );
    assert_eq!(out.status.code(), Some(5));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exit_code"], 5);
    assert_eq!(v["args"], serde_json::json!(["exit", "5"]));
    // The pre-existing sleep is still running (we never touched it); end it by its pid.
    let stderr = String::from_utf8(out.stderr).unwrap();
    let foreign: u32 = stderr.lines().next().unwrap().trim().parse().unwrap();
    assert!(!gone(foreign), "the foreign child was touched");
    let _ = std::process::Command::new("kill")
        .args(["-9", &foreign.to_string()])
        .status();
}

#[test]
fn sigchld_ignored_by_the_parent_does_not_lose_the_status() {
    for (cmd, code) in [("exit 3", 3), ("kill -9 $$", 137)] {
        Command::new(helper())
            .args([
                "with-signals",
                "17",
                "-",
                "--",
                BIN,
                "run",
                "--",
                "sh",
                "-c",
                cmd,
            ])
            .assert()
            .code(code);
    }
}

#[test]
fn the_child_keeps_the_callers_ignored_signals_and_starts_with_an_empty_mask() {
    // run inherits INT, QUIT, PIPE ignored and USR1, TERM blocked; the child ignores the
    // same (`docs/command.md`: nohup-style protection) but blocks nothing. (`rp-helper` is a
    // Rust program: PIPE is ignored by its runtime when it execs run, so by run's caller.)
    let out = Command::new(helper())
        .args([
            "with-signals",
            "2,3,13",
            "10,15",
            "--",
            BIN,
            "run",
            "--",
            "grep",
            "-E",
            "^Sig(Blk|Ign):",
            "/proc/self/status",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let mask = |name: &str| {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap();
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    assert_eq!(mask("SigBlk:"), 0, "{text}");
    let (int, quit, usr1, pipe, term) = (1 << 1, 1 << 2, 1 << 9, 1 << 12, 1 << 14);
    assert_eq!(
        mask("SigIgn:") & (int | quit | usr1 | pipe | term),
        int | quit | pipe,
        "{text}"
    );
}

#[test]
fn every_duration_form() {
    for (form, expect_timeout) in [
        ("250ms", true),
        ("0.3", true),
        ("1", true),
        ("0", false),
        ("1m", false),
        ("1h", false),
        ("1d", false),
        ("2s", false),
    ] {
        let start = Instant::now();
        let out = Command::new(BIN)
            .args(["run", "--timeout", form, "--json", "--", "sleep", "1.5"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["timed_out"], expect_timeout, "{form}");
        assert_eq!(
            out.status.code(),
            Some(if expect_timeout { 124 } else { 0 }),
            "{form}"
        );
        assert!(start.elapsed() < Duration::from_secs(10));
    }
    for bad in ["abc", "-1", "5x", "1.2.3", ""] {
        let out = Command::new(BIN)
            .args(["run", "--timeout", bad, "--", "true"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("250ms") && err.contains("1d"), "{bad}: {err}");
    }
}
