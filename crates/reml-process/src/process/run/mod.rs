//! Spawn, wait with a time limit, end the whole tree on expiry, collect, report: the one-call
//! template behind `audited_process` (spec §7) and `reml-process run` (`docs/command.md`).

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::capability::{ProcessCapability, ProcessHandle};
use crate::command::{Command, Environment, ProcessGroup, StdioSpec};
use crate::error::{ProcessError, ProcessErrorKind};
use crate::jobcontrol::TerminalGuard;
use crate::signal::Signal;
use crate::status::Termination;
use crate::supervise::SignalForwarder;
use crate::units::Deadline;
use crate::wait::{CollectedOutput, DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_OUTPUT_LINGER};

mod job;

use job::{supervise, Ending};

/// Why a process ended (`docs/command.md` `cause`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// It exited by itself (any exit code).
    Exited,
    /// A signal that was not ours ended it (other than `SIGXCPU`).
    Signaled,
    /// Our time limit expired and we ended it (whichever signal finally did, or its own exit
    /// during the grace period).
    TimedOut,
    /// A collected stream passed its cap and we ended the job
    /// ([`RunOptions::kill_on_output_cap`], which the policy may turn on).
    OutputCapped,
    /// `SIGXCPU` from its CPU-time limit (`RLIMIT_CPU` soft limit) ended it.
    ///
    /// The kernel checks the hard limit first: when soft = hard it sends `SIGKILL` at the
    /// limit instead, which is indistinguishable from any other `SIGKILL` and reported as
    /// `Signaled`. Give the hard limit a margin above the soft one.
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
    /// End the job, as for an expired time limit (`signal` to the whole tree, `kill_after`,
    /// then `KILL`), as soon as a collected stream passes `max_output_bytes`; the cause is
    /// then [`Cause::OutputCapped`]. Default `false`: bytes past the cap are counted and
    /// dropped and the child runs on. For the security policy layer.
    pub kill_on_output_cap: bool,
    /// Job control (spec §7; see [`crate::jobcontrol`]). When on, and the child leads or
    /// joins its own process group, inherits our stdin, and that stdin is a terminal whose
    /// foreground group is ours: the child's group gets the terminal foreground for the run,
    /// and we take it back with the terminal attributes restored when the run ends, however
    /// it ends. When the job is stopped from the terminal (`SIGTSTP`, `SIGTTIN`, `SIGTTOU`)
    /// we take the terminal back, stop our own process group the same way (so our shell
    /// sees its job stop), and when continued in the foreground give the terminal back and
    /// continue the job. Default `false` (it changes process-wide terminal state);
    /// `reml-process run` turns it on.
    pub job_control: bool,
}

impl Default for RunOptions {
    /// No limit, `TERM` then `KILL` after 2 s, no collection, 16 MiB cap, 200 ms linger,
    /// output cap not enforced, no job control.
    fn default() -> Self {
        RunOptions {
            timeout: None,
            signal: Signal::TERM,
            kill_after: Duration::from_secs(2),
            collect_output: false,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            output_linger: DEFAULT_OUTPUT_LINGER,
            kill_on_output_cap: false,
            job_control: false,
        }
    }
}

/// Something that happened while a job ran, for supervisors that report it
/// ([`run_process_supervised`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunEvent {
    /// The child was stopped by `signal` (`SIGTSTP`, `SIGTTIN`, `SIGTTOU`, `SIGSTOP`). The
    /// time limit keeps running; on expiry the stopped job is continued so it receives the
    /// signal. `reml-process run` prints `reml-process: PROGRAM (pid N) stopped by SIGTSTP`.
    Stopped {
        /// The resolved program path.
        program: String,
        /// The child's pid.
        pid: i32,
        /// The signal that stopped it.
        signal: Signal,
    },
    /// A signal received by the supervisor was not forwarded: the capability does not allow
    /// the caller to send it (the policy's `allowed_signals`). Reported once per signal.
    SignalNotForwarded {
        /// The signal received.
        signal: Signal,
        /// Why it was not sent (the policy's message).
        reason: String,
    },
    /// An audit record could not be written and the log is not required: the job goes on,
    /// records are being lost. Reported once. (A required log ends the job instead, with
    /// the failure in [`ProcessOutcome::error`].)
    AuditFailed {
        /// What failed.
        message: String,
    },
}

