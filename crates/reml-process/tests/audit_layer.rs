//! The audit layer: every operation recorded; exactly one end record per spawned process
//! across exits, signals, time limits and releases; failures and refusals recorded with their
//! reason; redaction before any sink; audit_required refuses before anything runs.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::helper;
use reml_process::audit::{events, MemorySink, Redactor};
use reml_process::*;

fn layer(sink: &Arc<MemorySink>, required: bool) -> AuditLayer<NativeProcessCapability> {
    AuditLayer::new(
        NativeProcessCapability::new(),
        sink.clone(),
        Redactor::new(["--password=*", "*_TOKEN"]),
        required,
    )
}

/// Count of records per (pid, event), and each record's required keys checked.
fn by_pid(sink: &MemorySink) -> BTreeMap<i64, Vec<String>> {
    let mut map: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for r in sink.records() {
        r.check_required_keys()
            .unwrap_or_else(|e| panic!("record {} lacks keys: {e}", r.event));
        if let Some(pid) = r.metadata.get("process.pid").and_then(|v| v.as_i64()) {
            map.entry(pid).or_default().push(r.event.clone());
        }
    }
    map
}

fn ends(list: &[String]) -> usize {
    list.iter().filter(|e| events::is_process_end(e)).count()
}

#[test]
fn one_end_record_per_process_across_every_kind_of_end() {
    let sink = Arc::new(MemorySink::new());
    let cap = layer(&sink, false);
    let env = Environment::default();
    // 1. normal exit, waited twice
    let a = cap
        .spawn_process(Command::new(helper()).args(["exit", "3"]), &env)
        .unwrap();
    assert_eq!(cap.wait_process(a, None).unwrap().code(), 3);
    assert_eq!(cap.wait_process(a, None).unwrap().code(), 3);
    // 2. killed by us
    let b = cap
        .spawn_process(Command::new(helper()).args(["sleep", "30"]), &env)
        .unwrap();
    cap.kill_process(b, Signal::KILL).unwrap();
    cap.wait_process(b, None).unwrap_err();
    // 3. a signal not ours
    let c = cap
        .spawn_process(Command::new(helper()).args(["kill-self", "15"]), &env)
        .unwrap();
    cap.wait_process(c, None).unwrap_err();
    // 4. time limit through run_process
    let mut cmd = Command::new(helper());
    cmd.args(["sleep", "30"]).process_group(ProcessGroup::New);
    let out = run_process(
        &cap,
        &cmd,
        &env,
        &RunOptions {
            timeout: Some(Duration::from_millis(200)),
            kill_after: Duration::from_secs(1),
            ..RunOptions::default()
        },
    );
    assert_eq!(out.cause, Cause::TimedOut);
    // 5. released while running: no end seen, `process.released` is its last record
    let e = cap
        .spawn_process(Command::new(helper()).args(["sleep", "30"]), &env)
        .unwrap();
    cap.release_process(e).unwrap();
    let map = by_pid(&sink);
    let get = |h: i32| map.get(&(h as i64)).cloned().unwrap_or_default();
    let a_ev = get(a.pid());
    assert_eq!(ends(&a_ev), 1, "{a_ev:?}");
    assert!(a_ev.contains(&"process.exited".to_owned()));
    let b_ev = get(b.pid());
    assert_eq!(ends(&b_ev), 1, "{b_ev:?}");
    assert!(b_ev.contains(&"process.killed".to_owned()), "{b_ev:?}");
    let c_ev = get(c.pid());
    assert_eq!(ends(&c_ev), 1);
    assert!(c_ev.contains(&"process.exited".to_owned()), "{c_ev:?}");
    let d_ev = get(out.pid.unwrap());
    assert_eq!(ends(&d_ev), 1, "{d_ev:?}");
    assert!(d_ev.contains(&"process.timed_out".to_owned()), "{d_ev:?}");
    let e_ev = get(e.pid());
    assert_eq!(ends(&e_ev), 0);
    assert_eq!(e_ev.last().map(String::as_str), Some("process.released"));
    // Every spawned one starts with process.spawned.
    for list in map.values() {
        assert_eq!(list[0], "process.spawned");
    }
    // The end of `a` carries its exit status, `b` its signal.
    let recs = sink.records();
    let a_end = recs
        .iter()
        .find(|r| r.event == "process.exited" && r.metadata["process.pid"] == a.pid())
        .unwrap();
    assert_eq!(a_end.metadata["process.exit_status"], 3);
    assert_eq!(a_end.metadata["process.cause"], "exited");
    let b_end = recs.iter().find(|r| r.event == "process.killed").unwrap();
    assert_eq!(b_end.metadata["process.signal"], 9);
}

