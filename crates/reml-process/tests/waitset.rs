//! `WaitSet`: many children waited for at once, each with its own limit, with the results
//! `wait_process` would give. Correctness only: no timed assertion.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{alive, helper};
use reml_process::*;

fn spawn(cap: &NativeProcessCapability, args: &[&str]) -> ProcessHandle {
    cap.spawn_process(Command::new(helper()).args(args), &Environment::default())
        .unwrap()
}

const LONG: Option<Duration> = Some(Duration::from_secs(60));

#[test]
fn results_match_wait_process() {
    let cap = NativeProcessCapability::new();
    let mut set = WaitSet::new(&cap).unwrap();
    let mut expect = HashMap::new();
    for code in [0, 3, 7, 255] {
        let h = spawn(&cap, &["exit", &code.to_string()]);
        set.add(h, LONG).unwrap();
        expect.insert(h, Some(code));
    }
    let killed = spawn(&cap, &["kill-self", "9"]);
    set.add(killed, None).unwrap();
    expect.insert(killed, None);
    assert_eq!(set.len(), 5);
    let results = set.wait_all();
    assert!(set.is_empty());
    assert!(set.wait_next().is_none());
    assert_eq!(results.len(), 5);
    for (h, r) in results {
        match expect.remove(&h).expect("each handle once") {
            Some(code) => assert_eq!(r.unwrap().code(), code),
            None => {
                let e = r.unwrap_err();
                assert_eq!(e.kind, ProcessErrorKind::TerminatedBySignal);
                assert_eq!(e.code, Some(9));
            }
        }
        // The end is cached in the capability: a later wait gives the same answer.
        let again = cap.wait_process(h, Some(Duration::ZERO));
        assert_ne!(
            again.as_ref().err().map(|e| e.kind),
            Some(ProcessErrorKind::TimedOut)
        );
        assert!(cap.process_info(h).unwrap().termination.is_some());
        cap.release_process(h).unwrap();
    }
    assert_eq!(cap.outstanding(), 0);
}

#[test]
fn time_limit_leaves_the_child_running_and_the_handle_valid() {
    let cap = NativeProcessCapability::new();
    let mut set = WaitSet::new(&cap).unwrap();
    let slow = spawn(&cap, &["sleep", "60"]);
    let quick = spawn(&cap, &["exit", "4"]);
    set.add(slow, Some(Duration::from_millis(100))).unwrap();
    set.add(quick, LONG).unwrap();
    let mut got = HashMap::new();
    for (h, r) in set.by_ref() {
        got.insert(h, r);
    }
    assert_eq!(got.remove(&quick).unwrap().unwrap().code(), 4);
    let e = got.remove(&slow).unwrap().unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::TimedOut);
    assert!(e.message.contains("still running"), "{}", e.message);
    assert!(alive(slow.pid()), "a time limit must not kill the child");
    assert!(cap.process_info(slow).unwrap().termination.is_none());
    // Kill it, then wait again through a set: the handle is still good.
    cap.kill_process(slow, Signal::KILL).unwrap();
    set.add(slow, None).unwrap();
    let (h, r) = set.wait_next().unwrap();
    assert_eq!(h, slow);
    assert_eq!(r.unwrap_err().code, Some(9));
    cap.release_process(slow).unwrap();
    cap.release_process(quick).unwrap();
}

#[test]
fn zero_limit_on_a_running_child_times_out_and_an_ended_one_does_not() {
    let cap = NativeProcessCapability::new();
    let ended = spawn(&cap, &["exit", "2"]);
    cap.wait_process(ended, None).unwrap();
    let running = spawn(&cap, &["sleep", "60"]);
    let mut set = WaitSet::new(&cap).unwrap();
    set.add(ended, Some(Duration::ZERO)).unwrap();
    set.add(running, Some(Duration::ZERO)).unwrap();
    let results: HashMap<_, _> = set.wait_all().into_iter().collect();
    assert_eq!(results[&ended].as_ref().unwrap().code(), 2);
    assert_eq!(
        results[&running].as_ref().unwrap_err().kind,
        ProcessErrorKind::TimedOut
    );
    cap.kill_process(running, Signal::KILL).unwrap();
    assert_eq!(cap.wait_process(running, None).unwrap_err().code, Some(9));
    for h in [ended, running] {
        cap.release_process(h).unwrap();
    }
}

#[test]
fn bad_handles_are_refused() {
    let cap = NativeProcessCapability::new();
    let other = NativeProcessCapability::new();
    let h = spawn(&cap, &["sleep", "60"]);
    let mut set = WaitSet::new(&other).unwrap();
    assert_eq!(
        set.add(h, None).unwrap_err().kind,
        ProcessErrorKind::InvalidCommand
    );
    let mut set = WaitSet::new(&cap).unwrap();
    set.add(h, None).unwrap();
    let dup = set.add(h, None).unwrap_err();
    assert_eq!(dup.kind, ProcessErrorKind::InvalidCommand);
    assert!(dup.message.contains("already"), "{}", dup.message);
    assert_eq!(set.len(), 1);
    cap.kill_process(h, Signal::KILL).unwrap();
    assert_eq!(set.wait_next().unwrap().1.unwrap_err().code, Some(9));
    cap.release_process(h).unwrap();
    assert_eq!(
        set.add(h, None).unwrap_err().kind,
        ProcessErrorKind::InvalidCommand
    );
}

#[test]
fn adding_closes_our_end_of_stdin() {
    // `cat` ends only when it sees end-of-file on stdin: a stdin pipe nobody closes.
    let cap = NativeProcessCapability::new();
    let h = cap
        .spawn_process(
            Command::new(helper()).arg("cat").stdin(StdioSpec::Pipe),
            &Environment::default(),
        )
        .unwrap();
    let mut set = WaitSet::new(&cap).unwrap();
    set.add(h, LONG).unwrap();
    assert_eq!(set.wait_next().unwrap().1.unwrap().code(), 0);
    cap.release_process(h).unwrap();
}

#[test]
fn many_children_and_many_limits() {
    let cap = NativeProcessCapability::new();
    let mut set = WaitSet::new(&cap).unwrap();
    let mut sleepers = Vec::new();
    let mut exiters = Vec::new();
    for i in 0..60 {
        if i % 3 == 0 {
            let h = spawn(&cap, &["sleep", "60"]);
            set.add(h, Some(Duration::from_millis(20 + i as u64)))
                .unwrap();
            sleepers.push(h);
        } else {
            let h = spawn(&cap, &["exit", &(i % 50).to_string()]);
            set.add(h, LONG).unwrap();
            exiters.push((h, i % 50));
        }
    }
    let results: HashMap<_, _> = set.wait_all().into_iter().collect();
    assert_eq!(results.len(), 60);
    for (h, code) in exiters {
        assert_eq!(results[&h].as_ref().unwrap().code(), code);
        cap.release_process(h).unwrap();
    }
    for h in sleepers {
        assert_eq!(
            results[&h].as_ref().unwrap_err().kind,
            ProcessErrorKind::TimedOut
        );
        cap.kill_process(h, Signal::KILL).unwrap();
        assert_eq!(cap.wait_process(h, None).unwrap_err().code, Some(9));
        cap.release_process(h).unwrap();
    }
    assert_eq!(cap.outstanding(), 0);
}
