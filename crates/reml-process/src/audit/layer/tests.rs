//! Unit tests of the audit layer over the mock capability: the records it writes, and the
//! required-audit refusal before the inner capability is called.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::audit::{AuditError, AuditErrorKind, AuditLayer, MemorySink, Redactor};
use crate::capability::mock::{Call, MockCapability, MOCK_START_TIME};
use crate::capability::{ProcessCapability, ScopedRefusal};
use crate::command::{Command, Environment};
use crate::effect::Operation;
use crate::error::ProcessError;
use crate::signal::Signal;
use crate::status::{ExitStatus, Termination};

fn audited<'a>(
    mock: &'a MockCapability,
    sink: &Arc<MemorySink>,
    required: bool,
) -> AuditLayer<&'a MockCapability> {
    AuditLayer::new(mock, sink.clone(), Redactor::default(), required)
}

fn echo() -> Command {
    let mut cmd = Command::new("/bin/echo");
    cmd.args(["hello", "world"]);
    cmd
}

fn spawn(layer: &AuditLayer<&MockCapability>) -> crate::ProcessHandle {
    layer
        .spawn_process(&echo(), &Environment::default())
        .unwrap()
}

/// The metadata of the only record named `event`.
fn only(sink: &MemorySink, event: &str) -> std::collections::BTreeMap<String, Value> {
    let found: Vec<_> = sink
        .records()
        .into_iter()
        .filter(|r| r.event == event)
        .collect();
    assert_eq!(found.len(), 1, "{event} in {:?}", sink.events());
    found.into_iter().next().unwrap().metadata
}

fn sink_failing() -> Arc<MemorySink> {
    let sink = Arc::new(MemorySink::new());
    sink.fail_with(Some(AuditError::new(
        AuditErrorKind::Transport,
        "disk full",
    )));
    sink
}

#[test]
fn a_spawn_is_recorded_with_its_pid_lifecycle_key_and_command_line() {
    let (mock, sink) = (MockCapability::new(), Arc::new(MemorySink::new()));
    let layer = audited(&mock, &sink, false);
    let h = spawn(&layer);
    assert_eq!(sink.events(), ["process.spawned"]);
    let m = only(&sink, "process.spawned");
    assert_eq!(m["process.pid"], json!(h.pid()));
    assert_eq!(m["process.command"], json!(["/bin/echo", "hello", "world"]));
    let id = m["process.id"].as_str().unwrap();
    assert!(
        id.starts_with(&format!("{}:", h.pid())),
        "the lifecycle key starts with the pid: {id}"
    );
    if id.split(':').count() == 3 {
        assert_eq!(
            id.split(':').nth(1),
            Some(MOCK_START_TIME.to_string()).as_deref()
        );
    }
}

#[test]
fn an_exit_is_recorded_once_with_its_status_and_cause() {
    let (mock, sink) = (MockCapability::new(), Arc::new(MemorySink::new()));
    let layer = audited(&mock, &sink, false);
    let h = spawn(&layer);
    mock.script_wait(Ok(Termination::Exited(ExitStatus::from_code(3))));
    assert_eq!(layer.wait_process(h, None).unwrap().code(), 3);
    // Waiting again sees the same end, and writes no second end record.
    assert_eq!(layer.wait_process(h, None).unwrap().code(), 3);
    assert_eq!(sink.events(), ["process.spawned", "process.exited"]);
    let m = only(&sink, "process.exited");
    assert_eq!(m["process.exit_status"], json!(3));
    assert_eq!(m["process.cause"], json!("exited"));
    assert_eq!(m["process.pid"], json!(h.pid()));
}

#[test]
fn an_end_by_a_signal_we_sent_is_process_killed() {
    let (mock, sink) = (MockCapability::new(), Arc::new(MemorySink::new()));
    let layer = audited(&mock, &sink, false);
    let h = spawn(&layer);
    layer.kill_process(h, Signal::TERM).unwrap();
    mock.script_wait(Ok(Termination::Signaled {
        signal: Signal::TERM,
        core_dumped: false,
    }));
    assert!(layer.wait_process(h, None).is_err());
    assert_eq!(
        sink.events(),
        ["process.spawned", "process.kill", "process.killed"]
    );
    assert_eq!(only(&sink, "process.kill")["process.signal"], json!(15));
    let m = only(&sink, "process.killed");
    assert_eq!(m["process.signal"], json!(15));
    assert_eq!(m["process.cause"], json!("signaled"));
    assert_eq!(m["process.exit_status"], Value::Null);
}

