//! Time limits at the edges of `Duration` (`docs/command.md` "Input and output at the edges"):
//! a limit too large for an `Instant` is no practical limit — never an overflow panic in
//! `Instant + Duration` — and a tiny positive limit is a limit, never "none".
#![cfg(target_os = "linux")]

mod common;

use std::time::{Duration, Instant};

use common::helper;
use reml_process::thread::{NativeThreadCapability, ThreadCapability, ThreadOptions, ThreadStart};
use reml_process::*;

/// Generous bound for "this ends promptly" (never a performance assertion).
const PROMPTLY: Duration = Duration::from_secs(20);

fn spawn(cap: &NativeProcessCapability, args: &[&str]) -> ProcessHandle {
    cap.spawn_process(Command::new(helper()).args(args), &Environment::default())
        .unwrap()
}

fn piped(cap: &NativeProcessCapability, args: &[&str]) -> ProcessHandle {
    let mut cmd = Command::new(helper());
    cmd.args(args)
        .stdout(StdioSpec::Pipe)
        .stderr(StdioSpec::Pipe);
    cap.spawn_process(&cmd, &Environment::default()).unwrap()
}

#[test]
fn a_wait_with_duration_max_waits_for_the_end() {
    let cap = NativeProcessCapability::new();
    let h = spawn(&cap, &["exit", "3"]);
    // Used to panic: "overflow when adding duration to instant".
    let status = cap.wait_process(h, Some(Duration::MAX)).unwrap();
    assert_eq!(status.code(), 3);
    cap.release_process(h).unwrap();
}

#[test]
fn a_collecting_wait_with_duration_max_everywhere() {
    let cap = NativeProcessCapability::new();
    let h = piped(&cap, &["echo", "edge"]);
    let options = WaitOptions {
        timeout: Some(Duration::MAX),
        output_linger: Duration::MAX,
        check_interval: Duration::MAX,
        ..WaitOptions::default()
    }
    .collecting();
    assert_eq!(cap.wait_with_options(h, &options).unwrap().code(), 0);
    assert_eq!(cap.take_output(h).unwrap().stdout, b"edge\n");
    cap.release_process(h).unwrap();
}

#[test]
fn a_huge_linger_is_still_bounded_by_the_time_limit() {
    let cap = NativeProcessCapability::new();
    // The shell exits at once; its background child holds stdout for 30 s.
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        &format!("'{}' sleep 30 & echo hi", helper().display()),
    ])
    .stdout(StdioSpec::Pipe)
    .process_group(ProcessGroup::New);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    let options = WaitOptions {
        timeout: Some(Duration::from_millis(500)),
        output_linger: Duration::MAX,
        ..WaitOptions::default()
    }
    .collecting();
    let start = Instant::now();
    let status = cap.wait_with_options(h, &options).unwrap();
    assert!(start.elapsed() < PROMPTLY, "took {:?}", start.elapsed());
    assert_eq!(status.code(), 0);
    assert_eq!(cap.take_output(h).unwrap().stdout, b"hi\n");
    let _ = cap.kill_process_group(h, Signal::KILL);
    cap.release_process(h).unwrap();
}

#[test]
fn wait_event_with_a_huge_check_interval() {
    let cap = NativeProcessCapability::new();
    let h = spawn(&cap, &["exit", "5"]);
    let options = WaitOptions {
        timeout: Some(Duration::MAX),
        check_interval: Duration::MAX,
        ..WaitOptions::default()
    };
    match cap.wait_event(h, &options).unwrap() {
        WaitEvent::Ended(Termination::Exited(s)) => assert_eq!(s.code(), 5),
        other => panic!("expected the exit, got {other:?}"),
    }
    cap.release_process(h).unwrap();
}

#[test]
fn a_tiny_nonzero_timeout_times_out_rather_than_waiting_forever() {
    let cap = NativeProcessCapability::new();
    let h = spawn(&cap, &["sleep", "30"]);
    let start = Instant::now();
    let e = cap
        .wait_process(h, Some(Duration::from_nanos(1)))
        .unwrap_err();
    assert!(start.elapsed() < PROMPTLY);
    assert_eq!(e.kind, ProcessErrorKind::TimedOut);
    cap.kill_process(h, Signal::KILL).unwrap();
    let _ = cap.wait_process(h, None);
    cap.release_process(h).unwrap();
}

