//! The library waits only for its own children: a child the host spawned another way is
//! never reaped, waited for or reported by us.

mod common;

use std::time::Duration;

use common::{eventually, helper, proc_state};
use reml_process::*;

#[test]
fn host_child_status_is_never_stolen() {
    // The host's own child, spawned with std, exits at once.
    let mut host_child = std::process::Command::new(helper())
        .args(["exit", "33"])
        .spawn()
        .unwrap();
    let host_pid = host_child.id() as i32;
    eventually(Duration::from_secs(5), "host child exited", || {
        (proc_state(host_pid) == Some('Z')).then_some(())
    });
    // Heavy use of the library meanwhile, including the orphan reaper.
    let cap = NativeProcessCapability::new();
    for i in 0..20 {
        let h = cap
            .spawn_process(
                Command::new(helper()).args(["exit", "0"]),
                &Environment::default(),
            )
            .unwrap();
        if i % 2 == 0 {
            cap.wait_process(h, None).unwrap();
        }
        cap.release_process(h).unwrap();
    }
    let h = cap
        .spawn_process(
            Command::new(helper()).args(["sleep", "0.05"]),
            &Environment::default(),
        )
        .unwrap();
    cap.release_process(h).unwrap();
    eventually(Duration::from_secs(5), "released child reaped", || {
        proc_state(h.pid()).is_none().then_some(())
    });
    // Still a zombie waiting for its real parent's wait: we did not reap it.
    assert_eq!(proc_state(host_pid), Some('Z'));
    assert_eq!(host_child.wait().unwrap().code(), Some(33));
}

/// A host whose own `waitpid(-1)` reaps our child (it cannot know it is ours) does not make
/// us lose or invent its status: it is read back from the pidfd.
#[test]
fn host_wait_any_reaping_our_child_does_not_lose_its_status() {
    let cap = NativeProcessCapability::new();
    let h = cap
        .spawn_process(
            Command::new(helper()).args(["exit", "21"]),
            &Environment::default(),
        )
        .unwrap();
    eventually(Duration::from_secs(5), "our child exited", || {
        (proc_state(h.pid()) == Some('Z')).then_some(())
    });
    let stolen = rustix::process::waitpid(
        rustix::process::Pid::from_raw(h.pid()),
        rustix::process::WaitOptions::NOHANG,
    )
    .unwrap()
    .expect("the host reaped it");
    assert_eq!(stolen.1.exit_status(), Some(21));
    assert_eq!(cap.wait_process(h, None).unwrap().code(), 21);
}
