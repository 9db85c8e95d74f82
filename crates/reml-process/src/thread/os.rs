//! Reading what the OS really applied to a thread, and which CPUs the system has.

use std::io;

use super::{CpuSet, SchedPolicy};
use crate::error::{errno_text, ThreadError, ThreadErrorKind};
use crate::sys::imp::thread as sys;

/// `"what: <strerror> (errno N)"` for an OS error, or the error's own text without errno.
pub(crate) fn os_message(what: impl std::fmt::Display, err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(n) => format!("{what}: {} (errno {n})", errno_text(n)),
        None => format!("{what}: {err}"),
    }
}

pub(crate) fn unsupported_error(operation: &str) -> ThreadError {
    ThreadError::new(
        ThreadErrorKind::Unsupported,
        format!(
            "{operation}: {}",
            crate::sys::unsupported_message("thread control")
        ),
    )
}

fn parse_kernel_list(what: &str, text: io::Result<String>) -> Result<CpuSet, String> {
    let text = text.map_err(|e| os_message(format!("cannot read the {what} CPUs"), &e))?;
    text.parse::<CpuSet>()
        .map_err(|e| format!("cannot parse the {what} CPU list `{text}`: {}", e.reason))
}

/// The CPUs that can ever exist on this boot (`/sys/devices/system/cpu/possible`, else the
/// online ones), as the kernel lists them: the one reader of the kernel's CPU lists, for
/// affinity and for the policy review.
pub(crate) fn possible_cpus() -> Result<CpuSet, String> {
    parse_kernel_list("possible", sys::possible_cpu_list())
}

/// The CPUs that exist (`possible`) and the CPUs that are online, as the kernel lists them.
pub(crate) fn possible_and_online() -> Result<(CpuSet, CpuSet), String> {
    let possible = possible_cpus()?;
    let online = parse_kernel_list("online", sys::online_cpu_list())?;
    Ok((possible, online))
}

/// The CPUs that are online now (`/sys/devices/system/cpu/online`), as CPU ids.
///
/// The ids an affinity may name are these, less any the process's cpuset cgroup withholds
/// (which `set_thread_affinity` detects by reading the mask back).
///
/// # Errors
/// `Unsupported` off Linux; `InvalidAffinity` when neither sysfs nor `/proc/stat` can be read.
pub fn online_cpus() -> Result<CpuSet, ThreadError> {
    if !sys::SUPPORTED {
        return Err(unsupported_error("online_cpus"));
    }
    possible_and_online()
        .map(|(_, online)| online)
        .map_err(|m| ThreadError::new(ThreadErrorKind::InvalidAffinity, m))
}

/// The scheduling facts of the calling thread, read back from the kernel (what
/// `thread_probe` prints as `"os"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsThreadState {
    /// The kernel thread id (`gettid`).
    pub tid: u32,
    /// The name the kernel holds, from `/proc/self/task/TID/comm` (at most 15 bytes; lossily
    /// decoded if not UTF-8).
    pub name: String,
    /// The CPU affinity (`sched_getaffinity`), CPU ids.
    pub affinity: CpuSet,
    /// The nice value (`getpriority(PRIO_PROCESS, tid)`), −20..=19.
    pub nice: i32,
    /// The scheduling policy (`sched_getscheduler`).
    pub policy: SchedPolicy,
    /// The real-time priority (`sched_getparam`'s `sched_priority`): 1..=99 under FIFO/RR,
    /// 0 otherwise.
    pub rt_priority: i32,
}

impl OsThreadState {
    /// Reads the calling thread's state from the kernel.
    ///
    /// # Errors
    /// `Unsupported` off Linux; `CreationFailed` with the errno when a read fails (which
    /// would mean `/proc` is not mounted or the kernel refuses to describe the thread).
    ///
    /// # Platform-specific behavior
    /// Linux: `gettid`, `/proc/self/task/TID/comm`, `sched_getaffinity(0)`,
    /// `getpriority(PRIO_PROCESS, tid)`, `sched_getscheduler(tid)`, `sched_getparam(tid)`.
    pub fn current() -> Result<OsThreadState, ThreadError> {
        if !sys::SUPPORTED {
            return Err(unsupported_error("OsThreadState::current"));
        }
        let fail = |what: String, e: io::Error| {
            ThreadError::new(ThreadErrorKind::CreationFailed, os_message(what, &e))
        };
        let tid = sys::gettid();
        let name = sys::thread_comm(tid)
            .map_err(|e| fail(format!("read /proc/self/task/{tid}/comm"), e))?;
        let affinity = sys::sched_getaffinity_thread(None)
            .map_err(|e| fail(format!("sched_getaffinity({tid})"), e))?;
        let nice = sys::getpriority_thread(tid)
            .map_err(|e| fail(format!("getpriority(PRIO_PROCESS, {tid})"), e))?;
        let policy = sys::sched_getscheduler_thread(tid)
            .map(SchedPolicy::from_raw)
            .map_err(|e| fail(format!("sched_getscheduler({tid})"), e))?;
        let rt_priority = sys::sched_getparam_thread(tid)
            .map_err(|e| fail(format!("sched_getparam({tid})"), e))?;
        Ok(OsThreadState {
            tid,
            name: String::from_utf8_lossy(&name).into_owned(),
            affinity: affinity.into_iter().collect(),
            nice,
            policy,
            rt_priority,
        })
    }
}
