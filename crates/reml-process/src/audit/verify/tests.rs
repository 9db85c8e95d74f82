use super::*;
use crate::audit::{AuditEvent, AuditSink, MemorySink};

fn log(n: usize) -> Vec<String> {
    let sink = MemorySink::new();
    for i in 0..n {
        sink.write(
            &AuditEvent::new("process", "/bin/x", "process.spawned").with_metadata("i", i as u64),
        )
        .unwrap();
    }
    sink.lines()
}

fn verify(lines: &[String], terminated: bool) -> Result<VerifySummary, VerifyError> {
    let mut text = lines.join("\n");
    if terminated && !lines.is_empty() {
        text.push('\n');
    }
    verify_reader(text.as_bytes())
}

fn bad_line(r: Result<VerifySummary, VerifyError>) -> (u64, LineFault) {
    match r {
        Err(VerifyError::BadLine { line, fault, .. }) => (line, fault),
        other => panic!("expected a bad line, got {other:?}"),
    }
}

/// A log of `(event, pid, process.id)` records about `/bin/p`.
fn lifecycle_log(records: &[(&str, u64, Option<&str>)]) -> VerifySummary {
    let sink = MemorySink::new();
    for &(event, pid, id) in records {
        let mut ev = AuditEvent::new("process", format!("/bin/p{pid}"), event)
            .with_metadata(keys::PROCESS_PID, pid)
            .with_metadata(keys::PROCESS_COMMAND, vec!["/bin/p"]);
        if events::is_process_end(event) {
            ev = ev.with_metadata(keys::PROCESS_EXIT_STATUS, 0);
        }
        if let Some(id) = id {
            ev = ev.with_metadata(keys::PROCESS_ID, id);
        }
        sink.write(&ev).unwrap();
    }
    verify(&sink.lines(), true).unwrap()
}

fn open_lines(s: &VerifySummary) -> Vec<u64> {
    s.open.iter().map(|o| o.line).collect()
}

#[test]
fn every_end_event_closes_a_lifecycle() {
    for end in [
        events::PROCESS_EXITED,
        events::PROCESS_TIMED_OUT,
        events::PROCESS_KILLED,
        events::PROCESS_RELEASED,
        events::PROCESS_LEAKED,
    ] {
        let s = lifecycle_log(&[
            (events::PROCESS_SPAWNED, 7, Some("7:1:b")),
            ("process.kill", 7, Some("7:1:b")),
            (end, 7, Some("7:1:b")),
        ]);
        assert_eq!(s.open, [], "{end}");
        assert_eq!(s.open_line(), None);
    }
    let s = lifecycle_log(&[
        (events::PROCESS_SPAWNED, 7, Some("7:1:b")),
        ("process.wait", 7, Some("7:1:b")),
        ("process.kill", 7, Some("7:1:b")),
    ]);
    assert_eq!(open_lines(&s), [1]);
    assert_eq!(
        s.open_line().unwrap(),
        "open: 1 lifecycle without an end record: pid 7 (/bin/p7)"
    );
}

/// Two lifecycles with the same pid, one closed and one open, in either order: exactly
/// the open one is reported.
#[test]
fn pid_reuse_is_told_apart_by_process_id() {
    let s = lifecycle_log(&[
        (events::PROCESS_SPAWNED, 7, Some("7:100:b")),
        (events::PROCESS_EXITED, 7, Some("7:100:b")),
        (events::PROCESS_SPAWNED, 7, Some("7:900:b")),
    ]);
    assert_eq!(open_lines(&s), [3]);
    assert_eq!(s.open[0].id.as_deref(), Some("7:900:b"));
    let s = lifecycle_log(&[
        (events::PROCESS_SPAWNED, 7, Some("7:100:b")),
        (events::PROCESS_SPAWNED, 7, Some("7:900:b")),
        (events::PROCESS_EXITED, 7, Some("7:900:b")),
    ]);
    assert_eq!(open_lines(&s), [1]);
    assert_eq!(s.open[0].id.as_deref(), Some("7:100:b"));
    // Interleaved with another process.
    let s = lifecycle_log(&[
        (events::PROCESS_SPAWNED, 7, Some("7:100:b")),
        (events::PROCESS_SPAWNED, 8, Some("8:101:b")),
        (events::PROCESS_EXITED, 7, Some("7:100:b")),
        (events::PROCESS_SPAWNED, 7, Some("7:900:b")),
        (events::PROCESS_RELEASED, 7, Some("7:900:b")),
    ]);
    assert_eq!(open_lines(&s), [2]);
    assert_eq!(
        s.open_line().unwrap(),
        "open: 1 lifecycle without an end record: pid 8 (/bin/p8)"
    );
}

