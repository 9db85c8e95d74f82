//! `reml-process verify POLICY [--json]` end to end (`docs/command.md`): findings one per line
//! or as one JSON object; exit 0 without errors, 1 with errors, 125 when the policy cannot be
//! read or parsed (one line on stderr with line and column).

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

const BIN: &str = env!("CARGO_BIN_EXE_reml-process");

/// A directory under `target/tmp` (whose ancestors are not group/other-writable), mode 0755
/// so that an unprivileged user can read it too.
fn layout() -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("verify-cli-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
    d
}

fn exe(path: &Path, mode: u32) -> PathBuf {
    fs::write(path, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    path.to_owned()
}

/// Writes a policy allowing `allow` with every other setting clean; returns its path.
fn clean_policy(dir: &Path, allow: &[&Path]) -> PathBuf {
    let list = allow
        .iter()
        .map(|p| format!("{:?}", p.to_str().unwrap()))
        .collect::<Vec<_>>()
        .join(", ");
    write_policy(
        dir,
        &format!(
            "[capability]\neffect_scope = [\"process\", \"io.blocking\", \"signal\"]\n\
             [commands]\nallow = [{list}]\n\
             [env]\ndeny = [\"LD_PRELOAD\", \"LD_AUDIT\", \"LD_LIBRARY_PATH\"]\n\
             [limits]\nmax_wall_time = \"10m\"\n"
        ),
    )
}

fn write_policy(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("policy.toml");
    fs::write(&p, text).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    p
}

fn verify(policy: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("verify").arg(policy);
    c
}

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[test]
fn clean_policy_exits_0() {
    let d = layout();
    let tool = exe(&d.path().join("tool"), 0o755);
    let policy = clean_policy(d.path(), &[&tool]);
    let out = verify(&policy).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout_of(&out));
    assert_eq!(stdout_of(&out), "0 error(s), 0 warning(s), 0 info\n");
    assert!(out.stderr.is_empty());
}

#[test]
fn warnings_only_exit_0_and_are_listed() {
    let d = layout();
    let tool = exe(&d.path().join("tool"), 0o755);
    let bash = d.path().join("bash");
    symlink(&tool, &bash).unwrap();
    let policy = clean_policy(d.path(), &[&bash]);
    let out = verify(&policy).output().unwrap();
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let line = format!("warning policy.command.launcher {}: ", bash.display());
    assert!(text.lines().any(|l| l.starts_with(&line)), "{text}");
    assert!(
        text.ends_with("0 error(s), 1 warning(s), 0 info\n"),
        "{text}"
    );
}

/// An `info` finding does not fail `verify`: `full_isolation` whose `[sandbox]` does not
/// grant `/proc` is reported as `policy.sandbox.no_proc` and exits 0, in text and JSON.
#[test]
fn an_info_finding_exits_0_full_isolation_without_proc() {
    let d = layout();
    let tool = exe(&d.path().join("tool"), 0o755);
    let policy_text = |read: &str| {
        format!(
            "[capability]\neffect_scope = [\"process\", \"io.blocking\", \"signal\"]\n\
             isolation_level = \"full_isolation\"\n\
             [commands]\nallow = [{:?}]\n\
             [env]\ndeny = [\"LD_PRELOAD\", \"LD_AUDIT\", \"LD_LIBRARY_PATH\"]\n\
             [limits]\nmax_wall_time = \"10m\"\n\
             [sandbox]\nread = [{:?}{read}]\n",
            tool.to_str().unwrap(),
            d.path().to_str().unwrap(),
        )
    };
    let policy = write_policy(d.path(), &policy_text(""));
    let out = verify(&policy).output().unwrap();
    let text = stdout_of(&out);
    // Where namespaces are unavailable the review also has `policy.isolation.unavailable`
    // (an error): that exit status says nothing about the info finding.
    let unavailable = text.contains("policy.isolation.unavailable");
    assert!(
        text.lines()
            .any(|l| l.starts_with("info policy.sandbox.no_proc sandbox.read: ")),
        "{text}"
    );
    if !unavailable {
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(
            text.ends_with("0 error(s), 0 warning(s), 1 info\n"),
            "{text}"
        );
    }
    let out = verify(&policy).arg("--json").output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "policy.sandbox.no_proc")
        .expect("no_proc in --json");
    assert_eq!(f["severity"], "info");
    assert_eq!(f["entry"], "sandbox.read");
    if !unavailable {
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(v["ok"], true);
    }
    // Granting `/proc` takes the finding away.
    let policy = write_policy(d.path(), &policy_text(", \"/proc\""));
    let out = verify(&policy).output().unwrap();
    let text = stdout_of(&out);
    assert!(!text.contains("policy.sandbox.no_proc"), "{text}");
}

