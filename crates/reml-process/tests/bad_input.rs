//! Bad input: each gets a clear error of the right kind before any child exists.

mod common;

use reml_process::*;

/// A command that would create `marker` if it ran.
fn toucher(marker: &std::path::Path) -> Command {
    let mut c = Command::new("touch");
    c.arg(marker);
    c
}

fn refused(cmd: &Command, kind: ProcessErrorKind, needle: &str) -> ProcessError {
    let cap = NativeProcessCapability::new();
    let e = cap
        .spawn_process(cmd, &Environment::default())
        .expect_err("must be refused");
    assert_eq!(e.kind, kind, "{e:?}");
    assert!(
        e.message.contains(needle),
        "message {:?} should mention {needle:?}",
        e.message
    );
    assert_eq!(cap.outstanding(), 0);
    e
}

#[test]
fn empty_program() {
    refused(
        &Command::new(""),
        ProcessErrorKind::InvalidCommand,
        "empty program",
    );
}

#[test]
fn bad_env_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("m");
    let mut c = toucher(&marker);
    c.env("", "v");
    refused(
        &c,
        ProcessErrorKind::InvalidCommand,
        "empty environment variable name",
    );
    let mut c = toucher(&marker);
    c.env("A=B", "v");
    refused(&c, ProcessErrorKind::InvalidCommand, "contains `=`");
    assert!(!marker.exists());
}

#[test]
fn cwd_missing_or_not_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("m");
    let mut c = toucher(&marker);
    c.cwd(tmp.path().join("nope"));
    let e = refused(
        &c,
        ProcessErrorKind::InvalidCommand,
        "No such file or directory",
    );
    assert_eq!(e.code, Some(libc_enoent()));
    let file = tmp.path().join("file");
    std::fs::write(&file, "").unwrap();
    let mut c = toucher(&marker);
    c.cwd(&file);
    refused(&c, ProcessErrorKind::InvalidCommand, "not a directory");
    assert!(!marker.exists());
}

fn libc_enoent() -> i32 {
    2
}

#[test]
fn program_not_found() {
    let e = refused(
        &Command::new("no-such-program-xyz"),
        ProcessErrorKind::SpawnFailed,
        "program not found",
    );
    assert_eq!(e.code, Some(2));
    let e = refused(
        &Command::new("/no/such/dir/prog"),
        ProcessErrorKind::SpawnFailed,
        "not found",
    );
    assert_eq!(e.code, Some(2));
}

#[test]
fn stdin_file_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("m");
    let mut c = toucher(&marker);
    c.stdin(StdioSpec::File(tmp.path().join("absent")));
    refused(&c, ProcessErrorKind::InvalidCommand, "stdin file");
    assert!(!marker.exists());
}

#[test]
fn stdout_file_in_missing_directory_is_invalid_command_without_child() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("m");
    let mut c = toucher(&marker);
    c.stdout(StdioSpec::File(tmp.path().join("no/dir/out")));
    let e = refused(&c, ProcessErrorKind::InvalidCommand, "stdout file");
    assert_eq!(e.code, Some(2));
    assert!(!marker.exists());
}

#[test]
fn one_argument_too_large() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("m");
    let mut c = toucher(&marker);
    c.arg("x".repeat(200 * 1024));
    let e = refused(&c, ProcessErrorKind::InvalidCommand, "MAX_ARG_STRLEN");
    assert_eq!(e.code, Some(7)); // E2BIG
    assert!(!marker.exists());
}

#[test]
fn one_environment_entry_too_large() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("m");
    let mut c = toucher(&marker);
    c.env("HUGE", "v".repeat(200 * 1024));
    let e = refused(&c, ProcessErrorKind::InvalidCommand, "MAX_ARG_STRLEN");
    assert!(e.message.contains("environment entry"), "{e:?}");
    assert_eq!(e.code, Some(7)); // E2BIG
    assert!(!marker.exists());
}

