//! The audit layer: every operation of the capability it wraps is recorded (spec §2 audit,
//! `docs/audit-log.md`).
//!
//! # What is recorded
//! | operation | event(s) |
//! |---|---|
//! | `spawn_process` ok | `process.spawned` (pid, `process.id`, command, pgid, cwd, passed descriptors) |
//! | `spawn_process` refused by the policy | `process.denied` (command, reason) |
//! | `spawn_process` failed otherwise | `process.spawn_failed` (command, reason, errno) |
//! | `kill_process[_group]`, `kill_process_tree` | `process.kill` (pid, command, signal, `process.group`; for a tree, `process.targets`: the pids signalled, empty when nothing was left) |
//! | a wait whose time limit expires (the process keeps running) | `process.wait` with `process.result = "timed_out"` |
//! | a wait that observes the end | exactly one end record: `process.timed_out` when a wait had timed out and we then signalled it, `process.killed` when a signal we had sent it ended it, else `process.exited` — each with `process.exit_status` or `process.signal`, `process.duration_ms` and `process.cause` |
//! | `release_process` | `process.released` (the last record when the end was never seen) |
//! | shutdown (drop) with handles still held | `process.leaked` / `thread.leaked` |
//! | `create_thread`, `join_thread`, `set_thread_affinity` | `thread.created`, `thread.joined`, `thread.affinity_set` |
//!
//! Every record about a process carries `process.pid` and `process.id`, its lifecycle key:
//! the same from `process.spawned` to the record that ends it, never the same for two
//! processes even when the kernel reuses the pid ([`keys::PROCESS_ID`]). The records that end
//! a lifecycle are [`events::ends_lifecycle`].
//!
//! Arguments and environment values matching the policy's `[audit] redact` patterns are
//! masked as `"***"` before any sink sees them.
//!
//! | a limit enforced ([`ProcessCapability::enforce_limit`]) | `process.kill` with `process.enforced = true` |
//! | a collected stream passing its cap, reported by `wait_event` | `process.wait` with `process.result = "output_capped"`; the end record is then `process.killed` with cause `output_capped` |
//!
//! # Audit failures
//! The first record that cannot be written is kept and reported by
//! [`ProcessCapability::audit_failure`].
//! - Without `audit_required`, a failing sink does not break the application (spec audit
//!   chapter): every operation's result is returned as is, and a supervisor says once that
//!   records are being lost.
//! - With `audit_required`, the sink is **proven writable before anything starts**: the
//!   first spawn or thread creation writes a `capability.verified` record (flushed, as every
//!   record), and is refused with [`ProcessError::audit_failed`] (`PermissionDenied`) when
//!   that record, or any record before it, could not be written, or when
//!   [`AuditSink::check`] fails. Once a record has failed, nothing new starts. Operations
//!   that only observe or end what runs (waits, kills, limit enforcement, releases) are
//!   never refused: refusing them would leave a job running unrecorded; they are recorded
//!   as far as the sink allows, and a supervisor ends the job (`reml-process run` exits
//!   125).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::{json, Value};

use crate::audit::{domains, events, keys, AuditError, AuditEvent, AuditSink, Redactor};
use crate::capability::{ProcessCapability, ProcessHandle, RunPlan, StdStream};
use crate::command::{Command, Environment};
use crate::effect::Operation;
use crate::error::{ProcessError, ProcessErrorKind, Severity, ThreadError, ThreadErrorKind};
use crate::prepare::PreparedCommand;
use crate::signal::Signal;
use crate::status::{ExitStatus, Termination};
use crate::thread::{ThreadCapability, ThreadHandle};
use crate::wait::{WaitEvent, WaitOptions};

#[cfg(test)]
mod tests;
mod thread;

#[derive(Clone, Debug)]
struct Tracked {
    subject: String,
    command: Vec<String>,
    pid: i32,
    /// `process.id`, on every record of this process (see [`lifecycle_key`]).
    id: String,
    spawned_at: Instant,
    timed_out: bool,
    /// The signals we sent that reached it (bit `n - 1` for signal `n`; `CONT` is never
    /// set): an end by one of them is ours (`process.killed`), by another one is not.
    sent: u64,
    /// A wait reported that a collected stream passed its cap.
    capped: bool,
    ended: bool,
    /// The narrowed capability it was spawned through (`core.process/job-7`), if any.
    scope: Option<Arc<str>>,
}

