//! A catalogue of malformed inputs: option values, policy files, audit logs, environment and
//! argument shapes, stdio specs. Each gets the exit status `docs/command.md` gives it, one
//! line on standard error naming what is wrong, and nothing runs. A panic, a backtrace, a
//! second line or a silently accepted value fails the test.

mod common;

use std::path::Path;

use common::*;

/// A `run` invocation that must be refused: its arguments before `--`, the exit status, and
/// a piece of text the error line must contain.
struct Bad {
    args: &'static [&'static str],
    status: i32,
    says: &'static str,
}

const fn bad(args: &'static [&'static str], status: i32, says: &'static str) -> Bad {
    Bad { args, status, says }
}

/// Option values and command shapes of `run`. The program, when one is needed, would
/// create the marker file if it ran.
const RUN_OPTIONS: &[Bad] = &[
    bad(
        &["--timeout", "abc"],
        125,
        "--timeout: invalid duration `abc`",
    ),
    bad(&["--timeout", "-1"], 125, "invalid duration `-1`"),
    bad(&["--timeout", "1x"], 125, "invalid duration `1x`"),
    bad(&["--timeout", ""], 125, "invalid duration ``"),
    bad(&["--timeout", "1.2.3"], 125, "invalid duration `1.2.3`"),
    bad(&["--timeout", "5ss"], 125, "invalid duration `5ss`"),
    bad(&["--timeout", "0x10"], 125, "invalid duration `0x10`"),
    bad(&["--timeout", "NaN"], 125, "invalid duration `NaN`"),
    bad(&["--timeout", "inf"], 125, "invalid duration `inf`"),
    bad(&["--timeout", "1ms5"], 125, "invalid duration `1ms5`"),
    bad(
        &["--kill-after", "zz"],
        125,
        "--kill-after: invalid duration `zz`",
    ),
    bad(
        &["--kill-after", "-3"],
        125,
        "--kill-after: invalid duration `-3`",
    ),
    bad(
        &["--signal", "NOPE"],
        125,
        "--signal: unknown signal `NOPE`",
    ),
    bad(&["--signal", ""], 125, "--signal: unknown signal"),
    bad(&["--signal", "0"], 125, "signal 0 does not exist"),
    bad(&["--signal", "99"], 125, "signal 99 does not exist"),
    bad(&["--signal", "-9"], 125, "--signal"),
    bad(&["--signal", "SIGKILLX"], 125, "unknown signal `SIGKILLX`"),
    bad(
        &["--max-output", "12QB"],
        125,
        "--max-output: invalid size `12QB`",
    ),
    bad(&["--max-output", "-5"], 125, "invalid size `-5`"),
    bad(&["--max-output", ""], 125, "invalid size ``"),
    bad(
        &["--max-output", "1.5.5MiB"],
        125,
        "invalid size `1.5.5MiB`",
    ),
    bad(
        &["--stdin", "bogus"],
        125,
        "--stdin: invalid stdio spec `bogus`",
    ),
    bad(
        &["--stdin", "file"],
        125,
        "--stdin: invalid stdio spec `file`",
    ),
    bad(
        &["--stdout", "file:"],
        125,
        "--stdout: invalid stdio spec `file:`",
    ),
    bad(
        &["--stdout", "FILE:/tmp/x"],
        125,
        "invalid stdio spec `FILE:/tmp/x`",
    ),
    bad(
        &["--stderr", "pipe:x"],
        125,
        "--stderr: invalid stdio spec `pipe:x`",
    ),
    bad(&["--stderr", ""], 125, "--stderr: invalid stdio spec"),
    bad(&["--env", "=x"], 125, "--env =x: expected KEY=VALUE"),
    bad(&["--env", "NOEQ"], 125, "--env NOEQ: expected KEY=VALUE"),
    bad(&["--env", ""], 125, "expected KEY=VALUE"),
    bad(&["--pass-fd", "3"], 125, "--pass-fd 3: expected SRC:DST"),
    bad(
        &["--pass-fd", "a:b"],
        125,
        "--pass-fd a:b: expected SRC:DST",
    ),
    bad(
        &["--pass-fd", "-1:3"],
        125,
        "--pass-fd -1:3: expected SRC:DST",
    ),
    bad(&["--pass-fd", "3:"], 125, "--pass-fd 3:: expected SRC:DST"),
    bad(&["--pass-fd", "99:3"], 125, "descriptor 99 is not open"),
    bad(&["--pass-fd", "4294967299:3"], 125, "expected SRC:DST"),
    // Named with the caller's numbers, not those of our duplicates of them.
    bad(
        &["--pass-fd", "0:5", "--pass-fd", "2:5"],
        125,
        "descriptor target 5 is given twice (--pass-fd 0:5 and --pass-fd 2:5)",
    ),
    bad(
        &["--cwd", "/nonexistent-dir"],
        125,
        "working directory /nonexistent-dir",
    ),
    bad(
        &["--stdin", "file:/nonexistent-file"],
        125,
        "stdin file /nonexistent-file",
    ),
    bad(
        &["--policy", "/nonexistent-policy"],
        125,
        "/nonexistent-policy: cannot read",
    ),
    bad(
        &["--policy", "/tmp"],
        125,
        "/tmp: a directory, not a regular file",
    ),
    bad(&["--bogus"], 125, "unexpected argument '--bogus'"),
    bad(&["--json", "--json"], 125, "--json"),
];

