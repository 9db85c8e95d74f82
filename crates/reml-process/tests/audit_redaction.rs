//! `[audit] redact` patterns mask arguments and environment values before any sink sees them.

use std::sync::{Arc, Mutex};

use reml_process::audit::{
    domains, events, keys, AuditContext, AuditError, AuditEvent, AuditSink, JsonLinesSink,
    MemorySink, RedactingSink, Redactor,
};
use serde_json::json;

const SECRETS: [&str; 3] = ["hunter2", "ghp_abc123", "s3cr3t"];

/// A sink that keeps the events exactly as handed to it, before any serialisation.
#[derive(Default)]
struct Spy(Mutex<Vec<AuditEvent>>);

impl AuditSink for Spy {
    fn write(&self, event: &AuditEvent) -> Result<(), AuditError> {
        self.0.lock().unwrap().push(event.clone());
        Ok(())
    }
}

fn payload() -> serde_json::Value {
    json!({
        keys::PROCESS_PID: 42,
        keys::PROCESS_ENV: {"GITHUB_TOKEN": "ghp_abc123", "LANG": "C"},
    })
}

fn command() -> serde_json::Value {
    json!([
        "/usr/bin/tool",
        "--password=hunter2",
        "--user",
        "bob",
        "API_TOKEN=s3cr3t"
    ])
}

fn assert_masked(metadata: &std::collections::BTreeMap<String, serde_json::Value>) {
    assert_eq!(
        metadata[keys::PROCESS_COMMAND],
        json!(["/usr/bin/tool", "***", "--user", "bob", "***"])
    );
    assert_eq!(
        metadata[keys::PROCESS_ENV],
        json!({"GITHUB_TOKEN": "***", "LANG": "C"})
    );
    let text = serde_json::to_string(metadata).unwrap();
    for s in SECRETS {
        assert!(!text.contains(s), "{s} leaked: {text}");
    }
}

#[test]
fn context_masks_before_the_sink_sees_the_event() {
    let spy = Arc::new(Spy::default());
    let memory = Arc::new(MemorySink::new());
    let ctx = AuditContext::new(domains::PROCESS, "/usr/bin/tool")
        .with_sink(Arc::new(reml_process::MultiSink::new(vec![
            spy.clone(),
            memory.clone(),
        ])))
        .with_redactor(Redactor::new(["--password=*", "*_TOKEN"]))
        .with_metadata(keys::PROCESS_COMMAND, command());
    ctx.log(events::PROCESS_SPAWNED, payload()).unwrap();

    let seen = spy.0.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_masked(&seen[0].metadata);
    assert_masked(&memory.records()[0].metadata);
    for s in SECRETS {
        assert!(!memory.to_jsonl().contains(s));
    }
}

#[test]
fn redacting_sink_masks_every_context_writing_through_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let file = Arc::new(JsonLinesSink::open(&path).unwrap());
    let sink: Arc<dyn AuditSink> = Arc::new(RedactingSink::new(
        file,
        Redactor::new(["--password=*", "*_TOKEN"]),
    ));
    // No redactor on the context itself.
    let ctx = AuditContext::new(domains::PROCESS, "/usr/bin/tool")
        .with_sink(sink)
        .with_metadata(keys::PROCESS_COMMAND, command());
    ctx.log(events::PROCESS_SPAWNED, payload()).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    for s in SECRETS {
        assert!(!text.contains(s), "{s} leaked: {text}");
    }
    assert!(text.contains("\"GITHUB_TOKEN\":\"***\""), "{text}");
}

#[test]
fn without_patterns_nothing_is_masked() {
    let memory = Arc::new(MemorySink::new());
    let ctx = AuditContext::new(domains::PROCESS, "/usr/bin/tool")
        .with_sink(memory.clone())
        .with_redactor(Redactor::new(Vec::<String>::new()))
        .with_metadata(keys::PROCESS_COMMAND, command());
    ctx.log(events::PROCESS_SPAWNED, payload()).unwrap();
    assert!(memory.to_jsonl().contains("hunter2"));
}
