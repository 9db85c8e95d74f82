//! The capability's own limits always hold, whatever the policy restricts (`docs/guarantees.md`,
//! "The time limit and its escalation always hold"): the time limit, its escalation to
//! `KILL` and the output-cap kill are enforced even when `allowed_signals` lets a caller send
//! nothing; a time-limit signal the policy forbids is refused before anything runs; a signal
//! `run` receives and may not forward is said once; a required audit log fails closed.
//!
//! Reported failure shapes behind these tests: a policy allowing only `TERM` let a child that
//! ignores `TERM` run on far past its limit (the `KILL` escalation was refused by the policy);
//! `--signal USR1` under a policy without `USR1` was accepted and silently never sent; a
//! required audit log on a full disk let the job run with its records lost.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("run-limits-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn records(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn events(log: &Path) -> Vec<String> {
    records(log)
        .iter()
        .map(|r| r["event"].as_str().unwrap_or("").to_owned())
        .collect()
}

const END_EVENTS: [&str; 3] = ["process.exited", "process.timed_out", "process.killed"];

/// Every `process.spawned` record of the log has exactly one end record for its pid.
fn assert_every_spawn_ended(log: &Path) {
    let recs = records(log);
    let spawned: Vec<i64> = recs
        .iter()
        .filter(|r| r["event"] == "process.spawned")
        .map(|r| r["metadata"]["process.pid"].as_i64().unwrap())
        .collect();
    assert!(!spawned.is_empty(), "a spawn was recorded: {recs:?}");
    for pid in spawned {
        let ends = recs
            .iter()
            .filter(|r| {
                END_EVENTS.contains(&r["event"].as_str().unwrap_or(""))
                    && r["metadata"]["process.pid"].as_i64() == Some(pid)
            })
            .count();
        assert_eq!(ends, 1, "one end record for pid {pid}: {recs:?}");
    }
}

/// A job that ignores `TERM` and would run for 30 s.
const STUBBORN: &str = "trap '' TERM; sleep 30";

/// `run --json --policy P ARGS -- sh -c SCRIPT`; returns (status, JSON, stderr, elapsed).
fn run_json(
    policy: &Path,
    args: &[&str],
    script: &str,
) -> (i32, serde_json::Map<String, Value>, String, Duration) {
    let began = Instant::now();
    let out = run(&["--json", "--policy"])
        .arg(policy)
        .args(args)
        .args(["--", "sh", "-c", script])
        .output()
        .unwrap();
    let elapsed = began.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (code(&out), one_json(&out), stderr, elapsed)
}

/// The job's pid from the JSON object, and that neither it nor its group is left.
fn assert_job_gone(obj: &serde_json::Map<String, Value>) {
    let pid = field(obj, "pid").as_i64().expect("the job started") as i32;
    assert_gone(&[pid]);
    group_ends(pid);
}

#[test]
fn a_policy_allowing_only_term_cannot_switch_off_the_kill_escalation() {
    let d = dir();
    let p = write(
        d.path(),
        "p.toml",
        "[commands]\nallow = [\"sh\", \"sleep\"]\nallowed_signals = [\"TERM\"]\n",
    );
    let (status, obj, stderr, elapsed) = run_json(
        &p,
        &["--timeout", "500ms", "--kill-after", "500ms"],
        STUBBORN,
    );
    assert_eq!(status, 124, "{stderr}");
    assert_eq!(field(&obj, "cause"), "timed_out");
    assert_eq!(field(&obj, "signal"), 9, "KILL ended it after the grace");
    assert!(
        elapsed < Duration::from_secs(15),
        "ended near its limit: {elapsed:?}"
    );
    assert_job_gone(&obj);
}

