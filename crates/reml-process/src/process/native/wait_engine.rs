//! The wait engine: one loop that polls a child's pidfd (and its pipes when collecting
//! output) until it ends, stops, passes an output cap or the deadline; the reaping and the
//! end cache shared with the wait set and the async wait ([`WaitTarget`]).

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};

use super::{lock, Entry, NativeProcessCapability};
use crate::capability::{ProcessHandle, StdStream};
use crate::error::{ProcessError, ProcessErrorKind};
use crate::signal::Signal;
use crate::status::{ExitStatus, Termination};
use crate::sys::imp::process as sys;
use crate::units::Deadline;
use crate::wait::{CollectedOutput, WaitOptions};

/// What a wait returns for a child that ended: its exit status, or `TerminatedBySignal`.
pub(super) fn end_result(entry: &Entry, end: Termination) -> Result<ExitStatus, ProcessError> {
    match end {
        Termination::Exited(status) => Ok(status),
        Termination::Signaled {
            signal,
            core_dumped,
        } => Err(ProcessError::with_code(
            ProcessErrorKind::TerminatedBySignal,
            format!(
                "{} (pid {}) was killed by {signal}{}",
                crate::error::os_text(&entry.program),
                entry.child.pid,
                if core_dumped { " (core dumped)" } else { "" }
            ),
            signal.number(),
        )),
    }
}

/// The `TimedOut` error of a wait whose limit `timeout` expired.
fn timed_out_error(entry: &Entry, timeout: Duration) -> ProcessError {
    ProcessError::new(
        ProcessErrorKind::TimedOut,
        format!(
            "{} (pid {}) still running after {timeout:?}",
            crate::error::os_text(&entry.program),
            entry.child.pid,
        ),
    )
}

// --- Waiting outside `wait_with_options` (one event loop for every concurrent wait): the
// --- wait set (`waitset.rs`) and the async wait (`async_wait.rs`) reach the table through
// --- these crate-private accessors.

/// One child being waited for by the wait set or the async wait, with the semantics of
/// `wait_process`: our end of its stdin is closed when the wait starts, the end is reaped and
/// cached in the capability, a signal is `TerminatedBySignal`.
pub(crate) struct WaitTarget {
    entry: Arc<Entry>,
    handle: ProcessHandle,
}

impl NativeProcessCapability {
    /// Starts waiting on `handle`: closes our end of its stdin unless taken (a child reading
    /// stdin then sees end-of-file).
    ///
    /// # Errors
    /// `InvalidCommand` for a stale, released or foreign handle.
    pub(crate) fn wait_target(&self, handle: ProcessHandle) -> Result<WaitTarget, ProcessError> {
        let entry = self.entry(handle)?;
        lock(&entry.io).stdin = None;
        Ok(WaitTarget { entry, handle })
    }
}

impl WaitTarget {
    /// The handle this target waits on.
    pub(crate) fn handle(&self) -> ProcessHandle {
        self.handle
    }

