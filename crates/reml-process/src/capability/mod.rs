//! The process capability (spec §1 `ProcessCapability`) and its handles.

use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::command::{Command, Environment};
use crate::effect::Operation;
use crate::error::ProcessError;
use crate::error::{ThreadError, ThreadErrorKind};
use crate::prepare::PreparedCommand;
use crate::signal::Signal;
use crate::status::{ExitStatus, Termination};
use crate::thread::{
    CpuSet, ThreadCapability, ThreadHandle, ThreadOptions, ThreadResult, ThreadStart,
};
use crate::wait::{CollectedOutput, WaitEvent, WaitOptions};

pub(crate) mod handle_table;
#[cfg(test)]
pub(crate) mod mock;
mod pointer;
pub mod registry;
pub mod stack;

/// A handle to a spawned process (spec §1 `ProcessHandle`).
///
/// A small `Copy` id into the table of the capability that spawned it: slot, generation and
/// the capability instance. A handle from another capability, or one whose slot was released,
/// is refused with `InvalidCommand` — it can never reach another process.
///
/// **Not released on drop** (spec §1): call `release_process`. A process released while
/// still running is reaped by the library when it ends, so no zombie is left behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProcessHandle {
    pub(crate) owner: u32,
    pub(crate) slot: u32,
    pub(crate) generation: u32,
    pub(crate) pid: i32,
}

impl ProcessHandle {
    /// The process id, as the OS numbered the child at spawn.
    ///
    /// # Caveats
    /// After the process has been waited for, the number may be reused by another process;
    /// signal through `kill_process`, never with this number.
    pub const fn pid(self) -> i32 {
        self.pid
    }
}

/// What a supervised run will do, for [`ProcessCapability::check_run`] before its child
/// starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunPlan {
    /// The signal that ends the job when a limit passes (then `KILL` after a grace period).
    pub signal: Signal,
    /// Whether the caller itself sets a time limit or ends the job on its output cap.
    pub caller_limit: bool,
    /// Whether the run's waits collect output (`effect {memory}`).
    pub collect_output: bool,
}

/// What the capability knows about a process (read-only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: i32,
    /// The process group the child leads or joined, when it is not ours.
    pub pgid: Option<i32>,
    /// The resolved absolute program path that was executed.
    pub program: PathBuf,
    /// The command line: resolved program, then the arguments (lossy UTF-8).
    pub command_line: Vec<String>,
    /// When the spawn returned.
    pub spawned_at: Instant,
    /// How it ended, once a wait has observed it.
    pub termination: Option<Termination>,
    /// The signal that stopped it (`SIGTSTP`, `SIGTTIN`, `SIGTTOU`, `SIGSTOP`), as last
    /// observed by [`ProcessCapability::wait_event`]; `None` once a wait has seen it continue
    /// or end, and for a process no `wait_event` has watched stop (spec §7, job control).
    pub stopped: Option<Signal>,
    /// The isolation level applied to it (`docs/sandbox.md`): `none`, or the level whose
    /// confinement the child applied before exec.
    pub isolation: crate::policy::IsolationLevel,
}

/// Which standard stream of a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StdStream {
    /// Standard input (fd 0).
    Stdin,
    /// Standard output (fd 1).
    Stdout,
    /// Standard error (fd 2).
    Stderr,
}

/// A refusal by a narrowed capability's own policy, handed to the capability it was
/// narrowed from ([`ProcessCapability::record_refusal`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct ScopedRefusal<'a> {
    /// The narrowed capability's scope (`core.process/job-7`): its parent's scope, `/`, its
    /// own name.
    pub scope: &'a str,
    /// What was refused, as the guard checks it: [`Operation::SpawnProcess`] for a spawn,
    /// [`Operation::KillProcess`] for a signal (`kill_process`, `kill_process_group`,
    /// `kill_process_tree`). The audit record names it by [`Operation::name`]
    /// (`process.operation`).
    pub operation: Operation,
    /// The program as the caller named it (for a spawn), else the process's.
    pub program: String,
    /// The command line (before redaction; the audit layer masks it).
    pub command: Vec<String>,
    /// The error returned to the caller.
    pub error: &'a ProcessError,
}

