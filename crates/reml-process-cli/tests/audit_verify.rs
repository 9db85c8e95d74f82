//! `reml-process audit verify FILE` (`docs/command.md`): exit 0 and `ok: N records`, exit 1 and
//! one line naming the first bad line and why, 125 when the file cannot be read.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use reml_process::audit::{keys, AuditEvent, AuditSink, JsonLinesSink};

/// A log of `n` records that open no lifecycle (`process.kill` records).
fn write_log(dir: &Path, n: u64) -> PathBuf {
    let path = dir.join("audit.jsonl");
    let sink = JsonLinesSink::open(&path).unwrap();
    for i in 0..n {
        sink.write(
            &AuditEvent::new("process", "/bin/echo", "process.kill")
                .with_metadata(keys::PROCESS_PID, 100 + i)
                .with_metadata(keys::PROCESS_SIGNAL, 15)
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

fn verify_strict(path: &Path) -> assert_cmd::assert::Assert {
    Command::cargo_bin("reml-process")
        .unwrap()
        .args(["audit", "verify", "--strict"])
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

/// Something other than a regular file is refused at once, naming its type: a FIFO without
/// a writer used to block `open(2)` for good, `/dev/zero` used to be read without end.
#[test]
fn non_regular_files_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("log.fifo");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    for (path, what) in [
        (fifo.as_path(), "a FIFO"),
        (Path::new("/dev/zero"), "a character device"),
        (dir.path(), "a directory"),
    ] {
        let a = Command::cargo_bin("reml-process")
            .unwrap()
            .args(["audit", "verify"])
            .arg(path)
            .timeout(std::time::Duration::from_secs(20))
            .assert()
            .code(125);
        let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("{what}, not a regular file")),
            "{}: {err}",
            path.display()
        );
        assert!(stdout(&a).is_empty());
    }
}

/// Writes `records` (`event`, pid, `process.id`) about `/usr/bin/sleep` to a new log.
fn lifecycle_log(dir: &Path, records: &[(&str, u64, Option<&str>)]) -> PathBuf {
    let path = dir.join("lifecycles.jsonl");
    let sink = JsonLinesSink::open(&path).unwrap();
    for &(event, pid, id) in records {
        let mut ev = AuditEvent::new("process", "/usr/bin/sleep", event)
            .with_metadata(keys::PROCESS_PID, pid)
            .with_metadata(keys::PROCESS_COMMAND, vec!["/usr/bin/sleep", "30"]);
        if event == "process.exited" {
            ev = ev.with_metadata(keys::PROCESS_EXIT_STATUS, 0);
        }
        if let Some(id) = id {
            ev = ev.with_metadata(keys::PROCESS_ID, id);
        }
        sink.write(&ev).unwrap();
    }
    path
}

/// Every lifecycle closed: the one line, as before, with and without `--strict`.
#[test]
fn complete_log_output_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = lifecycle_log(
        dir.path(),
        &[
            ("process.spawned", 7, Some("7:100:b")),
            ("process.spawned", 8, Some("8:101:b")),
            ("process.exited", 8, Some("8:101:b")),
            ("process.released", 7, Some("7:100:b")),
        ],
    );
    assert_eq!(stdout(&verify(&path).code(0)), "ok: 4 records\n");
    assert_eq!(stdout(&verify_strict(&path).code(0)), "ok: 4 records\n");
}

/// Two lifecycles of one pid, one closed and one open, in either order: exactly the open
/// one is reported; a log without `process.id` (older writers) is matched by pid.
#[test]
fn pid_reuse_reports_exactly_the_open_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let open_2_of_3 =
        "ok: 3 records\nopen: 1 lifecycle without an end record: pid 4242 (/usr/bin/sleep)\n";
    for records in [
        [
            ("process.spawned", 4242, Some("4242:100:b")),
            ("process.exited", 4242, Some("4242:100:b")),
            ("process.spawned", 4242, Some("4242:900:b")),
        ],
        [
            ("process.spawned", 4242, Some("4242:100:b")),
            ("process.spawned", 4242, Some("4242:900:b")),
            ("process.exited", 4242, Some("4242:100:b")),
        ],
        [
            ("process.spawned", 4242, None),
            ("process.exited", 4242, None),
            ("process.spawned", 4242, None),
        ],
    ] {
        let path = lifecycle_log(dir.path(), &records);
        assert_eq!(stdout(&verify(&path).code(0)), open_2_of_3, "{records:?}");
        assert_eq!(stdout(&verify_strict(&path).code(1)), open_2_of_3);
        std::fs::remove_file(&path).unwrap();
    }
}

/// `run --audit` jobs killed with SIGKILL leave `process.spawned` records without an end:
/// the chain verifies, and the second line names each of them; `--strict` exits 1. Jobs
/// that finished are not listed.
#[test]
fn sigkilled_run_jobs_leave_open_lifecycles() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let bin = assert_cmd::cargo::cargo_bin("reml-process");
    let helper = test_helper::helper();
    let run = |args: &[&str]| {
        std::process::Command::new(&bin)
            .args(["run", "--audit"])
            .arg(&log)
            .arg("--")
            .arg(&helper)
            .args(args)
            .stdin(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let done = run(&["exit", "0"]).wait_with_output().unwrap();
    assert!(done.status.success());
    let mut jobs: Vec<std::process::Child> = (0..5).map(|_| run(&["sleep", "30"])).collect();
    // Each job's start is on record before it is killed.
    let spawned_pids = |log: &Path| -> Vec<u64> {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|r| {
                r["event"] == "process.spawned" && r["metadata"]["process.command"][1] == "sleep"
            })
            .filter_map(|r| r["metadata"]["process.pid"].as_u64())
            .collect()
    };
    let pids = test_helper::eventually(
        std::time::Duration::from_secs(30),
        "5 spawned records",
        || {
            let p = spawned_pids(&log);
            (p.len() == 5).then_some(p)
        },
    );
    for job in &mut jobs {
        job.kill().unwrap();
        job.wait().unwrap();
    }
    let done = run(&["exit", "0"]).wait_with_output().unwrap();
    assert!(done.status.success());

    let listed: Vec<String> = pids
        .iter()
        .map(|p| format!("pid {p} ({})", helper.display()))
        .collect();
    let a = verify(&log).code(0);
    let out = stdout(&a);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("ok: ") && lines[0].ends_with(" records"),
        "{out}"
    );
    assert_eq!(
        lines[1],
        format!(
            "open: 5 lifecycles without an end record: {}",
            listed.join(", ")
        )
    );
    assert_eq!(stdout(&verify_strict(&log).code(1)), out);
    // The killed jobs' children may outlive them: end those still sleeping.
    for pid in pids {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if cmdline.ends_with(b"sleep\x0030\x00") {
            if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
}
