//! `reml-process serve` driven as a child: the invoke protocol over stdin/stdout
//! (`docs/serve.md`).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Serve {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_reml-process"))
            .arg("serve")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start serve");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Serve {
            child,
            stdin,
            stdout,
        }
    }

    fn send_raw(&mut self, line: &str) -> Value {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("write");
        stdin.flush().expect("flush");
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).expect("read answer");
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("answer {answer:?}: {e}"))
    }

    fn call(&mut self, id: u64, entrypoint: &str, payload: Value) -> Value {
        let a = self
            .send_raw(&json!({"id": id, "entrypoint": entrypoint, "payload": payload}).to_string());
        assert_eq!(a["id"], id, "id echoed: {a}");
        a
    }

    /// Closes stdin (the host goes away) and waits for serve to exit.
    fn finish(mut self) -> std::process::ExitStatus {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not exit at end of input"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn policy(dir: &Path) -> String {
    let p = dir.join("policy.toml");
    std::fs::write(
        &p,
        "[capability]\nisolation_level = \"none\"\n[commands]\nallow = [\"/bin/sh\"]\n\
         allowed_signals = [\"TERM\", \"KILL\"]\n",
    )
    .expect("write policy");
    p.display().to_string()
}

fn audit_events(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("audit log")
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("audit line is JSON");
            v["event"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

fn alive(pid: i64) -> bool {
    // /proc/PID exists and is not a zombie.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

#[test]
fn malformed_lines_are_errors_and_serve_goes_on() {
    let mut s = Serve::start(&[]);
    let a = s.send_raw("not json");
    assert_eq!(a["id"], Value::Null);
    assert_eq!(a["error"]["kind"], "invalid_command", "{a}");
    let a = s.send_raw(r#"{"id": 5}"#);
    assert_eq!(a["id"], 5);
    assert_eq!(a["error"]["kind"], "invalid_command", "{a}");
    let a = s.send_raw(r#"[1, 2]"#);
    assert_eq!(a["error"]["kind"], "invalid_command", "{a}");
    let a = s.call(6, "process.nothing", json!({}));
    assert!(
        a["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown entrypoint")),
        "{a}"
    );
    let a = s.call(7, "process.spawn", json!({"args": ["x"]}));
    assert_eq!(a["error"]["kind"], "invalid_command", "{a}");
    let a = s.send_raw("\u{1b}[0m\u{0}");
    assert_eq!(a["error"]["kind"], "invalid_command", "{a}");
    // Still answering after all that.
    let a = s.call(8, "capability.describe", json!({}));
    assert_eq!(a["ok"]["id"], "core.process", "{a}");
    assert!(s.finish().success());
}

#[test]
fn without_policy_every_spawn_is_denied() {
    let mut s = Serve::start(&[]);
    let a = s.call(
        1,
        "process.spawn",
        json!({"program": "/bin/sh", "args": ["-c", "true"]}),
    );
    assert_eq!(a["error"]["kind"], "permission_denied", "{a}");
    assert!(s.finish().success());
}

#[test]
fn spawn_wait_collect_kill_release_with_audit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pol = policy(dir.path());
    let log = dir.path().join("audit.jsonl");
    let mut s = Serve::start(&["--policy", &pol, "--audit", &log.display().to_string()]);

    // Denied by the policy: a program it does not name.
    let a = s.call(1, "process.spawn", json!({"program": "/usr/bin/env"}));
    assert_eq!(a["error"]["kind"], "permission_denied", "{a}");

    let a = s.call(
        2,
        "process.spawn",
        json!({"program": "/bin/sh", "args": ["-c", "cat; echo err >&2; exit 4"],
               "input": "ping", "stdout": "pipe", "stderr": "pipe"}),
    );
    let h = a["ok"]["handle"].as_u64().unwrap_or_else(|| panic!("{a}"));
    let w = s.call(
        3,
        "process.wait",
        json!({"handle": h, "collect_output": true, "timeout_ms": 10000}),
    );
    let ok = &w["ok"];
    assert_eq!(ok["exit_code"], 4, "{w}");
    assert_eq!(ok["stdout"], "ping");
    assert_eq!(ok["stderr"], "err\n");
    assert_eq!(ok["cause"], "exited");
    assert_eq!(ok["stdout_bytes"], 4);
    for key in [
        "program",
        "args",
        "pid",
        "signal",
        "timed_out",
        "duration_ms",
        "error",
    ] {
        assert!(ok.get(key).is_some(), "{key} missing in {w}");
    }
    assert_eq!(
        s.call(4, "process.release", json!({"handle": h}))["ok"],
        json!({})
    );

    let a = s.call(
        5,
        "process.spawn",
        json!({"program": "/bin/sh", "args": ["-c", "sleep 30"]}),
    );
    let h = a["ok"]["handle"].as_u64().unwrap_or_else(|| panic!("{a}"));
    let w = s.call(6, "process.wait", json!({"handle": h, "timeout_ms": 50}));
    assert_eq!(w["error"]["kind"], "timed_out", "{w}");
    // A signal the policy does not allow is refused.
    let k = s.call(7, "process.kill", json!({"handle": h, "signal": "HUP"}));
    assert_eq!(k["error"]["kind"], "permission_denied", "{k}");
    let k = s.call(8, "process.kill", json!({"handle": h, "signal": 15}));
    assert_eq!(k["ok"], json!({}), "{k}");
    let w = s.call(9, "process.wait", json!({"handle": h, "timeout_ms": 10000}));
    assert_eq!(w["ok"]["signal"], 15, "{w}");
    assert_eq!(w["ok"]["cause"], "signaled");
    assert_eq!(
        s.call(10, "process.release", json!({"handle": h}))["ok"],
        json!({})
    );
    let a = s.call(11, "process.wait", json!({"handle": h}));
    assert_eq!(
        a["error"]["kind"], "invalid_command",
        "released handle: {a}"
    );
    assert!(s.finish().success());

    let events = audit_events(&log);
    for e in [
        "process.denied",
        "process.spawned",
        "process.exited",
        "process.kill",
        "process.released",
    ] {
        assert!(events.iter().any(|x| x == e), "{e} not in {events:?}");
    }
}

#[test]
fn host_exiting_without_release_ends_held_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pol = policy(dir.path());
    let log = dir.path().join("audit.jsonl");
    let mut s = Serve::start(&["--policy", &pol, "--audit", &log.display().to_string()]);
    let mut pids = Vec::new();
    for (i, script) in ["sleep 60", "trap '' TERM; sleep 60"].iter().enumerate() {
        let a = s.call(
            i as u64 + 1,
            "process.spawn",
            json!({"program": "/bin/sh", "args": ["-c", script]}),
        );
        let pid = a["ok"]["pid"].as_i64().unwrap_or_else(|| panic!("{a}"));
        assert!(alive(pid));
        pids.push(pid);
    }
    let started = Instant::now();
    assert!(s.finish().success());
    // TERM, the 2 s grace for the one ignoring it, KILL.
    assert!(started.elapsed() < Duration::from_secs(15));
    for pid in pids {
        assert!(!alive(pid), "pid {pid} still running after serve exited");
    }
    let events = audit_events(&log);
    assert!(
        events.iter().filter(|e| *e == "process.released").count() >= 2,
        "{events:?}"
    );
    assert!(events.iter().any(|e| e == "process.killed"), "{events:?}");
}

/// `serve` killed with `SIGKILL` cannot end what it holds; the kernel does, through each
/// child's parent-death signal (`KILL`, so a child ignoring `TERM` ends too).
#[test]
fn a_held_child_dies_with_a_killed_serve() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pol = policy(dir.path());
    let mut s = Serve::start(&["--policy", &pol]);
    let a = s.call(
        1,
        "process.spawn",
        json!({"program": "/bin/sh", "args": ["-c", "trap '' TERM; sleep 60"]}),
    );
    let pid = a["ok"]["pid"].as_i64().unwrap_or_else(|| panic!("{a}"));
    assert!(alive(pid));
    s.child.kill().expect("SIGKILL serve");
    s.child.wait().expect("reap serve");
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(pid), "pid {pid} outlived the serve that held it");
}