/// Everything known about one run (the `--json` object of `docs/command.md`).
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
    /// Why it ended (`docs/command.md` `cause`; also for the audit end record).
    pub cause: Cause,
    /// From spawn to the end of the wait, milliseconds.
    pub duration: Duration,
    /// Collected output (empty when not collected).
    pub output: CollectedOutput,
    /// The error that stopped it from starting or from being waited for.
    pub error: Option<ProcessError>,
    /// The isolation level the child ran under (`docs/sandbox.md`; `none` when it never
    /// started).
    pub isolation: crate::policy::IsolationLevel,
}

/// Runs `command` to its end: spawn, wait with `options.timeout`, and on expiry end the
/// **whole tree** ([`ProcessCapability::kill_process_tree`]): `options.signal` to the
/// child's group and every descendant (stopped ones are continued so they act on it), wait
/// `kill_after` — the whole of it, even when the child itself ends early while descendants
/// still run — then `KILL` to whatever is left, repeated until nothing is; collect output;
/// release the handle.
///
/// Never returns an error: a failure to start is an outcome with cause `not_started` and
/// `error` set.
///
/// # Caveats
/// Which descendants can be found is described in [`crate::tree`]: descendants orphaned
/// before the limit expired are found only when this process is a child subreaper
/// ([`crate::tree::set_child_subreaper`]) or when they stayed in the child's group.
pub fn run_process(
    cap: &dyn ProcessCapability,
    command: &Command,
    env: &Environment,
    options: &RunOptions,
) -> ProcessOutcome {
    run_process_forwarding(cap, command, env, options, None)
}

/// [`run_process`], forwarding every signal `forwarder` receives while the child runs to the
/// child — to its whole process group when it leads one (`docs/command.md`,
/// "Signals") and then also to every descendant of the child found by
/// [`ProcessCapability::kill_process_tree`] — followed by `SIGCONT` (as coreutils `timeout` does) so a
/// stopped child acts on it. A forwarded signal that ends the child is not ours: the cause
/// is `signaled` and the exit status 128+N.
///
/// Forwarding lasts while the child runs, and when we end the job ourselves (time limit,
/// output cap, a failure) until the whole ending is over, grace period included. Once the
/// child has ended by itself the job is over: signals received after its `SIGCHLD` are no
/// longer forwarded (they stay blocked and pending).
pub fn run_process_forwarding(
    cap: &dyn ProcessCapability,
    command: &Command,
    env: &Environment,
    options: &RunOptions,
    forwarder: Option<&SignalForwarder>,
) -> ProcessOutcome {
    run_process_supervised(cap, command, env, options, forwarder, &|_| {})
}

