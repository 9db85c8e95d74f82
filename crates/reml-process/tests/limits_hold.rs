//! The capability's own limits hold through the library, whatever the policy restricts: the
//! limit enforcement (`enforce_limit`) is never refused for `KILL`, a forbidden time-limit
//! signal is refused before a supervised job starts, `output_cap_action = "kill"` ends a
//! child even through a plain wait, and a required audit log that fails ends the job.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::helper;
use reml_process::audit::{AuditError, AuditErrorKind, AuditEvent, AuditSink, MemorySink};
use reml_process::policy::Policy;
use reml_process::*;

fn guard(toml: &str) -> PolicyLayer<NativeProcessCapability> {
    let policy = Policy::from_toml_str(toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    PolicyLayer::new(NativeProcessCapability::new(), Arc::new(policy))
}

fn allowing_helper(extra: &str) -> PolicyLayer<NativeProcessCapability> {
    guard(&format!(
        "[commands]\nallow = [\"{}\"]\n{extra}",
        helper().display()
    ))
}

fn stubborn() -> Command {
    let mut c = Command::new(helper());
    c.args(["ignore-term", "30"]).stdout(StdioSpec::Null);
    c
}

#[test]
fn enforcement_passes_kill_when_the_policy_lets_a_caller_send_nothing() {
    let cap = allowing_helper("allowed_signals = []\n");
    let h = cap
        .spawn_process(&stubborn(), &Environment::default())
        .unwrap();
    let e = cap.kill_process(h, Signal::KILL).unwrap_err();
    assert!(e.is_policy_denial(), "a caller may not send KILL: {e}");
    let e = cap.enforce_limit(h, Signal::USR1).unwrap_err();
    assert!(
        e.is_policy_denial(),
        "enforcement is no way around the list: {e}"
    );
    cap.enforce_limit(h, Signal::KILL).unwrap();
    let e = cap
        .wait_process(h, Some(Duration::from_secs(10)))
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::TerminatedBySignal);
    assert_eq!(e.code, Some(9));
    cap.release_process(h).unwrap();
}

#[test]
fn a_forbidden_time_limit_signal_is_refused_before_the_job_starts() {
    let cap = allowing_helper("allowed_signals = [\"TERM\", \"KILL\"]\n");
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("ran");
    let mut cmd = Command::new(helper());
    cmd.args(["echo", "ran"])
        .stdout(StdioSpec::File(marker.clone()));
    let options = RunOptions {
        timeout: Some(Duration::from_millis(200)),
        signal: Signal::USR1,
        ..RunOptions::default()
    };
    let outcome = run_process(&cap, &cmd, &Environment::default(), &options);
    let e = outcome.error.clone().expect("refused");
    assert!(e.is_policy_denial() && e.message.contains("SIGUSR1"), "{e}");
    assert_eq!(outcome.cause, Cause::NotStarted);
    assert_eq!(e.kind, ProcessErrorKind::PermissionDenied);
    assert!(
        !marker.exists(),
        "nothing ran (not even the stdout file was made)"
    );
    // The same check, asked directly: only when a limit applies.
    let plan = |signal, caller_limit, collect_output| RunPlan {
        signal,
        caller_limit,
        collect_output,
    };
    assert!(cap
        .check_run(&cmd, &plan(Signal::USR1, true, false))
        .is_err());
    assert!(cap
        .check_run(&cmd, &plan(Signal::USR1, false, false))
        .is_ok());
    assert!(cap
        .check_run(&cmd, &plan(Signal::KILL, true, false))
        .is_ok());
    let limited = allowing_helper("allowed_signals = []\n[limits]\nmax_wall_time = \"1s\"\n");
    assert!(limited
        .check_run(&cmd, &plan(Signal::TERM, false, false))
        .is_err());
    // A run that collects needs `memory`: refused before it starts, not after.
    let no_memory = allowing_helper(
        "[capability]\neffect_scope = [\"process\", \"signal\", \"io.blocking\"]\n",
    );
    let e = no_memory
        .check_run(&cmd, &plan(Signal::TERM, true, true))
        .unwrap_err();
    assert!(e.message.contains("memory"), "{e}");
    let options = RunOptions {
        collect_output: true,
        ..RunOptions::default()
    };
    let outcome = run_process(&no_memory, &cmd, &Environment::default(), &options);
    assert_eq!(outcome.pid, None, "never started");
    assert_eq!(
        outcome.error.as_ref().map(|e| e.kind),
        Some(ProcessErrorKind::PermissionDenied)
    );
    assert!(!marker.exists());
}