impl ScopedRefusal<'_> {
    /// The parent's scope: `scope` without its last `/NAME` (`core.process` for
    /// `core.process/job-7`).
    pub fn parent(&self) -> &str {
        self.scope.rsplit_once('/').map_or(self.scope, |(p, _)| p)
    }
}

/// The process half of the plugin's capability (spec §1, §3, §7).
///
/// Implemented by the native backend ([`crate::NativeProcessCapability`]) and by the layers
/// wrapped around it (security policy, then audit; [`crate::stack`]), each taking an inner
/// capability; callers hold the outermost one. Every method has the effects of its
/// [`crate::Operation`].
///
/// All methods take `&self` and are safe to call from several threads at once.
///
/// # Implementing it: a small core, everything else passes through
/// The one **required** method is [`inner`](Self::inner): it says whether the implementor
/// wraps another capability (a *layer*: `Some(inner)`) or is a *backend* (`None`). It is
/// required, not defaulted, so that a layer cannot forget it and silently turn into a
/// backend that answers every call it did not write with `Unsupported`.
///
/// Every other method is provided:
///
/// - **In a layer**, each provided method passes the call to [`inner`](Self::inner)
///   unchanged, so a layer writes only the methods it changes (the policy guard writes its
///   checks, the audit layer its records). A layer that checks or records a family of calls
///   overrides every member it cares about: the spawns (`spawn_process` *and*
///   `spawn_prepared`), the signals (`kill_process`, `kill_process_group`,
///   `kill_process_tree`, `enforce_limit`), the waits (`wait_with_options` *and*
///   `wait_event`), and `threads` when it has a thread half of its own.
/// - **In a backend**, the *core* — [`spawn_prepared`](Self::spawn_prepared),
///   [`kill_process`](Self::kill_process), [`kill_process_group`](Self::kill_process_group),
///   [`wait_with_options`](Self::wait_with_options), [`take_output`](Self::take_output),
///   [`take_pipe`](Self::take_pipe), [`process_info`](Self::process_info) and
///   [`release_process`](Self::release_process) — must be written: these are the calls that
///   reach the OS, and with nothing to pass them to, the provided ones answer
///   `Unsupported` naming the method. The rest have a fallback built on the core (a tree
///   signalled as its group or its process, a stop-blind `wait_event`, no start time, no
///   thread half, every plan accepted, no audit failure, refusals not recorded).
/// - A few methods are **derived** in every implementor, layer or not, because they are
///   only another shape of a core call and must pass the same checks:
///   [`wait_process`](Self::wait_process) is [`wait_with_options`](Self::wait_with_options)
///   of the same capability, and [`create_thread`](Self::create_thread),
///   [`join_thread`](Self::join_thread) and [`set_thread_affinity`](Self::set_thread_affinity)
///   go through its own [`threads`](Self::threads).
///
/// `&T`, `Box<T>` and `Arc<T>` forward every method, derived ones included, to `T`.
pub trait ProcessCapability: Send + Sync {
    /// The capability this one wraps, when it is a layer (`Some`), or `None` for a backend
    /// that does the work itself (see [Implementing it](ProcessCapability#implementing-it-a-small-core-everything-else-passes-through)).
    /// Every provided method of a layer passes its call to it.
    fn inner(&self) -> Option<&dyn ProcessCapability>;

