//! `WaitSet` without pidfd (kernels before 5.2), forced for this whole test binary: children
//! are polled with `waitid(WNOHANG)` every check interval, with the same results.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{alive, helper};
use reml_process::*;

#[test]
fn fallback_wait_set_reaps_and_times_out() {
    NativeProcessCapability::force_pidfd_fallback();
    let cap = NativeProcessCapability::new();
    let mut set = WaitSet::new(&cap).unwrap();
    set.set_check_interval(Duration::from_millis(5));
    let quick = cap
        .spawn_process(
            Command::new(helper()).args(["exit", "5"]),
            &Environment::default(),
        )
        .unwrap();
    let slow = cap
        .spawn_process(
            Command::new(helper()).args(["sleep", "60"]),
            &Environment::default(),
        )
        .unwrap();
    set.add(quick, Some(Duration::from_secs(60))).unwrap();
    set.add(slow, Some(Duration::from_millis(100))).unwrap();
    let results: HashMap<_, _> = set.wait_all().into_iter().collect();
    assert_eq!(results[&quick].as_ref().unwrap().code(), 5);
    assert_eq!(
        results[&slow].as_ref().unwrap_err().kind,
        ProcessErrorKind::TimedOut
    );
    assert!(alive(slow.pid()));
    cap.kill_process(slow, Signal::KILL).unwrap();
    set.add(slow, None).unwrap();
    assert_eq!(set.wait_next().unwrap().1.unwrap_err().code, Some(9));
    for h in [quick, slow] {
        cap.release_process(h).unwrap();
    }
}
