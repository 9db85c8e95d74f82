//! Job control with a real terminal (spec §7): the child's group gets the terminal
//! foreground, reads its input through it, and the terminal comes back to us with its state
//! restored — also when the child is killed by the time limit, and across a `^Z`.
//!
//! Terminal state is process-wide, so each inner test runs in a fresh process whose stdin is
//! a pseudo-terminal, started with util-linux `script` (the test is skipped, visibly, where
//! `script` is missing). The outer test types into the terminal through `script`'s stdin.

mod common;

use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use common::helper;
use reml_process::*;

/// Runs the ignored test `name` of this binary under `script` (a pseudo-terminal as its
/// controlling terminal and stdin), typing into it as [`common::under_pty`] does. Returns the
/// whole terminal output; asserts the inner test passed.
fn under_pty(name: &str, steps: &[(&str, &str)]) -> Option<String> {
    let exe = std::env::current_exe().unwrap();
    let inner = format!(
        "exec {} --ignored --exact {name} --nocapture --test-threads=1",
        exe.display()
    );
    let (text, passed) = common::under_pty(&inner, steps)?;
    assert!(passed, "{name} failed:\n{text}");
    assert!(text.contains("1 passed"), "{name} did not run:\n{text}");
    Some(text)
}

fn inner() {
    assert!(
        std::env::var_os("REML_INNER_TEST").is_some(),
        "run by its outer test"
    );
}

/// `stty -g`: the terminal's state as a string.
fn stty() -> String {
    let out = std::process::Command::new("stty")
        .arg("-g")
        .stdin(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn we_are_foreground() -> bool {
    // rustix's tcgetpgrp fails on 0 (a foreground group outside our pid namespace): not us.
    let fg =
        rustix::termios::tcgetpgrp(rustix::stdio::stdin()).map_or(0, |p| p.as_raw_nonzero().get());
    fg != 0 && fg == common::own_group_and_session().0
}

fn job_control(timeout: Duration) -> RunOptions {
    RunOptions {
        timeout: Some(timeout),
        kill_after: Duration::from_millis(300),
        collect_output: true,
        job_control: true,
        ..RunOptions::default()
    }
}

fn shell(script: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script])
        .stdout(StdioSpec::Pipe)
        .process_group(ProcessGroup::New);
    cmd
}

#[test]
fn child_reads_the_terminal_in_the_foreground_and_the_terminal_comes_back() {
    under_pty("inner_reads_the_terminal", &[("READY", "hello\n")]);
}

#[test]
#[ignore = "run by child_reads_the_terminal_in_the_foreground_and_the_terminal_comes_back"]
fn inner_reads_the_terminal() {
    inner();
    let before = stty();
    assert!(we_are_foreground());
    let cap = NativeProcessCapability::new();
    let fg = format!("{} fg", helper().display());
    // The child changes the terminal (no echo, raw-ish) and reads a line from it.
    let cmd = shell(&format!(
        "stty -echo -icanon min 1; {fg}; echo READY >&2; read x; echo got:$x"
    ));
    let mut cmd = cmd;
    cmd.stderr(StdioSpec::Inherit);
    let outcome = run_process(
        &cap,
        &cmd,
        &Environment::default(),
        &job_control(Duration::from_secs(30)),
    );
    assert_eq!(outcome.cause, Cause::Exited, "{outcome:?}");
    assert_eq!(
        String::from_utf8_lossy(&outcome.output.stdout),
        "foreground\ngot:hello\n",
        "{outcome:?}"
    );
    assert_eq!(stty(), before, "terminal state restored");
    assert!(we_are_foreground(), "the terminal came back to us");
}

#[test]
fn terminal_comes_back_when_the_time_limit_kills_the_child() {
    under_pty("inner_killed_by_the_time_limit", &[]);
}

#[test]
#[ignore = "run by terminal_comes_back_when_the_time_limit_kills_the_child"]
fn inner_killed_by_the_time_limit() {
    inner();
    let before = stty();
    let cap = NativeProcessCapability::new();
    let cmd = shell(&format!(
        "stty raw -echo; exec {} ignore-term 100",
        helper().display()
    ));
    let outcome = run_process(
        &cap,
        &cmd,
        &Environment::default(),
        &job_control(Duration::from_millis(800)),
    );
    assert_eq!(outcome.cause, Cause::TimedOut, "{outcome:?}");
    assert_eq!(
        outcome.termination.and_then(|t| t.signal()),
        Some(Signal::KILL),
        "{outcome:?}"
    );
    assert_ne!(stty(), "", "stty works");
    assert_eq!(stty(), before, "terminal state restored after KILL");
    assert!(we_are_foreground(), "the terminal came back to us");
}

/// `^Z` typed while the child holds the terminal: the stop is reported; with no
/// job-control shell above us (our group is orphaned under `script`) our own stop is
/// discarded by the kernel, so the child is given the terminal back and continued, and
/// reads the next line.
#[test]
fn ctrl_z_is_reported_and_the_job_continues() {
    under_pty(
        "inner_ctrl_z",
        &[("READY", "\x1a"), ("STOPPED-BY-SIGTSTP", "hello\n")],
    );
}

#[test]
#[ignore = "run by ctrl_z_is_reported_and_the_job_continues"]
fn inner_ctrl_z() {
    inner();
    let before = stty();
    let cap = NativeProcessCapability::new();
    let mut cmd = shell("echo READY >&2; read x; echo got:$x");
    cmd.stderr(StdioSpec::Inherit);
    let events = Mutex::new(Vec::new());
    let outcome = run_process_supervised(
        &cap,
        &cmd,
        &Environment::default(),
        &job_control(Duration::from_secs(30)),
        None,
        &|e| {
            if let RunEvent::Stopped { signal, .. } = e {
                eprintln!("STOPPED-BY-{signal}");
            }
            events.lock().unwrap().push(e.clone());
        },
    );
    assert_eq!(outcome.cause, Cause::Exited, "{outcome:?}");
    assert_eq!(
        String::from_utf8_lossy(&outcome.output.stdout),
        "got:hello\n"
    );
    assert_eq!(events.lock().unwrap().len(), 1);
    assert_eq!(stty(), before);
    assert!(we_are_foreground());
}

/// Without job control the same child stays in the background: reading the terminal stops
/// it with `SIGTTIN`, which is reported, and the time limit ends it.
#[test]
fn without_job_control_a_background_reader_is_stopped_and_reported() {
    under_pty("inner_background_reader", &[]);
}

#[test]
#[ignore = "run by without_job_control_a_background_reader_is_stopped_and_reported"]
fn inner_background_reader() {
    inner();
    let cap = NativeProcessCapability::new();
    let cmd = shell("read x; echo got:$x");
    let events = Mutex::new(Vec::new());
    let options = RunOptions {
        job_control: false,
        ..job_control(Duration::from_millis(800))
    };
    let outcome =
        run_process_supervised(&cap, &cmd, &Environment::default(), &options, None, &|e| {
            events.lock().unwrap().push(e.clone())
        });
    assert_eq!(outcome.cause, Cause::TimedOut, "{outcome:?}");
    let events = events.into_inner().unwrap();
    assert!(
        matches!(
            events.first(),
            Some(RunEvent::Stopped {
                signal: Signal::TTIN,
                ..
            })
        ),
        "{events:?}"
    );
    assert!(we_are_foreground());
}
