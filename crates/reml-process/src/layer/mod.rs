//! The layers wrapped around the native backend, under their former paths.
//!
//! Each layer now lives with its concept: the policy guard in [`crate::policy::guard`]
//! ([`PolicyLayer`]), the narrowed capability in [`crate::policy::narrowed`]
//! ([`NarrowedCapability`]), the audit layer in [`crate::audit::layer`] ([`AuditLayer`]); the
//! order they are stacked in, and the one function that stacks them, are in [`crate::stack`].
//! This module keeps the paths `reml_process::layer::…` working.

pub use crate::audit::layer as audit;
pub use crate::policy::guard as policy;
pub use crate::policy::narrowed;

pub use crate::audit::AuditLayer;
pub use crate::policy::{CommandCheck, NarrowedCapability, PolicyLayer};
