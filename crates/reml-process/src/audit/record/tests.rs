//! Unit tests of the record shapes: a draft and sealing give the same line, timestamps, the
//! documented field order round trip, parse faults named, the line hash, diagnostics as events.

use super::*;
use std::time::{Duration, UNIX_EPOCH};

#[test]
fn a_draft_gives_the_same_line_as_sealing() {
    let events = [
        AuditEvent::new("process", "/usr/bin/echo", "process.exited")
            .with_metadata("process.pid", 4242)
            .with_metadata("process.command", vec!["/usr/bin/echo", "h\"i\n\u{1}é"])
            .with_metadata("process.exit_status", 0),
        AuditEvent::new("audit", "a \"quoted\" path\\x", "audit.recovered")
            .with_severity(Severity::Warning),
        AuditEvent::new("process", "", "process.spawned").with_severity(Severity::Error),
    ];
    let prevs = [GENESIS_PREV.to_string(), line_hash(b"anything")];
    for ev in &events {
        let draft = Draft::new(ev).unwrap();
        for seq in [FIRST_SEQ, 9, 10, 12_345, u64::MAX] {
            for prev in &prevs {
                let chain = Chain {
                    next_seq: seq,
                    prev: prev.clone(),
                };
                let sealed = chain.seal(ev).unwrap().1;
                assert_eq!(chain.line_of(&draft).unwrap(), sealed);
                let rec = AuditRecord::parse_line(sealed.as_bytes()).unwrap();
                assert_eq!((rec.seq, rec.prev.as_str()), (seq, prev.as_str()));
            }
        }
    }
}

#[test]
fn timestamp_has_microseconds_and_z() {
    let t = UNIX_EPOCH + Duration::from_micros(1_795_939_200_123_456);
    assert_eq!(format_timestamp(t).unwrap(), "2026-11-29T08:00:00.123456Z");
    assert!(is_timestamp("2026-11-29T08:00:00.123456Z"));
    assert!(!is_timestamp("2026-11-29T08:00:00.123Z"));
    assert!(!is_timestamp("2026-11-29 08:00:00.123456Z"));
}

#[test]
fn record_round_trips_with_the_documented_field_order() {
    let ev = AuditEvent::new("process", "/usr/bin/echo", "process.exited")
        .with_metadata("process.pid", 4242)
        .with_metadata("process.command", vec!["/usr/bin/echo", "hi"])
        .with_metadata("process.exit_status", 0);
    let rec = AuditRecord::seal(&ev, 7, GENESIS_PREV).unwrap();
    let line = rec.to_line().unwrap();
    assert!(line.starts_with("{\"seq\":7,\"ts\":\""), "{line}");
    let positions: Vec<usize> = RECORD_FIELDS
        .iter()
        .map(|f| line.find(&format!("\"{f}\":")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{line}");
    assert!(line.contains("\"capability\":\"core.process\""));
    assert!(line.contains("\"severity\":\"info\""));
    assert!(!line.contains('\n'));
    let parsed = AuditRecord::parse_line(line.as_bytes()).unwrap();
    assert_eq!(parsed, rec);
}

#[test]
fn parse_names_the_fault() {
    let ev = AuditEvent::new("process", "/bin/x", "process.spawned");
    let line = AuditRecord::seal(&ev, 1, GENESIS_PREV)
        .unwrap()
        .to_line()
        .unwrap();
    let mut v: Value = serde_json::from_str(&line).unwrap();
    v.as_object_mut().unwrap().remove("prev");
    assert_eq!(
        AuditRecord::parse_line(v.to_string().as_bytes()),
        Err(LineFault::MissingField("prev"))
    );
    let bad = line.replace("\"severity\":\"info\"", "\"severity\":\"loud\"");
    assert!(matches!(
        AuditRecord::parse_line(bad.as_bytes()),
        Err(LineFault::InvalidField {
            field: "severity",
            ..
        })
    ));
    let extra = line.replacen('{', "{\"x\":1,", 1);
    assert_eq!(
        AuditRecord::parse_line(extra.as_bytes()),
        Err(LineFault::UnexpectedField("x".into()))
    );
    assert_eq!(
        AuditRecord::parse_line(b"[1,2]"),
        Err(LineFault::NotAnObject)
    );
    assert_eq!(AuditRecord::parse_line(b"\xff"), Err(LineFault::NotUtf8));
    assert!(matches!(
        AuditRecord::parse_line(&line.as_bytes()[..20]),
        Err(LineFault::Unparsable(_))
    ));
}

#[test]
fn line_hash_is_sha256_hex() {
    assert_eq!(
        line_hash(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(GENESIS_PREV.len(), 64);
}

#[test]
fn event_from_diagnostic_keeps_code_and_message() {
    let d = crate::error::IntoDiagnostic::into_diagnostic(crate::error::ProcessError::denied(
        "/bin/x: not in the allow-list",
    ));
    let ev = AuditEvent::from_diagnostic("process", "/bin/x", "process.denied", &d);
    assert_eq!(ev.severity, Severity::Error);
    assert_eq!(ev.metadata["error.code"], "core.process.permission_denied");
    assert_eq!(
        ev.metadata["error.message"],
        "/bin/x: not in the allow-list"
    );
    assert_eq!(ev.metadata["error.kind"], "permission_denied");
}
