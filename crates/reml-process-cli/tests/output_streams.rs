//! Every subcommand writes its output completely or fails cleanly (`docs/command.md`, "Input and
//! output at the edges"), whatever its standard output or error is:
//!
//! - **full** (`/dev/full`, `ENOSPC`): exit 125 and one line
//!   `reml-process: cannot write the output: …`, never a panic (`describe` used to exit 101
//!   with a backtrace, `--help` exited 0 having lost its text);
//! - **a closed pipe** (`reml-process describe | true`): no panic, no error line, and the
//!   status the command has when its output is read (the child's for `run`);
//! - **non-blocking** (another process set `O_NONBLOCK` on the shared pipe) with a reader that
//!   is slow to start: every byte arrives (`run --collect` used to stop after 64 KiB with
//!   `EAGAIN` and exit 125, losing the child's status; `describe` panicked).
//!
//! Each case is first run with its output read normally; that run is the reference.

mod common;

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{helper, reml_path, HANG_LIMIT};
use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
use rustix::pipe::{pipe_with, PipeFlags};
use serde_json::Value;

/// A child's output: 1 MiB, more than a pipe holds (64 KiB), so a slow reader makes a
/// non-blocking writer meet `EAGAIN` many times.
const BIG: usize = 1 << 20;

/// The byte the tests fill a pipe with before the command starts.
const FILL: u8 = b'#';

/// How long the slow reader waits before it reads anything.
const READER_DELAY: Duration = Duration::from_secs(2);

/// Where a standard stream of the command goes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    /// A pipe read at once (the reference).
    Read,
    /// `/dev/full`: every write fails with `ENOSPC`.
    Full,
    /// A pipe whose read end is closed before the command starts: `EPIPE`.
    Closed,
    /// A pipe set `O_NONBLOCK` on the file description the command shares, filled up before
    /// the command starts, and read only after [`READER_DELAY`].
    SlowNonBlocking,
}

