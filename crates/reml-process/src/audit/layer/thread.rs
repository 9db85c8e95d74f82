//! The thread half of the audit layer: `thread.created`, `thread.joined`,
//! `thread.affinity_set` (the module docs of [`crate::audit::layer`]).

use std::time::Duration;

use serde_json::json;

use super::{lock, AuditLayer};
use crate::audit::{events, keys};
use crate::capability::ProcessCapability;
use crate::effect::Operation;
use crate::error::{ThreadError, ThreadErrorKind};
use crate::thread::{
    CpuSet, ThreadCapability, ThreadHandle, ThreadInfo, ThreadOptions, ThreadResult, ThreadStart,
};

impl<C: ProcessCapability> ThreadCapability for AuditLayer<C> {
    fn create_thread(
        &self,
        start: ThreadStart,
        options: ThreadOptions,
    ) -> Result<ThreadHandle, ThreadError> {
        self.gate_start(Operation::CreateThread)
            .map_err(|m| ThreadError::new(ThreadErrorKind::CreationFailed, m))?;
        let inner = self.inner_threads()?;
        let name = options.name.clone();
        let h = inner.create_thread(start, options)?;
        if self.discards {
            return Ok(h);
        }
        let subject = name.clone().unwrap_or_else(|| h.to_string());
        lock(&self.threads).insert(h, subject);
        let mut ev = self.thread_event(h, events::THREAD_CREATED);
        if let Some(n) = name {
            ev = ev.with_metadata(keys::THREAD_NAME, n);
        }
        if let Ok(info) = inner.thread_info(h) {
            ev = ev.with_metadata("thread.tid", info.tid);
        }
        self.emit(ev);
        Ok(h)
    }

    fn join_thread(
        &self,
        handle: ThreadHandle,
        timeout: Option<Duration>,
    ) -> Result<ThreadResult, ThreadError> {
        let inner = self.inner_threads()?;
        let r = inner.join_thread(handle, timeout);
        if let (Ok(res), false) = (&r, self.discards) {
            let mut ev = self.thread_event(handle, events::THREAD_JOINED);
            ev = ev.with_metadata("thread.ok", res.result.is_ok());
            self.emit(ev);
        }
        r
    }

    fn set_thread_affinity(&self, handle: ThreadHandle, cpus: &CpuSet) -> Result<(), ThreadError> {
        let inner = self.inner_threads()?;
        let r = inner.set_thread_affinity(handle, cpus);
        if r.is_ok() && !self.discards {
            let ev = self
                .thread_event(handle, events::THREAD_AFFINITY_SET)
                .with_metadata(keys::THREAD_AFFINITY, json!(cpus.to_vec()));
            self.emit(ev);
        }
        r
    }

    fn get_thread_affinity(&self, handle: ThreadHandle) -> Result<CpuSet, ThreadError> {
        self.inner_threads()?.get_thread_affinity(handle)
    }

    fn release_thread(&self, handle: ThreadHandle) -> Result<(), ThreadError> {
        let inner = self.inner_threads()?;
        let r = inner.release_thread(handle);
        if r.is_ok() {
            lock(&self.threads).remove(&handle);
        }
        r
    }

    fn thread_info(&self, handle: ThreadHandle) -> Result<ThreadInfo, ThreadError> {
        self.inner_threads()?.thread_info(handle)
    }

    fn running_threads(&self) -> usize {
        self.inner.threads().map_or(0, |t| t.running_threads())
    }

    fn outstanding_threads(&self) -> Vec<ThreadHandle> {
        self.inner
            .threads()
            .map_or_else(Vec::new, |t| t.outstanding_threads())
    }
}
