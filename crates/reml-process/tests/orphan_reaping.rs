//! Orphan reaping by a supervisor (`SignalForwarder::install_reaping_orphans`): orphans
//! adopted as child subreaper are reaped as they end, while the forwarder runs — never a
//! child this library is waiting for (whose exit status would be lost), never a child the
//! process had before, and a host's own child only with the opt-in, as documented.
//!
//! Each inner test runs in a fresh process (process-wide subreaper and signal state) started
//! under `rp-helper with-signals - 17`, so every thread blocks `SIGCHLD`, as in a supervisor
//! that installs its forwarder before any other thread exists.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::{eventually, helper, proc_state, rerun_with_signals, zombie_children};
use reml_process::*;

/// Runs the forwarder of `install` in a thread while `body` runs; returns what `body`
/// returns and the signals the forwarder forwarded.
fn with_forwarder<T: Send>(
    forwarder: SignalForwarder,
    body: impl FnOnce() -> T + Send,
) -> (T, Vec<Signal>) {
    /// Stops the forwarder however `body` ends (a failed assertion must not hang the test).
    struct StopOnDrop<'a>(&'a SignalForwarder);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.stop();
        }
    }
    let forwarded = Mutex::new(Vec::new());
    let out = std::thread::scope(|s| {
        s.spawn(|| forwarder.run(|sig| forwarded.lock().unwrap().push(sig)));
        let _stop = StopOnDrop(&forwarder);
        body()
    });
    (out, forwarded.into_inner().unwrap())
}

fn inner() {
    assert!(
        std::env::var_os("REML_INNER_TEST").is_some(),
        "run through its outer test"
    );
}

/// A library child that exits while orphans end around it — and while other library
/// children are being cloned — keeps its real exit status, many times over.
fn library_children_keep_their_status_among_orphans() {
    inner();
    set_child_subreaper(true).unwrap();
    let forwarder = SignalForwarder::install_reaping_orphans(&[Signal::USR1]).unwrap();
    let cap = NativeProcessCapability::new();
    let wait = WaitOptions {
        timeout: Some(Duration::from_secs(20)),
        check_interval: Duration::from_millis(1),
        ..WaitOptions::default()
    };
    let run = |cmd: &Command| {
        let h = cap.spawn_process(cmd, &Environment::default()).unwrap();
        let status = cap.wait_with_options(h, &wait);
        cap.release_process(h).unwrap();
        status
    };
    let ((), forwarded) = with_forwarder(forwarder, || {
        std::thread::scope(|s| {
            // Exits 7 at once, leaving two orphans that end at the same moment.
            s.spawn(|| {
                let mut cmd = Command::new("sh");
                cmd.args(["-c", "sh -c 'exit 0' & sh -c 'exit 0' & exit 7"]);
                for i in 0..150 {
                    let st = run(&cmd);
                    assert_eq!(st.as_ref().map(|s| s.code()).ok(), Some(7), "{i}: {st:?}");
                }
            });
            // A child that ends as soon as it is cloned, while sweeps run.
            s.spawn(|| {
                let mut cmd = Command::new(helper());
                cmd.args(["exit", "7"]);
                for i in 0..300 {
                    let st = run(&cmd);
                    assert_eq!(st.as_ref().map(|s| s.code()).ok(), Some(7), "{i}: {st:?}");
                }
            });
        });
        // And the orphans of it all are reaped while the forwarder runs.
        eventually(Duration::from_secs(10), "every orphan reaped", || {
            zombie_children().is_empty().then_some(())
        });
    });
    assert!(
        !forwarded.contains(&Signal::CHLD),
        "SIGCHLD is received for the sweep, not forwarded: {forwarded:?}"
    );
}

#[test]
fn a_library_child_keeps_its_exit_status_while_orphans_are_reaped() {
    rerun_with_signals("inner_library_children_keep_their_status", "-", "17");
}

#[test]
#[ignore = "run by a_library_child_keeps_its_exit_status_while_orphans_are_reaped"]
fn inner_library_children_keep_their_status() {
    library_children_keep_their_status_among_orphans();
}

/// The same without pidfds (kernels before 5.2): a child reaped by the sweep would be a lost
/// status here, never read back from a pidfd.
#[test]
fn without_pidfds_a_library_child_keeps_its_exit_status_too() {
    rerun_with_signals(
        "inner_library_children_keep_their_status_fallback",
        "-",
        "17",
    );
}

#[test]
#[ignore = "run by without_pidfds_a_library_child_keeps_its_exit_status_too"]
fn inner_library_children_keep_their_status_fallback() {
    NativeProcessCapability::force_pidfd_fallback();
    library_children_keep_their_status_among_orphans();
}

/// `rp-helper exit 5` started with `std::process`: a child of the host, not of the library.
fn host_child() -> std::process::Child {
    std::process::Command::new(helper())
        .args(["exit", "5"])
        .spawn()
        .unwrap()
}

/// Waits until the host child has ended (a zombie), then a while longer than the sweep
/// interval, and checks it is still a zombie the host can wait for (status 5).
fn left_to_the_host(mut child: std::process::Child) {
    let pid = child.id() as i32;
    eventually(Duration::from_secs(10), "the host child to end", || {
        (proc_state(pid) == Some('Z')).then_some(())
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        proc_state(pid),
        Some('Z'),
        "someone reaped the host's child"
    );
    assert_eq!(child.wait().unwrap().code(), Some(5));
}

/// Without the opt-in, a forwarder reaps nothing: the host's own child is the host's.
#[test]
fn a_host_child_is_not_reaped_without_the_opt_in() {
    rerun_with_signals("inner_host_child_without_opt_in", "-", "17");
}

#[test]
#[ignore = "run by a_host_child_is_not_reaped_without_the_opt_in"]
fn inner_host_child_without_opt_in() {
    inner();
    set_child_subreaper(true).unwrap();
    let forwarder = SignalForwarder::install(&[]).unwrap();
    with_forwarder(forwarder, || left_to_the_host(host_child()));
}

/// A child the host already had when the reaping forwarder was installed is left alone.
#[test]
fn a_child_the_host_had_before_the_opt_in_is_left_alone() {
    rerun_with_signals("inner_host_child_before_opt_in", "-", "17");
}

#[test]
#[ignore = "run by a_child_the_host_had_before_the_opt_in_is_left_alone"]
fn inner_host_child_before_opt_in() {
    inner();
    set_child_subreaper(true).unwrap();
    let child = host_child();
    let forwarder = SignalForwarder::install_reaping_orphans(&[]).unwrap();
    with_forwarder(forwarder, || left_to_the_host(child));
}

/// The documented price of the opt-in: a child the host creates by other means afterwards
/// cannot be told from an adopted orphan, and is reaped (the host's wait then fails).
#[test]
fn with_the_opt_in_a_later_host_child_is_reaped_as_documented() {
    rerun_with_signals("inner_host_child_with_opt_in", "-", "17");
}

#[test]
#[ignore = "run by with_the_opt_in_a_later_host_child_is_reaped_as_documented"]
fn inner_host_child_with_opt_in() {
    inner();
    set_child_subreaper(true).unwrap();
    let forwarder = SignalForwarder::install_reaping_orphans(&[]).unwrap();
    with_forwarder(forwarder, || {
        let mut child = host_child();
        let pid = child.id() as i32;
        eventually(
            Duration::from_secs(10),
            "the host child to be reaped",
            || proc_state(pid).is_none().then_some(()),
        );
        let e = child.wait().unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ECHILD), "{e}");
    });
}
