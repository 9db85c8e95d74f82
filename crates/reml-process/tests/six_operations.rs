//! Spec §1: all six operations are reachable through one `ProcessCapability`.

mod common;

use std::time::Duration;

use reml_process::*;

#[test]
fn thread_operations_through_the_process_capability() {
    let cap: Box<dyn ProcessCapability> = Box::new(NativeProcessCapability::new());
    let (tx, rx) = std::sync::mpsc::channel();
    let h = cap
        .create_thread(
            ThreadStart::new(move |me| {
                tx.send(me).unwrap();
                Ok(())
            }),
            ThreadOptions::default().with_name("six-ops"),
        )
        .unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), h);
    let cpus = online_cpus_first();
    cap.set_thread_affinity(h, &cpus).ok();
    let r = cap.join_thread(h, Some(Duration::from_secs(5))).unwrap();
    assert!(r.result.is_ok());
    assert_eq!(r.name.as_deref(), Some("six-ops"));
    // The process operations on the same object.
    let p = cap
        .spawn_process(
            Command::new(common::helper()).args(["exit", "2"]),
            &Environment::default(),
        )
        .unwrap();
    assert_eq!(cap.wait_process(p, None).unwrap().code(), 2);
    cap.kill_process(p, Signal::TERM).unwrap();
    cap.release_process(p).unwrap();
}

fn online_cpus_first() -> CpuSet {
    let all = reml_process::thread::online_cpus().unwrap();
    let first = all.to_vec()[0];
    std::iter::once(first).collect()
}
