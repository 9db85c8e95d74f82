//! FIFOs at the edges of `run`, end to end (`docs/command.md` "Input and output at the edges"):
//! a `file:` stdio path that is a FIFO is opened under the time limit, a signal to `run`
//! ends that wait, and a policy file or audit log that is a FIFO is refused with 125 (an
//! audit log that is a directory too, with the same kind of message). The FIFOs used to
//! block in `open(2)` for good, with `TERM` blocked by `run` itself.
//!
//! Every invocation has a watchdog: `reml()` gives assert_cmd a time limit, and the one
//! started by hand is killed and fails the test when it does not end in time.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;

/// "Well under" the watchdog; not a performance bound.
const WELL_UNDER: Duration = Duration::from_secs(20);

fn temp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("run-fifo-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

fn fifo(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    rustix::fs::mkfifoat(rustix::fs::CWD, &p, rustix::fs::Mode::from_raw_mode(0o600)).unwrap();
    p
}

fn file_spec(p: &Path) -> String {
    format!("file:{}", p.display())
}

#[test]
fn stdout_fifo_without_a_reader_ends_within_the_time_limit() {
    let d = temp();
    let f = fifo(d.path(), "out");
    let h = helper_str();
    let start = Instant::now();
    let out = run(&[
        "--timeout",
        "1",
        "--stdout",
        &file_spec(&f),
        "--",
        &h,
        "echo",
        "hi",
    ])
    .output()
    .unwrap();
    assert!(start.elapsed() < WELL_UNDER, "took {:?}", start.elapsed());
    assert_eq!(code(&out), 124);
    let line = one_error_line(&out);
    assert!(
        line.contains(&f.display().to_string()) && line.contains("FIFO"),
        "{line}"
    );
}

#[test]
fn stdin_fifo_without_a_writer_ends_within_the_time_limit() {
    let d = temp();
    let f = fifo(d.path(), "in");
    let h = helper_str();
    let out = run(&["--timeout", "1", "--stdin", &file_spec(&f), "--", &h, "cat"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 124);
    let line = one_error_line(&out);
    assert!(
        line.contains("stdin file") && line.contains("FIFO"),
        "{line}"
    );
}

#[test]
fn the_json_of_a_fifo_that_timed_out() {
    let d = temp();
    let f = fifo(d.path(), "out");
    let h = helper_str();
    let out = run(&[
        "--json",
        "--timeout",
        "0.5",
        "--stderr",
        &file_spec(&f),
        "--",
        &h,
        "exit",
        "0",
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), 124);
    let j = one_json(&out);
    assert_eq!(field(&j, "cause"), "not_started");
    assert!(field(&j, "pid").is_null());
    assert_eq!(field(&j, "error")["kind"], "timed_out");
}

#[test]
fn a_policy_that_is_a_fifo_is_refused_at_once() {
    let d = temp();
    let f = fifo(d.path(), "policy.toml");
    for sub in [&["run", "--policy"][..], &["verify"][..]] {
        let mut cmd = reml();
        cmd.args(sub).arg(&f);
        if sub[0] == "run" {
            cmd.args(["--", "true"]);
        }
        let out = cmd.output().unwrap();
        assert_eq!(code(&out), 125, "{sub:?}");
        let line = one_error_line(&out);
        assert!(
            line.contains("a FIFO, not a regular file"),
            "{sub:?}: {line}"
        );
    }
}

#[test]
fn an_audit_log_that_is_a_fifo_is_refused_at_once() {
    let d = temp();
    let f = fifo(d.path(), "audit.jsonl");
    let out = reml()
        .args(["run", "--audit"])
        .arg(&f)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    let line = one_error_line(&out);
    assert!(line.contains("a FIFO, not a regular file"), "{line}");
}

/// A directory given as the audit log gets the same kind of refusal as a FIFO: "not a regular
/// file", exit 125, before anything runs (the program would create the marker). It used to
/// say "cannot open: Is a directory (os error 21)".
#[test]
fn an_audit_log_that_is_a_directory_or_a_fifo_is_refused_before_anything_runs() {
    let d = temp();
    let marker = d.path().join("ran");
    let dir = d.path().join("logs");
    std::fs::create_dir(&dir).unwrap();
    let f = fifo(d.path(), "audit.jsonl");
    let with_slash = format!("{}/", dir.display());
    for (log, kind) in [
        (dir.display().to_string(), "a directory"),
        (with_slash, "a directory"),
        (f.display().to_string(), "a FIFO"),
    ] {
        let out = reml()
            .args(["run", "--audit", &log, "--", "sh", "-c"])
            .arg(format!("touch {}", marker.display()))
            .output()
            .unwrap();
        assert_eq!(code(&out), 125, "--audit {log}");
        let line = one_error_line(&out);
        assert_eq!(
            line,
            format!(
                "reml-process: --audit {log}: audit log {log}: {kind}, not a regular file: an audit log must be a regular file"
            ),
        );
        assert!(out.stdout.is_empty(), "--audit {log}");
        assert!(!marker.exists(), "--audit {log}: nothing ran");
    }
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_none(),
        "nothing was created in the directory"
    );
    // `serve --audit` opens the log the same way.
    let out = reml()
        .args(["serve", "--audit"])
        .arg(&dir)
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    let line = one_error_line(&out);
    assert_eq!(
        line,
        format!(
            "reml-process: audit log {}: a directory, not a regular file: an audit log must be a regular file",
            dir.display()
        ),
        "the log is named once"
    );
}

/// Whether `pid` blocks `SIGTERM` (bit 15 of `SigBlk` in /proc/PID/status): `run` has set
/// up its forwarding, so a TERM is now received by it, not its default action.
fn blocks_term(pid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (rustix::process::Signal::TERM.as_raw() - 1)) != 0)
}

