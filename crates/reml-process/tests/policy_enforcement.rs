//! The security policy holds on every call: every known way around an allow-list (a symlink
//! named like an allowed program, a shadowing `PATH`, `..`, a replaced binary, …), each denied with
//! nothing spawned, and each limit enforced.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::helper;
use reml_process::policy::Policy;
use reml_process::*;

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    tool: PathBuf,
    marker: PathBuf,
}

/// `root/bin/tool` is a copy of rp-helper; `root/other/tool` another copy (same name,
/// different file); `root/jobs` a directory.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    for d in ["bin", "other", "jobs", "evil"] {
        std::fs::create_dir(root.join(d)).unwrap();
    }
    let tool = root.join("bin/tool");
    for p in [&tool, &root.join("other/tool"), &root.join("evil/tool")] {
        std::fs::copy(helper(), p).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    Fixture {
        marker: root.join("marker"),
        _tmp: tmp,
        root,
        tool,
    }
}

fn guard(toml: &str) -> PolicyLayer<NativeProcessCapability> {
    let policy = Policy::from_toml_str(toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    PolicyLayer::new(NativeProcessCapability::new(), Arc::new(policy))
}

fn allow_tool(f: &Fixture, extra: &str) -> PolicyLayer<NativeProcessCapability> {
    guard(&format!(
        "[commands]\nallow = [\"{}\"]\nsearch_path = [\"{}\"]\n{extra}",
        f.tool.display(),
        f.root.join("bin").display()
    ))
}

/// A command that would `touch` the marker if it ran: `tool` is rp-helper, so use `sh`-free
/// `rp-helper echo` into a file instead: stdout to the marker.
fn would_mark(f: &Fixture, program: impl AsRef<Path>) -> Command {
    let mut c = Command::new(program.as_ref());
    c.args(["echo", "ran"])
        .stdout(StdioSpec::File(f.marker.clone()));
    c
}

fn denied(cap: &dyn ProcessCapability, f: &Fixture, cmd: &Command, needle: &str) {
    let e = cap
        .spawn_process(cmd, &Environment::default())
        .expect_err("must be denied");
    assert_eq!(e.kind, ProcessErrorKind::PermissionDenied, "{e:?}");
    assert!(
        e.message.contains(needle),
        "{:?} should contain {needle:?}",
        e.message
    );
    assert!(!f.marker.exists(), "a child ran");
}

#[test]
fn allowed_program_runs_and_is_exec_by_descriptor() {
    let f = fixture();
    let cap = allow_tool(&f, "");
    let h = cap
        .spawn_process(&would_mark(&f, &f.tool), &Environment::default())
        .unwrap();
    cap.wait_process(h, None).unwrap();
    assert_eq!(std::fs::read_to_string(&f.marker).unwrap(), "ran\n");
}

#[test]
fn relative_path_to_another_file_is_denied() {
    let f = fixture();
    let cap = allow_tool(&f, "");
    let mut cmd = would_mark(&f, "./tool");
    cmd.cwd(f.root.join("other"));
    denied(&cap, &f, &cmd, "not an allowed program");
}

#[test]
fn same_basename_elsewhere_is_denied() {
    let f = fixture();
    let cap = allow_tool(&f, "");
    denied(
        &cap,
        &f,
        &would_mark(&f, f.root.join("other/tool")),
        "not an allowed program",
    );
}

#[test]
fn symlink_named_like_allowed_program_pointing_elsewhere_is_denied() {
    let f = fixture();
    std::fs::create_dir(f.root.join("links")).unwrap();
    std::os::unix::fs::symlink(f.root.join("other/tool"), f.root.join("links/tool")).unwrap();
    let cap = allow_tool(&f, "");
    denied(
        &cap,
        &f,
        &would_mark(&f, f.root.join("links/tool")),
        "not an allowed program",
    );
}

#[test]
fn link_to_the_allowed_binary_is_allowed() {
    let f = fixture();
    std::os::unix::fs::symlink(&f.tool, f.root.join("alias")).unwrap();
    let cap = allow_tool(&f, "");
    let h = cap
        .spawn_process(
            &would_mark(&f, f.root.join("alias")),
            &Environment::default(),
        )
        .unwrap();
    cap.wait_process(h, None).unwrap();
    assert!(f.marker.exists());
}

#[test]
fn childs_path_shadowing_an_allowed_name_is_denied() {
    let f = fixture();
    let cap = guard(&format!(
        "[commands]\nallow = [\"tool\"]\nsearch_path = [\"{}\"]\n",
        f.root.join("bin").display()
    ));
    let mut cmd = would_mark(&f, "tool");
    cmd.env(
        "PATH",
        format!(
            "{}:{}",
            f.root.join("evil").display(),
            f.root.join("bin").display()
        ),
    );
    denied(&cap, &f, &cmd, "not an allowed program");
    // With the child's PATH pointing at the allowed directory, the bare name runs.
    let mut ok = would_mark(&f, "tool");
    ok.env("PATH", f.root.join("bin"));
    let h = cap.spawn_process(&ok, &Environment::default()).unwrap();
    cap.wait_process(h, None).unwrap();
}

#[test]
fn dot_dot_components_leading_elsewhere_are_denied() {
    let f = fixture();
    let cap = allow_tool(&f, "");
    denied(
        &cap,
        &f,
        &would_mark(&f, f.root.join("bin/../other/tool")),
        "not an allowed program",
    );
}

#[test]
fn binary_replaced_after_installation_is_denied() {
    let f = fixture();
    let cap = allow_tool(&f, "");
    // Another file renamed over the allowed path after the layer was built.
    std::fs::rename(f.root.join("other/tool"), &f.tool).unwrap();
    denied(&cap, &f, &would_mark(&f, &f.tool), "replaced");
}

#[test]
fn allowed_script_runs_through_its_descriptor() {
    let f = fixture();
    let script = f.root.join("bin/script");
    std::fs::write(&script, "#!/bin/sh\necho script-ran \"$@\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cap = guard(&format!("[commands]\nallow = [\"{}\"]\n", script.display()));
    let mut cmd = Command::new(&script);
    cmd.arg("x").stdout(StdioSpec::Pipe);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    cap.wait_with_options(h, &WaitOptions::default().collecting())
        .unwrap();
    assert_eq!(cap.take_output(h).unwrap().stdout, b"script-ran x\n");
}

#[test]
fn denied_environment_variable_asked_for_is_refused() {
    let f = fixture();
    let cap = allow_tool(&f, "[env]\ndeny = [\"LD_PRELOAD\"]\n");
    let mut cmd = would_mark(&f, &f.tool);
    cmd.env("LD_PRELOAD", "/tmp/evil.so");
    denied(&cap, &f, &cmd, "LD_PRELOAD");
    let mut base = Environment::default();
    base.set("LD_PRELOAD", "/tmp/evil.so");
    let e = cap
        .spawn_process(&would_mark(&f, &f.tool), &base)
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::PermissionDenied);
}

