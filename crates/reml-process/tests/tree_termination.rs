//! Whole-tree termination under a real time limit (spec §7), with the library's
//! defaults: this process is **not** a child subreaper here (see `tree_subreaper.rs` for
//! orphans that come back to us). Every test collects the pids of the descendants from the
//! child's own output and checks that each one is gone after the run.

mod common;

use std::time::Duration;

use common::{assert_gone, eventually, helper, limited, pids};
use reml_process::*;

fn env() -> Environment {
    Environment::default()
}

#[test]
fn setsid_escapee_is_ended_with_the_tree() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new(helper());
    cmd.args(["setsid-child", "100"])
        .stdout(StdioSpec::Pipe)
        .process_group(ProcessGroup::New);
    let outcome = run_process(&cap, &cmd, &env(), &limited(500, 500));
    assert_eq!(outcome.cause, Cause::TimedOut, "{outcome:?}");
    let escapee = pids(&outcome.output.stdout);
    assert_eq!(escapee.len(), 1, "{outcome:?}");
    assert_gone(&escapee);
}

/// `sh -c 'a | b'`: the shell and both ends of the pipeline.
#[test]
fn shell_pipeline_is_ended() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        r#"sh -c 'echo $$ >&2; exec sleep 100' | sh -c 'echo $$ >&2; exec sleep 100'"#,
    ])
    .stderr(StdioSpec::Pipe)
    .process_group(ProcessGroup::New);
    let outcome = run_process(&cap, &cmd, &env(), &limited(800, 500));
    assert_eq!(outcome.cause, Cause::TimedOut, "{outcome:?}");
    let members = pids(&outcome.output.stderr);
    assert_eq!(members.len(), 2, "{outcome:?}");
    assert_gone(&members);
    assert_gone(&[outcome.pid.unwrap()]);
}

/// Children that ignore `TERM`, a whole tree: the shell and its background child both ignore it
/// (the ignored disposition is inherited); `KILL` comes after the grace period and ends both.
#[test]
fn tree_ignoring_term_is_killed_after_the_grace() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "trap '' TERM; sleep 30 & echo $!; sleep 30"])
        .stdout(StdioSpec::Pipe)
        .process_group(ProcessGroup::New);
    let outcome = run_process(&cap, &cmd, &env(), &limited(500, 500));
    assert_eq!(outcome.cause, Cause::TimedOut, "{outcome:?}");
    assert!(outcome.timed_out);
    assert_eq!(
        outcome.termination.and_then(|t| t.signal()),
        Some(Signal::KILL),
        "TERM was ignored, so KILL must have ended it: {outcome:?}"
    );
    // The grace period was honoured: KILL came no earlier than limit + grace.
    assert!(
        outcome.duration >= Duration::from_millis(1000),
        "{outcome:?}"
    );
    assert_gone(&pids(&outcome.output.stdout));
}

/// A grandchild keeps the output pipe open and has also left the group (`setsid`): the
/// limit holds, the partial output is kept, and the grandchild is ended.
#[test]
fn grandchild_holding_the_pipe_outside_the_group_is_ended() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "echo hi; setsid sleep 100 & echo $!; sleep 100"])
        .stdout(StdioSpec::Pipe)
        .stderr(StdioSpec::Pipe)
        .process_group(ProcessGroup::New);
    let outcome = run_process(&cap, &cmd, &env(), &limited(800, 500));
    assert_eq!(outcome.cause, Cause::TimedOut, "{outcome:?}");
    let text = String::from_utf8_lossy(&outcome.output.stdout).into_owned();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("hi"), "{outcome:?}");
    let grandchild: i32 = lines.next().expect("grandchild pid").parse().unwrap();
    assert_gone(&[grandchild]);
}

/// The child ends at once on `TERM`, a descendant needs part of the grace period to clean
/// up: it gets it (it is not killed the moment the child is gone), and what it writes
/// meanwhile is still collected.
#[test]
fn descendants_keep_the_grace_period_after_the_child_ends() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        r#"trap 'exit 0' TERM
(trap 'sleep 0.3; echo cleaned >&2; exit 0' TERM; sh -c 'echo $PPID'; sleep 100 & wait) &
wait"#,
    ])
    .stdout(StdioSpec::Pipe)
    .stderr(StdioSpec::Pipe)
    .process_group(ProcessGroup::New);
    let outcome = run_process(&cap, &cmd, &env(), &limited(800, 5000));
    assert_eq!(outcome.cause, Cause::TimedOut, "{outcome:?}");
    assert_eq!(
        outcome.termination.and_then(|t| t.code()),
        Some(0),
        "the child itself exited on TERM: {outcome:?}"
    );
    assert_eq!(
        String::from_utf8_lossy(&outcome.output.stderr),
        "cleaned\n",
        "the descendant's cleanup ran to its end within the grace: {outcome:?}"
    );
    assert_gone(&pids(&outcome.output.stdout));
}

/// `kill_process_tree` and `process_tree` on a handle: the tree is listed, signalled as a
/// whole, and the child is still reaped by the wait as usual.
#[test]
fn kill_process_tree_ends_every_member_listed_by_process_tree() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new(helper());
    cmd.args(["tree", "3", "100"])
        .stdout(StdioSpec::Pipe)
        .process_group(ProcessGroup::New);
    let h = cap.spawn_process(&cmd, &env()).unwrap();
    let listed = eventually(Duration::from_secs(10), "4 processes in the tree", || {
        let t = cap.process_tree(h).unwrap();
        (t.len() == 4).then_some(t)
    });
    assert_eq!(listed[0], h.pid(), "the child comes first: {listed:?}");
    let signalled = cap.kill_process_tree(h, Signal::KILL).unwrap();
    let mut a = signalled.clone();
    let mut b = listed.clone();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b);
    let err = cap
        .wait_process(h, Some(Duration::from_secs(10)))
        .unwrap_err();
    assert_eq!(err.kind, ProcessErrorKind::TerminatedBySignal);
    assert_eq!(err.code, Some(9));
    assert_gone(&listed);
    assert!(cap.process_tree(h).unwrap().is_empty());
    assert!(cap.kill_process_tree(h, Signal::TERM).unwrap().is_empty());
    cap.release_process(h).unwrap();
}

/// A child that stays in our group: the tree is ended member by member through pidfds, and
/// our own group is never signalled (this test process would die with it).
#[test]
fn tree_of_a_child_in_our_own_group_is_ended_without_signalling_our_group() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "sleep 100 & echo $!; sleep 100"])
        .stdout(StdioSpec::Pipe);
    assert_eq!(cmd.process_group, ProcessGroup::Inherit);
    let outcome = run_process(&cap, &cmd, &env(), &limited(500, 500));
    assert_eq!(outcome.cause, Cause::TimedOut, "{outcome:?}");
    assert_eq!(
        outcome.termination.and_then(|t| t.signal()),
        Some(Signal::TERM)
    );
    assert_gone(&pids(&outcome.output.stdout));
}
