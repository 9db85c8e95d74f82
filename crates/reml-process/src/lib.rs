//! `core.process`: native process and thread control for Reml, behind a capability.
//!
//! This crate implements the Reml plugin `core.process` (spec chapter 4-2). See the README for the
//! layering.
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "tokio")]
pub mod async_wait;
// Windows (and any other non-Unix target) would get the `unsupported` backend, but the shared
// layers are written against Unix: descriptors (`std::os::fd`) in the public API, byte paths
// and permission bits (`std::os::unix`), rustix's Unix-only modules, Unix signal numbers.
// Say so plainly, first, ahead of the compiler's errors about those (see `src/sys/mod.rs`).
#[cfg(not(unix))]
compile_error!(
    "reml-process does not build for non-Unix targets yet: its shared layers use Unix \
     descriptors, paths and signals (see crates/reml-process/src/sys/mod.rs); Linux is \
     complete, other Unixes build and answer `Unsupported`"
);

pub mod audit;
pub mod capability;
pub mod command;
pub mod effect;
pub mod error;
pub mod jobcontrol;
pub mod layer;
pub mod native;
pub mod outcome;
pub mod policy;
pub mod prepare;
pub mod registry;
pub mod shm;
pub mod signal;
pub mod status;
pub mod supervise;
pub mod thread;
pub mod tree;
pub mod units;
pub mod wait;
pub mod waitset;

mod files;
mod handle_table;
mod reaper;
mod sys;

#[cfg(feature = "tokio")]
pub use async_wait::wait_async;
pub use audit::{
    verify_log, AuditContext, AuditError, AuditErrorKind, AuditEvent, AuditRecord, AuditSink,
    FilteredSink, JsonLinesSink, MemorySink, MultiSink, NullSink, OpenLifecycle, Redactor,
    StderrSink, VerifyError, VerifySummary,
};
pub use capability::{
    ProcessCapability, ProcessHandle, ProcessInfo, RunPlan, ScopedRefusal, StdStream,
};
pub use command::{
    Command, Environment, FdMapping, Interrupt, ProcessGroup, Resource, Rlimit, SignalDispositions,
    StdioSpec,
};
pub use effect::{Effect, EffectSet, Operation};
pub use error::{
    Diagnostic, IntoDiagnostic, ProcessError, ProcessErrorKind, Severity, ThreadError,
    ThreadErrorKind,
};
pub use jobcontrol::TerminalGuard;
pub use layer::{AuditLayer, CommandCheck, NarrowedCapability, PolicyLayer};
pub use native::NativeProcessCapability;
pub use outcome::{
    audited_process, audited_process_supervised, run_process, run_process_forwarding,
    run_process_supervised, AuditSettings, Cause, ProcessOutcome, RunEvent, RunOptions,
};
pub use policy::{
    verify_capability_security, Finding, Policy, PolicyError, PolicyErrorKind, Review, StageId,
};
pub use prepare::{resolve_program, PreparedCommand};
pub use registry::{
    CapabilityDescriptor, CapabilityError, CapabilityErrorKind, CapabilityHandle,
    CapabilityRegistry, Manifest, Registration, StageRequirement,
};
pub use shm::SharedMemory;
pub use signal::Signal;
pub use status::{ExitStatus, Termination};
pub use supervise::{SignalForwarder, FORWARDED_SIGNALS};
pub use thread::{
    CpuSet, NativeThreadCapability, ThreadCapability, ThreadHandle, ThreadInfo, ThreadOptions,
    ThreadPriority, ThreadResult, ThreadStart,
};
pub use tree::{is_child_subreaper, set_child_subreaper};
pub use wait::{CollectedOutput, WaitEvent, WaitOptions};
pub use waitset::{WaitSet, WaitSetResult};