    /// The child's pidfd, readable once the child has ended (and still after it is reaped).
    /// `None` without pidfd support (kernels before 5.2): then poll
    /// [`try_finish`](Self::try_finish).
    pub(crate) fn pidfd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.entry.child.pidfd.as_ref().map(|fd| fd.as_fd())
    }

    /// Reaps the child if it has ended (`WNOHANG`, never blocks). `None`: still running.
    pub(crate) fn try_finish(&self) -> Option<Result<ExitStatus, ProcessError>> {
        match reap(&self.entry) {
            Ok(Some(end)) => Some(end_result(&self.entry, end)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// The `TimedOut` error for a limit of `timeout` (the child keeps running).
    pub(crate) fn timed_out(&self, timeout: Duration) -> ProcessError {
        timed_out_error(&self.entry, timeout)
    }
}

/// What one wait saw (stops and caps only with `report`).
pub(super) enum Waited {
    Ended(Termination),
    Stopped(Signal),
    Capped(StdStream),
}

/// The wait loop: poll the pidfd (and the pipes when collecting) until the child ends, the
/// pipes reach end-of-file or linger runs out, or the deadline passes; with `report`, also
/// until the child stops or (with `report_output_cap`) a stream passes its cap.
pub(super) fn wait_entry(
    entry: &Entry,
    options: &WaitOptions,
    report: bool,
) -> Result<Waited, ProcessError> {
    let deadline = Deadline::within(Instant::now(), options.timeout);
    // Close our end of stdin unless the caller took it: a child reading it sees end-of-file.
    let (mut out, mut err, mut output) = {
        let mut io = lock(&entry.io);
        io.stdin = None;
        if options.collect_output {
            (
                io.stdout.take(),
                io.stderr.take(),
                std::mem::take(&mut io.output),
            )
        } else {
            (None, None, CollectedOutput::default())
        }
    };
    if !options.collect_output && deadline.is_never() && !report {
        // Nothing was taken from `io`, so nothing to put back: return as soon as the
        // reaping `waitid` does (the exit is noticed as soon as a blocking `waitpid` would
        // notice it). Not when stops are to be reported: a blocking `waitid(WEXITED)` would
        // sleep through them.
        if let Some(end) = reap_blocking_fast(entry) {
            return end.map(Waited::Ended);
        }
    }
    let result = wait_loop(
        entry,
        options,
        report,
        deadline,
        &mut out,
        &mut err,
        &mut output,
    );
    {
        let mut io = lock(&entry.io);
        // Pipes still open (timed out, or linger ran out) go back for a later wait; a pipe at
        // end-of-file stays closed.
        if io.stdout.is_none() {
            io.stdout = out;
        }
        if io.stderr.is_none() {
            io.stderr = err;
        }
        let prev = std::mem::take(&mut io.output);
        io.output = merge_output(prev, output);
    }
    result
}

fn merge_output(mut a: CollectedOutput, b: CollectedOutput) -> CollectedOutput {
    if a == CollectedOutput::default() {
        return b;
    }
    a.stdout.extend_from_slice(&b.stdout);
    a.stderr.extend_from_slice(&b.stderr);
    a.stdout_truncated |= b.stdout_truncated;
    a.stderr_truncated |= b.stderr_truncated;
    a.stdout_bytes = a.stdout_bytes.saturating_add(b.stdout_bytes);
    a.stderr_bytes = a.stderr_bytes.saturating_add(b.stderr_bytes);
    a
}

/// The fast path of a wait with no time limit and no pipe to read (the exit is noticed as soon as a
/// blocking `waitpid` would notice it): one reaping `waitid(P_PIDFD, WEXITED)` that blocks until
/// the child ends, without holding `end`, so `kill_process` stays free meanwhile (it signals
/// through the pidfd, which never reaches a recycled pid). `None` when the path does not apply: no
/// pidfd, or another thread is already blocked here (that one uses `reap`).
fn reap_blocking_fast(entry: &Entry) -> Option<Result<Termination, ProcessError>> {
    entry.child.pidfd.as_ref()?;
    if entry.blocking.swap(true, Ordering::AcqRel) {
        return None;
    }
    let cached = lock(&entry.end).is_some();
    let result = if cached {
        Err(io::Error::from_raw_os_error(libc::ECHILD))
    } else {
        sys::reap_blocking(&entry.child)
    };
    let mut end = lock(&entry.end);
    entry.blocking.store(false, Ordering::Release);
    // Waiters register under `end`, which we hold: none can be missed.
    if entry.reaped_waiters.load(Ordering::Acquire) > 0 {
        entry.reaped.notify_all();
    }
    if let Some(t) = *end {
        // Cached before, or another waiter (a wait set, `reap`) reaped it first.
        return Some(Ok(t));
    }
    match result {
        Ok(t) => {
            let t = convert(t);
            *end = Some(t);
            *lock(&entry.stopped) = None;
            Some(Ok(t))
        }
        // ECHILD (released by someone else) and the rest: the ordinary path reports it,
        // reading the status back from the pidfd where the kernel can.
        Err(_) => {
            drop(end);
            Some(reap(entry).and_then(|t| {
                t.ok_or_else(|| {
                    ProcessError::from_errno(
                        format!("cannot wait for pid {}", entry.child.pid),
                        libc::ECHILD,
                    )
                })
            }))
        }
    }
}

fn reap(entry: &Entry) -> Result<Option<Termination>, ProcessError> {
    let mut end = lock(&entry.end);
    if let Some(t) = *end {
        return Ok(Some(t));
    }
    let mut reaped = sys::try_reap(&entry.child);
    if matches!(&reaped, Err(e) if e.raw_os_error() == Some(libc::ECHILD))
        && entry.blocking.load(Ordering::Acquire)
    {
        // A thread in `reap_blocking_fast` reaped it and is about to store the end.
        entry.reaped_waiters.fetch_add(1, Ordering::AcqRel);
        end = entry
            .reaped
            .wait_while(end, |e| {
                e.is_none() && entry.blocking.load(Ordering::Acquire)
            })
            .unwrap_or_else(|p| p.into_inner());
        entry.reaped_waiters.fetch_sub(1, Ordering::AcqRel);
        if let Some(t) = *end {
            return Ok(Some(t));
        }
        reaped = sys::try_reap(&entry.child);
    }
    match reaped {
        Ok(Some(t)) => {
            let t = convert(t);
            *end = Some(t);
            *lock(&entry.stopped) = None;
            Ok(Some(t))
        }
        Ok(None) => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => Err(ProcessError::with_code(
            ProcessErrorKind::Unsupported,
            format!(
                "the exit status of pid {} is lost: the kernel released the process before we \
                 could wait for it (this process ignores SIGCHLD, or another waiter called \
                 waitpid(-1)), and this kernel cannot return it through the pidfd \
                 (PIDFD_INFO_EXIT needs Linux 6.15)",
                entry.child.pid
            ),
            libc::ECHILD,
        )),
        Err(e) => Err(ProcessError::from_errno(
            format!("cannot wait for pid {}", entry.child.pid),
            e.raw_os_error().unwrap_or(libc::EIO),
        )),
    }
}

fn convert(t: sys::Termination) -> Termination {
    match t {
        sys::Termination::Exited(code) => Termination::Exited(ExitStatus::from_code(code)),
        sys::Termination::Signaled {
            signal,
            core_dumped,
        } => Termination::Signaled {
            signal: Signal::new(signal).unwrap_or(Signal::KILL),
            core_dumped,
        },
    }
}

const READ_CHUNK: usize = 64 * 1024;

/// The pipe buffer asked for collected streams, and the size of the buffer that drops bytes
/// past the cap: 1 MiB (the default `/proc/sys/fs/pipe-max-size` for unprivileged users).
const PIPE_BUFFER: usize = 1 << 20;

/// Reads once from `fd` into the stream's buffer, keeping at most `cap` bytes. Returns
/// `false` at end-of-file or on a read error other than EINTR/EAGAIN.
fn read_stream(
    fd: &OwnedFd,
    buf: &mut Vec<u8>,
    truncated: &mut bool,
    total: &mut u64,
    cap: u64,
    scratch: &mut Vec<u8>,
) -> bool {
    // A cap past the address space (a saturated `max_output_bytes`) is no cap.
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    let room = cap.saturating_sub(buf.len());
    let result = if room > 0 {
        // Grow geometrically but never past the cap, so memory stays bounded by it; read
        // straight into the spare capacity (no intermediate copy).
        if buf.capacity() == buf.len() {
            let len = buf.len();
            let target = (len.saturating_mul(2)).max(len + READ_CHUNK).min(cap);
            buf.reserve_exact(target - len);
        }
        rustix::io::read(fd, rustix::buffer::spare_capacity(buf))
    } else {
        if scratch.is_empty() {
            scratch.resize(PIPE_BUFFER, 0);
        }
        match rustix::io::read(fd, &mut scratch[..]) {
            Ok(n) => {
                if n > 0 {
                    *truncated = true;
                }
                Ok(n)
            }
            Err(e) => Err(e),
        }
    };
    match result {
        Ok(0) => false,
        Ok(n) => {
            *total = total.saturating_add(n as u64);
            true
        }
        Err(rustix::io::Errno::INTR) | Err(rustix::io::Errno::AGAIN) => true,
        Err(_) => false,
    }
}

fn wait_loop(
    entry: &Entry,
    options: &WaitOptions,
    report: bool,
    deadline: Deadline,
    out: &mut Option<OwnedFd>,
    err: &mut Option<OwnedFd>,
    output: &mut CollectedOutput,
) -> Result<Waited, ProcessError> {
    if out.is_none() && err.is_none() && deadline.is_never() && !report {
        if let Some(end) = reap_blocking_fast(entry) {
            return end.map(Waited::Ended);
        }
    }
    // With a pidfd the first poll returns at once for a child that has already ended, so
    // the reap waits until after it (one `waitid` fewer for a child still running: a timed
    // wait of a fresh child); a wait that runs out of time first reaps once before it says
    // so, as the reap up front did.
    let mut reaped_once = entry.child.pidfd.is_none() || report;
    let mut ended = if reaped_once {
        reap(entry)?
    } else {
        // An end another wait saw is known without a system call.
        *lock(&entry.end)
    };
    let mut linger_until: Option<Deadline> = None;
    // Bytes past the cap are read into this buffer and dropped; allocated on first use.
    let mut scratch: Vec<u8> = Vec::new();
    // A larger pipe buffer (when the system allows it) lets each read return up to
    // PIPE_BUFFER bytes instead of 64 KiB: fewer reads, polls and context switches for
    // large outputs. Best effort: the pipe keeps its size where it cannot grow.
    for fd in [out.as_ref(), err.as_ref()].into_iter().flatten() {
        let _ = rustix::pipe::fcntl_setpipe_size(fd, PIPE_BUFFER);
    }
    let cap = options.max_output_bytes;
    loop {
        if let Some(t) = ended {
            if out.is_none() && err.is_none() {
                return Ok(Waited::Ended(t));
            }
            let until = *linger_until
                .get_or_insert_with(|| Deadline::after(options.output_linger).min(deadline));
            if until.has_passed() {
                return Ok(Waited::Ended(t));
            }
        }
        if report && ended.is_none() {
            // A stop does not wake the pidfd: ask (never reaps; each event once).
            match sys::try_wait_job_state(&entry.child) {
                Ok(Some(sys::WaitEvent::Stopped(n))) => {
                    let sig = Signal::new(n).unwrap_or(Signal::STOP);
                    *lock(&entry.stopped) = Some(sig);
                    return Ok(Waited::Stopped(sig));
                }
                Ok(Some(sys::WaitEvent::Continued)) => *lock(&entry.stopped) = None,
                _ => {}
            }
        }
        let now = Instant::now();
        if ended.is_none() && deadline.passed_at(now) {
            if !reaped_once {
                reaped_once = true;
                ended = reap(entry)?;
                if ended.is_some() {
                    continue;
                }
            }
            return Err(timed_out_error(entry, options.timeout.unwrap_or_default()));
        }
        // How long this poll may sleep.
        let mut limit = if ended.is_some() {
            linger_until.unwrap_or(deadline)
        } else {
            deadline
        };
        let pidfd = if ended.is_none() {
            entry.child.pidfd.as_ref()
        } else {
            None
        };
        if ended.is_none() && (pidfd.is_none() || report) {
            let tick = options.check_interval.max(Duration::from_millis(1));
            limit = limit.min(Deadline::after_from(now, tick));
        }
        let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(3);
        if let Some(p) = pidfd {
            fds.push(PollFd::new(p, PollFlags::IN));
        }
        let out_idx = out.as_ref().map(|fd| {
            fds.push(PollFd::new(fd, PollFlags::IN));
            fds.len() - 1
        });
        let err_idx = err.as_ref().map(|fd| {
            fds.push(PollFd::new(fd, PollFlags::IN));
            fds.len() - 1
        });
        let timeout = limit.timespec_from(now);
        match rustix::event::poll(&mut fds, timeout.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                return Err(ProcessError::from_errno(
                    format!("cannot wait for pid {}", entry.child.pid),
                    e.raw_os_error(),
                ))
            }
        }
        let ready = |i: Option<usize>| i.is_some_and(|i| !fds[i].revents().is_empty());
        let (out_ready, err_ready) = (ready(out_idx), ready(err_idx));
        drop(fds);
        let capped_before = (output.stdout_truncated, output.stderr_truncated);
        if let (true, Some(fd)) = (out_ready, out.as_ref()) {
            let keep = read_stream(
                fd,
                &mut output.stdout,
                &mut output.stdout_truncated,
                &mut output.stdout_bytes,
                cap,
                &mut scratch,
            );
            if !keep {
                *out = None;
            }
        }
        if let (true, Some(fd)) = (err_ready, err.as_ref()) {
            let keep = read_stream(
                fd,
                &mut output.stderr,
                &mut output.stderr_truncated,
                &mut output.stderr_bytes,
                cap,
                &mut scratch,
            );
            if !keep {
                *err = None;
            }
        }
        if report && options.report_output_cap {
            if output.stdout_truncated && !capped_before.0 {
                return Ok(Waited::Capped(StdStream::Stdout));
            }
            if output.stderr_truncated && !capped_before.1 {
                return Ok(Waited::Capped(StdStream::Stderr));
            }
        }
        if ended.is_none() {
            reaped_once = true;
            ended = reap(entry)?;
        }
    }
}
