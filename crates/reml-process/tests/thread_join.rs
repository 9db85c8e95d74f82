//! `create_thread` / `join_thread` / `release_thread` behaviour (spec §1, §4).
//! One behaviour per test. Synchronisation is by channels and deadlines, never fixed sleeps.
#![cfg(target_os = "linux")]

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reml_process::thread::{
    NativeThreadCapability, OsThreadState, ThreadCapability, ThreadHandle, ThreadOptions,
    ThreadStart,
};
use reml_process::{ThreadError, ThreadErrorKind};

/// Generous upper bound for "this should happen promptly" (never a performance assertion).
const DEADLINE: Duration = Duration::from_secs(20);

/// A start function that blocks until `release` is sent (or the sender dropped).
fn gated() -> (ThreadStart, mpsc::Sender<()>) {
    let (tx, rx) = mpsc::channel::<()>();
    let start = ThreadStart::new(move |_| {
        let _ = rx.recv();
        Ok(())
    });
    (start, tx)
}

#[test]
fn start_function_receives_its_own_handle() {
    let cap = Arc::new(NativeThreadCapability::new());
    let (tx, rx) = mpsc::channel::<(ThreadHandle, u32, u32)>();
    let inner = cap.clone();
    let handle = cap
        .create_thread(
            ThreadStart::new(move |me| {
                // The handle works from inside: the table knows this very thread.
                let info = inner.thread_info(me)?;
                let os = OsThreadState::current()?;
                tx.send((me, info.tid, os.tid)).unwrap();
                Ok(())
            }),
            ThreadOptions::default(),
        )
        .unwrap();
    let (seen, table_tid, os_tid) = rx.recv_timeout(DEADLINE).unwrap();
    assert_eq!(seen, handle);
    assert_eq!(
        table_tid, os_tid,
        "the table's tid is the thread's gettid()"
    );
    assert_ne!(
        os_tid,
        std::process::id(),
        "a new thread, not the main thread"
    );
    let result = cap.join_thread(handle, None).unwrap();
    assert_eq!(result.tid, os_tid);
    cap.release_thread(handle).unwrap();
}

#[test]
fn join_returns_ok_result_of_start_function() {
    let cap = NativeThreadCapability::new();
    let h = cap
        .create_thread(
            ThreadStart::new(|_| Ok(())),
            ThreadOptions::default().with_name("ok-thread"),
        )
        .unwrap();
    let r = cap.join_thread(h, Some(DEADLINE)).unwrap();
    assert!(r.is_ok());
    assert_eq!(r.handle, h);
    assert_eq!(r.name.as_deref(), Some("ok-thread"));
    assert!(cap.thread_info(h).unwrap().joined);
    cap.release_thread(h).unwrap();
}

#[test]
fn join_carries_the_start_functions_own_error() {
    let cap = NativeThreadCapability::new();
    let own = ThreadError::new(ThreadErrorKind::Unsupported, "my own failure");
    let sent = own.clone();
    let h = cap
        .create_thread(
            ThreadStart::new(move |_| Err(sent)),
            ThreadOptions::default(),
        )
        .unwrap();
    let r = cap
        .join_thread(h, None)
        .expect("the start function returned, so the join works");
    assert_eq!(r.result, Err(own));
    cap.release_thread(h).unwrap();
}

#[test]
fn panic_is_join_failed_with_the_panic_message() {
    let cap = NativeThreadCapability::new();
    let h = cap
        .create_thread(
            ThreadStart::new(|_| panic!("boom {}", 42)),
            ThreadOptions::default().with_name("panicky"),
        )
        .unwrap();
    let e = cap.join_thread(h, None).unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::JoinFailed);
    assert!(e.message.contains("panicked"), "{}", e.message);
    assert!(e.message.contains("boom 42"), "{}", e.message);
    assert!(e.message.contains("panicky"), "{}", e.message);
    assert_eq!(cap.running_threads(), 0);
    cap.release_thread(h).unwrap();
}

#[test]
fn joining_twice_is_an_error() {
    let cap = NativeThreadCapability::new();
    let h = cap
        .create_thread(ThreadStart::new(|_| Ok(())), ThreadOptions::default())
        .unwrap();
    cap.join_thread(h, None).unwrap();
    let e = cap.join_thread(h, None).unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::JoinFailed);
    assert!(e.message.contains("joined already"), "{}", e.message);
    cap.release_thread(h).unwrap();
}

