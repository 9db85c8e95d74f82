//! `reml-process run` on real programs (`docs/command.md`): echo, sh, cat, env, python3, the
//! working directory, and the stdio specs `inherit`, `null`, `pipe`, `file:PATH`.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;

#[test]
fn echo_output_passes_through() {
    let out = run(&["--", "echo", "hello", "world"]).output().unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello world\n");
    assert!(
        out.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sh_c_receives_its_positional_arguments() {
    let out = run(&["--", "sh", "-c", r#"echo "$0|$1|$2""#, "zero", "a b", "-c"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "zero|a b|-c\n");
}

#[test]
fn words_after_the_program_are_the_programs_even_without_double_dash() {
    // `--timeout` after the program is an argument of the program, not an option of ours.
    let h = helper_str();
    let out = run(&[&h, "echo", "--timeout", "5", "-x"]).output().unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "--timeout 5 -x\n");
}

#[test]
fn double_dash_lets_a_program_start_with_a_hyphen() {
    // `run -- -x` names a program `-x` (not found), it is not an option of ours.
    let out = run(&["--", "-x-no-such-program"]).output().unwrap();
    assert_eq!(code(&out), 127);
    assert!(one_error_line(&out).contains("-x-no-such-program"));
}

#[test]
fn cat_reads_stdin_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "line one\nline two\n").unwrap();
    let spec = format!("file:{}", input.display());
    let out = run(&["--stdin", &spec, "--", "cat"]).output().unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "line one\nline two\n");
}

#[test]
fn stdin_inherit_is_the_default() {
    let out = run(&["--", "cat"])
        .write_stdin("from the test\n")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from the test\n");
}

