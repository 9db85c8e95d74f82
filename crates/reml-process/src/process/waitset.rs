//! Waiting on many children at once, each with its own time limit, in the caller's thread
//! (spec §1 `wait_process`, §3: one event loop for every concurrent wait).
//!
//! A [`WaitSet`] holds one `epoll` instance over the pidfds of the children added to it and a
//! heap of their deadlines. [`WaitSet::wait_next`] blocks in `epoll_wait` until a child ends or the
//! earliest deadline passes, and returns that child's result. No thread is started: a thousand
//! children cost a thousand registrations on one epoll, not a thousand threads.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use rustix::event::epoll;

use crate::capability::ProcessHandle;
use crate::error::ProcessError;
use crate::native::{NativeProcessCapability, WaitTarget};
use crate::status::ExitStatus;
use crate::units::Deadline;

/// What [`WaitSet::wait_next`] returns for one child: its handle and the result `wait_process`
/// would have given.
pub type WaitSetResult = (ProcessHandle, Result<ExitStatus, ProcessError>);

struct Waiting {
    target: WaitTarget,
    timeout: Option<Duration>,
    /// Bumped each time the slot is reused, so a stale deadline or event is ignored.
    seq: u32,
    registered: bool,
}

/// Waits on many children of one [`NativeProcessCapability`] at once, each with its own time
/// limit, with one `epoll` in the caller's thread (spec §1 `wait_process`).
///
/// Each result is exactly what [`wait_process`](crate::ProcessCapability::wait_process) with
/// the same limit would have returned:
/// - `Ok(ExitStatus)` for a normal exit, whatever the code;
/// - `Err` of kind `TerminatedBySignal` (signal number in `code`) when a signal ended it;
/// - `Err` of kind `TimedOut` when its limit passed first: the child **keeps running and its
///   handle stays valid** (kill it, then wait again or add it again);
/// - `Err` of kind `InvalidCommand` for a stale handle is returned by [`add`](Self::add).
///
/// The end is reaped and cached in the capability, so a later `wait_process` or
/// `process_info` on the handle sees it. Adding a handle closes our end of its stdin unless
/// it was taken (as `wait_process` does). Output is not collected here: use
/// `wait_with_options` for that, or take the pipes and read them yourself.
///
/// # Platform-specific behavior
/// - **Linux with pidfd** (5.2+): the children's pidfds are registered in one `epoll`
///   instance; an exit is noticed when it happens (event-driven, no polling). No thread is
///   created: the wait runs in the thread that calls [`wait_next`](Self::wait_next).
/// - **Linux without pidfd**: the children are polled with `waitid(WNOHANG)` every
///   [`check_interval`](Self::set_check_interval) (50 ms by default), still in the caller's
///   thread.
/// - **Other platforms**: not available, like the rest of the native backend.
///
/// # Caveats
/// - A time limit is measured from [`add`](Self::add), not from the spawn.
/// - Release a handle only after its result came back: a handle released while in the set
///   is still reaped (by the set or by the library's reaper, whichever comes first), but its
///   exit status may then be reported as lost on kernels before 6.15 (`PIDFD_INFO_EXIT`).
/// - A `WaitSet` serves one thread at a time (`&mut self`); several sets may wait on children
///   of the same capability from several threads.
///
/// # Example
/// ```
/// # #[cfg(target_os = "linux")] {
/// use std::time::Duration;
/// use reml_process::{Command, Environment, NativeProcessCapability, ProcessCapability, WaitSet};
///
/// let cap = NativeProcessCapability::new();
/// let mut set = WaitSet::new(&cap).unwrap();
/// for code in 0..3 {
///     let h = cap
///         .spawn_process(Command::new("sh").args(["-c", &format!("exit {code}")]), &Environment::default())
///         .unwrap();
///     set.add(h, Some(Duration::from_secs(30))).unwrap();
/// }
/// let mut codes: Vec<i32> = Vec::new();
/// for (h, result) in &mut set {
///     codes.push(result.unwrap().code());
///     cap.release_process(h).unwrap();
/// }
/// codes.sort();
/// assert_eq!(codes, [0, 1, 2]);
/// # }
/// ```
pub struct WaitSet<'c> {
    cap: &'c NativeProcessCapability,
    epoll: rustix::fd::OwnedFd,
    slots: Vec<Option<Waiting>>,
    seqs: Vec<u32>,
    free: Vec<usize>,
    deadlines: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    ready: VecDeque<WaitSetResult>,
    pending: usize,
    polled: usize,
    check_interval: Duration,
    events: Vec<epoll::Event>,
    members: HashSet<ProcessHandle>,
}

