//! Shared helpers of the `reml-process run` end-to-end tests: where the binaries are, deadline
//! polling, /proc inspection, and checks of the output shapes `docs/command.md` promises.
#![allow(dead_code)]

// Each test binary uses some of these; the others are unused there.
#[allow(unused_imports)]
pub use test_helper::{
    alive, assert_gone, eventually, have, helper, no_pid_namespace_here, own_group_and_session,
    own_pgrp, pgid_of, pids, proc_state, processes_with_arg, rerun_under, under_pty,
    unique_sleep_marker,
};

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::Value;

/// An upper bound for one `reml-process` invocation; only a hang reaches it.
pub const HANG_LIMIT: Duration = Duration::from_secs(60);

/// The `reml-process` binary under test.
pub fn reml_path() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_reml-process"))
}

/// A `reml-process` command with a safety time limit (a hang fails instead of blocking).
pub fn reml() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(reml_path());
    cmd.timeout(HANG_LIMIT);
    cmd
}

/// `reml-process run ARGS...`.
pub fn run(args: &[&str]) -> assert_cmd::Command {
    let mut cmd = reml();
    cmd.arg("run").args(args);
    cmd
}

/// [`helper`] as a `&str`-friendly `String`.
pub fn helper_str() -> String {
    helper().to_str().expect("UTF-8 target path").to_owned()
}

/// Live (non-zombie) processes whose process group is `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        // After "comm)": state ppid pgrp ...
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let state = fields.first().copied().unwrap_or("");
        let pgrp = fields.get(2).and_then(|f| f.parse::<i32>().ok());
        if pgrp == Some(pgid) && state != "Z" && state != "X" {
            out.push(pid);
        }
    }
    out
}

/// Waits until no live process is left in group `pgid`.
pub fn group_ends(pgid: i32) {
    eventually(
        Duration::from_secs(10),
        &format!("process group {pgid} to end"),
        || group_members(pgid).is_empty().then_some(()),
    );
}

/// The children of `pid` (all its threads), from /proc/PID/task/*/children.
pub fn children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(s.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
            }
        }
    }
    out
}

/// Whether process `pid` now runs the executable `exe` (it has exec'd).
pub fn runs(pid: i32, exe: &Path) -> bool {
    std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == exe)
}

/// Sends `signal` to `pid`, ignoring "no such process".
pub fn kill(pid: i32, signal: rustix::process::Signal) {
    if let Some(p) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(p, signal);
    }
}

/// Sends `KILL` to every process of group `pgid`, ignoring "no such process".
pub fn kill_group(pgid: i32) {
    if let Some(p) = rustix::process::Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(p, rustix::process::Signal::KILL);
    }
}

/// Kills the listed processes and groups when dropped, so a failing test leaves nothing behind.
#[derive(Default)]
pub struct Cleanup {
    pub pids: Vec<i32>,
    pub groups: Vec<i32>,
}

impl Cleanup {
    /// Adds `pids` and the process groups they are in now.
    pub fn processes_and_their_groups(&mut self, pids: &[i32]) {
        self.pids.extend(pids);
        self.groups.extend(pids.iter().filter_map(|&p| pgid_of(p)));
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let ours = own_pgrp();
        for &g in &self.groups {
            // Never our own group: that would end the test harness.
            if g > 1 && g != ours {
                kill_group(g);
            }
        }
        for &p in &self.pids {
            if alive(p) {
                kill(p, rustix::process::Signal::KILL);
            }
        }
    }
}

/// The exit status of `out`, panicking (with its stderr) when it ended by a signal.
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or_else(|| {
        panic!(
            "reml-process itself did not exit normally ({:?}); stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Standard output of a `--json` run: exactly one line, which parses to one JSON object.
pub fn one_json(out: &Output) -> serde_json::Map<String, Value> {
    let text = std::str::from_utf8(&out.stdout).expect("--json output is UTF-8");
    assert!(
        text.ends_with('\n'),
        "the JSON line ends with a newline: {text:?}"
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line on stdout, got: {text:?}");
    match serde_json::from_str::<Value>(lines[0]) {
        Ok(Value::Object(map)) => map,
        other => panic!("stdout is not one JSON object: {other:?} from {text:?}"),
    }
}

/// Standard error of a failure: exactly one line, `reml-process: ...`; returns it.
pub fn one_error_line(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr, got: {text:?}");
    assert!(
        lines[0].starts_with("reml-process: "),
        "the line names the command: {text:?}"
    );
    assert!(
        !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
        "no panic: {text:?}"
    );
    lines[0].to_owned()
}

/// The field `key` of a JSON object, panicking when it is missing.
pub fn field<'a>(obj: &'a serde_json::Map<String, Value>, key: &str) -> &'a Value {
    obj.get(key)
        .unwrap_or_else(|| panic!("missing field `{key}` in {obj:?}"))
}

/// The first executable `name` on this process's PATH, if any.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        let meta = std::fs::metadata(&p).ok()?;
        (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then_some(p)
    })
}

/// Prints a visible skip notice; the caller then returns. Written straight to standard error
/// (not with `eprintln!`, which the test harness captures), so it shows in every run.
pub fn skip(test: &str, reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// The `reml-process` binary under test (the name the tree tests use).
pub fn reml_process() -> PathBuf {
    reml_path()
}
