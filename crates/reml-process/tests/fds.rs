//! Descriptors: the child holds only 0, 1, 2; everything we create is close-on-exec.

mod common;

use std::os::fd::AsRawFd;
use std::time::Duration;

use common::helper;
use reml_process::*;

fn child_fds(cap: &NativeProcessCapability, cmd: &mut Command) -> String {
    cmd.stdout(StdioSpec::Pipe);
    let h = cap.spawn_process(cmd, &Environment::default()).unwrap();
    cap.wait_with_options(
        h,
        &WaitOptions::with_timeout(Duration::from_secs(10)).collecting(),
    )
    .unwrap();
    let out = cap.take_output(h).unwrap();
    cap.release_process(h).unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn child_holds_only_stdio_even_with_inheritable_fds_in_parent() {
    // A descriptor without close-on-exec, as a careless host might have.
    let file = std::fs::File::open("/dev/null").unwrap();
    let raw = file.as_raw_fd();
    let inheritable = rustix::io::dup(&file).unwrap();
    rustix::io::fcntl_setfd(&inheritable, rustix::io::FdFlags::empty()).unwrap();
    assert!(rustix::io::fcntl_getfd(&inheritable).unwrap().is_empty());
    let cap = NativeProcessCapability::new();
    let got = child_fds(&cap, Command::new(helper()).arg("fds"));
    assert_eq!(got, "0 1 2", "parent had fds {raw} and {:?}", inheritable);
}

#[test]
fn all_three_pipes_and_files_map_to_0_1_2() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::write(&input, "from file").unwrap();
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new(helper());
    cmd.arg("cat")
        .stdin(StdioSpec::File(input))
        .stderr(StdioSpec::Null);
    assert_eq!(child_fds(&cap, &mut cmd), "from file");
    let out = tmp.path().join("out");
    let mut cmd = Command::new(helper());
    cmd.args(["echo", "to", "file"])
        .stdout(StdioSpec::File(out.clone()));
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    cap.wait_process(h, None).unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "to file\n");
}

#[test]
fn our_pipe_ends_are_close_on_exec() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new(helper());
    cmd.args(["sleep", "0"])
        .stdin(StdioSpec::Pipe)
        .stdout(StdioSpec::Pipe)
        .stderr(StdioSpec::Pipe);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    for s in [StdStream::Stdin, StdStream::Stdout, StdStream::Stderr] {
        let f = cap.take_pipe(h, s).unwrap().expect("pipe");
        let flags = rustix::io::fcntl_getfd(&f).unwrap();
        assert!(flags.contains(rustix::io::FdFlags::CLOEXEC), "{s:?}");
        assert!(cap.take_pipe(h, s).unwrap().is_none(), "taken twice");
    }
    cap.wait_process(h, None).unwrap();
    cap.release_process(h).unwrap();
}

#[test]
fn no_descriptor_leaks_across_many_spawns() {
    let count = || std::fs::read_dir("/proc/self/fd").unwrap().count();
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new(helper());
    cmd.args(["out", "10"])
        .stdin(StdioSpec::Pipe)
        .stdout(StdioSpec::Pipe)
        .stderr(StdioSpec::Null);
    // Warm up lazily created descriptors (reaper etc.).
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    cap.wait_with_options(h, &WaitOptions::default().collecting())
        .unwrap();
    cap.release_process(h).unwrap();
    let before = count();
    for _ in 0..50 {
        let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
        cap.wait_with_options(h, &WaitOptions::default().collecting())
            .unwrap();
        cap.release_process(h).unwrap();
    }
    // Other tests of this binary run in parallel threads; allow their transient descriptors
    // but not 50 leaked ones.
    let after = count();
    assert!(after < before + 10, "fds before {before}, after {after}");
}
