//! The value types of the thread API (spec §4): handles, start functions, options, priorities,
//! results and table information.

use std::fmt;
use std::str::FromStr;

use crate::error::ThreadError;

/// A handle to a thread created through a [`ThreadCapability`](super::ThreadCapability)
/// (spec §1 `ThreadHandle`).
///
/// A small `Copy` id into the table of the capability instance that created the thread:
/// `owner` (the instance id), `slot` and `generation`. It owns nothing, so dropping it releases
/// nothing (spec §1: no release on drop); [`release_thread`](super::ThreadCapability::release_thread)
/// frees the slot explicitly. A released slot's generation moves on, so an old id — or an id of
/// another instance — is refused with an error and never reaches another thread.
///
/// Displays as `thread#SLOT.GENERATION@OWNER`, e.g. `thread#0.1@3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThreadHandle {
    owner: u64,
    slot: u32,
    generation: u32,
}

impl ThreadHandle {
    /// Builds a handle from its parts.
    ///
    /// Meant for capabilities that keep their own table (mocks in tests, other backends); a
    /// handle forged for a [`NativeThreadCapability`](super::NativeThreadCapability) is simply
    /// refused as stale or foreign.
    pub const fn from_raw_parts(owner: u64, slot: u32, generation: u32) -> ThreadHandle {
        ThreadHandle {
            owner,
            slot,
            generation,
        }
    }

    /// The id of the capability instance that issued the handle.
    pub const fn owner(self) -> u64 {
        self.owner
    }

    /// The table slot.
    pub const fn slot(self) -> u32 {
        self.slot
    }

    /// The generation of the slot when the handle was issued.
    pub const fn generation(self) -> u32 {
        self.generation
    }
}

impl fmt::Display for ThreadHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "thread#{}.{}@{}", self.slot, self.generation, self.owner)
    }
}

/// The boxed function type inside a [`ThreadStart`].
pub type ThreadStartFn = Box<dyn FnOnce(ThreadHandle) -> Result<(), ThreadError> + Send + 'static>;

/// The function a new thread runs (spec §4 `ThreadStart = fn(ThreadHandle) -> Result<(),
/// ThreadError>`).
///
/// It receives the thread's own [`ThreadHandle`] (so it can, for example, set its own affinity
/// or read its [`ThreadInfo`]) and returns `Ok(())` or its own [`ThreadError`]; that result is
/// what [`ThreadResult::result`] carries after a join. A panic is caught and reported by the
/// join as `JoinFailed` with the panic message.
///
/// A wrapping capability can wrap a start function in another (to audit its end, say) with
/// [`ThreadStart::new`] around [`ThreadStart::run`].
///
/// # Examples
/// ```
/// use reml_process::thread::ThreadStart;
/// let start = ThreadStart::new(|me| {
///     println!("running as {me}");
///     Ok(())
/// });
/// # let _ = start;
/// ```
pub struct ThreadStart(ThreadStartFn);

impl ThreadStart {
    /// Wraps a closure as a start function.
    pub fn new<F>(f: F) -> ThreadStart
    where
        F: FnOnce(ThreadHandle) -> Result<(), ThreadError> + Send + 'static,
    {
        ThreadStart(Box::new(f))
    }

    /// Runs the start function on the calling thread with `handle` (what the capability does
    /// inside the new thread).
    pub fn run(self, handle: ThreadHandle) -> Result<(), ThreadError> {
        (self.0)(handle)
    }

    /// The boxed function.
    pub fn into_inner(self) -> ThreadStartFn {
        self.0
    }
}

impl fmt::Debug for ThreadStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ThreadStart(..)")
    }
}