#[test]
fn join_time_limit_expires_thread_keeps_running_handle_stays_valid() {
    let cap = NativeThreadCapability::new();
    let (start, release) = gated();
    let h = cap.create_thread(start, ThreadOptions::default()).unwrap();

    let began = Instant::now();
    let e = cap
        .join_thread(h, Some(Duration::from_millis(50)))
        .unwrap_err();
    assert!(
        began.elapsed() >= Duration::from_millis(50),
        "waited the limit"
    );
    assert_eq!(e.kind, ThreadErrorKind::JoinFailed);
    assert!(e.message.contains("timed out"), "{}", e.message);
    assert!(e.message.contains("still running"), "{}", e.message);

    // Still running, still valid, still joinable.
    let info = cap.thread_info(h).unwrap();
    assert!(!info.finished && !info.joined);
    assert_eq!(cap.running_threads(), 1);
    assert!(
        cap.get_thread_affinity(h).is_ok(),
        "a live thread has an affinity"
    );

    release.send(()).unwrap();
    let r = cap.join_thread(h, Some(DEADLINE)).unwrap();
    assert!(r.is_ok());
    cap.release_thread(h).unwrap();
}

#[test]
fn zero_time_limit_only_looks() {
    let cap = NativeThreadCapability::new();
    let (start, release) = gated();
    let h = cap.create_thread(start, ThreadOptions::default()).unwrap();
    let e = cap.join_thread(h, Some(Duration::ZERO)).unwrap_err();
    assert!(e.message.contains("timed out"), "{}", e.message);
    drop(release);
    cap.join_thread(h, None).unwrap();
    cap.release_thread(h).unwrap();
}

#[test]
fn detached_thread_cannot_be_joined_and_says_why() {
    let cap = NativeThreadCapability::new();
    let (ran_tx, ran_rx) = mpsc::channel();
    let h = cap
        .create_thread(
            ThreadStart::new(move |_| {
                ran_tx.send(()).unwrap();
                Ok(())
            }),
            ThreadOptions::default().with_detached(true),
        )
        .unwrap();
    ran_rx
        .recv_timeout(DEADLINE)
        .expect("a detached thread runs");
    let e = cap.join_thread(h, Some(DEADLINE)).unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::JoinFailed);
    assert!(e.message.contains("detached"), "{}", e.message);
    assert!(e.message.contains("cannot be joined"), "{}", e.message);
    assert!(cap.thread_info(h).unwrap().detached);
    cap.release_thread(h).unwrap();
}

#[test]
fn a_thread_cannot_join_itself() {
    let cap = Arc::new(NativeThreadCapability::new());
    let inner = cap.clone();
    let h = cap
        .create_thread(
            ThreadStart::new(move |me| match inner.join_thread(me, None) {
                Err(e) if e.message.contains("cannot join itself") => Ok(()),
                other => Err(ThreadError::new(
                    ThreadErrorKind::JoinFailed,
                    format!("self-join was not refused: {other:?}"),
                )),
            }),
            ThreadOptions::default(),
        )
        .unwrap();
    let r = cap.join_thread(h, Some(DEADLINE)).unwrap();
    assert_eq!(r.result, Ok(()));
    cap.release_thread(h).unwrap();
}

#[test]
fn released_handle_is_stale_and_never_reaches_the_next_thread() {
    let cap = NativeThreadCapability::new();
    let old = cap
        .create_thread(ThreadStart::new(|_| Ok(())), ThreadOptions::default())
        .unwrap();
    cap.join_thread(old, None).unwrap();
    cap.release_thread(old).unwrap();

    // The freed slot is reused with a new generation.
    let (start, release) = gated();
    let new = cap.create_thread(start, ThreadOptions::default()).unwrap();
    assert_eq!(new.slot(), old.slot());
    assert_ne!(new.generation(), old.generation());

    for e in [
        cap.join_thread(old, Some(Duration::ZERO)).unwrap_err(),
        cap.thread_info(old).unwrap_err(),
        cap.release_thread(old).unwrap_err(),
    ] {
        assert_eq!(e.kind, ThreadErrorKind::JoinFailed);
        assert!(e.message.contains("stale"), "{}", e.message);
    }
    let e = cap.get_thread_affinity(old).unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::InvalidAffinity);
    assert!(e.message.contains("stale"), "{}", e.message);

    // The new thread was not touched by any of that.
    let info = cap.thread_info(new).unwrap();
    assert!(!info.joined && !info.finished);
    drop(release);
    cap.join_thread(new, None).unwrap();
    cap.release_thread(new).unwrap();
}

#[test]
fn handle_of_another_capability_is_refused() {
    let a = NativeThreadCapability::new();
    let b = NativeThreadCapability::new();
    let (start, release) = gated();
    let h = a.create_thread(start, ThreadOptions::default()).unwrap();
    let e = b.join_thread(h, Some(Duration::ZERO)).unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::JoinFailed);
    assert!(e.message.contains("another capability"), "{}", e.message);
    assert!(b.release_thread(h).is_err());
    assert!(b.thread_info(h).is_err());
    // Forged ids are refused the same way.
    let forged = ThreadHandle::from_raw_parts(a.instance_id(), 999, 0);
    assert!(a.thread_info(forged).unwrap_err().message.contains("stale"));
    drop(release);
    a.join_thread(h, None).unwrap();
    a.release_thread(h).unwrap();
}