#[test]
fn an_end_by_a_signal_nobody_sent_is_process_exited() {
    let (mock, sink) = (MockCapability::new(), Arc::new(MemorySink::new()));
    let layer = audited(&mock, &sink, false);
    let h = spawn(&layer);
    mock.script_wait(Ok(Termination::Signaled {
        signal: Signal::SEGV,
        core_dumped: true,
    }));
    assert!(layer.wait_process(h, None).is_err());
    let m = only(&sink, "process.exited");
    assert_eq!(m["process.signal"], json!(Signal::SEGV.number()));
    assert_eq!(m["process.cause"], json!("signaled"));
}

#[test]
fn a_timed_out_wait_then_a_kill_ends_as_process_timed_out() {
    let (mock, sink) = (MockCapability::new(), Arc::new(MemorySink::new()));
    let layer = audited(&mock, &sink, false);
    let h = spawn(&layer);
    mock.script_wait(Err(ProcessError::new(
        crate::ProcessErrorKind::TimedOut,
        "timed out",
    )));
    let e = layer
        .wait_process(h, Some(std::time::Duration::from_millis(1)))
        .unwrap_err();
    assert_eq!(e.kind, crate::ProcessErrorKind::TimedOut);
    assert_eq!(
        only(&sink, "process.wait")["process.result"],
        json!("timed_out")
    );
    layer.kill_process_tree(h, Signal::KILL).unwrap();
    mock.script_wait(Ok(Termination::Signaled {
        signal: Signal::KILL,
        core_dumped: false,
    }));
    assert!(layer.wait_process(h, None).is_err());
    let m = only(&sink, "process.timed_out");
    assert_eq!(m["process.cause"], json!("timed_out"));
    let kill = only(&sink, "process.kill");
    assert_eq!(kill["process.targets"], json!([h.pid()]));
    assert_eq!(kill["process.group"], json!(true));
}

#[test]
fn a_refused_spawn_is_process_denied_and_a_failed_one_process_spawn_failed() {
    let (mock, sink) = (MockCapability::new(), Arc::new(MemorySink::new()));
    let layer = audited(&mock, &sink, false);
    mock.script_spawn(Err(ProcessError::denied_by_policy("not on the list")));
    assert!(layer
        .spawn_process(&echo(), &Environment::default())
        .is_err());
    mock.script_spawn(Err(ProcessError::from_errno("cannot exec", libc::ENOENT)));
    assert!(layer
        .spawn_process(&echo(), &Environment::default())
        .is_err());
    assert_eq!(sink.events(), ["process.denied", "process.spawn_failed"]);
    let denied = only(&sink, "process.denied");
    assert_eq!(denied["process.reason"], json!("not on the list"));
    assert_eq!(
        denied["process.command"],
        json!(["/bin/echo", "hello", "world"])
    );
    assert!(!denied.contains_key("process.pid"));
    let failed = only(&sink, "process.spawn_failed");
    assert_eq!(failed["error.errno"], json!(libc::ENOENT));
}

#[test]
fn a_required_log_that_cannot_be_written_refuses_the_spawn_before_the_inner_is_called() {
    let (mock, sink) = (MockCapability::new(), sink_failing());
    let layer = audited(&mock, &sink, true);
    let e = layer
        .spawn_process(&echo(), &Environment::default())
        .unwrap_err();
    assert!(e.is_audit_failure(), "{e:?}");
    assert!(e.message.starts_with("spawn refused"), "{}", e.message);
    assert!(mock.calls().is_empty(), "{:?}", mock.calls());
    let failure = layer.audit_failure().expect("the failure is reported");
    assert!(failure.required);
    // A thread neither: the gate names the operation it refused.
    let t = crate::ThreadCapability::create_thread(
        &layer,
        crate::ThreadStart::new(|_| Ok(())),
        crate::ThreadOptions::default(),
    )
    .unwrap_err();
    assert!(
        t.message.starts_with("create_thread refused"),
        "{}",
        t.message
    );
}