#[test]
fn errors_exit_1_with_one_line_per_finding() {
    let d = layout();
    let data = exe(&d.path().join("data"), 0o644);
    let dir = d.path().join("adir");
    fs::create_dir(&dir).unwrap();
    let open = d.path().join("open");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    let inner = exe(&open.join("tool"), 0o755);
    let missing = d.path().join("missing");
    let policy = clean_policy(d.path(), &[&data, &dir, &inner, &missing]);
    let out = verify(&policy).output().unwrap();
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for (code, entry) in [
        ("policy.command.not_executable", &data),
        ("policy.command.not_regular", &dir),
        ("policy.command.dir_writable", &inner),
        ("policy.command.not_found", &missing),
    ] {
        let prefix = format!("error {code} {}: ", entry.display());
        assert!(
            text.lines().any(|l| l.starts_with(&prefix)),
            "{prefix}\n{text}"
        );
    }
    assert!(
        text.ends_with("4 error(s), 0 warning(s), 0 info\n"),
        "{text}"
    );
}

/// A policy allowing the `reml-process` binary itself gave no finding, and its
/// `run -- PROGRAM` runs anything: `verify` reports `policy.command.launcher` as an error,
/// for the binary as built, for a copy under another name, and for `/proc/self/exe`.
#[test]
fn the_supervisor_itself_is_a_launcher_error() {
    let d = layout();
    let copy = d.path().join("nightly-job");
    fs::copy(BIN, &copy).unwrap();
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755)).unwrap();
    for entry in [Path::new(BIN), copy.as_path(), Path::new("/proc/self/exe")] {
        let policy = clean_policy(d.path(), &[entry]);
        let out = verify(&policy).output().unwrap();
        let text = stdout_of(&out);
        assert_eq!(out.status.code(), Some(1), "{entry:?}: {text}");
        let prefix = format!("error policy.command.launcher {}: ", entry.display());
        let line = text
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{prefix}\n{text}"));
        assert!(
            line.contains("supervisor") || line.contains("procfs"),
            "{line}"
        );
        assert!(
            text.ends_with("1 error(s), 0 warning(s), 0 info\n"),
            "{text}"
        );
    }
}

#[test]
fn json_output_is_one_object() {
    let d = layout();
    let data = exe(&d.path().join("data"), 0o644);
    let policy = clean_policy(d.path(), &[&data]);
    let out = verify(&policy).arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout_of(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["policy"], policy.to_str().unwrap());
    assert_eq!(v["ok"], false);
    let findings = v["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{v:#}");
    assert_eq!(findings[0]["code"], "policy.command.not_executable");
    assert_eq!(findings[0]["severity"], "error");
    assert_eq!(findings[0]["entry"], data.to_str().unwrap());
    assert!(findings[0]["message"].as_str().unwrap().contains("0644"));
    // Key order as documented (`docs/command.md`, `verify`).
    assert!(text.starts_with("{\"policy\":"), "{text}");

    let tool = exe(&d.path().join("tool"), 0o755);
    let policy = clean_policy(d.path(), &[&tool]);
    let out = verify(&policy).arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
}

#[track_caller]
fn assert_parse_failure(text: &str, line: usize, column: usize, needle: &str) {
    let d = layout();
    let policy = write_policy(d.path(), text);
    // Every command that reads a policy reports it the same way, naming the file once.
    let mut describe = Command::new(BIN);
    describe.arg("describe").arg("--policy").arg(&policy);
    let mut run = Command::new(BIN);
    run.arg("run")
        .arg("--policy")
        .arg(&policy)
        .args(["--", "/bin/true"]);
    let mut verify_json = verify(&policy);
    verify_json.arg("--json");
    for mut cmd in [verify(&policy), verify_json, describe, run] {
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(125), "{}", stderr_of(&out));
        assert!(
            out.stdout.is_empty(),
            "nothing on stdout: {}",
            stdout_of(&out)
        );
        let err = stderr_of(&out);
        assert_eq!(err.lines().count(), 1, "one line: {err:?}");
        let prefix = format!(
            "reml-process: {}: line {line}, column {column}: ",
            policy.display()
        );
        assert!(err.starts_with(&prefix), "{prefix}\n{err}");
        assert!(err.contains(needle), "`{needle}` in {err}");
    }
}

