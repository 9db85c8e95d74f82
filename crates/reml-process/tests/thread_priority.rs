//! Priorities (spec §4 `ThreadPriority`), as the privileged user this suite runs as.
//! The unprivileged refusals are in `thread_unprivileged.rs`.
//!
//! Each thread reads its own scheduling back from the kernel before returning it, and the
//! nice value is also checked in `/proc/self/task/TID/stat` (field 19) while the thread is
//! alive, so the library's own read-back is not the only witness.
#![cfg(target_os = "linux")]

use std::sync::{mpsc, Arc};

use reml_process::thread::{
    NativeThreadCapability, OsThreadState, SchedPolicy, ThreadCapability, ThreadOptions,
    ThreadPriority, ThreadStart,
};
use reml_process::ThreadError;

/// Whether we may raise priorities (root with CAP_SYS_NICE); tests that need it say so
/// visibly when it is missing.
fn privileged(test: &str) -> bool {
    let caps = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let eff = caps
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    const CAP_SYS_NICE: u32 = 23;
    let ok = eff & (1 << CAP_SYS_NICE) != 0;
    if !ok {
        eprintln!("SKIPPED {test}: needs CAP_SYS_NICE (not running privileged)");
    }
    ok
}

/// `(nice, rt_priority, policy)` from `/proc/self/task/TID/stat` (fields 19, 40, 41).
fn proc_stat_sched(tid: u32) -> (i32, i32, i32) {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    // `after` starts at field 3 (state).
    let f: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| f[n - 3].parse::<i32>().unwrap();
    (field(19), field(40), field(41))
}

/// Creates a thread with `priority` on `cap` and returns what it read back from the OS and
/// from /proc while it ran.
fn observe(
    cap: &dyn ThreadCapability,
    priority: Option<ThreadPriority>,
) -> Result<(OsThreadState, (i32, i32, i32)), ThreadError> {
    let (tx, rx) = mpsc::channel();
    let opts = ThreadOptions {
        priority,
        ..ThreadOptions::default()
    };
    let h = cap.create_thread(
        ThreadStart::new(move |_| {
            let os = OsThreadState::current()?;
            let stat = proc_stat_sched(os.tid);
            tx.send((os, stat)).unwrap();
            Ok(())
        }),
        opts,
    )?;
    cap.join_thread(h, None)?.result?;
    cap.release_thread(h)?;
    Ok(rx.recv().unwrap())
}

#[test]
fn low_is_nice_10_under_sched_other() {
    let cap = NativeThreadCapability::new();
    let (os, (nice, rt, policy)) = observe(&cap, Some(ThreadPriority::Low)).unwrap();
    assert_eq!(os.nice, 10);
    assert_eq!(os.policy, SchedPolicy::Other);
    assert_eq!(os.rt_priority, 0);
    assert_eq!((nice, rt, policy), (10, 0, 0), "/proc agrees");
}

#[test]
fn high_is_nice_minus_10() {
    if !privileged("high_is_nice_minus_10") {
        return;
    }
    let cap = NativeThreadCapability::new();
    let (os, (nice, _, _)) = observe(&cap, Some(ThreadPriority::High)).unwrap();
    assert_eq!(os.nice, -10);
    assert_eq!(os.policy, SchedPolicy::Other);
    assert_eq!(nice, -10);
}

#[test]
fn realtime_is_sched_rr_priority_1() {
    if !privileged("realtime_is_sched_rr_priority_1") {
        return;
    }
    let cap = NativeThreadCapability::new();
    let (os, (_, rt, policy)) = observe(&cap, Some(ThreadPriority::Realtime)).unwrap();
    assert_eq!(os.policy, SchedPolicy::RoundRobin);
    assert_eq!(os.rt_priority, 1);
    assert_eq!(
        (rt, policy),
        (1, 2),
        "/proc: rt_priority 1, policy SCHED_RR (2)"
    );
}

/// A thread created from inside a `parent`-priority thread with `child` priority.
fn nested(
    parent: ThreadPriority,
    child: Option<ThreadPriority>,
) -> (OsThreadState, (i32, i32, i32)) {
    let cap = Arc::new(NativeThreadCapability::new());
    let (tx, rx) = mpsc::channel();
    let inner = cap.clone();
    let h = cap
        .create_thread(
            ThreadStart::new(move |_| {
                tx.send(observe(inner.as_ref(), child)).unwrap();
                Ok(())
            }),
            ThreadOptions::default().with_priority(parent),
        )
        .unwrap();
    cap.join_thread(h, None).unwrap().result.unwrap();
    cap.release_thread(h).unwrap();
    rx.recv().unwrap().unwrap()
}

#[test]
fn normal_is_applied_even_when_the_creator_is_high() {
    if !privileged("normal_is_applied_even_when_the_creator_is_high") {
        return;
    }
    let (os, (nice, _, _)) = nested(ThreadPriority::High, Some(ThreadPriority::Normal));
    assert_eq!(os.nice, 0, "Normal resets the inherited nice -10");
    assert_eq!(nice, 0);
    // Without a priority the child inherits, which is what makes applying Normal necessary.
    let (os, _) = nested(ThreadPriority::High, None);
    assert_eq!(os.nice, -10);
}

#[test]
fn normal_leaves_a_realtime_creators_policy() {
    if !privileged("normal_leaves_a_realtime_creators_policy") {
        return;
    }
    let (os, (_, rt, policy)) = nested(ThreadPriority::Realtime, Some(ThreadPriority::Normal));
    assert_eq!(os.policy, SchedPolicy::Other);
    assert_eq!(os.rt_priority, 0);
    assert_eq!(os.nice, 0);
    assert_eq!((rt, policy), (0, 0));
    let (os, _) = nested(ThreadPriority::Realtime, Some(ThreadPriority::Low));
    assert_eq!((os.policy, os.nice), (SchedPolicy::Other, 10));
}

#[test]
fn no_priority_inherits_the_creators_scheduling() {
    let (os, _) = nested(ThreadPriority::Low, None);
    assert_eq!(os.nice, 10);
    assert_eq!(os.policy, SchedPolicy::Other);
}