/// Every limit of ours against every restriction a policy can put on signals: the job ends
/// at its limit with 124, nothing of it is left, and the audit log has its end record.
#[test]
fn every_limit_holds_against_every_signal_restriction() {
    let restrictions = [
        // (policy lines, extra run options)
        ("allowed_signals = [\"TERM\"]", vec![]),
        ("allowed_signals = []", vec!["--signal", "KILL"]),
        ("allowed_signals = [\"INT\"]", vec!["--signal", "INT"]),
        ("allowed_signals = [\"KILL\"]", vec!["--signal", "KILL"]),
    ];
    // (limits section, run options, script, expected cause)
    let limits: [(&str, Vec<&str>, &str, &str); 3] = [
        (
            "",
            vec!["--timeout", "300ms", "--kill-after", "300ms"],
            "trap '' TERM INT; sleep 30",
            "timed_out",
        ),
        (
            "max_wall_time = \"300ms\"\n",
            vec!["--kill-after", "300ms"],
            "trap '' TERM INT; sleep 30",
            "timed_out",
        ),
        (
            "max_output_bytes = 1000\noutput_cap_action = \"kill\"\n",
            vec!["--kill-after", "300ms"],
            "trap '' TERM INT; head -c 100000 /dev/zero; sleep 30",
            "output_capped",
        ),
    ];
    for (signals, extra) in &restrictions {
        for (limit, opts, script, cause) in &limits {
            let d = dir();
            let p = write(
                d.path(),
                "p.toml",
                &format!(
                    "[commands]\nallow = [\"sh\", \"sleep\", \"head\"]\n{signals}\n[limits]\n{limit}"
                ),
            );
            let log = d.path().join("audit.jsonl");
            let mut args: Vec<&str> = vec!["--audit", log.to_str().unwrap()];
            args.extend(opts.iter().copied());
            args.extend(extra.iter().copied());
            let (status, obj, stderr, elapsed) = run_json(&p, &args, script);
            let what = format!("{signals} / {limit:?}: {stderr}");
            assert_eq!(status, 124, "{what}");
            assert_eq!(field(&obj, "cause"), *cause, "{what}");
            assert!(elapsed < Duration::from_secs(20), "{what}: {elapsed:?}");
            assert_job_gone(&obj);
            assert_every_spawn_ended(&log);
        }
    }
}

