//! Failure shapes reported against earlier process libraries, one test each: a grandchild
//! that keeps the output pipe open; both output pipes collected while one fills far past the
//! pipe buffer; a stdin pipe the caller never closes; a released child that would stay a
//! zombie; a child that ignores `TERM`; a death by signal mistaken for an exit code of
//! 128 + N; things that are not programs (a directory on `PATH`, a directory, a file of mode
//! 0644); and NUL bytes that would silently truncate a string.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{alive, eventually, helper, proc_state};
use reml_process::*;

fn env() -> Environment {
    Environment::default()
}

/// A grandchild keeps the output pipe open; the time limit still holds, partial output is
/// kept, and ending the group ends the grandchild.
#[test]
fn grandchild_holding_pipe_times_out_with_partial_output() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "echo hi; echo $! >/dev/null; sleep 100 & echo $!; sleep 100",
    ])
    .stdout(StdioSpec::Pipe)
    .stderr(StdioSpec::Pipe)
    .process_group(ProcessGroup::New);
    let opts = RunOptions {
        timeout: Some(Duration::from_secs(1)),
        kill_after: Duration::from_secs(1),
        collect_output: true,
        ..RunOptions::default()
    };
    let start = Instant::now();
    let outcome = run_process(&cap, &cmd, &env(), &opts);
    let took = start.elapsed();
    assert!(outcome.timed_out, "{outcome:?}");
    assert_eq!(outcome.cause, Cause::TimedOut);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let text = String::from_utf8_lossy(&outcome.output.stdout).into_owned();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("hi"));
    let grandchild: i32 = lines.next().expect("grandchild pid").parse().unwrap();
    eventually(Duration::from_secs(5), "grandchild gone", || {
        (!alive(grandchild)).then_some(())
    });
}

/// A grandchild keeps the output pipe open, and the shell exits at once: exit 0 after
/// a short bounded linger, never 100 s.
#[test]
fn shell_exits_while_background_child_holds_pipe() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "sleep 100 & echo $!; echo hi"])
        .stdout(StdioSpec::Pipe)
        .process_group(ProcessGroup::New);
    let h = cap.spawn_process(&cmd, &env()).unwrap();
    let start = Instant::now();
    let st = cap
        .wait_with_options(
            h,
            &WaitOptions::with_timeout(Duration::from_secs(30)).collecting(),
        )
        .unwrap();
    assert!(st.success());
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let out = String::from_utf8(cap.take_output(h).unwrap().stdout).unwrap();
    let mut lines = out.lines();
    let bg: i32 = lines.next().unwrap().parse().unwrap();
    assert_eq!(lines.next(), Some("hi"));
    cap.kill_process_group(h, Signal::KILL).unwrap();
    eventually(Duration::from_secs(5), "background sleep gone", || {
        (!alive(bg)).then_some(())
    });
    cap.release_process(h).unwrap();
}

/// Both streams piped, one fills far past the pipe buffer; no deadlock.
#[test]
fn both_streams_drained_together() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "head -c 1000000 /dev/zero >&2; echo done"])
        .stdout(StdioSpec::Pipe)
        .stderr(StdioSpec::Pipe);
    let h = cap.spawn_process(&cmd, &env()).unwrap();
    let st = cap
        .wait_with_options(
            h,
            &WaitOptions::with_timeout(Duration::from_secs(30)).collecting(),
        )
        .unwrap();
    assert!(st.success());
    let out = cap.take_output(h).unwrap();
    assert_eq!(out.stdout, b"done\n");
    assert_eq!(out.stderr.len(), 1_000_000);
    assert_eq!(out.stderr_bytes, 1_000_000);
    assert!(out.stderr.iter().all(|&b| b == 0));
    assert!(!out.stderr_truncated && !out.stdout_truncated);
    cap.release_process(h).unwrap();
}

/// A stdin pipe never closed: the caller writes to it and never closes it; the wait closes our
/// end first.
#[test]
fn wait_closes_stdin_pipe() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("cat");
    cmd.stdin(StdioSpec::Pipe).stdout(StdioSpec::Pipe);
    let h = cap.spawn_process(&cmd, &env()).unwrap();
    // A caller who takes stdin writes and closes it themselves.
    let mut stdin = cap
        .take_pipe(h, StdStream::Stdin)
        .unwrap()
        .expect("stdin pipe");
    stdin.write_all(b"hello").unwrap();
    drop(stdin);
    let st = cap
        .wait_with_options(
            h,
            &WaitOptions::with_timeout(Duration::from_secs(10)).collecting(),
        )
        .unwrap();
    assert!(st.success());
    assert_eq!(cap.take_output(h).unwrap().stdout, b"hello");

    // Untaken stdin pipe: the capability holds it; `wait` closes it so cat sees end-of-file.
    let h = cap.spawn_process(&cmd, &env()).unwrap();
    let st = cap
        .wait_with_options(
            h,
            &WaitOptions::with_timeout(Duration::from_secs(10)).collecting(),
        )
        .expect("cat must see end-of-file, not hang");
    assert!(st.success());
    assert_eq!(cap.take_output(h).unwrap().stdout, b"");
}

