//! `core.process`: native process and thread control for Reml, behind a capability.
//!
//! This crate implements the Reml plugin `core.process` (spec chapter 4-2, restated in
//! `../shared/spec/README.md`). See the README for the layering.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
pub mod command;
pub mod effect;
pub mod error;
pub mod signal;
pub mod units;

mod sys;

pub use audit::{
    verify_log, AuditContext, AuditError, AuditErrorKind, AuditEvent, AuditRecord, AuditSink,
    FilteredSink, JsonLinesSink, MemorySink, MultiSink, NullSink, Redactor, StderrSink,
    VerifyError, VerifySummary,
};
pub use command::{Command, Environment, ProcessGroup, Resource, Rlimit, StdioSpec};
pub use effect::{Effect, EffectSet, Operation};
pub use error::{
    Diagnostic, IntoDiagnostic, ProcessError, ProcessErrorKind, Severity, ThreadError,
    ThreadErrorKind,
};
pub use signal::Signal;
