//! A host with unusual signal state: `SIGCHLD` ignored, other signals ignored or blocked.
//! Each inner test runs in a fresh process started under `rp-helper with-signals`.

mod common;

use std::time::Duration;

use common::{helper, rerun_with_signals};
use reml_process::*;

/// The host ignores SIGCHLD (the kernel would discard exit statuses of SIGCHLD children):
/// we still get the right statuses, for exits and for signals.
#[test]
fn sigchld_ignored_by_host_still_gives_exit_statuses() {
    rerun_with_signals("inner_sigchld_ignored", "17", "-");
}

#[test]
#[ignore = "run by sigchld_ignored_by_host_still_gives_exit_statuses"]
fn inner_sigchld_ignored() {
    assert!(std::env::var_os("REML_INNER_TEST").is_some());
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let ign = status.lines().find(|l| l.starts_with("SigIgn:")).unwrap();
    let mask = u64::from_str_radix(ign.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert!(mask & (1 << (17 - 1)) != 0, "SIGCHLD not ignored: {ign}");
    // Prove the kernel really discards statuses here: a std child cannot be waited for.
    let mut std_child = std::process::Command::new(helper())
        .args(["exit", "3"])
        .spawn()
        .unwrap();
    let lost = std_child.wait();
    assert!(lost.is_err(), "SIGCHLD=SIG_IGN not in effect: {lost:?}");
    let cap = NativeProcessCapability::new();
    let h = cap
        .spawn_process(
            Command::new(helper()).args(["exit", "42"]),
            &Environment::default(),
        )
        .unwrap();
    assert_eq!(
        cap.wait_process(h, Some(Duration::from_secs(10)))
            .unwrap()
            .code(),
        42
    );
    let h = cap
        .spawn_process(
            Command::new(helper()).args(["kill-self", "9"]),
            &Environment::default(),
        )
        .unwrap();
    let e = cap
        .wait_process(h, Some(Duration::from_secs(10)))
        .unwrap_err();
    assert_eq!(
        (e.kind, e.code),
        (ProcessErrorKind::TerminatedBySignal, Some(9))
    );
}

/// Children start with default dispositions and an empty mask, whatever the host had.
#[test]
fn child_starts_with_default_dispositions_and_empty_mask() {
    // Host ignores INT (2), USR1 (10), PIPE (13) and blocks USR2 (12), TERM (15).
    rerun_with_signals("inner_child_signal_state", "2,10,13", "12,15");
}

#[test]
#[ignore = "run by child_starts_with_default_dispositions_and_empty_mask"]
fn inner_child_signal_state() {
    assert!(std::env::var_os("REML_INNER_TEST").is_some());
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    // This thread really has USR2 (12) and TERM (15) blocked, INT, USR1, PIPE ignored.
    assert_eq!(field("SigBlk:") & (1 << 11 | 1 << 14), 1 << 11 | 1 << 14);
    assert_eq!(
        field("SigIgn:") & (1 << 1 | 1 << 9 | 1 << 12),
        1 << 1 | 1 << 9 | 1 << 12
    );
    let cap = NativeProcessCapability::new();
    // `grep` (C, no runtime that touches signals, unlike a Rust program whose runtime
    // ignores SIGPIPE at start) reports its own state as exec left it.
    let mut cmd = Command::new("grep");
    cmd.args(["-E", "^Sig(Blk|Ign):", "/proc/self/status"])
        .stdout(StdioSpec::Pipe);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    cap.wait_with_options(h, &WaitOptions::default().collecting())
        .unwrap();
    let out = String::from_utf8(cap.take_output(h).unwrap().stdout).unwrap();
    let got: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        got,
        ["SigBlk: 0000000000000000", "SigIgn: 0000000000000000"]
    );
}