/// Command shapes: (the whole `run` argument list, status, text).
const COMMANDS: &[Bad] = &[
    bad(&["--", ""], 125, "empty program name"),
    bad(&["--", "/nonexistent/program"], 127, "/nonexistent/program"),
    bad(
        &["--", "no-such-program-anywhere"],
        127,
        "no-such-program-anywhere",
    ),
    bad(&["--", "/etc"], 126, "/etc"),
    bad(
        &["--env-clear", "--", "no-such-program-anywhere"],
        127,
        "no-such-program-anywhere",
    ),
    bad(&[], 125, "PROGRAM"),
];

/// Policy files: (text, the text the error line must contain). Each is refused by `verify`
/// (125, naming the line) and by `run --policy` (125, nothing runs).
const POLICIES: &[(&str, &str)] = &[
    ("x", "line 1, column 2: TOML syntax error"),
    (
        "[commands]\nallow = [\"sh\"]\ntypo = 1\n",
        "unknown key `commands.typo`",
    ),
    (
        "[commands]\nallow = \"sh\"\n",
        "`commands.allow`: invalid type",
    ),
    (
        "[commands]\nallow = []\n[limits]\nmax_processes = -1\n",
        "invalid count -1",
    ),
    (
        "[commands]\nallow = []\nallowed_signals = [\"NOPE\"]\n",
        "unknown signal `NOPE`",
    ),
    (
        "[commands]\nallow = []\n[limits]\nallowed_cpus = \"3-1\"\n",
        "range 3-1 is reversed",
    ),
    (
        "[commands]\nallow = []\nsearch_path = [\"bin\"]\n",
        "path `bin` is not absolute",
    ),
    (
        "[env]\ninherit = true\n",
        "missing required section `[commands]`",
    ),
    (
        "[commands]\nallow = []\n[env]\ndeny = [\"A=B\"]\n",
        "`A=B` is not an environment variable name",
    ),
    (
        "[commands]\nallow = []\n[limits]\noutput_cap_action = \"explode\"\n",
        "unknown output cap action `explode`",
    ),
    (
        "[commands]\nallow = []\n[limits]\nmax_wall_time = \"soon\"\n",
        "`limits.max_wall_time`",
    ),
    (
        "[commands]\nallow = []\n[limits]\naddress_space = \"4XB\"\n",
        "`limits.address_space`",
    ),
    (
        "[commands]\nallow = []\n[limits]\nmax_thread_priority = \"urgent\"\n",
        "unknown thread priority `urgent`",
    ),
    (
        "[capability]\nstage = \"alpha\"\n[commands]\nallow = []\n",
        "`capability.stage`",
    ),
    (
        "[capability]\nisolation_level = \"jail\"\n[commands]\nallow = []\n",
        "`capability.isolation_level`",
    ),
    (
        "[capability]\neffect_scope = [\"teleport\"]\n[commands]\nallow = []\n",
        "`capability.effect_scope[0]`",
    ),
    (
        "[commands]\nallow = []\nallowed_cwd = [\"rel\"]\n",
        "`commands.allowed_cwd[0]`",
    ),
    (
        "[commands]\nallow = []\nallowed_cwd = []\n",
        "`commands.allowed_cwd`",
    ),
    ("[commands]\nallow = []\nallow = []\n", "line 3"),
    ("[commands]\nallow = [\"\"]\n", "`commands.allow[0]`"),
    (
        "[commands]\nallow = []\npass_fds = \"yes\"\n",
        "`commands.pass_fds`",
    ),
    (
        "[commands]\nallow = []\n[audit]\nredact = [1]\n",
        "`audit.redact[0]`",
    ),
    (
        "[commands]\nallow = []\n[limits]\nopen_files = 1.5\n",
        "`limits.open_files`",
    ),
    (
        "[commands]\nallow = []\n[unknown]\nx = 1\n",
        "unknown key `unknown`",
    ),
];

/// Audit logs `audit verify` must refuse: (content, status, text on stdout or stderr).
const AUDIT_LOGS: &[(&[u8], i32, &str)] = &[
    (b"garbage\n", 1, "line 1"),
    (b"{}\n", 1, "line 1"),
    (b"[1,2,3]\n", 1, "line 1"),
    (b"\xff\xfe\x00\x01\n", 1, "line 1"),
    (b"{\"seq\": \"one\"}\n", 1, "line 1"),
];