#[test]
fn failures_are_recorded_with_their_reason() {
    let sink = Arc::new(MemorySink::new());
    let cap = layer(&sink, false);
    let e = cap
        .spawn_process(&Command::new("/no/such/program"), &Environment::default())
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::SpawnFailed);
    let recs = sink.records();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].event, "process.spawn_failed");
    assert!(recs[0].metadata["process.reason"]
        .as_str()
        .unwrap()
        .contains("not found"));
    assert_eq!(recs[0].metadata["error.errno"], 2);
    assert_eq!(recs[0].metadata["process.command"][0], "/no/such/program");
}

#[test]
fn redaction_happens_before_the_sink() {
    let sink = Arc::new(MemorySink::new());
    let cap = layer(&sink, false);
    let mut cmd = Command::new(helper());
    cmd.args(["echo", "--password=hunter2", "visible"])
        .env("API_TOKEN", "s3cret")
        .env("PLAIN", "ok")
        .stdout(StdioSpec::Null);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    cap.wait_process(h, None).unwrap();
    let text = sink.to_jsonl();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
    assert!(text.contains("visible"));
    let spawned = &sink.records()[0];
    assert_eq!(spawned.metadata["process.command"][1], "echo");
    assert_eq!(spawned.metadata["process.command"][2], "***");
    assert_eq!(spawned.metadata["process.env"]["API_TOKEN"], "***");
    assert_eq!(spawned.metadata["process.env"]["PLAIN"], "ok");
}

#[test]
fn audit_required_refuses_before_anything_runs() {
    let sink = Arc::new(MemorySink::new());
    sink.fail_with(Some(reml_process::audit::AuditError::new(
        reml_process::audit::AuditErrorKind::Transport,
        "disk gone",
    )));
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("m");
    let cap = layer(&sink, true);
    let e = cap
        .spawn_process(Command::new("touch").arg(&marker), &Environment::default())
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::PermissionDenied);
    assert!(e.message.contains("audit"), "{}", e.message);
    assert!(!marker.exists());
    // Not required: an audit failure does not break the operation.
    let cap = layer(&sink, false);
    let h = cap
        .spawn_process(Command::new("touch").arg(&marker), &Environment::default())
        .unwrap();
    cap.wait_process(h, None).unwrap();
    assert!(marker.exists());
}

#[test]
fn shutdown_reports_leaked_handles() {
    let sink = Arc::new(MemorySink::new());
    let cap = layer(&sink, false);
    let h = cap
        .spawn_process(
            Command::new(helper()).args(["sleep", "0.2"]),
            &Environment::default(),
        )
        .unwrap();
    let t = ProcessCapability::create_thread(
        &cap,
        ThreadStart::new(|_| Ok(())),
        ThreadOptions::default(),
    )
    .unwrap();
    ProcessCapability::join_thread(&cap, t, None).unwrap();
    drop(cap);
    let names = sink.events();
    assert!(names.contains(&"process.leaked".to_owned()), "{names:?}");
    assert!(names.contains(&"thread.created".to_owned()));
    assert!(names.contains(&"thread.joined".to_owned()));
    assert!(names.contains(&"thread.leaked".to_owned()));
    let leaked = sink
        .records()
        .into_iter()
        .find(|r| r.event == "process.leaked")
        .unwrap();
    assert_eq!(leaked.metadata["process.pid"], h.pid());
    // "Leave and reap": the child was not killed, and is reaped when it ends.
    common::eventually(Duration::from_secs(5), "leaked child reaped", || {
        common::proc_state(h.pid()).is_none().then_some(())
    });
}

#[test]
fn audited_process_records_the_whole_run() {
    let sink = Arc::new(MemorySink::new());
    let native = NativeProcessCapability::new();
    let settings = AuditSettings {
        sink: sink.clone(),
        redactor: Redactor::default(),
        required: false,
    };
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "echo hi; exit 4"]).stdout(StdioSpec::Pipe);
    let out = audited_process(
        &native,
        &settings,
        &cmd,
        &Environment::default(),
        &RunOptions {
            collect_output: true,
            ..RunOptions::default()
        },
        None,
    );
    assert_eq!(out.termination.and_then(|t| t.code()), Some(4));
    assert_eq!(out.output.stdout, b"hi\n");
    assert_eq!(
        sink.events(),
        ["process.spawned", "process.exited", "process.released"]
    );
    let end = &sink.records()[1];
    assert_eq!(end.metadata["process.exit_status"], 4);
    assert_eq!(end.metadata["process.command"][0], "/usr/bin/sh");
}

