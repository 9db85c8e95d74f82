//! Priorities that need privilege, refused for an unprivileged user: the error
//! carries the errno, the start function never runs, and nothing falls back to Normal.
//!
//! The suite runs as root, so these scenarios run in a helper process that drops to
//! `nobody` (uid/gid 65534) before `exec`: this test binary itself, re-run with
//! `REML_THREAD_UNPRIVILEGED_CHILD=1` and a filter selecting `unprivileged_child_scenarios`,
//! and the `thread_probe` example. Both are copied to a world-readable temporary directory
//! first, so `nobody` can execute them whatever the permissions of the build directory.
//!
//! Nobody's limits are the ones inherited from this process (`RLIMIT_NICE`,
//! `RLIMIT_RTPRIO`); the helper checks they are 0, as on a default system, before asserting.
#![cfg(target_os = "linux")]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reml_process::thread::{
    NativeThreadCapability, OsThreadState, ThreadCapability, ThreadOptions, ThreadPriority,
    ThreadStart,
};
use reml_process::ThreadErrorKind;

const CHILD_ENV: &str = "REML_THREAD_UNPRIVILEGED_CHILD";
const NOBODY: u32 = 65534;

fn is_root(test: &str) -> bool {
    let root = rustix::process::getuid().is_root();
    if !root {
        eprintln!("SKIPPED {test}: must start as root to drop to an unprivileged user");
    }
    root
}

/// Copies `exe` into a fresh world-readable directory; returns the directory guard and path.
fn world_executable_copy(exe: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = dir.path().join(exe.file_name().unwrap());
    std::fs::copy(exe, &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, copy)
}

/// `cmd.output()`, retried while the kernel answers `ETXTBSY`: the copy was just written,
/// and a sibling test's fork may briefly hold a duplicate of that (close-on-exec) write
/// descriptor until its exec, which makes exec of the copy fail with "Text file busy".
fn output_retrying(cmd: &mut Command) -> std::process::Output {
    let start = std::time::Instant::now();
    loop {
        match cmd.output() {
            Err(e) if e.raw_os_error() == Some(26) && start.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other.unwrap(),
        }
    }
}

fn as_nobody(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.uid(NOBODY).gid(NOBODY).current_dir("/");
    cmd
}

#[test]
fn unprivileged_realtime_and_high_are_refused_with_errno_and_never_run() {
    if !is_root("unprivileged_realtime_and_high_are_refused_with_errno_and_never_run") {
        return;
    }
    let me = std::env::current_exe().unwrap();
    let (_dir, copy) = world_executable_copy(&me);
    let out = output_retrying(as_nobody(&copy).env(CHILD_ENV, "1").args([
        "--exact",
        "unprivileged_child_scenarios",
        "--nocapture",
        "--test-threads",
        "1",
    ]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "helper failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the helper scenario really ran\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("CHILD-SCENARIOS-DONE"), "{stdout}");
}

/// Runs only inside the helper process started by the test above (as `nobody`).
#[test]
fn unprivileged_child_scenarios() {
    if std::env::var_os(CHILD_ENV).is_none() {
        eprintln!(
            "unprivileged_child_scenarios: helper only; it runs when \
             unprivileged_realtime_and_high_are_refused_with_errno_and_never_run spawns it"
        );
        return;
    }
    assert_eq!(
        rustix::process::getuid().as_raw(),
        NOBODY,
        "dropped privileges"
    );
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    for name in ["Max nice priority", "Max realtime priority"] {
        let line = limits.lines().find(|l| l.starts_with(name)).unwrap();
        let soft = line[name.len()..].split_whitespace().next().unwrap();
        assert_eq!(soft, "0", "{name} must be 0 for this scenario: {line}");
    }
    let my_nice = OsThreadState::current().unwrap().nice;
    let cap = NativeThreadCapability::new();

    let attempt = |priority: ThreadPriority| {
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let r = cap.create_thread(
            ThreadStart::new(move |_| {
                flag.store(true, Ordering::SeqCst);
                Ok(())
            }),
            ThreadOptions::default()
                .with_name(format!("unpriv-{priority}"))
                .with_priority(priority),
        );
        let r = r.map(|h| {
            let result = cap.join_thread(h, None).unwrap();
            cap.release_thread(h).unwrap();
            result
        });
        (r, ran.load(Ordering::SeqCst))
    };

    // Realtime: sched_setscheduler(SCHED_RR) is EPERM (errno 1).
    let (r, ran) = attempt(ThreadPriority::Realtime);
    let e = r.unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::CreationFailed);
    assert!(e.message.contains("errno 1)"), "{}", e.message);
    assert!(e.message.contains("sched_setscheduler"), "{}", e.message);
    assert!(e.message.contains("unpriv-realtime"), "{}", e.message);
    assert!(!ran, "the start function must not run");

    // High: lowering the nice value to -10 is EACCES (errno 13).
    let (r, ran) = attempt(ThreadPriority::High);
    let e = r.unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::CreationFailed);
    assert!(e.message.contains("errno 13)"), "{}", e.message);
    assert!(e.message.contains("setpriority"), "{}", e.message);
    assert!(!ran, "the start function must not run");

    assert!(
        cap.outstanding_threads().is_empty(),
        "refused threads keep no slot"
    );
    assert_eq!(cap.running_threads(), 0);

    // Low, and Normal when we are not above nice 0, need no privilege and do run.
    let (r, ran) = attempt(ThreadPriority::Low);
    assert!(r.unwrap().is_ok() && ran);
    let (r, ran) = attempt(ThreadPriority::Normal);
    if my_nice <= 0 {
        assert!(r.unwrap().is_ok() && ran);
    } else {
        // Started above nice 0: reaching 0 would lower it, which is refused, not skipped.
        assert!(r.unwrap_err().message.contains("errno 13)"));
        assert!(!ran);
    }
    println!("CHILD-SCENARIOS-DONE");
}

#[test]
fn unprivileged_probe_reports_the_errno_as_json() {
    if !is_root("unprivileged_probe_reports_the_errno_as_json") {
        return;
    }
    let me = std::env::current_exe().unwrap();
    let probe = me
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("examples").join("thread_probe"))
        .filter(|p| p.is_file());
    let Some(probe) = probe else {
        eprintln!(
            "SKIPPED unprivileged_probe_reports_the_errno_as_json: the thread_probe example is \
             not built (run `cargo test -p reml-process`, which builds examples)"
        );
        return;
    };
    let (_dir, copy) = world_executable_copy(&probe);
    for (priority, errno) in [("realtime", "errno 1)"), ("high", "errno 13)")] {
        let out = output_retrying(as_nobody(&copy).args(["--priority", priority, "--join"]));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(!out.status.success(), "{json}");
        assert_eq!(json["ok"], false, "{json}");
        assert_eq!(json["error"]["kind"], "creation_failed", "{json}");
        let msg = json["error"]["message"].as_str().unwrap();
        assert!(msg.contains(errno), "{priority}: {msg}");
        assert!(msg.contains("start function was not run"), "{msg}");
    }
    // The same probe as nobody with an unprivileged priority works.
    let out = output_retrying(as_nobody(&copy).args(["--priority", "low", "--join"]));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success(), "{json}");
    assert_eq!(json["os"]["nice"], 10);
}
