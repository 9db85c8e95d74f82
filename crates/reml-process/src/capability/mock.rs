//! A process capability that spawns nothing, for fast unit tests of the layers (in the
//! manner of tokio's `MockWait`): it records every call that reaches it, in order, and
//! answers what the test scripted — spawn refusals, ends of waits, wait events.
//!
//! ```text
//!   test ─▶ AuditLayer ─▶ PolicyLayer ─▶ MockCapability (records, answers the script)
//! ```
//!
//! A layer's refusal "before anything happens" is then simply a test that the mock saw no
//! call. Its thread half ([`MockThreads`]) runs no thread either: it records the calls and
//! counts the threads created and not yet joined.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ffi::OsString;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{ProcessCapability, ProcessHandle, ProcessInfo, RunPlan, ScopedRefusal, StdStream};
use crate::command::Rlimit;
use crate::effect::Operation;
use crate::error::{ProcessError, ProcessErrorKind};
use crate::prepare::PreparedCommand;
use crate::signal::Signal;
use crate::status::{ExitStatus, Termination};
use crate::thread::{
    CpuSet, ThreadCapability, ThreadHandle, ThreadInfo, ThreadOptions, ThreadResult, ThreadStart,
};
use crate::wait::{CollectedOutput, WaitEvent, WaitOptions};

/// The owner id of the mock's handles (no native capability numbers itself so).
const MOCK_OWNER: u32 = u32::MAX;

/// What the mock answers for `process_start_time` (so a `process.id` is `PID:4242:BOOT`).
pub(crate) const MOCK_START_TIME: u64 = 4242;

/// A spawn as it reached the mock: what the layers above made of the command.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Spawned {
    /// The resolved program.
    pub program: PathBuf,
    /// Program, then arguments.
    pub command_line: Vec<String>,
    /// The child's final environment.
    pub env: BTreeMap<OsString, OsString>,
    /// The resource limits it would get.
    pub rlimits: Vec<Rlimit>,
    /// The limit of the wait for a stdio FIFO's other end.
    pub stdio_open_timeout: Option<Duration>,
    /// The narrowed capability's scope stamped on it.
    pub scope: Option<Arc<str>>,
    /// Whether it would be exec'd by a descriptor a layer opened (the guard's check).
    pub exec_by_fd: bool,
}

/// One call that reached the mock.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Call {
    Spawn(Spawned),
    Kill { pid: i32, signal: Signal },
    KillGroup { pid: i32, signal: Signal },
    KillTree { pid: i32, signal: Signal },
    EnforceLimit { pid: i32, signal: Signal },
    CheckRun { program: PathBuf, plan: RunPlan },
    Wait { pid: i32, options: WaitOptions },
    WaitEvent { pid: i32, options: WaitOptions },
    TakeOutput { pid: i32 },
    TakePipe { pid: i32, stream: StdStream },
    Release { pid: i32 },
    RecordRefusal { scope: String, operation: Operation },
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    spawns: VecDeque<Result<(), ProcessError>>,
    waits: VecDeque<Result<Termination, ProcessError>>,
    events: VecDeque<Result<WaitEvent, ProcessError>>,
    runs: VecDeque<Result<(), ProcessError>>,
    processes: HashMap<ProcessHandle, ProcessInfo>,
    next: u32,
}

/// The mock backend (see the module docs). `inner()` is `None`: it writes the whole core.
#[derive(Default)]
pub(crate) struct MockCapability {
    state: Mutex<State>,
    threads: MockThreads,
}

/// One thread call that reached the mock's thread half.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ThreadCall {
    Create { name: Option<String> },
    Join,
    SetAffinity { cpus: Vec<usize> },
    GetAffinity,
    Release,
}

/// The mock's thread half: creates no thread, records every call, counts the threads
/// created and not yet joined (`running_threads`).
#[derive(Default)]
pub(crate) struct MockThreads {
    state: Mutex<(Vec<ThreadCall>, Vec<ThreadHandle>, u32)>,
}

impl MockThreads {
    /// Every thread call that reached the mock, in order.
    pub(crate) fn calls(&self) -> Vec<ThreadCall> {
        lock(&self.state).0.clone()
    }

