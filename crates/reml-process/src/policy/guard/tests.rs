//! Unit tests of the policy guard over the mock capability: what it refuses never reaches
//! the inner capability; what it allows reaches it as checked.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::capability::mock::{Call, MockCapability};
use crate::capability::{ProcessCapability, RunPlan, StdStream};
use crate::command::{Command, Environment, Resource};
use crate::policy::{Policy, PolicyLayer};
use crate::signal::Signal;
use crate::status::{ExitStatus, Termination};
use crate::wait::{WaitEvent, WaitOptions};

/// The test binary: an executable file the policies allow.
fn exe() -> PathBuf {
    std::env::current_exe().unwrap().canonicalize().unwrap()
}

/// A guard allowing [`exe`], with the rest of the policy in `extra` (TOML after
/// `[commands] allow`, so `[commands]` keys come first).
fn guard<'a>(mock: &'a MockCapability, extra: &str) -> PolicyLayer<&'a MockCapability> {
    let text = format!(
        "[commands]\nallow = [{:?}]\n{extra}",
        exe().display().to_string()
    );
    PolicyLayer::new(mock, Arc::new(Policy::from_toml_str(&text).unwrap()))
}

fn spawn(
    g: &PolicyLayer<&MockCapability>,
    cmd: &Command,
) -> Result<crate::ProcessHandle, crate::ProcessError> {
    g.spawn_process(cmd, &Environment::default())
}

/// An executable file that no policy here allows.
fn other_program(dir: &Path) -> PathBuf {
    let p = dir.join("other");
    std::fs::write(&p, b"\x7fELF not really").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.canonicalize().unwrap()
}

#[test]
fn an_allowed_program_reaches_the_inner_capability_checked() {
    let mock = MockCapability::new();
    let g = guard(&mock, "[limits]\nopen_files = 64\nmax_wall_time = \"5s\"\n");
    let mut cmd = Command::new(exe());
    cmd.arg("--x");
    spawn(&g, &cmd).unwrap();
    let spawns = mock.spawns();
    assert_eq!(spawns.len(), 1);
    let s = &spawns[0];
    assert_eq!(s.program, exe());
    assert_eq!(s.command_line[1], "--x");
    assert!(s.exec_by_fd, "the checked file is the one exec'd");
    let nofile = s
        .rlimits
        .iter()
        .find(|r| r.resource == Resource::OpenFiles)
        .expect("the policy's open_files is applied");
    assert!(nofile.hard.is_some_and(|h| h <= 64), "{nofile:?}");
    // `max_wall_time` caps the wait for a FIFO's other end too.
    assert_eq!(s.stdio_open_timeout, Some(Duration::from_secs(5)));
}

#[test]
fn a_program_off_the_allow_list_is_refused_before_the_inner_is_called() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockCapability::new();
    let g = guard(&mock, "");
    let e = spawn(&g, &Command::new(other_program(dir.path()))).unwrap_err();
    assert!(e.is_policy_denial(), "{e:?}");
    assert!(e.message.contains("denied by the policy"), "{}", e.message);
    assert!(mock.calls().is_empty(), "{:?}", mock.calls());
    // The prepared entry point is guarded the same way.
    let prepared = crate::prepare::PreparedCommand::new(
        &Command::new(other_program(dir.path())),
        Environment::default().resolve(&Environment::default()),
    )
    .unwrap();
    assert!(g.spawn_prepared(prepared).unwrap_err().is_policy_denial());
    assert!(mock.calls().is_empty());
}

#[test]
fn a_call_outside_the_effect_scope_is_refused_naming_the_missing_effect() {
    let mock = MockCapability::new();
    let g = guard(&mock, "[capability]\neffect_scope = [\"process\"]\n");
    let h = spawn(&g, &Command::new(exe())).unwrap();
    let e = g.kill_process(h, Signal::TERM).unwrap_err();
    assert!(e.message.contains("{signal}"), "{}", e.message);
    let e = g.wait_process(h, None).unwrap_err();
    assert!(e.message.contains("{io.blocking}"), "{}", e.message);
    assert!(g.kill_process_tree(h, Signal::TERM).is_err());
    // Only the spawn got through.
    assert_eq!(mock.calls().len(), 1, "{:?}", mock.calls());
}

