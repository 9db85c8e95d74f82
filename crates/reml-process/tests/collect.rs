//! Output collection: caps, truncation flags, byte counts, partial output on time-out.

mod common;

use std::time::Duration;

use common::helper;
use reml_process::*;

fn spawn_out(cap: &NativeProcessCapability, n: usize, stream: &str) -> ProcessHandle {
    let mut cmd = Command::new(helper());
    cmd.args(["out", &n.to_string(), stream])
        .stdout(StdioSpec::Pipe)
        .stderr(StdioSpec::Pipe);
    cap.spawn_process(&cmd, &Environment::default()).unwrap()
}

#[test]
fn cap_truncates_but_keeps_draining_and_counting() {
    let cap = NativeProcessCapability::new();
    let h = spawn_out(&cap, 3 << 20, "");
    let opts = WaitOptions {
        max_output_bytes: 100_000,
        timeout: Some(Duration::from_secs(30)),
        ..WaitOptions::default().collecting()
    };
    assert!(cap.wait_with_options(h, &opts).unwrap().success());
    let out = cap.take_output(h).unwrap();
    assert_eq!(out.stdout.len(), 100_000);
    assert!(out.stdout_truncated);
    assert_eq!(out.stdout_bytes, 3 << 20);
    assert!(!out.stderr_truncated);
    assert_eq!(out.stderr_bytes, 0);
}

#[test]
fn exactly_at_cap_is_not_truncated() {
    let cap = NativeProcessCapability::new();
    let h = spawn_out(&cap, 65536, "err");
    let opts = WaitOptions {
        max_output_bytes: 65536,
        ..WaitOptions::default().collecting()
    };
    cap.wait_with_options(h, &opts).unwrap();
    let out = cap.take_output(h).unwrap();
    assert_eq!(out.stderr.len(), 65536);
    assert!(!out.stderr_truncated);
    assert_eq!(out.stderr_bytes, 65536);
}

#[test]
fn timed_out_collection_keeps_partial_output_and_continues() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "echo first; read x; echo second"])
        .stdin(StdioSpec::Pipe)
        .stdout(StdioSpec::Pipe);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    let stdin = cap.take_pipe(h, StdStream::Stdin).unwrap().unwrap();
    let e = cap
        .wait_with_options(
            h,
            &WaitOptions::with_timeout(Duration::from_millis(300)).collecting(),
        )
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::TimedOut);
    assert_eq!(cap.take_output(h).unwrap().stdout, b"first\n");
    {
        use std::io::Write;
        let mut stdin = stdin;
        stdin.write_all(b"go\n").unwrap();
    }
    cap.wait_with_options(
        h,
        &WaitOptions::with_timeout(Duration::from_secs(10)).collecting(),
    )
    .unwrap();
    assert_eq!(cap.take_output(h).unwrap().stdout, b"second\n");
}

#[test]
fn zero_cap_keeps_nothing_but_counts() {
    let cap = NativeProcessCapability::new();
    let h = spawn_out(&cap, 1000, "");
    let opts = WaitOptions {
        max_output_bytes: 0,
        ..WaitOptions::default().collecting()
    };
    cap.wait_with_options(h, &opts).unwrap();
    let out = cap.take_output(h).unwrap();
    assert!(out.stdout.is_empty());
    assert!(out.stdout_truncated);
    assert_eq!(out.stdout_bytes, 1000);
}
