//! [`NativeThreadCapability`]: threads on the OS, with a handle table. The life of one
//! thread (setup, run, join result) is in `lifecycle.rs`.

use std::ffi::CString;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use super::os::{os_message, possible_and_online, unsupported_error};
use super::{
    os_thread_name, CpuSet, ThreadCapability, ThreadHandle, ThreadInfo, ThreadOptions,
    ThreadPriority, ThreadResult, ThreadStart,
};
use crate::capability::handle_table::HandleTable;
use crate::error::{ThreadError, ThreadErrorKind};
use crate::sys::imp::thread as sys;
use crate::units::Deadline;

mod lifecycle;

use lifecycle::{join_result, round_stack_size, thread_main, RunningGuard, Setup};

/// Source of capability instance ids (the `owner` part of handles); 0 is never issued.
static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Our critical sections run no user code, so a poisoned lock only means one of our own
    // bookkeeping steps panicked; the data is still consistent enough to continue.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Threads on the OS (spec §1, §4): the native backend of [`ThreadCapability`].
///
/// Each instance owns a table of threads; the [`ThreadHandle`]s it issues carry its instance
/// id, a slot and the slot's generation, and are checked on every call.
///
/// # How a thread is created (Linux)
/// 1. The options are checked: a name must be non-empty without NUL; the stack size is
///    rounded (see [`ThreadOptions::stack_size`]).
/// 2. The thread is started with `std::thread::Builder` (full name, rounded stack size).
/// 3. Inside the new thread, before the start function: the OS name is set with
///    `prctl(PR_SET_NAME)` to [`os_thread_name`] of the name and read back; the priority is
///    applied (see [`ThreadPriority`]) to the thread's kernel tid. The outcome is sent back to
///    `create_thread`, which returns only then. On failure the thread ends without running
///    the start function, its slot is freed and `create_thread` returns the error.
/// 4. The start function runs under `catch_unwind`; its result or panic message is stored
///    and joiners are woken.
///
/// # Affinity
/// `set_thread_affinity` checks each requested CPU: below the affinity mask size (1024 ids),
/// present in `/sys/devices/system/cpu/possible`, present in `.../online`. It then calls
/// `sched_setaffinity` on the thread's kernel tid and reads the mask back: the kernel silently
/// drops CPUs that the process's cpuset cgroup does not allow, so a read-back that differs
/// means some CPU is not allowed to this process; the previous mask is restored and
/// `InvalidAffinity` names the missing CPUs. Affinity calls hold the thread's state lock,
/// which the thread must take to finish, so the tid always names the live thread.
///
/// # Caveats
/// - A joinable thread that is never joined nor released keeps its slot (and its stored
///   result) for the life of the capability.
/// - Dropping the capability detaches every thread still in its table; they run to their
///   end. Report [`outstanding_threads`](ThreadCapability::outstanding_threads) first.
/// - `join_thread` returns after the start function ended *and* the OS thread has exited
///   (thread-local destructors included).
pub struct NativeThreadCapability {
    id: u64,
    table: Mutex<HandleTable<Entry>>,
    running: Arc<AtomicUsize>,
}

/// One thread's record, shared between the table and the thread itself.
struct Entry {
    handle: ThreadHandle,
    name: Option<String>,
    os_name: Option<String>,
    detached: bool,
    priority: Option<ThreadPriority>,
    stack_size: Option<usize>,
    /// Set by the thread before it reports its setup: known from `create_thread`'s return, or
    /// (when there was nothing to set up, so `create_thread` did not wait) once
    /// [`Entry::wait_started`] returns.
    tid: OnceLock<u32>,
    std_id: OnceLock<ThreadId>,
    state: Mutex<EntryState>,
    done: Condvar,
}

/// How far the thread got before its start function, reported through `state` and `done`
/// (no channel: a thread's start costs one uncontended lock).
#[derive(Default)]
enum Startup {
    /// Not reported yet.
    #[default]
    Pending,
    /// The setup was applied (or there was none): the start function runs or ran.
    Started,
    /// The setup failed (or panicked); the start function never ran. The error is taken by
    /// `create_thread`.
    Failed(Option<ThreadError>),
}

enum Outcome {
    Returned(Result<(), ThreadError>),
    Panicked(String),
}

