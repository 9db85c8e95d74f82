//! A narrowed capability (`docs/policy.md`): calls pass both policies, children count
//! against the parent's `max_processes`, revocation ends every tree spawned through it and
//! refuses later calls, and the audit records name the scope and its parent.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{alive, assert_gone, helper};
use reml_process::audit::{MemorySink, Redactor};
use reml_process::layer::NarrowedCapability;
use reml_process::policy::Policy;
use reml_process::*;

struct Host {
    _tmp: tempfile::TempDir,
    tool: PathBuf,
    other: PathBuf,
    sink: Arc<MemorySink>,
    cap: Arc<dyn ProcessCapability>,
}

/// The host: audit around a policy allowing `tool` and `other` (copies of rp-helper), at
/// most `max` children alive.
fn host(max: u64) -> Host {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let (tool, other) = (root.join("tool"), root.join("other"));
    for p in [&tool, &other] {
        std::fs::copy(helper(), p).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let policy = Policy::from_toml_str(&format!(
        "[commands]\nallow = [{:?}, {:?}]\n[limits]\nmax_processes = {max}\n",
        tool.display().to_string(),
        other.display().to_string()
    ))
    .unwrap();
    let sink = Arc::new(MemorySink::new());
    let cap: Arc<dyn ProcessCapability> = Arc::new(AuditLayer::new(
        PolicyLayer::new(NativeProcessCapability::new(), Arc::new(policy)),
        sink.clone(),
        Redactor::default(),
        false,
    ));
    Host {
        _tmp: tmp,
        tool,
        other,
        sink,
        cap,
    }
}

/// A job policy: `tool` only with `sleep *`, `tree * *` or `ignore-term *`; `third` (not
/// in the host's policy) with anything; signals TERM and KILL.
fn job_policy(h: &Host, third: &std::path::Path) -> Policy {
    Policy::from_toml_str(&format!(
        "[commands]\nallow = [{third:?}]\nallowed_signals = [\"TERM\", \"KILL\"]\n\
         [[commands.rule]]\nprogram = {:?}\nargs = [[\"sleep\", \"*\"], [\"tree\", \"*\", \"*\"], [\"ignore-term\", \"*\"]]\n",
        h.tool.display().to_string(),
        third = third.display().to_string(),
    ))
    .unwrap()
}

fn cmd(program: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args.iter().copied())
        .stdout(StdioSpec::Null)
        .process_group(ProcessGroup::New);
    c
}

fn spawn(cap: &dyn ProcessCapability, c: &Command) -> Result<ProcessHandle, ProcessError> {
    cap.spawn_process(c, &Environment::default())
}

fn records_with_scope(sink: &MemorySink, scope: &str) -> Vec<(String, serde_json::Value)> {
    sink.records()
        .into_iter()
        .filter(|r| r.metadata.get("capability.scope").and_then(|v| v.as_str()) == Some(scope))
        .map(|r| {
            (
                r.event.clone(),
                serde_json::Value::Object(r.metadata.into_iter().collect()),
            )
        })
        .collect()
}

#[test]
fn calls_pass_both_policies_and_are_recorded_with_the_scope() {
    let h = host(8);
    let third = h.tool.with_file_name("third");
    std::fs::copy(helper(), &third).unwrap();
    let job = NarrowedCapability::new(h.cap.clone(), job_policy(&h, &third), "job-7").unwrap();
    assert_eq!(job.scope(), "core.process/job-7");

    // Allowed by both.
    let p = spawn(&*job, &cmd(&h.tool, &["sleep", "0"])).unwrap();
    job.wait_process(p, None).unwrap();
    job.release_process(p).unwrap();
    // Refused by the job's rules (the host would allow it).
    let e = spawn(&*job, &cmd(&h.tool, &["exit", "0"])).unwrap_err();
    assert!(
        e.is_policy_denial() && e.message.contains("commands.rule[0]"),
        "{e}"
    );
    // Refused by the host (the job allows it).
    let e = spawn(&*job, &cmd(&third, &[])).unwrap_err();
    assert!(
        e.is_policy_denial() && e.message.contains("not an allowed program"),
        "{e}"
    );
    // Refused by the job, although the host has it: `other` is not in the job's policy.
    let e = spawn(&*job, &cmd(&h.other, &["exit", "0"])).unwrap_err();
    assert!(e.is_policy_denial(), "{e}");
    // A signal the job does not allow.
    let p = spawn(&*job, &cmd(&h.tool, &["sleep", "30"])).unwrap();
    let e = job.kill_process(p, Signal::HUP).unwrap_err();
    assert!(e.is_policy_denial(), "{e}");
    job.kill_process(p, Signal::KILL).unwrap();
    assert!(job.wait_process(p, None).is_err(), "ended by KILL");
    job.release_process(p).unwrap();

    let scoped = records_with_scope(&h.sink, "core.process/job-7");
    let events: Vec<&str> = scoped.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        events.iter().filter(|e| **e == "process.spawned").count(),
        2,
        "{events:?}"
    );
    assert_eq!(
        events.iter().filter(|e| **e == "process.denied").count(),
        4,
        "the job's three refusals and the host's one: {events:?}"
    );
    assert!(
        events.contains(&"process.exited") && events.contains(&"process.killed"),
        "{events:?}"
    );
    assert!(scoped
        .iter()
        .all(|(_, m)| m["capability.parent"] == "core.process"));
    let kill_denied = scoped
        .iter()
        .find(|(e, m)| e == "process.denied" && m["process.operation"] == "kill_process")
        .expect("the refused signal is recorded");
    assert!(kill_denied.1["process.reason"]
        .as_str()
        .unwrap()
        .contains("HUP"));
    // One record per event, not one per level.
    let spawned_all = h
        .sink
        .records()
        .into_iter()
        .filter(|r| r.event == "process.spawned")
        .count();
    assert_eq!(spawned_all, 2);
}

