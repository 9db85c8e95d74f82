//! Linux calls behind [`crate::thread`]: thread ids, names, nice values, scheduling policies,
//! CPU affinity, the CPU lists of the system and stack-size limits.
//!
//! Every function acts on a *kernel thread id* (`gettid`) of this process, or on the calling
//! thread. The callers in `crate::thread` guarantee that a tid they pass names a thread that is
//! still running (they hold the thread's state lock, which the thread must take before it
//! finishes), so a tid here never names a recycled thread.
//!
//! Errors are `std::io::Error`s carrying the raw errno; `crate::thread` turns them into
//! `ThreadError`s whose message includes `(errno N)`.
//!
//! # References
//! - `gettid(2)`, `prctl(2)` (`PR_SET_NAME`, `PR_GET_NAME`), `setpriority(2)`,
//!   `sched_setscheduler(2)`, `sched_getparam(2)`, `sched_setaffinity(2)`, `proc(5)`,
//!   `Documentation/ABI/testing/sysfs-devices-system-cpu` (`online`, `possible`).

use std::ffi::CStr;
use std::io;

use rustix::process::Pid;
use rustix::thread::CpuSet as RawCpuSet;

/// Whether this backend implements thread control (it does).
pub(crate) const SUPPORTED: bool = true;

/// The number of CPU ids an affinity mask can hold (`CPU_SETSIZE`, 1024 on Linux): ids from 0
/// to `AFFINITY_MASK_CPUS - 1`.
pub(crate) const AFFINITY_MASK_CPUS: usize = RawCpuSet::MAX_CPU;

/// The bit the kernel ORs into `sched_getscheduler`'s result for `SCHED_RESET_ON_FORK`.
const SCHED_RESET_ON_FORK: i32 = libc::SCHED_RESET_ON_FORK;

fn pid(tid: u32) -> io::Result<Pid> {
    i32::try_from(tid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))
}

/// `gettid()`: the kernel thread id of the calling thread.
pub(crate) fn gettid() -> u32 {
    // A tid is a positive pid_t, so the conversion is lossless.
    rustix::thread::gettid().as_raw_nonzero().get() as u32
}

/// `prctl(PR_SET_NAME, name)`: sets the calling thread's name (the kernel keeps 15 bytes).
pub(crate) fn set_current_thread_name(name: &CStr) -> io::Result<()> {
    rustix::thread::set_name(name).map_err(io::Error::from)
}

/// `prctl(PR_GET_NAME)`: the calling thread's name as the kernel holds it (at most 15 bytes).
pub(crate) fn current_thread_name() -> io::Result<Vec<u8>> {
    rustix::thread::name()
        .map(|c| c.into_bytes())
        .map_err(io::Error::from)
}

/// Reads `/proc/self/task/TID/comm` without the trailing newline.
pub(crate) fn thread_comm(tid: u32) -> io::Result<Vec<u8>> {
    let mut bytes = std::fs::read(format!("/proc/self/task/{tid}/comm"))?;
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    Ok(bytes)
}

/// `setpriority(PRIO_PROCESS, tid, nice)`: sets one thread's nice value (-20..=19).
///
/// On Linux `PRIO_PROCESS` with a thread id affects that thread only.
pub(crate) fn setpriority_thread(tid: u32, nice: i32) -> io::Result<()> {
    rustix::process::setpriority_process(Some(pid(tid)?), nice).map_err(io::Error::from)
}

/// `getpriority(PRIO_PROCESS, tid)`: one thread's nice value (-20..=19).
pub(crate) fn getpriority_thread(tid: u32) -> io::Result<i32> {
    rustix::process::getpriority_process(Some(pid(tid)?)).map_err(io::Error::from)
}

/// The scheduling policy numbers (`sched(7)`) that `crate::thread::SchedPolicy` names.
pub(crate) const SCHED_OTHER: i32 = libc::SCHED_OTHER;
/// `SCHED_FIFO`.
pub(crate) const SCHED_FIFO: i32 = libc::SCHED_FIFO;
/// `SCHED_RR`.
pub(crate) const SCHED_RR: i32 = libc::SCHED_RR;
/// `SCHED_BATCH`.
pub(crate) const SCHED_BATCH: i32 = libc::SCHED_BATCH;
/// `SCHED_IDLE`.
pub(crate) const SCHED_IDLE: i32 = libc::SCHED_IDLE;
/// `SCHED_DEADLINE`.
pub(crate) const SCHED_DEADLINE: i32 = libc::SCHED_DEADLINE;