#[test]
fn arguments_and_environment_too_large() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("m");
    let mut c = toucher(&marker);
    for _ in 0..200 {
        c.arg("y".repeat(100 * 1024));
    }
    refused(&c, ProcessErrorKind::InvalidCommand, "ARG_MAX");
    let mut c = toucher(&marker);
    for i in 0..200 {
        c.env(format!("BIG{i}"), "z".repeat(100 * 1024));
    }
    refused(&c, ProcessErrorKind::InvalidCommand, "ARG_MAX");
    assert!(!marker.exists());
}

#[test]
fn signal_that_does_not_exist() {
    for s in ["0", "65", "SIGFOO", "-9", ""] {
        let e = s.parse::<Signal>().unwrap_err();
        assert_eq!(e.kind, ProcessErrorKind::InvalidCommand, "{s}");
    }
    assert_eq!(
        Signal::new(99).unwrap_err().kind,
        ProcessErrorKind::InvalidCommand
    );
}

#[test]
fn join_nonexistent_process_group_fails_with_errno() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("m");
    let mut c = toucher(&marker);
    // A group id that is no group of our session.
    c.process_group(ProcessGroup::Join(i32::MAX - 7));
    let cap = NativeProcessCapability::new();
    let e = cap.spawn_process(&c, &Environment::default()).unwrap_err();
    assert!(e.message.contains("setpgid"), "{}", e.message);
    assert!(e.code.is_some());
    assert!(!marker.exists());
    assert_eq!(cap.outstanding(), 0);
    let mut c = toucher(&marker);
    c.process_group(ProcessGroup::Join(0));
    refused(&c, ProcessErrorKind::InvalidCommand, "process group");
}

#[test]
fn exec_failure_is_reported_by_spawn_with_errno() {
    let tmp = tempfile::tempdir().unwrap();
    // Executable bit but not a valid executable: the kernel says ENOEXEC.
    let garbage = tmp.path().join("garbage");
    std::fs::write(&garbage, [0x7f, b'E', b'L', b'F', 0, 1, 2, 3]).unwrap();
    std::fs::set_permissions(
        &garbage,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let cap = NativeProcessCapability::new();
    let e = cap
        .spawn_process(&Command::new(&garbage), &Environment::default())
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::SpawnFailed);
    assert_eq!(e.code, Some(8), "{e:?}"); // ENOEXEC
    assert!(e.message.contains("bad executable format"), "{}", e.message);
    // A script whose interpreter is missing: ENOENT from exec, not a child exiting 127.
    let script = tmp.path().join("script");
    std::fs::write(&script, "#!/no/such/interpreter\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let e = cap
        .spawn_process(&Command::new(&script), &Environment::default())
        .unwrap_err();
    assert_eq!(e.code, Some(2), "{e:?}");
    assert!(e.message.contains("interpreter"), "{}", e.message);
    assert_eq!(cap.outstanding(), 0);
    // The failed children were reaped by spawn itself: no zombie of ours exists.
    assert_eq!(common::zombie_children(), Vec::<i32>::new());
}

/// An executable still open for writing (`ETXTBSY`): the spawn retries for a short while (a
/// sibling's forked child holding a just-written binary closes it at its exec), and reports
/// the errno when the writer does not go away — never a hang.
#[test]
fn text_file_busy_is_retried_then_reported() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let prog = tmp.path().join("busy");
    std::fs::copy(common::helper(), &prog).unwrap();
    std::fs::set_permissions(&prog, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new(&prog);
    cmd.args(["exit", "4"]);
    // Held open for writing for the whole spawn: ETXTBSY, reported with its errno.
    let writer = std::fs::OpenOptions::new().write(true).open(&prog).unwrap();
    let e = cap
        .spawn_process(&cmd, &Environment::default())
        .unwrap_err();
    assert_eq!(e.code, Some(26), "{e:?}"); // ETXTBSY
    assert!(e.message.contains("busy"), "{}", e.message);
    assert_eq!(common::zombie_children(), Vec::<i32>::new());
    // Released a few milliseconds into the spawn: the retry gets through.
    let closer = std::thread::spawn(move || {
        let mut w = writer;
        w.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        drop(w);
    });
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    closer.join().unwrap();
    assert_eq!(cap.wait_process(h, None).unwrap().code(), 4);
}
