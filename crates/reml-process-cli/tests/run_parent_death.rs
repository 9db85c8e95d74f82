//! The supervisor's death does not free the job (`docs/guarantees.md`, "When `run` itself is
//! killed"): when `reml-process run` is killed — even with `SIGKILL`, which it cannot act on — the
//! kernel sends its child the time-limit signal (`--signal`, default `TERM`), so the child ends
//! instead of running on without a limit, and can clean up first.

mod common;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use common::*;
use rustix::process::Signal;

/// Starts `reml-process run ARGS` with every stdio stream on /dev/null.
fn spawn_run(args: &[&str]) -> Child {
    std::process::Command::new(reml_path())
        .arg("run")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until `run_pid` has a child that runs `exe`; returns its pid.
fn started_child(run_pid: i32, exe: &Path) -> i32 {
    eventually(Duration::from_secs(10), "the child to be running", || {
        children_of(run_pid).into_iter().find(|&c| runs(c, exe))
    })
}

/// `kill -9` of `run` while its child runs under a long time limit: the child ends within
/// a few seconds, not after the limit.
#[test]
fn killing_run_ends_the_child_it_supervised() {
    let helper = helper();
    let mut run = spawn_run(&[
        "--timeout",
        "60",
        "--",
        helper.to_str().unwrap(),
        "sleep",
        "60",
    ]);
    let run_pid = run.id() as i32;
    let child = started_child(run_pid, &helper);
    let mut cleanup = Cleanup::default();
    cleanup.pids.push(child);
    kill(run_pid, Signal::KILL);
    run.wait().unwrap();
    assert_gone(&[child]);
}

/// The signal is `--signal`'s (default `TERM`): a child that traps it gets it and can clean
/// up before it ends.
#[test]
fn the_child_gets_the_time_limit_signal_and_can_clean_up() {
    for (signal, trapped) in [(None, "TERM"), (Some("USR1"), "USR1")] {
        let dir = tempfile::tempdir().unwrap();
        let ready = dir.path().join("ready");
        let cleaned = dir.path().join("cleaned");
        let script = format!(
            "trap 'echo {trapped} > {c}; exit 0' {trapped}; echo > {r}; \
             while :; do sleep 0.1; done",
            c = cleaned.display(),
            r = ready.display()
        );
        let mut args = vec!["--timeout", "60"];
        if let Some(s) = signal {
            args.extend(["--signal", s]);
        }
        args.extend(["--", "sh", "-c", &script]);
        let mut run = spawn_run(&args);
        let run_pid = run.id() as i32;
        eventually(Duration::from_secs(10), "the trap to be set", || {
            ready.exists().then_some(())
        });
        let child = children_of(run_pid)[0];
        let mut cleanup = Cleanup::default();
        cleanup.processes_and_their_groups(&[child]);
        kill(run_pid, Signal::KILL);
        run.wait().unwrap();
        let text = eventually(Duration::from_secs(10), "the trap to run", || {
            std::fs::read_to_string(&cleaned)
                .ok()
                .filter(|t| t.ends_with('\n'))
        });
        assert_eq!(
            text.trim(),
            trapped,
            "the trap of the configured signal ran"
        );
        assert_gone(&[child]);
    }
}