/// [`run_process_forwarding`], reporting what happens while the job runs to `on_event`
/// (called on the waiting thread): a stop of the child is a [`RunEvent::Stopped`] — never
/// a silent hang. Stops are noticed within 50 ms (see
/// [`ProcessCapability::wait_event`]).
///
/// The time limit runs from the call, before the spawn: a stdio file that is a FIFO is
/// waited for within it ([`Command::stdio_open_timeout`]; on expiry the outcome is
/// `not_started` with a `TimedOut` error, exit status 124). The forwarder already listens
/// during the spawn: a signal received before the child exists ends that wait
/// ([`Command::interrupt`]; a `TerminatedBySignal` error, exit status 128+N), and when the
/// child is created all the same it is forwarded to the child at once, never lost.
pub fn run_process_supervised(
    cap: &dyn ProcessCapability,
    command: &Command,
    env: &Environment,
    options: &RunOptions,
    forwarder: Option<&SignalForwarder>,
    on_event: &(dyn Fn(&RunEvent) + Sync),
) -> ProcessOutcome {
    let start = Instant::now();
    // One time limit from the start: it also bounds the spawn's wait for a stdio FIFO.
    let deadline = Deadline::within(start, options.timeout);
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
        isolation: crate::policy::IsolationLevel::None,
    };
    // Job control: only for a child in its own group reading our terminal, and only while
    // we hold the terminal's foreground ourselves.
    let mut terminal = None;
    let mut adjusted: Option<Command> = None;
    if options.job_control
        && command.process_group != ProcessGroup::Inherit
        && command.stdin == StdioSpec::Inherit
    {
        if let Some(guard) = TerminalGuard::acquire() {
            adjusted.get_or_insert_with(|| command.clone()).foreground = true;
            terminal = Some(guard);
        }
    }
    // A FIFO named as a stdio file is waited for within the time limit, and a signal
    // received meanwhile ends the wait (`docs/command.md`: nothing blocks outside the limit).
    let interrupt = command.interrupt.clone().unwrap_or_default();
    let names_a_file = [&command.stdin, &command.stdout, &command.stderr]
        .into_iter()
        .any(|s| matches!(s, StdioSpec::File(_)));
    if names_a_file {
        let c = adjusted.get_or_insert_with(|| command.clone());
        if let Some(t) = options.timeout {
            c.stdio_open_timeout = Some(c.stdio_open_timeout.map_or(t, |o| o.min(t)));
        }
        if forwarder.is_some() {
            c.interrupt = Some(interrupt.clone());
        }
    }
    let command = adjusted.as_ref().unwrap_or(command);
    let started = match forwarder {
        None => supervise(
            cap,
            command,
            env,
            options,
            deadline,
            terminal,
            &mut outcome,
            &|_| {},
            &|| {},
            on_event,
        ),
        Some(fwd) => {
            // When the child leads its own group, a forwarded signal reaches the whole job
            // like our own time limit: the group and every descendant (also those that left
            // it). In our group (`--no-new-group`) only the child gets it (`docs/command.md`).
            // Then CONT, so a stopped child acts on it.
            let group = command.process_group != ProcessGroup::Inherit;
            // A signal the capability does not let the caller send is not sent (nor the
            // CONT after it), and said once per signal.
            let refused: Mutex<Vec<Signal>> = Mutex::new(Vec::new());
            let send = |handle: ProcessHandle, sig: Signal| {
                for s in std::iter::once(sig)
                    .chain((sig != Signal::KILL && sig != Signal::CONT).then_some(Signal::CONT))
                {
                    let r = if group {
                        cap.kill_process_tree(handle, s).map(|_| ())
                    } else {
                        cap.kill_process(handle, s)
                    };
                    match r {
                        Err(e) if e.is_policy_denial() => {
                            let first = {
                                let mut seen = lock(&refused);
                                let first = !seen.contains(&s);
                                if first {
                                    seen.push(s);
                                }
                                first
                            };
                            if first {
                                on_event(&RunEvent::SignalNotForwarded {
                                    signal: s,
                                    reason: e.message,
                                });
                            }
                            break;
                        }
                        _ => {}
                    }
                }
            };
            // Signals received before the child exists end the spawn's wait for a FIFO;
            // if the child is created all the same, they are forwarded to it then: never
            // lost.
            let target = Mutex::new(Target::NotYet(Vec::new()));
            // The forwarder lets go as soon as the child has ended by itself (its SIGCHLD),
            // so the end of the run does not wait for it to wake up; a job we end ourselves
            // (time limit, output cap, failure) keeps it through the whole ending, started
            // again if it had already let go (`Forwarding`).
            let forwarding = Mutex::new(Forwarding::Running);
            let forwarder = || {
                fwd.run_until(
                    |sig| {
                        let mut t = lock(&target);
                        match &mut *t {
                            Target::Child(handle) => {
                                let handle = *handle;
                                drop(t);
                                send(handle, sig);
                            }
                            Target::NotYet(pending) => {
                                interrupt.trigger(sig);
                                pending.push(sig);
                            }
                        }
                    },
                    |pid| {
                        let ours = matches!(&*lock(&target), Target::Child(h) if h.pid() == pid);
                        let mut state = lock(&forwarding);
                        if ours && *state == Forwarding::Running {
                            *state = Forwarding::LetGo;
                            return true;
                        }
                        false
                    },
                )
            };
            std::thread::scope(|scope| {
                scope.spawn(forwarder);
                let on_ending = || {
                    let before = std::mem::replace(&mut *lock(&forwarding), Forwarding::Ending);
                    if before == Forwarding::LetGo {
                        scope.spawn(forwarder);
                    }
                };
                let on_spawned = |handle: ProcessHandle| {
                    let before = std::mem::replace(&mut *lock(&target), Target::Child(handle));
                    if let Target::NotYet(pending) = before {
                        for sig in pending {
                            send(handle, sig);
                        }
                    }
                };
                let r = supervise(
                    cap,
                    command,
                    env,
                    options,
                    deadline,
                    terminal,
                    &mut outcome,
                    &on_spawned,
                    &on_ending,
                    on_event,
                );
                fwd.stop();
                r
            })
        }
    };
    let Some((handle, ending, result, audit_reported)) = started else {
        outcome.duration = start.elapsed();
        return outcome;
    };
    outcome.timed_out = ending == Ending::TimedOut;
    let capped = ending == Ending::OutputCapped;
    if let Err(e) = result {
        if e.kind != ProcessErrorKind::TerminatedBySignal {
            outcome.error = Some(e);
        }
    }
    if let Some(failure) = cap.audit_failure().filter(|f| f.required) {
        outcome.error = Some(ProcessError::audit_failed(failure.to_string()));
    }
    outcome.duration = start.elapsed();
    if let Ok(info) = cap.process_info(handle) {
        outcome.termination = info.termination;
    }
    if let Ok(out) = cap.take_output(handle) {
        outcome.output = out;
    }
    outcome.cause = match (outcome.timed_out, capped, outcome.termination) {
        (true, _, _) => Cause::TimedOut,
        (false, true, _) => Cause::OutputCapped,
        (false, false, Some(Termination::Exited(_))) => Cause::Exited,
        (false, false, Some(Termination::Signaled { signal, .. })) if signal == Signal::XCPU => {
            Cause::CpuLimit
        }
        (false, false, Some(Termination::Signaled { .. })) => Cause::Signaled,
        (false, false, None) => Cause::NotStarted,
    };
    let _ = cap.release_process(handle);
    // The release record is the job's last: when it is the one that could not be written, a
    // required log makes the outcome an audit failure, one that is not required is said
    // (once, unless a failure was said already).
    if let Some(failure) = cap.audit_failure() {
        if failure.required {
            if !outcome
                .error
                .as_ref()
                .is_some_and(ProcessError::is_audit_failure)
            {
                outcome.error = Some(ProcessError::audit_failed(failure.to_string()));
            }
        } else if !audit_reported {
            on_event(&RunEvent::AuditFailed {
                message: failure.to_string(),
            });
        }
    }
    outcome
}