    /// Spawns `command` with base environment `env` (spec §2 `spawn_process`,
    /// `effect {process}`).
    ///
    /// The final environment is `env`, then `command.env` (see [`Environment`]); the program
    /// is resolved against it by [`crate::resolve_program`].
    ///
    /// # Errors
    /// `InvalidCommand`, `PermissionDenied` or `SpawnFailed` as listed in
    /// [`PreparedCommand::new`] and [`crate::resolve_program`], all before any child exists;
    /// an OS refusal to create or exec is `SpawnFailed` (or `PermissionDenied` for
    /// `EACCES`/`EPERM`) with the errno in `code` — reported by this call, never as a child
    /// exiting 127.
    ///
    /// Provided: a layer passes it inward; a backend prepares the command and spawns it with
    /// [`spawn_prepared`](Self::spawn_prepared).
    fn spawn_process(
        &self,
        command: &Command,
        env: &Environment,
    ) -> Result<ProcessHandle, ProcessError> {
        if let Some(inner) = self.inner() {
            return inner.spawn_process(command, env);
        }
        let prepared = PreparedCommand::from_environment(command, env, None)?;
        self.spawn_prepared(prepared)
    }

    /// Spawns an already prepared command (the layers' entry point: each may inspect and
    /// restrict the prepared command before passing it inward).
    ///
    /// Core: a backend writes it; a layer passes it inward unless it overrides it.
    ///
    /// # Errors
    /// As [`spawn_process`](Self::spawn_process), minus the preparation errors;
    /// `Unsupported` from a backend that does not implement it.
    fn spawn_prepared(&self, prepared: PreparedCommand) -> Result<ProcessHandle, ProcessError> {
        match self.inner() {
            Some(inner) => inner.spawn_prepared(prepared),
            None => Err(not_implemented("spawn_prepared")),
        }
    }

    /// Sends `signal` to the process (spec §1 `kill_process`, `effect {process, signal}`).
    ///
    /// On Linux the signal goes through the process's pidfd, so a reaped process whose pid was
    /// reused can never receive it. Signalling a process that has already been waited for
    /// does nothing and returns `Ok(())`.
    ///
    /// # Errors
    /// `InvalidCommand` for a stale, released or foreign handle; `PermissionDenied` when the
    /// OS refuses (`EPERM`); the security layer may refuse signals outside its allow-list;
    /// `Unsupported` from a backend that does not implement it (core).
    fn kill_process(&self, handle: ProcessHandle, signal: Signal) -> Result<(), ProcessError> {
        match self.inner() {
            Some(inner) => inner.kill_process(handle, signal),
            None => Err(not_implemented("kill_process")),
        }
    }

