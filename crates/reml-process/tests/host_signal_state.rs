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

/// Ignored signals stay ignored in the child (as with `std::process` and Python), except
/// `SIGPIPE`, which starts at its default; the mask starts empty whatever the host blocks.
#[test]
fn ignored_signals_stay_ignored_except_pipe_and_the_mask_starts_empty() {
    // Host ignores INT (2), USR1 (10), PIPE (13) and blocks USR2 (12), TERM (15).
    rerun_with_signals("inner_child_signal_state", "2,10,13", "12,15");
}

/// The bit of signal `n` in a `/proc/PID/status` signal mask.
const fn bit(n: u32) -> u64 {
    1 << (n - 1)
}

/// `/proc/self/status`'s `SigBlk` and `SigIgn` of a child started with `dispositions`:
/// `grep` (C, no runtime that touches signals, unlike a Rust program whose runtime ignores
/// SIGPIPE at start) reports its own state as exec left it.
fn child_blocked_and_ignored(dispositions: SignalDispositions) -> (u64, u64) {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("grep");
    cmd.args(["-E", "^Sig(Blk|Ign):", "/proc/self/status"])
        .stdout(StdioSpec::Pipe)
        .signal_dispositions(dispositions);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    cap.wait_with_options(h, &WaitOptions::default().collecting())
        .unwrap();
    let out = String::from_utf8(cap.take_output(h).unwrap().stdout).unwrap();
    let field = |name: &str| {
        let line = out.lines().find(|l| l.starts_with(name)).unwrap();
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    (field("SigBlk:"), field("SigIgn:"))
}

/// This process's own `SigBlk` and `SigIgn`.
fn own_blocked_and_ignored() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    (field("SigBlk:"), field("SigIgn:"))
}

#[test]
#[ignore = "run by ignored_signals_stay_ignored_except_pipe_and_the_mask_starts_empty"]
fn inner_child_signal_state() {
    assert!(std::env::var_os("REML_INNER_TEST").is_some());
    // This thread really has USR2 (12) and TERM (15) blocked, INT, USR1, PIPE ignored.
    let (blocked, ignored) = own_blocked_and_ignored();
    assert_eq!(blocked & (bit(12) | bit(15)), bit(12) | bit(15));
    let host = bit(2) | bit(10) | bit(13);
    assert_eq!(ignored & host, host);
    // Exactly what we ignore (whatever else our own caller ignored), less PIPE.
    assert_eq!(
        child_blocked_and_ignored(SignalDispositions::default()),
        (0, ignored & !bit(13)),
        "INT and USR1 stay ignored, PIPE is reset, nothing is blocked"
    );
}

/// `ResetAll` starts every signal at its default; `Ignore` ignores exactly what it lists.
#[test]
fn reset_all_and_an_exact_ignore_list() {
    rerun_with_signals("inner_reset_all_and_ignore_list", "1,2,13", "15");
}

#[test]
#[ignore = "run by reset_all_and_an_exact_ignore_list"]
fn inner_reset_all_and_ignore_list() {
    assert!(std::env::var_os("REML_INNER_TEST").is_some());
    assert_eq!(
        own_blocked_and_ignored().1 & (bit(1) | bit(2) | bit(13)),
        bit(1) | bit(2) | bit(13)
    );
    assert_eq!(
        child_blocked_and_ignored(SignalDispositions::ResetAll),
        (0, 0)
    );
    // HUP stays, PIPE stays (the caller asked), INT goes, TERM (handled or default here)
    // becomes ignored; KILL cannot be ignored and is left out.
    assert_eq!(
        child_blocked_and_ignored(SignalDispositions::Ignore(vec![
            Signal::HUP,
            Signal::PIPE,
            Signal::TERM,
            Signal::KILL,
        ])),
        (0, bit(1) | bit(13) | bit(15))
    );
}

/// What this process inherited as ignored is recorded before `main`, before the Rust
/// runtime ignores SIGPIPE: a parent that leaves PIPE at its default is seen as such.
#[test]
fn inherited_ignored_signals_are_recorded_before_the_runtime_changes_pipe() {
    // `sh` (not a Rust program) starts the test binary with HUP and USR2 ignored, PIPE not.
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("sh")
        .args([
            "-c",
            "trap '' HUP USR2; exec \"$0\" --ignored --exact inner_inherited_ignored --nocapture --test-threads=1",
        ])
        .arg(exe)
        .env("REML_INNER_TEST", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
}

#[test]
#[ignore = "run by inherited_ignored_signals_are_recorded_before_the_runtime_changes_pipe"]
fn inner_inherited_ignored() {
    assert!(std::env::var_os("REML_INNER_TEST").is_some());
    // The runtime has ignored PIPE by now; the record says what the caller gave us.
    assert_ne!(own_blocked_and_ignored().1 & bit(13), 0);
    let inherited = supervise::inherited_ignored_signals().expect("recorded on Linux");
    assert!(
        inherited.contains(&Signal::HUP) && inherited.contains(&Signal::USR2),
        "{inherited:?}"
    );
    assert!(!inherited.contains(&Signal::PIPE), "{inherited:?}");
}