#[test]
fn a_time_limit_signal_the_policy_forbids_is_refused_before_the_child_starts() {
    let d = dir();
    let marker = d.path().join("ran");
    let p = write(
        d.path(),
        "p.toml",
        "[commands]\nallow = [\"sh\", \"touch\"]\nallowed_signals = [\"TERM\", \"KILL\"]\n",
    );
    let log = d.path().join("audit.jsonl");
    let out = run(&["--policy"])
        .arg(&p)
        .args(["--audit", log.to_str().unwrap()])
        .args(["--signal", "USR1", "--timeout", "300ms", "--", "sh", "-c"])
        .arg(format!("touch {}; sleep 5", marker.display()))
        .output()
        .unwrap();
    assert_eq!(code(&out), 126);
    let line = one_error_line(&out);
    assert!(line.contains("SIGUSR1"), "{line}");
    assert!(!marker.exists(), "nothing ran");
    assert_eq!(events(&log), ["process.denied"]);
    // The default signal is checked the same way when a limit applies.
    let p = write(
        d.path(),
        "q.toml",
        "[commands]\nallow = [\"sh\"]\nallowed_signals = [\"INT\"]\n[limits]\nmax_wall_time = \"5s\"\n",
    );
    let out = run(&["--policy"])
        .arg(&p)
        .args(["--", "sh", "-c", "exit 0"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 126);
    assert!(one_error_line(&out).contains("SIGTERM"));
    // Without any limit the signal is still the job's parent-death signal: it must be one
    // the policy allows, or KILL.
    let p = write(
        d.path(),
        "r.toml",
        "[commands]\nallow = [\"sh\"]\nallowed_signals = []\n",
    );
    let out = run(&["--policy"])
        .arg(&p)
        .args(["--", "sh", "-c", "exit 3"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 126);
    assert!(one_error_line(&out).contains("SIGTERM"));
    run(&["--policy"])
        .arg(&p)
        .args(["--signal", "KILL", "--", "sh", "-c", "exit 3"])
        .assert()
        .code(3);
}

#[test]
fn a_received_signal_the_policy_does_not_allow_is_not_forwarded_and_said_once() {
    let d = dir();
    let p = write(
        d.path(),
        "p.toml",
        &format!(
            "[commands]\nallow = [\"{}\"]\nallowed_signals = [\"TERM\"]\n",
            helper().display()
        ),
    );
    let child = StdCommand::new(reml_path())
        .arg("run")
        .arg("--policy")
        .arg(&p)
        .args(["--timeout", "20", "--"])
        .arg(helper())
        .args(["sleep", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let run_pid = child.id() as i32;
    let helper_path = helper().canonicalize().unwrap();
    let job = eventually(Duration::from_secs(10), "the job to start", || {
        children_of(run_pid)
            .into_iter()
            .find(|&c| runs(c, &helper_path))
    });
    let mut cleanup = Cleanup::default();
    cleanup.processes_and_their_groups(&[job]);
    for _ in 0..3 {
        kill(run_pid, rustix::process::Signal::USR1);
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the job ran to its end: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "said once: {stderr:?}");
    assert!(
        lines[0].contains("SIGUSR1") && lines[0].contains("not forwarded"),
        "{stderr}"
    );
}

#[test]
fn a_required_audit_log_that_cannot_be_written_stops_the_job_before_it_starts() {
    let d = dir();
    let marker = d.path().join("ran");
    let p = write(
        d.path(),
        "p.toml",
        "[capability]\naudit_required = true\n[commands]\nallow = [\"sh\", \"touch\"]\n",
    );
    let out = run(&["--policy"])
        .arg(&p)
        .args(["--audit", "/dev/full", "--", "sh", "-c"])
        .arg(format!("touch {}", marker.display()))
        .output()
        .unwrap();
    assert_eq!(code(&out), 125);
    let line = one_error_line(&out);
    assert!(line.contains("audit"), "{line}");
    assert!(!marker.exists(), "nothing ran");
}

#[test]
fn a_required_audit_log_is_proven_writable_first() {
    let d = dir();
    let p = write(
        d.path(),
        "p.toml",
        "[capability]\naudit_required = true\n[commands]\nallow = [\"sh\"]\n",
    );
    let log = d.path().join("audit.jsonl");
    run(&["--policy"])
        .arg(&p)
        .args(["--audit", log.to_str().unwrap(), "--", "sh", "-c", "exit 4"])
        .assert()
        .code(4);
    let names = events(&log);
    assert_eq!(
        names.first().map(String::as_str),
        Some("capability.verified")
    );
    assert!(names.contains(&"process.exited".to_owned()), "{names:?}");
}

/// Runs `reml-process ARGS` with `RLIMIT_FSIZE` set to `limit` bytes in it.
fn run_with_file_size_limit(args: &[&std::ffi::OsStr], limit: u64) -> std::process::Output {
    let mut cmd = StdCommand::new(reml_path());
    cmd.args(args);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let l = libc::rlimit {
                rlim_cur: limit,
                rlim_max: libc::RLIM_INFINITY,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &l) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}

/// A record that no longer fits under the file-size limit, after the child started: with a
/// required log the job is ended and `run` exits 125 with one line (never killed by
/// `SIGXFSZ`, never leaving the job running); without, the job goes on and it is said once.
#[test]
fn an_audit_record_failing_mid_job_ends_a_required_job_and_is_said_once_otherwise() {
    let d = dir();
    for required in [true, false] {
        let p = write(
            d.path(),
            "p.toml",
            &format!(
                "[capability]\naudit_required = {required}\n[commands]\nallow = [\"sh\", \"sleep\"]\n"
            ),
        );
        let log = d.path().join(format!("audit-{required}.jsonl"));
        // First measure what the records before the child's end take, with room to spare.
        let script = "sleep 0.3; exit 7";
        let args = |log: &Path| -> Vec<std::ffi::OsString> {
            vec![
                "run".into(),
                "--json".into(),
                "--policy".into(),
                p.clone().into(),
                "--audit".into(),
                log.into(),
                "--".into(),
                "sh".into(),
                "-c".into(),
                script.into(),
            ]
        };
        let probe = d.path().join(format!("probe-{required}.jsonl"));
        let a: Vec<std::ffi::OsString> = args(&probe);
        let a: Vec<&std::ffi::OsStr> = a.iter().map(|s| s.as_os_str()).collect();
        let out = run_with_file_size_limit(&a, u64::MAX);
        assert_eq!(out.status.code(), Some(7));
        let lines: Vec<String> = std::fs::read_to_string(&probe)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let spawned_at = lines
            .iter()
            .position(|l| l.contains("\"process.spawned\""))
            .unwrap();
        // Room for everything up to the spawn record (+ slack for a longer pid), not for
        // the end record.
        let room: usize = lines[..=spawned_at]
            .iter()
            .map(|l| l.len() + 1)
            .sum::<usize>()
            + 40;
        let a: Vec<std::ffi::OsString> = args(&log);
        let a: Vec<&std::ffi::OsStr> = a.iter().map(|s| s.as_os_str()).collect();
        let began = Instant::now();
        let out = run_with_file_size_limit(&a, room as u64);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let status = out.status.code();
        assert!(
            status.is_some(),
            "not killed by a signal (SIGXFSZ): {:?} {stderr}",
            out.status
        );
        let obj = one_json(&out);
        if required {
            assert_eq!(status, Some(125), "{stderr}");
            let e = one_error_line(&out);
            assert!(e.contains("audit") && e.contains("file-size limit"), "{e}");
        } else {
            assert_eq!(status, Some(7), "the job went on: {stderr}");
            let e = one_error_line(&out);
            assert!(e.contains("job goes on"), "{e}");
        }
        assert!(began.elapsed() < Duration::from_secs(20));
        assert_job_gone(&obj);
        // Nothing partial was written: every line of the log is a whole record.
        assert!(std::fs::metadata(&log).unwrap().len() <= room as u64);
        for l in std::fs::read_to_string(&log).unwrap().lines() {
            serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        }
    }
}

/// `--audit -` on a terminal whose other side is gone: every write fails with `EIO`. A
/// required log refuses to start anything (125).
#[test]
fn a_required_audit_log_on_a_broken_terminal_fails_closed() {
    let d = dir();
    let marker = d.path().join("ran");
    let p = write(
        d.path(),
        "p.toml",
        "[capability]\naudit_required = true\n[commands]\nallow = [\"sh\", \"touch\"]\n",
    );
    // SAFETY: plain libc calls on a descriptor we own; ptsname_r writes into our buffer.
    let (master, name) = unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(m >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let mut buf = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(m, buf.as_mut_ptr(), buf.len()), 0);
        let name = std::ffi::CStr::from_ptr(buf.as_ptr())
            .to_str()
            .unwrap()
            .to_owned();
        (m, name)
    };
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&name)
        .unwrap();
    // SAFETY: `master` is our descriptor, closed once.
    unsafe { libc::close(master) };
    // Writes to the terminal now fail with EIO.
    use std::io::Write;
    let e = (&slave).write(b"x").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EIO), "{e}");
    let out = StdCommand::new(reml_path())
        .arg("run")
        .arg("--policy")
        .arg(&p)
        .args(["--audit", "-", "--", "sh", "-c"])
        .arg(format!("touch {}", marker.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(slave)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(!marker.exists(), "nothing ran");
}

/// A full file system (a small tmpfs, when this machine lets us mount one): the required
/// log refuses the job; a log that is not required lets it run and says so once.
#[test]
fn an_audit_log_on_a_full_file_system() {
    let d = dir();
    let mnt = d.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = StdCommand::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4k", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        skip(
            "an_audit_log_on_a_full_file_system",
            "cannot mount a tmpfs here (needs root and a mount namespace that allows it)",
        );
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = StdCommand::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mnt.clone());
    // Fill it, leaving an empty log file behind.
    let log = mnt.join("audit.jsonl");
    std::fs::write(&log, b"").unwrap();
    let _ = std::fs::write(mnt.join("fill"), vec![b'x'; 64 * 1024]);
    let marker = d.path().join("ran");
    for required in [true, false] {
        let p = write(
            d.path(),
            "p.toml",
            &format!(
                "[capability]\naudit_required = {required}\n[commands]\nallow = [\"sh\", \"touch\"]\n"
            ),
        );
        let out = run(&["--policy"])
            .arg(&p)
            .args(["--audit", log.to_str().unwrap(), "--", "sh", "-c"])
            .arg(format!("touch {}; exit 5", marker.display()))
            .output()
            .unwrap();
        let line = one_error_line(&out);
        assert!(line.contains("No space left on device"), "{line}");
        if required {
            assert_eq!(code(&out), 125);
            assert!(!marker.exists(), "nothing ran");
        } else {
            assert_eq!(code(&out), 5);
            assert!(marker.exists(), "the job ran");
        }
    }
}

