//! `core.process`: native process and thread control for Reml, behind a capability.
//!
//! This crate implements the Reml plugin `core.process` (spec chapter 4-2, restated in
//! `../shared/spec/README.md`). See the README for the layering.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod command;
pub mod effect;
pub mod error;
pub mod policy;
pub mod signal;
pub mod units;

mod sys;

pub use command::{Command, Environment, ProcessGroup, Resource, Rlimit, StdioSpec};
pub use effect::{Effect, EffectSet, Operation};
pub use error::{
    Diagnostic, IntoDiagnostic, ProcessError, ProcessErrorKind, Severity, ThreadError,
    ThreadErrorKind,
};
pub use policy::{
    verify_capability_security, Finding, Policy, PolicyError, PolicyErrorKind, Review, StageId,
};
pub use signal::Signal;