#[derive(Default)]
struct EntryState {
    /// Callers blocked on `done`: the thread's start and end and a release notify only when
    /// one is (a condvar's notify is a futex system call even with nobody waiting).
    waiters: u32,
    startup: Startup,
    finished: bool,
    joined: bool,
    released: bool,
    outcome: Option<Outcome>,
    join_handle: Option<JoinHandle<()>>,
}

impl Entry {
    /// Waits until the thread has reported its start (or ended without), so its tid is known
    /// (a no-op when `create_thread` already waited). Returns the locked state.
    fn wait_started(&self) -> MutexGuard<'_, EntryState> {
        let mut state = lock(&self.state);
        while matches!(state.startup, Startup::Pending) {
            state = self.wait(state, None);
        }
        state
    }

    /// Blocks on `done` once (for `limit` at most, when given), counted in `waiters` so
    /// notifiers know to wake us.
    fn wait<'a>(
        &self,
        mut state: MutexGuard<'a, EntryState>,
        limit: Option<Duration>,
    ) -> MutexGuard<'a, EntryState> {
        state.waiters += 1;
        let mut state = match limit {
            None => self
                .done
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner),
            Some(limit) => {
                self.done
                    .wait_timeout(state, limit)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
        state.waiters -= 1;
        state
    }

    /// Unlocks `state` and wakes whoever waits on `done`, if anyone does.
    fn notify(&self, state: MutexGuard<'_, EntryState>) {
        let waiters = state.waiters;
        drop(state);
        if waiters > 0 {
            self.done.notify_all();
        }
    }

    /// Records how the thread's start went and wakes whoever waits for it.
    fn report(&self, startup: Startup) {
        let mut state = lock(&self.state);
        state.startup = startup;
        self.notify(state);
    }

    fn tid(&self) -> u32 {
        self.tid.get().copied().unwrap_or(0)
    }

    /// `thread#0.1@3 ("worker", tid 1234)`.
    fn describe(&self) -> String {
        match &self.name {
            Some(n) => format!("{} (`{n}`, tid {})", self.handle, self.tid()),
            None => format!("{} (tid {})", self.handle, self.tid()),
        }
    }
}