#[test]
fn handles_are_not_released_on_drop_only_by_release_thread() {
    let cap = NativeThreadCapability::new();
    let h = cap
        .create_thread(ThreadStart::new(|_| Ok(())), ThreadOptions::default())
        .unwrap();
    let copy = h;
    let holder: Vec<ThreadHandle> = vec![h];
    drop(holder); // dropping a value that holds the handle releases nothing
    assert_eq!(cap.outstanding_threads(), vec![copy]);
    cap.join_thread(copy, None).unwrap();
    assert_eq!(
        cap.outstanding_threads(),
        vec![copy],
        "joining does not release"
    );
    cap.release_thread(copy).unwrap();
    assert!(cap.outstanding_threads().is_empty());
}

#[test]
fn releasing_a_running_thread_lets_it_run_to_its_end() {
    let cap = NativeThreadCapability::new();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (end_tx, end_rx) = mpsc::channel::<()>();
    let h = cap
        .create_thread(
            ThreadStart::new(move |_| {
                go_rx.recv().unwrap();
                end_tx.send(()).unwrap();
                Ok(())
            }),
            ThreadOptions::default(),
        )
        .unwrap();
    cap.release_thread(h).unwrap();
    assert!(cap.outstanding_threads().is_empty());
    assert_eq!(cap.running_threads(), 1, "released, but still running");
    go_tx.send(()).unwrap();
    end_rx
        .recv_timeout(DEADLINE)
        .expect("the released thread ran to its end");
    // It is counted out right after its start function returns.
    let deadline = Instant::now() + DEADLINE;
    while cap.running_threads() != 0 {
        assert!(Instant::now() < deadline, "running count never dropped");
        std::thread::yield_now();
    }
}

#[test]
fn running_threads_counts_live_threads() {
    let cap = NativeThreadCapability::new();
    let (s1, r1) = gated();
    let (s2, r2) = gated();
    let h1 = cap.create_thread(s1, ThreadOptions::default()).unwrap();
    let h2 = cap.create_thread(s2, ThreadOptions::default()).unwrap();
    assert_eq!(cap.running_threads(), 2);
    drop(r1);
    cap.join_thread(h1, None).unwrap();
    assert_eq!(cap.running_threads(), 1, "a joined thread is counted out");
    drop(r2);
    cap.join_thread(h2, None).unwrap();
    assert_eq!(cap.running_threads(), 0);
    cap.release_thread(h1).unwrap();
    cap.release_thread(h2).unwrap();
}

#[test]
fn concurrent_joiners_get_one_result_and_one_error() {
    let cap = Arc::new(NativeThreadCapability::new());
    let (start, release) = gated();
    let h = cap.create_thread(start, ThreadOptions::default()).unwrap();
    let results = Arc::new(Mutex::new(Vec::new()));
    let joiners: Vec<_> = (0..2)
        .map(|_| {
            let (cap, results) = (cap.clone(), results.clone());
            std::thread::spawn(move || {
                let r = cap.join_thread(h, Some(DEADLINE));
                results.lock().unwrap().push(r.map(|r| r.result));
            })
        })
        .collect();
    drop(release);
    for j in joiners {
        j.join().unwrap();
    }
    let results = results.lock().unwrap();
    assert_eq!(
        results.iter().filter(|r| matches!(r, Ok(Ok(())))).count(),
        1
    );
    let errs: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].message.contains("joined already"),
        "{}",
        errs[0].message
    );
    cap.release_thread(h).unwrap();
}

/// A join with a (long) limit blocks on the thread's end and is woken by it, not by its limit:
/// the result arrives within `DEADLINE` although the limit is an hour. Likewise a join blocked
/// when the handle is released is woken and told so.
#[test]
fn blocked_joins_are_woken_by_the_end_and_by_a_release() {
    const HOUR: Duration = Duration::from_secs(3600);
    for release_instead in [false, true] {
        let cap = Arc::new(NativeThreadCapability::new());
        let (start, gate) = gated();
        let h = cap.create_thread(start, ThreadOptions::default()).unwrap();
        let (tx, rx) = mpsc::channel();
        let joiner = {
            let cap = cap.clone();
            std::thread::spawn(move || tx.send(cap.join_thread(h, Some(HOUR))).unwrap())
        };
        // Let the joiner block first (if it has not, it finds the end and returns at once).
        std::thread::sleep(Duration::from_millis(50));
        if release_instead {
            cap.release_thread(h).unwrap();
        } else {
            drop(gate);
        }
        let result = rx
            .recv_timeout(DEADLINE)
            .expect("the blocked join was woken");
        joiner.join().unwrap();
        if release_instead {
            let err = result.unwrap_err();
            assert!(err.message.contains("released while waiting"), "{err:?}");
        } else {
            assert!(matches!(result.map(|r| r.result), Ok(Ok(()))));
            cap.release_thread(h).unwrap();
        }
    }
}