#[test]
fn passed_descriptors_and_timed_out_waits_are_recorded() {
    let sink = Arc::new(MemorySink::new());
    let cap = layer(&sink, false);
    let shm = SharedMemory::create("audited", 64).unwrap();
    let mut cmd = Command::new(helper());
    cmd.args(["sleep", "30"]).pass_fd(shm.fd(), 3);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    let e = cap
        .wait_process(h, Some(Duration::from_millis(50)))
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::TimedOut);
    cap.kill_process(h, Signal::KILL).unwrap();
    cap.wait_process(h, None).unwrap_err();
    let recs = sink.records();
    let spawned = &recs[0];
    assert_eq!(spawned.event, "process.spawned");
    assert_eq!(
        spawned.metadata["process.passed_fds"],
        serde_json::json!([{"fd": 3, "kind": "memfd"}])
    );
    let events: Vec<&str> = recs.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(
        events,
        [
            "process.spawned",
            "process.wait",
            "process.kill",
            "process.timed_out"
        ]
    );
    assert_eq!(recs[1].metadata["process.result"], "timed_out");
    // The end after a timed-out wait and our KILL is the time-limit end, with the signal.
    assert_eq!(recs[3].metadata["process.signal"], 9);
}

/// A whole-tree signal records the pids it reached (`process.targets`); one sent after the
/// tree ended records an empty list and does not count as ours: a process that a foreign
/// signal ended stays `process.exited`, not `process.killed` — as it does when the signal we
/// sent is not the one that ended it.
#[test]
fn tree_kill_records_its_targets_and_an_empty_one_is_not_our_signal() {
    let sink = Arc::new(MemorySink::new());
    let cap = layer(&sink, false);
    let env = Environment::default();
    let mut cmd = Command::new(helper());
    cmd.args(["tree", "2", "100"])
        .stdout(StdioSpec::Null)
        .process_group(ProcessGroup::New);
    let a = cap.spawn_process(&cmd, &env).unwrap();
    let listed = common::eventually(Duration::from_secs(10), "3 processes in the tree", || {
        let t = cap.process_tree(a).unwrap();
        (t.len() == 3).then_some(t)
    });
    let mut sent = cap.kill_process_tree(a, Signal::KILL).unwrap();
    cap.wait_process(a, None).unwrap_err();
    cap.release_process(a).unwrap();

    // A child that a TERM of its own has ended, not yet waited for.
    let ended_by_its_own_term = || {
        let h = cap
            .spawn_process(Command::new(helper()).args(["kill-self", "15"]), &env)
            .unwrap();
        common::eventually(Duration::from_secs(10), "the child has ended", || {
            cap.process_tree(h).unwrap().is_empty().then_some(())
        });
        h
    };

    // The tree signal comes after the end, before the wait.
    let b = ended_by_its_own_term();
    assert_eq!(
        cap.kill_process_tree(b, Signal::KILL).unwrap(),
        Vec::<i32>::new()
    );
    let err = cap.wait_process(b, None).unwrap_err();
    assert_eq!(err.code, Some(15));
    cap.release_process(b).unwrap();

    // A signal that does reach the process (a zombie takes signals) but is not the one that
    // ended it: the end stays foreign.
    let c = ended_by_its_own_term();
    cap.kill_process(c, Signal::USR1).unwrap();
    assert_eq!(cap.wait_process(c, None).unwrap_err().code, Some(15));
    cap.release_process(c).unwrap();

    let recs = sink.records();
    let kill = |pid: i32| {
        recs.iter()
            .find(|r| r.event == "process.kill" && r.metadata["process.pid"] == pid)
            .unwrap_or_else(|| panic!("no process.kill for {pid}"))
    };
    let mut recorded: Vec<i32> =
        serde_json::from_value(kill(a.pid()).metadata["process.targets"].clone()).unwrap();
    recorded.sort_unstable();
    sent.sort_unstable();
    let mut listed = listed;
    listed.sort_unstable();
    assert_eq!(recorded, sent);
    assert_eq!(recorded, listed);
    assert_eq!(
        kill(b.pid()).metadata["process.targets"],
        serde_json::json!([])
    );
    let map = by_pid(&sink);
    assert!(
        map[&(a.pid() as i64)].contains(&"process.killed".to_owned()),
        "{map:?}"
    );
    let b_ev = &map[&(b.pid() as i64)];
    assert_eq!(ends(b_ev), 1, "{b_ev:?}");
    assert!(b_ev.contains(&"process.exited".to_owned()), "{b_ev:?}");
    let c_ev = &map[&(c.pid() as i64)];
    assert!(c_ev.contains(&"process.kill".to_owned()), "{c_ev:?}");
    assert_eq!(ends(c_ev), 1, "{c_ev:?}");
    assert!(c_ev.contains(&"process.exited".to_owned()), "{c_ev:?}");
}
