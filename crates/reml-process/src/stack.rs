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
//! [`crate::ThreadCapability`]) around an inner one; the caller only ever holds the outermost.
//! The command `reml-process`, the run templates ([`crate::audited_process`]) and the
//! benchmarks all build it here.

use std::sync::Arc;

use crate::audit::AuditLayer;
use crate::capability::ProcessCapability;
use crate::native::NativeProcessCapability;
use crate::outcome::AuditSettings;
use crate::policy::{Policy, PolicyLayer};

/// The security policy over the native backend: the stack without its audit.
pub type Guarded = PolicyLayer<NativeProcessCapability>;

/// The whole stack: audit over the policy (when there is one) over the native backend.
pub type Stack = AuditLayer<Box<dyn ProcessCapability>>;

/// The policy guard over a new native backend ([`PolicyLayer::new`]).
pub fn guard(policy: Arc<Policy>) -> Guarded {
    PolicyLayer::new(NativeProcessCapability::new(), policy)
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
    let inner: Box<dyn ProcessCapability> = match policy {
        Some(policy) => Box::new(guard(policy)),
        None => Box::new(NativeProcessCapability::new()),
    };
    audit(inner, settings)
}
