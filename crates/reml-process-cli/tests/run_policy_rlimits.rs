//! The policy's rlimits are ceilings (`docs/policy.md` `[limits]`): a value above the hard
//! limit the host gives `reml-process` used to make every spawn fail (`exit 126`, "cannot
//! apply RLIMIT_NOFILE"); the child now gets the host's limit, `verify` says so
//! (`policy.limits.above_host`), and a value below the host's still applies exactly.
//!
//! The host's limits are lowered in the spawned `reml-process` only, by `rp-helper
//! with-rlimits`, which sets them and execs it.

mod common;

use std::path::{Path, PathBuf};

use common::{helper_str, reml_path, HANG_LIMIT};

fn dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("run-rlimits-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

/// A policy allowing `rp-helper`, with `limits` added to `[limits]`.
fn policy(dir: &Path, limits: &str) -> PathBuf {
    let p = dir.join("p.toml");
    std::fs::write(
        &p,
        format!(
            "[capability]\neffect_scope = [\"process\", \"signal\", \"io.blocking\"]\n\
             [commands]\nallow = [{:?}]\n\
             [env]\ndeny = [\"LD_PRELOAD\", \"LD_AUDIT\", \"LD_LIBRARY_PATH\"]\n\
             [limits]\nmax_wall_time = \"30s\"\n{limits}\n",
            helper_str()
        ),
    )
    .unwrap();
    p
}

/// `reml-process ARGS…` started with the host limits `host` (`nofile=1024:4096,…`).
fn reml_with_limits(host: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = assert_cmd::Command::new(test_helper::helper());
    cmd.timeout(HANG_LIMIT)
        .args(["with-rlimits", host, "--"])
        .arg(reml_path())
        .args(args);
    cmd.output().unwrap()
}

/// `soft hard` of RLIMIT_`name` as the child of `run --policy POLICY` sees it.
fn child_limit(host: &str, policy: &Path, name: &str) -> String {
    let h = helper_str();
    let out = reml_with_limits(
        host,
        &[
            "run",
            "--policy",
            policy.to_str().unwrap(),
            "--",
            &h,
            "rlimit",
            name,
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `open_files` above the hard limit: before, every run failed with 126; the child gets the
/// host's hard limit. Also above the kernel's `nr_open`, which not even root can set.
#[test]
fn open_files_above_the_host_hard_limit_gives_the_host_limit() {
    let d = dir();
    let p = policy(d.path(), "open_files = 100000");
    assert_eq!(child_limit("nofile=1024:4096", &p, "nofile"), "4096 4096");
    let p = policy(d.path(), "open_files = 4294967296");
    assert_eq!(child_limit("nofile=1024:4096", &p, "nofile"), "4096 4096");
}

/// The same for the other rlimits the policy sets.
#[test]
fn cpu_time_and_address_space_above_the_host_give_the_host_limit() {
    let d = dir();
    let p = policy(d.path(), "cpu_time = \"1h\"");
    assert_eq!(child_limit("cpu=100:200", &p, "cpu"), "200 200");
    let p = policy(d.path(), "address_space = \"1TiB\"");
    let eight_gib = 8u64 << 30;
    assert_eq!(
        child_limit(&format!("as={eight_gib}:{eight_gib}"), &p, "as"),
        format!("{eight_gib} {eight_gib}")
    );
}

/// Values below the host's still apply exactly (soft and hard).
#[test]
fn policy_limits_below_the_host_apply_exactly() {
    let d = dir();
    let p = policy(
        d.path(),
        "open_files = 100\ncpu_time = \"30s\"\naddress_space = \"2GiB\"\ncore_dump = false",
    );
    let host = "nofile=1024:4096,cpu=100:200,as=unlimited:unlimited,core=unlimited:unlimited";
    assert_eq!(child_limit(host, &p, "nofile"), "100 100");
    assert_eq!(child_limit(host, &p, "cpu"), "30 31");
    assert_eq!(
        child_limit(host, &p, "as"),
        format!("{} {}", 2u64 << 30, 2u64 << 30)
    );
    assert_eq!(child_limit(host, &p, "core"), "0 0");
}

/// `verify` names the limit, the policy's value and the host's hard limit; a warning only.
#[test]
fn verify_reports_a_limit_above_the_host() {
    let d = dir();
    let p = policy(
        d.path(),
        "open_files = 100000\ncpu_time = \"1h\"\naddress_space = \"2GiB\"",
    );
    let out = reml_with_limits(
        "nofile=1024:4096,cpu=100:200,as=unlimited:unlimited",
        &["verify", p.to_str().unwrap()],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    let line = |key: &str| {
        let prefix = format!("warning policy.limits.above_host limits.{key}: ");
        text.lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{prefix}\n{text}"))
            .to_owned()
    };
    let nofile = line("open_files");
    assert!(
        nofile.contains("100000") && nofile.contains("RLIMIT_NOFILE = 4096"),
        "{nofile}"
    );
    let cpu = line("cpu_time");
    assert!(
        cpu.contains("3600") && cpu.contains("RLIMIT_CPU = 200"),
        "{cpu}"
    );
    assert!(
        !text.contains("limits.address_space"),
        "below the host: no finding\n{text}"
    );
}
