//! Threads: create, join, priority and CPU affinity (spec §1, §4, §7).
//!
//! [`ThreadCapability`] is the thread half of `core.process` as a capability of its own
//! (spec §7 "ThreadCapability as its own capability"): `create_thread`, `join_thread`,
//! `set_thread_affinity` (spec §1), plus `get_thread_affinity`, `release_thread` and read-only
//! accessors. [`NativeThreadCapability`] implements it on the OS.
//!
//! # Layering
//! The trait is object-safe, takes `&self` and requires `Send + Sync`, so layers stack as
//! `Arc<dyn ThreadCapability>`:
//! - the native backend ([`NativeThreadCapability`]) at the bottom;
//! - a security layer implements `ThreadCapability` around an inner one and checks, before
//!   delegating, the effect scope ([`Operation::effects`](crate::Operation::effects) of
//!   `CreateThread`, `JoinThread`, `SetThreadAffinity`, `ReleaseThread`), `max_threads`
//!   (with [`running_threads`](ThreadCapability::running_threads)), `allowed_cpus` (with
//!   [`CpuSet::is_subset`]) and `max_thread_priority` (with `ThreadPriority`'s ordering);
//! - an audit layer on top the same way;
//! - the process capability delegates its `create_thread` / `join_thread` /
//!   `set_thread_affinity` to an inner `ThreadCapability`.
//!
//! Handles pass through the layers unchanged: they are issued by the bottom layer and every
//! layer hands them back down.
//!
//! # Platform-specific behavior
//! Linux is implemented in full (`sys/linux/thread.rs`). Elsewhere every operation returns
//! `Unsupported` naming the platform; nothing is emulated.

mod cpuset;
mod native;
mod os;
mod types;

use std::sync::Arc;
use std::time::Duration;

pub use cpuset::{CpuId, CpuSet, ParseCpuSetError};
pub use native::NativeThreadCapability;
pub(crate) use os::possible_cpus;
pub use os::{online_cpus, OsThreadState};
pub use types::{
    os_thread_name, ParseThreadPriorityError, SchedPolicy, ThreadHandle, ThreadInfo, ThreadOptions,
    ThreadPriority, ThreadResult, ThreadStart, ThreadStartFn, OS_THREAD_NAME_MAX,
};

use crate::error::ThreadError;

/// Thread control as a capability (spec §1 thread operations, §4, §7).
///
/// Every method takes `&self`; implementations are `Send + Sync` and usable as
/// `dyn ThreadCapability`. The handle of a thread is issued by the implementation at the
/// bottom of a stack of layers and is valid until [`release_thread`](Self::release_thread);
/// stale, foreign or released handles are errors, never another thread.
///
/// Errors use the operation's kind: a bad handle is `JoinFailed` for `join_thread`,
/// `release_thread` and `thread_info`, and `InvalidAffinity` for the affinity calls; the
/// message says "stale" or "belongs to another capability".
pub trait ThreadCapability: Send + Sync {
    /// Creates a thread that runs `start` with its own handle (spec §1 `create_thread`,
    /// effects `{thread}`).
    ///
    /// With a name or a priority, returns once the thread runs and they are applied, before
    /// `start` is called (so a failure to apply them is this call's error and `start` never
    /// runs). With neither, nothing can fail before `start`, and it returns as soon as the OS
    /// thread exists, like `std::thread::spawn`; calls that need the thread's kernel id
    /// (`thread_info`, the affinity calls) wait for it to start.
    ///
    /// # Errors
    /// `CreationFailed` when a name is empty or contains NUL, a stack size is impossible, the
    /// OS refuses the thread, or the name or priority cannot be applied (the errno is in the
    /// message; `start` then never runs). `Unsupported` on platforms without a backend.
    /// Wrapping layers add their own refusals (effect scope, `max_threads`, priority cap).
    fn create_thread(
        &self,
        start: ThreadStart,
        options: ThreadOptions,
    ) -> Result<ThreadHandle, ThreadError>;

