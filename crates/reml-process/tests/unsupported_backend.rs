//! The backend of platforms without a real implementation, checked on Linux by building with
//! `--cfg reml_force_unsupported` (`src/sys/mod.rs`; `.ci/run` runs it in its own target
//! directory). Without that cfg this file is empty.
//!
//! Every operation must answer `Unsupported` naming the platform; nothing may pretend to
//! work, and a refused spawn must not have opened or created anything.
#![cfg(reml_force_unsupported)]

use std::env::consts::OS;

use reml_process::thread::{NativeThreadCapability, ThreadCapability, ThreadOptions, ThreadStart};
use reml_process::*;

#[test]
fn spawn_process_is_unsupported_naming_the_platform() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "echo hi"])
        .stdout(StdioSpec::File(out.clone()));
    let e = cap
        .spawn_process(&cmd, &Environment::default())
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::Unsupported, "{e:?}");
    assert!(
        e.message
            .contains(&format!("process spawning is not implemented on {OS} yet")),
        "{}",
        e.message
    );
    assert!(
        !out.exists(),
        "the stdout file was created before the refusal"
    );
    assert_eq!(cap.outstanding(), 0);
}

#[test]
fn create_thread_is_unsupported() {
    let cap = NativeThreadCapability::new();
    let e = cap
        .create_thread(ThreadStart::new(|_| Ok(())), ThreadOptions::new())
        .unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::Unsupported, "{e:?}");
    assert!(e.message.contains(OS), "{}", e.message);
    let e = thread::online_cpus().unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::Unsupported, "{e:?}");
}

#[test]
fn shared_memory_is_unsupported() {
    let e = SharedMemory::create("reml-test", 4096).unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::Unsupported, "{e:?}");
    assert!(e.message.contains(OS), "{}", e.message);
}

#[test]
fn the_other_entry_points_are_unsupported_too() {
    for e in [
        set_child_subreaper(true).unwrap_err(),
        is_child_subreaper().unwrap_err(),
        SignalForwarder::install(&FORWARDED_SIGNALS)
            .err()
            .expect("install refused"),
        FdMapping::from_inherited(0, 3).unwrap_err(),
    ] {
        assert_eq!(e.kind, ProcessErrorKind::Unsupported, "{e:?}");
        assert!(e.message.contains(OS), "{}", e.message);
    }
    assert!(TerminalGuard::acquire().is_none());
}
