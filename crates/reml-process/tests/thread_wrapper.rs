//! `ThreadCapability` can be wrapped (spec §7: its own capability, layered under the security
//! policy): a layer implements the trait around an inner `dyn ThreadCapability`, checks
//! `max_threads`, `allowed_cpus`, `max_thread_priority` and the effect scope, and delegates.
//! The layer here is a minimal stand-in for the real security layer, written only against the
//! public API.
#![cfg(target_os = "linux")]

use std::sync::{mpsc, Arc};
use std::time::Duration;

use reml_process::thread::{
    CpuSet, NativeThreadCapability, ThreadCapability, ThreadHandle, ThreadInfo, ThreadOptions,
    ThreadPriority, ThreadResult, ThreadStart,
};
use reml_process::{Effect, EffectSet, Operation, ThreadError, ThreadErrorKind};

struct Guarded {
    inner: Arc<dyn ThreadCapability>,
    scope: EffectSet,
    max_threads: usize,
    allowed_cpus: CpuSet,
    max_priority: ThreadPriority,
}

impl Guarded {
    fn check(&self, op: Operation, kind: ThreadErrorKind) -> Result<(), ThreadError> {
        let missing = op.effects().difference(self.scope);
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ThreadError::new(
                kind,
                format!("{} needs effects {missing} outside the scope", op.name()),
            ))
        }
    }
}

impl ThreadCapability for Guarded {
    fn create_thread(
        &self,
        start: ThreadStart,
        options: ThreadOptions,
    ) -> Result<ThreadHandle, ThreadError> {
        let refuse = |m: String| ThreadError::new(ThreadErrorKind::CreationFailed, m);
        self.check(Operation::CreateThread, ThreadErrorKind::CreationFailed)?;
        if self.inner.running_threads() >= self.max_threads {
            return Err(refuse(format!("max_threads {} reached", self.max_threads)));
        }
        if options.priority.is_some_and(|p| p > self.max_priority) {
            return Err(refuse(format!("priority above {}", self.max_priority)));
        }
        self.inner.create_thread(start, options)
    }
    fn join_thread(
        &self,
        handle: ThreadHandle,
        timeout: Option<Duration>,
    ) -> Result<ThreadResult, ThreadError> {
        self.check(Operation::JoinThread, ThreadErrorKind::JoinFailed)?;
        self.inner.join_thread(handle, timeout)
    }
    fn set_thread_affinity(&self, handle: ThreadHandle, cpus: &CpuSet) -> Result<(), ThreadError> {
        self.check(
            Operation::SetThreadAffinity,
            ThreadErrorKind::InvalidAffinity,
        )?;
        if !cpus.is_subset(&self.allowed_cpus) {
            return Err(ThreadError::new(
                ThreadErrorKind::InvalidAffinity,
                format!("CPUs {:?} not allowed", cpus.difference(&self.allowed_cpus)),
            ));
        }
        self.inner.set_thread_affinity(handle, cpus)
    }
    fn get_thread_affinity(&self, handle: ThreadHandle) -> Result<CpuSet, ThreadError> {
        self.check(
            Operation::SetThreadAffinity,
            ThreadErrorKind::InvalidAffinity,
        )?;
        self.inner.get_thread_affinity(handle)
    }
    fn release_thread(&self, handle: ThreadHandle) -> Result<(), ThreadError> {
        self.inner.release_thread(handle)
    }
    fn thread_info(&self, handle: ThreadHandle) -> Result<ThreadInfo, ThreadError> {
        self.inner.thread_info(handle)
    }
    fn running_threads(&self) -> usize {
        self.inner.running_threads()
    }
    fn outstanding_threads(&self) -> Vec<ThreadHandle> {
        self.inner.outstanding_threads()
    }
}

fn guarded(scope: EffectSet) -> Arc<dyn ThreadCapability> {
    Arc::new(Guarded {
        inner: Arc::new(NativeThreadCapability::new()),
        scope,
        max_threads: 1,
        allowed_cpus: CpuSet::from([0]),
        max_priority: ThreadPriority::Normal,
    })
}

fn gated() -> (ThreadStart, mpsc::Sender<()>) {
    let (tx, rx) = mpsc::channel::<()>();
    (
        ThreadStart::new(move |_| {
            let _ = rx.recv();
            Ok(())
        }),
        tx,
    )
}

#[test]
fn a_wrapping_layer_enforces_limits_and_passes_handles_through() {
    let cap = guarded(EffectSet::ALL);
    let (start, release) = gated();
    let h = cap
        .create_thread(
            start,
            ThreadOptions::default().with_priority(ThreadPriority::Low),
        )
        .unwrap();

    // max_threads = 1: a second live thread is refused by the layer.
    let e = cap
        .create_thread(ThreadStart::new(|_| Ok(())), ThreadOptions::default())
        .unwrap_err();
    assert!(e.message.contains("max_threads"), "{}", e.message);

    // allowed_cpus = {0}: the layer refuses {1}; {0} reaches the native backend.
    let e = cap
        .set_thread_affinity(h, &CpuSet::from([0, 1]))
        .unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::InvalidAffinity);
    assert!(e.message.contains("{1}"), "{}", e.message);
    cap.set_thread_affinity(h, &CpuSet::from([0])).unwrap();
    assert_eq!(cap.get_thread_affinity(h).unwrap(), CpuSet::from([0]));

    drop(release);
    let r = cap.join_thread(h, None).unwrap();
    assert_eq!(r.handle, h, "the handle issued below is the one used above");
    cap.release_thread(h).unwrap();

    // max_thread_priority = normal: High is refused by the layer, before any thread exists.
    let e = cap
        .create_thread(
            ThreadStart::new(|_| Ok(())),
            ThreadOptions::default().with_priority(ThreadPriority::High),
        )
        .unwrap_err();
    assert!(e.message.contains("priority above normal"), "{}", e.message);
    assert_eq!(cap.running_threads(), 0);
}

#[test]
fn a_wrapping_layer_refuses_operations_outside_the_effect_scope() {
    // No io.blocking: joining is refused; no hardware: affinity is refused.
    let cap = guarded(EffectSet::of(&[Effect::Thread]));
    let (start, release) = gated();
    let h = cap.create_thread(start, ThreadOptions::default()).unwrap();
    let e = cap.join_thread(h, None).unwrap_err();
    assert!(e.message.contains("io.blocking"), "{}", e.message);
    let e = cap.set_thread_affinity(h, &CpuSet::from([0])).unwrap_err();
    assert!(e.message.contains("hardware"), "{}", e.message);
    drop(release);
    cap.release_thread(h).unwrap();
}
