//! The one place the layer stack is built, in this order (outermost first):
//!
//! ```text
//!   caller
//!     │
//!   AuditLayer        — records every operation and its outcome (`docs/audit-log.md`); refuses
//!     │                 an operation *before* it happens when audit is required and the
//!     │                 sink is not writable
//!   PolicyLayer       — the security policy (`docs/policy.md`): effect scope, allow-list,
//!     │                 environment, cwd, signals, limits; refuses before anything runs
//!   NativeProcessCapability — the OS, policy-free
//! ```
//!
//! So a call is checked by the policy, then executed natively, then recorded by audit
//! (denials included). Each layer implements [`crate::ProcessCapability`] (and
//! [`crate::ThreadCapability`]) around an inner one, writing only the calls it changes (the
//! rest pass inward, [`ProcessCapability::inner`]); the caller only ever holds the outermost.
//! The command `reml-process`, the run templates ([`crate::audited_process`]) and the
//! benchmarks all build it here.
//!
//! A host mints a **narrowed capability** for one job on top of its stack ([`narrow`]): a
//! further policy guard of its own, stacked over the host's whole stack, so a job's call
//! passes both policies and is recorded once, by the host's audit layer:
//!
//! ```text
//!   job ─▶ NarrowedCapability ─▶ PolicyLayer (the further policy) ─▶ the host's stack (build)
//! ```
//!
//! # Examples
//! ```no_run
//! use std::sync::Arc;
//! use reml_process::audit::{MemorySink, Redactor};
//! use reml_process::policy::Policy;
//! use reml_process::{stack, AuditSettings, Command, Environment, ProcessCapability};
//!
//! let settings = AuditSettings {
//!     sink: Arc::new(MemorySink::new()),
//!     redactor: Redactor::default(),
//!     required: false,
//! };
//! let host_policy = Policy::from_toml_str("[commands]\nallow = [\"/bin/echo\"]\n").unwrap();
//! let host: Arc<dyn ProcessCapability> =
//!     Arc::new(stack::build(Some(Arc::new(host_policy)), &settings));
//! let job_policy = Policy::from_toml_str("[commands]\nallow = [\"/bin/echo\"]\n").unwrap();
//! let job = stack::narrow(host, job_policy, "job-7")?;
//! let echo = job.spawn_process(&Command::new("/bin/echo"), &Environment::default())?;
//! job.wait_process(echo, None)?;
//! job.release_process(echo)?;
//! # Ok::<(), reml_process::ProcessError>(())
//! ```

use std::sync::Arc;

use crate::audit::AuditLayer;
use crate::capability::ProcessCapability;
use crate::error::ProcessError;
use crate::native::NativeProcessCapability;
use crate::outcome::AuditSettings;
use crate::policy::{NarrowedCapability, Policy, PolicyLayer};

/// The security policy over the native backend: the stack without its audit.
pub type Guarded = PolicyLayer<NativeProcessCapability>;

/// The whole stack: audit over the policy (when there is one) over the native backend.
pub type Stack = AuditLayer<Box<dyn ProcessCapability>>;

/// The policy guard over a new native backend ([`PolicyLayer::new`]).
pub fn guard(policy: Arc<Policy>) -> Guarded {
    guard_over(NativeProcessCapability::new(), policy)
}

/// The policy guard over `inner` ([`PolicyLayer::new`]): over the native backend in
/// [`guard`], over a host's stack in a narrowed capability ([`narrow`]).
pub(crate) fn guard_over<C: ProcessCapability>(inner: C, policy: Arc<Policy>) -> PolicyLayer<C> {
    PolicyLayer::new(inner, policy)
}

/// The audit layer over `inner`, with the sink, redaction and `required` of `settings`
/// ([`AuditLayer::new`]).
pub fn audit<C: ProcessCapability>(inner: C, settings: &AuditSettings) -> AuditLayer<C> {
    AuditLayer::new(
        inner,
        settings.sink.clone(),
        settings.redactor.clone(),
        settings.required,
    )
}

/// The whole stack: audit ([`audit`]) over the policy guard ([`guard`]) over the native
/// backend. Without a policy the audit sits on the native backend directly (what
/// `reml-process run` does without `--policy`).
pub fn build(policy: Option<Arc<Policy>>, settings: &AuditSettings) -> Stack {
    audit(without_audit(policy), settings)
}

/// The stack below its audit: the policy guard ([`guard`]) over the native backend, or the
/// native backend alone without a policy. What [`build`] puts the audit layer on, and what
/// `reml-process run` uses as is when there is no audit log (an audit layer over a sink that
/// discards everything would change no result).
pub fn without_audit(policy: Option<Arc<Policy>>) -> Box<dyn ProcessCapability> {
    match policy {
        Some(policy) => Box::new(guard(policy)),
        None => Box::new(NativeProcessCapability::new()),
    }
}

/// A capability narrowed from `parent` (usually a host's [`build`] stack) for one job, with
/// the further `policy`, named `name` (its scope is `core.process/NAME`): a policy guard
/// ([`PolicyLayer`]) of its own over `parent`, revocable
/// ([`NarrowedCapability::new`]; see [`NarrowedCapability`] for what it allows). Narrow a
/// narrowed capability again with [`NarrowedCapability::narrow`].
///
/// # Errors
/// `InvalidCommand` when `name` is empty or contains `/` or a control character.
pub fn narrow(
    parent: Arc<dyn ProcessCapability>,
    policy: Policy,
    name: &str,
) -> Result<Arc<NarrowedCapability>, ProcessError> {
    NarrowedCapability::new(parent, policy, name)
}
