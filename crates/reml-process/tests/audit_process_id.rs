//! `process.id`, the lifecycle key of the audit log (`docs/audit-log.md`): on
//! every record the audit layer writes about a process, the same from `process.spawned` to
//! its end, different for every process, and naming the OS process (pid, start time, boot).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::helper;
use reml_process::audit::{events, keys, MemorySink, Redactor};
use reml_process::*;

fn layer(sink: &Arc<MemorySink>) -> AuditLayer<NativeProcessCapability> {
    AuditLayer::new(
        NativeProcessCapability::new(),
        sink.clone(),
        Redactor::default(),
        false,
    )
}

/// Field 22 of `/proc/PID/stat`.
fn start_time(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    rest.split_whitespace().nth(19).unwrap().parse().unwrap()
}

#[test]
fn every_process_record_carries_one_key_per_lifecycle() {
    let sink = Arc::new(MemorySink::new());
    let env = Environment::default();
    let (a, b, c, d);
    {
        let cap = layer(&sink);
        a = cap
            .spawn_process(Command::new(helper()).args(["exit", "0"]), &env)
            .unwrap();
        cap.wait_process(a, None).unwrap();
        b = cap
            .spawn_process(Command::new(helper()).args(["sleep", "30"]), &env)
            .unwrap();
        let b_start = start_time(b.pid());
        cap.kill_process(b, Signal::KILL).unwrap();
        cap.wait_process(b, None).unwrap_err();
        c = cap
            .spawn_process(Command::new(helper()).args(["sleep", "30"]), &env)
            .unwrap();
        cap.kill_process(c, Signal::KILL).unwrap();
        cap.release_process(c).unwrap();
        d = cap
            .spawn_process(Command::new(helper()).args(["exit", "0"]), &env)
            .unwrap();
        // `d` is still held when the layer is dropped: `process.leaked`.
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
        let b_id = format!("{}:{b_start}:{}", b.pid(), boot.trim());
        let spawned_b = sink
            .records()
            .into_iter()
            .find(|r| {
                r.event == events::PROCESS_SPAWNED && r.metadata[keys::PROCESS_PID] == b.pid()
            })
            .unwrap();
        assert_eq!(spawned_b.metadata[keys::PROCESS_ID], b_id.as_str());
    }
    let mut ids: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    let mut last: BTreeMap<i64, String> = BTreeMap::new();
    for r in sink.records() {
        r.check_required_keys().unwrap();
        let Some(pid) = r.metadata.get(keys::PROCESS_PID).and_then(|v| v.as_i64()) else {
            continue;
        };
        let id = r.metadata.get(keys::PROCESS_ID).and_then(|v| v.as_str());
        let id = id.unwrap_or_else(|| panic!("{} without process.id", r.event));
        assert!(id.starts_with(&format!("{pid}:")), "{id}");
        ids.entry(pid).or_default().insert(id.to_owned());
        last.insert(pid, r.event.clone());
    }
    for h in [a, b, c, d] {
        let pid = i64::from(h.pid());
        assert_eq!(ids[&pid].len(), 1, "one key for pid {pid}: {:?}", ids[&pid]);
        assert!(events::ends_lifecycle(&last[&pid]), "{}", last[&pid]);
    }
    let all: BTreeSet<&String> = ids.values().flatten().collect();
    assert_eq!(all.len(), 4, "a key per process: {all:?}");
    assert_eq!(last[&i64::from(c.pid())], events::PROCESS_RELEASED);
    assert_eq!(last[&i64::from(d.pid())], events::PROCESS_LEAKED);
}

/// The start time the native backend answers is the one `/proc/PID/stat` holds, whether it
/// was known from the clock around `clone` (nearly every child) or read from `/proc` (a tick
/// passed during the `clone`): 400 children, each compared while it is still unreaped.
#[test]
fn start_time_is_the_one_proc_reports() {
    let cap = NativeProcessCapability::new();
    let env = Environment::default();
    let mut mismatches = Vec::new();
    for _ in 0..400 {
        let h = cap
            .spawn_process(Command::new(helper()).args(["exit", "0"]), &env)
            .unwrap();
        // Unreaped until the wait below: a zombie keeps its /proc/PID/stat.
        let ours = cap.process_start_time(h).unwrap();
        let proc = start_time(h.pid());
        if ours != Some(proc) {
            mismatches.push((h.pid(), ours, proc));
        }
        cap.wait_process(h, None).unwrap();
        cap.release_process(h).unwrap();
    }
    assert!(mismatches.is_empty(), "pid, ours, /proc: {mismatches:?}");
}