/// A thread's scheduling priority (spec §4 `ThreadPriority = Low | Normal | High | Realtime`).
///
/// Ordered `Low < Normal < High < Realtime`, so a policy can say "at most `High`" with
/// `priority <= max`.
///
/// # Platform-specific behavior
/// On Linux the priority is applied inside the new thread, before its start function runs,
/// to that thread only (its kernel thread id):
///
/// | priority | policy | nice value | real-time priority | privilege needed |
/// | --- | --- | --- | --- | --- |
/// | `Low` | `SCHED_OTHER` | +10 | 0 | none |
/// | `Normal` | `SCHED_OTHER` | 0 | 0 | none, unless the creating thread had a nice value above 0 (then lowering it needs what `High` needs) |
/// | `High` | `SCHED_OTHER` | −10 | 0 | `CAP_SYS_NICE`, or `RLIMIT_NICE` ≥ 30 |
/// | `Realtime` | `SCHED_RR` | unchanged | 1 | `CAP_SYS_NICE`, or `RLIMIT_RTPRIO` ≥ 1 |
///
/// For `Low`/`Normal`/`High` the thread is first moved to `SCHED_OTHER` when it inherited
/// another policy (a thread created by a real-time thread), then `setpriority(PRIO_PROCESS,
/// tid, nice)` is called. `Normal` is applied like the others: a thread created by a `High`
/// thread would otherwise inherit nice −10. `Realtime` is `sched_setscheduler(tid, SCHED_RR,
/// 1)`: the lowest real-time priority, above every normal thread and below the kernel's own
/// real-time threads. When it cannot be applied, `create_thread` fails (see
/// [`ThreadOptions::priority`]); there is no fall-back.
///
/// A thread created with no priority ([`ThreadOptions::priority`] = `None`) keeps what it
/// inherits from the creating thread (policy, nice value and real-time priority).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ThreadPriority {
    /// Below normal: nice +10.
    Low,
    /// Normal: nice 0, `SCHED_OTHER`.
    Normal,
    /// Above normal: nice −10 (needs privilege).
    High,
    /// Real-time: `SCHED_RR` priority 1 (needs privilege).
    Realtime,
}

impl ThreadPriority {
    /// Every priority, lowest first.
    pub const ALL: [ThreadPriority; 4] = [
        ThreadPriority::Low,
        ThreadPriority::Normal,
        ThreadPriority::High,
        ThreadPriority::Realtime,
    ];

    /// `"low"`, `"normal"`, `"high"` or `"realtime"` (the policy file's spelling).
    pub const fn as_str(self) -> &'static str {
        match self {
            ThreadPriority::Low => "low",
            ThreadPriority::Normal => "normal",
            ThreadPriority::High => "high",
            ThreadPriority::Realtime => "realtime",
        }
    }

    /// The nice value applied for this priority (−20..=19, lower is more CPU), or `None` for
    /// `Realtime`, which leaves the nice value as inherited.
    pub const fn nice(self) -> Option<i32> {
        match self {
            ThreadPriority::Low => Some(10),
            ThreadPriority::Normal => Some(0),
            ThreadPriority::High => Some(-10),
            ThreadPriority::Realtime => None,
        }
    }

    /// The scheduling policy applied for this priority: `Other`, or `RoundRobin` for
    /// `Realtime`.
    pub const fn policy(self) -> SchedPolicy {
        match self {
            ThreadPriority::Realtime => SchedPolicy::RoundRobin,
            _ => SchedPolicy::Other,
        }
    }

    /// The real-time priority (`sched_priority`, 1..=99 for FIFO/RR) applied: 1 for
    /// `Realtime`, 0 otherwise.
    pub const fn rt_priority(self) -> i32 {
        match self {
            ThreadPriority::Realtime => 1,
            _ => 0,
        }
    }
}