/// What one run gave: the exit status and what arrived on each stream (without the fill).
struct Ran {
    status: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Ran {
    fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// A stream set up as `target`: what the command gets, and the thread reading the other end.
fn stream(target: Target) -> (Stdio, Option<JoinHandle<Vec<u8>>>) {
    match target {
        Target::Full => {
            let full = File::options().write(true).open("/dev/full").unwrap();
            (Stdio::from(full), None)
        }
        Target::Closed => {
            let (r, w) = pipe_with(PipeFlags::CLOEXEC).unwrap();
            drop(r);
            (Stdio::from(w), None)
        }
        Target::Read => {
            let (r, w) = pipe_with(PipeFlags::CLOEXEC).unwrap();
            (
                Stdio::from(w),
                Some(std::thread::spawn(move || read_all(r))),
            )
        }
        Target::SlowNonBlocking => {
            let (r, w) = pipe_with(PipeFlags::CLOEXEC).unwrap();
            // On the file description itself, so the command's descriptor is non-blocking too.
            fcntl_setfl(&w, fcntl_getfl(&w).unwrap() | OFlags::NONBLOCK).unwrap();
            let filled = fill(&w);
            assert!(filled > 0, "the pipe could be filled");
            let reader = std::thread::spawn(move || {
                std::thread::sleep(READER_DELAY);
                let all = read_all(r);
                assert!(
                    all.len() >= filled && all[..filled].iter().all(|&b| b == FILL),
                    "the fill arrives first"
                );
                all[filled..].to_vec()
            });
            (Stdio::from(w), Some(reader))
        }
    }
}

/// Writes [`FILL`] into the non-blocking pipe `w` until it is full; returns how many bytes.
fn fill(w: &OwnedFd) -> usize {
    let block = [FILL; 4096];
    let mut n = 0;
    loop {
        match rustix::io::write(w, &block) {
            Ok(k) => n += k,
            Err(rustix::io::Errno::AGAIN) => return n,
            Err(e) => panic!("filling the pipe: {e}"),
        }
    }
}

fn read_all(r: OwnedFd) -> Vec<u8> {
    let mut all = Vec::new();
    File::from(r).read_to_end(&mut all).unwrap();
    all
}

/// Runs `reml-process ARGS` with its stdout and stderr set up as given.
fn launch(args: &[OsString], stdout: Target, stderr: Target) -> Ran {
    let (out, out_reader) = stream(stdout);
    let (err, err_reader) = stream(stderr);
    let mut child = {
        let mut cmd = std::process::Command::new(reml_path());
        cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
        // The command (and with it our copies of the write ends) is dropped at the end of
        // this block, so the readers see end-of-file when reml-process is done.
        cmd.spawn().unwrap()
    };
    let status = wait_limited(&mut child, args);
    Ran {
        status,
        stdout: out_reader.map(|r| r.join().unwrap()).unwrap_or_default(),
        stderr: err_reader.map(|r| r.join().unwrap()).unwrap_or_default(),
    }
}

/// The exit code of `child`, failing (and killing it) if it takes longer than [`HANG_LIMIT`]
/// or ends by a signal.
fn wait_limited(child: &mut Child, args: &[OsString]) -> i32 {
    let deadline = Instant::now() + HANG_LIMIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status
                .code()
                .unwrap_or_else(|| panic!("{args:?}: reml-process ended by a signal: {status:?}"));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?}: reml-process hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How two outputs of the same case are compared: some carry a pid, a time or a duration.
#[derive(Clone, Copy)]
enum Compare {
    /// Byte for byte.
    Exact,
    /// Byte for byte once ASCII digits are removed (a timestamp).
    ButDigits,
    /// As JSON objects without `pid` and `duration_ms`.
    RunJson,
}

fn same_output(how: Compare, reference: &[u8], got: &[u8]) -> bool {
    match how {
        Compare::Exact => reference == got,
        Compare::ButDigits => {
            let strip = |b: &[u8]| -> Vec<u8> {
                b.iter().copied().filter(|c| !c.is_ascii_digit()).collect()
            };
            strip(reference) == strip(got)
        }
        Compare::RunJson => {
            let parse = |b: &[u8]| -> Option<Value> {
                let mut v: Value = serde_json::from_slice(b).ok()?;
                let o = v.as_object_mut()?;
                o.remove("pid");
                o.remove("duration_ms");
                Some(v)
            };
            got.ends_with(b"\n") && parse(reference).is_some() && parse(reference) == parse(got)
        }
    }
}

struct Case {
    name: &'static str,
    args: Vec<OsString>,
    compare: Compare,
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// A child that writes [`BIG`] bytes on `stream` (`out` or `err`) and exits 3.
fn big_child(stream: &str) -> Vec<OsString> {
    let mut v = os(&["--", "sh", "-c"]);
    v.push(format!(r#""$0" out {BIG} {stream}; exit 3"#).into());
    v.push(helper().into());
    v
}

/// Every subcommand, each with output on stdout.
fn cases(dir: &Path) -> Vec<Case> {
    let policy = dir.join("p.toml");
    std::fs::write(
        &policy,
        format!("[commands]\nallow = [{:?}]\n", helper().display()),
    )
    .unwrap();
    let log = dir.join("audit.jsonl");
    {
        use reml_process::audit::{AuditEvent, AuditSink, JsonLinesSink};
        let sink = JsonLinesSink::open(&log).unwrap();
        for _ in 0..3 {
            sink.write(&AuditEvent::new("process", "/bin/echo", "process.spawned"))
                .unwrap();
        }
    }
    let with = |head: &[&str], tail: Vec<OsString>| -> Vec<OsString> {
        let mut v = os(head);
        v.extend(tail);
        v
    };
    vec![
        Case {
            name: "run --collect",
            args: with(&["run", "--collect"], big_child("out")),
            compare: Compare::Exact,
        },
        Case {
            name: "run --json",
            args: with(&["run", "--json"], big_child("out")),
            compare: Compare::RunJson,
        },
        Case {
            name: "verify",
            args: with(&["verify"], vec![policy.clone().into()]),
            compare: Compare::Exact,
        },
        Case {
            name: "verify --json",
            args: with(&["verify", "--json"], vec![policy.into()]),
            compare: Compare::Exact,
        },
        Case {
            name: "describe",
            args: os(&["describe"]),
            compare: Compare::ButDigits,
        },
        Case {
            name: "describe --json",
            args: os(&["describe", "--json"]),
            compare: Compare::ButDigits,
        },
        Case {
            name: "check",
            args: os(&["check", "--", "/bin/true"]),
            compare: Compare::Exact,
        },
        Case {
            name: "check --json",
            args: os(&["check", "--json", "--", "/bin/true"]),
            compare: Compare::Exact,
        },
        Case {
            name: "audit verify",
            args: with(&["audit", "verify"], vec![log.into()]),
            compare: Compare::Exact,
        },
        Case {
            name: "--help",
            args: os(&["--help"]),
            compare: Compare::Exact,
        },
        Case {
            name: "run --help",
            args: os(&["run", "--help"]),
            compare: Compare::Exact,
        },
        Case {
            name: "--version",
            args: os(&["--version"]),
            compare: Compare::Exact,
        },
        Case {
            name: "completions bash",
            args: os(&["completions", "bash"]),
            compare: Compare::Exact,
        },
        Case {
            name: "man",
            args: os(&["man"]),
            compare: Compare::Exact,
        },
    ]
}

/// Each case's reference run: its output is read at once.
fn reference(case: &Case) -> Ran {
    let r = launch(&case.args, Target::Read, Target::Read);
    assert!(!r.stdout.is_empty(), "{}: writes something", case.name);
    assert!(
        r.stderr.is_empty(),
        "{}: nothing on stderr: {}",
        case.name,
        r.stderr_text()
    );
    r
}

fn no_panic(name: &str, ran: &Ran) {
    let text = ran.stderr_text();
    assert!(
        !text.contains("panicked") && !text.contains("RUST_BACKTRACE") && ran.status != 101,
        "{name}: no panic: status {}, stderr {text:?}",
        ran.status
    );
}

#[test]
fn full_stdout_is_125_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for case in cases(dir.path()) {
        reference(&case);
        let ran = launch(&case.args, Target::Full, Target::Read);
        no_panic(case.name, &ran);
        assert_eq!(ran.status, 125, "{}: {}", case.name, ran.stderr_text());
        let text = ran.stderr_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{}: one line: {text:?}", case.name);
        assert!(
            lines[0].starts_with("reml-process: cannot write the output: standard output: "),
            "{}: {text:?}",
            case.name
        );
    }
}

#[test]
fn closed_stdout_is_quiet_and_keeps_the_status() {
    let dir = tempfile::tempdir().unwrap();
    for case in cases(dir.path()) {
        let want = reference(&case);
        let ran = launch(&case.args, Target::Closed, Target::Read);
        no_panic(case.name, &ran);
        assert_eq!(
            ran.status,
            want.status,
            "{}: the status of a read run: {}",
            case.name,
            ran.stderr_text()
        );
        assert!(
            ran.stderr.is_empty(),
            "{}: no error line: {}",
            case.name,
            ran.stderr_text()
        );
    }
}

#[test]
fn the_run_cases_keep_the_childs_status_on_a_closed_pipe() {
    // What the closed-pipe test compares with is the child's own status, not a 0 that any
    // quiet exit would give.
    let dir = tempfile::tempdir().unwrap();
    for case in cases(dir.path())
        .iter()
        .filter(|c| c.name.starts_with("run --"))
        .filter(|c| !c.name.ends_with("--help"))
    {
        assert_eq!(reference(case).status, 3, "{}", case.name);
        let ran = launch(&case.args, Target::Closed, Target::Read);
        assert_eq!(ran.status, 3, "{}: {}", case.name, ran.stderr_text());
    }
}

#[test]
fn non_blocking_stdout_with_a_slow_reader_gets_everything() {
    let dir = tempfile::tempdir().unwrap();
    for case in cases(dir.path()) {
        let want = reference(&case);
        let ran = launch(&case.args, Target::SlowNonBlocking, Target::Read);
        no_panic(case.name, &ran);
        assert_eq!(
            ran.status,
            want.status,
            "{}: {}",
            case.name,
            ran.stderr_text()
        );
        assert!(
            ran.stderr.is_empty(),
            "{}: no error line: {}",
            case.name,
            ran.stderr_text()
        );
        assert!(
            same_output(case.compare, &want.stdout, &ran.stdout),
            "{}: complete output: {} bytes, expected {}",
            case.name,
            ran.stdout.len(),
            want.stdout.len()
        );
        if case.name == "run --json" {
            let v: Value = serde_json::from_slice(&ran.stdout).unwrap();
            assert_eq!(v["stdout"].as_str().map(str::len), Some(BIG));
            assert_eq!(v["exit_code"], 3);
        }
    }
}

#[test]
fn non_blocking_stderr_with_a_slow_reader_gets_everything() {
    // The child's collected stderr, then the truncation line: both through the waiting path.
    let mut args = os(&["run", "--collect", "--max-output", "512KiB"]);
    args.extend(big_child("err"));
    let ran = launch(&args, Target::Read, Target::SlowNonBlocking);
    no_panic("run --collect (stderr)", &ran);
    assert_eq!(ran.status, 3, "{}", ran.stderr_text());
    let kept = 512 * 1024;
    let notice =
        format!("reml-process: stderr truncated at {kept} of {BIG} bytes (--max-output)\n");
    assert_eq!(ran.stderr.len(), kept + notice.len());
    assert!(ran.stderr[..kept].iter().all(|&b| b == b'x'));
    assert_eq!(String::from_utf8_lossy(&ran.stderr[kept..]), notice);
}

#[test]
fn audit_log_on_a_non_blocking_stderr_loses_no_record() {
    let args = {
        let mut v = os(&["run", "--audit", "-", "--"]);
        v.push(helper().into());
        v.extend(os(&["exit", "0"]));
        v
    };
    let ran = launch(&args, Target::Read, Target::SlowNonBlocking);
    no_panic("run --audit -", &ran);
    assert_eq!(ran.status, 0, "{}", ran.stderr_text());
    let text = ran.stderr_text();
    let events: Vec<String> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("an audit record per line ({e}): {l:?} in {text:?}"));
            v["event"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    for event in ["process.spawned", "process.exited"] {
        assert!(events.iter().any(|e| e == event), "{event} in {events:?}");
    }
}

#[test]
fn full_or_closed_stderr_is_never_a_panic() {
    let mut args = os(&["run", "--collect"]);
    args.extend(big_child("err"));
    // The collected stderr cannot be written: our failure, although nobody can read the line.
    let ran = launch(&args, Target::Read, Target::Full);
    assert_eq!(ran.status, 125);
    // The reader of stderr went away: quiet, the child's status.
    let ran = launch(&args, Target::Read, Target::Closed);
    assert_eq!(ran.status, 3);
    // Error lines on a closed stderr: the status of the failure itself.
    let ran = launch(
        &os(&["run", "--", "/nonexistent/x"]),
        Target::Read,
        Target::Closed,
    );
    assert_eq!(ran.status, 127);
    let ran = launch(
        &os(&["run", "--bogus", "--", "x"]),
        Target::Read,
        Target::Closed,
    );
    assert_eq!(ran.status, 125);
}

#[test]
fn the_fill_check_is_real() {
    // Control for the helpers: a non-blocking pipe is full once filled, so the command's
    // first write meets EAGAIN, and the reader strips exactly the fill.
    let (r, w) = pipe_with(PipeFlags::CLOEXEC).unwrap();
    fcntl_setfl(&w, fcntl_getfl(&w).unwrap() | OFlags::NONBLOCK).unwrap();
    let n = fill(&w);
    assert_eq!(
        rustix::io::write(&w, b"x"),
        Err(rustix::io::Errno::AGAIN),
        "full after {n} bytes"
    );
    let reader = std::thread::spawn(move || read_all(r));
    let mut w = File::from(w);
    fcntl_setfl(&w, OFlags::empty()).unwrap();
    w.write_all(b"tail").unwrap();
    drop(w);
    let all = reader.join().unwrap();
    assert_eq!(all.len(), n + 4);
    assert_eq!(&all[n..], b"tail");
}