/// Spawns `sh -c script` through the protocol and waits; returns the wait answer's `ok`.
fn spawn_and_wait(s: &mut Serve, id: u64, script: &str) -> Value {
    let a = s.call(
        id,
        "process.spawn",
        json!({"program": "/bin/sh", "args": ["-c", script], "stdout": "pipe", "stderr": "pipe"}),
    );
    let h = a["ok"]["handle"].as_u64().unwrap_or_else(|| panic!("{a}"));
    let w = s.call(
        id + 1,
        "process.wait",
        json!({"handle": h, "collect_output": true, "timeout_ms": 20000}),
    );
    assert_eq!(
        s.call(id + 2, "process.release", json!({"handle": h}))["ok"],
        json!({})
    );
    w["ok"].clone()
}

#[test]
fn the_isolation_levels_hold_through_the_protocol() {
    let kernel = reml_process::sandbox::kernel_support();
    use reml_process::policy::IsolationLevel;
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s3cret").expect("write secret");
    let policy_at = |level: &str| {
        let p = dir.path().join(format!("{level}.toml"));
        std::fs::write(
            &p,
            format!(
                "[capability]\nisolation_level = \"{level}\"\n[commands]\nallow = [\"/bin/sh\"]\n\
                 [sandbox]\nread = [\"/usr\", \"/bin\", \"/lib\", \"/lib64\", \"/etc\", \"/proc\"]\n"
            ),
        )
        .expect("write policy");
        p.display().to_string()
    };
    let script = format!("echo $$; cat {}", secret.display());
    // At `none` the script reads the file: the checks below can fail.
    let mut s = Serve::start(&["--policy", &policy_at("none")]);
    let ok = spawn_and_wait(&mut s, 1, &script);
    assert!(ok["stdout"].as_str().unwrap().ends_with("s3cret"), "{ok}");
    assert_eq!(ok["process.isolation"]["level"], "none");
    assert!(s.finish().success());

    if kernel
        .missing_for(IsolationLevel::Sandboxed, false)
        .is_some()
    {
        eprintln!("SKIP: the_isolation_levels_hold_through_the_protocol: no Landlock ABI 4 here");
        return;
    }
    let mut s = Serve::start(&["--policy", &policy_at("sandboxed")]);
    let ok = spawn_and_wait(&mut s, 1, &script);
    assert_ne!(ok["exit_code"], 0, "{ok}");
    assert!(!ok["stdout"].as_str().unwrap().contains("s3cret"), "{ok}");
    assert!(
        ok["stderr"].as_str().unwrap().contains("Permission denied"),
        "{ok}"
    );
    assert_eq!(ok["process.isolation"]["level"], "sandboxed");
    assert!(s.finish().success());

    if let Some(why) = kernel.missing_for(IsolationLevel::FullIsolation, false) {
        eprintln!("SKIP: the_isolation_levels_hold_through_the_protocol (full_isolation): {why}");
        return;
    }
    let mut s = Serve::start(&["--policy", &policy_at("full_isolation")]);
    let ok = spawn_and_wait(&mut s, 1, &script);
    assert_eq!(
        ok["stdout"], "1\n",
        "PID 1 of its namespace, the file unreadable: {ok}"
    );
    assert!(
        ok["stderr"].as_str().unwrap().contains("Permission denied"),
        "{ok}"
    );
    assert_eq!(ok["process.isolation"]["level"], "full_isolation");
    assert!(s.finish().success());
}