#[test]
fn the_run_template_escalates_to_kill_under_a_policy_allowing_only_term() {
    let cap = allowing_helper("allowed_signals = [\"TERM\"]\n");
    let options = RunOptions {
        timeout: Some(Duration::from_millis(300)),
        kill_after: Duration::from_millis(300),
        ..RunOptions::default()
    };
    let began = Instant::now();
    let outcome = run_process(&cap, &stubborn(), &Environment::default(), &options);
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(outcome.cause, Cause::TimedOut);
    assert_eq!(
        outcome.termination.and_then(|t| t.signal()),
        Some(Signal::KILL)
    );
    assert!(began.elapsed() < Duration::from_secs(15));
    common::assert_gone(&[outcome.pid.unwrap()]);
}

#[test]
fn output_cap_action_kill_holds_through_a_plain_wait() {
    let cap = allowing_helper("[limits]\nmax_output_bytes = 1000\noutput_cap_action = \"kill\"\n");
    let mut cmd = Command::new(helper());
    // Writes far past the cap, then would sleep for 30 s.
    cmd.args(["out", "100000"]).stdout(StdioSpec::Pipe);
    let mut slow = Command::new("sh");
    slow.args([
        "-c",
        &format!("{} out 100000; sleep 30", helper().display()),
    ])
    .stdout(StdioSpec::Pipe);
    let cap_sh = guard(&format!(
        "[commands]\nallow = [\"sh\", \"sleep\", \"{}\"]\n[limits]\nmax_output_bytes = 1000\noutput_cap_action = \"kill\"\n",
        helper().display()
    ));
    let began = Instant::now();
    let h = cap_sh
        .spawn_process(&slow, &Environment::default())
        .unwrap();
    let e = cap_sh
        .wait_with_options(
            h,
            &WaitOptions::with_timeout(Duration::from_secs(20)).collecting(),
        )
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::TerminatedBySignal, "{e}");
    assert_eq!(e.code, Some(9));
    assert!(began.elapsed() < Duration::from_secs(15));
    let out = cap_sh.take_output(h).unwrap();
    assert!(out.stdout_truncated);
    assert_eq!(out.stdout.len(), 1000);
    cap_sh.release_process(h).unwrap();
    // wait_event reports the cap under that policy, even when the caller did not ask.
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    let ev = cap
        .wait_event(
            h,
            &WaitOptions::with_timeout(Duration::from_secs(20)).collecting(),
        )
        .unwrap();
    assert!(
        matches!(ev, WaitEvent::OutputCapped(StdStream::Stdout)),
        "{ev:?}"
    );
    let _ = cap.wait_with_options(
        h,
        &WaitOptions::with_timeout(Duration::from_secs(20)).collecting(),
    );
    cap.release_process(h).unwrap();
}

/// A sink that writes to memory until its `fail_from`-th record (1-based), then fails.
struct FailingFrom {
    inner: MemorySink,
    fail_from: usize,
    written: AtomicUsize,
    failures: Mutex<usize>,
}

impl AuditSink for FailingFrom {
    fn write(&self, event: &AuditEvent) -> Result<(), AuditError> {
        let n = self.written.fetch_add(1, Ordering::SeqCst) + 1;
        if n >= self.fail_from {
            *self.failures.lock().unwrap() += 1;
            return Err(AuditError::new(
                AuditErrorKind::Transport,
                "audit log test: write failed: Input/output error (os error 5)",
            ));
        }
        self.inner.write(event)
    }
    fn check(&self) -> Result<(), AuditError> {
        Ok(())
    }
    fn describe(&self) -> String {
        "failing".to_owned()
    }
}

fn failing_from(n: usize) -> Arc<FailingFrom> {
    Arc::new(FailingFrom {
        inner: MemorySink::new(),
        fail_from: n,
        written: AtomicUsize::new(0),
        failures: Mutex::new(0),
    })
}

#[test]
fn a_required_audit_record_failing_after_the_spawn_ends_the_job() {
    // Record 1 is capability.verified, record 2 process.spawned: it fails.
    let sink = failing_from(2);
    let audit = AuditSettings {
        sink: sink.clone(),
        redactor: audit::Redactor::default(),
        required: true,
    };
    let native = NativeProcessCapability::new();
    let options = RunOptions {
        kill_after: Duration::from_millis(300),
        ..RunOptions::default()
    };
    let began = Instant::now();
    let outcome = audited_process(
        &native,
        &audit,
        &stubborn(),
        &Environment::default(),
        &options,
        None,
    );
    assert!(
        began.elapsed() < Duration::from_secs(15),
        "ended, not left for 30 s"
    );
    let e = outcome
        .error
        .clone()
        .expect("the audit failure is the outcome's error");
    assert!(e.is_audit_failure(), "{e}");
    assert!(e.message.contains("Input/output error"), "{e}");
    assert_eq!(sink.inner.events(), ["capability.verified"]);
    common::assert_gone(&[outcome.pid.expect("it had started")]);
    // Nothing new starts through a capability whose required log has failed.
    let layer = AuditLayer::new(&native, sink.clone(), audit::Redactor::default(), true);
    let first = layer.spawn_process(&stubborn(), &Environment::default());
    assert!(first.is_err(), "the proof record fails: refused");
    assert!(first.unwrap_err().is_audit_failure());
}

