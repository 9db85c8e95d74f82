//! `wait_async` (cargo feature `tokio`, spec §7 `Core.Async`): the results of `wait_process`,
//! awaited on the pidfd. Correctness only: no timed assertion.
//!
//! Run with `cargo test -p reml-process --features tokio --test async_wait`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{alive, helper};
use reml_process::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn spawn(cap: &NativeProcessCapability, args: &[&str]) -> ProcessHandle {
    cap.spawn_process(Command::new(helper()).args(args), &Environment::default())
        .unwrap()
}

#[test]
fn many_children_on_one_thread() {
    let cap = Arc::new(NativeProcessCapability::new());
    runtime().block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..100 {
            let cap = cap.clone();
            let h = spawn(&cap, &["exit", &(i % 7).to_string()]);
            tasks.spawn(async move {
                let r = wait_async(&cap, h, Some(Duration::from_secs(60))).await;
                (i, h, r)
            });
        }
        let mut n = 0;
        while let Some(joined) = tasks.join_next().await {
            let (i, h, r) = joined.unwrap();
            assert_eq!(r.unwrap().code(), i % 7);
            cap.release_process(h).unwrap();
            n += 1;
        }
        assert_eq!(n, 100);
    });
    assert_eq!(cap.outstanding(), 0);
}

#[test]
fn time_limit_leaves_the_child_running() {
    let cap = NativeProcessCapability::new();
    let rt = runtime();
    let h = spawn(&cap, &["sleep", "60"]);
    let e = rt
        .block_on(wait_async(&cap, h, Some(Duration::from_millis(100))))
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::TimedOut);
    assert!(alive(h.pid()));
    // A future dropped before completion also leaves it running.
    let dropped = rt.block_on(async {
        tokio::time::timeout(Duration::from_millis(50), wait_async(&cap, h, None)).await
    });
    assert!(dropped.is_err(), "the child cannot have ended");
    assert!(alive(h.pid()));
    cap.kill_process(h, Signal::KILL).unwrap();
    let e = rt.block_on(wait_async(&cap, h, None)).unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::TerminatedBySignal);
    assert_eq!(e.code, Some(9));
    // Cached: the blocking wait agrees.
    assert_eq!(cap.wait_process(h, None).unwrap_err().code, Some(9));
    cap.release_process(h).unwrap();
}

#[test]
fn two_waits_on_one_child_both_see_the_end() {
    let cap = NativeProcessCapability::new();
    let h = spawn(&cap, &["sleep", "0.2"]);
    let cap = Arc::new(cap);
    let (a, b) = runtime().block_on(async {
        let c = cap.clone();
        let a = tokio::spawn(async move { wait_async(&c, h, None).await });
        let c = cap.clone();
        let b = tokio::spawn(async move { wait_async(&c, h, None).await });
        (a.await.unwrap(), b.await.unwrap())
    });
    assert_eq!(a.unwrap().code(), 0);
    assert_eq!(b.unwrap().code(), 0);
    cap.release_process(h).unwrap();
}

#[test]
fn stdin_is_closed_and_stale_handles_refused() {
    let cap = NativeProcessCapability::new();
    let rt = runtime();
    let h = cap
        .spawn_process(
            Command::new(helper()).arg("cat").stdin(StdioSpec::Pipe),
            &Environment::default(),
        )
        .unwrap();
    assert_eq!(rt.block_on(wait_async(&cap, h, None)).unwrap().code(), 0);
    cap.release_process(h).unwrap();
    let e = rt.block_on(wait_async(&cap, h, None)).unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::InvalidCommand);
}

#[test]
fn limits_at_the_edges_of_duration() {
    let cap = NativeProcessCapability::new();
    runtime().block_on(async {
        // Too large to represent: no practical limit, no overflow in the timer.
        let long = spawn(&cap, &["sleep", "0.3"]);
        for limit in [Duration::MAX, Duration::from_secs(i64::MAX as u64)] {
            let r = wait_async(&cap, long, Some(limit)).await;
            assert_eq!(r.unwrap().code(), 0);
        }
        cap.release_process(long).unwrap();
        // Tiny but positive: a limit, never "none".
        let h = spawn(&cap, &["sleep", "30"]);
        let e = wait_async(&cap, h, Some(Duration::from_nanos(1)))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ProcessErrorKind::TimedOut);
        cap.kill_process(h, Signal::KILL).unwrap();
        let _ = wait_async(&cap, h, None).await;
        cap.release_process(h).unwrap();
    });
}
