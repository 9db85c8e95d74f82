//! The security policy layer: the policy (`docs/policy.md`) holds on every single call.
//! Wrapped directly around the native backend, so no call reaches the OS without passing it,
//! and the native layer stays policy-free.
//!
//! # What is checked, and when (all before anything irreversible)
//! | call | checks |
//! |---|---|
//! | every call | its effects (`Operation::effects`) lie in the granted `effect_scope`, else `PermissionDenied` naming the missing effect (collecting output needs `memory`; passing descriptors `memory` and `pass_fds = true`) |
//! | `spawn_process` | environment: a variable on `[env] deny` (or off a non-empty `[env] allow`) asked for explicitly is `PermissionDenied`; an inherited one is dropped; `[env] inherit = false` starts from nothing. Then the program is resolved exactly as it will run (bare names in the child's final `PATH`, relative paths against the child's cwd) and its **canonical path and identity** (device + inode) must be those of an allowed program as resolved when the layer was built (installation); a program named only by `[[commands.rule]]` must also match a rule's argument patterns and content pin (`ResolvedPrograms::decide`, which `check_command` shares). The cwd, canonicalised, must lie under an `allowed_cwd` root. At most `max_processes` children alive at once. The policy's rlimits are applied: the stricter of the command's and the policy's, a policy value being a ceiling that never exceeds the hard limit the child inherits (a value the host cannot grant gives the host's limit, never a failed spawn; a stricter value the command asked for itself is applied as asked, and a refusal by the OS fails the spawn naming it). `max_wall_time` caps the wait for a stdio FIFO's other end (`Command::stdio_open_timeout`). |
//! | `kill_process[_group]`, `kill_process_tree` | the signal is in `allowed_signals` (`CONT`, which only resumes a stopped child and follows every time-limit signal, is always allowed) |
//! | `spawn_process`, parent-death signal | a [`Command::parent_death_signal`] must be in `allowed_signals`, or `KILL`/`CONT` (the caller chose it to be sent to the child, so it must be one it could send; `KILL` ends the job, which the capability may always do) |
//! | `check_run` (before a supervised job starts) | the effects of its waits (collecting needs `memory`); when a time limit or an output-cap kill will apply (the caller's, `max_wall_time` or `output_cap_action = "kill"`), the time-limit signal is in `allowed_signals` (`KILL` always is) |
//! | `enforce_limit` | nothing but the signal: `KILL` and `CONT` always pass, another one when allowed — `allowed_signals` restricts what a caller may send, never the capability's own limits |
//! | `wait_*` | `max_wall_time` caps the wait's time limit (a wait without one gets it); `max_output_bytes` caps collection; with `output_cap_action = "kill"`, `wait_event` reports the cap and `wait_with_options` ends the tree with `KILL` when a collected stream passes it |
//! | threads | `max_threads` alive at once, `max_thread_priority`, `allowed_cpus` |
//!
//! # The file that was checked is the file that runs
//! The layer opens the allowed program (close-on-exec), checks the **open descriptor's**
//! identity against the allow-list, and the child execs **that descriptor**
//! (`execveat(fd, "", …, AT_EMPTY_PATH)`). Renaming another file over the path after the
//! check changes nothing: the descriptor still names the checked inode. We chose exec by
//! descriptor over "pin device+inode and re-check at exec time" because the re-check leaves a
//! window between the check and `execve(path)`; exec by descriptor leaves none.
//! A script (`#!`) is the one exception: exec'd by descriptor, the kernel would hand its
//! interpreter `/dev/fd/N` as the script's name (`$0`), which breaks wrapper scripts. So a
//! script is exec'd by its canonical path, and the child checks, immediately before
//! `execve`, that the file there still has the identity the policy allowed (a replaced file
//! is refused with `PermissionDenied`). The window left is between that check and the
//! kernel's own open in `execve` — microseconds, but not zero; a reviewer who cannot accept
//! it should allow binaries only. The interpreter itself is whatever the script names — which
//! is why the review warns about allowing interpreters and launchers.
//!
//! # What is not guaranteed
//! At `isolation_level = "none"` (the default) the policy does not sandbox the child: once
//! running, an allowed program can do whatever its uid may (open files, spawn its own
//! children, talk to the network). `sandboxed` and `full_isolation` confine it (the guard
//! hands [`SandboxRules`](crate::sandbox::SandboxRules) to the backend, which refuses a
//! level the kernel cannot provide; `docs/sandbox.md`). Limits on descendants come from the
//! rlimits only.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::capability::{ProcessCapability, ProcessHandle, RunPlan};
use crate::command::{Command, Environment};
use crate::effect::{EffectSet, Operation};
use crate::error::{ProcessError, ThreadError, ThreadErrorKind};
use crate::policy::{DigestCache, FileId, OutputCapAction, Policy, ResolvedPrograms};
use crate::prepare::PreparedCommand;