impl fmt::Display for ThreadPriority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serialises as its name: `"low"`, `"normal"`, `"high"` or `"realtime"` (as the policy's
/// `max_thread_priority` is written).
impl serde::Serialize for ThreadPriority {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The error of parsing a [`ThreadPriority`]: the text that is not one of the four names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown thread priority `{0}` (expected low, normal, high or realtime)")]
pub struct ParseThreadPriorityError(pub String);

impl FromStr for ThreadPriority {
    type Err = ParseThreadPriorityError;

    /// Parses `low`, `normal`, `high` or `realtime` (ASCII case-insensitive, surrounding
    /// blanks ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        ThreadPriority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| ParseThreadPriorityError(s.to_owned()))
    }
}

/// A Linux scheduling policy as read back from the kernel (`sched(7)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchedPolicy {
    /// `SCHED_OTHER` (`SCHED_NORMAL`): the default time-sharing policy, weighted by nice value.
    Other,
    /// `SCHED_FIFO`: real-time, first in first out.
    Fifo,
    /// `SCHED_RR`: real-time, round robin.
    RoundRobin,
    /// `SCHED_BATCH`: time-sharing for CPU-bound batch work.
    Batch,
    /// `SCHED_IDLE`: runs only when nothing else wants the CPU.
    Idle,
    /// `SCHED_DEADLINE`: earliest deadline first.
    Deadline,
    /// A policy number this crate does not know.
    Unknown(i32),
}

impl SchedPolicy {
    /// `"other"`, `"fifo"`, `"rr"`, `"batch"`, `"idle"`, `"deadline"`, or `"unknown"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SchedPolicy::Other => "other",
            SchedPolicy::Fifo => "fifo",
            SchedPolicy::RoundRobin => "rr",
            SchedPolicy::Batch => "batch",
            SchedPolicy::Idle => "idle",
            SchedPolicy::Deadline => "deadline",
            SchedPolicy::Unknown(_) => "unknown",
        }
    }

    /// The backend's policy number (`SCHED_*`); `Unknown(n)` is `n`.
    pub(crate) fn to_raw(self) -> i32 {
        use crate::sys::imp::thread as sys;
        match self {
            SchedPolicy::Other => sys::SCHED_OTHER,
            SchedPolicy::Fifo => sys::SCHED_FIFO,
            SchedPolicy::RoundRobin => sys::SCHED_RR,
            SchedPolicy::Batch => sys::SCHED_BATCH,
            SchedPolicy::Idle => sys::SCHED_IDLE,
            SchedPolicy::Deadline => sys::SCHED_DEADLINE,
            SchedPolicy::Unknown(n) => n,
        }
    }

    /// The policy of a backend's number (`SCHED_*`, as `sched_getscheduler` returns it with
    /// `SCHED_RESET_ON_FORK` masked); `Unknown(n)` for a number not named here.
    pub(crate) fn from_raw(raw: i32) -> SchedPolicy {
        use crate::sys::imp::thread as sys;
        match raw {
            sys::SCHED_OTHER => SchedPolicy::Other,
            sys::SCHED_FIFO => SchedPolicy::Fifo,
            sys::SCHED_RR => SchedPolicy::RoundRobin,
            sys::SCHED_BATCH => SchedPolicy::Batch,
            sys::SCHED_IDLE => SchedPolicy::Idle,
            sys::SCHED_DEADLINE => SchedPolicy::Deadline,
            n => SchedPolicy::Unknown(n),
        }
    }

    /// The C name, e.g. `"SCHED_RR"`, for messages.
    pub fn c_name(self) -> String {
        match self {
            SchedPolicy::Unknown(n) => format!("policy {n}"),
            p => format!("SCHED_{}", p.as_str().to_ascii_uppercase()),
        }
    }
}

impl fmt::Display for SchedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest thread name the Linux kernel keeps, in bytes (`TASK_COMM_LEN` − 1 = 15).
pub const OS_THREAD_NAME_MAX: usize = 15;

