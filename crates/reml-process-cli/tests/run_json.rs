//! The `--json` object of `reml-process run` (`docs/command.md`) and collected output: every
//! field with its type and value, one line, start failures, caps, byte counts, lossy UTF-8.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;
use serde_json::Value;

/// The fields, in the documented order (`docs/command.md`, "The `--json` object").
const FIELDS: [&str; 16] = [
    "program",
    "args",
    "pid",
    "exit_code",
    "signal",
    "timed_out",
    "duration_ms",
    "stdout",
    "stderr",
    "stdout_truncated",
    "stderr_truncated",
    "stdout_bytes",
    "stderr_bytes",
    "cause",
    "error",
    "process.isolation",
];

fn keys_in_order(text: &[u8]) -> Vec<String> {
    // Order as written on the line (independent of how serde_json orders a parsed map).
    let line = std::str::from_utf8(text).unwrap();
    let mut found: Vec<(usize, String)> = FIELDS
        .iter()
        .filter_map(|k| line.find(&format!("\"{k}\":")).map(|i| (i, k.to_string())))
        .collect();
    found.sort();
    found.into_iter().map(|(_, k)| k).collect()
}

#[test]
fn every_field_with_its_type_and_value_for_a_normal_exit() {
    let out = run(&["--json", "--", "sh", "-c", "echo out; echo err >&2; exit 3"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 3);
    let j = one_json(&out);
    let mut keys: Vec<&str> = j.keys().map(String::as_str).collect();
    keys.sort();
    let mut want = FIELDS.to_vec();
    want.sort();
    assert_eq!(keys, want, "exactly the documented fields");
    assert_eq!(
        keys_in_order(&out.stdout),
        FIELDS,
        "in the documented order"
    );

    let program = field(&j, "program").as_str().expect("program is a string");
    assert!(
        program.starts_with('/'),
        "resolved absolute path: {program}"
    );
    assert!(program.ends_with("/sh"), "{program}");
    assert!(std::path::Path::new(program).is_file(), "{program}");
    assert_eq!(
        field(&j, "args"),
        &serde_json::json!(["-c", "echo out; echo err >&2; exit 3"])
    );
    assert!(field(&j, "pid").as_i64().is_some_and(|p| p > 1), "{j:?}");
    assert_eq!(field(&j, "exit_code"), 3);
    assert!(field(&j, "signal").is_null());
    assert_eq!(field(&j, "timed_out"), false);
    let d = field(&j, "duration_ms");
    assert!(d.is_number() && d.as_f64().unwrap() >= 0.0, "{d:?}");
    assert_eq!(field(&j, "stdout"), "out\n");
    assert_eq!(field(&j, "stderr"), "err\n");
    assert_eq!(field(&j, "stdout_truncated"), false);
    assert_eq!(field(&j, "stderr_truncated"), false);
    assert_eq!(field(&j, "stdout_bytes"), 4);
    assert_eq!(field(&j, "stderr_bytes"), 4);
    assert_eq!(field(&j, "cause"), "exited");
    assert!(field(&j, "error").is_null());
    // The child's output went into the object, not through.
    assert!(
        out.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn program_is_the_resolved_absolute_path_of_a_bare_name() {
    let out = run(&["--json", "--", "echo", "x"]).output().unwrap();
    let j = one_json(&out);
    let program = field(&j, "program").as_str().unwrap();
    let expected = which("echo").expect("echo on PATH");
    assert_eq!(std::path::Path::new(program), expected.as_path());
}

/// `program` is the path as resolved, not canonicalised (`docs/command.md` `run`): absolute,
/// `.` and repeated `/` removed, `..` and links kept; a bare name is joined to the `PATH`
/// entry as written. The audit log's `subject` and `process.command[0]` are the same string.
#[test]
fn program_is_the_path_as_found_with_dot_dot_and_links_kept() {
    let d = tempfile::Builder::new()
        .prefix("run-json-program-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let root = d.path().to_str().unwrap().to_owned();
    std::fs::create_dir(d.path().join("bin")).unwrap();
    std::fs::create_dir(d.path().join("sub")).unwrap();
    std::os::unix::fs::symlink(helper(), d.path().join("bin/tool")).unwrap();
    std::os::unix::fs::symlink(d.path().join("bin/tool"), d.path().join("link")).unwrap();
    std::os::unix::fs::symlink(d.path().join("bin"), d.path().join("bindir")).unwrap();
    // (PROGRAM, --cwd, PATH of the child, the documented `program`)
    let cases: Vec<(String, Option<&str>, Option<String>, String)> = vec![
        (
            format!("{root}/bin/../bin/tool"),
            None,
            None,
            format!("{root}/bin/../bin/tool"),
        ),
        (
            format!("{root}/./bin//tool"),
            None,
            None,
            format!("{root}/bin/tool"),
        ),
        (format!("{root}/link"), None, None, format!("{root}/link")),
        ("./link".into(), Some(&root), None, format!("{root}/link")),
        (
            "sub/../link".into(),
            Some(&root),
            None,
            format!("{root}/sub/../link"),
        ),
        (
            "tool".into(),
            None,
            Some(format!("{root}/./bin")),
            format!("{root}/bin/tool"),
        ),
        (
            "tool".into(),
            None,
            Some(format!("{root}/bindir")),
            format!("{root}/bindir/tool"),
        ),
    ];
    for (i, (program, cwd, path, expected)) in cases.iter().enumerate() {
        let log = d.path().join(format!("audit-{i}.jsonl"));
        let mut cmd = run(&["--json", "--audit", log.to_str().unwrap()]);
        if let Some(cwd) = cwd {
            cmd.args(["--cwd", cwd]);
        }
        if let Some(path) = path {
            cmd.arg("--env").arg(format!("PATH={path}"));
        }
        let out = cmd.args(["--", program, "exit", "3"]).output().unwrap();
        assert_eq!(
            code(&out),
            3,
            "{program}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let j = one_json(&out);
        assert_eq!(field(&j, "program"), expected.as_str(), "{program}");
        let text = std::fs::read_to_string(&log).unwrap();
        let spawned: Value = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|r| r["event"] == "process.spawned")
            .expect("a process.spawned record");
        assert_eq!(spawned["subject"], expected.as_str(), "{program}");
        assert_eq!(
            spawned["metadata"]["process.command"][0],
            expected.as_str(),
            "{program}"
        );
    }
    // Never started: the program as given.
    let given = format!("{root}/sub/../no-such-tool");
    let out = run(&["--json", "--", &given]).output().unwrap();
    assert_eq!(code(&out), 127);
    assert_eq!(field(&one_json(&out), "program"), given.as_str());
}

#[test]
fn duration_ms_measures_the_run() {
    let h = helper_str();
    let out = run(&["--json", "--", &h, "sleep", "0.3"]).output().unwrap();
    assert_eq!(code(&out), 0);
    let ms = field(&one_json(&out), "duration_ms").as_f64().unwrap();
    assert!(ms >= 300.0, "slept 0.3 s, reported {ms} ms");
}

#[test]
fn not_found_has_cause_not_started_and_an_error_object() {
    let out = run(&["--json", "--", "rp-no-such-program-xyz", "a"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 127);
    let j = one_json(&out);
    assert_eq!(field(&j, "program"), "rp-no-such-program-xyz");
    assert_eq!(field(&j, "args"), &serde_json::json!(["a"]));
    assert!(field(&j, "pid").is_null());
    assert!(field(&j, "exit_code").is_null());
    assert!(field(&j, "signal").is_null());
    assert_eq!(field(&j, "timed_out"), false);
    assert!(field(&j, "duration_ms").is_number());
    assert_eq!(field(&j, "cause"), "not_started");
    let e = field(&j, "error").as_object().expect("error is an object");
    assert_eq!(field(e, "kind"), "spawn_failed");
    assert_eq!(field(e, "code"), 2, "ENOENT");
    let msg = field(e, "message").as_str().unwrap();
    assert!(
        msg.contains("rp-no-such-program-xyz") && msg.contains("not found"),
        "{msg}"
    );
    // The failure line is on stderr as well, stdout holds only the object.
    assert!(one_error_line(&out).contains("not found"));
}

#[test]
fn permission_denied_error_object() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain");
    std::fs::write(&file, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let f = file.to_str().unwrap();
    let d = dir.path().to_str().unwrap();
    for (program, reason) in [(f, "not executable"), (d, "is a directory")] {
        let out = run(&["--json", "--", program]).output().unwrap();
        assert_eq!(code(&out), 126, "{program}");
        let j = one_json(&out);
        assert_eq!(field(&j, "cause"), "not_started");
        let e = field(&j, "error").as_object().expect("error object");
        assert_eq!(field(e, "kind"), "permission_denied");
        assert_eq!(field(e, "code"), 13, "EACCES");
        let msg = field(e, "message").as_str().unwrap();
        assert!(msg.contains(reason) && msg.contains(program), "{msg}");
    }
}

#[test]
fn missing_cwd_is_an_invalid_command_object() {
    let out = run(&["--json", "--cwd", "/nonexistent-rp-dir", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    let j = one_json(&out);
    assert_eq!(field(&j, "cause"), "not_started");
    let e = field(&j, "error").as_object().unwrap();
    assert_eq!(field(e, "kind"), "invalid_command");
    assert_eq!(field(e, "code"), 2);
    let line = one_error_line(&out);
    assert!(
        line.contains("true") && line.contains("/nonexistent-rp-dir"),
        "{line}"
    );
}

#[test]
fn both_streams_collected_when_stderr_fills_first() {
    let script = "head -c 1000000 /dev/zero >&2; echo done";
    let out = run(&["--json", "--", "sh", "-c", script]).output().unwrap();
    assert_eq!(code(&out), 0);
    let j = one_json(&out);
    assert_eq!(field(&j, "stdout"), "done\n");
    assert_eq!(field(&j, "stderr_bytes"), 1_000_000);
    assert_eq!(field(&j, "stderr_truncated"), false);
    let err = field(&j, "stderr").as_str().unwrap();
    assert_eq!(err.len(), 1_000_000);
    assert!(err.bytes().all(|b| b == 0));

    let out = run(&["--collect", "--", "sh", "-c", script])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(out.stdout, b"done\n");
    assert_eq!(out.stderr.len(), 1_000_000);
    assert!(out.stderr.iter().all(|&b| b == 0));
}

#[test]
fn max_output_caps_each_stream_and_counts_every_byte() {
    let h = helper_str();
    let out = run(&["--json", "--max-output", "64KiB", "--", &h, "out", "100000"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    let j = one_json(&out);
    assert_eq!(field(&j, "stdout").as_str().unwrap().len(), 65536);
    assert_eq!(field(&j, "stdout_truncated"), true);
    assert_eq!(field(&j, "stdout_bytes"), 100_000);
    assert_eq!(field(&j, "stderr_truncated"), false);
    assert_eq!(field(&j, "stderr_bytes"), 0);
    assert_eq!(
        field(&j, "cause"),
        "exited",
        "a cap without a policy does not end the child"
    );

    let out = run(&[
        "--json",
        "--max-output",
        "1000",
        "--",
        &h,
        "out",
        "5000",
        "err",
    ])
    .output()
    .unwrap();
    let j = one_json(&out);
    assert_eq!(field(&j, "stderr").as_str().unwrap().len(), 1000);
    assert_eq!(field(&j, "stderr_truncated"), true);
    assert_eq!(field(&j, "stderr_bytes"), 5000);
    assert_eq!(field(&j, "stdout_truncated"), false);
}

#[test]
fn max_output_exactly_at_the_cap_is_not_truncated() {
    let h = helper_str();
    let out = run(&["--json", "--max-output", "64KiB", "--", &h, "out", "65536"])
        .output()
        .unwrap();
    let j = one_json(&out);
    assert_eq!(field(&j, "stdout").as_str().unwrap().len(), 65536);
    assert_eq!(field(&j, "stdout_truncated"), false);
    assert_eq!(field(&j, "stdout_bytes"), 65536);
}

#[test]
fn max_output_applies_to_collect_without_json() {
    let h = helper_str();
    let out = run(&[
        "--collect",
        "--max-output",
        "64KiB",
        "--",
        &h,
        "out",
        "100000",
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(out.stdout.len(), 65536);
}

#[test]
fn non_utf8_output_is_decoded_lossily() {
    let out = run(&[
        "--json",
        "--",
        "sh",
        "-c",
        r"printf 'a\377b'; printf '\300x' >&2",
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), 0);
    let j = one_json(&out);
    assert_eq!(field(&j, "stdout"), "a\u{FFFD}b");
    assert_eq!(
        field(&j, "stdout_bytes"),
        3,
        "bytes as written, not as decoded"
    );
    assert_eq!(field(&j, "stderr"), "\u{FFFD}x");
    assert_eq!(field(&j, "stderr_bytes"), 2);
    // Without --json the bytes pass through untouched.
    let out = run(&["--collect", "--", "sh", "-c", r"printf 'a\377b'"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"a\xffb");
}

#[test]
fn json_is_one_line_even_when_the_child_prints_lines() {
    let out = run(&[
        "--json",
        "--",
        "sh",
        "-c",
        "printf 'l1\\nl2\\n\\n'; echo '{}'",
    ])
    .output()
    .unwrap();
    let j = one_json(&out);
    assert_eq!(field(&j, "stdout"), "l1\nl2\n\n{}\n");
}

#[test]
fn json_values_are_the_documented_types() {
    // A timed-out run: every field's type when a signal ended it.
    let h = helper_str();
    let out = run(&["--json", "--timeout", "0.2", "--", &h, "sleep", "30"])
        .output()
        .unwrap();
    let j = one_json(&out);
    let ty = |k: &str| match field(&j, k) {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let want = [
        ("program", "string"),
        ("args", "array"),
        ("pid", "number"),
        ("exit_code", "null"),
        ("signal", "number"),
        ("timed_out", "bool"),
        ("duration_ms", "number"),
        ("stdout", "string"),
        ("stderr", "string"),
        ("stdout_truncated", "bool"),
        ("stderr_truncated", "bool"),
        ("stdout_bytes", "number"),
        ("stderr_bytes", "number"),
        ("cause", "string"),
        ("error", "null"),
    ];
    for (k, t) in want {
        assert_eq!(ty(k), t, "{k} in {j:?}");
    }
    let cause = field(&j, "cause").as_str().unwrap();
    assert!([
        "exited",
        "signaled",
        "timed_out",
        "not_started",
        "output_capped",
        "cpu_limit"
    ]
    .contains(&cause));
    assert_eq!(cause, "timed_out");
}