impl NativeThreadCapability {
    /// A new capability with an empty table and a fresh instance id.
    pub fn new() -> NativeThreadCapability {
        NativeThreadCapability {
            id: NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed),
            table: Mutex::new(HandleTable::new()),
            running: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// This instance's id, the `owner` of the handles it issues.
    pub fn instance_id(&self) -> u64 {
        self.id
    }

    fn allocate(
        &self,
        make: impl FnOnce(ThreadHandle) -> Entry,
    ) -> Result<Arc<Entry>, ThreadError> {
        lock(&self.table)
            .insert_with(|slot, generation| {
                make(ThreadHandle::from_raw_parts(self.id, slot, generation))
            })
            .ok_or_else(|| {
                ThreadError::new(
                    ThreadErrorKind::CreationFailed,
                    "the thread handle table is full (2^32 slots)",
                )
            })
    }

    /// Removes the entry of `handle` from the table; the slot's generation moves on.
    fn free(&self, handle: ThreadHandle) -> Option<Arc<Entry>> {
        lock(&self.table).remove(handle.slot(), handle.generation())
    }

    fn bad_handle(&self, handle: ThreadHandle, kind: ThreadErrorKind) -> ThreadError {
        let msg = if handle.owner() != self.id {
            format!(
                "thread handle {handle} belongs to another capability instance (this one is \
                 @{}); it is refused",
                self.id
            )
        } else {
            format!(
                "stale thread handle {handle}: it was released or never issued; a stale \
                 handle never reaches another thread"
            )
        };
        ThreadError::new(kind, msg)
    }

    fn lookup(
        &self,
        handle: ThreadHandle,
        kind: ThreadErrorKind,
    ) -> Result<Arc<Entry>, ThreadError> {
        if handle.owner() == self.id {
            if let Some(entry) = lock(&self.table).get(handle.slot(), handle.generation()) {
                return Ok(entry.clone());
            }
        }
        Err(self.bad_handle(handle, kind))
    }

    /// Checks every CPU of `cpus` against the mask size and the possible and online CPUs.
    fn validate_cpus(entry: &Entry, cpus: &CpuSet) -> Result<(), ThreadError> {
        let invalid = |m: String| ThreadError::new(ThreadErrorKind::InvalidAffinity, m);
        if cpus.is_empty() {
            return Err(invalid(format!(
                "invalid CPU affinity {{}} for {}: the set is empty; a thread needs at least \
                 one CPU",
                entry.describe()
            )));
        }
        let (possible, online) = possible_and_online()
            .map_err(|m| invalid(format!("cannot check CPU affinity: {m}")))?;
        let mask = sys::AFFINITY_MASK_CPUS;
        let mut problems = Vec::new();
        for cpu in cpus.iter() {
            if cpu >= mask {
                problems.push(format!(
                    "CPU {cpu} is past the kernel's CPU affinity mask size ({mask} CPU ids, \
                     0-{})",
                    mask - 1
                ));
            } else if !possible.contains(cpu) {
                problems.push(format!(
                    "CPU {cpu} does not exist (this system's CPUs: {possible})"
                ));
            } else if !online.contains(cpu) {
                problems.push(format!("CPU {cpu} is offline (online CPUs: {online})"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(invalid(format!(
                "invalid CPU affinity {cpus:?} for {}: {}",
                entry.describe(),
                problems.join("; ")
            )))
        }
    }

    fn finished_error(entry: &Entry, what: &str) -> ThreadError {
        ThreadError::new(
            ThreadErrorKind::InvalidAffinity,
            format!(
                "cannot {what} of {}: the thread has finished (its start function returned); \
                 affinity exists only for a running thread",
                entry.describe()
            ),
        )
    }
}

impl Default for NativeThreadCapability {
    fn default() -> Self {
        NativeThreadCapability::new()
    }
}

impl fmt::Debug for NativeThreadCapability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeThreadCapability")
            .field("instance_id", &self.id)
            .field("running_threads", &self.running.load(Ordering::SeqCst))
            .field("outstanding_threads", &self.outstanding_threads().len())
            .finish()
    }
}
impl ThreadCapability for NativeThreadCapability {
    /// See [`ThreadCapability::create_thread`] and the type's documentation.
    fn create_thread(
        &self,
        start: ThreadStart,
        options: ThreadOptions,
    ) -> Result<ThreadHandle, ThreadError> {
        if !sys::SUPPORTED {
            return Err(unsupported_error("create_thread"));
        }
        let creation = |m: String| ThreadError::new(ThreadErrorKind::CreationFailed, m);
        let os_name = match &options.name {
            None => None,
            Some(n) if n.is_empty() => {
                return Err(creation(
                    "thread name is empty; give a name or none (ThreadOptions::name = None)"
                        .to_owned(),
                ))
            }
            Some(n) => {
                if let Some(at) = n.bytes().position(|b| b == 0) {
                    return Err(creation(format!(
                        "thread name {n:?} contains a NUL byte at byte {at}; names are C strings"
                    )));
                }
                let short = os_thread_name(n);
                // Checked above: no NUL anywhere in the name.
                Some((short.to_owned(), CString::new(short).expect("no NUL")))
            }
        };
        let stack_size = options.stack_size.map(round_stack_size).transpose()?;

        let entry = self.allocate(|handle| Entry {
            handle,
            name: options.name.clone(),
            os_name: os_name.as_ref().map(|(s, _)| s.clone()),
            detached: options.detached,
            priority: options.priority,
            stack_size,
            tid: OnceLock::new(),
            std_id: OnceLock::new(),
            state: Mutex::new(EntryState::default()),
            done: Condvar::new(),
        })?;
        let handle = entry.handle;
        let setup = Setup {
            os_name: os_name.map(|(_, c)| c),
            priority: options.priority,
        };
        let nothing_to_apply = setup.os_name.is_none() && setup.priority.is_none();

        let mut builder = std::thread::Builder::new();
        if let Some(name) = &options.name {
            builder = builder.name(name.clone());
        }
        if let Some(size) = stack_size {
            builder = builder.stack_size(size);
        }
        self.running.fetch_add(1, Ordering::SeqCst);
        let guard = RunningGuard(self.running.clone());
        let thread_entry = entry.clone();
        let spawned = builder.spawn(move || thread_main(thread_entry, setup, start, guard));
        let join_handle = match spawned {
            Ok(jh) => jh,
            Err(e) => {
                // The closure (and the guard inside it) was dropped by the failed spawn.
                self.free(handle);
                let size = match stack_size {
                    Some(s) => format!("a {s}-byte stack"),
                    None => "the default stack".to_owned(),
                };
                return Err(creation(os_message(
                    format!("cannot create a thread with {size}: pthread_create"),
                    &e,
                )));
            }
        };
        if nothing_to_apply {
            // Nothing to apply, so nothing can fail before the start function: do not wait
            // for the thread to report (like `std::thread::spawn`); what needs the tid waits
            // for the report ([`Entry::wait_started`]).
            if !options.detached {
                lock(&entry.state).join_handle = Some(join_handle);
            }
            return Ok(handle);
        }
        let mut state = entry.wait_started();
        if let Startup::Failed(e) = &mut state.startup {
            let e = e.take();
            drop(state);
            let _ = join_handle.join();
            self.free(handle);
            return Err(e.unwrap_or_else(|| creation(format!("thread {handle}: its setup failed"))));
        }
        if !options.detached && !state.released {
            state.join_handle = Some(join_handle);
        }
        // Otherwise the JoinHandle drops here, which detaches the OS thread.
        Ok(handle)
    }

    /// See [`ThreadCapability::join_thread`].
    fn join_thread(
        &self,
        handle: ThreadHandle,
        timeout: Option<Duration>,
    ) -> Result<ThreadResult, ThreadError> {
        let fail = |m: String| ThreadError::new(ThreadErrorKind::JoinFailed, m);
        let entry = self.lookup(handle, ThreadErrorKind::JoinFailed)?;
        if entry.detached {
            return Err(fail(format!(
                "cannot join {}: it was created detached (ThreadOptions::detached = true), \
                 and a detached thread cannot be joined; release its handle instead",
                entry.describe()
            )));
        }
        if entry.std_id.get() == Some(&std::thread::current().id()) {
            return Err(fail(format!(
                "cannot join {}: a thread cannot join itself",
                entry.describe()
            )));
        }
        // A limit too large for an Instant is no limit.
        let deadline = Deadline::within(Instant::now(), timeout).instant();
        let mut state = lock(&entry.state);
        if deadline.is_none() && !state.joined && !state.released {
            if let Some(jh) = state.join_handle.take() {
                // No limit: join the OS thread directly (the outcome is stored before it
                // exits), one wake-up instead of the condvar's and then the join's.
                state.joined = true;
                drop(state);
                let _ = jh.join();
                state = lock(&entry.state);
                if state.released {
                    return Err(fail(format!(
                        "cannot join {}: its handle was released while waiting",
                        entry.describe()
                    )));
                }
                let outcome = state.outcome.take();
                drop(state);
                return join_result(&entry, outcome);
            }
        }
        loop {
            if state.joined {
                return Err(fail(format!(
                    "cannot join {}: it was joined already",
                    entry.describe()
                )));
            }
            if state.released {
                return Err(fail(format!(
                    "cannot join {}: its handle was released while waiting",
                    entry.describe()
                )));
            }
            if state.finished {
                break;
            }
            match deadline {
                None => state = entry.wait(state, None),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        let limit = timeout.unwrap_or_default();
                        return Err(fail(format!(
                            "join of {} timed out after {limit:?}: the thread is still running \
                             and its handle stays valid (join again, or release it)",
                            entry.describe()
                        )));
                    }
                    state = entry.wait(state, Some(d - now));
                }
            }
        }
        state.joined = true;
        let outcome = state.outcome.take();
        let join_handle = state.join_handle.take();
        drop(state);
        if let Some(jh) = join_handle {
            // The start function has ended; this waits for the OS thread to exit.
            let _ = jh.join();
        }
        join_result(&entry, outcome)
    }