use super::decision::denial_text;
use crate::signal::Signal;
use crate::status::ExitStatus;
use crate::thread::{
    CpuSet, ThreadCapability, ThreadHandle, ThreadInfo, ThreadOptions, ThreadResult, ThreadStart,
};
use crate::wait::{WaitEvent, WaitOptions};
use rlimits::merge_rlimits;

mod rlimits;
#[cfg(test)]
mod tests;

/// The security policy around an inner capability (see the module docs).
pub struct PolicyLayer<C: ProcessCapability> {
    inner: C,
    policy: Arc<Policy>,
    scope: EffectSet,
    programs: ResolvedPrograms,
    digests: DigestCache,
    /// The narrowed capability this layer guards, stamped on what it spawns (audit).
    capability_scope: Option<Arc<str>>,
    cwd_roots: Option<Vec<std::path::PathBuf>>,
    live: Mutex<HashSet<ProcessHandle>>,
    /// Serialises the max_threads check with the creation.
    thread_gate: Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<C: ProcessCapability> PolicyLayer<C> {
    /// Wraps `inner` with `policy`. The allowed programs are resolved now (installation):
    /// their canonical paths and identities are what every spawn is compared against, so a
    /// binary replaced after this point is refused.
    pub fn new(inner: C, policy: Arc<Policy>) -> Self {
        PolicyLayer {
            scope: policy.effect_scope(),
            programs: policy.resolve_programs(),
            digests: DigestCache::new(),
            capability_scope: None,
            cwd_roots: policy.allowed_cwd_roots(),
            inner,
            policy,
            live: Mutex::new(HashSet::new()),
            thread_gate: Mutex::new(()),
        }
    }

    /// Stamps `scope` on what this layer spawns (the audit's `capability.scope`).
    pub(super) fn set_capability_scope(&mut self, scope: Arc<str>) {
        self.capability_scope = Some(scope);
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The wrapped capability.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    fn missing_effect(&self, op: Operation) -> Option<String> {
        let missing = op.effects().difference(self.scope);
        (!missing.is_empty()).then(|| {
            format!(
                "{} needs effect {missing}, which is not in the granted effect_scope {}",
                op.name(),
                self.scope
            )
        })
    }

    fn check_effects(&self, op: Operation) -> Result<(), ProcessError> {
        match self.missing_effect(op) {
            Some(m) => Err(ProcessError::denied_by_policy(m)),
            None => Ok(()),
        }
    }

    pub(super) fn check_spawn_effects(&self, command: &Command) -> Result<(), ProcessError> {
        let passes_fds = !command.fd_mappings.is_empty();
        self.check_effects(Operation::SpawnProcess { passes_fds })?;
        if passes_fds && !self.policy.commands.pass_fds {
            return Err(ProcessError::denied_by_policy(format!(
                "{}: passing descriptors is not allowed by the policy ([commands] pass_fds = false)",
                crate::error::os_text(&command.program)
            )));
        }
        Ok(())
    }

    /// Explicit requests for variables the policy refuses.
    fn check_env_requests<'a>(
        &self,
        edits: impl Iterator<Item = (&'a OsStr, Option<&'a OsStr>)>,
    ) -> Result<(), ProcessError> {
        for (k, v) in edits {
            if v.is_some() && !self.policy.env_passes(k) {
                let why = if self.policy.env_denied(k) {
                    "is on the policy's [env] deny list"
                } else {
                    "is not on the policy's [env] allow list"
                };
                return Err(ProcessError::denied_by_policy(format!(
                    "environment variable {} {why}",
                    crate::error::os_text(k)
                )));
            }
        }
        Ok(())
    }

    pub(super) fn check_live(&self) -> Result<(), ProcessError> {
        let Some(max) = self.policy.limits.max_processes else {
            return Ok(());
        };
        let mut live = lock(&self.live);
        live.retain(|h| {
            self.inner
                .process_info(*h)
                .is_ok_and(|i| i.termination.is_none())
        });
        if live.len() as u64 >= max {
            return Err(ProcessError::denied_by_policy(format!(
                "{} children are alive through this capability; the policy allows {max} ([limits] max_processes)",
                live.len()
            )));
        }
        Ok(())
    }

    /// The program, cwd, environment and rlimit checks on a prepared command; opens the
    /// checked file for exec by descriptor.
    pub(super) fn check_prepared(
        &self,
        prepared: &mut PreparedCommand,
    ) -> Result<(), ProcessError> {
        self.check_env_requests(prepared.command.env.edits())?;
        let policy = &self.policy;
        prepared.retain_env(|k| policy.env_passes(k));
        self.check_program(prepared)?;
        self.check_cwd(prepared.command.cwd.as_deref())?;
        // The parent-death signal is one the caller chose to have sent to the child: it must
        // be one the caller could send itself. (No `signal` effect is needed: the kernel
        // sends it, not a call of ours.)
        if let Some(signal) = prepared.command.parent_death_signal {
            if signal != Signal::CONT
                && signal != Signal::KILL
                && !self.policy.is_signal_allowed(signal)
            {
                return Err(ProcessError::denied_by_policy(format!(
                    "parent-death signal {signal} is not allowed by the policy ([commands] allowed_signals)"
                )));
            }
        }
        prepared.rlimits = merge_rlimits(
            &prepared.rlimits,
            &self.policy.child_rlimits(),
            crate::sys::imp::process::hard_rlimit,
        );
        // Sandbox hook (`crate::sandbox`): the isolation level is enforced on the child.
        if let Some(rules) = crate::sandbox::SandboxRules::from_policy(&self.policy) {
            prepared.sandbox = Some(rules);
        }
        // No wait may ask for longer than `max_wall_time`: the wait of the spawn for a FIFO's
        // other end neither.
        if let Some(max) = self.policy.limits.max_wall_time {
            let limit = &mut prepared.command.stdio_open_timeout;
            *limit = Some(limit.map_or(max, |t| t.min(max)));
        }
        Ok(())
    }

    fn check_program(&self, prepared: &mut PreparedCommand) -> Result<(), ProcessError> {
        let shown = crate::error::os_text(&prepared.program).to_string();
        let deny = |why: String| {
            ProcessError::denied_by_policy(format!("{shown}: denied by the policy: {why}"))
        };
        let (canonical, file) = match open_canonical(&prepared.program) {
            Some(found) => found,
            None => {
                let canonical = std::fs::canonicalize(&prepared.program)
                    .map_err(|e| deny(format!("cannot resolve its canonical path ({e})")))?;
                let file = File::open(&canonical).map_err(|e| {
                    deny(format!(
                        "cannot open {} ({e})",
                        crate::error::os_text(&canonical)
                    ))
                })?;
                (canonical, file)
            }
        };
        let meta = file.metadata().map_err(|e| {
            deny(format!(
                "cannot stat {} ({e})",
                crate::error::os_text(&canonical)
            ))
        })?;
        let id = FileId::of_metadata(&meta);
        let args = &prepared.command.args;
        match self
            .programs
            .decide(&canonical, id, &file, args, &self.digests)
        {
            Ok(grant) => prepared.policy_rule = Some(grant.rule),
            Err(d) => {
                prepared.policy_rule = d.rule.clone();
                return Err(deny(denial_text(&d)));
            }
        }
        let mut magic = [0u8; 2];
        let is_script = std::os::unix::fs::FileExt::read_at(&file, &mut magic, 0)
            .is_ok_and(|n| n == 2 && &magic == b"#!");
        if is_script {
            // Exec by the canonical path, checked for this identity in the child just before
            // execve, so the interpreter sees the script's real path as `$0`.
            prepared.program_c =
                std::ffi::CString::new(canonical.as_os_str().as_encoded_bytes())
                    .map_err(|_| deny("its canonical path contains a NUL byte".to_owned()))?;
            prepared.exec_identity = Some((id.dev, id.ino));
            prepared.exec_file = None;
        } else {
            prepared.exec_file = Some(file.into());
            prepared.exec_identity = None;
        }
        Ok(())
    }

    fn check_cwd(&self, cwd: Option<&Path>) -> Result<(), ProcessError> {
        let Some(roots) = &self.cwd_roots else {
            return Ok(());
        };
        let dir = match cwd {
            Some(d) => d.to_path_buf(),
            None => std::env::current_dir().map_err(|e| {
                ProcessError::denied_by_policy(format!("cannot read the current directory: {e}"))
            })?,
        };
        let canonical = std::fs::canonicalize(&dir).map_err(|e| {
            ProcessError::denied_by_policy(format!(
                "working directory {}: cannot resolve it ({e})",
                crate::error::os_text(&dir)
            ))
        })?;
        if roots.iter().any(|r| canonical.starts_with(r)) {
            Ok(())
        } else {
            Err(ProcessError::denied_by_policy(format!(
                "working directory {} (canonical {}) is not under an allowed directory of the policy ([commands] allowed_cwd)",
                crate::error::os_text(&dir),
                crate::error::os_text(&canonical)
            )))
        }
    }

    pub(super) fn check_signal(&self, signal: Signal) -> Result<(), ProcessError> {
        self.check_effects(Operation::KillProcess)?;
        // CONT only resumes a stopped child; the time-limit enforcement needs it after its
        // signal, so it is always allowed.
        if signal == Signal::CONT || self.policy.is_signal_allowed(signal) {
            Ok(())
        } else {
            Err(ProcessError::denied_by_policy(format!(
                "signal {signal} is not allowed by the policy ([commands] allowed_signals)"
            )))
        }
    }

    /// Whether this policy ends a job whose collected stream passes its cap.
    fn kills_on_output_cap(&self) -> bool {
        self.policy.limits.output_cap_action == OutputCapAction::Kill
    }

    /// A plain wait under `output_cap_action = "kill"`: waits through `wait_event` with the
    /// cap reported, ends the tree with `KILL` when a stream passes it, and returns the end.
    fn wait_killing_on_cap(
        &self,
        handle: ProcessHandle,
        options: &WaitOptions,
    ) -> Result<ExitStatus, ProcessError> {
        let deadline = options
            .timeout
            .and_then(|t| std::time::Instant::now().checked_add(t));
        let mut watch = WaitOptions {
            report_output_cap: true,
            ..options.clone()
        };
        loop {
            if let Some(d) = deadline {
                watch.timeout = Some(d.saturating_duration_since(std::time::Instant::now()));
            }
            match self.inner.wait_event(handle, &watch)? {
                WaitEvent::Ended(_) => break,
                WaitEvent::Stopped(_) => {}
                WaitEvent::OutputCapped(_) => {
                    self.inner.enforce_limit(handle, Signal::KILL)?;
                    watch.report_output_cap = false;
                }
            }
        }
        // The end has been seen: this returns it at once, in the usual shape.
        self.inner.wait_with_options(handle, options)
    }

    /// The effect check of a wait, and its options capped by `max_wall_time` and
    /// `max_output_bytes`.
    ///
    /// `max_wall_time` is the child's wall time, counted from its spawn: a wait may ask
    /// for no more than what is left of it (so a job cannot outlive it by being waited for
    /// several times, e.g. across stops), and a wait once it has passed times out at once.
    fn checked_wait(
        &self,
        handle: ProcessHandle,
        options: &WaitOptions,
    ) -> Result<WaitOptions, ProcessError> {
        self.check_effects(Operation::WaitWithOptions {
            collect_output: options.collect_output,
        })?;
        let mut opts = options.clone();
        if let Some(max) = self.policy.limits.max_wall_time {
            let left = match self.inner.process_info(handle) {
                Ok(info) => max.saturating_sub(info.spawned_at.elapsed()),
                // A stale handle: the inner wait says so.
                Err(_) => max,
            };
            opts.timeout = Some(opts.timeout.map_or(left, |t| t.min(left)));
        }
        if let Some(max) = self.policy.limits.max_output_bytes {
            opts.max_output_bytes = opts.max_output_bytes.min(max);
        }
        Ok(opts)
    }

    /// What `spawn_process` does before the program, cwd and rlimit checks: the effects,
    /// the explicit environment requests, and the final environment (`inherit`, `deny`,
    /// `allow` applied), prepared against it.
    pub(super) fn prepare(
        &self,
        command: &Command,
        env: &Environment,
    ) -> Result<PreparedCommand, ProcessError> {
        self.check_spawn_effects(command)?;
        self.check_env_requests(env.edits())?;
        self.check_env_requests(command.env.edits())?;
        // The base: the caller's, without the parent's variables when the policy says so.
        let stripped;
        let base = if self.policy.env.inherit {
            env
        } else {
            let mut b = Environment::empty();
            for (k, v) in env.edits() {
                match v {
                    Some(v) => b.set(k, v),
                    None => b.remove(k),
                };
            }
            stripped = b;
            &stripped
        };
        // The final environment (`inherit`, `deny`, `allow` applied) as a block, without
        // the map, which a layer builds only if it reads it.
        let keep = |k: &OsStr| self.policy.env_passes(k);
        PreparedCommand::from_environment(command, base, Some(&keep))
    }

    pub(super) fn spawn_checked(
        &self,
        mut prepared: PreparedCommand,
    ) -> Result<ProcessHandle, ProcessError> {
        if prepared.scope.is_none() {
            prepared.scope.clone_from(&self.capability_scope);
        }
        self.check_live()?;
        let h = self.inner.spawn_prepared(prepared)?;
        lock(&self.live).insert(h);
        Ok(h)
    }

    fn thread_effects(&self, op: Operation, kind: ThreadErrorKind) -> Result<(), ThreadError> {
        match self.missing_effect(op) {
            Some(m) => Err(ThreadError::new(kind, format!("permission denied: {m}"))),
            None => Ok(()),
        }
    }

    fn threads_inner(&self) -> Result<&dyn ThreadCapability, ThreadError> {
        self.inner.threads().ok_or_else(|| {
            ThreadError::new(
                ThreadErrorKind::Unsupported,
                "this process capability carries no thread capability",
            )
        })
    }
}

/// The program file opened, with its canonical path read back from the descriptor
/// (`/proc/self/fd/N`: the kernel's path of the very file opened, so the same as
/// `canonicalize` gives, in one `readlink` instead of one per component — four for
/// `/bin/true` through the `/bin → usr/bin` link — and without a window between resolving
/// the path and opening it). `None` when that is not known for sure — the file cannot be
/// opened, `/proc` is not there, the link is not an absolute path or ends in ` (deleted)` —
/// and the caller then resolves and opens as before (`canonicalize`, then open), with its
/// messages.
fn open_canonical(program: &Path) -> Option<(std::path::PathBuf, File)> {
    use std::os::fd::AsRawFd;
    let file = File::open(program).ok()?;
    let link = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()?;
    let usable =
        link.is_absolute() && !link.as_os_str().as_encoded_bytes().ends_with(b" (deleted)");
    usable.then_some((link, file))
}

/// Writes only what the policy checks; the rest (`process_info`, `process_tree`,
/// `take_output`, `take_pipe`, `process_start_time`, `audit_failure`, `record_refusal`)
/// passes to the inner capability unchanged.
impl<C: ProcessCapability> ProcessCapability for PolicyLayer<C> {
    fn inner(&self) -> Option<&dyn ProcessCapability> {
        Some(&self.inner)
    }

