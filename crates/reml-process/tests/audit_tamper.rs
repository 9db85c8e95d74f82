//! Any single edited, removed, reordered or inserted line of a log is detected, at the line
//! changed or (for an in-place edit, found through the next line's `prev`) the one after.

use proptest::prelude::*;
use reml_process::audit::{verify_reader, AuditEvent, AuditSink, MemorySink, VerifyError};
use reml_process::Severity;

#[derive(Clone, Debug)]
enum Mutation {
    /// Flip one byte of line `line` (0-based, never the last line).
    Edit { line: usize, at: usize },
    /// Remove line `line` (never the last line).
    Remove { line: usize },
    /// Swap lines `line` and `line + 1`.
    Swap { line: usize },
    /// Insert a copy of line `from` before line `at` (`at` may be the end).
    Duplicate { from: usize, at: usize },
    /// Insert a line of text before line `at`.
    Garbage { at: usize, text: String },
}

fn log_lines(values: &[(String, i64, u8)]) -> Vec<String> {
    let sink = MemorySink::new();
    for (s, n, sev) in values {
        let severity = [Severity::Info, Severity::Warning, Severity::Error][*sev as usize % 3];
        sink.write(
            &AuditEvent::new("process", format!("/bin/{s}"), "process.spawned")
                .with_severity(severity)
                .with_metadata("note", s.clone())
                .with_metadata("n", *n),
        )
        .unwrap();
    }
    sink.lines()
}

fn arb_log() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(("\\PC{0,12}", any::<i64>(), 0u8..3), 2..16).prop_map(|v| log_lines(&v))
}

fn arb_case() -> impl Strategy<Value = (Vec<String>, Mutation)> {
    arb_log().prop_flat_map(|lines| {
        let n = lines.len();
        let max_len = lines.iter().map(String::len).max().unwrap_or(1);
        let m = prop_oneof![
            (0..n - 1, 0..max_len).prop_map(|(line, at)| Mutation::Edit { line, at }),
            (0..n - 1).prop_map(|line| Mutation::Remove { line }),
            (0..n - 1).prop_map(|line| Mutation::Swap { line }),
            (0..n, 0..=n).prop_map(|(from, at)| Mutation::Duplicate { from, at }),
            (0..=n, "[ -~]{0,40}").prop_map(|(at, text)| Mutation::Garbage { at, text }),
        ];
        (Just(lines), m)
    })
}

/// Applies `m`; returns the lines and the 1-based lines where detection is acceptable.
fn apply(mut lines: Vec<String>, m: &Mutation) -> (Vec<String>, Vec<u64>) {
    let one = |i: usize| i as u64 + 1;
    match m {
        Mutation::Edit { line, at } => {
            let mut bytes = lines[*line].clone().into_bytes();
            let at = at % bytes.len();
            let mut flipped = bytes[at] ^ 0x01;
            if flipped == b'\n' {
                flipped = bytes[at] ^ 0x02;
            }
            bytes[at] = flipped;
            lines[*line] = String::from_utf8_lossy(&bytes).into_owned();
            (lines, vec![one(*line), one(*line) + 1])
        }
        Mutation::Remove { line } => {
            lines.remove(*line);
            (lines, vec![one(*line)])
        }
        Mutation::Swap { line } => {
            lines.swap(*line, line + 1);
            (lines, vec![one(*line)])
        }
        Mutation::Duplicate { from, at } => {
            let copy = lines[*from].clone();
            lines.insert(*at, copy);
            // A copy inserted right before its original reads as the original repeated
            // one line later.
            (lines, vec![one(*at), one(*at) + 1])
        }
        Mutation::Garbage { at, text } => {
            lines.insert(*at, text.clone());
            (lines, vec![one(*at)])
        }
    }
}

fn verify(lines: &[String]) -> Result<reml_process::VerifySummary, VerifyError> {
    let mut text = lines.join("\n");
    text.push('\n');
    verify_reader(text.as_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn single_mutation_is_detected_where_it_happened((lines, m) in arb_case()) {
        prop_assert_eq!(verify(&lines).unwrap().records, lines.len() as u64);
        let (mutated, allowed) = apply(lines, &m);
        match verify(&mutated) {
            Err(VerifyError::BadLine { line, .. }) => {
                prop_assert!(allowed.contains(&line), "{:?}: reported line {}, allowed {:?}", m, line, allowed);
            }
            other => prop_assert!(false, "{:?} not detected: {:?}", m, other),
        }
    }
}

/// The documented limit of a keyless chain: dropping the last records (truncation) leaves a
/// valid, shorter log. The `head` changes, so a head kept elsewhere reveals it.
#[test]
fn truncation_is_only_visible_through_the_head() {
    let lines = log_lines(&[("a".into(), 1, 0), ("b".into(), 2, 0), ("c".into(), 3, 0)]);
    let full = verify(&lines).unwrap();
    let cut = verify(&lines[..2]).unwrap();
    assert_eq!(cut.records, 2);
    assert_ne!(full.head, cut.head);
}