    /// See [`ThreadCapability::set_thread_affinity`] and the type's "Affinity" section.
    fn set_thread_affinity(&self, handle: ThreadHandle, cpus: &CpuSet) -> Result<(), ThreadError> {
        if !sys::SUPPORTED {
            return Err(unsupported_error("set_thread_affinity"));
        }
        let invalid = |m: String| ThreadError::new(ThreadErrorKind::InvalidAffinity, m);
        let entry = self.lookup(handle, ThreadErrorKind::InvalidAffinity)?;
        Self::validate_cpus(&entry, cpus)?;
        let state = entry.wait_started();
        if state.finished {
            return Err(Self::finished_error(&entry, "set the CPU affinity"));
        }
        // While `state` is locked the thread cannot finish, so `tid` is this live thread.
        let tid = entry.tid();
        let requested = cpus.to_vec();
        let before = sys::sched_getaffinity_thread(Some(tid)).map_err(|e| {
            invalid(os_message(
                format!(
                    "cannot read the CPU affinity of {}: sched_getaffinity",
                    entry.describe()
                ),
                &e,
            ))
        })?;
        if let Err(e) = sys::sched_setaffinity_thread(tid, &requested) {
            let why = if e.raw_os_error() == Some(libc::EINVAL) {
                " (none of these CPUs is allowed to this process, e.g. by its cpuset cgroup)"
            } else {
                ""
            };
            return Err(invalid(os_message(
                format!(
                    "cannot set the CPU affinity of {} to {cpus:?}{why}: sched_setaffinity",
                    entry.describe()
                ),
                &e,
            )));
        }
        let after = sys::sched_getaffinity_thread(Some(tid)).map_err(|e| {
            invalid(os_message(
                format!(
                    "cannot read back the CPU affinity of {}: sched_getaffinity",
                    entry.describe()
                ),
                &e,
            ))
        })?;
        if after != requested {
            let applied: CpuSet = after.into_iter().collect();
            let missing = cpus.difference(&applied);
            let restored = sys::sched_setaffinity_thread(tid, &before).is_ok();
            return Err(invalid(format!(
                "invalid CPU affinity {cpus:?} for {}: CPU {} not allowed to this process \
                 (the kernel applied only {applied:?}, e.g. because of its cpuset cgroup); {}",
                entry.describe(),
                missing
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", CPU "),
                if restored {
                    "the previous affinity was restored"
                } else {
                    "the previous affinity could not be restored"
                }
            )));
        }
        Ok(())
    }

    /// See [`ThreadCapability::get_thread_affinity`].
    fn get_thread_affinity(&self, handle: ThreadHandle) -> Result<CpuSet, ThreadError> {
        if !sys::SUPPORTED {
            return Err(unsupported_error("get_thread_affinity"));
        }
        let entry = self.lookup(handle, ThreadErrorKind::InvalidAffinity)?;
        let state = entry.wait_started();
        if state.finished {
            return Err(Self::finished_error(&entry, "read the CPU affinity"));
        }
        let cpus = sys::sched_getaffinity_thread(Some(entry.tid())).map_err(|e| {
            ThreadError::new(
                ThreadErrorKind::InvalidAffinity,
                os_message(
                    format!(
                        "cannot read the CPU affinity of {}: sched_getaffinity",
                        entry.describe()
                    ),
                    &e,
                ),
            )
        })?;
        drop(state);
        Ok(cpus.into_iter().collect())
    }

    /// See [`ThreadCapability::release_thread`].
    fn release_thread(&self, handle: ThreadHandle) -> Result<(), ThreadError> {
        if handle.owner() != self.id {
            return Err(self.bad_handle(handle, ThreadErrorKind::JoinFailed));
        }
        let entry = self
            .free(handle)
            .ok_or_else(|| self.bad_handle(handle, ThreadErrorKind::JoinFailed))?;
        let mut state = lock(&entry.state);
        state.released = true;
        let finished = state.finished;
        let join_handle = state.join_handle.take();
        entry.notify(state);
        if let Some(jh) = join_handle {
            if finished {
                let _ = jh.join();
            }
            // A running thread's JoinHandle drops here: the thread is detached.
        }
        Ok(())
    }

    /// See [`ThreadCapability::thread_info`].
    fn thread_info(&self, handle: ThreadHandle) -> Result<ThreadInfo, ThreadError> {
        let entry = self.lookup(handle, ThreadErrorKind::JoinFailed)?;
        let state = entry.wait_started();
        Ok(ThreadInfo {
            handle,
            tid: entry.tid(),
            name: entry.name.clone(),
            os_name: entry.os_name.clone(),
            detached: entry.detached,
            finished: state.finished,
            joined: state.joined,
            priority: entry.priority,
            stack_size: entry.stack_size,
        })
    }

    fn running_threads(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    fn outstanding_threads(&self) -> Vec<ThreadHandle> {
        lock(&self.table).iter().map(|(_, _, e)| e.handle).collect()
    }
}
