//! `core.process`: native process and thread control for the Reml language, behind a
//! capability a host must install.
//!
//! This crate is the Reml plugin `core.process` (spec chapter 4-2, the process plugin): it
//! spawns programs, waits for them with time limits, collects their output, signals them and
//! ends their whole process trees, and creates threads with names, priorities and CPU
//! affinity — through [`ProcessCapability`] and [`ThreadCapability`]. Around the native Linux
//! backend ([`NativeProcessCapability`]) sit a security policy ([`PolicyLayer`]: allow-list
//! by canonical path and file identity, argument rules, environment, working directories,
//! signals, limits) and a tamper-evident audit log ([`AuditLayer`]). Linux is complete; other
//! Unix targets build and answer [`ProcessErrorKind::Unsupported`]. The command
//! `reml-process` (crate `reml-process-cli`) is built on this library.
//!
#![doc = include_str!("../docs/library.md")]
//!
//! # Modules
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`capability`] | [`ProcessCapability`], the six operations of spec §1, and [`ProcessHandle`] |
//! | [`stack`] | the one place the layers are stacked: audit → policy → native ([`stack::build`]; in `capability/`) |
//! | [`process`] | the process concepts below, grouped; each is re-exported here under its own name |
//! | [`native`] | [`NativeProcessCapability`], the native backend: no policy, no audit, only the OS |
//! | [`command`] | [`Command`], [`StdioSpec`], [`Environment`], descriptor passing, rlimits, signal dispositions |
//! | [`prepare`] | validating a command and resolving its program ([`resolve_program`]) before any child exists |
//! | [`wait`] | [`WaitOptions`], [`WaitEvent`] and [`CollectedOutput`] |
//! | [`waitset`] | [`WaitSet`]: many children waited for at once, in the caller's thread |
//! | `async_wait` | `wait_async`, for tokio tasks (cargo feature `tokio`) |
//! | [`status`] | [`ExitStatus`]: how a process ended |
//! | [`signal`] | [`Signal`]: names, numbers and real-time signals |
//! | [`error`] | [`ProcessError`], [`ThreadError`] and their stable [`Diagnostic`] codes |
//! | [`effect`] | effect tags ([`Effect`], [`EffectSet`]) and the effects of each [`Operation`] |
//! | [`tree`] | whole-tree termination and the child subreaper |
//! | [`jobcontrol`] | handing the terminal to a child's process group and taking it back |
//! | [`outcome`] | the run templates (`process/run/`): [`run_process`], [`audited_process`]: spawn, wait, end the tree, collect, in one call |
//! | [`supervise`] | what a supervisor needs: signal forwarding, orphan reaping, inherited dispositions |
//! | [`policy`] | the security [`Policy`] file, narrowing, argument rules, [`verify_capability_security`], and the layers on it: [`PolicyLayer`] (`policy::guard`), [`NarrowedCapability`] |
//! | [`audit`] | audit records, sinks, redaction, [`verify_log`] and [`AuditLayer`] (`audit::layer`) |
//! | [`layer`] | the former paths of the layers, re-exported |
//! | [`bridge`] | the invoke protocol for non-Rust hosts: [`bridge::Bridge::invoke`], an entrypoint and a JSON payload in, a JSON answer out (`docs/bridge.md`) |
//! | [`registry`] | the [`CapabilityRegistry`], the plugin [`Manifest`] and the descriptor (in `capability/`) |
//! | [`sandbox`] | the confinement a child gets at `sandboxed` and `full_isolation` ([`sandbox::SandboxRules`], [`sandbox::kernel_support`]; in `process/`) |
//! | [`thread`] | [`ThreadCapability`] and [`NativeThreadCapability`] |
//! | [`shm`] | [`SharedMemory`]: sealed memfds to hand to a child |
//! | [`units`] | durations, byte sizes and deadlines that saturate instead of overflowing |
//!
//! The published interface of the command — its options, the policy file and the audit log
//! — is described in the repository's `docs/` folder.
#![deny(unsafe_code)]
#![warn(missing_docs)]

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
pub mod bridge;
pub mod capability;
pub mod effect;
pub mod error;
pub mod policy;
pub mod process;
pub mod signal;
pub mod thread;
pub mod units;

pub use capability::{registry, stack};
#[cfg(feature = "tokio")]
pub use process::async_wait;
pub use process::run as outcome;
pub use process::{
    command, jobcontrol, native, prepare, sandbox, shm, status, supervise, tree, wait, waitset,
};

/// The layers wrapped around the native backend, under their former paths.
///
/// Each layer lives with its concept: the policy guard in [`crate::policy::guard`]
/// ([`PolicyLayer`]), the narrowed capability in [`crate::policy::narrowed`]
/// ([`NarrowedCapability`]), the audit layer in [`crate::audit::layer`] ([`AuditLayer`]); the
/// order they are stacked in, and the one function that stacks them, are in [`crate::stack`].
/// This module keeps the paths `reml_process::layer::…` working.
pub mod layer {
    pub use crate::audit::layer as audit;
    pub use crate::policy::guard as policy;
    pub use crate::policy::narrowed;

    pub use crate::audit::AuditLayer;
    pub use crate::policy::{CommandCheck, NarrowedCapability, PolicyLayer};
}

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
