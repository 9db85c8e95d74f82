//! Cause of death (spec §7, `docs/command.md` `cause`): every outcome says why the process
//! ended, and each cause is produced by the situation it names.

mod common;

use std::time::Duration;

use common::helper;
use reml_process::*;

fn env() -> Environment {
    Environment::default()
}

fn run(cmd: &Command, options: RunOptions) -> ProcessOutcome {
    let cap = NativeProcessCapability::new();
    run_process(&cap, cmd, &env(), &options)
}

fn safety_limit() -> RunOptions {
    RunOptions {
        timeout: Some(Duration::from_secs(60)),
        ..RunOptions::default()
    }
}

#[test]
fn cause_exited_for_any_exit_code() {
    let o = run(Command::new(helper()).args(["exit", "3"]), safety_limit());
    assert_eq!(o.cause, Cause::Exited, "{o:?}");
    assert_eq!(o.cause.as_str(), "exited");
    assert_eq!(o.termination.and_then(|t| t.code()), Some(3));
}

#[test]
fn cause_signaled_for_a_signal_not_ours() {
    let o = run(
        Command::new(helper()).args(["kill-self", "9"]),
        safety_limit(),
    );
    assert_eq!(o.cause, Cause::Signaled, "{o:?}");
    assert_eq!(o.cause.as_str(), "signaled");
    assert_eq!(o.termination.and_then(|t| t.signal()), Some(Signal::KILL));
}

#[test]
fn cause_timed_out_when_our_limit_ends_it() {
    let o = run(
        Command::new(helper())
            .args(["sleep", "30"])
            .process_group(ProcessGroup::New),
        RunOptions {
            timeout: Some(Duration::from_millis(300)),
            ..RunOptions::default()
        },
    );
    assert_eq!(o.cause, Cause::TimedOut, "{o:?}");
    assert_eq!(o.cause.as_str(), "timed_out");
    assert!(o.timed_out);
}

/// `RLIMIT_CPU` soft limit 1 s (hard limit above it, so the kernel sends `SIGXCPU`, not
/// `SIGKILL`) on a spinning child: `cpu_limit`.
#[test]
fn cause_cpu_limit_for_sigxcpu_from_rlimit_cpu() {
    let o = run(
        Command::new(helper())
            .arg("spin")
            .rlimit(Resource::CpuTime, Some(1), Some(30)),
        safety_limit(),
    );
    assert_eq!(o.cause, Cause::CpuLimit, "{o:?}");
    assert_eq!(o.cause.as_str(), "cpu_limit");
    assert_eq!(o.termination.and_then(|t| t.signal()), Some(Signal::XCPU));
}

/// With `kill_on_output_cap`, a child that writes past the cap is ended: `output_capped`,
/// with the kept bytes at the cap.
#[test]
fn cause_output_capped_when_kill_on_output_cap_ends_it() {
    let o = run(
        Command::new(helper())
            .args(["out", "1000000000000"])
            .stdout(StdioSpec::Pipe)
            .process_group(ProcessGroup::New),
        RunOptions {
            collect_output: true,
            max_output_bytes: 4096,
            kill_on_output_cap: true,
            ..safety_limit()
        },
    );
    assert_eq!(o.cause, Cause::OutputCapped, "{o:?}");
    assert_eq!(o.cause.as_str(), "output_capped");
    assert!(!o.timed_out);
    assert_eq!(o.output.stdout.len(), 4096);
    assert!(o.output.stdout_truncated);
    assert_eq!(o.termination.and_then(|t| t.signal()), Some(Signal::TERM));
}

/// Without `kill_on_output_cap` the cap only truncates: the child runs to its end.
#[test]
fn output_past_the_cap_is_only_truncated_by_default() {
    let o = run(
        Command::new(helper())
            .args(["out", "100000"])
            .stdout(StdioSpec::Pipe),
        RunOptions {
            collect_output: true,
            max_output_bytes: 4096,
            ..safety_limit()
        },
    );
    assert_eq!(o.cause, Cause::Exited, "{o:?}");
    assert_eq!(o.termination.and_then(|t| t.code()), Some(0));
    assert!(o.output.stdout_truncated);
    assert_eq!(o.output.stdout_bytes, 100000);
}

#[test]
fn cause_not_started_when_the_spawn_fails() {
    let o = run(
        &Command::new("/nonexistent/reml-process-test-program"),
        safety_limit(),
    );
    assert_eq!(o.cause, Cause::NotStarted, "{o:?}");
    assert_eq!(o.cause.as_str(), "not_started");
    let e = o.error.as_ref().expect("the spawn error");
    assert_eq!(
        (e.kind, e.code),
        (ProcessErrorKind::SpawnFailed, Some(libc::ENOENT))
    );
}
