//! Concurrent writers — threads sharing one sink, threads with their own sinks on the same
//! file, and separate processes — produce one valid chain with every record exactly once.
//!
//! The writer processes are this test binary re-invoked (`child_writer`, run only when
//! `REML_AUDIT_WRITER` is set).

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use reml_process::audit::{verify_log, AuditEvent, AuditRecord, AuditSink, JsonLinesSink};

fn event(writer: &str, i: u64) -> AuditEvent {
    AuditEvent::new("process", "/bin/x", "process.spawned")
        .with_metadata("test.writer", writer)
        .with_metadata("test.i", i)
}

/// Checks the log holds `0..per_writer` for each writer, each exactly once and in order.
fn assert_all_records(path: &Path, writers: &[String], per_writer: u64) {
    let summary = verify_log(path).unwrap();
    assert_eq!(summary.records, writers.len() as u64 * per_writer);
    let mut next: HashMap<String, u64> = writers.iter().map(|w| (w.clone(), 0)).collect();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let rec = AuditRecord::parse_line(line.as_bytes()).unwrap();
        let w = rec.metadata["test.writer"].as_str().unwrap().to_owned();
        let i = rec.metadata["test.i"].as_u64().unwrap();
        let expected = next.get_mut(&w).unwrap();
        assert_eq!(i, *expected, "writer {w} out of order");
        *expected += 1;
    }
    assert!(next.values().all(|&n| n == per_writer), "{next:?}");
}

#[test]
fn threads_sharing_one_sink_and_threads_with_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let shared = Arc::new(JsonLinesSink::open(&path).unwrap());
    const PER: u64 = 200;
    let mut names = Vec::new();
    let mut handles = Vec::new();
    for t in 0..6 {
        let name = format!("shared-{t}");
        names.push(name.clone());
        let sink = shared.clone();
        handles.push(std::thread::spawn(move || {
            for i in 0..PER {
                sink.write(&event(&name, i)).unwrap();
            }
        }));
    }
    for t in 0..2 {
        let name = format!("own-{t}");
        names.push(name.clone());
        let path = path.clone();
        handles.push(std::thread::spawn(move || {
            let sink = JsonLinesSink::open(&path).unwrap();
            for i in 0..PER {
                sink.write(&event(&name, i)).unwrap();
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    assert_all_records(&path, &names, PER);
}

#[test]
fn processes_appending_to_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    const PER: u64 = 150;
    let exe = std::env::current_exe().unwrap();
    let mut children = Vec::new();
    let mut names = Vec::new();
    for p in 0..3 {
        let name = format!("proc-{p}");
        names.push(name.clone());
        children.push(
            Command::new(&exe)
                .args(["--ignored", "--exact", "child_writer", "--nocapture"])
                .env("REML_AUDIT_WRITER", &path)
                .env("REML_AUDIT_WRITER_NAME", &name)
                .env("REML_AUDIT_WRITER_COUNT", PER.to_string())
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    assert_all_records(&path, &names, PER);
}

/// Not a test: the writer process of `processes_appending_to_one_file`.
#[test]
#[ignore = "helper process, run by processes_appending_to_one_file"]
fn child_writer() {
    let Some(path) = std::env::var_os("REML_AUDIT_WRITER") else {
        return;
    };
    let name = std::env::var("REML_AUDIT_WRITER_NAME").unwrap();
    let count: u64 = std::env::var("REML_AUDIT_WRITER_COUNT")
        .unwrap()
        .parse()
        .unwrap();
    let sink = JsonLinesSink::open(&path).unwrap();
    for i in 0..count {
        sink.write(&event(&name, i)).unwrap();
    }
}
