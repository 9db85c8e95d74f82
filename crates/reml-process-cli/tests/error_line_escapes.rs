//! A failure is one line (`docs/command.md`): control characters in what the line echoes — a
//! program name, a path, an environment variable, an option — are escaped (`\n`, `\r`, `\t`,
//! `\x1b`, `\x7f`, `\u{9b}`), and bytes that are not UTF-8 are shown as `\xNN` rather than
//! replaced. A program name with a newline and an escape sequence used to be printed raw:
//! two lines on stderr, the second one colouring the terminal.

mod common;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use common::{code, field, one_error_line, one_json, reml};

fn bytes(b: &[u8]) -> OsString {
    OsString::from_vec(b.to_vec())
}

/// Runs `reml-process ARGS`; asserts exit `status`, exactly one error line with no raw
/// control character in it, containing `shown`.
fn one_escaped_line(args: Vec<OsString>, status: i32, shown: &str) {
    let out = reml().args(&args).output().unwrap();
    assert_eq!(
        code(&out),
        status,
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = one_error_line(&out);
    let body = out
        .stderr
        .strip_suffix(b"\n")
        .unwrap_or_else(|| panic!("{args:?}: the line ends with a newline: {line:?}"));
    let text = std::str::from_utf8(body)
        .unwrap_or_else(|_| panic!("{args:?}: the line is UTF-8: {:?}", out.stderr));
    assert!(
        !text.chars().any(char::is_control),
        "{args:?}: no raw control character: {text:?}"
    );
    assert!(
        line.contains(shown),
        "{args:?}: {line:?} should show {shown:?}"
    );
}

fn args(words: &[&[u8]]) -> Vec<OsString> {
    words.iter().map(|w| bytes(w)).collect()
}

#[test]
fn program_names_with_controls_or_invalid_utf8_are_127_on_one_line() {
    let cases: [(&[u8], &str); 7] = [
        (b"bad\nname\x1b[31m", r"bad\nname\x1b[31m"),
        (b"carriage\rreturn", r"carriage\rreturn"),
        (b"tab\there", r"tab\there"),
        (b"del\x7fete", r"del\x7fete"),
        // U+009B, the one-character CSI of C1, as UTF-8.
        (b"c1\xc2\x9bx", r"c1\u{9b}x"),
        (b"latin1-caf\xe9", r"latin1-caf\xe9"),
        (b"lone\xff\xfebytes", r"lone\xff\xfebytes"),
    ];
    for (name, shown) in cases {
        one_escaped_line(args(&[b"run", b"--", name]), 127, shown);
        // The same with a path: not found by path instead of in PATH.
        let mut path = b"/nonexistent/".to_vec();
        path.extend_from_slice(name);
        one_escaped_line(
            args(&[b"run", b"--", &path]),
            127,
            &format!("/nonexistent/{shown}"),
        );
    }
}

#[test]
fn paths_and_keys_of_options_are_escaped() {
    let helper = common::helper_str();
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        format!("[commands]\nallow = [{helper:?}]\n[env]\nallow = [\"PATH\"]\n"),
    )
    .unwrap();
    let policy = policy.into_os_string().into_vec();
    let h = helper.as_bytes();
    let cases: Vec<(Vec<OsString>, i32, &str)> = vec![
        (
            args(&[b"run", b"--cwd", b"/nonexistent/d\n\x1b\xff", b"--", h]),
            125,
            r"/nonexistent/d\n\x1b\xff",
        ),
        (
            args(&[b"run", b"--env", b"=v\n\xff", b"--", h]),
            125,
            r"=v\n\xff",
        ),
        (
            args(&[
                b"run",
                b"--policy",
                &policy,
                b"--env",
                b"K\t\xff=1",
                b"--",
                h,
            ]),
            126,
            r"K\t\xff",
        ),
        (
            args(&[
                b"run",
                b"--policy",
                b"/nonexistent/p\r\x7f\xff.toml",
                b"--",
                h,
            ]),
            125,
            r"/nonexistent/p\r\x7f\xff.toml",
        ),
        (
            args(&[b"run", b"--audit", b"/nonexistent/a\n\xff/log", b"--", h]),
            125,
            r"/nonexistent/a\n\xff/log",
        ),
        (
            args(&[
                b"run",
                b"--stdout",
                b"file:/nonexistent/o\n\x1b[2J",
                b"--",
                h,
            ]),
            125,
            r"/nonexistent/o\n\x1b[2J",
        ),
        (
            args(&[b"run", b"--signal", b"T\nERM", b"--", h]),
            125,
            r"T\nERM",
        ),
        (
            args(&[b"run", b"--bo\n\ngus", b"--", h]),
            125,
            r"'--bo\n\ngus'",
        ),
        (
            args(&[b"verify", b"/nonexistent/v\n\xff.toml"]),
            125,
            r"/nonexistent/v\n\xff.toml",
        ),
        (
            args(&[b"describe", b"--policy", b"/nonexistent/d\x1b\xff.toml"]),
            125,
            r"/nonexistent/d\x1b\xff.toml",
        ),
        (
            args(&[b"audit", b"verify", b"/nonexistent/l\n\xff"]),
            125,
            r"/nonexistent/l\n\xff",
        ),
    ];
    for (argv, status, shown) in cases {
        one_escaped_line(argv, status, shown);
    }
}

#[test]
fn a_missing_subcommand_is_one_line() {
    one_escaped_line(Vec::new(), 125, "missing a subcommand");
    one_escaped_line(args(&[b"audit"]), 125, "reml-process audit <COMMAND>");
}

#[test]
fn json_error_message_keeps_the_raw_text_and_stderr_escapes_it() {
    // JSON escapes control characters itself, so `error.message` carries the name as it is
    // (bytes that are not UTF-8 as `\xNN`); the stderr line is escaped.
    let argv = args(&[b"run", b"--json", b"--", b"bad\nname\xff"]);
    let out = reml().args(&argv).output().unwrap();
    assert_eq!(code(&out), 127);
    let j = one_json(&out);
    let message = field(&j, "error")["message"].as_str().unwrap();
    assert!(
        message.starts_with("bad\nname\\xff: program not found"),
        "{message:?}"
    );
    assert!(one_error_line(&out).contains(r"bad\nname\xff: program not found"));
}

/// Characters that reorder what a terminal shows (a right-to-left override turns
/// `evil\u{202e}txt.exe` into what reads as another name) are escaped like controls.
#[test]
fn bidirectional_overrides_and_line_separators_are_escaped() {
    for (name, shown) in [
        ("evil\u{202e}gpj.exe", r"evil\u{202e}gpj.exe"),
        ("iso\u{2066}late", r"iso\u{2066}late"),
        ("line\u{2028}sep", r"line\u{2028}sep"),
    ] {
        let out = reml().args(["run", "--", name]).output().unwrap();
        assert_eq!(code(&out), 127);
        let line = one_error_line(&out);
        assert!(line.contains(shown), "{line:?} should show {shown:?}");
        assert!(!line.contains(name), "{line:?} holds the raw name");
    }
}

/// `check` shows an echoed name the way every error line does (`\x1b`, not Rust's
/// `\u{1b}`), on each of its lines.
#[test]
fn check_escapes_like_every_other_line() {
    let out = reml().args(["check", "--", "a\x1b[31mb"]).output().unwrap();
    assert_eq!(code(&out), 127);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(r"program:  a\x1b[31mb"), "{text}");
    assert!(!text.contains(r"\u{1b}"), "{text}");
    assert!(!text.contains('\x1b'), "{text}");
}
