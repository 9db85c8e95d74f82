//! `create_thread` without a name or priority does not wait for the thread to start (nothing
//! can fail before its start function): the start function still always runs, and what
//! needs the kernel thread id waits for it.

use std::sync::mpsc;
use std::time::Duration;

use reml_process::{NativeThreadCapability, ThreadCapability, ThreadOptions, ThreadStart};

#[test]
fn start_function_runs_even_when_released_at_once() {
    let cap = NativeThreadCapability::new();
    for _ in 0..200 {
        let (tx, rx) = mpsc::channel();
        let h = cap
            .create_thread(
                ThreadStart::new(move |_| {
                    tx.send(()).unwrap();
                    Ok(())
                }),
                ThreadOptions::default(),
            )
            .unwrap();
        cap.release_thread(h).unwrap();
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the start function ran");
    }
}

#[test]
fn thread_info_right_after_create_knows_the_tid() {
    let cap = NativeThreadCapability::new();
    for _ in 0..200 {
        let (tx, rx) = mpsc::channel::<()>();
        let h = cap
            .create_thread(
                ThreadStart::new(move |_| {
                    let _ = rx.recv();
                    Ok(())
                }),
                ThreadOptions::default(),
            )
            .unwrap();
        let info = cap.thread_info(h).unwrap();
        assert!(info.tid > 0, "{info:?}");
        assert!(
            std::path::Path::new(&format!("/proc/self/task/{}", info.tid)).exists(),
            "tid {} is a thread of ours",
            info.tid
        );
        let cpus = cap.get_thread_affinity(h).unwrap();
        assert!(!cpus.to_vec().is_empty());
        drop(tx);
        let r = cap.join_thread(h, Some(Duration::from_secs(10))).unwrap();
        assert_eq!(r.tid, info.tid);
        cap.release_thread(h).unwrap();
    }
}
