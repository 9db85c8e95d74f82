//! Several waits on one child at once — unbounded ones (the blocking reaping fast path),
//! one with a time limit, one through a `WaitSet` — all see the same end, and signalling
//! stays possible while they block.

mod common;

use std::time::Duration;

use common::helper;
use reml_process::*;

#[test]
fn every_concurrent_waiter_sees_the_same_end() {
    for round in 0..20 {
        let cap = NativeProcessCapability::new();
        let h = cap
            .spawn_process(
                Command::new(helper()).args(["sleep", "60"]),
                &Environment::default(),
            )
            .unwrap();
        let results = std::thread::scope(|s| {
            let waiters: Vec<_> = (0..4)
                .map(|i| {
                    let cap = &cap;
                    s.spawn(move || match i {
                        0 | 1 => cap.wait_process(h, None),
                        2 => cap.wait_process(h, Some(Duration::from_secs(60))),
                        _ => {
                            let mut set = WaitSet::new(cap).unwrap();
                            set.add(h, Some(Duration::from_secs(60))).unwrap();
                            set.wait_next().unwrap().1
                        }
                    })
                })
                .collect();
            // Let the waiters block (not a timing assertion: any order is valid).
            std::thread::sleep(Duration::from_millis(round % 3 * 5));
            cap.kill_process(h, Signal::KILL).unwrap();
            waiters
                .into_iter()
                .map(|w| w.join().unwrap())
                .collect::<Vec<_>>()
        });
        for r in results {
            let e = r.unwrap_err();
            assert_eq!(e.kind, ProcessErrorKind::TerminatedBySignal, "{e:?}");
            assert_eq!(e.code, Some(9));
        }
        assert_eq!(cap.wait_process(h, None).unwrap_err().code, Some(9));
        cap.release_process(h).unwrap();
    }
}
