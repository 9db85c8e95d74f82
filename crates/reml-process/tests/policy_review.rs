//! `verify_capability_security` on real file layouts (`docs/policy.md`, "What `verify` reports"):
//! each finding is triggered by files and directories made for the test, and a clean layout has
//! none.
//!
//! Layouts live under `CARGO_TARGET_TMPDIR` (inside `target/`), whose ancestors are not
//! writable by group or others, or are sticky and owned by root or us (a checkout under
//! `/tmp`), which the review accepts for entries owned by root or us.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use reml_process::policy::review::codes::*;
use reml_process::policy::{verify_capability_security, Policy, Review};
use reml_process::Severity;

/// A private directory under `target/tmp` (mode 0700, ours).
fn clean_dir() -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("policy-review-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    // The test is only meaningful if nothing above is writable by group or others (a
    // sticky directory owned by root or us, like /tmp holding this checkout, is safe: the
    // review accepts it when the entry on the path is ours or root's).
    let me = rustix::process::geteuid().as_raw();
    for a in d.path().ancestors().skip(1) {
        let meta = fs::metadata(a).unwrap();
        let mode = meta.permissions().mode();
        let sticky_safe = mode & 0o1000 != 0
            && (std::os::unix::fs::MetadataExt::uid(&meta) == 0
                || std::os::unix::fs::MetadataExt::uid(&meta) == me);
        assert!(
            mode & 0o022 == 0 || sticky_safe,
            "{} is group/other-writable",
            a.display()
        );
    }
    d
}

fn mkdir(path: &Path, mode: u32) -> PathBuf {
    fs::create_dir_all(path).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    path.to_owned()
}