    /// Waits for the thread's start function to end and returns its result (spec §1
    /// `join_thread`, effects `{thread, io.blocking}`).
    ///
    /// `timeout`: `None` waits as long as it takes; `Some(d)` waits at most `d`
    /// (`Duration::ZERO` only looks; a limit too large to represent as an `Instant` is no
    /// limit).
    ///
    /// # Errors
    /// `JoinFailed` when the time limit expires (the thread keeps running and the handle stays
    /// valid: join again or release), when the start function panicked (the message has the
    /// panic message), when the thread is detached (it cannot be joined), when it was joined
    /// already, when a thread tries to join itself, or when the handle is stale or foreign.
    fn join_thread(
        &self,
        handle: ThreadHandle,
        timeout: Option<Duration>,
    ) -> Result<ThreadResult, ThreadError>;

    /// Restricts the thread to the CPUs of `cpus` (spec §1 `set_thread_affinity`, §4; effects
    /// `{thread, hardware}`).
    ///
    /// # Errors
    /// `InvalidAffinity` naming the CPU when the set is empty, or a CPU id is past the
    /// kernel's affinity mask, does not exist, is offline, or is not allowed to this process;
    /// also when the thread has finished, or the handle is stale or foreign.
    fn set_thread_affinity(&self, handle: ThreadHandle, cpus: &CpuSet) -> Result<(), ThreadError>;

    /// The thread's current CPU affinity (effects `{thread, hardware}`).
    ///
    /// # Errors
    /// `InvalidAffinity` when the thread has finished or the handle is stale or foreign.
    fn get_thread_affinity(&self, handle: ThreadHandle) -> Result<CpuSet, ThreadError>;

    /// Frees the handle's slot (effects `{thread}`); the handle and its copies become stale.
    ///
    /// Handles are never released on drop (spec §1). Releasing a thread that still runs lets
    /// it go (it is detached and runs to its end; its result is discarded); releasing a
    /// finished, unjoined thread reclaims it.
    ///
    /// # Errors
    /// `JoinFailed` when the handle is stale (released already) or foreign.
    fn release_thread(&self, handle: ThreadHandle) -> Result<(), ThreadError>;

    /// What the table knows about the thread (no OS call, no effect beyond `{thread}`).
    ///
    /// # Errors
    /// `JoinFailed` when the handle is stale or foreign.
    fn thread_info(&self, handle: ThreadHandle) -> Result<ThreadInfo, ThreadError>;

    /// The number of threads created through this capability whose start function has not
    /// ended yet (including released and detached ones still running, and ones still being
    /// set up). The measure a `max_threads` limit compares against.
    fn running_threads(&self) -> usize;

    /// The handles not yet released, in slot order (spec §1: outstanding handles are reported
    /// at shutdown).
    fn outstanding_threads(&self) -> Vec<ThreadHandle>;
}

macro_rules! delegate_thread_capability {
    ($($ty:ty),*) => {$(
        impl<T: ThreadCapability + ?Sized> ThreadCapability for $ty {
            fn create_thread(
                &self,
                start: ThreadStart,
                options: ThreadOptions,
            ) -> Result<ThreadHandle, ThreadError> {
                (**self).create_thread(start, options)
            }
            fn join_thread(
                &self,
                handle: ThreadHandle,
                timeout: Option<Duration>,
            ) -> Result<ThreadResult, ThreadError> {
                (**self).join_thread(handle, timeout)
            }
            fn set_thread_affinity(
                &self,
                handle: ThreadHandle,
                cpus: &CpuSet,
            ) -> Result<(), ThreadError> {
                (**self).set_thread_affinity(handle, cpus)
            }
            fn get_thread_affinity(&self, handle: ThreadHandle) -> Result<CpuSet, ThreadError> {
                (**self).get_thread_affinity(handle)
            }
            fn release_thread(&self, handle: ThreadHandle) -> Result<(), ThreadError> {
                (**self).release_thread(handle)
            }
            fn thread_info(&self, handle: ThreadHandle) -> Result<ThreadInfo, ThreadError> {
                (**self).thread_info(handle)
            }
            fn running_threads(&self) -> usize {
                (**self).running_threads()
            }
            fn outstanding_threads(&self) -> Vec<ThreadHandle> {
                (**self).outstanding_threads()
            }
        }
    )*};
}

delegate_thread_capability!(&T, Box<T>, Arc<T>);
