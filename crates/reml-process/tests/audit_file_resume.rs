//! The file sink resumes the chain across reopen, recovers a torn tail left by a crash,
//! refuses to continue a file that is not a log, and reports a deleted file.

use std::io::Write;
use std::path::Path;

use reml_process::audit::{
    events, keys, line_hash, verify_log, AuditErrorKind, AuditEvent, AuditRecord, AuditSink,
    JsonLinesSink, LineFault, TornRegion, VerifyError,
};
use serde_json::Value;

fn event(i: u64) -> AuditEvent {
    AuditEvent::new("process", "/bin/x", events::PROCESS_SPAWNED)
        .with_metadata(keys::PROCESS_PID, 100 + i)
        .with_metadata(keys::PROCESS_COMMAND, vec!["/bin/x"])
}

fn write_n(path: &Path, n: u64) {
    let sink = JsonLinesSink::open(path).unwrap();
    for i in 0..n {
        sink.write(&event(i)).unwrap();
    }
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn append_raw(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

/// The line the next record (seq `seq`) would be, chained after `last`.
fn next_line(seq: u64, last: &str) -> String {
    AuditRecord::seal(&event(seq), seq, &line_hash(last.as_bytes()))
        .unwrap()
        .to_line()
        .unwrap()
}

#[test]
fn chain_resumes_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    write_n(&path, 3);
    let sink = JsonLinesSink::open(&path).unwrap();
    assert_eq!(sink.next_seq().unwrap(), 4);
    sink.write(&event(3)).unwrap();
    drop(sink);
    write_n(&path, 2);
    let l = lines(&path);
    let seqs: Vec<u64> = l
        .iter()
        .map(|x| AuditRecord::parse_line(x.as_bytes()).unwrap().seq)
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    assert_eq!(verify_log(&path).unwrap().records, 6);
}

#[test]
fn two_sinks_on_one_file_keep_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let a = JsonLinesSink::open(&path).unwrap();
    let b = JsonLinesSink::open(&path).unwrap();
    for i in 0..5 {
        a.write(&event(i)).unwrap();
        b.write(&event(i)).unwrap();
        b.write(&event(i)).unwrap();
    }
    assert_eq!(verify_log(&path).unwrap().records, 15);
}