#[test]
fn collecting_output_needs_memory() {
    let mock = MockCapability::new();
    let g = guard(
        &mock,
        "[capability]\neffect_scope = [\"process\", \"io.blocking\"]\n",
    );
    let h = spawn(&g, &Command::new(exe())).unwrap();
    let collect = WaitOptions {
        collect_output: true,
        ..WaitOptions::default()
    };
    let e = g.wait_with_options(h, &collect).unwrap_err();
    assert!(e.message.contains("{memory}"), "{}", e.message);
    assert!(g.wait_event(h, &collect).is_err());
    assert!(!mock
        .calls()
        .iter()
        .any(|c| matches!(c, Call::Wait { .. } | Call::WaitEvent { .. })));
    // A plain wait is in scope.
    assert_eq!(g.wait_process(h, None).unwrap(), ExitStatus::from_code(0));
}

#[test]
fn a_denied_variable_asked_for_is_refused_before_the_inner_is_called() {
    let mock = MockCapability::new();
    let g = guard(&mock, "[env]\ndeny = [\"SECRET\"]\n");
    let mut cmd = Command::new(exe());
    cmd.env.set("SECRET", "1");
    let e = spawn(&g, &cmd).unwrap_err();
    assert!(e.message.contains("SECRET"), "{}", e.message);
    assert!(e.message.contains("deny"), "{}", e.message);
    // In the base environment too.
    let mut base = Environment::default();
    base.set("SECRET", "1");
    assert!(g.spawn_process(&Command::new(exe()), &base).is_err());
    assert!(mock.calls().is_empty());
}

#[test]
fn without_inherit_the_child_gets_only_what_was_set_explicitly() {
    let mock = MockCapability::new();
    let g = guard(&mock, "[env]\ninherit = false\n");
    let mut cmd = Command::new(exe());
    cmd.env.set("ONLY", "this");
    spawn(&g, &cmd).unwrap();
    let env = &mock.spawns()[0].env;
    assert_eq!(env.len(), 1, "{env:?}");
    assert_eq!(env.get(std::ffi::OsStr::new("ONLY")).unwrap(), "this");
}

#[test]
fn a_working_directory_outside_allowed_cwd_is_refused() {
    let allowed = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir(allowed.path().join("sub")).unwrap();
    let mock = MockCapability::new();
    let g = guard(
        &mock,
        &format!(
            "allowed_cwd = [{:?}]\n",
            allowed.path().display().to_string()
        ),
    );
    let mut cmd = Command::new(exe());
    cmd.cwd = Some(elsewhere.path().to_path_buf());
    let e = spawn(&g, &cmd).unwrap_err();
    assert!(e.message.contains("allowed_cwd"), "{}", e.message);
    assert!(mock.calls().is_empty());
    cmd.cwd = Some(allowed.path().join("sub"));
    spawn(&g, &cmd).unwrap();
    assert_eq!(mock.spawns().len(), 1);
}

#[test]
fn a_signal_off_allowed_signals_is_refused_but_cont_and_limit_enforcement_pass() {
    let mock = MockCapability::new();
    let g = guard(&mock, "allowed_signals = [\"TERM\"]\n");
    let h = spawn(&g, &Command::new(exe())).unwrap();
    assert!(g
        .kill_process(h, Signal::HUP)
        .unwrap_err()
        .is_policy_denial());
    assert!(g.kill_process_group(h, Signal::HUP).is_err());
    assert!(g.kill_process_tree(h, Signal::KILL).is_err());
    assert!(g.enforce_limit(h, Signal::HUP).is_err());
    g.kill_process(h, Signal::TERM).unwrap();
    g.kill_process(h, Signal::CONT).unwrap();
    // The capability's own limits always end the job with KILL.
    g.enforce_limit(h, Signal::KILL).unwrap();
    let pid = h.pid();
    assert_eq!(
        mock.calls()[1..],
        [
            Call::Kill {
                pid,
                signal: Signal::TERM
            },
            Call::Kill {
                pid,
                signal: Signal::CONT
            },
            Call::EnforceLimit {
                pid,
                signal: Signal::KILL
            },
        ]
    );
}

