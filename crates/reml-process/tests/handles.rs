//! Handles: slot + generation ids; stale, released and foreign ids are errors.

mod common;

use std::time::Duration;

use common::{alive, eventually, helper};
use reml_process::*;

fn sleeper(cap: &NativeProcessCapability, secs: &str) -> ProcessHandle {
    cap.spawn_process(
        Command::new(helper()).args(["sleep", secs]),
        &Environment::default(),
    )
    .unwrap()
}

#[test]
fn released_handle_is_stale_everywhere() {
    let cap = NativeProcessCapability::new();
    let h = sleeper(&cap, "0");
    cap.wait_process(h, None).unwrap();
    cap.release_process(h).unwrap();
    for e in [
        cap.wait_process(h, None).unwrap_err(),
        cap.kill_process(h, Signal::TERM).unwrap_err(),
        cap.release_process(h).unwrap_err(),
        cap.process_info(h).unwrap_err(),
        cap.take_output(h).unwrap_err(),
    ] {
        assert_eq!(e.kind, ProcessErrorKind::InvalidCommand);
        assert!(e.message.contains("stale"), "{}", e.message);
    }
}

#[test]
fn reused_slot_does_not_revive_old_handle() {
    let cap = NativeProcessCapability::new();
    let old = sleeper(&cap, "0");
    cap.wait_process(old, None).unwrap();
    cap.release_process(old).unwrap();
    let new = sleeper(&cap, "30");
    // The old handle must not reach the new process even though the slot is reused.
    assert_eq!(
        cap.kill_process(old, Signal::KILL).unwrap_err().kind,
        ProcessErrorKind::InvalidCommand
    );
    assert!(alive(new.pid()));
    cap.kill_process(new, Signal::KILL).unwrap();
    assert_eq!(cap.wait_process(new, None).unwrap_err().code, Some(9));
    cap.release_process(new).unwrap();
}

#[test]
fn foreign_handle_is_refused() {
    let a = NativeProcessCapability::new();
    let b = NativeProcessCapability::new();
    let h = sleeper(&a, "30");
    let e = b.kill_process(h, Signal::KILL).unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::InvalidCommand);
    assert!(alive(h.pid()));
    a.kill_process(h, Signal::KILL).unwrap();
    a.wait_process(h, None).unwrap_err();
    a.release_process(h).unwrap();
}

#[test]
fn handles_are_not_released_on_drop_of_a_copy() {
    let cap = NativeProcessCapability::new();
    let h = sleeper(&cap, "0");
    {
        let copy = h;
        let _ = copy;
    }
    assert_eq!(cap.outstanding(), 1);
    assert!(cap.wait_process(h, None).unwrap().success());
    cap.release_process(h).unwrap();
    assert_eq!(cap.outstanding(), 0);
}

#[test]
fn timed_out_wait_leaves_child_running_and_handle_valid() {
    let cap = NativeProcessCapability::new();
    let h = sleeper(&cap, "30");
    let e = cap
        .wait_process(h, Some(Duration::from_millis(100)))
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::TimedOut);
    assert!(alive(h.pid()));
    assert!(cap.process_info(h).unwrap().termination.is_none());
    cap.kill_process(h, Signal::TERM).unwrap();
    let e = cap.wait_process(h, None).unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::TerminatedBySignal);
    assert_eq!(e.code, Some(15));
    // Killing after the end sends nothing and is not an error.
    cap.kill_process(h, Signal::KILL).unwrap();
    cap.release_process(h).unwrap();
}

#[test]
fn dropping_the_capability_leaves_children_to_the_reaper() {
    let cap = NativeProcessCapability::new();
    let h = sleeper(&cap, "30");
    let pid = h.pid();
    drop(cap);
    assert!(alive(pid), "dropping must not kill");
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    eventually(Duration::from_secs(5), "reaped after drop", || {
        common::proc_state(pid).is_none().then_some(())
    });
}

#[test]
fn concurrent_waits_on_one_handle_agree() {
    let cap = std::sync::Arc::new(NativeProcessCapability::new());
    let h = cap
        .spawn_process(
            Command::new(helper()).args(["exit", "5"]),
            &Environment::default(),
        )
        .unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let cap = cap.clone();
            std::thread::spawn(move || cap.wait_process(h, Some(Duration::from_secs(10))))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().unwrap().code(), 5);
    }
}