fn dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("malformed-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

/// Runs `reml-process run ARGS [-- sh -c 'touch MARKER']` and checks the refusal.
fn check_run(case: &Bad, marker: &Path, with_program: bool) {
    let mut cmd = reml();
    cmd.arg("run").args(case.args);
    if with_program {
        cmd.args(["--", "sh", "-c"])
            .arg(format!("touch {}", marker.display()));
    }
    let out = cmd.output().unwrap();
    let what = format!("run {:?}", case.args);
    assert_eq!(
        code(&out),
        case.status,
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = one_error_line(&out);
    assert!(
        line.contains(case.says),
        "{what}: {line:?} lacks {:?}",
        case.says
    );
    assert!(out.stdout.is_empty(), "{what}: nothing on stdout");
    assert!(!marker.exists(), "{what}: nothing ran");
}

#[test]
fn run_refuses_every_malformed_option_value_before_anything_runs() {
    let d = dir();
    let marker = d.path().join("ran");
    for case in RUN_OPTIONS {
        check_run(case, &marker, true);
    }
}

#[test]
fn run_refuses_every_malformed_command() {
    let d = dir();
    let marker = d.path().join("ran");
    for case in COMMANDS {
        check_run(case, &marker, false);
    }
}

/// Failures the library reports carry their kind in `--json`'s `error` (`docs/command.md`):
/// (arguments, exit status, `error.kind`). `NOT_EXECUTABLE` stands for a file of mode 644.
const KINDS: &[(&[&str], i32, &str)] = &[
    (
        &["--cwd", "/nonexistent-dir", "--", "true"],
        125,
        "invalid_command",
    ),
    (
        &["--stdin", "file:/nonexistent-file", "--", "true"],
        125,
        "invalid_command",
    ),
    (&["--", ""], 125, "invalid_command"),
    (&["--", "/nonexistent/program"], 127, "spawn_failed"),
    (&["--", "no-such-program-anywhere"], 127, "spawn_failed"),
    (&["--", "/etc"], 126, "permission_denied"),
    (&["--", "NOT_EXECUTABLE"], 126, "permission_denied"),
];

#[test]
fn each_library_failure_has_its_kind_in_the_json_object() {
    let d = dir();
    let plain = d.path().join("plain");
    std::fs::write(&plain, "echo hi\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
    for (args, status, kind) in KINDS {
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                if *a == "NOT_EXECUTABLE" {
                    plain.display().to_string()
                } else {
                    (*a).to_owned()
                }
            })
            .collect();
        let out = run(&["--json"]).args(&args).output().unwrap();
        assert_eq!(code(&out), *status, "{args:?}");
        let obj = one_json(&out);
        assert_eq!(field(&obj, "cause"), "not_started", "{args:?}");
        assert_eq!(field(&obj, "error")["kind"], *kind, "{args:?}");
        one_error_line(&out);
    }
}

#[test]
fn every_malformed_policy_is_refused_by_verify_run_and_describe() {
    let d = dir();
    let marker = d.path().join("ran");
    for (i, (text, says)) in POLICIES.iter().enumerate() {
        let p = d.path().join(format!("p{i}.toml"));
        std::fs::write(&p, text).unwrap();
        let out = reml().arg("verify").arg(&p).output().unwrap();
        assert_eq!(code(&out), 125, "verify {text:?}");
        let line = one_error_line(&out);
        assert!(
            line.contains(says),
            "verify {text:?}: {line:?} lacks {says:?}"
        );
        assert!(
            line.contains(&p.display().to_string()),
            "names the file: {line}"
        );
        let out = run(&["--policy"])
            .arg(&p)
            .args(["--", "sh", "-c"])
            .arg(format!("touch {}", marker.display()))
            .output()
            .unwrap();
        assert_eq!(code(&out), 125, "run --policy {text:?}");
        assert!(one_error_line(&out).contains(says));
        assert!(!marker.exists());
        let out = reml()
            .args(["describe", "--policy"])
            .arg(&p)
            .output()
            .unwrap();
        assert_eq!(code(&out), 125, "describe --policy {text:?}");
        assert!(one_error_line(&out).contains(says));
    }
}

#[test]
fn audit_verify_names_the_first_bad_line_of_every_malformed_log() {
    let d = dir();
    for (i, (content, status, says)) in AUDIT_LOGS.iter().enumerate() {
        let p = d.path().join(format!("log{i}.jsonl"));
        std::fs::write(&p, content).unwrap();
        let out = reml().args(["audit", "verify"]).arg(&p).output().unwrap();
        assert_eq!(code(&out), *status, "{content:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout.lines().count(), 1, "one line: {stdout:?}");
        assert!(stdout.contains(says), "{stdout:?} lacks {says:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
    let out = reml()
        .args(["audit", "verify", "/nonexistent-log"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    assert!(one_error_line(&out).contains("/nonexistent-log"));
}

// The catalogue stays at least sixty inputs long (checked when the tests compile).
const _: () =
    assert!(RUN_OPTIONS.len() + COMMANDS.len() + POLICIES.len() + AUDIT_LOGS.len() + 1 >= 60);