#[test]
fn a_parent_death_signal_must_be_one_the_caller_could_send() {
    let mock = MockCapability::new();
    let g = guard(&mock, "allowed_signals = [\"TERM\"]\n");
    let mut cmd = Command::new(exe());
    cmd.parent_death_signal = Some(Signal::HUP);
    let e = spawn(&g, &cmd).unwrap_err();
    assert!(e.message.contains("parent-death"), "{}", e.message);
    assert!(mock.calls().is_empty());
    cmd.parent_death_signal = Some(Signal::KILL);
    spawn(&g, &cmd).unwrap();
}

#[test]
fn max_processes_counts_the_children_still_alive() {
    let mock = MockCapability::new();
    let g = guard(&mock, "[limits]\nmax_processes = 1\n");
    let first = spawn(&g, &Command::new(exe())).unwrap();
    let e = spawn(&g, &Command::new(exe())).unwrap_err();
    assert!(e.message.contains("max_processes"), "{}", e.message);
    assert_eq!(mock.spawns().len(), 1);
    // Once the first has ended, there is room again.
    mock.end(first, Termination::Exited(ExitStatus::from_code(0)));
    spawn(&g, &Command::new(exe())).unwrap();
    assert_eq!(mock.spawns().len(), 2);
}

#[test]
fn every_wait_is_capped_by_max_wall_time_and_max_output_bytes() {
    let mock = MockCapability::new();
    let g = guard(
        &mock,
        "[limits]\nmax_wall_time = \"5s\"\nmax_output_bytes = 100\n",
    );
    let h = spawn(&g, &Command::new(exe())).unwrap();
    let asked = WaitOptions {
        timeout: None,
        collect_output: true,
        max_output_bytes: 1 << 30,
        ..WaitOptions::default()
    };
    g.wait_with_options(h, &asked).unwrap();
    let Some(Call::Wait { options, .. }) = mock.calls().pop() else {
        panic!("no wait reached the mock: {:?}", mock.calls());
    };
    let t = options
        .timeout
        .expect("a wait without a limit gets the policy's");
    assert!(t <= Duration::from_secs(5), "{t:?}");
    assert_eq!(options.max_output_bytes, 100);
    // A shorter limit of the caller's stays.
    g.wait_process(h, Some(Duration::from_millis(10))).unwrap();
    let Some(Call::Wait { options, .. }) = mock.calls().pop() else {
        panic!("no wait");
    };
    assert_eq!(options.timeout, Some(Duration::from_millis(10)));
}

