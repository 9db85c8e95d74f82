//! The life of one thread: what it applies before its start function (OS name, priority),
//! how it runs and reports, and what a join reads back from its stored outcome.

use std::ffi::CString;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::{lock, Entry, Outcome, Startup};
use crate::error::{ThreadError, ThreadErrorKind};
use crate::sys::imp::thread as sys;
use crate::thread::os::os_message;
use crate::thread::{SchedPolicy, ThreadPriority, ThreadResult, ThreadStart};

/// What the new thread must do before its start function.
pub(super) struct Setup {
    pub(super) os_name: Option<CString>,
    pub(super) priority: Option<ThreadPriority>,
}

impl Setup {
    fn apply(&self, tid: u32, describe: &dyn Fn() -> String) -> Result<(), ThreadError> {
        let fail = |m: String| ThreadError::new(ThreadErrorKind::CreationFailed, m);
        if let Some(name) = &self.os_name {
            sys::set_current_thread_name(name).map_err(|e| {
                fail(os_message(
                    format!("cannot name {}: prctl(PR_SET_NAME, {name:?})", describe()),
                    &e,
                ))
            })?;
            match sys::current_thread_name() {
                Ok(got) if got == name.as_bytes() => {}
                Ok(got) => {
                    return Err(fail(format!(
                        "cannot name {}: the kernel holds {:?} instead of {name:?}",
                        describe(),
                        String::from_utf8_lossy(&got)
                    )))
                }
                Err(e) => {
                    return Err(fail(os_message(
                        format!(
                            "cannot read back the name of {}: prctl(PR_GET_NAME)",
                            describe()
                        ),
                        &e,
                    )))
                }
            }
        }
        if let Some(p) = self.priority {
            apply_priority(tid, p).map_err(|m| {
                fail(format!(
                    "cannot apply priority {p} to {}: {m}; the start function was not run",
                    describe()
                ))
            })?;
        }
        Ok(())
    }
}

/// Applies `priority` to thread `tid` (the calling thread), see [`ThreadPriority`].
fn apply_priority(tid: u32, priority: ThreadPriority) -> Result<(), String> {
    let policy = priority.policy();
    let rt = priority.rt_priority();
    match priority.nice() {
        Some(nice) => {
            let current = sys::sched_getscheduler_thread(tid)
                .map(SchedPolicy::from_raw)
                .map_err(|e| os_message(format!("sched_getscheduler({tid})"), &e))?;
            if current != SchedPolicy::Other {
                sys::sched_setscheduler_thread(tid, SchedPolicy::Other.to_raw(), 0).map_err(
                    |e| {
                        os_message(
                            format!("sched_setscheduler({tid}, SCHED_OTHER, 0) (from {current})"),
                            &e,
                        )
                    },
                )?;
            }
            sys::setpriority_thread(tid, nice)
                .map_err(|e| os_message(format!("setpriority(PRIO_PROCESS, {tid}, {nice})"), &e))
        }
        None => sys::sched_setscheduler_thread(tid, policy.to_raw(), rt).map_err(|e| {
            os_message(
                format!("sched_setscheduler({tid}, {}, {rt})", policy.c_name()),
                &e,
            )
        }),
    }
}

/// The stack size actually requested from the OS for `requested` bytes: at least the
/// platform minimum, rounded up to the page size.
pub(super) fn round_stack_size(requested: usize) -> Result<usize, ThreadError> {
    let page = sys::page_size();
    let min = sys::min_stack_size();
    let rounded = requested
        .max(min)
        .checked_next_multiple_of(page)
        .filter(|&n| n <= isize::MAX as usize);
    rounded.ok_or_else(|| {
        ThreadError::new(
            ThreadErrorKind::CreationFailed,
            format!(
                "stack size of {requested} bytes is impossible: rounded up to the {page}-byte \
                 page size it exceeds the largest possible allocation ({} bytes)",
                isize::MAX
            ),
        )
    })
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(panic payload is not a string)".to_owned()
    }
}

/// Decrements the running count when the thread's work ends, on every path.
pub(super) struct RunningGuard(pub(super) Arc<AtomicUsize>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(super) fn thread_main(
    entry: Arc<Entry>,
    setup: Setup,
    start: ThreadStart,
    running: RunningGuard,
) {
    let tid = sys::gettid();
    let _ = entry.tid.set(tid);
    let _ = entry.std_id.set(std::thread::current().id());
    let applied = panic::catch_unwind(AssertUnwindSafe(|| setup.apply(tid, &|| entry.describe())));
    let failure = match applied {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(payload) => Some(ThreadError::new(
            ThreadErrorKind::CreationFailed,
            format!(
                "{}: applying its name or priority panicked: {}",
                entry.describe(),
                panic_message(payload.as_ref())
            ),
        )),
    };
    if let Some(e) = failure {
        drop(running);
        entry.report(Startup::Failed(Some(e)));
        return;
    }
    // Nobody may be listening: `create_thread` did not wait (nothing to apply) and nothing
    // asked for the tid yet. The thread runs all the same.
    entry.report(Startup::Started);
    let outcome = match panic::catch_unwind(AssertUnwindSafe(|| start.run(entry.handle))) {
        Ok(result) => Outcome::Returned(result),
        Err(payload) => Outcome::Panicked(panic_message(payload.as_ref())),
    };
    // Count the thread out before joiners are woken, so "joined" implies "not running".
    drop(running);
    let mut state = lock(&entry.state);
    state.finished = true;
    state.outcome = Some(outcome);
    entry.notify(state);
}

/// The result of a join from the thread's stored outcome.
pub(super) fn join_result(
    entry: &Entry,
    outcome: Option<Outcome>,
) -> Result<ThreadResult, ThreadError> {
    let fail = |m: String| ThreadError::new(ThreadErrorKind::JoinFailed, m);
    match outcome {
        Some(Outcome::Returned(result)) => Ok(ThreadResult {
            handle: entry.handle,
            tid: entry.tid(),
            name: entry.name.clone(),
            result,
        }),
        Some(Outcome::Panicked(msg)) => Err(fail(format!("{} panicked: {msg}", entry.describe()))),
        None => Err(fail(format!(
            "cannot join {}: its result was already taken",
            entry.describe()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_sizes_round_up_to_minimum_and_page() {
        let page = sys::page_size();
        let min = sys::min_stack_size();
        let r = round_stack_size(1).unwrap();
        assert!(r >= min && r % page == 0, "{r}");
        let r = round_stack_size(min + 1).unwrap();
        assert_eq!(r % page, 0);
        assert!(r > min);
        assert!(round_stack_size(usize::MAX).is_err());
        let e = round_stack_size(usize::MAX - 1).unwrap_err();
        assert_eq!(e.kind, ThreadErrorKind::CreationFailed);
        assert!(e.message.contains("impossible"), "{}", e.message);
    }

    #[test]
    fn panic_messages_are_extracted() {
        let p: Box<dyn std::any::Any + Send> = Box::new("static str");
        assert_eq!(panic_message(p.as_ref()), "static str");
        let p: Box<dyn std::any::Any + Send> = Box::new(String::from("owned"));
        assert_eq!(panic_message(p.as_ref()), "owned");
        let p: Box<dyn std::any::Any + Send> = Box::new(42u8);
        assert!(panic_message(p.as_ref()).contains("not a string"));
    }
}
