//! The fallback without pidfd (kernels before 5.2): forced for this whole test binary.
//! Waiting polls `waitid(WNOHANG)` every `check_interval`; signals go by pid, only while the
//! child is unreaped.

mod common;

use std::time::Duration;

use common::helper;
use reml_process::*;

#[test]
fn fallback_waits_kills_and_times_out() {
    NativeProcessCapability::force_pidfd_fallback();
    let cap = NativeProcessCapability::new();
    let h = cap
        .spawn_process(
            Command::new(helper()).args(["exit", "6"]),
            &Environment::default(),
        )
        .unwrap();
    let opts = WaitOptions {
        timeout: Some(Duration::from_secs(10)),
        check_interval: Duration::from_millis(5),
        ..WaitOptions::default()
    };
    assert_eq!(cap.wait_with_options(h, &opts).unwrap().code(), 6);

    let h = cap
        .spawn_process(
            Command::new(helper()).args(["sleep", "30"]),
            &Environment::default(),
        )
        .unwrap();
    let e = cap
        .wait_with_options(
            h,
            &WaitOptions {
                timeout: Some(Duration::from_millis(50)),
                ..opts.clone()
            },
        )
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::TimedOut);
    cap.kill_process(h, Signal::KILL).unwrap();
    assert_eq!(cap.wait_with_options(h, &opts).unwrap_err().code, Some(9));
    // After the reap, kill sends nothing (the pid may be reused) and succeeds.
    cap.kill_process(h, Signal::KILL).unwrap();

    // Output collection in fallback mode.
    let mut cmd = Command::new(helper());
    cmd.args(["out", "200000"]).stdout(StdioSpec::Pipe);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    cap.wait_with_options(
        h,
        &WaitOptions {
            collect_output: true,
            ..opts.clone()
        },
    )
    .unwrap();
    assert_eq!(cap.take_output(h).unwrap().stdout_bytes, 200000);

    // Released without pidfd: the reaper polls.
    let h = cap
        .spawn_process(
            Command::new(helper()).args(["sleep", "0.05"]),
            &Environment::default(),
        )
        .unwrap();
    cap.release_process(h).unwrap();
    common::eventually(Duration::from_secs(5), "reaped by polling reaper", || {
        common::proc_state(h.pid()).is_none().then_some(())
    });
}

/// Without pidfds no tree can be walked: `process_tree` is the child alone until its end is
/// seen, and `kill_process_tree` signals the group it leads (or the child alone) and reports
/// the child, then nothing once the end was seen.
#[test]
fn fallback_tree_is_the_group_or_the_child() {
    NativeProcessCapability::force_pidfd_fallback();
    let cap = NativeProcessCapability::new();
    let env = Environment::default();
    for group in [ProcessGroup::New, ProcessGroup::Inherit] {
        let mut cmd = Command::new(helper());
        cmd.args(["sleep", "30"]).process_group(group);
        let h = cap.spawn_process(&cmd, &env).unwrap();
        assert_eq!(cap.process_tree(h).unwrap(), vec![h.pid()], "{group:?}");
        assert_eq!(
            cap.kill_process_tree(h, Signal::KILL).unwrap(),
            vec![h.pid()]
        );
        let e = cap
            .wait_with_options(
                h,
                &WaitOptions {
                    timeout: Some(Duration::from_secs(10)),
                    check_interval: Duration::from_millis(5),
                    ..WaitOptions::default()
                },
            )
            .unwrap_err();
        assert_eq!(e.code, Some(9), "{group:?}");
        assert!(cap.process_tree(h).unwrap().is_empty());
        assert!(cap.kill_process_tree(h, Signal::KILL).unwrap().is_empty());
        cap.release_process(h).unwrap();
    }
}
