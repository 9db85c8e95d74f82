//! The async point (spec §7, `Core.Async`): waiting for a child from an async task, on the
//! child's pidfd, without a thread per child. Behind the optional cargo feature `tokio`.

use std::os::fd::OwnedFd;
use std::time::Duration;

use crate::capability::ProcessHandle;
use crate::error::ProcessError;
use crate::native::{NativeProcessCapability, WaitTarget};
use crate::status::ExitStatus;
use crate::wait::WaitOptions;

/// Waits for the child of `handle` in an async task, at most `timeout` (`None`: as long as it
/// takes) — the async form of [`wait_process`](crate::ProcessCapability::wait_process) (spec
/// §1, §7 `Core.Async`; cargo feature `tokio`).
///
/// The result is the one `wait_process` gives: `Ok(ExitStatus)` for any normal exit,
/// `TerminatedBySignal` (signal number in `code`) for a death by signal, `TimedOut` when the
/// limit passes first (the child keeps running, the handle stays valid). Our end of the
/// child's stdin is closed when the wait starts unless it was taken (so a child reading stdin is
/// not left waiting on a pipe nobody closes). The end is
/// reaped and cached in the capability. A limit of 30 years or more (up to
/// `Duration::MAX`) is no practical limit and is waited for without a timer; a tiny one
/// (1 ns) still times out, after tokio's timer resolution (1 ms).
///
/// Dropping the future before it completes (for example under `tokio::select!` or
/// `tokio::time::timeout`) leaves the child running and the handle valid, like `TimedOut`.
///
/// # Errors
/// As `wait_process`; plus `SpawnFailed` with the errno when the pidfd cannot be duplicated
/// or registered with the runtime's reactor (`EMFILE`, `ENOMEM`).
///
/// # Platform-specific behavior
/// - **Linux with pidfd** (5.2+): a close-on-exec duplicate of the child's pidfd is
///   registered with the runtime's reactor (`AsyncFd`); the task wakes when the pidfd becomes
///   readable, i.e. when the child ends. Thousands of children can be awaited from one thread
///   and no library thread is started. Needs a runtime with I/O and time enabled
///   (`Builder::enable_all`).
/// - **Linux without pidfd**: the task polls `waitid(WNOHANG)` every 50 ms (the default
///   `check_interval`) with `tokio::time::sleep`.
///
/// # Panics
/// When called outside a tokio runtime, or in one without I/O or time drivers (tokio's own
/// panics).
///
/// # Example
/// ```
/// # #[cfg(target_os = "linux")]
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use reml_process::{wait_async, Command, Environment, NativeProcessCapability, ProcessCapability};
///
/// let cap = NativeProcessCapability::new();
/// let h = cap
///     .spawn_process(Command::new("sh").args(["-c", "exit 3"]), &Environment::default())
///     .unwrap();
/// assert_eq!(wait_async(&cap, h, None).await.unwrap().code(), 3);
/// cap.release_process(h).unwrap();
/// # });
/// ```
pub async fn wait_async(
    cap: &NativeProcessCapability,
    handle: ProcessHandle,
    timeout: Option<Duration>,
) -> Result<ExitStatus, ProcessError> {
    let target = cap.wait_target(handle)?;
    if let Some(r) = target.try_finish() {
        return r;
    }
    // tokio's timer rounds a deadline up by adding to it, which would overflow near the end
    // of `Instant`'s range: a limit past the timer's own "far future" (30 years) is no limit.
    match timeout.filter(|&t| t < TIMER_FAR_FUTURE) {
        None => until_end(&target).await,
        Some(t) => match tokio::time::timeout(t, until_end(&target)).await {
            Ok(r) => r,
            // It may have ended right at the limit: prefer the end, as `wait_process` does.
            Err(_) => target
                .try_finish()
                .unwrap_or_else(|| Err(target.timed_out(t))),
        },
    }
}

/// The longest limit given to tokio's timer (its own `far_future`, 30 years); anything
/// longer is waited for without a timer.
const TIMER_FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 86_400);

async fn until_end(target: &WaitTarget) -> Result<ExitStatus, ProcessError> {
    let Some(pidfd) = target.pidfd() else {
        let tick = WaitOptions::default().check_interval;
        loop {
            tokio::time::sleep(tick).await;
            if let Some(r) = target.try_finish() {
                return r;
            }
        }
    };
    let io_err = |what: &str, e: std::io::Error| {
        ProcessError::from_errno(
            format!("{what} for pid {}", target.handle().pid()),
            e.raw_os_error().unwrap_or(libc::EIO),
        )
    };
    // A duplicate, so several waits on one child (each its own registration) never collide.
    let dup: OwnedFd = rustix::io::fcntl_dupfd_cloexec(pidfd, 0)
        .map_err(|e| io_err("cannot duplicate the pidfd", e.into()))?;
    let afd = crate::sys::imp::async_fd::register_readable(dup)
        .map_err(|e| io_err("cannot register the pidfd with the tokio reactor", e))?;
    loop {
        // Checked after registering: an end before it is seen here, not lost.
        if let Some(r) = target.try_finish() {
            return r;
        }
        let mut guard = afd
            .readable()
            .await
            .map_err(|e| io_err("cannot wait on the pidfd", e))?;
        guard.clear_ready();
    }
}