#[test]
fn parse_errors_exit_125_with_line_and_column() {
    assert_parse_failure(
        "[commands]\nallow = []\n[limits]\nmax_wal_time = \"1s\"\n",
        4,
        1,
        "unknown key `limits.max_wal_time`",
    );
    assert_parse_failure(
        "[commands]\nallow = []\n[limits]\nmax_processes = \"many\"\n",
        4,
        17,
        "`limits.max_processes`: invalid type",
    );
    assert_parse_failure(
        "[commands]\nallow = []\nallowed_signals = [\"TERM\", \"SIGNOPE\"]\n",
        3,
        28,
        "`commands.allowed_signals[1]`",
    );
    assert_parse_failure(
        "[capability]\neffect_scope = [\"proces\"]\n[commands]\nallow = []\n",
        2,
        17,
        "unknown effect tag `proces`",
    );
    assert_parse_failure("[commands]\nallow = [\n", 3, 1, "TOML syntax error");
    assert_parse_failure(
        "[env]\ninherit = true\n",
        1,
        1,
        "missing required section `[commands]`",
    );
}

#[test]
fn unreadable_policy_exits_125() {
    let d = layout();
    let missing = d.path().join("absent.toml");
    let out = verify(&missing).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = stderr_of(&out);
    assert_eq!(
        err,
        format!(
            "reml-process: {}: cannot read: No such file or directory (errno 2)\n",
            missing.display()
        )
    );
    let out = verify(d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(125), "a directory is not a policy");
}

#[test]
fn missing_argument_is_a_usage_error() {
    let out = Command::new(BIN).arg("verify").output().unwrap();
    assert_eq!(out.status.code(), Some(125));
}

#[test]
fn control_characters_in_entries_stay_on_one_line() {
    let d = layout();
    let policy = write_policy(
        d.path(),
        "[capability]\neffect_scope = [\"process\", \"io.blocking\", \"signal\"]\n\
         [commands]\nallow = [\"/nonexistent/a\\nerror policy.fake x: forged\"]\n\
         [env]\ndeny = [\"LD_PRELOAD\", \"LD_AUDIT\", \"LD_LIBRARY_PATH\"]\n\
         [limits]\nmax_wall_time = 1\n",
    );
    let out = verify(&policy).output().unwrap();
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_eq!(
        text.lines().count(),
        2,
        "one finding and the summary: {text}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("error policy.fake")),
        "{text}"
    );
    assert!(text.contains("\\n"), "{text}");
}

#[test]
fn unprivileged_user_sees_what_it_cannot_execute() {
    if rustix::process::geteuid().as_raw() != 0 {
        eprintln!("SKIP unprivileged_user_sees_what_it_cannot_execute: needs root to switch user");
        return;
    }
    // 0700 root-owned: executable for root, not for nobody. As root, access(X_OK) says yes;
    // run the review as uid/gid 65534 to see the other side.
    // Everything the unprivileged user touches lives in a 0755 directory under /tmp (a
    // checkout under /root would be closed to it): the layout, and a copy of the binary.
    let d = tempfile::Builder::new()
        .prefix("verify-cli-nobody-")
        .tempdir_in("/tmp")
        .unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let private = exe(&d.path().join("private"), 0o700);
    let public = exe(&d.path().join("public"), 0o755);
    let policy = clean_policy(d.path(), &[&private, &public]);
    fs::set_permissions(&policy, fs::Permissions::from_mode(0o644)).unwrap();
    let bin = d.path().join("reml-process");
    fs::copy(BIN, &bin).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();

    let out = verify(&policy).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "root: {}", stdout_of(&out));

    let mut std_cmd = std::process::Command::new(&bin);
    std_cmd
        .arg("verify")
        .arg(&policy)
        .uid(65534)
        .gid(65534)
        .current_dir("/");
    let out = Command::from_std(std_cmd).output().unwrap();
    let text = stdout_of(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "nobody: {text}{}",
        stderr_of(&out)
    );
    let prefix = format!(
        "error policy.command.not_executable {}: ",
        private.display()
    );
    let line = text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{prefix}\n{text}"));
    assert!(line.contains("faccessat(X_OK) refuses it"), "{line}");
    assert!(
        !text.contains(&format!("{}:", public.display())),
        "the public binary is fine for nobody too: {text}"
    );
}
