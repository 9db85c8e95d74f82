//! `reml-process audit verify FILE` (contract.md §1): exit 0 and `ok: N records`, exit 1 and
//! one line naming the first bad line and why, 125 when the file cannot be read.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use reml_process::audit::{keys, AuditEvent, AuditSink, JsonLinesSink};

fn write_log(dir: &Path, n: u64) -> PathBuf {
    let path = dir.join("audit.jsonl");
    let sink = JsonLinesSink::open(&path).unwrap();
    for i in 0..n {
        sink.write(
            &AuditEvent::new("process", "/bin/echo", "process.spawned")
                .with_metadata(keys::PROCESS_PID, 100 + i)
                .with_metadata(keys::PROCESS_COMMAND, vec!["/bin/echo", "hi"]),
        )
        .unwrap();
    }
    path
}

fn verify(path: &Path) -> assert_cmd::assert::Assert {
    Command::cargo_bin("reml-process")
        .unwrap()
        .args(["audit", "verify"])
        .arg(path)
        .assert()
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

fn edit_lines(path: &Path, f: impl FnOnce(&mut Vec<String>)) {
    let mut lines: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    f(&mut lines);
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

#[test]
fn good_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 3);
    let a = verify(&path).code(0);
    assert_eq!(stdout(&a), "ok: 3 records\n");
}

#[test]
fn empty_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.jsonl");
    std::fs::write(&path, "").unwrap();
    let a = verify(&path).code(0);
    assert_eq!(stdout(&a), "ok: 0 records\n");
}

#[test]
fn edited_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 4);
    edit_lines(&path, |l| l[1] = l[1].replace("\"hi\"", "\"ho\""));
    let a = verify(&path).code(1);
    let out = stdout(&a);
    assert!(
        out.starts_with("line 3: hash chain broken: prev is not the sha256 of line 2"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1);
}

#[test]
fn removed_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 4);
    edit_lines(&path, |l| {
        l.remove(1);
    });
    let a = verify(&path).code(1);
    assert!(
        stdout(&a).starts_with("line 2: sequence gap: expected seq 2, found 3"),
        "{}",
        stdout(&a)
    );
}

#[test]
fn reordered_lines_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 4);
    edit_lines(&path, |l| l.swap(2, 3));
    let a = verify(&path).code(1);
    assert!(
        stdout(&a).starts_with("line 3: sequence gap"),
        "{}",
        stdout(&a)
    );
}

#[test]
fn unparsable_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 3);
    edit_lines(&path, |l| l.insert(1, "{\"seq\": 2".into()));
    let a = verify(&path).code(1);
    assert!(
        stdout(&a).starts_with("line 2: unparsable"),
        "{}",
        stdout(&a)
    );
}

#[test]
fn torn_last_line_is_reported_as_such_then_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path(), 3);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"{\"seq\":4,\"ts\":\"2026-").unwrap();
    drop(f);
    let a = verify(&path).code(1);
    assert_eq!(
        stdout(&a),
        "line 4: incomplete last line: no newline and not a complete record (a write interrupted by a crash)\n"
    );

    // A writer recovers it; the log verifies again and says so.
    let _ = write_log(dir.path(), 1);
    let a = verify(&path).code(0);
    assert_eq!(
        stdout(&a),
        "ok: 5 records (1 torn line recovered: line 4)\n"
    );
}

#[test]
fn unreadable_file_is_125() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.jsonl");
    let a = verify(&missing).code(125);
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(err.starts_with("reml-process: "), "{err}");
    assert!(err.contains("missing.jsonl"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(stdout(&a).is_empty());

    // A directory opens but cannot be read.
    verify(dir.path()).code(125);
}
