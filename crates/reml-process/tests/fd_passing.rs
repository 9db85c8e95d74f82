//! Passing descriptors to a child (spec §7): exactly the mapped ones cross; shared memory
//! goes both ways; conflicts are refused before any child exists.

mod common;

use std::os::fd::OwnedFd;
use std::sync::Arc;

use common::helper;
use reml_process::*;

fn run_collect(cap: &NativeProcessCapability, cmd: &mut Command) -> (ExitStatus, String) {
    cmd.stdout(StdioSpec::Pipe);
    let h = cap.spawn_process(cmd, &Environment::default()).unwrap();
    let st = cap
        .wait_with_options(h, &WaitOptions::default().collecting())
        .unwrap();
    let out = String::from_utf8(cap.take_output(h).unwrap().stdout).unwrap();
    cap.release_process(h).unwrap();
    (st, out)
}

#[test]
fn child_sees_exactly_the_mapped_descriptors() {
    let cap = NativeProcessCapability::new();
    let a = SharedMemory::create("a", 16).unwrap();
    let b = SharedMemory::create("b", 16).unwrap();
    let mut cmd = Command::new(helper());
    cmd.arg("fds").pass_fd(a.fd(), 3).pass_fd(b.fd(), 7);
    let (_, out) = run_collect(&cap, &mut cmd);
    assert_eq!(out.trim(), "0 1 2 3 7");
}

#[test]
fn shared_memory_both_ways() {
    let cap = NativeProcessCapability::new();
    let request = SharedMemory::create("request", 4096).unwrap();
    let answer = SharedMemory::create("answer", 4096).unwrap();
    request.write_at(0, b"21\n").unwrap();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "read n <&3; echo $((n * 2)) >&4; echo done"])
        .pass_fd(request.fd(), 3)
        .pass_fd(answer.fd(), 4);
    let (st, out) = run_collect(&cap, &mut cmd);
    assert!(st.success());
    assert_eq!(out, "done\n");
    assert_eq!(answer.read_at(0, 3).unwrap(), b"42\n");
}

#[test]
fn swapped_targets_do_not_clobber_each_other() {
    // Source numbers that are also targets of the other mapping: the two-phase arrangement
    // in the child must keep both.
    let cap = NativeProcessCapability::new();
    let x = SharedMemory::create("x", 8).unwrap();
    let y = SharedMemory::create("y", 8).unwrap();
    x.write_at(0, b"X").unwrap();
    y.write_at(0, b"Y").unwrap();
    let xs = std::os::fd::AsRawFd::as_raw_fd(&*x.fd());
    let ys = std::os::fd::AsRawFd::as_raw_fd(&*y.fd());
    // Read through our own helper: a shell cannot redirect descriptors numbered 10 and up,
    // which these may be when many tests run at once.
    let read = |fd: i32, mut cmd: Command| {
        cmd.args(["read-fd", &fd.to_string(), "1"]);
        run_collect(&cap, &mut cmd).1
    };
    let mut c1 = Command::new(helper());
    c1.pass_fd(y.fd(), xs).pass_fd(x.fd(), ys);
    let c2 = c1.clone();
    assert_eq!(read(xs, c1) + &read(ys, c2), "YX");
}

#[test]
fn conflicts_are_refused_before_any_child() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("m");
    let cap = NativeProcessCapability::new();
    let m = SharedMemory::create("m", 8).unwrap();
    let fd: Arc<OwnedFd> = m.fd();
    let base = || {
        let mut c = Command::new("touch");
        c.arg(&marker);
        c
    };
    let mut twice = base();
    twice.pass_fd(fd.clone(), 5).pass_fd(fd.clone(), 5);
    let mut stdio = base();
    stdio.stdout(StdioSpec::Null).pass_fd(fd.clone(), 1);
    let mut negative = base();
    negative.pass_fd(fd.clone(), -1);
    let mut huge = base();
    huge.pass_fd(fd.clone(), 1 << 30);
    for (what, cmd, needle) in [
        ("twice", twice, "given twice"),
        ("stdio", stdio, "conflicts with stdout"),
        ("negative", negative, "outside"),
        ("huge", huge, "RLIMIT_NOFILE"),
    ] {
        let e = cap
            .spawn_process(&cmd, &Environment::default())
            .unwrap_err();
        assert_eq!(e.kind, ProcessErrorKind::InvalidCommand, "{what}");
        assert!(e.message.contains(needle), "{what}: {}", e.message);
    }
    assert!(!marker.exists());
    // Mapping onto an inherited stdio slot is allowed: it replaces that stream.
    m.write_at(0, b"in").unwrap();
    let mut cmd = Command::new(helper());
    cmd.arg("cat").pass_fd(fd, 0);
    let (_, out) = run_collect(&cap, &mut cmd);
    assert_eq!(out.as_bytes(), b"in\0\0\0\0\0\0");
}

#[test]
fn shared_memory_is_sealed_against_shrinking() {
    let m = SharedMemory::create("sealed", 4096).unwrap();
    let fd = m.fd();
    assert!(rustix::fs::ftruncate(&*fd, 10).is_err(), "shrink must fail");
    rustix::fs::ftruncate(&*fd, 8192).unwrap();
    assert!(SharedMemory::create("bad\0name", 1).is_err());
    let flags = rustix::io::fcntl_getfd(&*fd).unwrap();
    assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
}

#[test]
fn passing_descriptors_carries_the_memory_effect() {
    assert!(Operation::SpawnProcess { passes_fds: true }
        .effects()
        .contains(Effect::Memory));
    assert!(!Operation::SpawnProcess { passes_fds: false }
        .effects()
        .contains(Effect::Memory));
}