/// The audit layer around an inner capability (see the module docs).
pub struct AuditLayer<C: ProcessCapability> {
    inner: C,
    sink: Arc<dyn AuditSink>,
    /// The sink throws every record away ([`AuditSink::discards`], asked once): no record
    /// is built, nothing tracked (no start time, no `process_info`, no event ids drawn).
    discards: bool,
    redactor: Redactor,
    required: bool,
    /// The first record that could not be written.
    failure: Mutex<Option<AuditError>>,
    /// A `capability.verified` record was written (with `required`, before the first start).
    proven: std::sync::atomic::AtomicBool,
    processes: Mutex<HashMap<ProcessHandle, Tracked>>,
    threads: Mutex<HashMap<ThreadHandle, String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<C: ProcessCapability> AuditLayer<C> {
    /// Wraps `inner`, recording to `sink`, masking with `redactor`; with `required`, every
    /// operation is refused before it happens when the sink cannot write.
    pub fn new(inner: C, sink: Arc<dyn AuditSink>, redactor: Redactor, required: bool) -> Self {
        AuditLayer {
            inner,
            discards: sink.discards(),
            sink,
            redactor,
            required,
            failure: Mutex::new(None),
            proven: std::sync::atomic::AtomicBool::new(false),
            processes: Mutex::new(HashMap::new()),
            threads: Mutex::new(HashMap::new()),
        }
    }

    /// The wrapped capability.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// Writes `event`; a failure is kept (the first one) for [`audit_failure`] and never
    /// breaks the operation being recorded.
    ///
    /// [`audit_failure`]: ProcessCapability::audit_failure
    fn emit(&self, mut event: AuditEvent) {
        self.redactor.redact_event(&mut event);
        if let Err(e) = self.sink.write(&event) {
            lock(&self.failure).get_or_insert(e);
        }
    }

    /// The gate of every operation that **starts** something ([`Operation::SpawnProcess`],
    /// [`Operation::CreateThread`]): with `required`, the sink is proven writable first (a
    /// `capability.verified` record, once), and nothing starts once a record has failed.
    fn gate_start(&self, op: Operation) -> Result<(), String> {
        if !self.required {
            return Ok(());
        }
        use std::sync::atomic::Ordering;
        if !self.proven.load(Ordering::Acquire) && lock(&self.failure).is_none() {
            let ev = AuditEvent::new(
                domains::CAPABILITY,
                "core.process",
                events::CAPABILITY_VERIFIED,
            )
            .with_metadata(keys::CAPABILITY_ID, "core.process")
            .with_metadata("capability.audit_required", true)
            .with_metadata("capability.sink", self.sink.describe());
            self.emit(ev);
            if lock(&self.failure).is_none() {
                self.proven.store(true, Ordering::Release);
            }
        }
        let failed = lock(&self.failure).clone();
        let problem = match failed {
            Some(e) => Some(e),
            None => self.sink.check().err(),
        };
        match problem {
            None => Ok(()),
            Some(e) => Err(format!(
                "{} refused: the audit log is required (audit_required = true) but cannot be written: {}",
                started(op),
                e.message
            )),
        }
    }

    fn process_event(&self, t: &Tracked, name: &str, severity: Severity) -> AuditEvent {
        let ev = AuditEvent::new(domains::PROCESS, t.subject.clone(), name)
            .with_severity(severity)
            .with_metadata(keys::PROCESS_PID, t.pid)
            .with_metadata(keys::PROCESS_ID, t.id.clone())
            .with_metadata(keys::PROCESS_COMMAND, json!(t.command));
        with_scope(ev, t.scope.as_deref())
    }

    fn record_end(&self, handle: ProcessHandle, end: Termination) {
        let t = {
            let mut map = lock(&self.processes);
            let Some(t) = map.get_mut(&handle) else {
                return;
            };
            if t.ended {
                return;
            }
            t.ended = true;
            t.clone()
        };
        let (name, cause) = match end {
            _ if t.capped && t.sent != 0 => (events::PROCESS_KILLED, "output_capped"),
            _ if t.timed_out && t.sent != 0 => (events::PROCESS_TIMED_OUT, "timed_out"),
            Termination::Signaled { signal, .. } if t.sent & signal_bit(signal) != 0 => {
                (events::PROCESS_KILLED, "signaled")
            }
            Termination::Signaled { signal, .. } if signal == Signal::XCPU => {
                (events::PROCESS_EXITED, "cpu_limit")
            }
            Termination::Signaled { .. } => (events::PROCESS_EXITED, "signaled"),
            Termination::Exited(_) => (events::PROCESS_EXITED, "exited"),
        };
        let mut ev = self
            .process_event(&t, name, Severity::Info)
            .with_metadata(
                keys::PROCESS_DURATION_MS,
                (t.spawned_at.elapsed().as_secs_f64() * 1e6).round() / 1e3,
            )
            .with_metadata(keys::PROCESS_CAUSE, cause);
        ev = match end {
            Termination::Exited(s) => ev.with_metadata(keys::PROCESS_EXIT_STATUS, s.code()),
            Termination::Signaled { signal, .. } => ev
                .with_metadata(keys::PROCESS_SIGNAL, signal.number())
                .with_metadata(keys::PROCESS_EXIT_STATUS, Value::Null),
        };
        self.emit(ev);
    }

    fn after_wait(&self, handle: ProcessHandle, result: &Result<ExitStatus, ProcessError>) {
        match result {
            Ok(status) => self.record_end(handle, Termination::Exited(*status)),
            Err(e) if e.kind == ProcessErrorKind::TerminatedBySignal => {
                if let Some(t) = self
                    .inner
                    .process_info(handle)
                    .ok()
                    .and_then(|i| i.termination)
                {
                    self.record_end(handle, t);
                }
            }
            Err(e) if e.kind == ProcessErrorKind::TimedOut => self.wait_timed_out(handle),
            Err(_) => {}
        }
    }

    /// A wait whose time limit expired: the process keeps running (no end record); the wait
    /// itself is recorded as `process.wait` with `process.result = "timed_out"`.
    fn wait_timed_out(&self, handle: ProcessHandle) {
        let t = {
            let mut map = lock(&self.processes);
            let Some(t) = map.get_mut(&handle) else {
                return;
            };
            t.timed_out = true;
            t.clone()
        };
        let ev = self
            .process_event(&t, "process.wait", Severity::Info)
            .with_metadata("process.result", "timed_out");
        self.emit(ev);
    }

    fn spawn_failed(&self, program: String, command: Vec<String>, e: &ProcessError) {
        self.spawn_failed_in(program, command, e, None);
    }

    fn spawn_failed_in(
        &self,
        program: String,
        command: Vec<String>,
        e: &ProcessError,
        scope: Option<&str>,
    ) {
        let denied = e.is_policy_denial();
        let (name, severity) = if denied {
            (events::PROCESS_DENIED, Severity::Warning)
        } else {
            (events::PROCESS_SPAWN_FAILED, Severity::Error)
        };
        let mut ev = AuditEvent::new(domains::PROCESS, program, name)
            .with_severity(severity)
            .with_metadata(keys::PROCESS_COMMAND, json!(command))
            .with_metadata(keys::PROCESS_REASON, e.message.clone())
            .with_metadata(keys::ERROR_KIND, e.kind.as_str());
        if let Some(code) = e.code {
            ev = ev.with_metadata(keys::ERROR_ERRNO, code);
        }
        self.emit(with_scope(ev, scope));
    }

    fn spawned(&self, handle: ProcessHandle, command: &Command, scope: Option<Arc<str>>) {
        if self.discards {
            return; // Nothing tracked: every later record of this process is skipped too.
        }
        let info = self.inner.process_info(handle).ok();
        let (program, cmdline) = match &info {
            Some(i) => (
                i.program.to_string_lossy().into_owned(),
                i.command_line.clone(),
            ),
            None => (
                command.program.to_string_lossy().into_owned(),
                command.command_line(),
            ),
        };
        let t = Tracked {
            subject: program,
            command: cmdline,
            pid: handle.pid(),
            id: lifecycle_key(
                handle.pid(),
                self.inner.process_start_time(handle).ok().flatten(),
            ),
            spawned_at: Instant::now(),
            timed_out: false,
            sent: 0,
            capped: false,
            ended: false,
            scope,
        };
        let mut ev = self.process_event(&t, events::PROCESS_SPAWNED, Severity::Info);
        if let Some(pgid) = info.as_ref().and_then(|i| i.pgid) {
            ev = ev.with_metadata(keys::PROCESS_PGID, pgid);
        }
        if let Some(i) = &info {
            ev = ev.with_metadata(
                "process.isolation",
                crate::sandbox::SandboxRules::isolation_json(i.isolation),
            );
        }
        if let Some(cwd) = &command.cwd {
            ev = ev.with_metadata(keys::PROCESS_CWD, cwd.to_string_lossy().into_owned());
        }
        let env_set: serde_json::Map<String, Value> = command
            .env
            .edits()
            .filter_map(|(k, v)| {
                v.map(|v| {
                    (
                        k.to_string_lossy().into_owned(),
                        Value::String(v.to_string_lossy().into_owned()),
                    )
                })
            })
            .collect();
        if !env_set.is_empty() {
            ev = ev.with_metadata(keys::PROCESS_ENV, Value::Object(env_set));
        }
        if !command.fd_mappings.is_empty() {
            let passed: Vec<Value> = command
                .fd_mappings
                .iter()
                .map(|m| {
                    json!({"fd": m.target, "kind": crate::sys::imp::process::fd_kind(&m.source)})
                })
                .collect();
            ev = ev.with_metadata("process.passed_fds", Value::Array(passed));
        }
        self.emit(ev);
        lock(&self.processes).insert(handle, t);
    }

    /// The inner thread half.
    fn inner_threads(&self) -> Result<&dyn ThreadCapability, ThreadError> {
        self.inner.threads().ok_or_else(|| {
            ThreadError::new(
                ThreadErrorKind::Unsupported,
                "this process capability carries no thread capability",
            )
        })
    }

    fn thread_event(&self, handle: ThreadHandle, name: &str) -> AuditEvent {
        let subject = lock(&self.threads)
            .get(&handle)
            .cloned()
            .unwrap_or_else(|| handle.to_string());
        AuditEvent::new(domains::THREAD, subject, name)
            .with_metadata(keys::THREAD_ID, handle.to_string())
    }
}

/// Writes only what is recorded; the rest (`process_info`, `process_tree`, `take_output`,
/// `take_pipe`, `process_start_time`) passes to the inner capability unchanged.
impl<C: ProcessCapability> ProcessCapability for AuditLayer<C> {
    fn inner(&self) -> Option<&dyn ProcessCapability> {
        Some(&self.inner)
    }