/// The name the OS will hold for a thread named `name`: the longest prefix of at most
/// [`OS_THREAD_NAME_MAX`] (15) bytes that ends on a character boundary.
///
/// This is the documented outcome for names longer than 15 bytes: the thread *is* named, with this
/// prefix, while the handle ([`ThreadInfo::name`]) keeps the full name.
///
/// # Examples
/// ```
/// use reml_process::thread::os_thread_name;
/// assert_eq!(os_thread_name("worker-thread-0001"), "worker-thread-0");
/// assert_eq!(os_thread_name("short"), "short");
/// // 14 ASCII bytes then a 2-byte 'é': the 'é' would end at byte 16, so it is dropped.
/// assert_eq!(os_thread_name("abcdefghijklmné"), "abcdefghijklmn");
/// ```
pub fn os_thread_name(name: &str) -> &str {
    if name.len() <= OS_THREAD_NAME_MAX {
        return name;
    }
    let mut end = OS_THREAD_NAME_MAX;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// How to create a thread (spec §4 `ThreadOptions`).
///
/// `ThreadOptions::default()` is an unnamed, joinable thread with the default stack size and
/// the priority it inherits.
///
/// # Examples
/// ```
/// use reml_process::thread::{ThreadOptions, ThreadPriority};
/// let opts = ThreadOptions::default()
///     .with_name("worker-1")
///     .with_stack_size(256 * 1024)
///     .with_priority(ThreadPriority::Low);
/// assert!(!opts.detached);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ThreadOptions {
    /// The thread's name (spec §4 `name: Option<Str>`). Any length; it must be non-empty and
    /// must not contain a NUL byte (`CreationFailed` otherwise).
    ///
    /// # Platform-specific behavior
    /// Linux keeps 15 bytes of a thread name. The OS name is the longest prefix of at most 15
    /// bytes that ends on a character boundary ([`os_thread_name`]); the full name stays in
    /// the handle ([`ThreadInfo::name`]) and in Rust's `std::thread::current().name()` (so
    /// panic messages show it). The OS name is set inside the new thread before its start
    /// function runs and read back; if it cannot be set, `create_thread` fails — a named
    /// thread is never silently left unnamed. `None` leaves the name the kernel gives a new
    /// thread (the creating thread's name).
    pub name: Option<String>,
    /// The stack size in bytes (spec §4 `stack_size: Option<usize>`); `None` is Rust's
    /// default (2 MiB, or `RUST_MIN_STACK`).
    ///
    /// # Platform-specific behavior
    /// Rounded up to the platform minimum (`PTHREAD_STACK_MIN`, 16 KiB on x86-64 glibc) and
    /// then to a multiple of the page size; glibc may add room for thread-local storage. The
    /// rounded size is reported in [`ThreadInfo::stack_size`]. A size that overflows when
    /// rounded or exceeds `isize::MAX`, or that the system cannot map (`pthread_create`
    /// fails, `EAGAIN`/`ENOMEM`/`EINVAL`), is `CreationFailed` with the errno — never an abort
    /// or a panic.
    pub stack_size: Option<usize>,
    /// Whether the thread is detached (spec §4 `detached: Bool`): it cannot be joined
    /// (`join_thread` fails with `JoinFailed` saying so) and its OS resources are freed when
    /// it ends. Its handle still has to be released with `release_thread`.
    pub detached: bool,
    /// The thread's priority (spec §4 `priority: Option<ThreadPriority>`), see
    /// [`ThreadPriority`] for the mapping; `None` keeps the creating thread's scheduling.
    ///
    /// # Errors
    /// When the priority cannot be applied (`EPERM`/`EACCES`: no privilege), `create_thread`
    /// returns `CreationFailed` naming the call and the errno, the start function never runs
    /// and the thread ends.
    pub priority: Option<ThreadPriority>,
}

impl ThreadOptions {
    /// The default options (same as `ThreadOptions::default()`).
    pub fn new() -> ThreadOptions {
        ThreadOptions::default()
    }

    /// These options with [`name`](Self::name) set.
    pub fn with_name(mut self, name: impl Into<String>) -> ThreadOptions {
        self.name = Some(name.into());
        self
    }

    /// These options with [`stack_size`](Self::stack_size) set, in bytes.
    pub fn with_stack_size(mut self, bytes: usize) -> ThreadOptions {
        self.stack_size = Some(bytes);
        self
    }