#[test]
fn an_audit_failure_of_a_log_that_is_not_required_is_reported_once_and_the_job_goes_on() {
    let sink = failing_from(1);
    let audit = AuditSettings {
        sink: sink.clone(),
        redactor: audit::Redactor::default(),
        required: false,
    };
    let native = NativeProcessCapability::new();
    let mut cmd = Command::new(helper());
    cmd.args(["exit", "6"]);
    let seen = Mutex::new(Vec::new());
    let outcome = audited_process_supervised(
        &native,
        &audit,
        &cmd,
        &Environment::default(),
        &RunOptions::default(),
        None,
        &|ev| {
            if let RunEvent::AuditFailed { message } = ev {
                seen.lock().unwrap().push(message.clone());
            }
        },
    );
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(outcome.termination.and_then(|t| t.code()), Some(6));
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains("Input/output error"));
    assert!(
        *sink.failures.lock().unwrap() >= 2,
        "several records failed, said once"
    );
}

/// `max_wall_time` is the child's wall time from its spawn, not a cap per wait: a job
/// waited for several times (as a supervisor does across stops) cannot outlive it.
#[test]
fn max_wall_time_counts_from_the_spawn_not_per_wait() {
    let cap = allowing_helper("[limits]\nmax_wall_time = \"3s\"\n");
    let h = cap
        .spawn_process(&stubborn(), &Environment::default())
        .unwrap();
    std::thread::sleep(Duration::from_millis(3200));
    let began = Instant::now();
    let e = cap
        .wait_process(h, Some(Duration::from_secs(30)))
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::TimedOut);
    // Per wait, the cap would have given this wait another 3 s.
    assert!(
        began.elapsed() < Duration::from_millis(1500),
        "timed out at once: {:?}",
        began.elapsed()
    );
    cap.enforce_limit(h, Signal::KILL).unwrap();
    let _ = cap.wait_process(h, Some(Duration::from_secs(10)));
    cap.release_process(h).unwrap();
}

/// The release record is a job's last: when it alone cannot be written, the failure is still
/// said (a log that is not required) or becomes the outcome's error (a required one) — it
/// used to be checked only before the release, so that loss went unannounced.
#[test]
fn a_failing_release_record_is_not_lost_silently() {
    let mut cmd = Command::new(helper());
    cmd.args(["exit", "6"]);
    for required in [false, true] {
        // Where the release record falls in this job's records.
        let probe = Arc::new(MemorySink::new());
        let settings = |sink: Arc<dyn AuditSink>| AuditSettings {
            sink,
            redactor: audit::Redactor::default(),
            required,
        };
        let native = NativeProcessCapability::new();
        let outcome = audited_process(
            &native,
            &settings(probe.clone()),
            &cmd,
            &Environment::default(),
            &RunOptions::default(),
            None,
        );
        assert_eq!(outcome.termination.and_then(|t| t.code()), Some(6));
        let events = probe.events();
        assert_eq!(events.last().map(String::as_str), Some("process.released"));
        let sink = failing_from(events.len());
        let seen = Mutex::new(Vec::new());
        let outcome = audited_process_supervised(
            &native,
            &settings(sink.clone()),
            &cmd,
            &Environment::default(),
            &RunOptions::default(),
            None,
            &|ev| {
                if let RunEvent::AuditFailed { message } = ev {
                    seen.lock().unwrap().push(message.clone());
                }
            },
        );
        assert_eq!(*sink.failures.lock().unwrap(), 1, "only the release failed");
        let seen = seen.into_inner().unwrap();
        if required {
            let e = outcome.error.clone().expect("an audit failure");
            assert!(e.is_audit_failure(), "{e}");
        } else {
            assert!(outcome.error.is_none(), "{:?}", outcome.error);
            assert_eq!(outcome.termination.and_then(|t| t.code()), Some(6));
            assert_eq!(seen.len(), 1, "{seen:?}");
            assert!(seen[0].contains("Input/output error"), "{seen:?}");
        }
    }
}