    fn spawn_process(
        &self,
        command: &Command,
        env: &Environment,
    ) -> Result<ProcessHandle, ProcessError> {
        let op = Operation::SpawnProcess {
            passes_fds: !command.fd_mappings.is_empty(),
        };
        if let Err(m) = self.gate_start(op) {
            return Err(ProcessError::audit_failed(m));
        }
        match self.inner.spawn_process(command, env) {
            Ok(h) => {
                self.spawned(h, command, None);
                Ok(h)
            }
            Err(e) => {
                self.spawn_failed(
                    command.program.to_string_lossy().into_owned(),
                    command.command_line(),
                    &e,
                );
                Err(e)
            }
        }
    }

    fn spawn_prepared(&self, prepared: PreparedCommand) -> Result<ProcessHandle, ProcessError> {
        let op = Operation::SpawnProcess {
            passes_fds: !prepared.command.fd_mappings.is_empty(),
        };
        if let Err(m) = self.gate_start(op) {
            return Err(ProcessError::audit_failed(m));
        }
        let command = prepared.command.clone();
        let program = prepared.program.to_string_lossy().into_owned();
        let line = prepared.command_line();
        let scope = prepared.scope.clone();
        match self.inner.spawn_prepared(prepared) {
            Ok(h) => {
                self.spawned(h, &command, scope);
                Ok(h)
            }
            Err(e) => {
                self.spawn_failed_in(program, line, &e, scope.as_deref());
                Err(e)
            }
        }
    }

