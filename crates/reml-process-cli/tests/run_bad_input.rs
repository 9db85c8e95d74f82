//! Bad input to `reml-process run` (`docs/command.md`): each is refused with the right status
//! (125 ours, 126 cannot run, 127 not found), one `reml-process: ...` line on stderr, and
//! nothing run. "Nothing ran" is proved with a program that would create a marker file.
//!
//! A NUL byte cannot be passed through argv, so the command never sees one; the
//! library's own tests cover it.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A temporary directory and the marker file a `sh -c 'touch MARKER'` child would create.
struct Marker {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Marker {
    fn new() -> Marker {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ran");
        Marker { _dir: dir, path }
    }

    /// `-- sh -c 'touch "$0"' MARKER`
    fn command(&self) -> Vec<String> {
        vec![
            "--".into(),
            "sh".into(),
            "-c".into(),
            r#"touch "$0""#.into(),
            self.path.to_str().unwrap().into(),
        ]
    }
}

/// Runs `run OPTIONS -- sh -c 'touch MARKER'`; asserts `status`, one error line containing
/// every word of `words`, no output on stdout, and no marker. Returns the error line.
fn refused(options: &[&str], status: i32, words: &[&str]) -> String {
    let marker = Marker::new();
    let mut args: Vec<String> = options.iter().map(|s| s.to_string()).collect();
    args.extend(marker.command());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&argv).output().unwrap();
    assert_eq!(
        code(&out),
        status,
        "{options:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = one_error_line(&out);
    for w in words {
        assert!(
            line.contains(w),
            "{options:?}: {line:?} should mention {w:?}"
        );
    }
    assert!(
        out.stdout.is_empty(),
        "{options:?}: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!marker.path.exists(), "{options:?}: the program ran");
    line
}

#[test]
fn the_marker_check_can_fail() {
    // Control: without a bad option the program does run and create the marker.
    let marker = Marker::new();
    let args = marker.command();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&argv).output().unwrap();
    assert_eq!(code(&out), 0);
    assert!(marker.path.exists());
}

#[test]
fn bad_timeout() {
    // A duration too large to represent saturates (run_edge_values.rs): not bad input.
    for t in ["soon", "-1", "1x", "1.2.3", "", "1e3", "nan"] {
        refused(&["--timeout", t], 125, &["--timeout"]);
    }
}

#[test]
fn bad_kill_after() {
    refused(
        &["--timeout", "1", "--kill-after", "later"],
        125,
        &["--kill-after", "later"],
    );
}

#[test]
fn bad_signal() {
    for s in ["FOO", "SIGFOO", "0", "65", "99", "-1", ""] {
        refused(&["--signal", s], 125, &["--signal"]);
    }
}

#[test]
fn bad_max_output() {
    // A size too large to represent saturates (run_edge_values.rs): not bad input.
    for m in ["lots", "1.5MiB", "-1", "12XB", "KiB"] {
        refused(&["--collect", "--max-output", m], 125, &["--max-output"]);
    }
}

#[test]
fn bad_stdio_spec() {
    refused(&["--stdin", "tty"], 125, &["--stdin", "tty"]);
    refused(&["--stdout", "bogus"], 125, &["--stdout", "bogus"]);
    refused(&["--stderr", "file:"], 125, &["--stderr"]);
    refused(&["--stdout", "File:/tmp/x"], 125, &["--stdout"]);
}

#[test]
fn env_without_equals_or_with_empty_key() {
    refused(
        &["--env", "NOEQUALS"],
        125,
        &["--env", "NOEQUALS", "KEY=VALUE"],
    );
    refused(&["--env", "=value"], 125, &["--env"]);
}

#[test]
fn missing_cwd() {
    let line = refused(
        &["--cwd", "/nonexistent-rp-dir"],
        125,
        &["/nonexistent-rp-dir"],
    );
    // The line names the program too (`docs/command.md`).
    assert!(line.contains("sh"), "{line}");
}

#[test]
fn cwd_that_is_a_file() {
    let marker = Marker::new();
    let file = marker.path.with_file_name("a-file");
    std::fs::write(&file, "").unwrap();
    let mut args = vec!["--cwd".to_owned(), file.to_str().unwrap().to_owned()];
    args.extend(marker.command());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&argv).output().unwrap();
    assert_eq!(code(&out), 125);
    assert!(one_error_line(&out).contains("not a directory"));
    assert!(!marker.path.exists());
}

#[test]
fn missing_stdin_file() {
    refused(
        &["--stdin", "file:/nonexistent-rp-dir/in"],
        125,
        &["/nonexistent-rp-dir/in"],
    );
}

#[test]
fn unknown_option_is_a_bad_option_not_a_program() {
    // Before the fix, clap took `--bogus` as the program and answered 127 "not found".
    refused(&["--bogus"], 125, &["--bogus"]);
    refused(&["-z"], 125, &["-z"]);
}

#[test]
fn option_missing_its_value_is_one_line() {
    let out = run(&["--timeout"]).output().unwrap();
    assert_eq!(code(&out), 125);
    assert!(one_error_line(&out).contains("--timeout"));
}

#[test]
fn missing_program_is_one_line() {
    let out = run(&["--json"]).output().unwrap();
    assert_eq!(code(&out), 125);
    assert!(one_error_line(&out).contains("PROGRAM"));
    assert!(out.stdout.is_empty());
}

#[test]
fn empty_program_name() {
    let out = run(&["--", ""]).output().unwrap();
    assert_eq!(code(&out), 125);
    assert!(one_error_line(&out).contains("empty program"));
}

#[test]
fn program_is_a_directory_126() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = run(&["--", d]).output().unwrap();
    assert_eq!(code(&out), 126);
    let line = one_error_line(&out);
    assert!(
        line.contains(d) && line.contains("is a directory"),
        "{line}"
    );
}

#[test]
fn a_directory_on_path_under_the_programs_name_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("echo")).unwrap();
    let real = which("echo").expect("echo on PATH");
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = run(&["--json", "--", "echo", "found"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let j = one_json(&out);
    assert_eq!(field(&j, "stdout"), "found\n");
    assert_eq!(
        Path::new(field(&j, "program").as_str().unwrap()),
        real.as_path()
    );
}

#[test]
fn program_not_found_127_names_it() {
    let out = run(&["--", "rp-no-such-program-xyz"]).output().unwrap();
    assert_eq!(code(&out), 127);
    let line = one_error_line(&out);
    assert!(
        line.contains("rp-no-such-program-xyz: program not found"),
        "{line}"
    );
}

#[test]
fn unopenable_stdout_file_is_our_failure_not_program_not_found() {
    // The program exists and is runnable; only the redirection fails: that is our failure
    // (125), like a missing --stdin file, never "program not found" (127).
    refused(
        &["--stdout", "file:/nonexistent-rp-dir/out"],
        125,
        &["/nonexistent-rp-dir/out"],
    );
    refused(
        &["--stderr", "file:/nonexistent-rp-dir/err"],
        125,
        &["/nonexistent-rp-dir/err"],
    );
}
