//! A narrowed capability (`docs/policy.md`): a child capability a host mints from its own
//! for one job, with a further policy, that can be revoked.
//!
//! ```text
//!   job ─▶ NarrowedCapability ─▶ its PolicyLayer (the further policy)
//!                                      │
//!                                      ▼
//!                    the parent: AuditLayer ─▶ PolicyLayer ─▶ native
//! ```
//!
//! Both halves are built by [`crate::stack`]: the parent by [`crate::stack::build`], the
//! narrowing by [`crate::stack::narrow`]. See [`NarrowedCapability`].

use std::collections::HashSet;
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::capability::{
    ProcessCapability, ProcessHandle, ProcessInfo, RunPlan, ScopedRefusal, StdStream,
};
use crate::command::{Command, Environment};
use crate::effect::Operation;
use crate::error::{ProcessError, ThreadError, ThreadErrorKind};
use crate::policy::Policy;
use crate::prepare::PreparedCommand;
use crate::signal::Signal;
use crate::status::ExitStatus;
use crate::thread::{
    CpuSet, ThreadCapability, ThreadHandle, ThreadInfo, ThreadOptions, ThreadResult, ThreadStart,
};
use crate::wait::{CollectedOutput, WaitEvent, WaitOptions};

use super::guard::PolicyLayer;

/// The scope of a capability that was not narrowed (the root of every scope path).
pub const ROOT_SCOPE: &str = "core.process";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A capability narrowed from a parent capability with a further policy, for one job; it
/// can be **revoked**.
///
/// # What it allows
/// Every call passes the further policy first (a [`PolicyLayer`] of its own: effects,
/// programs with their argument rules and content pins, environment, cwd, signals, limits)
/// and then goes to the parent, which checks everything it checks (its own policy) and
/// records it. So a call succeeds only when **both** allow it — the decision of
/// [`Policy::narrow`] of the two — and nothing the parent refuses becomes possible.
///
/// - Children spawned through it count against its own `max_processes` **and** the
///   parent's (the parent's security layer sees every spawn).
/// - It acts only on the processes spawned through it: a handle of the parent's own
///   children (or another narrowed capability's) is `InvalidCommand` here.
/// - Threads go through the further policy too, then to the parent.
/// - A narrowed capability can be narrowed again ([`NarrowedCapability::narrow`]); each
///   level adds its policy.
///
/// # Revocation
/// [`revoke`](NarrowedCapability::revoke) first makes every later call of this capability
/// (and of those narrowed from it) `PermissionDenied`, then ends every process spawned
/// through it that is still held — each **whole tree**: `TERM` (when its policies allow it)
/// through [`ProcessCapability::enforce_limit`], the grace period (while any process of a
/// tree is alive), then `KILL` until nothing is left — waits for them and releases their
/// handles. A spawn that races with the revocation is ended too: a process either was
/// never started or is ended by it.
///
/// # Audit
/// Every record of a process spawned through it carries `capability.scope` (this
/// capability: the parent's scope, `/`, its name, e.g. `core.process/job-7`) and
/// `capability.parent` (`core.process`). The records are written by the parent's audit
/// layer (one record per event, not one per level). Refusals by the further policy itself
/// never reach the parent's checks, so they are handed to it
/// ([`ProcessCapability::record_refusal`]) and recorded as `process.denied` with the same
/// keys: spawns, and signals refused by `allowed_signals`.
///
/// # Examples
/// See `examples/narrow_and_revoke.rs`; the host's stack and the narrowing are built by
/// [`crate::stack`]:
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use reml_process::policy::Policy;
/// use reml_process::*;
///
/// let host: Arc<dyn ProcessCapability> = Arc::new(stack::guard(Arc::new(
///     Policy::from_toml_str("[commands]\nallow = [\"/bin/sleep\", \"/bin/echo\"]\n").unwrap(),
/// )));
/// let job = stack::narrow(
///     host.clone(),
///     Policy::from_toml_str("[commands]\nallow = []\n[[commands.rule]]\nprogram = \"/bin/sleep\"\nargs = [[\"*\"]]\n").unwrap(),
///     "job-7",
/// )?;
/// let mut cmd = Command::new("/bin/sleep");
/// cmd.arg("60");
/// job.spawn_process(&cmd, &Environment::default())?;          // allowed by both
/// let report = job.revoke(Duration::from_secs(2));             // ends it, whole tree
/// assert_eq!(report.ended, 1);
/// assert!(job.spawn_process(&cmd, &Environment::default()).is_err()); // revoked
/// # Ok::<(), ProcessError>(())
/// ```
pub struct NarrowedCapability {
    layer: PolicyLayer<Arc<dyn ProcessCapability>>,
    scope: Arc<str>,
    revoked: Arc<AtomicBool>,
    /// Revocation flags of the capabilities this one was narrowed from (a revoked parent
    /// revokes its children's calls too).
    ancestors: Vec<Arc<AtomicBool>>,
    spawned: Mutex<HashSet<ProcessHandle>>,
}

