//! A writer killed with SIGKILL in the middle of writing many records loses nothing but the
//! line being written: every record whose write returned is in the log, every complete line
//! verifies, and the next writer recovers the torn tail (if any) into a valid chain.
//!
//! The writer is this test binary re-invoked (`crash_writer`, run only when
//! `REML_AUDIT_CRASH_WRITER` is set); it prints `written N` after each record's write returns.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reml_process::audit::{
    events, verify_log, AuditEvent, AuditRecord, AuditSink, JsonLinesSink, LineFault, VerifyError,
};

fn event(i: u64) -> AuditEvent {
    // Large records (about 64 KiB) take several pages per write(2), so the kill has a chance
    // to land inside one.
    AuditEvent::new("process", "/bin/x", events::PROCESS_SPAWNED)
        .with_metadata("test.i", i)
        .with_metadata("test.padding", "x".repeat(64 * 1024))
}

#[test]
fn sigkilled_writer_loses_at_most_the_line_being_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.jsonl");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "crash_writer", "--nocapture"])
        .env("REML_AUDIT_CRASH_WRITER", &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // Read the child's progress on a thread, so the wait below has a deadline.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<u64>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(n) = line.strip_prefix("written ") {
                if tx.send(n.parse().unwrap()).is_err() {
                    break;
                }
            }
        }
    });

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut reported = 0;
    while reported < 100 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(n) => reported = n,
            Err(e) => {
                let _ = child.kill();
                panic!("writer stalled after {reported} records: {e}");
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "{status:?}");
    }
    reader.join().unwrap();
    // Everything the child reported before dying.
    let reported = rx.try_iter().last().unwrap_or(reported).max(reported);

    // Every complete line verifies; at most the line being written is incomplete.
    // `torn`: an incomplete last line; `parses`: it lacks only its newline.
    let (complete, torn, parses) = match verify_log(&path) {
        Ok(s) => (s.records, false, false),
        Err(VerifyError::BadLine {
            fault: LineFault::IncompleteLastLine { parses },
            verified,
            ..
        }) => (verified, true, parses),
        Err(e) => panic!("log damaged beyond the last line: {e}"),
    };
    assert!(
        complete == reported || complete == reported + 1,
        "{complete} complete records, {reported} reported written"
    );
    eprintln!("killed after {reported} reported, {complete} complete, torn last line: {torn}");

    // The next writer resumes after the last complete record: a torn line is followed by a
    // recovery record, a record lacking only its newline is completed.
    let sink = JsonLinesSink::open(&path).unwrap();
    sink.write(&event(u64::MAX)).unwrap();
    let summary = verify_log(&path).unwrap();
    assert_eq!(
        summary.records,
        complete + 1 + u64::from(torn),
        "{summary:?}"
    );
    assert_eq!(summary.torn_regions.len(), usize::from(torn && !parses));
    let text = std::fs::read_to_string(&path).unwrap();
    let last = AuditRecord::parse_line(text.lines().last().unwrap().as_bytes()).unwrap();
    assert_eq!(last.metadata["test.i"], u64::MAX);
}

/// Not a test: the writer process killed by the test above. Writes until killed.
#[test]
#[ignore = "helper process, run by sigkilled_writer_loses_at_most_the_line_being_written"]
fn crash_writer() {
    use std::io::Write;
    let Some(path) = std::env::var_os("REML_AUDIT_CRASH_WRITER") else {
        return;
    };
    let sink = JsonLinesSink::open(&path).unwrap();
    let mut out = std::io::stdout();
    for i in 1.. {
        sink.write(&event(i)).unwrap();
        writeln!(out, "written {i}").unwrap();
        out.flush().unwrap();
    }
}
