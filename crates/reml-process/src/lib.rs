//! `core.process`: native process and thread control for Reml, behind a capability.
//!
//! This crate implements the Reml plugin `core.process` (spec chapter 4-2, restated in
//! `../shared/spec/README.md`). See the README for the layering.
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "tokio")]
pub mod async_wait;
pub mod capability;
pub mod command;
pub mod effect;
pub mod error;
pub mod native;
pub mod outcome;
pub mod prepare;
pub mod shm;
pub mod signal;
pub mod status;
pub mod supervise;
pub mod units;
pub mod wait;
pub mod waitset;

mod reaper;
mod sys;

#[cfg(feature = "tokio")]
pub use async_wait::wait_async;
pub use capability::{ProcessCapability, ProcessHandle, ProcessInfo, StdStream};
pub use command::{Command, Environment, FdMapping, ProcessGroup, Resource, Rlimit, StdioSpec};
pub use effect::{Effect, EffectSet, Operation};
pub use error::{
    Diagnostic, IntoDiagnostic, ProcessError, ProcessErrorKind, Severity, ThreadError,
    ThreadErrorKind,
};
pub use native::NativeProcessCapability;
pub use outcome::{run_process, run_process_forwarding, Cause, ProcessOutcome, RunOptions};
pub use prepare::{resolve_program, PreparedCommand};
pub use shm::SharedMemory;
pub use signal::Signal;
pub use status::{ExitStatus, Termination};
pub use supervise::{SignalForwarder, FORWARDED_SIGNALS};
pub use wait::{CollectedOutput, WaitOptions};
pub use waitset::{WaitSet, WaitSetResult};