#[test]
fn env_allow_list_passes_only_its_names_and_inherit_false_starts_empty() {
    let f = fixture();
    let cap = allow_tool(&f, "[env]\ninherit = false\nallow = [\"KEEP\"]\n");
    let mut base = Environment::empty();
    base.set("KEEP", "1");
    let mut cmd = Command::new(&f.tool);
    cmd.arg("env").stdout(StdioSpec::Pipe);
    let h = cap.spawn_process(&cmd, &base).unwrap();
    cap.wait_with_options(h, &WaitOptions::default().collecting())
        .unwrap();
    let out = String::from_utf8(cap.take_output(h).unwrap().stdout).unwrap();
    assert_eq!(out, "KEEP=1\n");
    let mut cmd2 = would_mark(&f, &f.tool);
    cmd2.env("OTHER", "x");
    denied(&cap, &f, &cmd2, "allow list");
}

#[test]
fn cwd_escaping_through_a_symlink_is_denied() {
    let f = fixture();
    std::os::unix::fs::symlink(f.root.join("other"), f.root.join("jobs/escape")).unwrap();
    let cap = allow_tool(
        &f,
        &format!("allowed_cwd = [\"{}\"]\n", f.root.join("jobs").display()),
    );
    let mut cmd = would_mark(&f, &f.tool);
    cmd.cwd(f.root.join("jobs/escape"));
    denied(&cap, &f, &cmd, "allowed_cwd");
    let mut ok = would_mark(&f, &f.tool);
    ok.cwd(f.root.join("jobs"));
    let h = cap.spawn_process(&ok, &Environment::default()).unwrap();
    cap.wait_process(h, None).unwrap();
}

#[test]
fn signal_not_allowed_is_refused() {
    let f = fixture();
    let cap = allow_tool(&f, "allowed_signals = [\"TERM\"]\n");
    let mut cmd = Command::new(&f.tool);
    cmd.args(["sleep", "30"]);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    let e = cap.kill_process(h, Signal::USR1).unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::PermissionDenied);
    assert!(e.message.contains("SIGUSR1"));
    assert!(common::alive(h.pid()));
    cap.kill_process(h, Signal::TERM).unwrap();
    assert_eq!(cap.wait_process(h, None).unwrap_err().code, Some(15));
}

