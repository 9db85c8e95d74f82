//! The layers wrapped around the native backend, in this order (outermost first):
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

pub mod audit;
mod decision;
pub mod narrowed;
pub mod policy;

pub use audit::AuditLayer;
pub use decision::CommandCheck;
pub use narrowed::NarrowedCapability;
pub use policy::PolicyLayer;
