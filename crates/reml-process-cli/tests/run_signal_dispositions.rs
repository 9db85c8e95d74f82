//! The child inherits the dispositions `run`'s caller gave it (`docs/command.md`): a signal the
//! caller ignored stays ignored (`nohup reml-process run -- job` survives a hangup; a
//! caller's ignored `SIGPIPE` stays ignored, as coreutils `timeout` keeps it), while the
//! `SIGPIPE` that `run`'s own Rust runtime ignores before `main` does not reach the child.
//!
//! The callers here are `sh` (`trap '' SIG; exec reml-process run …`) or this test through
//! `std::process`, which starts `run` with `SIGPIPE` at its default: not `rp-helper`, whose
//! own Rust runtime would ignore `SIGPIPE` before it execs `run`.

mod common;

use std::process::Output;

use common::*;

/// The bit of signal `n` in a `/proc/PID/status` signal mask.
const fn bit(n: u32) -> u64 {
    1 << (n - 1)
}
const HUP: u64 = bit(1);
const INT: u64 = bit(2);
const PIPE: u64 = bit(13);
const CHLD: u64 = bit(17);

/// `sh -c "trap '' IGNORED; exec reml-process run -- ARGS…"` (no trap when `ignored` is
/// empty).
fn run_ignoring(ignored: &str, args: &[&str]) -> Output {
    let trap = if ignored.is_empty() {
        String::new()
    } else {
        format!("trap '' {ignored}; ")
    };
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{trap}exec \"$0\" run -- \"$@\""))
        .arg(reml_path())
        .args(args)
        .output()
        .unwrap()
}

/// The mask of the `SigIgn:` line of a `/proc/PID/status` text (the whole file, or the lines
/// `grep` kept of it).
fn sigign_mask(status: &str) -> u64 {
    let line = status
        .lines()
        .find(|l| l.starts_with("SigIgn:"))
        .unwrap_or_else(|| panic!("no SigIgn line: {status}"));
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

/// The child's `SigIgn` mask, as `grep` (C, no runtime that changes signals) reports it.
fn childs_ignored(out: &Output) -> u64 {
    assert_eq!(code(out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    sigign_mask(&String::from_utf8_lossy(&out.stdout))
}

const GREP_SIGIGN: [&str; 3] = ["grep", "^SigIgn:", "/proc/self/status"];

/// `INT` if this test itself was started with it ignored (a test run started in the
/// background of a non-interactive shell is), else 0: then every caller here ignores it too,
/// and so, rightly, does the child. `PIPE` is left out: `std::process` resets it for `sh`.
fn int_ignored_by_the_test_runner() -> u64 {
    sigign_mask(&std::fs::read_to_string("/proc/self/status").unwrap()) & INT
}

/// `nohup`'s protection: `HUP` ignored by the caller is ignored by the job.
#[test]
fn a_hup_the_caller_ignored_stays_ignored_in_the_child() {
    let ignored = childs_ignored(&run_ignoring("HUP", &GREP_SIGIGN));
    assert_eq!(ignored & (HUP | PIPE), HUP, "SigIgn {ignored:x}");
    // The same through `nohup` itself, where it is installed.
    if which("nohup").is_some() {
        let out = std::process::Command::new("nohup")
            .arg(reml_path())
            .arg("run")
            .arg("--")
            .args(GREP_SIGIGN)
            .output()
            .unwrap();
        assert_ne!(childs_ignored(&out) & HUP, 0, "nohup's HUP reached the job");
    }
}

/// What the caller ignored reaches the child as ignored, `SIGCHLD` included (which `run`
/// itself puts back to its default to keep its child's exit status); nothing more.
#[test]
fn exactly_the_callers_ignored_signals_are_ignored_in_the_child() {
    let inherited = int_ignored_by_the_test_runner();
    let none = childs_ignored(&run_ignoring("", &GREP_SIGIGN));
    let int = childs_ignored(&run_ignoring("INT", &GREP_SIGIGN));
    assert_eq!(none & (INT | CHLD | PIPE), inherited, "SigIgn {none:x}");
    assert_eq!(int & (INT | CHLD | PIPE), INT, "SigIgn {int:x}");
    // `sh` will not pass on an ignored SIGCHLD: `rp-helper with-signals` execs run directly
    // (its own runtime ignores PIPE too, so PIPE is the caller's as well).
    let out = std::process::Command::new(helper())
        .args(["with-signals", "17", "-", "--"])
        .arg(reml_path())
        .args(["run", "--"])
        .args(GREP_SIGIGN)
        .output()
        .unwrap();
    let chld = childs_ignored(&out);
    assert_eq!(
        chld & (INT | CHLD | PIPE),
        CHLD | PIPE | inherited,
        "SigIgn {chld:x}"
    );
}

/// With `SIGPIPE` ignored by the caller, the child sees it ignored: a writer to a closed
/// pipe gets `EPIPE` (and says so) instead of dying of `SIGPIPE` — coreutils `timeout`'s own
/// test of the same promise.
#[test]
fn a_pipe_the_caller_ignored_stays_ignored_in_the_child() {
    assert_ne!(
        childs_ignored(&run_ignoring("PIPE", &GREP_SIGIGN)) & PIPE,
        0
    );
    if which("yes").is_none() {
        skip(
            "a_pipe_the_caller_ignored_stays_ignored_in_the_child",
            "no `yes` here",
        );
        return;
    }
    let out = run_ignoring("PIPE", &["sh", "-c", "yes | head -n 1"]);
    assert_eq!(code(&out), 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.to_lowercase().contains("broken pipe"),
        "yes saw EPIPE: {err:?}"
    );
}

/// With `SIGPIPE` at its default for the caller, the child has it at its default, although
/// `run`'s own Rust runtime ignores it: the writer dies of `SIGPIPE` quietly.
#[test]
fn a_pipe_at_its_default_is_at_its_default_in_the_child() {
    let out = run(&["--"]).args(GREP_SIGIGN).output().unwrap();
    assert_eq!(childs_ignored(&out) & PIPE, 0);
    if which("yes").is_none() {
        skip(
            "a_pipe_at_its_default_is_at_its_default_in_the_child",
            "no `yes` here",
        );
        return;
    }
    let out = run_ignoring("", &["sh", "-c", "yes | head -n 1"]);
    assert_eq!(code(&out), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "y\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.to_lowercase().contains("broken pipe"),
        "yes died of SIGPIPE, quietly: {err:?}"
    );
}
