//! Spawn, wait with a time limit, end the whole group on expiry, collect, report: the one-call
//! template behind `audited_process` (spec §7) and `reml-process run` (`contract.md` §1).

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::capability::{ProcessCapability, ProcessHandle};
use crate::command::{Command, Environment, ProcessGroup};
use crate::error::{ProcessError, ProcessErrorKind};
use crate::signal::Signal;
use crate::status::Termination;
use crate::supervise::SignalForwarder;
use crate::wait::{CollectedOutput, WaitOptions, DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_OUTPUT_LINGER};

/// Why a process ended (`contract.md` §1 `cause`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// It exited by itself (any exit code).
    Exited,
    /// A signal that was not ours ended it.
    Signaled,
    /// Our time limit expired and we ended it (whichever signal finally did).
    TimedOut,
    /// The policy ended it because it overflowed its output cap.
    OutputCapped,
    /// `SIGXCPU` from its CPU-time limit (`RLIMIT_CPU`) ended it.
    CpuLimit,
    /// It never started: the spawn was refused or failed.
    NotStarted,
}

impl Cause {
    /// The snake_case name, e.g. `"timed_out"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Cause::Exited => "exited",
            Cause::Signaled => "signaled",
            Cause::TimedOut => "timed_out",
            Cause::OutputCapped => "output_capped",
            Cause::CpuLimit => "cpu_limit",
            Cause::NotStarted => "not_started",
        }
    }
}

/// Options of [`run_process`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// Wall-clock limit; `None` = no limit.
    pub timeout: Option<Duration>,
    /// Signal sent when the limit expires (default `TERM`).
    pub signal: Signal,
    /// Grace period after `signal` before `KILL` (default 2 s).
    pub kill_after: Duration,
    /// Collect stdout/stderr that are `Pipe`s (needs `effect {memory}`).
    pub collect_output: bool,
    /// Cap per collected stream, bytes (default 16 MiB).
    pub max_output_bytes: u64,
    /// Linger after exit for pipes a descendant holds (default 200 ms).
    pub output_linger: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: None,
            signal: Signal::TERM,
            kill_after: Duration::from_secs(2),
            collect_output: false,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            output_linger: DEFAULT_OUTPUT_LINGER,
        }
    }
}

/// Everything known about one run (the `--json` object of `contract.md` §1).
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessOutcome {
    /// The resolved absolute program path (the program as given when it never started).
    pub program: String,
    /// The arguments, without the program.
    pub args: Vec<String>,
    /// The child's pid, when it started.
    pub pid: Option<i32>,
    /// How it ended, when it started and ended.
    pub termination: Option<Termination>,
    /// Whether our time limit expired.
    pub timed_out: bool,
    /// Why it ended.
    pub cause: Cause,
    /// From spawn to the end of the wait, milliseconds.
    pub duration: Duration,
    /// Collected output (empty when not collected).
    pub output: CollectedOutput,
    /// The error that stopped it from starting or from being waited for.
    pub error: Option<ProcessError>,
}

impl ProcessOutcome {
    /// The exit status `reml-process run` uses (coreutils `timeout` conventions,
    /// `contract.md` §1): the child's code; 124 when our limit expired; 128+N for a signal
    /// not ours; for a start failure 127 (not found), 126 (cannot run or denied), 125 (ours).
    pub fn exit_status(&self) -> i32 {
        if self.timed_out {
            return 124;
        }
        if let Some(t) = self.termination {
            return t.shell_code();
        }
        match &self.error {
            Some(e) => exit_status_for_error(e),
            None => 125,
        }
    }
}

/// The `run` exit status for an error that kept a program from starting.
pub fn exit_status_for_error(e: &ProcessError) -> i32 {
    match e.kind {
        ProcessErrorKind::PermissionDenied => 126,
        ProcessErrorKind::SpawnFailed => match e.code {
            Some(libc::ENOENT) => 127,
            Some(
                libc::EACCES
                | libc::ENOEXEC
                | libc::EISDIR
                | libc::ETXTBSY
                | libc::ELIBBAD
                | libc::EPERM,
            ) => 126,
            _ => 125,
        },
        _ => 125,
    }
}

/// Runs `command` to its end: spawn, wait with `options.timeout`, and on expiry send
/// `options.signal` to the child's whole process group (or to the child when it stays in
/// ours), wait `kill_after`, then `KILL`; collect output; release the handle.
///
/// Never returns an error: a failure to start is an outcome with cause `not_started` and
/// `error` set.
///
/// # Caveats
/// Descendants that left the child's process group survive the group signals; whole-tree
/// termination is spec §7 work (issue 6).
pub fn run_process(
    cap: &dyn ProcessCapability,
    command: &Command,
    env: &Environment,
    options: &RunOptions,
) -> ProcessOutcome {
    run_process_forwarding(cap, command, env, options, None)
}

