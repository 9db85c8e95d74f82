//! `&T`, `Box<T>` and `Arc<T>` are the capability behind them: every method, derived ones
//! included, is forwarded to `T` (so layers can wrap a borrowed, boxed or shared
//! capability, `AuditLayer<&dyn ProcessCapability>`, `Arc<…>`).

use std::fs::File;
use std::time::Duration;

use super::{ProcessCapability, ProcessHandle, ProcessInfo, RunPlan, ScopedRefusal, StdStream};
use crate::command::{Command, Environment};
use crate::error::{ProcessError, ThreadError};
use crate::prepare::PreparedCommand;
use crate::signal::Signal;
use crate::status::ExitStatus;
use crate::thread::{
    CpuSet, ThreadCapability, ThreadHandle, ThreadOptions, ThreadResult, ThreadStart,
};
use crate::wait::{CollectedOutput, WaitEvent, WaitOptions};

/// Forwards every method to the capability behind a pointer, so layers can wrap a borrowed,
/// boxed or shared capability (`AuditLayer<&dyn ProcessCapability>`, `Arc<…>`).
macro_rules! forward_process_capability {
    ($($ty:ty),*) => {$(
        impl<T: ProcessCapability + ?Sized> ProcessCapability for $ty {
            fn inner(&self) -> Option<&dyn ProcessCapability> {
                (**self).inner()
            }
            fn spawn_process(&self, command: &Command, env: &Environment) -> Result<ProcessHandle, ProcessError> {
                (**self).spawn_process(command, env)
            }
            fn spawn_prepared(&self, prepared: PreparedCommand) -> Result<ProcessHandle, ProcessError> {
                (**self).spawn_prepared(prepared)
            }
            fn kill_process(&self, handle: ProcessHandle, signal: Signal) -> Result<(), ProcessError> {
                (**self).kill_process(handle, signal)
            }
            fn kill_process_group(&self, handle: ProcessHandle, signal: Signal) -> Result<(), ProcessError> {
                (**self).kill_process_group(handle, signal)
            }
            fn wait_process(&self, handle: ProcessHandle, timeout: Option<Duration>) -> Result<ExitStatus, ProcessError> {
                (**self).wait_process(handle, timeout)
            }
            fn kill_process_tree(&self, handle: ProcessHandle, signal: Signal) -> Result<Vec<i32>, ProcessError> {
                (**self).kill_process_tree(handle, signal)
            }
            fn process_tree(&self, handle: ProcessHandle) -> Result<Vec<i32>, ProcessError> {
                (**self).process_tree(handle)
            }
            fn enforce_limit(&self, handle: ProcessHandle, signal: Signal) -> Result<Vec<i32>, ProcessError> {
                (**self).enforce_limit(handle, signal)
            }
            fn check_run(&self, command: &Command, plan: &RunPlan) -> Result<(), ProcessError> {
                (**self).check_run(command, plan)
            }
            fn audit_failure(&self) -> Option<crate::audit::AuditFailure> {
                (**self).audit_failure()
            }
            fn record_refusal(&self, refusal: &ScopedRefusal<'_>) {
                (**self).record_refusal(refusal)
            }
            fn wait_event(&self, handle: ProcessHandle, options: &WaitOptions) -> Result<WaitEvent, ProcessError> {
                (**self).wait_event(handle, options)
            }
            fn wait_with_options(&self, handle: ProcessHandle, options: &WaitOptions) -> Result<ExitStatus, ProcessError> {
                (**self).wait_with_options(handle, options)
            }
            fn take_output(&self, handle: ProcessHandle) -> Result<CollectedOutput, ProcessError> {
                (**self).take_output(handle)
            }
            fn take_pipe(&self, handle: ProcessHandle, stream: StdStream) -> Result<Option<File>, ProcessError> {
                (**self).take_pipe(handle, stream)
            }
            fn process_info(&self, handle: ProcessHandle) -> Result<ProcessInfo, ProcessError> {
                (**self).process_info(handle)
            }
            fn process_start_time(&self, handle: ProcessHandle) -> Result<Option<u64>, ProcessError> {
                (**self).process_start_time(handle)
            }
            fn threads(&self) -> Option<&dyn ThreadCapability> {
                (**self).threads()
            }
            fn create_thread(&self, start: ThreadStart, options: ThreadOptions) -> Result<ThreadHandle, ThreadError> {
                (**self).create_thread(start, options)
            }
            fn join_thread(&self, handle: ThreadHandle, timeout: Option<Duration>) -> Result<ThreadResult, ThreadError> {
                (**self).join_thread(handle, timeout)
            }
            fn set_thread_affinity(&self, handle: ThreadHandle, cpus: &CpuSet) -> Result<(), ThreadError> {
                (**self).set_thread_affinity(handle, cpus)
            }
            fn release_process(&self, handle: ProcessHandle) -> Result<(), ProcessError> {
                (**self).release_process(handle)
            }
        }
    )*};
}

forward_process_capability!(&T, Box<T>, std::sync::Arc<T>);
