//! With `--collect`, a stream cut at its cap is announced on stderr after the output
//! (`docs/command.md`): `reml-process: stdout truncated at 10 of 3893 bytes (--max-output)`. It
//! used to be cut silently. With `--json` the object's `stdout_truncated` / `stdout_bytes`
//! say it and stderr gets no line.

mod common;

use common::{code, field, helper_str, one_json, run};

/// `sh -c` that writes `out` bytes of `x` on stdout, then `err` on stderr.
fn both(out: usize, err: usize) -> Vec<String> {
    let h = helper_str();
    vec![
        "--".into(),
        "sh".into(),
        "-c".into(),
        format!(r#""$0" out {out}; "$0" out {err} err"#),
        h,
    ]
}

fn collect(options: &[&str], out: usize, err: usize) -> std::process::Output {
    let mut argv: Vec<String> = options.iter().map(|s| s.to_string()).collect();
    argv.extend(both(out, err));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    run(&argv).output().unwrap()
}

#[test]
fn both_streams_cut_are_announced_after_the_output() {
    let out = collect(&["--collect", "--max-output", "10"], 3893, 100);
    assert_eq!(code(&out), 0);
    assert_eq!(out.stdout, b"xxxxxxxxxx");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "xxxxxxxxxx\
         reml-process: stdout truncated at 10 of 3893 bytes (--max-output)\n\
         reml-process: stderr truncated at 10 of 100 bytes (--max-output)\n"
    );
}

#[test]
fn only_the_stream_that_was_cut_is_announced() {
    let out = collect(&["--collect", "--max-output", "10"], 5, 3893);
    assert_eq!(out.stdout, b"xxxxx");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "xxxxxxxxxx\
         reml-process: stderr truncated at 10 of 3893 bytes (--max-output)\n"
    );
}

#[test]
fn nothing_is_announced_when_nothing_was_cut() {
    // Exactly at the cap is not cut.
    let out = collect(&["--collect", "--max-output", "10"], 10, 3);
    assert_eq!(code(&out), 0);
    assert_eq!(out.stdout, b"xxxxxxxxxx");
    assert_eq!(out.stderr, b"xxx");
}

#[test]
fn json_says_it_in_its_fields_not_on_stderr() {
    let out = collect(&["--json", "--max-output", "10"], 3893, 100);
    assert_eq!(code(&out), 0);
    let j = one_json(&out);
    assert_eq!(field(&j, "stdout_truncated"), true);
    assert_eq!(field(&j, "stdout_bytes"), 3893);
    assert_eq!(field(&j, "stderr_truncated"), true);
    assert_eq!(field(&j, "stderr_bytes"), 100);
    assert!(
        out.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}