/// `sched_setscheduler(tid, policy, {sched_priority})`: sets one thread's scheduling policy
/// (a `SCHED_*` number) and real-time priority (0 for the non-real-time policies, 1..=99 for FIFO/RR).
///
/// Called through `syscall(2)` rather than the libc wrapper because musl's wrapper refuses
/// the call (`ENOSYS`) on purpose; the raw syscall has the per-thread Linux semantics we want.
pub(crate) fn sched_setscheduler_thread(tid: u32, policy: i32, rt_priority: i32) -> io::Result<()> {
    let tid = pid(tid)?.as_raw_nonzero().get();
    let param = libc::sched_param {
        sched_priority: rt_priority,
    };
    // SAFETY: `sched_setscheduler(pid_t, int, const struct sched_param *)` takes two integers
    // and a pointer to a `sched_param`. `param` is a fully initialised `libc::sched_param`
    // (the kernel's layout: one int) that lives on our stack for the whole call, and the
    // kernel only reads `sizeof(struct sched_param)` bytes from it. No memory of ours is
    // written. The arguments are passed with the C types the syscall expects.
    let r = unsafe {
        libc::syscall(
            libc::SYS_sched_setscheduler,
            tid as libc::c_long,
            policy as libc::c_long,
            &param as *const libc::sched_param,
        )
    };
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `sched_getscheduler(tid)`: one thread's scheduling policy number (`SCHED_*`), with
/// `SCHED_RESET_ON_FORK` masked.
pub(crate) fn sched_getscheduler_thread(tid: u32) -> io::Result<i32> {
    let tid = pid(tid)?.as_raw_nonzero().get();
    // SAFETY: `sched_getscheduler(pid_t)` takes one integer and touches no memory of ours;
    // the raw syscall is used for the same musl reason as in `sched_setscheduler_thread`.
    let r = unsafe { libc::syscall(libc::SYS_sched_getscheduler, tid as libc::c_long) };
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as i32 & !SCHED_RESET_ON_FORK)
    }
}

/// `sched_getparam(tid)`: one thread's real-time priority (`sched_priority`, 0 when the
/// policy is not FIFO/RR).
pub(crate) fn sched_getparam_thread(tid: u32) -> io::Result<i32> {
    let tid = pid(tid)?.as_raw_nonzero().get();
    let mut param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `sched_getparam(pid_t, struct sched_param *)` writes exactly one
    // `struct sched_param` through the pointer. `param` is an initialised, properly aligned
    // `libc::sched_param` on our stack, exclusively borrowed for the call, so the kernel's
    // write stays inside it and nothing else aliases it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_sched_getparam,
            tid as libc::c_long,
            &mut param as *mut libc::sched_param,
        )
    };
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(param.sched_priority)
    }
}

/// `sched_setaffinity(tid, mask)`: sets one thread's CPU affinity.
///
/// Every id in `cpus` must be below [`AFFINITY_MASK_CPUS`]; ids past it are refused with
/// `EINVAL` here rather than reaching the mask (the caller validates first and names the CPU).
pub(crate) fn sched_setaffinity_thread(tid: u32, cpus: &[usize]) -> io::Result<()> {
    let mut set = RawCpuSet::new();
    for &cpu in cpus {
        if cpu >= AFFINITY_MASK_CPUS {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        set.set(cpu);
    }
    rustix::thread::sched_setaffinity(Some(pid(tid)?), &set).map_err(io::Error::from)
}

/// `sched_getaffinity(tid)`: one thread's CPU affinity, as ascending CPU ids; `None` reads
/// the calling thread.
pub(crate) fn sched_getaffinity_thread(tid: Option<u32>) -> io::Result<Vec<usize>> {
    let pid = match tid {
        Some(t) => Some(pid(t)?),
        None => None,
    };
    let set = rustix::thread::sched_getaffinity(pid).map_err(io::Error::from)?;
    Ok((0..AFFINITY_MASK_CPUS).filter(|&c| set.is_set(c)).collect())
}

/// The CPUs that are online, in the kernel's list format (`0-3,6`): from
/// `/sys/devices/system/cpu/online`, else synthesised from the `cpuN` lines of `/proc/stat`.
pub(crate) fn online_cpu_list() -> io::Result<String> {
    match std::fs::read_to_string("/sys/devices/system/cpu/online") {
        Ok(s) => Ok(s.trim().to_owned()),
        Err(sys_err) => {
            let stat = std::fs::read_to_string("/proc/stat").map_err(|_| sys_err)?;
            let ids: Vec<String> = stat
                .lines()
                .filter_map(|l| l.strip_prefix("cpu"))
                .filter_map(|rest| rest.split_whitespace().next())
                .filter(|id| id.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty())
                .map(str::to_owned)
                .collect();
            Ok(ids.join(","))
        }
    }
}

/// The CPUs that can ever exist on this boot (`/sys/devices/system/cpu/possible`), in list
/// format; falls back to [`online_cpu_list`] when sysfs is not mounted.
pub(crate) fn possible_cpu_list() -> io::Result<String> {
    match std::fs::read_to_string("/sys/devices/system/cpu/possible") {
        Ok(s) => Ok(s.trim().to_owned()),
        Err(_) => online_cpu_list(),
    }
}

/// The page size in bytes.
pub(crate) fn page_size() -> usize {
    rustix::param::page_size()
}

/// The smallest stack a thread may have, in bytes: the larger of the libc crate's
/// `PTHREAD_STACK_MIN` and `sysconf(_SC_THREAD_STACK_MIN)` (glibc ≥ 2.34 computes the latter
/// at run time).
pub(crate) fn min_stack_size() -> usize {
    // SAFETY: `sysconf(int)` takes one integer, reads process-wide constants and touches no
    // memory of ours; it is thread-safe.
    let dynamic = unsafe { libc::sysconf(libc::_SC_THREAD_STACK_MIN) };
    let dynamic = usize::try_from(dynamic).unwrap_or(0);
    dynamic.max(libc::PTHREAD_STACK_MIN)
}