#[test]
fn stdin_null_gives_the_child_nothing() {
    let out = run(&["--stdin", "null", "--", "cat"])
        .write_stdin("must not arrive\n")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    assert!(
        out.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn stdin_pipe_is_closed_before_waiting_so_cat_ends() {
    // A stdin pipe never closed, through the command: nobody writes into it; our end is closed
    // before the wait, so `cat` sees end-of-file instead of blocking forever.
    let out = run(&["--stdin", "pipe", "--json", "--", "cat"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    let j = one_json(&out);
    assert_eq!(field(&j, "stdout"), "");
    assert_eq!(field(&j, "cause"), "exited");
}

#[test]
fn env_sets_variables_on_top_of_the_inherited_environment() {
    let out = run(&[
        "--env",
        "RP_SET=hello world",
        "--env",
        "RP_EQ=a=b",
        "--env",
        "RP_OVERRIDDEN=new",
        "--",
        "env",
    ])
    .env("RP_INHERITED", "kept")
    .env("RP_OVERRIDDEN", "old")
    .output()
    .unwrap();
    assert_eq!(code(&out), 0);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    for want in [
        "RP_SET=hello world",
        "RP_EQ=a=b",
        "RP_INHERITED=kept",
        "RP_OVERRIDDEN=new",
    ] {
        assert!(lines.contains(&want), "missing {want:?} in {text}");
    }
    assert!(!lines.contains(&"RP_OVERRIDDEN=old"), "{text}");
}

#[test]
fn env_clear_starts_from_nothing() {
    let h = helper_str();
    let out = run(&["--env-clear", "--env", "ONLY=1", "--", &h, "env"])
        .env("RP_SHOULD_VANISH", "x")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ONLY=1\n");
}

#[test]
fn env_clear_with_the_real_env_program() {
    // `env` is found through our PATH (resolution happens in the parent), and runs with an
    // empty environment plus the one variable.
    let out = run(&["--env-clear", "--env", "A=b", "--", "env"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "A=b\n");
}

/// The python3 interpreter itself: `sys.executable` of the `python3` on PATH (which may be
/// a wrapper script, such as a pyenv shim; scripts have their own test).
fn python3_interpreter() -> Option<String> {
    which("python3")?;
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()?;
    let exe = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && exe.starts_with('/')).then_some(exe)
}

#[test]
fn python3_runs_with_arguments_and_exit_code() {
    let Some(python3) = python3_interpreter() else {
        skip(
            "python3_runs_with_arguments_and_exit_code",
            "no working python3 on PATH",
        );
        return;
    };
    let out = run(&[
        "--json",
        "--",
        &python3,
        "-c",
        "import sys; print(sys.argv[1:]); print('to err', file=sys.stderr); sys.exit(7)",
        "a",
        "--b",
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), 7);
    let j = one_json(&out);
    assert_eq!(field(&j, "stdout"), "['a', '--b']\n");
    assert_eq!(field(&j, "stderr"), "to err\n");
    assert_eq!(field(&j, "exit_code"), 7);
    let program = field(&j, "program").as_str().unwrap();
    assert!(
        program.starts_with('/') && program.contains("python3"),
        "{program}"
    );
}

#[test]
fn cwd_sets_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let canonical = dir.path().canonicalize().unwrap();
    let cwd = dir.path().to_str().unwrap();
    let out = run(&["--cwd", cwd, "--", "sh", "-c", "pwd -P"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        canonical.to_str().unwrap()
    );
    let h = helper_str();
    let out = run(&["--cwd", cwd, "--", &h, "pwd"]).output().unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(
        std::path::Path::new(String::from_utf8_lossy(&out.stdout).trim_end())
            .canonicalize()
            .unwrap(),
        canonical
    );
}

#[test]
fn relative_program_is_found_against_cwd() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("hello.sh");
    std::fs::write(&script, "#!/bin/sh\necho hello from script\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cwd = dir.path().to_str().unwrap();
    let out = run(&["--json", "--cwd", cwd, "--", "./hello.sh"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    let j = one_json(&out);
    assert_eq!(field(&j, "stdout"), "hello from script\n");
    assert_eq!(
        std::path::Path::new(field(&j, "program").as_str().unwrap())
            .canonicalize()
            .unwrap(),
        script.canonicalize().unwrap()
    );
}

#[test]
fn a_script_sees_its_own_path_as_dollar_zero() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("who-am-i");
    std::fs::write(&script, "#!/bin/sh\necho \"$0\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = script.to_str().unwrap();
    let out = run(&["--", s]).output().unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{s}\n"));
}

#[test]
fn stdout_and_stderr_to_files() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("out.txt");
    let e = dir.path().join("err.txt");
    std::fs::write(
        &o,
        "old content that must be replaced, longer than the new one\n",
    )
    .unwrap();
    let (os, es) = (
        format!("file:{}", o.display()),
        format!("file:{}", e.display()),
    );
    let out = run(&[
        "--stdout",
        &os,
        "--stderr",
        &es,
        "--",
        "sh",
        "-c",
        "echo to-out; echo to-err >&2",
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), 0);
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    assert_eq!(std::fs::read_to_string(&o).unwrap(), "to-out\n");
    assert_eq!(std::fs::read_to_string(&e).unwrap(), "to-err\n");
}

#[test]
fn stdout_null_discards() {
    let out = run(&[
        "--stdout",
        "null",
        "--",
        "sh",
        "-c",
        "echo gone; echo kept >&2",
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), 0);
    assert!(out.stdout.is_empty());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "kept\n");
}

#[test]
fn stdout_pipe_is_collected_and_printed_after_the_end() {
    let out = run(&[
        "--stdout",
        "pipe",
        "--",
        "sh",
        "-c",
        "echo piped; echo direct >&2",
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "piped\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "direct\n");
}

#[test]
fn stderr_pipe_is_collected_into_the_json_stderr_field() {
    let out = run(&[
        "--stderr",
        "pipe",
        "--json",
        "--",
        "sh",
        "-c",
        "echo e >&2; echo o",
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), 0);
    let j = one_json(&out);
    assert_eq!(field(&j, "stderr"), "e\n");
    assert_eq!(field(&j, "stdout"), "o\n");
    assert!(
        out.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn collect_prints_stdout_to_stdout_and_stderr_to_stderr() {
    let out = run(&[
        "--collect",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 5",
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), 5);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
}

#[test]
fn json_with_stdout_to_a_file_leaves_the_json_line_alone() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("out.txt");
    let os = format!("file:{}", o.display());
    let out = run(&["--json", "--stdout", &os, "--", "echo", "into the file"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    let j = one_json(&out);
    assert_eq!(field(&j, "stdout"), "");
    assert_eq!(field(&j, "stdout_bytes"), 0);
    assert_eq!(std::fs::read_to_string(&o).unwrap(), "into the file\n");
}