/// What [`NarrowedCapability::revoke`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Revocation {
    /// How many processes spawned through the capability were still held and were ended
    /// (waited for and released).
    pub ended: usize,
    /// The pids the ending signalled (children and their descendants), first round.
    pub signalled: Vec<i32>,
    /// Processes that could not be waited for or released (their errors), if any.
    pub errors: Vec<ProcessError>,
}

fn check_name(name: &str) -> Result<(), ProcessError> {
    if name.is_empty() || name.contains('/') || name.chars().any(char::is_control) {
        return Err(ProcessError::invalid(format!(
            "narrowed capability name `{}`: it must be non-empty, without `/` or control characters",
            name.escape_default()
        )));
    }
    Ok(())
}

impl NarrowedCapability {
    /// Mints a capability from `parent` with the further `policy`, named `name` (its
    /// scope is `core.process/NAME`). The further policy's programs are resolved now, as
    /// for any [`PolicyLayer`].
    ///
    /// # Errors
    /// `InvalidCommand` when `name` is empty or contains `/` or a control character.
    pub fn new(
        parent: Arc<dyn ProcessCapability>,
        policy: Policy,
        name: &str,
    ) -> Result<Arc<NarrowedCapability>, ProcessError> {
        check_name(name)?;
        Ok(Arc::new(Self::build(
            parent,
            policy,
            format!("{ROOT_SCOPE}/{name}"),
            Vec::new(),
        )))
    }

    /// Mints a capability from this one with a further `policy` (its scope is this one's,
    /// `/`, `name`). Revoking this capability also refuses the new one's calls (the
    /// processes it spawned are this capability's too, so they are ended).
    ///
    /// # Errors
    /// As [`NarrowedCapability::new`].
    pub fn narrow(
        self: &Arc<Self>,
        policy: Policy,
        name: &str,
    ) -> Result<Arc<NarrowedCapability>, ProcessError> {
        check_name(name)?;
        let mut ancestors = self.ancestors.clone();
        ancestors.push(self.revoked.clone());
        let parent: Arc<dyn ProcessCapability> = self.clone();
        Ok(Arc::new(Self::build(
            parent,
            policy,
            format!("{}/{name}", self.scope),
            ancestors,
        )))
    }

    fn build(
        parent: Arc<dyn ProcessCapability>,
        policy: Policy,
        scope: String,
        ancestors: Vec<Arc<AtomicBool>>,
    ) -> NarrowedCapability {
        let scope: Arc<str> = scope.into();
        let mut layer = crate::stack::guard_over(parent, Arc::new(policy));
        layer.set_capability_scope(scope.clone());
        NarrowedCapability {
            layer,
            scope,
            revoked: Arc::new(AtomicBool::new(false)),
            ancestors,
            spawned: Mutex::new(HashSet::new()),
        }
    }