#[test]
fn a_log_that_is_not_required_lets_the_spawn_go_and_reports_the_loss() {
    let (mock, sink) = (MockCapability::new(), sink_failing());
    let layer = audited(&mock, &sink, false);
    spawn(&layer);
    assert_eq!(mock.spawns().len(), 1);
    assert!(!layer.audit_failure().unwrap().required);
}

#[test]
fn a_required_log_is_proven_once_before_the_first_spawn() {
    let (mock, sink) = (MockCapability::new(), Arc::new(MemorySink::new()));
    let layer = audited(&mock, &sink, true);
    spawn(&layer);
    spawn(&layer);
    assert_eq!(
        sink.events(),
        ["capability.verified", "process.spawned", "process.spawned"]
    );
}

#[test]
fn ending_what_runs_is_never_refused_when_the_required_log_fails() {
    let (mock, sink) = (MockCapability::new(), Arc::new(MemorySink::new()));
    let layer = audited(&mock, &sink, true);
    let h = spawn(&layer);
    sink.fail_with(Some(AuditError::new(
        AuditErrorKind::Transport,
        "disk full",
    )));
    layer.kill_process(h, Signal::TERM).unwrap();
    layer.enforce_limit(h, Signal::KILL).unwrap();
    layer.wait_process(h, None).unwrap();
    layer.release_process(h).unwrap();
    let pid = h.pid();
    assert!(mock.calls().contains(&Call::Kill {
        pid,
        signal: Signal::TERM
    }));
    assert!(mock.calls().contains(&Call::EnforceLimit {
        pid,
        signal: Signal::KILL
    }));
    assert!(mock.calls().contains(&Call::Release { pid }));
    // But nothing new starts.
    assert!(layer
        .spawn_process(&echo(), &Environment::default())
        .unwrap_err()
        .is_audit_failure());
    assert_eq!(mock.spawns().len(), 1);
}

#[test]
fn limit_enforcement_is_recorded_as_an_enforced_kill() {
    let (mock, sink) = (MockCapability::new(), Arc::new(MemorySink::new()));
    let layer = audited(&mock, &sink, false);
    let h = spawn(&layer);
    layer.enforce_limit(h, Signal::KILL).unwrap();
    let m = only(&sink, "process.kill");
    assert_eq!(m["process.enforced"], json!(true));
    assert_eq!(m["process.signal"], json!(9));
    assert_eq!(m["process.targets"], json!([h.pid()]));
}

#[test]
fn a_scoped_refusal_is_recorded_with_its_operation_and_scope() {
    let (mock, sink) = (MockCapability::new(), Arc::new(MemorySink::new()));
    let layer = audited(&mock, &sink, false);
    let error = ProcessError::denied_by_policy("signal HUP is not allowed");
    layer.record_refusal(&ScopedRefusal {
        scope: "core.process/job-7",
        operation: Operation::KillProcess,
        program: "/bin/sleep".into(),
        command: vec!["/bin/sleep".into(), "60".into()],
        error: &error,
    });
    layer.record_refusal(&ScopedRefusal {
        scope: "core.process/job-7",
        operation: Operation::SpawnProcess { passes_fds: false },
        program: "/bin/sh".into(),
        command: vec!["/bin/sh".into()],
        error: &error,
    });
    let records = sink.records();
    assert_eq!(sink.events(), ["process.denied", "process.denied"]);
    let kill = &records[0].metadata;
    assert_eq!(kill["process.operation"], json!("kill_process"));
    assert_eq!(kill["capability.scope"], json!("core.process/job-7"));
    assert_eq!(kill["capability.parent"], json!("core.process"));
    let spawn = &records[1].metadata;
    assert_eq!(records[1].subject, "/bin/sh");
    assert_eq!(spawn["capability.scope"], json!("core.process/job-7"));
    assert!(!spawn.contains_key("process.operation"));
    // The audit layer writes it; nothing is handed further in.
    assert!(mock.calls().is_empty());
}