/// Where the signals a supervisor receives go.
enum Target {
    /// The child does not exist yet: the signals received so far.
    NotYet(Vec<Signal>),
    /// To this child.
    Child(ProcessHandle),
}

/// Whether the forwarder of a run still runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Forwarding {
    /// It runs, and lets go when the child ends by itself.
    Running,
    /// It let go: the child ended (the signals pending then were forwarded).
    LetGo,
    /// We are ending the job: it runs until the end of the run.
    Ending,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under this lock is a single assignment or push: a poisoned lock still
    // holds consistent data.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where and how [`audited_process`] records.
#[derive(Clone)]
pub struct AuditSettings {
    /// The sink (a JSON Lines file, standard error, memory, or a combination).
    pub sink: std::sync::Arc<dyn crate::audit::AuditSink>,
    /// Patterns masking arguments and environment values (the policy's `[audit] redact`).
    pub redactor: crate::audit::Redactor,
    /// The log is required (`audit_required`): it is proven writable before the child
    /// starts (a `capability.verified` record), and a record that cannot be written ends
    /// the job (see [`crate::AuditLayer`]).
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
/// [`ProcessError::audit_failed`] error and nothing ran; when a record fails after the
/// child started, the job is ended (the time-limit signal, the grace, `KILL`) and the
/// outcome carries that error (`reml-process run` exits 125). Without
/// `audit.required` the job goes on, and `on_event` of [`audited_process_supervised`] gets
/// one [`RunEvent::AuditFailed`].
pub fn audited_process(
    cap: &dyn ProcessCapability,
    audit: &AuditSettings,
    command: &Command,
    env: &Environment,
    options: &RunOptions,
    forwarder: Option<&SignalForwarder>,
) -> ProcessOutcome {
    audited_process_supervised(cap, audit, command, env, options, forwarder, &|_| {})
}

/// [`audited_process`], reporting stops and other events to `on_event` like
/// [`run_process_supervised`].
pub fn audited_process_supervised(
    cap: &dyn ProcessCapability,
    audit: &AuditSettings,
    command: &Command,
    env: &Environment,
    options: &RunOptions,
    forwarder: Option<&SignalForwarder>,
    on_event: &(dyn Fn(&RunEvent) + Sync),
) -> ProcessOutcome {
    let layer = crate::stack::audit(cap, audit);
    run_process_supervised(&layer, command, env, options, forwarder, on_event)
}