/// [`run_process`], forwarding every signal `forwarder` receives while the child runs to the
/// child — to its whole process group when it leads one (`contract.md` §1, "run behaves as a
/// well-mannered supervisor"). A forwarded signal that ends the child is not ours: the cause
/// is `signaled` and the exit status 128+N.
pub fn run_process_forwarding(
    cap: &dyn ProcessCapability,
    command: &Command,
    env: &Environment,
    options: &RunOptions,
    forwarder: Option<&SignalForwarder>,
) -> ProcessOutcome {
    let start = Instant::now();
    let mut outcome = ProcessOutcome {
        program: command.program.to_string_lossy().into_owned(),
        args: command
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        pid: None,
        termination: None,
        timed_out: false,
        cause: Cause::NotStarted,
        duration: Duration::ZERO,
        output: CollectedOutput::default(),
        error: None,
    };
    let handle = match cap.spawn_process(command, env) {
        Ok(h) => h,
        Err(e) => {
            outcome.error = Some(e);
            outcome.duration = start.elapsed();
            return outcome;
        }
    };
    outcome.pid = Some(handle.pid());
    if let Ok(info) = cap.process_info(handle) {
        outcome.program = info.program.to_string_lossy().into_owned();
    }
    let wait = WaitOptions {
        timeout: options.timeout,
        collect_output: options.collect_output,
        max_output_bytes: options.max_output_bytes,
        output_linger: options.output_linger,
        ..WaitOptions::default()
    };
    let group = command.process_group != ProcessGroup::Inherit;
    let wait_to_end = |outcome: &mut ProcessOutcome| match cap.wait_with_options(handle, &wait) {
        Err(e) if e.kind == ProcessErrorKind::TimedOut => {
            outcome.timed_out = true;
            end_after_timeout(cap, handle, group, options, &wait)
        }
        other => other.map(|_| ()),
    };
    let result = match forwarder {
        None => wait_to_end(&mut outcome),
        Some(fwd) => std::thread::scope(|scope| {
            scope.spawn(|| {
                fwd.run(|sig| {
                    let _ = if group {
                        cap.kill_process_group(handle, sig)
                    } else {
                        cap.kill_process(handle, sig)
                    };
                })
            });
            let r = wait_to_end(&mut outcome);
            fwd.stop();
            r
        }),
    };
    if let Err(e) = result {
        if e.kind != ProcessErrorKind::TerminatedBySignal {
            outcome.error = Some(e);
        }
    }
    outcome.duration = start.elapsed();
    if let Ok(info) = cap.process_info(handle) {
        outcome.termination = info.termination;
    }
    if let Ok(out) = cap.take_output(handle) {
        outcome.output = out;
    }
    outcome.cause = match (outcome.timed_out, outcome.termination) {
        (true, _) => Cause::TimedOut,
        (false, Some(Termination::Exited(_))) => Cause::Exited,
        (false, Some(Termination::Signaled { signal, .. })) if signal == Signal::XCPU => {
            Cause::CpuLimit
        }
        (false, Some(Termination::Signaled { .. })) => Cause::Signaled,
        (false, None) => Cause::NotStarted,
    };
    let _ = cap.release_process(handle);
    outcome
}

fn signal_job(
    cap: &dyn ProcessCapability,
    handle: ProcessHandle,
    group: bool,
    signal: Signal,
) -> Result<(), ProcessError> {
    if group {
        // A stopped process only acts on TERM after CONT; KILL needs no help.
        let r = cap.kill_process_group(handle, signal);
        if signal != Signal::KILL && signal != Signal::CONT {
            let _ = cap.kill_process_group(handle, Signal::CONT);
        }
        r
    } else {
        let r = cap.kill_process(handle, signal);
        if signal != Signal::KILL && signal != Signal::CONT {
            let _ = cap.kill_process(handle, Signal::CONT);
        }
        r
    }
}

fn end_after_timeout(
    cap: &dyn ProcessCapability,
    handle: ProcessHandle,
    group: bool,
    options: &RunOptions,
    wait: &WaitOptions,
) -> Result<(), ProcessError> {
    signal_job(cap, handle, group, options.signal)?;
    let grace = WaitOptions {
        timeout: Some(options.kill_after),
        ..wait.clone()
    };
    match cap.wait_with_options(handle, &grace) {
        Err(e) if e.kind == ProcessErrorKind::TimedOut => {}
        other => {
            if group {
                // The leader is gone; members that survived the first signal get KILL.
                let _ = cap.kill_process_group(handle, Signal::KILL);
            }
            return other.map(|_| ());
        }
    }
    signal_job(cap, handle, group, Signal::KILL)?;
    let last = WaitOptions {
        timeout: Some(Duration::from_secs(10)),
        ..wait.clone()
    };
    cap.wait_with_options(handle, &last).map(|_| ())
}

/// Where and how [`audited_process`] records.
#[derive(Clone)]
pub struct AuditSettings {
    /// The sink (a JSON Lines file, standard error, memory, or a combination).
    pub sink: std::sync::Arc<dyn crate::audit::AuditSink>,
    /// Patterns masking arguments and environment values (the policy's `[audit] redact`).
    pub redactor: crate::audit::Redactor,
    /// Refuse the run before it starts when the sink cannot write (`audit_required`).
    pub required: bool,
}

/// The `audited_process` template (spec §7): spawn, wait with a time limit (ending the whole
/// group on expiry), collect, and audit, in one call, returning the outcome.
///
/// Every step goes through an [`crate::AuditLayer`] around `cap`, so the log holds the
/// spawn (or the denial or failure, with its reason), every signal sent, and exactly one end
/// record (`process.exited`, `process.timed_out` or `process.killed`) with the exit status
/// or signal, the duration and the cause. `reml-process run` is built on it.
///
/// # Errors
/// None: failures are in the outcome (`cause: not_started`, `error`). With
/// `audit.required` and a sink that cannot write, the outcome is `not_started` with a
/// `PermissionDenied` error and nothing ran.
pub fn audited_process(
    cap: &dyn ProcessCapability,
    audit: &AuditSettings,
    command: &Command,
    env: &Environment,
    options: &RunOptions,
    forwarder: Option<&SignalForwarder>,
) -> ProcessOutcome {
    let layer = crate::layer::AuditLayer::new(
        cap,
        audit.sink.clone(),
        audit.redactor.clone(),
        audit.required,
    );
    run_process_forwarding(&layer, command, env, options, forwarder)
}