    fn spawn_process(
        &self,
        command: &Command,
        env: &Environment,
    ) -> Result<ProcessHandle, ProcessError> {
        let mut prepared = self.prepare(command, env)?;
        self.check_prepared(&mut prepared)?;
        self.spawn_checked(prepared)
    }

    fn spawn_prepared(&self, mut prepared: PreparedCommand) -> Result<ProcessHandle, ProcessError> {
        self.check_spawn_effects(&prepared.command)?;
        self.check_prepared(&mut prepared)?;
        self.spawn_checked(prepared)
    }

    fn kill_process(&self, handle: ProcessHandle, signal: Signal) -> Result<(), ProcessError> {
        self.check_signal(signal)?;
        self.inner.kill_process(handle, signal)
    }

    fn kill_process_group(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<(), ProcessError> {
        self.check_signal(signal)?;
        self.inner.kill_process_group(handle, signal)
    }

    fn wait_with_options(
        &self,
        handle: ProcessHandle,
        options: &WaitOptions,
    ) -> Result<ExitStatus, ProcessError> {
        let opts = self.checked_wait(handle, options)?;
        if opts.collect_output && self.kills_on_output_cap() {
            return self.wait_killing_on_cap(handle, &opts);
        }
        self.inner.wait_with_options(handle, &opts)
    }

    fn wait_event(
        &self,
        handle: ProcessHandle,
        options: &WaitOptions,
    ) -> Result<WaitEvent, ProcessError> {
        let mut opts = self.checked_wait(handle, options)?;
        if self.kills_on_output_cap() {
            opts.report_output_cap = true;
        }
        self.inner.wait_event(handle, &opts)
    }

    fn enforce_limit(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<Vec<i32>, ProcessError> {
        if signal == Signal::KILL || signal == Signal::CONT || self.policy.is_signal_allowed(signal)
        {
            self.inner.enforce_limit(handle, signal)
        } else {
            Err(ProcessError::denied_by_policy(format!(
                "signal {signal} is not allowed by the policy ([commands] allowed_signals)"
            )))
        }
    }

    fn check_run(&self, command: &Command, plan: &RunPlan) -> Result<(), ProcessError> {
        self.check_effects(Operation::WaitWithOptions {
            collect_output: plan.collect_output,
        })?;
        let limited = plan.caller_limit
            || self.policy.limits.max_wall_time.is_some()
            || self.kills_on_output_cap();
        let signal = plan.signal;
        if !limited || signal == Signal::KILL || self.policy.is_signal_allowed(signal) {
            return self.inner.check_run(command, plan);
        }
        Err(ProcessError::denied_by_policy(format!(
            "{}: the time-limit signal {signal} is not allowed by the policy ([commands] allowed_signals); choose an allowed one (--signal)",
            command.program.display()
        )))
    }

    fn kill_process_tree(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<Vec<i32>, ProcessError> {
        self.check_signal(signal)?;
        self.inner.kill_process_tree(handle, signal)
    }

    fn threads(&self) -> Option<&dyn ThreadCapability> {
        Some(self)
    }

    fn release_process(&self, handle: ProcessHandle) -> Result<(), ProcessError> {
        self.check_effects(Operation::ReleaseProcess)?;
        self.inner.release_process(handle)?;
        lock(&self.live).remove(&handle);
        Ok(())
    }
}

fn priority_rank(name: &str) -> u8 {
    match name {
        "low" => 0,
        "normal" => 1,
        "high" => 2,
        _ => 3,
    }
}

impl<C: ProcessCapability> ThreadCapability for PolicyLayer<C> {
    fn create_thread(
        &self,
        start: ThreadStart,
        options: ThreadOptions,
    ) -> Result<ThreadHandle, ThreadError> {
        self.thread_effects(Operation::CreateThread, ThreadErrorKind::CreationFailed)?;
        let inner = self.threads_inner()?;
        if let (Some(ceiling), Some(p)) = (self.policy.limits.max_thread_priority, options.priority)
        {
            if priority_rank(p.as_str()) > priority_rank(ceiling.as_str()) {
                return Err(ThreadError::new(
                    ThreadErrorKind::CreationFailed,
                    format!(
                        "permission denied: priority {} is above the policy's max_thread_priority = {ceiling}",
                        p.as_str()
                    ),
                ));
            }
        }
        let _gate = lock(&self.thread_gate);
        if let Some(max) = self.policy.limits.max_threads {
            let running = inner.running_threads() as u64;
            if running >= max {
                return Err(ThreadError::new(
                    ThreadErrorKind::CreationFailed,
                    format!(
                        "permission denied: {running} threads are alive through this capability; the policy allows {max} ([limits] max_threads)"
                    ),
                ));
            }
        }
        inner.create_thread(start, options)
    }

    fn join_thread(
        &self,
        handle: ThreadHandle,
        timeout: Option<Duration>,
    ) -> Result<ThreadResult, ThreadError> {
        self.thread_effects(Operation::JoinThread, ThreadErrorKind::JoinFailed)?;
        self.threads_inner()?.join_thread(handle, timeout)
    }

    fn set_thread_affinity(&self, handle: ThreadHandle, cpus: &CpuSet) -> Result<(), ThreadError> {
        self.thread_effects(
            Operation::SetThreadAffinity,
            ThreadErrorKind::InvalidAffinity,
        )?;
        if let Some(allowed) = &self.policy.limits.allowed_cpus {
            let bad: Vec<String> = cpus
                .to_vec()
                .into_iter()
                .filter(|c| !allowed.contains(*c))
                .map(|c| c.to_string())
                .collect();
            if !bad.is_empty() {
                return Err(ThreadError::new(
                    ThreadErrorKind::InvalidAffinity,
                    format!(
                        "CPU {} not allowed by the policy ([limits] allowed_cpus)",
                        bad.join(", ")
                    ),
                ));
            }
        }
        self.threads_inner()?.set_thread_affinity(handle, cpus)
    }

    fn get_thread_affinity(&self, handle: ThreadHandle) -> Result<CpuSet, ThreadError> {
        self.thread_effects(
            Operation::SetThreadAffinity,
            ThreadErrorKind::InvalidAffinity,
        )?;
        self.threads_inner()?.get_thread_affinity(handle)
    }

    fn release_thread(&self, handle: ThreadHandle) -> Result<(), ThreadError> {
        self.thread_effects(Operation::ReleaseThread, ThreadErrorKind::JoinFailed)?;
        self.threads_inner()?.release_thread(handle)
    }

    fn thread_info(&self, handle: ThreadHandle) -> Result<ThreadInfo, ThreadError> {
        self.threads_inner()?.thread_info(handle)
    }

    fn running_threads(&self) -> usize {
        self.inner.threads().map_or(0, |t| t.running_threads())
    }

    fn outstanding_threads(&self) -> Vec<ThreadHandle> {
        self.inner
            .threads()
            .map_or_else(Vec::new, |t| t.outstanding_threads())
    }
}