/// Logs written before `process.id` existed are matched by pid.
#[test]
fn old_logs_fall_back_on_the_pid() {
    let s = lifecycle_log(&[
        (events::PROCESS_SPAWNED, 7, None),
        (events::PROCESS_EXITED, 7, None),
        (events::PROCESS_SPAWNED, 7, None),
    ]);
    assert_eq!(open_lines(&s), [3]);
    let s = lifecycle_log(&[
        (events::PROCESS_SPAWNED, 7, None),
        (events::PROCESS_SPAWNED, 7, None),
        (events::PROCESS_EXITED, 7, None),
        (events::PROCESS_SPAWNED, 9, None),
    ]);
    assert_eq!(open_lines(&s), [1, 4]);
    assert_eq!(
        s.open_line().unwrap(),
        "open: 2 lifecycles without an end record: pid 7 (/bin/p7), pid 9 (/bin/p9)"
    );
    // An end with no start in the log (lost with a torn line) opens nothing.
    let s = lifecycle_log(&[(events::PROCESS_EXITED, 7, None)]);
    assert_eq!(s.open, []);
}

#[test]
fn open_line_escapes_control_characters() {
    let o = OpenLifecycle {
        line: 1,
        pid: Some(3),
        id: None,
        subject: "/tmp/a\nb".into(),
    };
    assert_eq!(o.to_string(), "pid 3 (/tmp/a\\nb)");
}

#[test]
fn good_and_empty() {
    let s = verify(&log(5), true).unwrap();
    assert_eq!(s.records, 5);
    assert_eq!(s.lines, 5);
    assert_eq!(s.to_string(), "ok: 5 records");
    let s = verify(&[], true).unwrap();
    assert_eq!(s.records, 0);
    assert_eq!(s.head, GENESIS_PREV);
}

#[test]
fn faults_are_named() {
    let l = log(5);
    let mut removed = l.clone();
    removed.remove(2);
    assert_eq!(
        bad_line(verify(&removed, true)),
        (
            3,
            LineFault::SequenceGap {
                expected: 3,
                found: 4
            }
        )
    );
    let mut swapped = l.clone();
    swapped.swap(1, 2);
    assert!(matches!(
        bad_line(verify(&swapped, true)),
        (2, LineFault::SequenceGap { .. })
    ));
    let mut dup = l.clone();
    dup.insert(3, l[1].clone());
    assert!(matches!(
        bad_line(verify(&dup, true)),
        (4, LineFault::SequenceRepeat { .. })
    ));
    let mut edited = l.clone();
    edited[1] = edited[1].replace("\"i\":1", "\"i\":7");
    assert_eq!(
        bad_line(verify(&edited, true)),
        (
            3,
            LineFault::ChainBroken {
                previous_line: Some(2)
            }
        )
    );
    let first_removed = l[1..].to_vec();
    assert!(matches!(
        bad_line(verify(&first_removed, true)),
        (1, LineFault::SequenceGap { .. })
    ));
    assert_eq!(
        bad_line(verify(&l, false)),
        (5, LineFault::IncompleteLastLine { parses: true })
    );
    let mut torn = l.clone();
    torn[4].truncate(40);
    let err = verify(&torn, false).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 5: incomplete last line: no newline and not a complete record (a write interrupted by a crash)"
    );
    assert!(matches!(err, VerifyError::BadLine { verified: 4, .. }));
    let mut garbage = l.clone();
    garbage[2] = "not json".into();
    assert!(matches!(
        bad_line(verify(&garbage, true)),
        (3, LineFault::Unparsable(_))
    ));
}
