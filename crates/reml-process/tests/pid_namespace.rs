//! A host whose process group and session have no number in its pid namespace — the leader
//! lives outside it, as under a CI runner's or a container's pid namespace, where
//! `getpgrp()` and `getsid(0)` return 0. The library must treat that as "our group, not
//! visible", never as a positive id (an earlier version panicked in debug builds and was
//! undefined behaviour in release ones), on every path that asks for our own group: a
//! time limit ending a tree in our group or its own, `kill_process_group`'s refusal of our
//! group, the terminal hand-over.
//!
//! The outer test re-runs the inner one as pid 2 of a fresh pid namespace
//! (`rp-helper pidns`), so this holds on any machine, not only where CI happens to run.

mod common;

use common::{
    assert_gone, helper, limited, no_pid_namespace_here, own_group_and_session, pids, rerun_under,
};
use reml_process::*;

#[test]
fn library_works_when_our_group_has_no_number_in_our_pid_namespace() {
    if let Some(why) = no_pid_namespace_here() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    rerun_under(
        &["pidns", "--"],
        "inner_library_works_when_our_group_has_no_number",
    );
}

#[test]
#[ignore = "run by library_works_when_our_group_has_no_number_in_our_pid_namespace"]
fn inner_library_works_when_our_group_has_no_number() {
    // The premise: the environment really hides our group (and, under `rp-helper pidns`,
    // our session too).
    assert_eq!(own_group_and_session().0, 0);
    let cap = NativeProcessCapability::new();
    let env = Environment::default();

    // A child in our group sees the same invisible group and is reported as ours.
    let mut ids = Command::new(helper());
    ids.arg("ids").stdout(StdioSpec::Pipe);
    let h = cap.spawn_process(&ids, &env).unwrap();
    assert_eq!(cap.process_info(h).unwrap().pgid, None);
    // Signalling "its" group would hit us: refused, not attempted with group 0.
    let err = cap.kill_process_group(h, Signal::TERM).unwrap_err();
    assert_eq!(err.kind, ProcessErrorKind::InvalidCommand, "{err:?}");
    cap.wait_with_options(h, &WaitOptions::default().collecting())
        .unwrap();
    let out = String::from_utf8(cap.take_output(h).unwrap().stdout).unwrap();
    assert!(out.contains(" pgid=0 "), "{out}");
    cap.release_process(h).unwrap();

    // A time limit ends a tree left in our group, and one leading its own group.
    for group in [ProcessGroup::Inherit, ProcessGroup::New] {
        let mut tree = Command::new(helper());
        tree.args(["tree", "2", "30"])
            .stdout(StdioSpec::Pipe)
            .process_group(group);
        let outcome = run_process(&cap, &tree, &env, &limited(300, 300));
        assert_eq!(outcome.cause, Cause::TimedOut, "{group:?}: {outcome:?}");
        let grandchildren = pids(&outcome.output.stdout);
        assert_eq!(grandchildren.len(), 2, "{group:?}: {outcome:?}");
        assert_gone(&grandchildren);
    }

    // No terminal is taken over for a group we could not hand it back to.
    assert!(TerminalGuard::acquire().is_none());
}