#[test]
fn output_cap_action_kill_ends_the_job_and_truncate_lets_it_run() {
    let d = dir();
    for (action, status, cause) in [("kill", 124, "output_capped"), ("truncate", 3, "exited")] {
        let p = write(
            d.path(),
            "p.toml",
            &format!(
                "[commands]\nallow = [\"sh\", \"head\", \"sleep\"]\n[limits]\nmax_output_bytes = 1000\noutput_cap_action = \"{action}\"\n"
            ),
        );
        let log = d.path().join(format!("audit-{action}.jsonl"));
        let (got, obj, stderr, elapsed) = run_json(
            &p,
            &["--audit", log.to_str().unwrap(), "--kill-after", "300ms"],
            "head -c 100000 /dev/zero; sleep 1; exit 3",
        );
        assert_eq!(got, status, "{action}: {stderr}");
        assert_eq!(field(&obj, "cause"), cause, "{action}");
        assert_eq!(field(&obj, "stdout_truncated"), true);
        assert!(elapsed < Duration::from_secs(15));
        assert_job_gone(&obj);
        assert_every_spawn_ended(&log);
        if action == "kill" {
            let end = records(&log)
                .into_iter()
                .find(|r| END_EVENTS.contains(&r["event"].as_str().unwrap_or("")))
                .unwrap();
            assert_eq!(end["event"], "process.killed");
            assert_eq!(end["metadata"]["process.cause"], "output_capped");
        }
    }
}

