//! Thread calls on platforms without a backend: the same names as `sys/linux/thread.rs`, each
//! failing with `io::ErrorKind::Unsupported` that names the platform. Nothing is emulated;
//! `crate::thread` checks [`SUPPORTED`] first and reports `ThreadErrorKind::Unsupported`.
#![allow(dead_code)]

use std::ffi::CStr;
use std::io;

/// Whether this backend implements thread control (it does not).
pub(crate) const SUPPORTED: bool = false;

/// The scheduling policy numbers `crate::thread::SchedPolicy` names: Linux's, so the
/// shared code type-checks; never passed to an OS here (every call fails first).
pub(crate) const SCHED_OTHER: i32 = 0;
/// `SCHED_FIFO`.
pub(crate) const SCHED_FIFO: i32 = 1;
/// `SCHED_RR`.
pub(crate) const SCHED_RR: i32 = 2;
/// `SCHED_BATCH`.
pub(crate) const SCHED_BATCH: i32 = 3;
/// `SCHED_IDLE`.
pub(crate) const SCHED_IDLE: i32 = 5;
/// `SCHED_DEADLINE`.
pub(crate) const SCHED_DEADLINE: i32 = 6;

/// The number of CPU ids an affinity mask can hold; none here.
pub(crate) const AFFINITY_MASK_CPUS: usize = 0;

fn unsupported() -> io::Error {
    crate::sys::unsupported_error("thread control")
}

pub(crate) fn gettid() -> u32 {
    0
}

pub(crate) fn set_current_thread_name(_name: &CStr) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn current_thread_name() -> io::Result<Vec<u8>> {
    Err(unsupported())
}

pub(crate) fn thread_comm(_tid: u32) -> io::Result<Vec<u8>> {
    Err(unsupported())
}

pub(crate) fn setpriority_thread(_tid: u32, _nice: i32) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn getpriority_thread(_tid: u32) -> io::Result<i32> {
    Err(unsupported())
}

pub(crate) fn sched_setscheduler_thread(
    _tid: u32,
    _policy: i32,
    _rt_priority: i32,
) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn sched_getscheduler_thread(_tid: u32) -> io::Result<i32> {
    Err(unsupported())
}

pub(crate) fn sched_getparam_thread(_tid: u32) -> io::Result<i32> {
    Err(unsupported())
}

pub(crate) fn sched_setaffinity_thread(_tid: u32, _cpus: &[usize]) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn sched_getaffinity_thread(_tid: Option<u32>) -> io::Result<Vec<usize>> {
    Err(unsupported())
}

pub(crate) fn online_cpu_list() -> io::Result<String> {
    Err(unsupported())
}

pub(crate) fn possible_cpu_list() -> io::Result<String> {
    Err(unsupported())
}

pub(crate) fn page_size() -> usize {
    4096
}

pub(crate) fn min_stack_size() -> usize {
    16 * 1024
}