#[test]
fn a_release_is_recorded_and_a_handle_still_held_at_drop_is_leaked() {
    let (mock, sink) = (MockCapability::new(), Arc::new(MemorySink::new()));
    let layer = audited(&mock, &sink, false);
    let a = spawn(&layer);
    let b = spawn(&layer);
    layer.release_process(a).unwrap();
    let released = only(&sink, "process.released");
    assert_eq!(released["process.pid"], json!(a.pid()));
    assert_eq!(released["process.ended"], json!(false));
    drop(layer);
    let leaked = only(&sink, "process.leaked");
    assert_eq!(leaked["process.pid"], json!(b.pid()));
}

#[test]
fn arguments_matching_a_redaction_pattern_are_masked_before_the_sink() {
    let (mock, sink) = (MockCapability::new(), Arc::new(MemorySink::new()));
    let layer = AuditLayer::new(&mock, sink.clone(), Redactor::new(["world"]), false);
    spawn(&layer);
    let m = only(&sink, "process.spawned");
    assert_eq!(m["process.command"], json!(["/bin/echo", "hello", "***"]));
    // The inner capability got the real command.
    assert_eq!(mock.spawns()[0].command_line[2], "world");
}

#[test]
fn a_guard_denial_under_audit_is_recorded_and_reaches_nothing() {
    let mock = MockCapability::new();
    let sink = Arc::new(MemorySink::new());
    let policy = crate::policy::Policy::from_toml_str("[commands]\nallow = []\n").unwrap();
    let stack = AuditLayer::new(
        crate::stack::guard_over(&mock, Arc::new(policy)),
        sink.clone(),
        Redactor::default(),
        false,
    );
    let exe = std::env::current_exe().unwrap();
    assert!(stack
        .spawn_process(&Command::new(&exe), &Environment::default())
        .unwrap_err()
        .is_policy_denial());
    assert_eq!(sink.events(), ["process.denied"]);
    assert!(mock.calls().is_empty());
}

#[test]
fn a_refused_run_check_is_recorded_as_process_denied() {
    let (mock, sink) = (MockCapability::new(), Arc::new(MemorySink::new()));
    let layer = audited(&mock, &sink, false);
    let plan = crate::RunPlan {
        signal: Signal::TERM,
        caller_limit: true,
        collect_output: false,
    };
    layer.check_run(&echo(), &plan).unwrap();
    assert!(sink.is_empty(), "an accepted plan writes nothing");
    mock.script_run(Err(ProcessError::denied_by_policy("TERM is not allowed")));
    assert!(layer.check_run(&echo(), &plan).is_err());
    let m = only(&sink, "process.denied");
    assert_eq!(m["process.reason"], json!("TERM is not allowed"));
    assert_eq!(mock.calls().len(), 2);
}

#[test]
fn thread_calls_are_recorded_and_a_thread_still_held_at_drop_is_leaked() {
    // Through the process capability's thread calls (its `threads()`, the audit layer's).
    let (mock, sink) = (MockCapability::new(), Arc::new(MemorySink::new()));
    let layer = audited(&mock, &sink, false);
    let options = crate::ThreadOptions {
        name: Some("worker".into()),
        ..crate::ThreadOptions::default()
    };
    let t = layer
        .create_thread(crate::ThreadStart::new(|_| Ok(())), options)
        .unwrap();
    layer
        .set_thread_affinity(t, &crate::CpuSet::from_cpus(&[0]))
        .unwrap();
    layer.join_thread(t, None).unwrap();
    // A joined handle is still held until it is released (spec §1: release is explicit).
    crate::ThreadCapability::release_thread(&layer, t).unwrap();
    let kept = layer
        .create_thread(
            crate::ThreadStart::new(|_| Ok(())),
            crate::ThreadOptions::default(),
        )
        .unwrap();
    drop(layer);
    assert_eq!(
        sink.events(),
        [
            "thread.created",
            "thread.affinity_set",
            "thread.joined",
            "thread.created",
            "thread.leaked"
        ]
    );
    let created = &sink.records()[0];
    assert_eq!(created.subject, "worker");
    assert_eq!(created.metadata["thread.name"], json!("worker"));
    assert_eq!(sink.records()[1].metadata["thread.affinity"], json!([0]));
    assert_eq!(
        sink.records()[4].metadata["thread.id"],
        json!(kept.to_string())
    );
}