/// No zombie after release: a released child killed from outside is reaped by the library.
#[test]
fn released_child_is_reaped() {
    let cap = NativeProcessCapability::new();
    let h = cap
        .spawn_process(Command::new("sleep").arg("100"), &env())
        .unwrap();
    let pid = h.pid();
    cap.release_process(h).unwrap();
    assert!(alive(pid));
    // Killed from outside (not through the capability).
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    eventually(
        Duration::from_secs(5),
        "released child reaped (no Z state)",
        || (proc_state(pid).is_none()).then_some(()),
    );
}

/// A child ignoring TERM gets KILL after the grace period; final status says signal 9.
#[test]
fn child_ignoring_term_is_killed_after_grace() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "trap '' TERM; sleep 30"])
        .process_group(ProcessGroup::New);
    let opts = RunOptions {
        timeout: Some(Duration::from_secs(1)),
        kill_after: Duration::from_secs(1),
        ..RunOptions::default()
    };
    let start = Instant::now();
    let outcome = run_process(&cap, &cmd, &env(), &opts);
    let took = start.elapsed();
    assert!(outcome.timed_out);
    assert_eq!(
        outcome.termination.and_then(Termination::signal),
        Some(Signal::KILL)
    );
    assert!(
        took >= Duration::from_secs(2),
        "grace not honoured: {took:?}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(outcome.timed_out, "ended by our time limit");
}

/// A death by signal is never confused with an exit code of 128+N.
#[test]
fn signal_death_versus_exit_137() {
    let cap = NativeProcessCapability::new();
    let h = cap
        .spawn_process(Command::new("sh").args(["-c", "kill -9 $$"]), &env())
        .unwrap();
    let e = cap.wait_process(h, None).unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::TerminatedBySignal);
    assert_eq!(e.code, Some(9));
    // Waiting again gives the same answer.
    assert_eq!(cap.wait_process(h, None).unwrap_err(), e);

    let h2 = cap
        .spawn_process(Command::new("sh").args(["-c", "exit 137"]), &env())
        .unwrap();
    let st = cap.wait_process(h2, None).unwrap();
    assert_eq!(st.code(), 137);
    assert!(!st.success());
    assert_eq!(cap.wait_process(h2, None).unwrap(), st);
}

/// Non-programs: a directory on PATH under the program's name is skipped; a directory as the
/// program says so; a 0644 file is PermissionDenied.
#[test]
fn non_programs() {
    let tmp = tempfile::tempdir().unwrap();
    let shadow = tmp.path().join("shadow");
    std::fs::create_dir_all(shadow.join("rp-helper")).unwrap();
    let real_dir = helper().parent().unwrap().to_path_buf();
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("rp-helper");
    cmd.args(["exit", "7"]).env(
        "PATH",
        format!("{}:{}", shadow.display(), real_dir.display()),
    );
    let h = cap.spawn_process(&cmd, &env()).unwrap();
    assert_eq!(cap.process_info(h).unwrap().program, helper());
    assert_eq!(cap.wait_process(h, None).unwrap().code(), 7);

    let e = cap
        .spawn_process(&Command::new(shadow.join("rp-helper")), &env())
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::PermissionDenied);
    assert!(e.message.contains("is a directory"), "{}", e.message);

    let file = tmp.path().join("plain");
    std::fs::write(&file, "#!/bin/sh\necho no\n").unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let e = cap.spawn_process(&Command::new(&file), &env()).unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::PermissionDenied);
    assert!(e.message.contains("not executable"), "{}", e.message);
}

/// NUL bytes anywhere are InvalidCommand before any child exists, never a truncated
/// string.
#[test]
fn nul_bytes_refused_before_spawn() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("marker");
    let cap = NativeProcessCapability::new();
    let base = || {
        let mut c = Command::new("touch");
        c.arg(&marker);
        c
    };
    let mut cases: Vec<(&str, Command)> = Vec::new();
    let mut c = base();
    c.arg("a\0b");
    cases.push(("argument", c));
    let mut c = base();
    c.program = "tou\0ch".into();
    cases.push(("program", c));
    let mut c = base();
    c.cwd("/tmp\0/x");
    cases.push(("cwd", c));
    let mut c = base();
    c.env("K\0EY", "v");
    cases.push(("env key", c));
    let mut c = base();
    c.env("KEY", "v\0x");
    cases.push(("env value", c));
    for (what, cmd) in cases {
        let e = cap.spawn_process(&cmd, &env()).unwrap_err();
        assert_eq!(e.kind, ProcessErrorKind::InvalidCommand, "{what}: {e:?}");
        assert!(e.message.contains("NUL"), "{what}: {}", e.message);
    }
    let mut base_env = Environment::default();
    base_env.set("BASE", "x\0y");
    let e = cap.spawn_process(&base(), &base_env).unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::InvalidCommand);
    assert!(!marker.exists(), "a child ran despite the NUL byte");
    assert_eq!(cap.outstanding(), 0);
}
