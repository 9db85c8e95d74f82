//! `Command::parent_death_signal` (`PR_SET_PDEATHSIG`): the child gets the signal when its
//! parent ends — and, as documented, the parent is the *thread* that spawned it. Without the
//! option the child is not affected by its parent's end. (`reml-process run`'s own death is
//! tested end to end in the command's `run_parent_death` tests.)

mod common;

use std::time::Duration;

use common::helper;
use reml_process::*;

fn sleeper() -> Command {
    let mut cmd = Command::new(helper());
    cmd.args(["sleep", "60"]);
    cmd
}

/// Spawns `cmd` from a thread that ends right after; returns the handle.
fn spawn_from_a_thread_that_ends(cap: &NativeProcessCapability, cmd: &Command) -> ProcessHandle {
    std::thread::scope(|s| {
        s.spawn(|| cap.spawn_process(cmd, &Environment::default()).unwrap())
            .join()
            .unwrap()
    })
}

/// The wait of a child the test expects to end by `signal` soon (10 s at most).
fn ends_by(cap: &NativeProcessCapability, h: ProcessHandle, signal: i32) {
    let e = cap
        .wait_process(h, Some(Duration::from_secs(10)))
        .expect_err("the child must end by the parent-death signal");
    assert_eq!(
        (e.kind, e.code),
        (ProcessErrorKind::TerminatedBySignal, Some(signal)),
        "{e:?}"
    );
}

/// The caveat of the docs, as a test: the spawning thread ends while the process (and the
/// capability) live on, and the child gets its signal all the same.
#[test]
fn the_child_gets_the_signal_when_the_spawning_thread_ends() {
    let cap = NativeProcessCapability::new();
    for (signal, number) in [(Signal::TERM, 15), (Signal::USR1, 10)] {
        let mut cmd = sleeper();
        cmd.parent_death_signal(signal);
        let h = spawn_from_a_thread_that_ends(&cap, &cmd);
        ends_by(&cap, h, number);
        cap.release_process(h).unwrap();
    }
}

/// Without the option, the end of the spawning thread changes nothing for the child.
#[test]
fn without_the_option_the_child_outlives_the_spawning_thread() {
    let cap = NativeProcessCapability::new();
    let h = spawn_from_a_thread_that_ends(&cap, &sleeper());
    // A parent-death signal would arrive at once; a second and a half is ample.
    let e = cap
        .wait_process(h, Some(Duration::from_millis(1500)))
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::TimedOut, "{e:?}");
    assert!(common::alive(h.pid()));
    cap.kill_process(h, Signal::KILL).unwrap();
    ends_by(&cap, h, 9);
}

/// With the option and the spawning thread alive, the child runs as usual and its exit
/// status is its own.
#[test]
fn with_the_parent_alive_the_child_runs_as_usual() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new(helper());
    cmd.args(["exit", "7"]).parent_death_signal(Signal::TERM);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    assert_eq!(
        cap.wait_process(h, Some(Duration::from_secs(10)))
            .unwrap()
            .code(),
        7
    );
}