    fn kill_process(&self, handle: ProcessHandle, signal: Signal) -> Result<(), ProcessError> {
        let r = self.inner.kill_process(handle, signal);
        self.record_kill(handle, signal, &r, false, None, false);
        r
    }

    fn kill_process_group(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<(), ProcessError> {
        let r = self.inner.kill_process_group(handle, signal);
        self.record_kill(handle, signal, &r, true, None, false);
        r
    }

    fn wait_with_options(
        &self,
        handle: ProcessHandle,
        options: &WaitOptions,
    ) -> Result<ExitStatus, ProcessError> {
        let r = self.inner.wait_with_options(handle, options);
        self.after_wait(handle, &r);
        r
    }

    fn wait_event(
        &self,
        handle: ProcessHandle,
        options: &WaitOptions,
    ) -> Result<WaitEvent, ProcessError> {
        let r = self.inner.wait_event(handle, options);
        match &r {
            Ok(WaitEvent::Ended(t)) => self.record_end(handle, *t),
            Ok(WaitEvent::OutputCapped(stream)) => self.output_capped(handle, *stream),
            Err(e) if e.kind == ProcessErrorKind::TimedOut => self.wait_timed_out(handle),
            _ => {}
        }
        r
    }

    fn kill_process_tree(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<Vec<i32>, ProcessError> {
        let r = self.inner.kill_process_tree(handle, signal);
        let unit = r.as_ref().map(|_| ()).map_err(Clone::clone);
        self.record_kill(handle, signal, &unit, true, r.as_deref().ok(), false);
        r
    }

    /// Never refused, even when the log cannot be written: ending a job must always be
    /// possible. Recorded as `process.kill` with `process.enforced = true`.
    fn enforce_limit(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<Vec<i32>, ProcessError> {
        let r = self.inner.enforce_limit(handle, signal);
        let unit = r.as_ref().map(|_| ()).map_err(Clone::clone);
        self.record_kill(handle, signal, &unit, true, r.as_deref().ok(), true);
        r
    }

    /// A refusal is recorded as `process.denied` with the command.
    fn check_run(&self, command: &Command, plan: &RunPlan) -> Result<(), ProcessError> {
        let r = self.inner.check_run(command, plan);
        if let Err(e) = &r {
            self.spawn_failed(
                command.program.to_string_lossy().into_owned(),
                command.command_line(),
                e,
            );
        }
        r
    }

    fn record_refusal(&self, refusal: &crate::capability::ScopedRefusal<'_>) {
        let ev = if matches!(refusal.operation, Operation::SpawnProcess { .. }) {
            self.spawn_failed_in(
                refusal.program.clone(),
                refusal.command.clone(),
                refusal.error,
                Some(refusal.scope),
            );
            return;
        } else {
            AuditEvent::new(
                domains::PROCESS,
                refusal.program.clone(),
                events::PROCESS_DENIED,
            )
            .with_severity(Severity::Warning)
            .with_metadata(keys::PROCESS_COMMAND, json!(refusal.command))
            .with_metadata("process.operation", refusal.operation.name())
            .with_metadata(keys::PROCESS_REASON, refusal.error.message.clone())
            .with_metadata(keys::ERROR_KIND, refusal.error.kind.as_str())
        };
        self.emit(with_scope(ev, Some(refusal.scope)));
    }

    fn audit_failure(&self) -> Option<crate::audit::AuditFailure> {
        match lock(&self.failure).clone() {
            Some(error) => Some(crate::audit::AuditFailure {
                error,
                required: self.required,
            }),
            None => self.inner.audit_failure(),
        }
    }

    fn threads(&self) -> Option<&dyn ThreadCapability> {
        Some(self)
    }

    fn release_process(&self, handle: ProcessHandle) -> Result<(), ProcessError> {
        if self.discards {
            return self.inner.release_process(handle);
        }
        // A wait may have seen the end without this layer (e.g. through `process_info`).
        if let Ok(Some(end)) = self.inner.process_info(handle).map(|i| i.termination) {
            self.record_end(handle, end);
        }
        let r = self.inner.release_process(handle);
        if r.is_ok() {
            if let Some(t) = lock(&self.processes).remove(&handle) {
                let ev = self
                    .process_event(&t, events::PROCESS_RELEASED, Severity::Info)
                    .with_metadata("process.ended", t.ended);
                self.emit(ev);
            }
        }
        r
    }
}

impl<C: ProcessCapability> AuditLayer<C> {
    /// A wait reported that a collected stream passed its cap (the process still runs).
    fn output_capped(&self, handle: ProcessHandle, stream: StdStream) {
        let t = {
            let mut map = lock(&self.processes);
            let Some(t) = map.get_mut(&handle) else {
                return;
            };
            t.capped = true;
            t.clone()
        };
        let which = match stream {
            StdStream::Stdin => "stdin",
            StdStream::Stdout => "stdout",
            StdStream::Stderr => "stderr",
        };
        let ev = self
            .process_event(&t, "process.wait", Severity::Warning)
            .with_metadata("process.result", "output_capped")
            .with_metadata("process.stream", which);
        self.emit(ev);
    }

    /// The `process.kill` record; `enforced` for the capability's own limit enforcement.
    fn record_kill(
        &self,
        handle: ProcessHandle,
        signal: Signal,
        r: &Result<(), ProcessError>,
        group: bool,
        targets: Option<&[i32]>,
        enforced: bool,
    ) {
        let t = {
            let mut map = lock(&self.processes);
            match map.get_mut(&handle) {
                Some(t) => {
                    // A tree signal that found nothing left sent nothing.
                    let sent = targets.map_or(true, |pids| !pids.is_empty());
                    if r.is_ok() && sent && signal != Signal::CONT {
                        t.sent |= signal_bit(signal);
                    }
                    t.clone()
                }
                None => return,
            }
        };
        let mut ev = self
            .process_event(&t, "process.kill", Severity::Info)
            .with_metadata(keys::PROCESS_SIGNAL, signal.number())
            .with_metadata("process.group", group);
        if enforced {
            ev = ev.with_metadata("process.enforced", true);
        }
        if let Some(pids) = targets {
            ev = ev.with_metadata(keys::PROCESS_TARGETS, pids);
        }
        if let Err(e) = r {
            ev = ev
                .with_severity(Severity::Warning)
                .with_metadata(keys::ERROR_MESSAGE, e.message.clone());
        }
        self.emit(ev);
    }
}

impl<C: ProcessCapability> Drop for AuditLayer<C> {
    /// Shutdown: every handle still held is reported (`process.leaked`, `thread.leaked`).
    /// The documented choice is "leave and reap": nothing is killed; the native capability
    /// hands running children to its reaper.
    fn drop(&mut self) {
        let procs: Vec<Tracked> = lock(&self.processes).drain().map(|(_, t)| t).collect();
        for t in procs {
            let ev = self
                .process_event(&t, events::PROCESS_LEAKED, Severity::Warning)
                .with_metadata("process.ended", t.ended);
            self.emit(ev);
        }
        let threads: Vec<ThreadHandle> = lock(&self.threads).drain().map(|(h, _)| h).collect();
        for h in threads {
            let ev = AuditEvent::new(domains::THREAD, h.to_string(), events::THREAD_LEAKED)
                .with_severity(Severity::Warning)
                .with_metadata(keys::THREAD_ID, h.to_string());
            self.emit(ev);
        }
    }
}

/// How a refusal by [`AuditLayer::gate_start`] names what it refused (`spawn refused: …`,
/// `create_thread refused: …`).
fn started(op: Operation) -> &'static str {
    match op {
        Operation::SpawnProcess { .. } => "spawn",
        other => other.name(),
    }
}

/// The `process.id` of a process ([`keys::PROCESS_ID`]): `PID:START:BOOT` when its start
/// time and the boot id are known, else `PID:UUID` with a fresh random UUID.
fn lifecycle_key(pid: i32, start_time: Option<u64>) -> String {
    match (start_time, crate::sys::imp::process::boot_id()) {
        (Some(start), Some(boot)) => format!("{pid}:{start}:{boot}"),
        _ => format!("{pid}:{}", uuid::Uuid::new_v4()),
    }
}

/// `event` with `capability.scope` (the narrowed capability, `core.process/job-7`) and
/// `capability.parent` (the one it was narrowed from) when it went through one.
fn with_scope(event: AuditEvent, scope: Option<&str>) -> AuditEvent {
    match scope {
        Some(s) => event
            .with_metadata(keys::CAPABILITY_SCOPE, s)
            .with_metadata(
                keys::CAPABILITY_PARENT,
                s.rsplit_once('/').map_or(s, |(p, _)| p),
            ),
        None => event,
    }
}

/// `signal`'s bit in [`Tracked::sent`]; 0 for a number outside 1..=64.
fn signal_bit(signal: Signal) -> u64 {
    match signal.number() {
        n @ 1..=64 => 1 << (n - 1),
        _ => 0,
    }
}