    fn record(&self, call: ThreadCall) {
        lock(&self.state).0.push(call);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ThreadCapability for MockThreads {
    fn create_thread(
        &self,
        _start: ThreadStart,
        options: ThreadOptions,
    ) -> Result<ThreadHandle, crate::error::ThreadError> {
        let mut st = lock(&self.state);
        st.0.push(ThreadCall::Create { name: options.name });
        st.2 += 1;
        let h = ThreadHandle::from_raw_parts(u64::MAX, st.2, 1);
        st.1.push(h);
        Ok(h)
    }

    fn join_thread(
        &self,
        handle: ThreadHandle,
        _timeout: Option<Duration>,
    ) -> Result<ThreadResult, crate::error::ThreadError> {
        let mut st = lock(&self.state);
        st.0.push(ThreadCall::Join);
        st.1.retain(|h| *h != handle);
        Ok(ThreadResult {
            handle,
            tid: 0,
            name: None,
            result: Ok(()),
        })
    }

    fn set_thread_affinity(
        &self,
        _handle: ThreadHandle,
        cpus: &CpuSet,
    ) -> Result<(), crate::error::ThreadError> {
        self.record(ThreadCall::SetAffinity {
            cpus: cpus.to_vec(),
        });
        Ok(())
    }

    fn get_thread_affinity(
        &self,
        _handle: ThreadHandle,
    ) -> Result<CpuSet, crate::error::ThreadError> {
        self.record(ThreadCall::GetAffinity);
        Ok(CpuSet::new())
    }

    fn release_thread(&self, _handle: ThreadHandle) -> Result<(), crate::error::ThreadError> {
        self.record(ThreadCall::Release);
        Ok(())
    }

    fn thread_info(&self, handle: ThreadHandle) -> Result<ThreadInfo, crate::error::ThreadError> {
        Ok(ThreadInfo {
            handle,
            tid: 0,
            name: None,
            os_name: None,
            detached: false,
            finished: false,
            joined: false,
            priority: None,
            stack_size: None,
        })
    }

    fn running_threads(&self) -> usize {
        lock(&self.state).1.len()
    }

    fn outstanding_threads(&self) -> Vec<ThreadHandle> {
        lock(&self.state).1.clone()
    }
}

impl MockCapability {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The thread half (what `threads()` returns).
    pub(crate) fn thread_half(&self) -> &MockThreads {
        &self.threads
    }

    /// Every call that reached the mock, in order.
    pub(crate) fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// The spawns that reached the mock, in order.
    pub(crate) fn spawns(&self) -> Vec<Spawned> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Spawn(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    /// The next spawn answers `result` (`Ok` spawns; unscripted spawns succeed).
    pub(crate) fn script_spawn(&self, result: Result<(), ProcessError>) {
        self.state().spawns.push_back(result);
    }

    /// The next `wait_with_options` answers `result`: an end (`Ok`, then kept as the
    /// process's termination) or an error such as `TimedOut`. Unscripted, a wait sees the
    /// termination already known, else an exit with status 0.
    pub(crate) fn script_wait(&self, result: Result<Termination, ProcessError>) {
        self.state().waits.push_back(result);
    }

    /// The next `wait_event` answers `result`; unscripted, it reports the end as a wait
    /// would.
    pub(crate) fn script_event(&self, result: Result<WaitEvent, ProcessError>) {
        self.state().events.push_back(result);
    }

    /// The next `check_run` answers `result` (unscripted: `Ok`).
    pub(crate) fn script_run(&self, result: Result<(), ProcessError>) {
        self.state().runs.push_back(result);
    }

    /// Marks the process ended by `end`, as if a wait elsewhere had seen it.
    pub(crate) fn end(&self, handle: ProcessHandle, end: Termination) {
        if let Some(info) = self.state().processes.get_mut(&handle) {
            info.termination = Some(end);
        }
    }

    fn record(&self, call: Call) {
        self.state().calls.push(call);
    }

    fn known(&self, handle: ProcessHandle) -> Result<ProcessInfo, ProcessError> {
        self.state()
            .processes
            .get(&handle)
            .cloned()
            .ok_or_else(|| ProcessError::invalid(format!("mock: unknown handle {handle:?}")))
    }

    /// The answer of a wait that has seen `end`.
    fn ended(handle: ProcessHandle, end: Termination) -> Result<ExitStatus, ProcessError> {
        match end {
            Termination::Exited(status) => Ok(status),
            Termination::Signaled { signal, .. } => Err(ProcessError::with_code(
                ProcessErrorKind::TerminatedBySignal,
                format!("pid {} was terminated by {signal}", handle.pid),
                signal.number(),
            )),
        }
    }

    /// The termination a wait now observes, or the scripted error.
    fn observe(&self, handle: ProcessHandle) -> Result<Termination, ProcessError> {
        let mut st = self.state();
        let known = st
            .processes
            .get(&handle)
            .ok_or_else(|| ProcessError::invalid(format!("mock: unknown handle {handle:?}")))?
            .termination;
        let end = match st.waits.pop_front() {
            Some(scripted) => scripted?,
            None => known.unwrap_or(Termination::Exited(ExitStatus::from_code(0))),
        };
        if let Some(info) = st.processes.get_mut(&handle) {
            info.termination = Some(end);
        }
        Ok(end)
    }
}

impl ProcessCapability for MockCapability {
    fn inner(&self) -> Option<&dyn ProcessCapability> {
        None
    }

    fn spawn_prepared(&self, prepared: PreparedCommand) -> Result<ProcessHandle, ProcessError> {
        self.record(Call::Spawn(Spawned {
            program: prepared.program.clone(),
            command_line: prepared.command_line(),
            env: prepared.env().clone(),
            rlimits: prepared.rlimits.clone(),
            stdio_open_timeout: prepared.command.stdio_open_timeout,
            scope: prepared.scope.clone(),
            exec_by_fd: prepared.exec_file.is_some(),
        }));
        let mut st = self.state();
        st.spawns.pop_front().unwrap_or(Ok(()))?;
        st.next += 1;
        let handle = ProcessHandle {
            owner: MOCK_OWNER,
            slot: st.next,
            generation: 1,
            pid: 1000 + st.next as i32,
        };
        st.processes.insert(
            handle,
            ProcessInfo {
                pid: handle.pid,
                pgid: None,
                command_line: prepared.command_line(),
                program: prepared.program,
                spawned_at: Instant::now(),
                termination: None,
                stopped: None,
                isolation: crate::policy::IsolationLevel::None,
            },
        );
        Ok(handle)
    }

    fn kill_process(&self, handle: ProcessHandle, signal: Signal) -> Result<(), ProcessError> {
        self.known(handle)?;
        self.record(Call::Kill {
            pid: handle.pid,
            signal,
        });
        Ok(())
    }

    fn kill_process_group(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<(), ProcessError> {
        self.known(handle)?;
        self.record(Call::KillGroup {
            pid: handle.pid,
            signal,
        });
        Ok(())
    }

    fn kill_process_tree(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<Vec<i32>, ProcessError> {
        let info = self.known(handle)?;
        self.record(Call::KillTree {
            pid: handle.pid,
            signal,
        });
        Ok(if info.termination.is_none() {
            vec![info.pid]
        } else {
            Vec::new()
        })
    }

    fn enforce_limit(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<Vec<i32>, ProcessError> {
        let info = self.known(handle)?;
        self.record(Call::EnforceLimit {
            pid: handle.pid,
            signal,
        });
        Ok(vec![info.pid])
    }

    fn check_run(&self, command: &crate::Command, plan: &RunPlan) -> Result<(), ProcessError> {
        self.record(Call::CheckRun {
            program: command.program.clone(),
            plan: *plan,
        });
        self.state().runs.pop_front().unwrap_or(Ok(()))
    }

    fn record_refusal(&self, refusal: &ScopedRefusal<'_>) {
        self.record(Call::RecordRefusal {
            scope: refusal.scope.to_owned(),
            operation: refusal.operation,
        });
    }

    fn wait_event(
        &self,
        handle: ProcessHandle,
        options: &WaitOptions,
    ) -> Result<WaitEvent, ProcessError> {
        self.known(handle)?;
        self.record(Call::WaitEvent {
            pid: handle.pid,
            options: options.clone(),
        });
        let scripted = self.state().events.pop_front();
        match scripted {
            Some(Ok(WaitEvent::Ended(end))) => {
                self.end(handle, end);
                Ok(WaitEvent::Ended(end))
            }
            Some(other) => other,
            None => self.observe(handle).map(WaitEvent::Ended),
        }
    }

    fn wait_with_options(
        &self,
        handle: ProcessHandle,
        options: &WaitOptions,
    ) -> Result<ExitStatus, ProcessError> {
        self.known(handle)?;
        self.record(Call::Wait {
            pid: handle.pid,
            options: options.clone(),
        });
        let end = self.observe(handle)?;
        Self::ended(handle, end)
    }

    fn take_output(&self, handle: ProcessHandle) -> Result<CollectedOutput, ProcessError> {
        self.known(handle)?;
        self.record(Call::TakeOutput { pid: handle.pid });
        Ok(CollectedOutput::default())
    }

    fn take_pipe(
        &self,
        handle: ProcessHandle,
        stream: StdStream,
    ) -> Result<Option<File>, ProcessError> {
        self.known(handle)?;
        self.record(Call::TakePipe {
            pid: handle.pid,
            stream,
        });
        Ok(None)
    }

    fn process_info(&self, handle: ProcessHandle) -> Result<ProcessInfo, ProcessError> {
        self.known(handle)
    }

    fn process_start_time(&self, handle: ProcessHandle) -> Result<Option<u64>, ProcessError> {
        self.known(handle).map(|_| Some(MOCK_START_TIME))
    }

    fn release_process(&self, handle: ProcessHandle) -> Result<(), ProcessError> {
        self.known(handle)?;
        self.record(Call::Release { pid: handle.pid });
        self.state().processes.remove(&handle);
        Ok(())
    }

    fn threads(&self) -> Option<&dyn ThreadCapability> {
        Some(&self.threads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Command, Environment};

    /// A layer that writes nothing but `inner`: the slim contract's pass-through.
    struct Bare<'a>(&'a MockCapability);

    impl ProcessCapability for Bare<'_> {
        fn inner(&self) -> Option<&dyn ProcessCapability> {
            Some(self.0)
        }
    }

    /// A backend that writes nothing but `inner`.
    struct Empty;

    impl ProcessCapability for Empty {
        fn inner(&self) -> Option<&dyn ProcessCapability> {
            None
        }
    }

    fn exe() -> PathBuf {
        std::env::current_exe().unwrap().canonicalize().unwrap()
    }

    #[test]
    fn a_layer_that_writes_nothing_passes_every_call_inward() {
        let mock = MockCapability::new();
        let layer = Bare(&mock);
        let h = layer
            .spawn_process(&Command::new(exe()), &Environment::default())
            .unwrap();
        layer.kill_process(h, Signal::TERM).unwrap();
        layer.kill_process_group(h, Signal::HUP).unwrap();
        assert_eq!(layer.kill_process_tree(h, Signal::INT).unwrap(), [h.pid()]);
        layer.enforce_limit(h, Signal::KILL).unwrap();
        assert_eq!(layer.process_start_time(h).unwrap(), Some(MOCK_START_TIME));
        layer.take_output(h).unwrap();
        assert_eq!(layer.wait_process(h, None).unwrap().code(), 0);
        let t = layer
            .create_thread(ThreadStart::new(|_| Ok(())), ThreadOptions::default())
            .unwrap();
        layer.join_thread(t, None).unwrap();
        assert_eq!(
            mock.thread_half().calls(),
            [ThreadCall::Create { name: None }, ThreadCall::Join]
        );
        layer.release_process(h).unwrap();
        let pid = h.pid();
        let calls = mock.calls();
        assert_eq!(calls.len(), 8, "{calls:?}");
        assert!(matches!(&calls[0], Call::Spawn(s) if s.program == exe()));
        assert_eq!(
            calls[1..5],
            [
                Call::Kill {
                    pid,
                    signal: Signal::TERM
                },
                Call::KillGroup {
                    pid,
                    signal: Signal::HUP
                },
                Call::KillTree {
                    pid,
                    signal: Signal::INT
                },
                Call::EnforceLimit {
                    pid,
                    signal: Signal::KILL
                },
            ]
        );
        assert_eq!(calls[5], Call::TakeOutput { pid });
        // `wait_process` is derived: it reaches the inner capability as `wait_with_options`.
        assert!(
            matches!(&calls[6], Call::Wait { pid: p, options } if *p == pid && options.timeout.is_none())
        );
        assert_eq!(calls[7], Call::Release { pid });
    }

    #[test]
    fn a_backend_without_its_core_answers_unsupported_naming_the_method() {
        let h = ProcessHandle {
            owner: MOCK_OWNER,
            slot: 1,
            generation: 1,
            pid: 1,
        };
        let e = Empty.kill_process(h, Signal::TERM).unwrap_err();
        assert_eq!(e.kind, ProcessErrorKind::Unsupported);
        assert!(e.message.contains("kill_process"), "{}", e.message);
        let e = Empty.wait_process(h, None).unwrap_err();
        assert!(e.message.contains("wait_with_options"), "{}", e.message);
        // The fallbacks built on the core fail the same way, or know nothing.
        assert!(Empty.kill_process_tree(h, Signal::TERM).is_err());
        assert!(Empty.audit_failure().is_none());
        assert!(Empty.threads().is_none());
    }
}