#[test]
fn output_cap_kill_ends_the_tree_when_a_collected_stream_passes_its_cap() {
    let mock = MockCapability::new();
    let g = guard(
        &mock,
        "[limits]\nmax_output_bytes = 10\noutput_cap_action = \"kill\"\n",
    );
    let h = spawn(&g, &Command::new(exe())).unwrap();
    mock.script_event(Ok(WaitEvent::OutputCapped(StdStream::Stdout)));
    let killed = Termination::Signaled {
        signal: Signal::KILL,
        core_dumped: false,
    };
    mock.script_event(Ok(WaitEvent::Ended(killed)));
    let collect = WaitOptions {
        collect_output: true,
        ..WaitOptions::default()
    };
    let e = g.wait_with_options(h, &collect).unwrap_err();
    assert_eq!(e.kind, crate::ProcessErrorKind::TerminatedBySignal);
    let calls = mock.calls();
    let kinds: Vec<&str> = calls
        .iter()
        .map(|c| match c {
            Call::Spawn(_) => "spawn",
            Call::WaitEvent { options, .. } if options.report_output_cap => "watch(cap)",
            Call::WaitEvent { .. } => "watch",
            Call::EnforceLimit {
                signal: Signal::KILL,
                ..
            } => "kill",
            Call::Wait { .. } => "wait",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["spawn", "watch(cap)", "kill", "watch", "wait"]);
}

#[test]
fn a_time_limit_signal_the_policy_forbids_is_refused_before_the_run() {
    let mock = MockCapability::new();
    let g = guard(&mock, "allowed_signals = [\"INT\"]\n");
    let cmd = Command::new(exe());
    let plan = RunPlan {
        signal: Signal::TERM,
        caller_limit: true,
        collect_output: false,
    };
    let e = g.check_run(&cmd, &plan).unwrap_err();
    assert!(e.message.contains("--signal"), "{}", e.message);
    assert!(mock.calls().is_empty());
    // Without a limit the signal is never sent: the plan passes, and reaches the inner.
    let unlimited = RunPlan {
        caller_limit: false,
        ..plan
    };
    g.check_run(&cmd, &unlimited).unwrap();
    assert!(matches!(&mock.calls()[..], [Call::CheckRun { plan, .. }] if *plan == unlimited));
}

#[test]
fn what_the_guard_does_not_check_passes_through_unchanged() {
    let mock = MockCapability::new();
    let g = guard(&mock, "");
    let h = spawn(&g, &Command::new(exe())).unwrap();
    assert_eq!(
        g.process_start_time(h).unwrap(),
        Some(crate::capability::mock::MOCK_START_TIME)
    );
    assert_eq!(g.process_tree(h).unwrap(), [h.pid()]);
    assert_eq!(g.process_info(h).unwrap().pid, h.pid());
    g.take_pipe(h, StdStream::Stdout).unwrap();
    g.release_process(h).unwrap();
    let pid = h.pid();
    assert_eq!(
        mock.calls()[1..],
        [
            Call::TakePipe {
                pid,
                stream: StdStream::Stdout
            },
            Call::Release { pid }
        ]
    );
}

fn no_op() -> crate::ThreadStart {
    crate::ThreadStart::new(|_| Ok(()))
}

#[test]
fn a_thread_call_outside_the_effect_scope_is_refused_before_the_inner_is_called() {
    let mock = MockCapability::new();
    let g = guard(&mock, "[capability]\neffect_scope = [\"process\"]\n");
    let e = g
        .create_thread(no_op(), crate::ThreadOptions::default())
        .unwrap_err();
    assert!(e.message.contains("{thread}"), "{}", e.message);
    assert!(mock.thread_half().calls().is_empty());
}

#[test]
fn max_threads_priority_and_allowed_cpus_are_held_before_the_inner_is_called() {
    use crate::capability::mock::ThreadCall;
    let mock = MockCapability::new();
    let g = guard(
        &mock,
        "[limits]\nmax_threads = 1\nmax_thread_priority = \"normal\"\nallowed_cpus = \"0\"\n",
    );
    let high = crate::ThreadOptions {
        priority: Some(crate::ThreadPriority::High),
        ..crate::ThreadOptions::default()
    };
    let e = g.create_thread(no_op(), high).unwrap_err();
    assert!(e.message.contains("max_thread_priority"), "{}", e.message);
    let t = g
        .create_thread(no_op(), crate::ThreadOptions::default())
        .unwrap();
    let e = g
        .create_thread(no_op(), crate::ThreadOptions::default())
        .unwrap_err();
    assert!(e.message.contains("max_threads"), "{}", e.message);
    let e = g
        .set_thread_affinity(t, &crate::CpuSet::from_cpus(&[0, 1]))
        .unwrap_err();
    assert!(e.message.contains("CPU 1"), "{}", e.message);
    g.set_thread_affinity(t, &crate::CpuSet::from_cpus(&[0]))
        .unwrap();
    assert_eq!(
        mock.thread_half().calls(),
        [
            ThreadCall::Create { name: None },
            ThreadCall::SetAffinity { cpus: vec![0] }
        ]
    );
}