impl<'c> WaitSet<'c> {
    /// An empty set for children of `cap`.
    ///
    /// # Errors
    /// `SpawnFailed` with the errno when the `epoll` instance cannot be created (`EMFILE`,
    /// `ENOMEM`).
    pub fn new(cap: &'c NativeProcessCapability) -> Result<WaitSet<'c>, ProcessError> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(|e| {
            ProcessError::from_errno("cannot create an epoll instance", e.raw_os_error())
        })?;
        Ok(WaitSet {
            cap,
            epoll,
            slots: Vec::new(),
            seqs: Vec::new(),
            free: Vec::new(),
            deadlines: BinaryHeap::new(),
            ready: VecDeque::new(),
            pending: 0,
            polled: 0,
            check_interval: crate::wait::WaitOptions::default().check_interval,
            events: Vec::with_capacity(256),
            members: HashSet::new(),
        })
    }

    /// Sets how often children without a pidfd are polled (kernels before 5.2); at least
    /// 1 ms. Children with a pidfd are never polled.
    pub fn set_check_interval(&mut self, interval: Duration) -> &mut Self {
        self.check_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Number of children added whose result has not yet been returned by
    /// [`wait_next`](Self::wait_next).
    pub fn len(&self) -> usize {
        self.pending
    }

    /// Whether every added child's result has been returned.
    pub fn is_empty(&self) -> bool {
        self.pending == 0
    }

    /// Adds the child of `handle`, to be waited for at most `timeout` from now (`None`: as
    /// long as it takes). Closes our end of its stdin unless it was taken (a child
    /// reading stdin then sees end-of-file).
    ///
    /// # Errors
    /// `InvalidCommand` for a stale, released or foreign handle, or one already in this set
    /// whose result has not been returned; `SpawnFailed` with the errno when the pidfd
    /// cannot be registered with epoll (`ENOMEM`, `ENOSPC`: the `max_user_watches` limit).
    pub fn add(
        &mut self,
        handle: ProcessHandle,
        timeout: Option<Duration>,
    ) -> Result<(), ProcessError> {
        let target = self.cap.wait_target(handle)?;
        if !self.members.insert(handle) {
            return Err(ProcessError::invalid(format!(
                "pid {} is already in this wait set",
                handle.pid()
            )));
        }
        if let Some(result) = target.try_finish() {
            self.pending += 1;
            self.ready.push_back((handle, result));
            return Ok(());
        }
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(None);
                self.seqs.push(0);
                self.slots.len() - 1
            }
        };
        self.seqs[idx] = self.seqs[idx].wrapping_add(1);
        let seq = self.seqs[idx];
        let registered = match target.pidfd() {
            Some(fd) => {
                epoll::add(
                    &self.epoll,
                    fd,
                    epoll::EventData::new_u64(key(idx, seq)),
                    epoll::EventFlags::IN,
                )
                .map_err(|e| {
                    self.free.push(idx);
                    self.members.remove(&handle);
                    ProcessError::from_errno(
                        format!("cannot watch pid {} with epoll", handle.pid()),
                        e.raw_os_error(),
                    )
                })?;
                true
            }
            None => {
                self.polled += 1;
                false
            }
        };
        // A limit too far for an Instant is no limit: no entry in the heap.
        if let Some(at) = Deadline::within(Instant::now(), timeout).instant() {
            self.deadlines.push(Reverse((at, idx, seq)));
        }
        self.slots[idx] = Some(Waiting {
            target,
            timeout,
            seq,
            registered,
        });
        self.pending += 1;
        Ok(())
    }

    /// Blocks until one child ends or reaches its time limit, and returns its handle and
    /// result; `None` when every added child's result has been returned.
    ///
    /// Results come in the order things happen (ends and expiries), not the order of `add`.
    /// A signal delivered to the calling thread does not end the wait (`EINTR` is retried).
    ///
    /// # Errors
    /// Per child, in the result: see the type's docs. An `epoll_wait` failure other than
    /// `EINTR` (not expected with a valid epoll) is returned as the result of one pending
    /// child, chosen arbitrarily, so the caller always makes progress.
    pub fn wait_next(&mut self) -> Option<WaitSetResult> {
        loop {
            if let Some(r) = self.ready.pop_front() {
                self.pending -= 1;
                self.members.remove(&r.0);
                return Some(r);
            }
            if self.pending == 0 {
                return None;
            }
            let now = Instant::now();
            self.expire(now);
            if !self.ready.is_empty() {
                continue;
            }
            let mut limit = self
                .deadlines
                .peek()
                .map_or(Deadline::Never, |Reverse((d, _, _))| Deadline::At(*d));
            if self.polled > 0 {
                limit = limit.min(Deadline::after_from(now, self.check_interval));
            }
            let timeout = limit.timespec_from(now);
            self.events.clear();
            match epoll::wait(
                &self.epoll,
                rustix::buffer::spare_capacity(&mut self.events),
                timeout.as_ref(),
            ) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => {
                    let idx = self.slots.iter().position(Option::is_some)?;
                    let err = ProcessError::from_errno("cannot wait with epoll", e.raw_os_error());
                    self.finish(idx, Err(err));
                    continue;
                }
            }
            for i in 0..self.events.len() {
                let (idx, seq) = unkey(self.events[i].data.u64());
                let live = matches!(self.slots.get(idx), Some(Some(w)) if w.seq == seq);
                if live {
                    self.check(idx);
                }
            }
            if self.polled > 0 {
                for idx in 0..self.slots.len() {
                    if matches!(&self.slots[idx], Some(w) if !w.registered) {
                        self.check(idx);
                    }
                }
            }
        }
    }

    /// Waits for every remaining child and returns their results in the order they came.
    pub fn wait_all(&mut self) -> Vec<WaitSetResult> {
        let mut out = Vec::with_capacity(self.pending);
        while let Some(r) = self.wait_next() {
            out.push(r);
        }
        out
    }

    /// Reaps `idx` if it ended, moving its result to `ready`.
    fn check(&mut self, idx: usize) {
        let result = match &self.slots[idx] {
            Some(w) => w.target.try_finish(),
            None => None,
        };
        if let Some(r) = result {
            self.finish(idx, r);
        }
    }

    /// Deadlines at or before `now`: a child that ended meanwhile gets its end, the others
    /// `TimedOut` (they keep running).
    fn expire(&mut self, now: Instant) {
        while let Some(Reverse((d, idx, seq))) = self.deadlines.peek().copied() {
            if d > now {
                break;
            }
            self.deadlines.pop();
            let result = match &self.slots[idx] {
                Some(w) if w.seq == seq => Some(
                    w.target
                        .try_finish()
                        .unwrap_or_else(|| Err(w.target.timed_out(w.timeout.unwrap_or_default()))),
                ),
                _ => None,
            };
            if let Some(r) = result {
                self.finish(idx, r);
            }
        }
    }

    fn finish(&mut self, idx: usize, result: Result<ExitStatus, ProcessError>) {
        let Some(w) = self.slots[idx].take() else {
            return;
        };
        if w.registered {
            if let Some(fd) = w.target.pidfd() {
                let _ = epoll::delete(&self.epoll, fd);
            }
        } else {
            self.polled -= 1;
        }
        self.free.push(idx);
        self.ready.push_back((w.target.handle(), result));
    }
}

/// Iterating a wait set yields [`wait_next`](WaitSet::wait_next) until every result is out:
/// `for (handle, result) in &mut set { … }`.
impl Iterator for WaitSet<'_> {
    type Item = WaitSetResult;

    fn next(&mut self) -> Option<WaitSetResult> {
        self.wait_next()
    }
}

fn key(idx: usize, seq: u32) -> u64 {
    ((seq as u64) << 32) | idx as u64
}

fn unkey(k: u64) -> (usize, u32) {
    ((k & 0xffff_ffff) as usize, (k >> 32) as u32)
}

impl std::fmt::Debug for WaitSet<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitSet")
            .field("pending", &self.pending)
            .field("polled", &self.polled)
            .field("check_interval", &self.check_interval)
            .finish()
    }
}