fn file(path: &Path, mode: u32) -> PathBuf {
    fs::write(path, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    path.to_owned()
}

/// A policy with nothing to complain about apart from `allow` and `search_path`.
fn policy(allow: &[&Path], search_path: &[&Path]) -> Policy {
    let list = |ps: &[&Path]| {
        ps.iter()
            .map(|p| format!("{:?}", p.to_str().unwrap()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sp = if search_path.is_empty() {
        String::new()
    } else {
        format!("search_path = [{}]\n", list(search_path))
    };
    let text = format!(
        "[capability]\n\
         effect_scope = [\"process\", \"io.blocking\", \"signal\"]\n\
         [commands]\nallow = [{}]\n{sp}\
         [env]\ndeny = [\"LD_PRELOAD\", \"LD_AUDIT\", \"LD_LIBRARY_PATH\"]\n\
         [limits]\nmax_wall_time = \"1m\"\n",
        list(allow)
    );
    Policy::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn codes(r: &Review) -> Vec<&'static str> {
    r.findings().iter().map(|f| f.code).collect()
}

#[track_caller]
fn only(r: &Review, code: &str) -> String {
    let hits: Vec<_> = r.with_code(code).collect();
    assert_eq!(hits.len(), 1, "want one {code}: {r:#?}");
    hits[0].message.clone()
}

#[test]
fn clean_layout_has_no_findings() {
    let d = clean_dir();
    let bin = mkdir(&d.path().join("bin"), 0o755);
    let tool = file(&bin.join("tool"), 0o755);
    let link = d.path().join("tool-link");
    symlink(&tool, &link).unwrap();
    let r = verify_capability_security(&policy(&[&tool, &link, Path::new("tool")], &[&bin]));
    assert!(r.findings().is_empty(), "{r:#?}");
    assert!(!r.has_errors());
}

#[test]
fn a_system_binary_is_not_an_error() {
    let r = verify_capability_security(&policy(&[Path::new("/usr/bin/true")], &[]));
    assert!(!r.has_errors(), "{r:#?}");
}

#[test]
fn missing_entry_is_not_found() {
    let d = clean_dir();
    let bin = mkdir(&d.path().join("bin"), 0o755);
    let missing = d.path().join("nope");
    let r = verify_capability_security(&policy(&[&missing, Path::new("ghost")], &[&bin]));
    let hits: Vec<_> = r.with_code(COMMAND_NOT_FOUND).collect();
    assert_eq!(hits.len(), 2, "{r:#?}");
    assert_eq!(hits[0].entry, missing.to_str().unwrap());
    assert_eq!(hits[0].severity, Severity::Error);
    assert_eq!(hits[1].entry, "ghost");
    assert!(
        hits[1].message.contains(bin.to_str().unwrap()),
        "{}",
        hits[1].message
    );
    assert!(r.has_errors());
}

#[test]
fn directory_is_not_regular() {
    let d = clean_dir();
    let dir = mkdir(&d.path().join("adir"), 0o755);
    let r = verify_capability_security(&policy(&[&dir], &[]));
    assert!(only(&r, COMMAND_NOT_REGULAR).contains("a directory"));
    assert!(r.has_errors());
}

#[test]
fn file_without_execute_bit_is_not_executable() {
    let d = clean_dir();
    let f = file(&d.path().join("data"), 0o644);
    let r = verify_capability_security(&policy(&[&f], &[]));
    assert!(only(&r, COMMAND_NOT_EXECUTABLE).contains("0644"), "{r:#?}");
    // As root, access(X_OK) alone would say yes for 0744; the mode bits still count.
    let f2 = file(&d.path().join("owner-x"), 0o744);
    let r = verify_capability_security(&policy(&[&f2], &[]));
    assert!(!codes(&r).contains(&COMMAND_NOT_EXECUTABLE), "{r:#?}");
}

#[test]
fn group_or_other_writable_binary() {
    let d = clean_dir();
    for (mode, who) in [
        (0o775, "its group"),
        (0o757, "others"),
        (0o777, "its group and others"),
    ] {
        let f = file(&d.path().join(format!("w{mode:o}")), mode);
        let r = verify_capability_security(&policy(&[&f], &[]));
        let msg = only(&r, COMMAND_WRITABLE);
        assert!(msg.contains(&format!("{mode:04o}")), "{msg}");
        assert!(msg.contains(&format!("writable by {who}:")), "{msg}");
        assert!(r.has_errors());
    }
}

#[test]
fn writable_directory_above_the_binary() {
    let d = clean_dir();
    let open = mkdir(&d.path().join("open"), 0o777);
    let bin = mkdir(&open.join("bin"), 0o755);
    let tool = file(&bin.join("tool"), 0o755);
    let r = verify_capability_security(&policy(&[&tool], &[]));
    let msg = only(&r, COMMAND_DIR_WRITABLE);
    assert!(msg.contains(open.to_str().unwrap()), "{msg}");
    assert!(msg.contains("0777"), "{msg}");
    assert!(!msg.contains("sticky"), "{msg}");
    assert!(r.has_errors());
}

#[test]
fn sticky_directory_is_safe_only_for_entries_of_trusted_owners() {
    let d = clean_dir();
    let sticky = mkdir(&d.path().join("sticky"), 0o1777);
    // Our own entry in a sticky directory we own: nobody else can remove or rename it.
    let ours = file(&sticky.join("ours"), 0o755);
    let r = verify_capability_security(&policy(&[&ours], &[]));
    assert_eq!(r.with_code(COMMAND_DIR_WRITABLE).count(), 0, "{r:#?}");
    // Another user's entry on the path: that user can swap it despite the sticky bit.
    if rustix::process::geteuid().is_root() {
        let theirs_dir = mkdir(&sticky.join("theirs"), 0o755);
        std::os::unix::fs::chown(&theirs_dir, Some(65534), Some(65534)).unwrap();
        let tool = file(&theirs_dir.join("tool"), 0o755);
        let r = verify_capability_security(&policy(&[&tool], &[]));
        let msg = only(&r, COMMAND_DIR_WRITABLE);
        assert!(msg.contains("1777") && msg.contains("sticky"), "{msg}");
    } else {
        eprintln!("SKIP (part): chown to another user needs root");
    }
}

#[test]
fn real_tmp_is_judged_by_the_owner_of_the_entry() {
    // /tmp is 1777 on every Unix: our own directory in it is safe; one owned by another
    // user is not.
    let d = tempfile::tempdir_in("/tmp").unwrap();
    let tool = file(&d.path().join("tool"), 0o755);
    let r = verify_capability_security(&policy(&[&tool], &[]));
    assert!(
        !r.with_code(COMMAND_DIR_WRITABLE)
            .any(|f| f.message.contains("directory /tmp ")),
        "{r:#?}"
    );
    if rustix::process::geteuid().is_root() {
        std::os::unix::fs::chown(d.path(), Some(65534), Some(65534)).unwrap();
        let r = verify_capability_security(&policy(&[&tool], &[]));
        assert!(
            r.with_code(COMMAND_DIR_WRITABLE)
                .any(|f| f.message.contains("directory /tmp ")),
            "{r:#?}"
        );
    }
}

#[test]
fn symlink_in_a_writable_directory_could_be_redirected() {
    let d = clean_dir();
    let bin = mkdir(&d.path().join("bin"), 0o755);
    let tool = file(&bin.join("tool"), 0o755);
    let open = mkdir(&d.path().join("links"), 0o777);
    let link = open.join("tool");
    symlink(&tool, &link).unwrap();
    let r = verify_capability_security(&policy(&[&link], &[]));
    let msg = only(&r, COMMAND_DIR_WRITABLE);
    assert!(msg.contains(open.to_str().unwrap()), "{msg}");
}

#[test]
fn symlink_named_like_a_shell_is_a_launcher() {
    let d = clean_dir();
    let bin = mkdir(&d.path().join("bin"), 0o755);
    let tool = file(&bin.join("tool"), 0o755);
    let bash = bin.join("bash");
    symlink(&tool, &bash).unwrap();
    let r = verify_capability_security(&policy(&[&bash], &[]));
    let f = r
        .with_code(COMMAND_LAUNCHER)
        .next()
        .expect("launcher finding");
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.entry, bash.to_str().unwrap());
    assert!(f.message.contains("a shell"), "{}", f.message);
    assert!(!r.has_errors(), "{r:#?}");
}

#[test]
fn interpreter_caught_by_its_canonical_name() {
    let d = clean_dir();
    let bin = mkdir(&d.path().join("bin"), 0o755);
    let real = file(&bin.join("python3.11"), 0o755);
    let alias = bin.join("runner");
    symlink(&real, &alias).unwrap();
    let r = verify_capability_security(&policy(&[&alias], &[]));
    let msg = only(&r, COMMAND_LAUNCHER);
    assert!(msg.contains("resolves to `python3.11`"), "{msg}");
    assert!(msg.contains("interpreter"), "{msg}");
    // And a bare name found in search_path.
    let env = file(&bin.join("env"), 0o755);
    let r = verify_capability_security(&policy(&[Path::new("env")], &[&bin]));
    assert!(only(&r, COMMAND_LAUNCHER).contains("launcher"), "{env:?}");
}

#[test]
fn bare_name_skips_non_executable_and_reports_writable_search_path() {
    let d = clean_dir();
    let first = mkdir(&d.path().join("first"), 0o755);
    let second = mkdir(&d.path().join("second"), 0o755);
    file(&first.join("tool"), 0o644);
    let good = file(&second.join("tool"), 0o755);
    let p = policy(&[Path::new("tool")], &[&first, &second]);
    let resolved = p.resolve_allowed();
    assert_eq!(
        resolved.programs()[0].path,
        fs::canonicalize(&good).unwrap()
    );
    let r = verify_capability_security(&p);
    assert!(r.findings().is_empty(), "{r:#?}");

    let planted = mkdir(&d.path().join("planted"), 0o777);
    let r = verify_capability_security(&policy(&[Path::new("tool")], &[&planted, &second]));
    let f = r
        .with_code(SEARCH_PATH_WRITABLE)
        .next()
        .expect("search_path finding");
    assert_eq!(f.entry, planted.to_str().unwrap());
    assert_eq!(f.severity, Severity::Error);
    // Absolute entries do not depend on search_path.
    let r = verify_capability_security(&policy(&[&good], &[&planted]));
    assert!(!codes(&r).contains(&SEARCH_PATH_WRITABLE), "{r:#?}");
}

#[test]
fn file_owned_by_another_user() {
    if rustix::process::geteuid().as_raw() != 0 {
        eprintln!("SKIP file_owned_by_another_user: needs root to chown");
        return;
    }
    let d = clean_dir();
    let tool = file(&d.path().join("tool"), 0o755);
    std::os::unix::fs::chown(&tool, Some(65534), None).unwrap();
    let r = verify_capability_security(&policy(&[&tool], &[]));
    let msg = only(&r, COMMAND_UNTRUSTED_OWNER);
    assert!(msg.contains("uid 65534"), "{msg}");
    assert!(!r.has_errors(), "{r:#?}");
}

fn review(text: &str) -> Review {
    verify_capability_security(&Policy::from_toml_str(text).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn effect_scope_missing_for_each_enabling_key() {
    let cases: [(&str, &[&str]); 6] = [
        (
            "[commands]\nallow = [\"/usr/bin/true\"]\n",
            &["process", "signal", "io.blocking"],
        ),
        (
            "[commands]\nallow = []\npass_fds = true\n",
            &["process", "memory"],
        ),
        (
            "[commands]\nallow = []\n[limits]\nmax_output_bytes = 1024\n",
            &["process", "io.blocking", "memory"],
        ),
        (
            "[commands]\nallow = []\n[limits]\nmax_threads = 2\n",
            &["thread", "io.blocking"],
        ),
        (
            "[commands]\nallow = []\n[limits]\nallowed_cpus = \"0\"\n",
            &["thread", "hardware"],
        ),
        (
            "[capability]\naudit_required = true\n[commands]\nallow = []\n",
            &["audit"],
        ),
    ];
    for (body, want) in cases {
        let text = if body.starts_with("[capability]") {
            body.replacen("[capability]\n", "[capability]\neffect_scope = []\n", 1)
        } else {
            format!("[capability]\neffect_scope = []\n{body}")
        };
        let r = review(&text);
        let mut got: Vec<&str> = r
            .with_code(EFFECT_SCOPE_MISSING)
            .map(|f| f.entry.as_str())
            .collect();
        let mut want = want.to_vec();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{text}");
        assert!(r.has_errors());
        // Granting exactly those effects clears it.
        let granted = format!(
            "effect_scope = [{}]",
            want.iter()
                .map(|e| format!("\"{e}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let r = review(&text.replacen("effect_scope = []", &granted, 1));
        assert_eq!(r.with_code(EFFECT_SCOPE_MISSING).count(), 0, "{r:#?}");
    }
    // max_threads = 0 enables nothing.
    let r = review(
        "[capability]\neffect_scope = []\n[commands]\nallow = []\n[limits]\nmax_threads = 0\n",
    );
    assert_eq!(r.with_code(EFFECT_SCOPE_MISSING).count(), 0, "{r:#?}");
}

#[test]
fn absent_effect_scope_is_a_warning() {
    let r = review("[commands]\nallow = []\n");
    let f = r.with_code(EFFECT_SCOPE_ABSENT).next().expect("absent");
    assert_eq!(f.severity, Severity::Warning);
    assert!(!r.has_errors());
}

#[test]
fn zero_and_nonsensical_limits() {
    let r = review(
        "[capability]\neffect_scope = [\"process\", \"io.blocking\", \"memory\", \"thread\"]\n\
         [commands]\nallow = []\n[limits]\nmax_processes = 0\nmax_threads = 0\n\
         max_wall_time = \"0s\"\nmax_output_bytes = 0\ncpu_time = 0\naddress_space = 0\nopen_files = 0\n",
    );
    let mut zero: Vec<&str> = r.with_code(LIMITS_ZERO).map(|f| f.entry.as_str()).collect();
    zero.sort_unstable();
    assert_eq!(
        zero,
        [
            "limits.address_space",
            "limits.cpu_time",
            "limits.max_output_bytes",
            "limits.max_processes",
            "limits.max_threads",
            "limits.max_wall_time",
            "limits.open_files",
        ]
    );
    assert_eq!(r.with_code(LIMITS_NO_WALL_TIME).count(), 0);
    assert!(!r.has_errors(), "warnings only: {r:#?}");

    let r = review(
        "[capability]\neffect_scope = []\n[commands]\nallow = []\n[limits]\nmax_wall_time = 5\n\
         open_files = 99999999999\naddress_space = \"64KiB\"\ncpu_time = \"2.5s\"\n",
    );
    let entries: Vec<&str> = r
        .with_code(LIMITS_NONSENSICAL)
        .map(|f| f.entry.as_str())
        .collect();
    assert_eq!(
        entries,
        [
            "limits.open_files",
            "limits.address_space",
            "limits.cpu_time"
        ],
        "{r:#?}"
    );
    assert!(r
        .with_code(LIMITS_NONSENSICAL)
        .any(|f| f.message.contains("nr_open")));
    assert!(r
        .with_code(LIMITS_NONSENSICAL)
        .any(|f| f.message.contains("rounded up to 3 s")));

    let r = review("[capability]\neffect_scope = []\n[commands]\nallow = []\n");
    assert_eq!(
        only(&r, LIMITS_NO_WALL_TIME),
        "no `max_wall_time`: a wait without its own time limit may last forever"
    );
}

#[test]
fn cpus_that_do_not_exist() {
    let base = "[capability]\neffect_scope = [\"thread\", \"hardware\"]\n[commands]\nallow = []\n\
                [limits]\nmax_wall_time = 1\n";
    let r = review(&format!("{base}allowed_cpus = \"0\"\n"));
    assert!(r.findings().is_empty(), "{r:#?}");
    let r = review(&format!("{base}allowed_cpus = \"0,8000-8191\"\n"));
    let msg = only(&r, CPUS_ABSENT);
    assert!(msg.contains("8000-8191"), "{msg}");
    assert!(!r.has_errors());
}

#[test]
fn realtime_priority_and_full_isolation() {
    let r = review(
        "[capability]\neffect_scope = [\"thread\"]\nisolation_level = \"full_isolation\"\n\
         [commands]\nallow = []\n[limits]\nmax_wall_time = 1\nmax_thread_priority = \"realtime\"\n",
    );
    // `full_isolation` is unavailable only where the kernel lacks Landlock or namespaces.
    let kernel = reml_process::sandbox::kernel_support();
    let unavailable = kernel
        .missing_for(reml_process::policy::IsolationLevel::FullIsolation, false)
        .is_some();
    let expected: Vec<&str> = if unavailable {
        vec![PRIORITY_REALTIME, ISOLATION_UNAVAILABLE, SANDBOX_NO_READ]
    } else {
        vec![PRIORITY_REALTIME, SANDBOX_NO_READ]
    };
    assert_eq!(codes(&r), expected, "{r:#?}");
    let r = review(
        "[capability]\neffect_scope = [\"thread\"]\n[commands]\nallow = []\n\
         [limits]\nmax_wall_time = 1\nmax_thread_priority = \"high\"\n",
    );
    assert!(r.findings().is_empty(), "{r:#?}");
}

/// The review reports the `[sandbox]` grants that make every spawn of a confining level fail,
/// by the rules the spawn applies (`tests/sandbox.rs` shows the spawn's refusals).
#[test]
fn sandbox_grants_that_no_spawn_could_use() {
    let with = |level: &str, read: &str, write: &str| {
        review(&format!(
            "[capability]\nisolation_level = \"{level}\"\n[commands]\nallow = [\"/usr/bin/true\"]\n\
             [sandbox]\nread = [{read}]\nwrite = [{write}]\n"
        ))
    };
    let by_code = |r: &Review, code: &str| -> Vec<(String, Severity)> {
        r.with_code(code)
            .map(|f| (f.entry.clone(), f.severity))
            .collect()
    };
    // The program lies under neither list: an error on the allow entry, at both levels.
    for level in ["sandboxed", "full_isolation"] {
        let r = with(level, "\"/etc\"", "\"/tmp\"");
        assert_eq!(
            by_code(&r, SANDBOX_PROGRAM_OUTSIDE),
            [("/usr/bin/true".to_owned(), Severity::Error)],
            "{level}: {r:#?}"
        );
        assert!(r.has_errors());
    }
    // Under `write` is enough, as for the spawn.
    let r = with("sandboxed", "\"/etc\"", "\"/usr\"");
    assert!(by_code(&r, SANDBOX_PROGRAM_OUTSIDE).is_empty(), "{r:#?}");
    // Below /proc under full isolation, in read or in write; `/proc` itself is fine.
    let r = with("full_isolation", "\"/usr\", \"/proc/self\"", "");
    assert_eq!(
        by_code(&r, SANDBOX_BELOW_PROC),
        [("sandbox.read".to_owned(), Severity::Error)],
        "{r:#?}"
    );
    assert!(only(&r, SANDBOX_BELOW_PROC).contains("/proc/self"));
    let r = with("full_isolation", "\"/usr\"", "\"/proc/sys\"");
    assert_eq!(
        by_code(&r, SANDBOX_BELOW_PROC),
        [("sandbox.write".to_owned(), Severity::Error)],
        "{r:#?}"
    );
    let r = with("full_isolation", "\"/usr\", \"/proc\"", "");
    assert!(by_code(&r, SANDBOX_BELOW_PROC).is_empty(), "{r:#?}");
    assert!(by_code(&r, SANDBOX_PROGRAM_OUTSIDE).is_empty(), "{r:#?}");
    // `sandboxed` keeps the host's /proc: a grant below it is an ordinary path.
    let r = with("sandboxed", "\"/usr\", \"/proc/self\"", "");
    assert!(by_code(&r, SANDBOX_BELOW_PROC).is_empty(), "{r:#?}");
    // At `none` the table is not used at all.
    let r = with("none", "\"/etc\"", "\"/proc/self\"");
    assert!(by_code(&r, SANDBOX_PROGRAM_OUTSIDE).is_empty(), "{r:#?}");
    assert!(by_code(&r, SANDBOX_BELOW_PROC).is_empty(), "{r:#?}");
}

/// `full_isolation` gives the child its own `/proc`, readable to it only when a `[sandbox]`
/// grant covers `/proc` (`docs/sandbox.md`): without one the review says so, as `info`, and
/// the policy still passes.
#[test]
fn full_isolation_without_a_grant_covering_proc_is_an_info_finding() {
    let with = |level: &str, read: &str, write: &str| {
        review(&format!(
            "[capability]\nisolation_level = \"{level}\"\n[commands]\nallow = [\"/usr/bin/true\"]\n\
             [sandbox]\nread = [{read}]\nwrite = [{write}]\n"
        ))
    };
    let r = with("full_isolation", "\"/usr\", \"/etc\"", "\"/tmp\"");
    let hits: Vec<_> = r.with_code(SANDBOX_NO_PROC).collect();
    assert_eq!(hits.len(), 1, "{r:#?}");
    assert_eq!(hits[0].code, "policy.sandbox.no_proc");
    assert_eq!(hits[0].severity, Severity::Info);
    assert_eq!(hits[0].entry, "sandbox.read");
    assert!(hits[0].message.contains("/proc"), "{}", hits[0].message);
    // Info only: it makes no error, so `verify` still exits 0 for it.
    assert!(
        r.findings()
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .all(|f| f.code != SANDBOX_NO_PROC),
        "{r:#?}"
    );
    // A grant of `/proc` itself (in `read` or `write`, with or without a trailing slash) or
    // of a directory above it (`/`) makes it readable: no finding.
    for (read, write) in [
        ("\"/usr\", \"/proc\"", ""),
        ("\"/usr\", \"/proc/\"", ""),
        ("\"/usr\"", "\"/proc\""),
        ("\"/\"", ""),
        ("\"/usr\"", "\"/\""),
    ] {
        let r = with("full_isolation", read, write);
        assert_eq!(
            r.with_code(SANDBOX_NO_PROC).count(),
            0,
            "{read} / {write}: {r:#?}"
        );
    }
    // `sandboxed` keeps the host's /proc; `none` has no sandbox; no `read` at all is
    // `policy.sandbox.no_read`'s to say.
    assert_eq!(
        with("sandboxed", "\"/usr\"", "")
            .with_code(SANDBOX_NO_PROC)
            .count(),
        0
    );
    assert_eq!(
        with("none", "\"/usr\"", "")
            .with_code(SANDBOX_NO_PROC)
            .count(),
        0
    );
    let r = with("full_isolation", "", "");
    assert_eq!(r.with_code(SANDBOX_NO_PROC).count(), 0, "{r:#?}");
    assert_eq!(r.with_code(SANDBOX_NO_READ).count(), 1, "{r:#?}");
}

#[test]
fn loader_variables_and_cwd_roots() {
    let r = review(
        "[capability]\neffect_scope = [\"process\", \"io.blocking\", \"signal\"]\n\
         [commands]\nallow = [\"/usr/bin/true\"]\nallowed_cwd = [\"/nonexistent/jobs\", \"/\"]\n\
         [env]\ndeny = [\"LD_PRELOAD\"]\n[limits]\nmax_wall_time = 1\n",
    );
    let msg = only(&r, ENV_LOADER_NOT_DENIED);
    assert!(
        msg.contains("LD_AUDIT, LD_LIBRARY_PATH") && !msg.contains("LD_PRELOAD"),
        "{msg}"
    );
    let f = r.with_code(CWD_NOT_FOUND).next().expect("cwd");
    assert_eq!(f.entry, "/nonexistent/jobs");
    // An allow list that omits them is as good as denying them.
    let r = review(
        "[capability]\neffect_scope = [\"process\", \"io.blocking\", \"signal\"]\n\
         [commands]\nallow = [\"/usr/bin/true\"]\n[env]\nallow = [\"PATH\"]\n[limits]\nmax_wall_time = 1\n",
    );
    assert_eq!(r.with_code(ENV_LOADER_NOT_DENIED).count(), 0, "{r:#?}");
}

#[test]
fn review_json_shape() {
    let d = clean_dir();
    let f = file(&d.path().join("data"), 0o644);
    let r = verify_capability_security(&policy(&[&f], &[]));
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["ok"], false);
    let first = &v["findings"][0];
    assert_eq!(first["code"], "policy.command.not_executable");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["entry"], f.to_str().unwrap());
    assert!(first["message"].as_str().unwrap().contains("execute bit"));
}

/// A minimal ELF64 little-endian file whose one `PT_NOTE` segment holds one note: enough for
/// the review, which never runs what it reviews.
fn elf_with_note(path: &Path, owner: &[u8], n_type: u32, desc: &[u8]) -> PathBuf {
    let mut note = Vec::new();
    note.extend((owner.len() as u32).to_le_bytes());
    note.extend((desc.len() as u32).to_le_bytes());
    note.extend(n_type.to_le_bytes());
    note.extend(owner);
    note.resize(note.len().next_multiple_of(4), 0);
    note.extend(desc);
    note.resize(note.len().next_multiple_of(4), 0);
    let mut f = vec![0u8; 64];
    f[..4].copy_from_slice(b"\x7fELF");
    f[4] = 2; // 64-bit
    f[5] = 1; // little-endian
    f[6] = 1;
    f[0x10] = 2; // ET_EXEC
    f[0x20..0x28].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    f[0x36..0x38].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
    f[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
    let mut ph = vec![0u8; 56];
    ph[..4].copy_from_slice(&4u32.to_le_bytes()); // PT_NOTE
    ph[8..16].copy_from_slice(&120u64.to_le_bytes());
    ph[32..40].copy_from_slice(&(note.len() as u64).to_le_bytes());
    ph[48..56].copy_from_slice(&4u64.to_le_bytes());
    f.extend(ph);
    f.extend(note);
    fs::write(path, f).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    path.to_owned()
}

fn launcher_finding(r: &Review) -> &reml_process::policy::Finding {
    let hits: Vec<_> = r.with_code(COMMAND_LAUNCHER).collect();
    assert_eq!(hits.len(), 1, "want one launcher finding: {r:#?}");
    hits[0]
}

/// The supervisor allowed under a name no list knows was no finding at all, and its
/// `run -- PROGRAM` escapes the allow-list: it is recognised by its ELF note.
#[test]
fn supervisor_under_any_name_is_a_launcher_error() {
    let d = clean_dir();
    let bin = mkdir(&d.path().join("bin"), 0o755);
    let tool = elf_with_note(
        &bin.join("nightly-job"),
        b"reml-process\0",
        1,
        b"supervisor",
    );
    let r = verify_capability_security(&policy(&[&tool], &[]));
    let f = launcher_finding(&r);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.entry, tool.to_str().unwrap());
    assert!(
        f.message.contains("reml-process supervisor"),
        "{}",
        f.message
    );
    assert!(r.has_errors());
    // A symlink to it and a bare name found in search_path are the same file.
    let link = d.path().join("job");
    symlink(&tool, &link).unwrap();
    let r = verify_capability_security(&policy(&[&link], &[]));
    assert_eq!(launcher_finding(&r).severity, Severity::Error);
    let r = verify_capability_security(&policy(&[Path::new("nightly-job")], &[&bin]));
    assert_eq!(launcher_finding(&r).severity, Severity::Error);
    // Another note, or none, is not the supervisor.
    let other = elf_with_note(&bin.join("other"), b"GNU\0", 1, b"supervisor");
    let r = verify_capability_security(&policy(&[&other], &[]));
    assert_eq!(r.with_code(COMMAND_LAUNCHER).count(), 0, "{r:#?}");
    assert!(!r.has_errors(), "{r:#?}");
}

/// `/proc/self/exe` is the program installing the policy (for `run --policy`, the
/// supervisor); descriptor links are whatever the installer holds open.
#[test]
fn procfs_links_are_launcher_errors() {
    let d = clean_dir();
    let link = d.path().join("self");
    symlink("/proc/self/exe", &link).unwrap();
    let fds = d.path().join("fds");
    symlink("/dev/fd", &fds).unwrap();
    for (entry, through) in [
        (PathBuf::from("/proc/self/exe"), "/proc/self/exe"),
        (
            PathBuf::from("/proc/thread-self/exe"),
            "/proc/thread-self/exe",
        ),
        (
            PathBuf::from(format!("/proc/{}/exe", std::process::id())),
            "/exe",
        ),
        (PathBuf::from("/dev/fd/0"), "/proc/self/fd/0"),
        (PathBuf::from("/proc/self/fd/1"), "/proc/self/fd/1"),
        (PathBuf::from("/dev/stdin"), "/proc/self/fd/0"),
        (link.clone(), "/proc/self/exe"),
        (fds.join("2"), "/proc/self/fd/2"),
    ] {
        let r = verify_capability_security(&policy(&[&entry], &[]));
        let f = launcher_finding(&r);
        assert_eq!(f.severity, Severity::Error, "{entry:?}: {f:?}");
        assert!(
            f.message.contains(through) && f.message.contains("procfs"),
            "{entry:?}: {}",
            f.message
        );
    }
    // A search_path directory through procfs too.
    let r = verify_capability_security(&policy(&[Path::new("exe")], &[Path::new("/proc/self")]));
    assert_eq!(launcher_finding(&r).severity, Severity::Error, "{r:#?}");
}

/// A host of the library allowing its own binary (here the test program) is told so.
#[test]
fn the_running_program_is_a_launcher_warning() {
    let me = std::env::current_exe().unwrap();
    let r = verify_capability_security(&policy(&[&me], &[]));
    let f = launcher_finding(&r);
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.message.contains("running this review"), "{}", f.message);
}

#[test]
fn launcher_messages_say_how() {
    let d = clean_dir();
    let bin = mkdir(&d.path().join("bin"), 0o755);
    for (name, how) in [
        ("find", "-exec"),
        ("tar", "--to-command"),
        ("git", "core.pager"),
        ("rsync", "-e CMD"),
        ("sed", "`e` command"),
        ("reml-process", "run -- PROGRAM"),
    ] {
        let p = file(&bin.join(name), 0o755);
        let r = verify_capability_security(&policy(&[&p], &[]));
        let f = launcher_finding(&r);
        assert_eq!(f.severity, Severity::Warning, "{name}");
        assert!(f.message.contains(how), "{name}: {}", f.message);
    }
}
