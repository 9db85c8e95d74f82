//! The exit statuses of `reml-process run` (`docs/command.md`, coreutils `timeout` conventions):
//! the child's code, 124, 125, 126, 127, 128+N; and `--json` never changes them.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;

#[test]
fn the_childs_own_exit_code() {
    let h = helper_str();
    for n in [0, 1, 3, 42, 123, 124, 125, 126, 127, 200, 255] {
        let out = run(&["--", &h, "exit", &n.to_string()]).output().unwrap();
        assert_eq!(code(&out), n, "rp-helper exit {n}");
    }
    let out = run(&["--", "sh", "-c", "exit 3"]).output().unwrap();
    assert_eq!(code(&out), 3);
}

#[test]
fn signal_not_ours_is_128_plus_n() {
    let out = run(&["--", "sh", "-c", "kill -TERM $$"]).output().unwrap();
    assert_eq!(code(&out), 143);
    let h = helper_str();
    let out = run(&["--", &h, "kill-self", "10"]).output().unwrap();
    assert_eq!(code(&out), 128 + 10, "SIGUSR1");
    let out = run(&["--json", "--", "sh", "-c", "kill -TERM $$"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 143);
    let j = one_json(&out);
    assert_eq!(field(&j, "signal"), 15);
    assert!(field(&j, "exit_code").is_null());
    assert_eq!(field(&j, "cause"), "signaled");
    assert_eq!(field(&j, "timed_out"), false);
    assert!(
        field(&j, "error").is_null(),
        "a death by signal is an outcome, not an error"
    );
}

#[test]
fn exit_137_and_kill_9_share_the_status_but_json_tells_them_apart() {
    let exited = run(&["--json", "--", "sh", "-c", "exit 137"])
        .output()
        .unwrap();
    let killed = run(&["--json", "--", "sh", "-c", "kill -9 $$"])
        .output()
        .unwrap();
    assert_eq!(code(&exited), 137);
    assert_eq!(code(&killed), 137);
    let (e, k) = (one_json(&exited), one_json(&killed));
    assert_eq!(field(&e, "exit_code"), 137);
    assert!(field(&e, "signal").is_null());
    assert_eq!(field(&e, "cause"), "exited");
    assert!(field(&k, "exit_code").is_null());
    assert_eq!(field(&k, "signal"), 9);
    assert_eq!(field(&k, "cause"), "signaled");
    assert_ne!(e, k);
}

#[test]
fn time_limit_expired_is_124() {
    let h = helper_str();
    let out = run(&["--timeout", "0.2", "--", &h, "sleep", "30"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 124);
}

#[test]
fn our_own_failure_is_125() {
    let out = run(&["--timeout", "soon", "--", "true"]).output().unwrap();
    assert_eq!(code(&out), 125);
    one_error_line(&out);
}

#[test]
fn a_directory_is_126() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["--", dir.path().to_str().unwrap()]).output().unwrap();
    assert_eq!(code(&out), 126);
    let line = one_error_line(&out);
    assert!(line.contains(dir.path().to_str().unwrap()), "{line}");
    assert!(line.contains("is a directory"), "{line}");
}

#[test]
fn a_file_without_execute_permission_is_126() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("script.sh");
    std::fs::write(&file, "#!/bin/sh\necho ran\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&["--", file.to_str().unwrap()]).output().unwrap();
    assert_eq!(code(&out), 126);
    assert!(out.stdout.is_empty(), "it must not have run");
    let line = one_error_line(&out);
    assert!(line.contains(file.to_str().unwrap()), "{line}");
    assert!(line.contains("permission denied"), "{line}");
}

#[test]
fn not_found_is_127() {
    for program in [
        "rp-no-such-program-xyz",
        "/nonexistent/dir/prog",
        "./rp-not-here",
    ] {
        let out = run(&["--", program]).output().unwrap();
        assert_eq!(code(&out), 127, "{program}");
        let line = one_error_line(&out);
        assert!(line.contains(program), "{line}");
        assert!(line.contains("not found"), "{line}");
    }
}

#[test]
fn json_does_not_change_the_exit_status() {
    let h = helper_str();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["--", &h, "exit", "0"],
        vec!["--", &h, "exit", "9"],
        vec!["--", "sh", "-c", "kill -INT $$"],
        vec!["--timeout", "0.1", "--", &h, "sleep", "30"],
        vec!["--", d],
        vec!["--", "rp-no-such-program-xyz"],
        vec!["--cwd", "/nonexistent-rp-dir", "--", "true"],
    ];
    for args in cases {
        let plain = run(&args).output().unwrap();
        let mut with_json = vec!["--json"];
        with_json.extend(&args);
        let json = run(&with_json).output().unwrap();
        assert_eq!(code(&plain), code(&json), "{args:?}");
        one_json(&json);
    }
}