    /// The scope: `core.process/NAME` (or the parent's scope, `/`, `NAME`), as the audit
    /// records name it (`capability.scope`).
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The further policy (what this capability adds to its parent's).
    pub fn policy(&self) -> &Policy {
        self.layer.policy()
    }

    /// Whether this capability, or one it was narrowed from, was revoked.
    pub fn is_revoked(&self) -> bool {
        self.revoked.load(Ordering::SeqCst)
            || self.ancestors.iter().any(|a| a.load(Ordering::SeqCst))
    }

    /// The processes spawned through this capability that it still holds.
    pub fn processes(&self) -> Vec<ProcessHandle> {
        lock(&self.spawned).iter().copied().collect()
    }

    /// Revokes the capability (see the [type docs](NarrowedCapability#revocation)):
    /// later calls are `PermissionDenied`; every process spawned through it and still held
    /// is ended as a whole tree (`TERM`, up to `grace`, then `KILL`), waited for and
    /// released. Revoking again does nothing more.
    ///
    /// Never fails; what could not be done is in [`Revocation::errors`].
    pub fn revoke(&self, grace: Duration) -> Revocation {
        self.revoked.store(true, Ordering::SeqCst);
        let handles: Vec<ProcessHandle> = lock(&self.spawned).drain().collect();
        self.end_all(&handles, grace)
    }

    /// Ends `handles` (whole trees), waits for them and releases them.
    fn end_all(&self, handles: &[ProcessHandle], grace: Duration) -> Revocation {
        let cap = &self.layer;
        let mut out = Revocation {
            ended: handles.len(),
            ..Revocation::default()
        };
        let grace_end = Instant::now().checked_add(grace);
        let mut termed = false;
        for &h in handles {
            // TERM may be refused by a policy's allowed_signals: then KILL below.
            if let Ok(pids) = cap.enforce_limit(h, Signal::TERM) {
                termed = true;
                out.signalled.extend(pids);
            }
        }
        // The whole grace period while any process of any tree is alive (an exited child
        // counts as ended: its pidfd says so before it is reaped).
        while termed && grace_end.map_or(true, |end| Instant::now() < end) {
            let alive = handles
                .iter()
                .any(|&h| cap.process_tree(h).is_ok_and(|t| !t.is_empty()));
            if !alive {
                break;
            }
            let slice = grace_end
                .map_or(Duration::from_millis(20), |end| {
                    end.saturating_duration_since(Instant::now())
                })
                .min(Duration::from_millis(20));
            std::thread::sleep(slice);
        }
        for &h in handles {
            match cap.enforce_limit(h, Signal::KILL) {
                Ok(pids) if !termed => out.signalled.extend(pids),
                Ok(_) => {}
                Err(e) => out.errors.push(e),
            }
        }
        for &h in handles {
            let end = cap.wait_with_options(h, &WaitOptions::with_timeout(Duration::from_secs(10)));
            if let Err(e) = end {
                if e.kind == crate::error::ProcessErrorKind::TimedOut {
                    out.errors.push(e);
                }
            }
            if let Err(e) = cap.release_process(h) {
                out.errors.push(e);
            }
        }
        out
    }

    fn check_open(&self, operation: &str) -> Result<(), ProcessError> {
        if self.is_revoked() {
            return Err(ProcessError::denied_by_policy(format!(
                "{operation}: the capability {} was revoked",
                self.scope
            )));
        }
        Ok(())
    }

    fn check_own(&self, handle: ProcessHandle) -> Result<(), ProcessError> {
        if lock(&self.spawned).contains(&handle) {
            Ok(())
        } else {
            Err(ProcessError::invalid(format!(
                "process handle {handle:?} was not spawned through the capability {} (or was released)",
                self.scope
            )))
        }
    }

    fn gate(&self, operation: &str, handle: ProcessHandle) -> Result<(), ProcessError> {
        self.check_open(operation)?;
        self.check_own(handle)
    }

    /// Hands a refusal of the further policy to the parent's audit.
    fn refused(
        &self,
        operation: Operation,
        program: String,
        command: Vec<String>,
        error: &ProcessError,
    ) {
        self.layer.inner().record_refusal(&ScopedRefusal {
            scope: &self.scope,
            operation,
            program,
            command,
            error,
        });
    }

    /// Takes a freshly spawned handle: kept, unless a revocation came meanwhile (then it
    /// is ended at once, and the spawn refused).
    fn adopt(&self, h: ProcessHandle) -> Result<ProcessHandle, ProcessError> {
        {
            let mut set = lock(&self.spawned);
            if !self.revoked.load(Ordering::SeqCst) {
                set.insert(h);
                return Ok(h);
            }
        }
        let _ = self.end_all(&[h], Duration::ZERO);
        Err(ProcessError::denied_by_policy(format!(
            "spawn_process: the capability {} was revoked",
            self.scope
        )))
    }

    fn spawn(
        &self,
        command: &Command,
        own: Result<PreparedCommand, ProcessError>,
    ) -> Result<ProcessHandle, ProcessError> {
        let own = own.and_then(|p| self.layer.check_live().map(|()| p));
        let prepared = match own {
            Ok(p) => p,
            Err(e) => {
                self.refused(
                    Operation::SpawnProcess {
                        passes_fds: !command.fd_mappings.is_empty(),
                    },
                    command.program.to_string_lossy().into_owned(),
                    command.command_line(),
                    &e,
                );
                return Err(e);
            }
        };
        let h = self.layer.spawn_checked(prepared)?;
        self.adopt(h)
    }

    fn signal_check(
        &self,
        operation: &'static str,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<(), ProcessError> {
        self.gate(operation, handle)?;
        if let Err(e) = self.layer.check_signal(signal) {
            let (program, command) = match self.layer.process_info(handle) {
                Ok(i) => (i.program.to_string_lossy().into_owned(), i.command_line),
                Err(_) => (String::new(), Vec::new()),
            };
            self.refused(Operation::KillProcess, program, command, &e);
            return Err(e);
        }
        Ok(())
    }

    fn thread_gate(&self, kind: ThreadErrorKind) -> Result<(), ThreadError> {
        self.check_open("thread")
            .map_err(|e| ThreadError::new(kind, format!("permission denied: {}", e.message)))
    }
}

/// Every call on a handle is gated (not revoked, spawned through this capability), so those
/// are all written; `audit_failure` and `record_refusal` pass to its [`PolicyLayer`] (and so
/// to the parent) unchanged.
impl ProcessCapability for NarrowedCapability {
    fn inner(&self) -> Option<&dyn ProcessCapability> {
        Some(&self.layer)
    }

