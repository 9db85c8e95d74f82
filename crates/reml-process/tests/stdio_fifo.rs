//! Files at the edges that are not regular files (`docs/command.md` "Input and output at the
//! edges"): a FIFO named as a stdio file is waited for only within a limit and a signal ends
//! the wait; a policy file or an audit log that is a FIFO or a device is refused at once.
//! `open(2)` of a FIFO used to block until its other end came, with no way out.
//!
//! Every call that could hang runs under a watchdog ([`within`]), so a regression fails
//! instead of blocking the suite.
#![cfg(target_os = "linux")]

mod common;

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::helper;
use reml_process::audit::JsonLinesSink;
use reml_process::*;

/// A generous bound for "returns promptly"; only a hang reaches it.
const WATCHDOG: Duration = Duration::from_secs(20);

/// Runs `f` on its own thread and returns its result, failing the test when it has not
/// returned within [`WATCHDOG`] (the thread is then left behind, blocked).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(WATCHDOG)
        .unwrap_or_else(|_| panic!("{what}: still blocked after {WATCHDOG:?}"))
}

fn temp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("stdio-fifo-")
        .tempdir()
        .unwrap()
}

fn fifo(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    rustix::fs::mkfifoat(rustix::fs::CWD, &p, rustix::fs::Mode::from_raw_mode(0o600)).unwrap();
    p
}

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(helper());
    cmd.args(args);
    cmd
}

#[test]
fn stdout_fifo_without_a_reader_times_out_and_starts_nothing() {
    let d = temp();
    let f = fifo(d.path(), "out");
    let start = Instant::now();
    let (e, outstanding) = within("spawn with a stdout FIFO", move || {
        let cap = NativeProcessCapability::new();
        let mut cmd = command(&["echo", "hi"]);
        cmd.stdout(StdioSpec::File(f))
            .stdio_open_timeout(Some(Duration::from_millis(300)));
        let e = cap
            .spawn_process(&cmd, &Environment::default())
            .unwrap_err();
        (e, cap.outstanding())
    });
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(e.kind, ProcessErrorKind::TimedOut, "{}", e.message);
    assert!(
        e.message.contains("stdout file") && e.message.contains("no reader"),
        "{}",
        e.message
    );
    assert_eq!(outstanding, 0, "nothing was started");
}

#[test]
fn stdin_fifo_without_a_writer_times_out_and_starts_nothing() {
    let d = temp();
    let f = fifo(d.path(), "in");
    let e = within("spawn with a stdin FIFO", move || {
        let cap = NativeProcessCapability::new();
        let mut cmd = command(&["cat"]);
        cmd.stdin(StdioSpec::File(f))
            .stdio_open_timeout(Some(Duration::from_millis(300)));
        cap.spawn_process(&cmd, &Environment::default())
            .unwrap_err()
    });
    assert_eq!(e.kind, ProcessErrorKind::TimedOut, "{}", e.message);
    assert!(
        e.message.contains("stdin file") && e.message.contains("no writer"),
        "{}",
        e.message
    );
}

#[test]
fn an_interrupt_ends_a_wait_without_a_limit() {
    let d = temp();
    let f = fifo(d.path(), "out");
    let interrupt = Interrupt::new();
    let trigger = interrupt.clone();
    let (tx, rx) = mpsc::channel();
    let waiting = std::thread::spawn(move || {
        let cap = NativeProcessCapability::new();
        let mut cmd = command(&["echo", "hi"]);
        cmd.stdout(StdioSpec::File(f)).interrupt(interrupt);
        let _ = tx.send(cap.spawn_process(&cmd, &Environment::default()));
    });
    // Still waiting (no limit was given) until the interrupt comes.
    assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    trigger.trigger(Signal::TERM);
    let e = rx
        .recv_timeout(WATCHDOG)
        .expect("the interrupt ended the wait")
        .unwrap_err();
    waiting.join().unwrap();
    assert_eq!(
        e.kind,
        ProcessErrorKind::TerminatedBySignal,
        "{}",
        e.message
    );
    assert_eq!(e.code, Some(libc::SIGTERM));
    assert!(
        e.message.contains("interrupted by SIGTERM"),
        "{}",
        e.message
    );
}

/// `flags:` of `/proc/self/fdinfo/N` as the child sees its descriptor N, in octal.
fn fdinfo_flags(text: &str) -> u32 {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .unwrap_or_else(|| panic!("no flags in {text:?}"));
    u32::from_str_radix(line.trim(), 8).unwrap()
}

#[test]
fn stdout_fifo_with_a_reader_works_and_the_child_gets_a_blocking_descriptor() {
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
    let status = within("spawn with a read FIFO", move || {
        let cap = NativeProcessCapability::new();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo through the fifo; cat /proc/self/fdinfo/1"])
            .stdout(StdioSpec::File(f))
            .stdio_open_timeout(Some(WATCHDOG));
        let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
        let s = cap.wait_process(h, Some(WATCHDOG)).unwrap();
        cap.release_process(h).unwrap();
        s
    });
    assert_eq!(status.code(), 0);
    let text = within("the reader", move || reader.join().unwrap());
    assert!(text.starts_with("through the fifo\n"), "{text}");
    assert_eq!(
        fdinfo_flags(&text) & libc::O_NONBLOCK as u32,
        0,
        "O_NONBLOCK was cleared for the child: {text}"
    );
}