#[test]
fn children_count_against_the_parents_max_processes() {
    let h = host(2);
    let third = h.tool.with_file_name("third");
    let job = NarrowedCapability::new(h.cap.clone(), job_policy(&h, &third), "job").unwrap();
    let direct = spawn(&*h.cap, &cmd(&h.other, &["sleep", "30"])).unwrap();
    let through = spawn(&*job, &cmd(&h.tool, &["sleep", "30"])).unwrap();
    let e = spawn(&*job, &cmd(&h.tool, &["sleep", "30"])).unwrap_err();
    assert!(e.message.contains("max_processes"), "{e}");
    // The job acts only on its own processes.
    let e = job.kill_process(direct, Signal::KILL).unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::InvalidCommand, "{e}");
    let r = job.revoke(Duration::from_secs(2));
    assert_eq!(r.ended, 1, "{r:?}");
    h.cap.kill_process(direct, Signal::KILL).unwrap();
    let _ = h.cap.wait_process(direct, None);
    h.cap.release_process(direct).unwrap();
    let _ = through;
}

#[test]
fn revoking_ends_every_tree_and_refuses_later_calls() {
    let h = host(8);
    let third = h.tool.with_file_name("third");
    let job = NarrowedCapability::new(h.cap.clone(), job_policy(&h, &third), "job").unwrap();
    let tree = spawn(&*job, &cmd(&h.tool, &["tree", "3", "60"])).unwrap();
    let stubborn = spawn(&*job, &cmd(&h.tool, &["ignore-term", "60"])).unwrap();
    // Wait until the three grandchildren exist.
    let pids = common::eventually(Duration::from_secs(10), "the tree to start", || {
        let t = job.process_tree(tree).ok()?;
        (t.len() == 4).then_some(t)
    });
    let stubborn_pid = job.process_info(stubborn).unwrap().pid;
    std::thread::sleep(Duration::from_millis(200)); // let it install its TERM handler
    let started = Instant::now();
    let report = job.revoke(Duration::from_millis(500));
    assert_eq!(report.ended, 2, "{report:?}");
    assert!(report.errors.is_empty(), "{report:?}");
    assert!(report.signalled.contains(&stubborn_pid), "{report:?}");
    for p in &pids {
        assert!(report.signalled.contains(p), "{p} in {report:?}");
    }
    assert_gone(&pids);
    assert!(!alive(stubborn_pid), "KILL after the grace period");
    assert!(started.elapsed() < Duration::from_secs(20));

    assert!(job.is_revoked());
    let e = spawn(&*job, &cmd(&h.tool, &["sleep", "1"])).unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::PermissionDenied);
    assert!(e.message.contains("revoked"), "{e}");
    let e = job.wait_process(tree, None).unwrap_err();
    assert!(e.kind != ProcessErrorKind::TimedOut, "{e}");
    // The handles were released by the revocation: the parent does not hold them either.
    assert!(h.cap.process_info(tree).is_err());
    assert_eq!(job.processes(), []);

    // Each ended process has its end record, with the scope.
    let scoped = records_with_scope(&h.sink, "core.process/job");
    let ends = scoped
        .iter()
        .filter(|(e, _)| e == "process.killed" || e == "process.exited")
        .count();
    assert_eq!(ends, 2, "{scoped:?}");
    assert_eq!(
        job.revoke(Duration::ZERO).ended,
        0,
        "revoking again does nothing more"
    );
}

#[test]
fn a_narrowed_capability_narrows_again_and_revocation_reaches_down() {
    let h = host(8);
    let third = h.tool.with_file_name("third");
    let job = NarrowedCapability::new(h.cap.clone(), job_policy(&h, &third), "job").unwrap();
    let step = job
        .narrow(
            Policy::from_toml_str(&format!(
                "[commands]\nallow = []\n[[commands.rule]]\nprogram = {:?}\nargs = [[\"sleep\", \"[0-9]\"]]\n",
                h.tool.display().to_string()
            ))
            .unwrap(),
            "step-1",
        )
        .unwrap();
    assert_eq!(step.scope(), "core.process/job/step-1");
    // Both levels' rules apply: the step only allows a one-digit sleep.
    assert!(spawn(&*step, &cmd(&h.tool, &["sleep", "10"])).is_err());
    let p = spawn(&*step, &cmd(&h.tool, &["sleep", "9"])).unwrap();
    let pid = step.process_info(p).unwrap().pid;
    assert!(!records_with_scope(&h.sink, "core.process/job/step-1").is_empty());
    assert!(NarrowedCapability::new(h.cap.clone(), job_policy(&h, &third), "a/b").is_err());
    // Revoking the job ends the step's process and refuses the step's calls.
    let r = job.revoke(Duration::from_secs(2));
    assert_eq!(r.ended, 1, "{r:?}");
    assert!(!alive(pid));
    assert!(step.is_revoked());
    let e = spawn(&*step, &cmd(&h.tool, &["sleep", "1"])).unwrap_err();
    assert!(e.message.contains("revoked"), "{e}");
}