#[test]
fn a_signal_to_run_ends_the_wait_for_a_fifo_without_a_time_limit() {
    let d = temp();
    let f = fifo(d.path(), "out");
    let h = helper_str();
    let mut child = std::process::Command::new(reml_path())
        .args(["run", "--stdout", &file_spec(&f), "--", &h, "echo", "hi"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    eventually(WELL_UNDER, "run to block TERM", || {
        blocks_term(pid).then_some(())
    });
    std::thread::sleep(Duration::from_millis(200));
    kill(pid as i32, rustix::process::Signal::TERM);
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > WELL_UNDER {
            let _ = child.kill();
            let _ = child.wait();
            panic!("run still waits for the FIFO after TERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(128 + 15), "stderr: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err:?}");
    assert!(lines[0].starts_with("reml-process: "), "{err}");
    assert!(lines[0].contains("interrupted by SIGTERM"), "{err}");
}

#[test]
fn a_fifo_with_a_reader_still_works_for_stdout() {
    let d = temp();
    let f = fifo(d.path(), "out");
    let reader_path = f.clone();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::fs::File::open(reader_path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    });
    let h = helper_str();
    let out = run(&[
        "--timeout",
        "20",
        "--stdout",
        &file_spec(&f),
        "--",
        &h,
        "echo",
        "hi",
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(reader.join().unwrap(), "hi\n");
}

#[test]
fn a_fifo_with_a_writer_still_works_for_stdin() {
    let d = temp();
    let f = fifo(d.path(), "in");
    let writer_path = f.clone();
    let writer = std::thread::spawn(move || {
        let mut w = std::fs::OpenOptions::new()
            .write(true)
            .open(writer_path)
            .unwrap();
        w.write_all(b"hello\n").unwrap();
    });
    let h = helper_str();
    let out = run(&["--collect", "--stdin", &file_spec(&f), "--", &h, "cat"])
        .output()
        .unwrap();
    writer.join().unwrap();
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
}
