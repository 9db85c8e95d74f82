//! Whole-tree termination with this process as a child subreaper (spec §7): orphans
//! of a job (a double-forked daemon, a `setsid` escapee whose parent already exited) come
//! back to us and are ended with the job; children this process had before the job are never
//! touched; adopted orphans are reaped, never left as zombies.
//!
//! The subreaper setting is process-wide and adopted orphans are attributed to every job
//! running at the time, so this file is its own test binary and its tests run one at a time
//! (`SERIAL`).

mod common;

use std::io::{BufRead, BufReader};
use std::sync::Mutex;
use std::time::Duration;

use common::{alive, eventually, helper, limited, pids, proc_state, zombie_children};
use reml_process::*;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
    assert!(is_child_subreaper().unwrap());
    guard
}

fn env() -> Environment {
    Environment::default()
}

/// Stricter than `common::assert_gone`: gone from /proc altogether (reaped, not a zombie).
fn assert_reaped(pids: &[i32]) {
    for &pid in pids {
        eventually(Duration::from_secs(10), &format!("pid {pid} gone"), || {
            proc_state(pid).is_none().then_some(())
        });
    }
}

fn assert_no_zombie_children() {
    let z = zombie_children();
    let described: Vec<String> = z
        .iter()
        .map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default())
        .collect();
    assert!(z.is_empty(), "zombie children left: {described:?}");
}

/// A double-forked daemon (its parent exited at once, it called `setsid` and left the
/// group): reparented to us, found among our children, ended and reaped.
#[test]
fn double_forked_daemon_is_ended_and_reaped() {
    let mut cmd = Command::new(helper());
    cmd.args(["double-fork", "100"]);
    assert_orphan_ended_and_reaped(cmd);
}

/// A shell that starts a `setsid` escapee from a subshell that exits at once, then keeps
/// running: the escapee is an orphan of ours by the time the limit expires.
#[test]
fn orphaned_setsid_escapee_is_ended() {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "(setsid sleep 100 >/dev/null & echo $!); sleep 100"]);
    assert_orphan_ended_and_reaped(cmd);
}

/// Runs `cmd` (which prints the pid of one orphan it leaves behind, then keeps running) in a
/// group of its own under a time limit: the limit ends it, and the orphan is gone entirely —
/// not even a zombie of ours (the tree kill reaps adopted orphans).
#[track_caller]
fn assert_orphan_ended_and_reaped(mut cmd: Command) {
    let _s = serial();
    let cap = NativeProcessCapability::new();
    cmd.stdout(StdioSpec::Pipe).process_group(ProcessGroup::New);
    let outcome = run_process(&cap, &cmd, &env(), &limited(800, 500));
    assert_eq!(outcome.cause, Cause::TimedOut, "{outcome:?}");
    let orphan = pids(&outcome.output.stdout);
    assert_eq!(orphan.len(), 1, "{outcome:?}");
    assert_reaped(&orphan);
    assert_no_zombie_children();
}

/// A child this process had before the job (spawned another way, as a shell that `exec`s
/// into a supervisor may leave one) survives the job's whole-tree termination, and its exit
/// status is still ours to collect.
#[test]
fn pre_existing_child_survives_the_run_untouched() {
    let _s = serial();
    let mut host_child = std::process::Command::new(helper())
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    let host_pid = host_child.id() as i32;
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new(helper());
    cmd.args(["double-fork", "100"])
        .stdout(StdioSpec::Pipe)
        .process_group(ProcessGroup::New);
    let outcome = run_process(&cap, &cmd, &env(), &limited(800, 300));
    assert_eq!(outcome.cause, Cause::TimedOut, "{outcome:?}");
    assert_reaped(&pids(&outcome.output.stdout));
    // Not stopped, not killed, not reaped by us.
    assert_eq!(proc_state(host_pid), Some('S'), "host child state");
    host_child.kill().unwrap();
    let status = host_child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "our own kill, not the job's");
}

/// `process_tree` shows an adopted orphan as part of the job; `kill_process_tree` ends and
/// reaps it.
#[test]
fn process_tree_includes_adopted_orphans() {
    let _s = serial();
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new(helper());
    cmd.args(["double-fork", "100"])
        .stdout(StdioSpec::Pipe)
        .process_group(ProcessGroup::New);
    let h = cap.spawn_process(&cmd, &env()).unwrap();
    let out = cap.take_pipe(h, StdStream::Stdout).unwrap().unwrap();
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).unwrap();
    let daemon: i32 = line.trim().parse().unwrap();
    // The daemon's parent exited: it is our child now, yet part of the job.
    let tree = eventually(Duration::from_secs(10), "daemon adopted and listed", || {
        let t = cap.process_tree(h).unwrap();
        t.contains(&daemon).then_some(t)
    });
    assert_eq!(tree[0], h.pid());
    assert!(alive(daemon));
    cap.kill_process_tree(h, Signal::KILL).unwrap();
    assert_eq!(
        cap.wait_process(h, Some(Duration::from_secs(10)))
            .unwrap_err()
            .code,
        Some(9)
    );
    assert_reaped(&[daemon]);
    cap.release_process(h).unwrap();
    assert_no_zombie_children();
}

/// Orphans of a job that ended by itself are left alone (as coreutils `timeout` does): only
/// a job we end is ended whole.
#[test]
fn orphans_of_a_job_that_ended_by_itself_are_left_running() {
    let _s = serial();
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "setsid sleep 30 >/dev/null & echo $!"])
        .stdout(StdioSpec::Pipe)
        .process_group(ProcessGroup::New);
    let outcome = run_process(&cap, &cmd, &env(), &limited(10_000, 500));
    assert_eq!(outcome.cause, Cause::Exited, "{outcome:?}");
    let orphan = pids(&outcome.output.stdout)[0];
    assert!(alive(orphan));
    // It is our child now; end and reap it ourselves.
    let pidfd = rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(orphan).unwrap(),
        rustix::process::PidfdFlags::empty(),
    )
    .unwrap();
    rustix::process::pidfd_send_signal(&pidfd, rustix::process::Signal::KILL).unwrap();
    let status = rustix::process::waitid(
        rustix::process::WaitId::PidFd(std::os::fd::AsFd::as_fd(&pidfd)),
        rustix::process::WaitIdOptions::EXITED,
    )
    .unwrap();
    assert!(status.is_some(), "the orphan was our child to reap");
    assert_reaped(&[orphan]);
}

/// Another child this library spawned after the job (a concurrent job's child) is not an
/// adopted orphan of the job: the kernel gives every child exit signal `SIGCHLD` at exec, so
/// the library tells its own children apart by pid, and a timed-out job never ends them.
#[test]
fn a_concurrent_library_child_is_not_taken_for_an_adopted_orphan() {
    let _s = serial();
    let cap = NativeProcessCapability::new();
    let mut job = Command::new(helper());
    job.args(["sleep", "30"]).process_group(ProcessGroup::New);
    let a = cap.spawn_process(&job, &env()).unwrap();
    // Spawned after `a`: not in a's baseline, and our direct child, like an adopted orphan.
    let other = cap
        .spawn_process(Command::new(helper()).args(["sleep", "30"]), &env())
        .unwrap();
    cap.kill_process_tree(a, Signal::KILL).unwrap();
    cap.wait_process(a, Some(Duration::from_secs(10)))
        .unwrap_err();
    assert!(
        alive(other.pid()),
        "the other library child was ended with the job"
    );
    cap.kill_process(other, Signal::KILL).unwrap();
    cap.wait_process(other, None).unwrap_err();
    assert_no_zombie_children();
}