#[test]
fn torn_last_line_is_reported_then_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    write_n(&path, 3);
    let last = lines(&path).pop().unwrap();
    let torn = &next_line(4, &last)[..57];
    append_raw(&path, torn.as_bytes());

    // The torn line is named as such, and every complete line before it verified.
    match verify_log(&path) {
        Err(VerifyError::BadLine {
            line: 4,
            fault: LineFault::IncompleteLastLine { parses: false },
            verified: 3,
        }) => {}
        other => panic!("{other:?}"),
    }

    // Reopening recovers: the torn bytes stay, ended by a newline, followed by a recovery
    // record chained to record 3; the next record follows it.
    let sink = JsonLinesSink::open(&path).unwrap();
    sink.write(&event(9)).unwrap();
    let l = lines(&path);
    assert_eq!(l.len(), 6);
    assert_eq!(l[3], torn);
    let rec = AuditRecord::parse_line(l[4].as_bytes()).unwrap();
    assert_eq!(rec.event, events::AUDIT_RECOVERED);
    assert_eq!(rec.seq, 4);
    assert_eq!(rec.prev, line_hash(l[2].as_bytes()));
    assert_eq!(rec.metadata[keys::AUDIT_TORN_BYTES], 57);
    assert_eq!(
        rec.metadata[keys::AUDIT_TORN_SHA256],
        Value::from(line_hash(torn.as_bytes()))
    );
    let summary = verify_log(&path).unwrap();
    assert_eq!(summary.records, 5);
    assert_eq!(summary.lines, 6);
    assert_eq!(
        summary.torn_regions,
        [TornRegion {
            first_line: 4,
            last_line: 4,
            bytes: 57
        }]
    );
    assert_eq!(
        summary.to_string(),
        "ok: 5 records (1 torn line recovered: line 4)"
    );

    // The recovery vouches for those exact bytes: changing them is detected at that line.
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen(torn, &torn.replace("seq", "SEQ"), 1);
    std::fs::write(&path, edited).unwrap();
    match verify_log(&path) {
        Err(VerifyError::BadLine { line: 4, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_crash_during_recovery_is_recovered_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    write_n(&path, 2);
    let last = lines(&path).pop().unwrap();
    let full = next_line(3, &last);
    // A torn record, then a torn recovery record after its newline.
    append_raw(
        &path,
        format!("{}\n{}", &full[..40], &full[..15]).as_bytes(),
    );
    write_n(&path, 1);
    let summary = verify_log(&path).unwrap();
    assert_eq!(summary.records, 4); // 2 + recovery + 1
    assert_eq!(summary.torn_regions.len(), 1);
    assert_eq!(
        (
            summary.torn_regions[0].first_line,
            summary.torn_regions[0].last_line
        ),
        (3, 4)
    );
}

#[test]
fn complete_record_missing_its_newline_is_just_terminated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    write_n(&path, 2);
    let last = lines(&path).pop().unwrap();
    append_raw(&path, next_line(3, &last).as_bytes());
    match verify_log(&path) {
        Err(VerifyError::BadLine {
            line: 3,
            fault: LineFault::IncompleteLastLine { parses: true },
            verified: 2,
        }) => {}
        other => panic!("{other:?}"),
    }
    write_n(&path, 1);
    let summary = verify_log(&path).unwrap();
    assert_eq!(summary.records, 4);
    assert!(summary.torn_regions.is_empty());
}

#[test]
fn torn_first_line_is_recovered_from_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let first = AuditRecord::seal(&event(0), 1, reml_process::audit::GENESIS_PREV)
        .unwrap()
        .to_line()
        .unwrap();
    std::fs::write(&path, &first[..33]).unwrap();
    write_n(&path, 1);
    let summary = verify_log(&path).unwrap();
    assert_eq!(summary.records, 2);
    assert_eq!(summary.torn_regions[0].first_line, 1);
}

#[test]
fn a_file_that_is_not_a_log_is_not_continued() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "hello\n").unwrap();
    let err = JsonLinesSink::open(&path).err().unwrap();
    assert_eq!(err.kind, AuditErrorKind::Encoding);
    assert!(err.message.contains("not an audit record"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello\n");

    // The same once the sink is open: another writer spoils the file.
    let path = dir.path().join("a.jsonl");
    let sink = JsonLinesSink::open(&path).unwrap();
    sink.write(&event(0)).unwrap();
    append_raw(&path, b"{\"forged\": true}\n");
    assert_eq!(sink.check().unwrap_err().kind, AuditErrorKind::Encoding);
    assert_eq!(
        sink.write(&event(1)).unwrap_err().kind,
        AuditErrorKind::Encoding
    );
}

#[test]
fn check_reports_a_deleted_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let sink = JsonLinesSink::open(&path).unwrap();
    sink.check().unwrap();
    sink.write(&event(0)).unwrap();
    std::fs::remove_file(&path).unwrap();
    let err = sink.check().unwrap_err();
    assert_eq!(err.kind, AuditErrorKind::Transport);
    assert!(err.message.contains("deleted"), "{err}");
    assert_eq!(
        sink.write(&event(1)).unwrap_err().kind,
        AuditErrorKind::Transport
    );
}

#[test]
fn unopenable_path_is_a_transport_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = JsonLinesSink::open(dir.path().join("missing-dir/a.jsonl"))
        .err()
        .unwrap();
    assert_eq!(err.kind, AuditErrorKind::Transport);
    assert!(err.message.contains("missing-dir"), "{err}");
}

#[cfg(unix)]
#[test]
fn new_log_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    JsonLinesSink::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o077, 0, "mode {mode:o}");
}