    fn spawn_process(
        &self,
        command: &Command,
        env: &Environment,
    ) -> Result<ProcessHandle, ProcessError> {
        self.check_open("spawn_process")?;
        let own = self.layer.prepare(command, env).and_then(|mut p| {
            self.layer.check_prepared(&mut p)?;
            Ok(p)
        });
        self.spawn(command, own)
    }

    fn spawn_prepared(&self, mut prepared: PreparedCommand) -> Result<ProcessHandle, ProcessError> {
        self.check_open("spawn_process")?;
        let command = prepared.command.clone();
        let own = self
            .layer
            .check_spawn_effects(&command)
            .and_then(|()| self.layer.check_prepared(&mut prepared));
        self.spawn(&command, own.map(|()| prepared))
    }

    fn kill_process(&self, handle: ProcessHandle, signal: Signal) -> Result<(), ProcessError> {
        self.signal_check("kill_process", handle, signal)?;
        self.layer.kill_process(handle, signal)
    }

    fn kill_process_group(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<(), ProcessError> {
        self.signal_check("kill_process_group", handle, signal)?;
        self.layer.kill_process_group(handle, signal)
    }

    fn kill_process_tree(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<Vec<i32>, ProcessError> {
        self.signal_check("kill_process_tree", handle, signal)?;
        self.layer.kill_process_tree(handle, signal)
    }

    fn enforce_limit(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<Vec<i32>, ProcessError> {
        // Ending what runs is never refused for revocation: only the handle must be ours.
        self.check_own(handle)?;
        self.layer.enforce_limit(handle, signal)
    }

    fn check_run(&self, command: &Command, plan: &RunPlan) -> Result<(), ProcessError> {
        self.check_open("check_run")?;
        self.layer.check_run(command, plan)
    }

    fn process_tree(&self, handle: ProcessHandle) -> Result<Vec<i32>, ProcessError> {
        self.gate("process_tree", handle)?;
        self.layer.process_tree(handle)
    }

    fn wait_event(
        &self,
        handle: ProcessHandle,
        options: &WaitOptions,
    ) -> Result<WaitEvent, ProcessError> {
        self.gate("wait_event", handle)?;
        self.layer.wait_event(handle, options)
    }

    fn wait_with_options(
        &self,
        handle: ProcessHandle,
        options: &WaitOptions,
    ) -> Result<ExitStatus, ProcessError> {
        self.gate("wait_with_options", handle)?;
        self.layer.wait_with_options(handle, options)
    }

    fn take_output(&self, handle: ProcessHandle) -> Result<CollectedOutput, ProcessError> {
        self.gate("take_output", handle)?;
        self.layer.take_output(handle)
    }

    fn take_pipe(
        &self,
        handle: ProcessHandle,
        stream: StdStream,
    ) -> Result<Option<File>, ProcessError> {
        self.gate("take_pipe", handle)?;
        self.layer.take_pipe(handle, stream)
    }

    fn process_info(&self, handle: ProcessHandle) -> Result<ProcessInfo, ProcessError> {
        self.gate("process_info", handle)?;
        self.layer.process_info(handle)
    }

    /// Gated, then `None`: a narrowed capability does not pass the start time on (the
    /// parent's audit layer, which records `process.id`, asks its own inner capability).
    fn process_start_time(&self, handle: ProcessHandle) -> Result<Option<u64>, ProcessError> {
        self.process_info(handle).map(|_| None)
    }

    fn threads(&self) -> Option<&dyn ThreadCapability> {
        Some(self)
    }

    fn release_process(&self, handle: ProcessHandle) -> Result<(), ProcessError> {
        self.gate("release_process", handle)?;
        self.layer.release_process(handle)?;
        lock(&self.spawned).remove(&handle);
        Ok(())
    }
}

impl ThreadCapability for NarrowedCapability {
    fn create_thread(
        &self,
        start: ThreadStart,
        options: ThreadOptions,
    ) -> Result<ThreadHandle, ThreadError> {
        self.thread_gate(ThreadErrorKind::CreationFailed)?;
        ThreadCapability::create_thread(&self.layer, start, options)
    }

    fn join_thread(
        &self,
        handle: ThreadHandle,
        timeout: Option<Duration>,
    ) -> Result<ThreadResult, ThreadError> {
        self.thread_gate(ThreadErrorKind::JoinFailed)?;
        ThreadCapability::join_thread(&self.layer, handle, timeout)
    }

    fn set_thread_affinity(&self, handle: ThreadHandle, cpus: &CpuSet) -> Result<(), ThreadError> {
        self.thread_gate(ThreadErrorKind::InvalidAffinity)?;
        ThreadCapability::set_thread_affinity(&self.layer, handle, cpus)
    }

    fn get_thread_affinity(&self, handle: ThreadHandle) -> Result<CpuSet, ThreadError> {
        self.thread_gate(ThreadErrorKind::InvalidAffinity)?;
        self.layer.get_thread_affinity(handle)
    }

    fn release_thread(&self, handle: ThreadHandle) -> Result<(), ThreadError> {
        self.thread_gate(ThreadErrorKind::JoinFailed)?;
        self.layer.release_thread(handle)
    }

    fn thread_info(&self, handle: ThreadHandle) -> Result<ThreadInfo, ThreadError> {
        self.layer.thread_info(handle)
    }

    fn running_threads(&self) -> usize {
        self.layer.running_threads()
    }

    fn outstanding_threads(&self) -> Vec<ThreadHandle> {
        self.layer.outstanding_threads()
    }
}