#[test]
fn stdin_fifo_with_a_writer_works() {
    let d = temp();
    let f = fifo(d.path(), "in");
    let writer_path = f.clone();
    let writer = std::thread::spawn(move || {
        let mut w = std::fs::OpenOptions::new()
            .write(true)
            .open(writer_path)
            .unwrap();
        w.write_all(b"hello through the fifo\n").unwrap();
    });
    let (status, out) = within("spawn with a written FIFO", move || {
        let cap = NativeProcessCapability::new();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "cat; cat /proc/self/fdinfo/0"])
            .stdin(StdioSpec::File(f))
            .stdout(StdioSpec::Pipe)
            .stdio_open_timeout(Some(WATCHDOG));
        let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
        let s = cap
            .wait_with_options(h, &WaitOptions::with_timeout(WATCHDOG).collecting())
            .unwrap();
        let out = cap.take_output(h).unwrap().stdout;
        cap.release_process(h).unwrap();
        (s, String::from_utf8(out).unwrap())
    });
    writer.join().unwrap();
    assert_eq!(status.code(), 0);
    assert!(out.starts_with("hello through the fifo\n"), "{out}");
    let info = &out["hello through the fifo\n".len()..];
    assert_eq!(fdinfo_flags(info) & libc::O_NONBLOCK as u32, 0, "{info}");
}

#[test]
fn regular_files_and_devices_keep_their_behaviour() {
    let d = temp();
    let path = d.path().join("out.txt");
    let cap = NativeProcessCapability::new();
    let mut cmd = command(&["echo", "to a file"]);
    cmd.stdout(StdioSpec::File(path.clone()))
        .stdin(StdioSpec::File("/dev/null".into()))
        .stderr(StdioSpec::File("/dev/null".into()))
        .stdio_open_timeout(Some(Duration::ZERO));
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    assert_eq!(cap.wait_process(h, Some(WATCHDOG)).unwrap().code(), 0);
    cap.release_process(h).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "to a file\n");
    // A missing stdin file is still bad input, with the errno.
    let mut cmd = command(&["cat"]);
    cmd.stdin(StdioSpec::File(d.path().join("missing")));
    let e = cap
        .spawn_process(&cmd, &Environment::default())
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::InvalidCommand);
    assert_eq!(e.code, Some(libc::ENOENT));
}

#[test]
fn the_policy_caps_the_wait_with_max_wall_time() {
    let d = temp();
    let f = fifo(d.path(), "out");
    let text = format!(
        "[commands]\nallow = [\"{}\"]\n[limits]\nmax_wall_time = \"300ms\"\n",
        helper().display()
    );
    let policy = std::sync::Arc::new(Policy::from_toml_str(&text).unwrap());
    let e = within("spawn under max_wall_time", move || {
        let layer = PolicyLayer::new(NativeProcessCapability::new(), policy);
        let mut cmd = command(&["echo", "hi"]);
        cmd.stdout(StdioSpec::File(f));
        layer
            .spawn_process(&cmd, &Environment::default())
            .unwrap_err()
    });
    assert_eq!(e.kind, ProcessErrorKind::TimedOut, "{}", e.message);
}

#[test]
fn run_process_waits_for_a_fifo_within_its_time_limit() {
    let d = temp();
    let f = fifo(d.path(), "out");
    let outcome = within("run_process with a stdout FIFO", move || {
        let cap = NativeProcessCapability::new();
        let mut cmd = command(&["echo", "hi"]);
        cmd.stdout(StdioSpec::File(f));
        let options = RunOptions {
            timeout: Some(Duration::from_millis(300)),
            ..RunOptions::default()
        };
        run_process(&cap, &cmd, &Environment::default(), &options)
    });
    assert_eq!(outcome.cause, Cause::NotStarted);
    assert_eq!(
        outcome.error.as_ref().map(|e| e.kind),
        Some(ProcessErrorKind::TimedOut)
    );
    assert_eq!(outcome.termination, None);
}

#[test]
fn a_policy_file_must_be_a_regular_file() {
    let d = temp();
    let f = fifo(d.path(), "policy.toml");
    let dir = d.path().to_path_buf();
    for (path, what) in [
        (f, "a FIFO"),
        ("/dev/null".into(), "a character device"),
        (dir, "a directory"),
    ] {
        let shown = path.display().to_string();
        let e = within("Policy::from_path", move || {
            Policy::from_path(&path).unwrap_err()
        });
        assert_eq!(e.kind, PolicyErrorKind::Io, "{shown}: {e}");
        let text = e.to_string();
        assert!(
            text.contains(what) && text.contains("not a regular file"),
            "{shown}: {text}"
        );
    }
}

#[test]
fn an_audit_log_must_be_a_regular_file() {
    let d = temp();
    let f = fifo(d.path(), "audit.jsonl");
    for path in [f, PathBuf::from("/dev/null")] {
        let shown = path.display().to_string();
        let e = within("JsonLinesSink::open", move || {
            JsonLinesSink::open(&path).err().expect("refused")
        });
        assert!(
            e.message.contains("not a regular file"),
            "{shown}: {}",
            e.message
        );
    }
    // A FIFO with a reader present is refused too (the open would succeed).
    let f = fifo(d.path(), "read.jsonl");
    let held = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&f)
        .unwrap();
    let e = within("JsonLinesSink::open with a reader", move || {
        JsonLinesSink::open(&f).err().expect("refused")
    });
    assert!(e.message.contains("a FIFO"), "{}", e.message);
    drop(held);
}