    /// These options with [`detached`](Self::detached) set.
    pub fn with_detached(mut self, detached: bool) -> ThreadOptions {
        self.detached = detached;
        self
    }

    /// These options with [`priority`](Self::priority) set.
    pub fn with_priority(mut self, priority: ThreadPriority) -> ThreadOptions {
        self.priority = Some(priority);
        self
    }
}

/// What a successful [`join_thread`](super::ThreadCapability::join_thread) returns (spec §1
/// `ThreadResult`): the start function's own result and who it was.
///
/// `join_thread` returns `Ok(ThreadResult)` whenever the start function *returned*, so
/// `result` is `Err` when the start function returned an error of its own; a panic is not a
/// return and makes the join itself fail (`JoinFailed`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadResult {
    /// The joined thread.
    pub handle: ThreadHandle,
    /// Its kernel thread id (`gettid`) while it ran.
    pub tid: u32,
    /// Its full name, if it had one.
    pub name: Option<String>,
    /// What the start function returned.
    pub result: Result<(), ThreadError>,
}

impl ThreadResult {
    /// Whether the start function returned `Ok(())`.
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }

    /// The start function's result.
    pub fn into_result(self) -> Result<(), ThreadError> {
        self.result
    }
}

/// What the capability's table knows about a thread (read with
/// [`thread_info`](super::ThreadCapability::thread_info)); not an operation of the spec, but
/// what wrapping layers (security policy, audit) need to describe a handle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadInfo {
    /// The handle.
    pub handle: ThreadHandle,
    /// The kernel thread id (`gettid`), known from creation on; after the thread finished it
    /// may name another thread of the system and is only informative.
    pub tid: u32,
    /// The full name given in [`ThreadOptions::name`].
    pub name: Option<String>,
    /// The name the OS holds (at most 15 bytes on Linux, see [`os_thread_name`]).
    pub os_name: Option<String>,
    /// Whether the thread was created detached.
    pub detached: bool,
    /// Whether the start function has returned or panicked.
    pub finished: bool,
    /// Whether the thread has been joined.
    pub joined: bool,
    /// The priority requested at creation (applied before the start function ran).
    pub priority: Option<ThreadPriority>,
    /// The stack size requested at creation after rounding (bytes), or `None` for the default.
    pub stack_size: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_parses_and_orders() {
        for p in ThreadPriority::ALL {
            assert_eq!(p.as_str().parse::<ThreadPriority>().unwrap(), p);
        }
        assert_eq!(
            " HIGH ".parse::<ThreadPriority>().unwrap(),
            ThreadPriority::High
        );
        let e = "urgent".parse::<ThreadPriority>().unwrap_err();
        assert!(e.to_string().contains("`urgent`"), "{e}");
        assert!(ThreadPriority::Low < ThreadPriority::Normal);
        assert!(ThreadPriority::High < ThreadPriority::Realtime);
        assert!(ThreadPriority::Realtime > ThreadPriority::High);
    }

    #[test]
    fn os_name_keeps_whole_characters() {
        assert_eq!(os_thread_name("worker-thread-0001"), "worker-thread-0");
        assert_eq!(os_thread_name("exactly15bytes!"), "exactly15bytes!");
        // Five 3-byte characters fill 15 bytes; a sixth is dropped whole.
        assert_eq!(os_thread_name("日本語名前だ"), "日本語名前");
        // 13 ASCII bytes + a 4-byte emoji would need 17 bytes.
        assert_eq!(os_thread_name("abcdefghijklm😀"), "abcdefghijklm");
    }

    #[test]
    fn handle_display() {
        let h = ThreadHandle::from_raw_parts(3, 0, 1);
        assert_eq!(h.to_string(), "thread#0.1@3");
        assert_eq!((h.owner(), h.slot(), h.generation()), (3, 0, 1));
    }
}