#[test]
fn a_wait_set_entry_with_duration_max() {
    let cap = NativeProcessCapability::new();
    let mut set = WaitSet::new(&cap).unwrap();
    // Still running when added (an ended child is answered before any deadline exists).
    let slow = spawn(&cap, &["sleep", "0.5"]);
    let tiny = spawn(&cap, &["sleep", "30"]);
    // Used to panic in `add`.
    set.add(slow, Some(Duration::MAX)).unwrap();
    set.add(tiny, Some(Duration::from_nanos(1))).unwrap();
    let mut results = std::collections::HashMap::new();
    for (h, r) in &mut set {
        results.insert(h, r);
    }
    assert_eq!(results[&slow].as_ref().unwrap().code(), 0);
    assert_eq!(
        results[&tiny].as_ref().unwrap_err().kind,
        ProcessErrorKind::TimedOut
    );
    cap.kill_process(tiny, Signal::KILL).unwrap();
    let _ = cap.wait_process(tiny, None);
    cap.release_process(slow).unwrap();
    cap.release_process(tiny).unwrap();
}

#[test]
fn a_join_with_duration_max_waits_for_the_thread() {
    let cap = NativeThreadCapability::new();
    let h = cap
        .create_thread(
            ThreadStart::new(|_| {
                std::thread::sleep(Duration::from_millis(50));
                Ok(())
            }),
            ThreadOptions::default(),
        )
        .unwrap();
    assert!(cap.join_thread(h, Some(Duration::MAX)).is_ok());
}

#[test]
fn a_join_with_a_tiny_limit_times_out() {
    let cap = NativeThreadCapability::new();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let h = cap
        .create_thread(
            ThreadStart::new(move |_| {
                let _ = rx.recv();
                Ok(())
            }),
            ThreadOptions::default(),
        )
        .unwrap();
    let e = cap
        .join_thread(h, Some(Duration::from_nanos(1)))
        .unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::JoinFailed);
    assert!(e.message.contains("timed out"), "{}", e.message);
    drop(tx);
    assert!(cap.join_thread(h, Some(Duration::MAX)).is_ok());
}

#[test]
fn run_process_with_a_grace_too_long_to_represent() {
    // The child ignores TERM and ends by itself: the grace never ends, so the run waits for
    // it (used to panic computing the end of the grace, then hang).
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new(helper());
    cmd.args(["ignore-term", "1"])
        .stdout(StdioSpec::Pipe)
        .process_group(ProcessGroup::New);
    let options = RunOptions {
        timeout: Some(Duration::from_millis(200)),
        kill_after: Duration::MAX,
        collect_output: true,
        ..RunOptions::default()
    };
    let start = Instant::now();
    let outcome = run_process(&cap, &cmd, &Environment::default(), &options);
    assert!(start.elapsed() < PROMPTLY);
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert!(outcome.timed_out);
    assert_eq!(outcome.cause, Cause::TimedOut);
    assert_eq!(outcome.termination.and_then(|t| t.code()), Some(0));
    assert!(
        outcome.duration >= Duration::from_millis(900),
        "{:?}",
        outcome.duration
    );
}

#[test]
fn run_process_with_a_time_limit_too_long_to_represent() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new(helper());
    cmd.args(["exit", "2"]);
    let options = RunOptions {
        timeout: Some(Duration::MAX),
        kill_after: Duration::MAX,
        ..RunOptions::default()
    };
    let outcome = run_process(&cap, &cmd, &Environment::default(), &options);
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(outcome.termination.and_then(|t| t.code()), Some(2));
    assert!(!outcome.timed_out);
}

#[test]
fn a_policy_with_huge_limits_reviews_and_runs() {
    let text = format!(
        "[capability]\neffect_scope = [\"process\", \"memory\", \"signal\", \"io.blocking\"]\n\
         [commands]\nallow = [\"{}\"]\n\
         [limits]\nmax_wall_time = \"9223372036854775807\"\ncpu_time = \"99999999999999999999999d\"\n\
         max_output_bytes = \"99999999999999999999TiB\"\naddress_space = \"99999999999999999999\"\n",
        helper().display()
    );
    let policy = Policy::from_toml_str(&text).unwrap();
    assert_eq!(
        policy.limits.max_wall_time,
        Some(Duration::from_secs(i64::MAX as u64))
    );
    assert_eq!(policy.limits.cpu_time, Some(Duration::MAX));
    assert_eq!(policy.limits.max_output_bytes, Some(u64::MAX));
    let review = verify_capability_security(&policy);
    assert!(!review.has_errors(), "{:?}", review.findings());
    let layer = PolicyLayer::new(NativeProcessCapability::new(), std::sync::Arc::new(policy));
    let mut cmd = Command::new(helper());
    cmd.args(["echo", "under a huge policy"])
        .stdout(StdioSpec::Pipe);
    let h = layer.spawn_process(&cmd, &Environment::default()).unwrap();
    let status = layer
        .wait_with_options(h, &WaitOptions::default().collecting())
        .unwrap();
    assert_eq!(status.code(), 0);
    assert_eq!(
        layer.take_output(h).unwrap().stdout,
        b"under a huge policy\n"
    );
    layer.release_process(h).unwrap();
}