/// A parent-death signal is a signal the caller has the kernel send for it: one the policy
/// does not let the caller send is refused before anything runs, like `kill_process`.
#[test]
fn a_parent_death_signal_not_allowed_is_refused_before_anything_runs() {
    let f = fixture();
    let cap = allow_tool(&f, "allowed_signals = [\"TERM\"]\n");
    let mut cmd = would_mark(&f, &f.tool);
    cmd.parent_death_signal(Signal::USR1);
    denied(&cap, &f, &cmd, "parent-death signal SIGUSR1");
    cmd.parent_death_signal(Signal::TERM);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    assert_eq!(cap.wait_process(h, None).unwrap().code(), 0);
}

#[test]
fn max_processes_is_enforced() {
    let f = fixture();
    let cap = allow_tool(&f, "[limits]\nmax_processes = 1\n");
    let mut sleeper = Command::new(&f.tool);
    sleeper.args(["sleep", "30"]);
    let a = cap
        .spawn_process(&sleeper, &Environment::default())
        .unwrap();
    denied(&cap, &f, &would_mark(&f, &f.tool), "max_processes");
    cap.kill_process(a, Signal::TERM).unwrap();
    cap.wait_process(a, None).unwrap_err();
    // Once it ended, a new one may start.
    let b = cap
        .spawn_process(&would_mark(&f, &f.tool), &Environment::default())
        .unwrap();
    cap.wait_process(b, None).unwrap();
}

#[test]
fn max_wall_time_caps_every_wait() {
    let f = fixture();
    let cap = allow_tool(&f, "[limits]\nmax_wall_time = \"300ms\"\n");
    let mut cmd = Command::new(&f.tool);
    cmd.args(["sleep", "30"]);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    let start = std::time::Instant::now();
    let e = cap.wait_process(h, None).unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::TimedOut);
    let e = cap
        .wait_process(h, Some(Duration::from_secs(3600)))
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::TimedOut);
    assert!(start.elapsed() < Duration::from_secs(20));
    cap.kill_process(h, Signal::KILL).unwrap();
}

#[test]
fn max_output_bytes_caps_collection() {
    let f = fixture();
    let cap = allow_tool(&f, "[limits]\nmax_output_bytes = \"1KiB\"\n");
    let mut cmd = Command::new(&f.tool);
    cmd.args(["out", "10000"]).stdout(StdioSpec::Pipe);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    cap.wait_with_options(h, &WaitOptions::default().collecting())
        .unwrap();
    let out = cap.take_output(h).unwrap();
    assert_eq!(out.stdout.len(), 1024);
    assert!(out.stdout_truncated);
    assert_eq!(out.stdout_bytes, 10000);
}

#[test]
fn rlimits_are_applied_to_the_child() {
    let f = fixture();
    let cap = allow_tool(
        &f,
        "[limits]\ncpu_time = \"7s\"\naddress_space = \"3GiB\"\nopen_files = 77\ncore_dump = false\n",
    );
    let read = |name: &str| {
        let mut cmd = Command::new(&f.tool);
        cmd.args(["rlimit", name]).stdout(StdioSpec::Pipe);
        let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
        cap.wait_with_options(h, &WaitOptions::default().collecting())
            .unwrap();
        String::from_utf8(cap.take_output(h).unwrap().stdout)
            .unwrap()
            .trim()
            .to_owned()
    };
    assert_eq!(read("cpu"), "7 8");
    assert_eq!(read("as"), format!("{0} {0}", 3u64 << 30));
    assert_eq!(read("nofile"), "77 77");
    assert_eq!(read("core"), "0 0");
}

/// Our hard RLIMIT_NOFILE, and a value above the kernel's `nr_open`, which no process (root
/// included) can set.
fn nofile_hard_and_impossible() -> (String, u64) {
    let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .maximum
        .map_or_else(|| "unlimited".to_owned(), |v| v.to_string());
    let nr_open: u64 = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (hard, nr_open + 1)
}

/// A policy limit the host cannot grant made every spawn fail at `setrlimit`; it is a
/// ceiling: the child gets the limit it inherits.
#[test]
fn a_policy_limit_the_host_cannot_grant_gives_the_host_limit() {
    let f = fixture();
    let (hard, impossible) = nofile_hard_and_impossible();
    let cap = allow_tool(&f, &format!("[limits]\nopen_files = {impossible}\n"));
    let mut cmd = Command::new(&f.tool);
    cmd.args(["rlimit", "nofile"]).stdout(StdioSpec::Pipe);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    cap.wait_with_options(h, &WaitOptions::default().collecting())
        .unwrap();
    let out = String::from_utf8(cap.take_output(h).unwrap().stdout).unwrap();
    assert_eq!(out.trim(), format!("{hard} {hard}"));
}