    /// Sends `signal` to the process group the child leads or joined (spec §7, `killpg`).
    ///
    /// # Errors
    /// `InvalidCommand` when the child was spawned in our own process group (`Inherit`, or
    /// `Join` of our own group: signalling it would hit the caller) or for a stale handle; an
    /// OS refusal as in `kill_process`. A group with no member left is `Ok(())`.
    /// `Unsupported` from a backend that does not implement it (core).
    fn kill_process_group(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<(), ProcessError> {
        match self.inner() {
            Some(inner) => inner.kill_process_group(handle, signal),
            None => Err(not_implemented("kill_process_group")),
        }
    }

    /// Sends `signal` to the process **and every descendant** (spec §7, whole-tree
    /// termination; `effect {process, signal}`): the processes of its group, the tree found
    /// from it through `/proc`, and — when this process is a child subreaper — the orphans
    /// of the tree that were reparented to us. Returns the pids signalled (for `KILL`, those
    /// of the first round). See [`crate::tree`] for the mechanisms and what each guarantees.
    ///
    /// The tree is frozen (`SIGSTOP`) while it is listed, and continued (`SIGCONT`) after
    /// any signal other than `KILL` and `STOP`, so stopped processes act on it. With `KILL`
    /// the walk repeats until nothing is left alive (bounded), and adopted orphans are
    /// reaped. The process itself is never reaped here: wait for it as usual. Children this
    /// process had before the spawn are never touched. Signalling a tree that has ended
    /// returns an empty list.
    ///
    /// Provided: a layer passes it inward; a backend that does not write it signals the
    /// group when the child leads or joined one, else the process.
    ///
    /// # Errors
    /// `InvalidCommand` for a stale handle; an OS refusal to signal the process itself as in
    /// `kill_process`. Descendants that cannot be signalled (gone, `EPERM`) are skipped.
    ///
    /// # Platform-specific behavior
    /// Linux with pidfds (5.3+); without, only the group or the process is signalled.
    fn kill_process_tree(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<Vec<i32>, ProcessError> {
        match self.inner() {
            Some(inner) => inner.kill_process_tree(handle, signal),
            None => signal_group_or_process(self, handle, signal),
        }
    }

    /// Ends the process's tree as the **capability's own limit enforcement**: the time-limit
    /// signal, the `KILL` escalation after the grace period, and the output-cap kill
    /// (`docs/guarantees.md`, "The time limit and its escalation always hold"). It signals like
    /// [`kill_process_tree`](Self::kill_process_tree) and returns the same pids.
    ///
    /// A security layer's `allowed_signals` governs what a *caller* may send; it never
    /// disables this enforcement: `KILL` (and `CONT`) always pass, another signal passes when
    /// the policy allows it (which [`check_run`](Self::check_run) checks
    /// before the child starts). An audit layer records it like any signal and never
    /// refuses it, even when its log cannot be written (ending a job must always be possible).
    ///
    /// Provided: a layer passes it inward (so an inner policy's `allowed_signals` never
    /// applies to it); a backend that does not write it calls
    /// [`kill_process_tree`](Self::kill_process_tree).
    ///
    /// # Errors
    /// As [`kill_process_tree`](Self::kill_process_tree); `PermissionDenied` from a policy
    /// layer for a signal other than `KILL`/`CONT` that it does not allow.
    fn enforce_limit(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<Vec<i32>, ProcessError> {
        match self.inner() {
            Some(inner) => inner.enforce_limit(handle, signal),
            None => self.kill_process_tree(handle, signal),
        }
    }

    /// Checks, **before** `command` is spawned, that a supervised run of it as `plan` says
    /// can go through to its end: that the waits it will make are allowed (collecting
    /// output needs `effect {memory}`), and that a time limit or output-cap kill can be
    /// enforced with `plan.signal` (the time-limit signal, `--signal` of
    /// `reml-process run`). So nothing starts that the supervisor would then have to end
    /// for a reason known beforehand.
    ///
    /// Provided: a layer passes it inward; a backend accepts every plan. The security layer
    /// refuses a wait
    /// effect outside its `effect_scope`, and a time-limit signal outside `allowed_signals`
    /// (`KILL` always passes) when a limit applies: the caller's (`plan.caller_limit`) or
    /// its own (`max_wall_time`, `output_cap_action = "kill"`). The audit layer records a
    /// refusal as `process.denied`.
    ///
    /// # Errors
    /// `PermissionDenied` (a policy denial) naming the effect or the signal.
    fn check_run(&self, command: &Command, plan: &RunPlan) -> Result<(), ProcessError> {
        match self.inner() {
            Some(inner) => inner.check_run(command, plan),
            None => Ok(()),
        }
    }

    /// The first audit record this capability (or a layer inside it) could not write, if any: what
    /// failed, and whether the audit log is required (`audit_required`). A supervisor reads it
    /// after each step: with a required log it ends the job (`docs/audit-log.md`, "When the log
    /// cannot be written": a record that cannot be written after the child started ends the job);
    /// without, it reports the failure once and goes on.
    ///
    /// Provided: a layer asks its inner capability; a backend reports none.
    fn audit_failure(&self) -> Option<crate::audit::AuditFailure> {
        self.inner().and_then(|inner| inner.audit_failure())
    }

    /// Records a refusal by a narrowed capability's own policy
    /// ([`crate::layer::NarrowedCapability`]): such a refusal happens before the call reaches
    /// the capability it was narrowed from, so it hands the refusal inward for an audit
    /// layer there to write (`process.denied`, or `process.spawn_failed` for an error that
    /// is not a policy denial, with `capability.scope` and `capability.parent`).
    ///
    /// Provided: a layer passes it inward, a backend records nothing; the audit layer
    /// writes it.
    fn record_refusal(&self, refusal: &ScopedRefusal<'_>) {
        if let Some(inner) = self.inner() {
            inner.record_refusal(refusal);
        }
    }

    /// The pids of the process's tree that are still running or stopped (not ended): the
    /// process first when it is, then every descendant found as in
    /// [`kill_process_tree`](Self::kill_process_tree), without signalling anything. Adopted
    /// orphans of the tree that have ended are reaped by this call.
    ///
    /// Provided: a layer passes it inward; a backend that does not write it reports the
    /// process alone, while no wait has seen it end.
    ///
    /// # Errors
    /// `InvalidCommand` for a stale handle.
    fn process_tree(&self, handle: ProcessHandle) -> Result<Vec<i32>, ProcessError> {
        match self.inner() {
            Some(inner) => inner.process_tree(handle),
            None => process_alone(self, handle),
        }
    }

    /// Waits like [`wait_with_options`](Self::wait_with_options) but also returns when the
    /// process **stops** (spec §7, job control: a stop is reported, never a silent hang) or,
    /// with `options.report_output_cap`, when a collected stream passes its cap. A normal
    /// exit and a death by signal are both `Ok(WaitEvent::Ended(..))`.
    ///
    /// A stop does not wake a pidfd, so while the process runs stops are polled with
    /// `waitid(WSTOPPED | WCONTINUED | WNOHANG)` (which never reaps) every
    /// `options.check_interval`. Each stop is reported once. The timeout covers one call.
    ///
    /// Provided: a layer passes it inward; a backend that does not write it reports only
    /// the end, through `wait_with_options`.
    ///
    /// # Errors
    /// `TimedOut` when `timeout` expired (the process keeps running); `InvalidCommand` for a
    /// stale handle; as `wait_with_options` otherwise (never `TerminatedBySignal`).
    fn wait_event(
        &self,
        handle: ProcessHandle,
        options: &WaitOptions,
    ) -> Result<WaitEvent, ProcessError> {
        if let Some(inner) = self.inner() {
            return inner.wait_event(handle, options);
        }
        match self.wait_with_options(handle, options) {
            Ok(status) => Ok(WaitEvent::Ended(Termination::Exited(status))),
            Err(e) if e.kind == crate::ProcessErrorKind::TerminatedBySignal => {
                match self.process_info(handle)?.termination {
                    Some(t) => Ok(WaitEvent::Ended(t)),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Waits for the process to end (spec §1 `wait_process`, `effect {process, io.blocking}`).
    ///
    /// Equivalent to [`wait_with_options`](Self::wait_with_options) with only `timeout` set,
    /// of this same capability in a layer too (derived, never passed inward by itself: so it
    /// passes the layer's wait checks).
    ///
    /// # Errors
    /// `TerminatedBySignal` (signal number in `code`) when a signal ended it; `TimedOut` when
    /// `timeout` expired (the process keeps running, the handle stays valid); `InvalidCommand`
    /// for a stale handle. Waiting again after the end returns the same answer.
    fn wait_process(
        &self,
        handle: ProcessHandle,
        timeout: Option<Duration>,
    ) -> Result<ExitStatus, ProcessError> {
        let options = WaitOptions {
            timeout,
            ..WaitOptions::default()
        };
        self.wait_with_options(handle, &options)
    }

    /// Waits with options (spec §3 `wait_with_options`, `effect {process, io.blocking}`, plus
    /// `memory` when collecting).
    ///
    /// Our end of a stdin pipe is closed first unless the caller took it (so a child reading stdin
    /// sees end-of-file instead of waiting forever on a pipe nobody closes). With `collect_output`,
    /// stdout and stderr pipes are drained together until end-of-file (so one filling up cannot
    /// deadlock the other) within the same deadline; after the child's exit, a pipe still held open
    /// by a descendant is read for `output_linger` at most (a grandchild keeping the pipe open
    /// cannot hold the wait). Collected bytes accumulate in the capability; get them with
    /// [`take_output`](Self::take_output), also after a `TimedOut`.
    ///
    /// # Errors
    /// As [`wait_process`](Self::wait_process); `Unsupported` from a backend that does not
    /// implement it (core).
    fn wait_with_options(
        &self,
        handle: ProcessHandle,
        options: &WaitOptions,
    ) -> Result<ExitStatus, ProcessError> {
        match self.inner() {
            Some(inner) => inner.wait_with_options(handle, options),
            None => Err(not_implemented("wait_with_options")),
        }
    }

    /// Takes the output collected so far (leaving an empty one).
    ///
    /// # Errors
    /// `InvalidCommand` for a stale handle; `Unsupported` from a backend that does not
    /// implement it (core).
    fn take_output(&self, handle: ProcessHandle) -> Result<CollectedOutput, ProcessError> {
        match self.inner() {
            Some(inner) => inner.take_output(handle),
            None => Err(not_implemented("take_output")),
        }
    }

    /// Takes our end of a stream set to `StdioSpec::Pipe`, for callers who stream
    /// themselves. `Ok(None)` when the stream is not a pipe or was taken already.
    ///
    /// # Errors
    /// `InvalidCommand` for a stale handle; `Unsupported` from a backend that does not
    /// implement it (core).
    fn take_pipe(
        &self,
        handle: ProcessHandle,
        stream: StdStream,
    ) -> Result<Option<File>, ProcessError> {
        match self.inner() {
            Some(inner) => inner.take_pipe(handle, stream),
            None => Err(not_implemented("take_pipe")),
        }
    }

    /// What the capability knows about the process.
    ///
    /// # Errors
    /// `InvalidCommand` for a stale handle; `Unsupported` from a backend that does not
    /// implement it (core).
    fn process_info(&self, handle: ProcessHandle) -> Result<ProcessInfo, ProcessError> {
        match self.inner() {
            Some(inner) => inner.process_info(handle),
            None => Err(not_implemented("process_info")),
        }
    }

    /// When the process started, as the kernel counts it: clock ticks after boot
    /// (`starttime`, field 22 of `proc_pid_stat(5)`; `sysconf(_SC_CLK_TCK)` ticks a second).
    /// With the pid and the boot it names the process uniquely, whatever pids the kernel
    /// reuses later: the audit log's `process.id` is made of it.
    ///
    /// The native backend knows it from the clock read around `clone` for nearly every
    /// child (when the clock did not pass a tick meanwhile: the same number `/proc` gives);
    /// otherwise it is read from `/proc` when asked (not at spawn), and answered only when
    /// the read is known to be of this process: `None` when the process may have been reaped
    /// by then (its pid could be another process's), when `/proc` cannot be read, or when the
    /// capability does not know (provided: a layer passes it inward; a backend that does not
    /// write it knows nothing).
    ///
    /// # Errors
    /// `InvalidCommand` for a stale handle.
    ///
    /// # Platform-specific behavior
    /// Linux only; elsewhere `Ok(None)`.
    fn process_start_time(&self, handle: ProcessHandle) -> Result<Option<u64>, ProcessError> {
        match self.inner() {
            Some(inner) => inner.process_start_time(handle),
            None => self.process_info(handle).map(|_| None),
        }
    }

    /// The thread half of the capability (spec §1's `create_thread`, `join_thread`,
    /// `set_thread_affinity`), when this capability carries one. The native capability
    /// carries a [`crate::NativeThreadCapability`]; each layer that checks or records
    /// thread calls returns its own wrapped view.
    ///
    /// Provided: a layer passes it inward (its thread calls then bypass it); a backend has
    /// none.
    fn threads(&self) -> Option<&dyn ThreadCapability> {
        self.inner().and_then(|inner| inner.threads())
    }

    /// Spec §1 `create_thread` (`effect {thread}`), through [`threads`](Self::threads).
    ///
    /// # Errors
    /// Those of [`ThreadCapability::create_thread`]; `Unsupported` when this capability
    /// carries no thread half.
    fn create_thread(
        &self,
        start: ThreadStart,
        options: ThreadOptions,
    ) -> Result<ThreadHandle, ThreadError> {
        self.threads()
            .ok_or_else(no_threads)?
            .create_thread(start, options)
    }

    /// Spec §1 `join_thread` (`effect {thread, io.blocking}`), through
    /// [`threads`](Self::threads).
    ///
    /// # Errors
    /// Those of [`ThreadCapability::join_thread`]; `Unsupported` without a thread half.
    fn join_thread(
        &self,
        handle: ThreadHandle,
        timeout: Option<Duration>,
    ) -> Result<ThreadResult, ThreadError> {
        self.threads()
            .ok_or_else(no_threads)?
            .join_thread(handle, timeout)
    }

    /// Spec §1 `set_thread_affinity` (`effect {thread, hardware}`), through
    /// [`threads`](Self::threads).
    ///
    /// # Errors
    /// Those of [`ThreadCapability::set_thread_affinity`]; `Unsupported` without a thread
    /// half.
    fn set_thread_affinity(&self, handle: ThreadHandle, cpus: &CpuSet) -> Result<(), ThreadError> {
        self.threads()
            .ok_or_else(no_threads)?
            .set_thread_affinity(handle, cpus)
    }

    /// Releases the handle (spec §1: release is explicit). Pipes held for it are closed. A
    /// process still running keeps running and is reaped by the library when it ends.
    ///
    /// # Errors
    /// `InvalidCommand` for a stale, foreign or already released handle; `Unsupported` from a
    /// backend that does not implement it (core).
    fn release_process(&self, handle: ProcessHandle) -> Result<(), ProcessError> {
        match self.inner() {
            Some(inner) => inner.release_process(handle),
            None => Err(not_implemented("release_process")),
        }
    }
}

/// What a backend's unwritten core method answers (see [`ProcessCapability`]).
fn not_implemented(method: &str) -> ProcessError {
    ProcessError::unsupported(format!(
        "{method} is not implemented by this process capability, which wraps no other"
    ))
}

fn no_threads() -> ThreadError {
    ThreadError::new(
        ThreadErrorKind::Unsupported,
        "this process capability carries no thread capability",
    )
}

/// The default [`ProcessCapability::kill_process_tree`], also the native backend's where it
/// cannot walk a tree (no pidfd): nothing when the end was seen, else `signal` to the group
/// the child leads or joined, or to the child alone; returns the child's pid.
pub(crate) fn signal_group_or_process<C: ProcessCapability + ?Sized>(
    cap: &C,
    handle: ProcessHandle,
    signal: Signal,
) -> Result<Vec<i32>, ProcessError> {
    let info = cap.process_info(handle)?;
    if info.termination.is_some() {
        return Ok(Vec::new());
    }
    if info.pgid.is_some() {
        cap.kill_process_group(handle, signal)?;
    } else {
        cap.kill_process(handle, signal)?;
    }
    Ok(vec![info.pid])
}

/// The default [`ProcessCapability::process_tree`], also the native backend's where it
/// cannot walk a tree: the child alone while its end has not been seen.
pub(crate) fn process_alone<C: ProcessCapability + ?Sized>(
    cap: &C,
    handle: ProcessHandle,
) -> Result<Vec<i32>, ProcessError> {
    let info = cap.process_info(handle)?;
    Ok(if info.termination.is_none() {
        vec![info.pid]
    } else {
        Vec::new()
    })
}
