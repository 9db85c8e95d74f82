//! What the integration tests of `reml-process` and `reml-process-cli` share: where the
//! `rp-helper` program is, deadline polling, `/proc` inspection, and re-running one test of
//! the current test binary under an `rp-helper` wrapper. Linux only, like the suites.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `rp-helper` program of this crate, next to the running test binary
/// (`target/<profile>/deps/<test>` → `target/<profile>/rp-helper`). Panics with the remedy
/// when it is missing: it is built by `cargo test --workspace`.
pub fn helper() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let p = dir.join("rp-helper");
    assert!(
        p.is_file(),
        "{} is missing: run the suite with `cargo test --workspace` so the test-helper crate is built",
        p.display()
    );
    p
}

/// Polls `f` every 5 ms until it returns `Some`, or panics after `limit` naming `what`.
pub fn eventually<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The fields of `/proc/PID/stat` after the command name (state, ppid, pgrp, session, …);
/// `None` when the process no longer exists.
fn stat_fields(pid: &str) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.get(stat.rfind(')')? + 2..)?;
    Some(after.split_whitespace().map(str::to_owned).collect())
}

/// The state letter of a process from `/proc/PID/stat`, `None` when it no longer exists.
pub fn proc_state(pid: i32) -> Option<char> {
    stat_fields(&pid.to_string())?.first()?.chars().next()
}

/// Whether a process exists and is not a zombie (an orphaned zombie waits for its reaper,
/// which on some machines reaps late; it is dead all the same).
pub fn alive(pid: i32) -> bool {
    matches!(proc_state(pid), Some(c) if c != 'Z' && c != 'X')
}

/// The process group of `pid` from `/proc/PID/stat`; `None` when it no longer exists.
pub fn pgid_of(pid: i32) -> Option<i32> {
    stat_fields(&pid.to_string())?.get(2)?.parse().ok()
}

/// This process's (process group, session) from `/proc/self/stat`. Either is 0 when its
/// leader lives outside our pid namespace (a CI runner's or a container's): the kernel has
/// no number for it here. (rustix's `getpgrp`/`getsid` assume a positive id and panic on 0,
/// so tests read the ids this way.)
pub fn own_group_and_session() -> (i32, i32) {
    let fields = stat_fields("self").expect("read /proc/self/stat");
    let id = |i: usize| fields[i].parse().expect("numeric pgid and sid");
    (id(2), id(3))
}

/// This process's group ([`own_group_and_session`]): 0 when it has no number here.
pub fn own_pgrp() -> i32 {
    own_group_and_session().0
}

/// Pids of this process's children that are zombies (from `/proc/self/task/*/children`).
pub fn zombie_children() -> Vec<i32> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task")
        .expect("tasks")
        .flatten()
    {
        let Ok(list) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        for pid in list
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            if proc_state(pid) == Some('Z') {
                out.push(pid);
            }
        }
    }
    out
}

/// Every whitespace-separated decimal number in `text`, in order (pids a helper printed).
pub fn pids(text: impl AsRef<[u8]>) -> Vec<i32> {
    String::from_utf8_lossy(text.as_ref())
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// The pids (as this process sees them) of every live, non-zombie process with an argument
/// equal to `marker`: a way to find, from the host, processes started inside a PID namespace.
pub fn processes_with_arg(marker: &str) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            alive(pid)
                && std::fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|c| c.split(|&b| b == 0).any(|a| a == marker.as_bytes()))
                    .unwrap_or(false)
        })
        .collect()
}

/// A `sleep` duration in seconds unique to this call (this process's pid and a counter in
/// the fraction), so that [`processes_with_arg`] finds exactly the sleeps one test started.
pub fn unique_sleep_marker(seconds: u32) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{seconds}.{}{n:03}", std::process::id())
}

/// Waits until none of `pids` is alive (a zombie left to its parent counts as ended),
/// 10 s at most each.
pub fn assert_gone(pids: &[i32]) {
    for &pid in pids {
        eventually(Duration::from_secs(10), &format!("pid {pid} gone"), || {
            (!alive(pid)).then_some(())
        });
    }
}

/// Re-runs the ignored test `name` of the current test binary under `rp-helper with-signals`
/// with the given ignored and blocked signal numbers; returns its combined output and
/// asserts it passed. Used for tests that need process-wide signal state.
pub fn rerun_with_signals(name: &str, ignored: &str, blocked: &str) -> String {
    rerun_under(&["with-signals", ignored, blocked, "--"], name)
}

/// Re-runs the ignored test `name` of the current test binary as `rp-helper WRAPPER… EXE
/// ARGS…` (the wrapper's arguments end with its `--`), with `REML_INNER_TEST=1`; returns its
/// combined output and asserts that it passed and that it ran.
pub fn rerun_under(wrapper: &[&str], name: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(helper())
        .args(wrapper)
        .arg(exe)
        .args([
            "--ignored",
            "--exact",
            name,
            "--nocapture",
            "--test-threads=1",
        ])
        .env("REML_INNER_TEST", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "inner test {name} failed:\n{text}");
    assert!(
        text.contains("1 passed"),
        "inner test {name} did not run:\n{text}"
    );
    text
}

/// Why `rp-helper pidns` cannot run a program here — neither a pid namespace nor a user
/// namespace may be made, and our group is visible (its exit 97) — or `None` when it can.
pub fn no_pid_namespace_here() -> Option<String> {
    let out = std::process::Command::new(helper())
        .args(["pidns", "--"])
        .arg(helper())
        .arg("ids")
        .output()
        .unwrap();
    (out.status.code() == Some(97)).then(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Whether `program` can be started (`program --version`).
pub fn have(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs `shell_command` on a pseudo-terminal through util-linux `script`; `steps`: wait
/// until the terminal output contains the first string, then type the second. Returns the
/// terminal output (carriage returns removed) and whether `script` (that is, the command)
/// exited 0; panics naming what it waited for after 60 s. `None` (with a visible SKIPPED
/// line) when `script` is not installed. `REML_INNER_TEST=1` is set for re-run tests.
pub fn under_pty(shell_command: &str, steps: &[(&str, &str)]) -> Option<(String, bool)> {
    if !have("script") {
        eprintln!("SKIPPED: util-linux `script` is not installed");
        return None;
    }
    let mut script = std::process::Command::new("script")
        .args(["-qec", shell_command, "/dev/null"])
        .env("REML_INNER_TEST", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let output = Arc::new(Mutex::new(String::new()));
    let mut stdout = script.stdout.take().unwrap();
    let sink = output.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut stdin = script.stdin.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen_upto = 0;
    for (wait_for, send) in steps {
        loop {
            let text = output.lock().unwrap().clone();
            if let Some(i) = text[seen_upto..].find(wait_for) {
                seen_upto += i + wait_for.len();
                break;
            }
            if Instant::now() > deadline {
                let _ = script.kill();
                let _ = script.wait();
                panic!("never saw {wait_for:?} on the terminal:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        stdin.write_all(send.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }
    // The terminal's input stays open until the command is done.
    let status = loop {
        if let Some(st) = script.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = script.kill();
            let _ = script.wait();
            panic!("did not finish:\n{}", output.lock().unwrap());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    drop(stdin);
    reader.join().unwrap();
    let text = output.lock().unwrap().replace('\r', "");
    Some((text, status.success()))
}