/// A limit the command asks for itself is applied as asked: when the OS refuses it, the spawn
/// fails naming the limit, the value asked and the hard limit there is — also under a policy
/// whose own ceiling is higher still.
#[test]
fn a_command_limit_the_host_cannot_grant_is_an_error_naming_it() {
    let f = fixture();
    let (hard, impossible) = nofile_hard_and_impossible();
    let cap = allow_tool(&f, &format!("[limits]\nopen_files = {}\n", impossible + 1));
    let mut cmd = Command::new(&f.tool);
    cmd.args(["exit", "0"])
        .rlimit(Resource::OpenFiles, Some(impossible), Some(impossible));
    for e in [
        cap.spawn_process(&cmd, &Environment::default())
            .unwrap_err(),
        NativeProcessCapability::new()
            .spawn_process(&cmd, &Environment::default())
            .unwrap_err(),
    ] {
        assert_eq!(e.code, Some(libc::EPERM), "{e:?}");
        assert!(
            e.message.contains(&format!(
                "cannot apply RLIMIT_NOFILE soft {impossible}, hard {impossible}"
            )) && e.message.contains(&format!("inherits, is {hard})")),
            "{}",
            e.message
        );
    }
}

#[test]
fn effects_outside_the_scope_are_refused_naming_the_effect() {
    let f = fixture();
    let cap = allow_tool(
        &f,
        "pass_fds = true\n[capability]\neffect_scope = [\"process\", \"io.blocking\"]\n",
    );
    let mut cmd = Command::new(&f.tool);
    cmd.args(["out", "10"]).stdout(StdioSpec::Pipe);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    let e = cap
        .wait_with_options(h, &WaitOptions::default().collecting())
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::PermissionDenied);
    assert!(e.message.contains("memory"), "{}", e.message);
    let e = cap.kill_process(h, Signal::TERM).unwrap_err();
    assert!(e.message.contains("signal"), "{}", e.message);
    cap.wait_process(h, None).unwrap();
    let shm = SharedMemory::create("x", 8).unwrap();
    let mut pass = would_mark(&f, &f.tool);
    pass.pass_fd(shm.fd(), 3);
    denied(&cap, &f, &pass, "memory");
    let e = ProcessCapability::create_thread(
        &cap,
        ThreadStart::new(|_| Ok(())),
        ThreadOptions::default(),
    )
    .unwrap_err();
    assert!(e.message.contains("thread"), "{}", e.message);
}

#[test]
fn pass_fds_false_refuses_descriptor_passing() {
    let f = fixture();
    let cap = allow_tool(&f, "pass_fds = false\n");
    let shm = SharedMemory::create("x", 8).unwrap();
    let mut cmd = would_mark(&f, &f.tool);
    cmd.pass_fd(shm.fd(), 3);
    denied(&cap, &f, &cmd, "pass_fds");
}

#[test]
fn thread_limits_are_enforced() {
    let f = fixture();
    let cap = allow_tool(
        &f,
        "[limits]\nmax_threads = 1\nallowed_cpus = \"0\"\nmax_thread_priority = \"normal\"\n",
    );
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let t = ProcessCapability::create_thread(
        &cap,
        ThreadStart::new(move |_| {
            let _ = rx.recv();
            Ok(())
        }),
        ThreadOptions::default(),
    )
    .unwrap();
    let e = ProcessCapability::create_thread(
        &cap,
        ThreadStart::new(|_| Ok(())),
        ThreadOptions::default(),
    )
    .unwrap_err();
    assert!(e.message.contains("max_threads"), "{}", e.message);
    let e = ProcessCapability::set_thread_affinity(&cap, t, &"0-1".parse().unwrap()).unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::InvalidAffinity);
    assert!(e.message.contains("CPU 1"), "{}", e.message);
    ProcessCapability::set_thread_affinity(&cap, t, &"0".parse().unwrap()).unwrap();
    tx.send(()).unwrap();
    ProcessCapability::join_thread(&cap, t, None).unwrap();
    let e = ProcessCapability::create_thread(
        &cap,
        ThreadStart::new(|_| Ok(())),
        ThreadOptions::default().with_priority(ThreadPriority::High),
    )
    .unwrap_err();
    assert!(e.message.contains("max_thread_priority"), "{}", e.message);
}

#[test]
fn passed_descriptors_never_replace_the_checked_program() {
    // The layer execs the checked program by descriptor; mapping passed descriptors onto
    // every low number (where that descriptor most likely sits in our table) must not make
    // the child exec one of them instead.
    let f = fixture();
    let cap = allow_tool(&f, "pass_fds = true\n");
    let shm = SharedMemory::create("not-a-program", 16).unwrap();
    let mut cmd = Command::new(&f.tool);
    cmd.args(["exit", "3"]);
    for target in 3..60 {
        cmd.pass_fd(shm.fd(), target);
    }
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    assert_eq!(cap.wait_process(h, None).unwrap().code(), 3);
}
