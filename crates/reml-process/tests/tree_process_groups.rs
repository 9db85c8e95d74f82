//! Process group control on `Command` (spec §7): lead a new group, join an existing one, or
//! stay in ours; the group id on the handle's `ProcessInfo`; `kill_process_group`.

mod common;

use std::time::Duration;

use common::helper;
use reml_process::*;

fn env() -> Environment {
    Environment::default()
}

/// Runs `rp-helper ids` with `group` and returns (pid, pgid, sid) as it saw them, and the
/// `pgid` the capability reported.
fn ids(cap: &NativeProcessCapability, group: ProcessGroup) -> ((i32, i32, i32), Option<i32>) {
    let mut cmd = Command::new(helper());
    cmd.arg("ids").stdout(StdioSpec::Pipe).process_group(group);
    let h = cap.spawn_process(&cmd, &env()).unwrap();
    let reported = cap.process_info(h).unwrap().pgid;
    cap.wait_with_options(
        h,
        &WaitOptions::with_timeout(Duration::from_secs(10)).collecting(),
    )
    .unwrap();
    let out = String::from_utf8(cap.take_output(h).unwrap().stdout).unwrap();
    cap.release_process(h).unwrap();
    let field = |name: &str| -> i32 {
        out.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .unwrap()
            .parse()
            .unwrap()
    };
    ((field("pid="), field("pgid="), field("sid=")), reported)
}

#[test]
fn inherit_stays_in_our_group() {
    let cap = NativeProcessCapability::new();
    let ((_, pgid, sid), reported) = ids(&cap, ProcessGroup::Inherit);
    assert_eq!((pgid, sid), common::own_group_and_session());
    assert_eq!(reported, None);
}

#[test]
fn new_leads_its_own_group_and_reports_it() {
    let cap = NativeProcessCapability::new();
    let ((pid, pgid, sid), reported) = ids(&cap, ProcessGroup::New);
    assert_eq!(pgid, pid);
    assert_eq!(reported, Some(pid));
    // Same session: a new group, not a new session.
    assert_eq!(sid, common::own_group_and_session().1);
}

/// `Join(pgid)`: the child is in the leader's group, `process_info` says so, and
/// `kill_process_group` through the member's handle reaches the leader too.
#[test]
fn join_enters_an_existing_group() {
    let cap = NativeProcessCapability::new();
    let mut leader_cmd = Command::new(helper());
    leader_cmd
        .args(["sleep", "30"])
        .process_group(ProcessGroup::New);
    let leader = cap.spawn_process(&leader_cmd, &env()).unwrap();
    let ((pid, pgid, _), reported) = ids(&cap, ProcessGroup::Join(leader.pid()));
    assert_ne!(pid, leader.pid());
    assert_eq!(pgid, leader.pid());
    assert_eq!(reported, Some(leader.pid()));

    let mut member_cmd = Command::new(helper());
    member_cmd
        .args(["sleep", "30"])
        .process_group(ProcessGroup::Join(leader.pid()));
    let member = cap.spawn_process(&member_cmd, &env()).unwrap();
    assert_eq!(cap.process_info(member).unwrap().pgid, Some(leader.pid()));
    cap.kill_process_group(member, Signal::KILL).unwrap();
    for h in [member, leader] {
        let err = cap
            .wait_process(h, Some(Duration::from_secs(10)))
            .unwrap_err();
        assert_eq!(err.code, Some(9), "{err:?}");
        cap.release_process(h).unwrap();
    }
}

/// `kill_process_group` refuses a child that shares our group (it would hit the caller).
#[test]
fn kill_process_group_refuses_our_own_group() {
    let cap = NativeProcessCapability::new();
    let h = cap
        .spawn_process(Command::new(helper()).args(["sleep", "30"]), &env())
        .unwrap();
    let err = cap.kill_process_group(h, Signal::TERM).unwrap_err();
    assert_eq!(err.kind, ProcessErrorKind::InvalidCommand);
    cap.kill_process(h, Signal::KILL).unwrap();
    let _ = cap.wait_process(h, Some(Duration::from_secs(10)));
    cap.release_process(h).unwrap();
}

/// `Join` of our own group puts the child in our group like `Inherit`, so
/// `kill_process_group` refuses it the same way. (Where our group has no number in our pid
/// namespace, there is no id to join: `Join(0)` is refused at spawn.)
#[test]
fn kill_process_group_refuses_a_join_of_our_own_group() {
    let cap = NativeProcessCapability::new();
    let (ours, _) = common::own_group_and_session();
    let mut cmd = Command::new(helper());
    cmd.args(["sleep", "30"])
        .process_group(ProcessGroup::Join(ours));
    if ours == 0 {
        let err = cap.spawn_process(&cmd, &env()).unwrap_err();
        assert_eq!(err.kind, ProcessErrorKind::InvalidCommand, "{err:?}");
        return;
    }
    let h = cap.spawn_process(&cmd, &env()).unwrap();
    assert_eq!(cap.process_info(h).unwrap().pgid, Some(ours));
    let err = cap.kill_process_group(h, Signal::TERM).unwrap_err();
    assert_eq!(err.kind, ProcessErrorKind::InvalidCommand, "{err:?}");
    cap.kill_process(h, Signal::KILL).unwrap();
    let _ = cap.wait_process(h, Some(Duration::from_secs(10)));
    cap.release_process(h).unwrap();
}
