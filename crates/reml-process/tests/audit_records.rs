//! Every record carries every field of `docs/audit-log.md` in order, in the right shape, and the
//! metadata its event requires; the chain links them.

use std::collections::HashSet;
use std::sync::Arc;

use reml_process::audit::{
    domains, events, keys, line_hash, verify_log, AuditContext, AuditRecord, AuditSink,
    JsonLinesOptions, JsonLinesSink, GENESIS_PREV, RECORD_FIELDS,
};
use reml_process::Severity;
use serde_json::{json, Value};

/// Logs one record of every documented event through contexts that refuse incomplete events.
fn log_every_event(sink: Arc<dyn AuditSink>) {
    let cmd = json!(["/usr/bin/echo", "hi"]);
    let p = AuditContext::new(domains::PROCESS, "/usr/bin/echo")
        .with_sink(sink.clone())
        .with_metadata(keys::PROCESS_COMMAND, cmd)
        .require_keys(true);
    p.log(events::PROCESS_SPAWNED, json!({keys::PROCESS_PID: 4242}))
        .unwrap();
    p.log(
        events::PROCESS_EXITED,
        json!({keys::PROCESS_PID: 4242, keys::PROCESS_EXIT_STATUS: 0, keys::PROCESS_DURATION_MS: 1.9}),
    )
    .unwrap();
    p.log_with_severity(
        events::PROCESS_TIMED_OUT,
        Severity::Warning,
        json!({keys::PROCESS_PID: 4243, keys::PROCESS_SIGNAL: 15}),
    )
    .unwrap();
    p.log(
        events::PROCESS_KILLED,
        json!({keys::PROCESS_PID: 4244, keys::PROCESS_SIGNAL: 9}),
    )
    .unwrap();
    p.log_with_severity(
        events::PROCESS_DENIED,
        Severity::Error,
        json!({keys::PROCESS_REASON: "not in the allow-list"}),
    )
    .unwrap();
    p.log_diagnostic(
        events::PROCESS_SPAWN_FAILED,
        reml_process::ProcessError::from_errno("spawn /usr/bin/echo", 2),
    )
    .unwrap();
    p.log(events::PROCESS_RELEASED, json!({keys::PROCESS_PID: 4245}))
        .unwrap();
    p.log(events::PROCESS_LEAKED, json!({keys::PROCESS_PID: 4246}))
        .unwrap();
    let t = AuditContext::new(domains::THREAD, "worker-1")
        .with_sink(sink.clone())
        .with_metadata(keys::THREAD_ID, 1)
        .require_keys(true);
    t.log(events::THREAD_CREATED, Value::Null).unwrap();
    t.log(
        events::THREAD_AFFINITY_SET,
        json!({keys::THREAD_AFFINITY: [0, 1]}),
    )
    .unwrap();
    t.log(events::THREAD_JOINED, Value::Null).unwrap();
    let c = AuditContext::new(domains::CAPABILITY, "core.process")
        .with_sink(sink)
        .with_metadata(keys::CAPABILITY_ID, "core.process")
        .require_keys(true);
    c.log(events::CAPABILITY_REGISTERED, Value::Null).unwrap();
    c.log(events::CAPABILITY_VERIFIED, Value::Null).unwrap();
}

#[test]
fn file_records_have_every_documented_field_and_required_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = Arc::new(JsonLinesSink::open_with(&path, JsonLinesOptions { fsync: true }).unwrap());
    log_every_event(sink);

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 13);
    let mut ids = HashSet::new();
    let mut prev = GENESIS_PREV.to_owned();
    let mut seen_events = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        // Exactly the ten fields, in the documented order.
        let obj: serde_json::Map<String, Value> = serde_json::from_str(line).unwrap();
        let mut names: Vec<&str> = obj.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut want = RECORD_FIELDS.to_vec();
        want.sort_unstable();
        assert_eq!(names, want, "line {}", i + 1);
        let pos: Vec<usize> = RECORD_FIELDS
            .iter()
            .map(|f| line.find(&format!("\"{f}\":")).unwrap())
            .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "field order: {line}");

        let rec = AuditRecord::parse_line(line.as_bytes()).unwrap();
        assert_eq!(rec.seq, i as u64 + 1);
        assert_eq!(rec.prev, prev, "line {}", i + 1);
        prev = line_hash(line.as_bytes());
        assert_eq!(rec.capability, "core.process");
        assert_eq!(rec.ts.len(), "2026-11-29T08:00:00.123456Z".len());
        assert!(rec.ts.ends_with('Z') && rec.ts.as_bytes()[19] == b'.');
        assert!(ids.insert(rec.audit_id.clone()), "audit_id repeated");
        rec.check_required_keys()
            .unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        seen_events.push(rec.event.clone());
    }
    // Every event of `docs/audit-log.md` is present.
    for ev in &events::ALL[..13] {
        assert!(seen_events.iter().any(|e| e == ev), "{ev} missing");
    }
    let exited = AuditRecord::parse_line(lines[1].as_bytes()).unwrap();
    assert_eq!(exited.metadata[keys::PROCESS_PID], 4242);
    assert_eq!(
        exited.metadata[keys::PROCESS_COMMAND],
        json!(["/usr/bin/echo", "hi"])
    );
    assert_eq!(exited.metadata[keys::PROCESS_EXIT_STATUS], 0);
    let failed = AuditRecord::parse_line(lines[5].as_bytes()).unwrap();
    assert_eq!(failed.severity, Severity::Error);
    assert_eq!(
        failed.metadata[keys::ERROR_CODE],
        "core.process.spawn_failed"
    );

    let summary = verify_log(&path).unwrap();
    assert_eq!(summary.records, 13);
    assert_eq!(summary.head, prev);
}

#[test]
fn strict_context_refuses_an_end_without_status() {
    let sink = Arc::new(reml_process::MemorySink::new());
    let p = AuditContext::new(domains::PROCESS, "/bin/true")
        .with_sink(sink.clone())
        .with_metadata(keys::PROCESS_COMMAND, json!(["/bin/true"]))
        .require_keys(true);
    let err = p
        .log(events::PROCESS_EXITED, json!({keys::PROCESS_PID: 1}))
        .unwrap_err();
    assert_eq!(err.kind, reml_process::AuditErrorKind::PolicyViolation);
    assert!(err.message.contains("process.exit_status"), "{err}");
    assert!(sink.is_empty(), "a refused event reaches no sink");
}
