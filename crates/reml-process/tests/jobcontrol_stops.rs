//! Job control without a terminal (spec §7): a child that stops is reported by
//! `wait_event` (never a silent hang), `ProcessInfo::stopped` follows it, and a time limit
//! still ends a stopped child — alone or inside a tree.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::{assert_gone, helper};
use reml_process::*;

fn env() -> Environment {
    Environment::default()
}

fn new_group(args: &[&str]) -> Command {
    let mut cmd = Command::new(helper());
    cmd.args(args.iter().copied())
        .process_group(ProcessGroup::New);
    cmd
}

/// `SIGTSTP` stops the child: `wait_event` says so (and only once), `process_info` keeps it
/// until the child is seen to continue; then the end is an event too, not an error.
#[test]
fn wait_event_reports_a_stop_then_the_end() {
    let cap = NativeProcessCapability::new();
    let h = cap
        .spawn_process(&new_group(&["kill-self", "20"]), &env())
        .unwrap();
    let limit = WaitOptions::with_timeout(Duration::from_secs(10));
    assert_eq!(
        cap.wait_event(h, &limit).unwrap(),
        WaitEvent::Stopped(Signal::TSTP)
    );
    assert_eq!(cap.process_info(h).unwrap().stopped, Some(Signal::TSTP));
    // Reported once: a second wait on the still-stopped child times out.
    let short = WaitOptions::with_timeout(Duration::from_millis(200));
    assert_eq!(
        cap.wait_event(h, &short).unwrap_err().kind,
        ProcessErrorKind::TimedOut
    );
    // CONT, then TERM: the wait sees it continue (clearing `stopped`) and end.
    cap.kill_process(h, Signal::CONT).unwrap();
    cap.kill_process(h, Signal::TERM).unwrap();
    assert_eq!(
        cap.wait_event(h, &limit).unwrap(),
        WaitEvent::Ended(Termination::Signaled {
            signal: Signal::TERM,
            core_dumped: false
        })
    );
    let info = cap.process_info(h).unwrap();
    assert_eq!(info.stopped, None);
    assert!(info.termination.is_some());
    cap.release_process(h).unwrap();
}

/// `wait_with_options` is unchanged: it does not return for a stop (nor consume it).
#[test]
fn wait_with_options_does_not_return_for_a_stop() {
    let cap = NativeProcessCapability::new();
    let h = cap
        .spawn_process(&new_group(&["kill-self", "19"]), &env())
        .unwrap();
    let err = cap
        .wait_with_options(h, &WaitOptions::with_timeout(Duration::from_millis(300)))
        .unwrap_err();
    assert_eq!(err.kind, ProcessErrorKind::TimedOut);
    // The stop is still there to be reported.
    assert_eq!(
        cap.wait_event(h, &WaitOptions::with_timeout(Duration::from_secs(10)))
            .unwrap(),
        WaitEvent::Stopped(Signal::STOP)
    );
    cap.kill_process(h, Signal::KILL).unwrap();
    cap.wait_event(h, &WaitOptions::default()).unwrap();
    cap.release_process(h).unwrap();
}

/// `run_process_supervised`: the stop is reported as a `RunEvent`, and the time limit still
/// ends the stopped child (continued so it acts on `TERM`, which it does not ignore).
#[test]
fn stopped_child_is_reported_and_ended_by_the_time_limit() {
    let cap = NativeProcessCapability::new();
    let events = Mutex::new(Vec::new());
    let options = RunOptions {
        timeout: Some(Duration::from_millis(800)),
        kill_after: Duration::from_secs(5),
        ..RunOptions::default()
    };
    let outcome = run_process_supervised(
        &cap,
        &new_group(&["kill-self", "19"]),
        &env(),
        &options,
        None,
        &|e| events.lock().unwrap().push(e.clone()),
    );
    assert_eq!(outcome.cause, Cause::TimedOut, "{outcome:?}");
    // Ended by our TERM (it was continued to receive it), not by the KILL after the grace.
    assert_eq!(
        outcome.termination.and_then(|t| t.signal()),
        Some(Signal::TERM),
        "{outcome:?}"
    );
    let events = events.into_inner().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let RunEvent::Stopped {
        pid,
        signal,
        program,
    } = &events[0]
    else {
        panic!("{events:?}");
    };
    assert_eq!(*pid, outcome.pid.unwrap());
    assert_eq!(*signal, Signal::STOP);
    assert!(program.ends_with("rp-helper"), "{program}");
}

/// A stopped grandchild inside a tree: the time limit continues and ends it too.
#[test]
fn stopped_grandchild_is_ended_with_the_tree() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("sh");
    let stopper = format!("{} kill-self 19", helper().display());
    cmd.args(["-c", &format!("{stopper} & echo $!; sleep 100")])
        .stdout(StdioSpec::Pipe)
        .process_group(ProcessGroup::New);
    let options = RunOptions {
        timeout: Some(Duration::from_millis(800)),
        kill_after: Duration::from_secs(5),
        collect_output: true,
        ..RunOptions::default()
    };
    let outcome = run_process(&cap, &cmd, &env(), &options);
    assert_eq!(outcome.cause, Cause::TimedOut, "{outcome:?}");
    let grandchild: i32 = String::from_utf8_lossy(&outcome.output.stdout)
        .trim()
        .parse()
        .unwrap();
    assert_gone(&[grandchild]);
}