/// `verify` warns when every run needs a `--signal`: the default time-limit and parent-death
/// signal, `TERM`, is not allowed.
#[test]
fn verify_warns_when_the_default_time_limit_signal_is_not_allowed() {
    let d = dir();
    let with = |signals: &str, limits: &str| {
        let p = write(
            d.path(),
            "p.toml",
            &format!("[commands]\nallow = []\n{signals}\n[limits]\n{limits}\n"),
        );
        let out = reml().args(["verify", "--json"]).arg(&p).output().unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v.to_string().contains("policy.signals.time_limit")
    };
    assert!(with(
        "allowed_signals = [\"INT\"]",
        "max_wall_time = \"1m\""
    ));
    assert!(with("allowed_signals = []", "output_cap_action = \"kill\""));
    assert!(!with(
        "allowed_signals = [\"TERM\"]",
        "max_wall_time = \"1m\""
    ));
    // TERM is also every run's parent-death signal by default.
    assert!(with("allowed_signals = [\"INT\"]", ""));
    assert!(!with("", "max_wall_time = \"1m\""));
}

/// `--audit -` (the records on standard error) under `ENOSPC` and under a file-size limit:
/// a required log refuses the job before it starts, and `run` is never killed by `SIGXFSZ`.
#[test]
fn a_required_audit_log_on_standard_error_fails_closed_on_a_full_or_limited_file() {
    let d = dir();
    let marker = d.path().join("ran");
    let p = write(
        d.path(),
        "p.toml",
        "[capability]\naudit_required = true\n[commands]\nallow = [\"sh\", \"touch\"]\n",
    );
    let job = format!("touch {}", marker.display());
    // ENOSPC: standard error is /dev/full.
    let out = StdCommand::new(reml_path())
        .arg("run")
        .arg("--policy")
        .arg(&p)
        .args(["--audit", "-", "--", "sh", "-c", &job])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(!marker.exists(), "nothing ran");
    // A file-size limit: standard error is a regular file that may not grow at all.
    let err = d.path().join("stderr.txt");
    let file = std::fs::File::create(&err).unwrap();
    let mut cmd = StdCommand::new(reml_path());
    cmd.arg("run")
        .arg("--policy")
        .arg(&p)
        .args(["--audit", "-", "--", "sh", "-c", &job])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let l = libc::rlimit {
                rlim_cur: 0,
                rlim_max: libc::RLIM_INFINITY,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &l) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(125),
        "not SIGXFSZ: {:?}",
        out.status
    );
    assert!(!marker.exists(), "nothing ran");
    assert_eq!(
        std::fs::metadata(&err).unwrap().len(),
        0,
        "no partial record"
    );
}

/// `run` ignores `SIGXFSZ` for itself (a write past its file-size limit is a reported error,
/// not a silent death); its child still gets the caller's disposition, the default here.
#[test]
fn the_supervisors_own_ignored_sigxfsz_does_not_reach_the_child() {
    let out = run(&["--"]).arg(helper()).arg("sigstate").output().unwrap();
    assert_eq!(code(&out), 0);
    let text = String::from_utf8_lossy(&out.stdout);
    let ignored = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("ignored="))
        .unwrap_or_else(|| panic!("{text}"));
    let mask = u64::from_str_radix(ignored, 16).unwrap();
    assert_eq!(
        mask & (1 << (libc::SIGXFSZ - 1)),
        0,
        "SIGXFSZ ignored in the child: {text}"
    );
}
