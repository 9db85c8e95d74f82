//! Waiting with options (spec §3 `WaitOptions`) and collected output.

use std::time::Duration;

use crate::capability::StdStream;
use crate::signal::Signal;
use crate::status::Termination;

/// The default cap per collected stream: 16 MiB.
pub const DEFAULT_MAX_OUTPUT_BYTES: u64 = 16 << 20;

/// The default linger after the child's exit while a descendant still holds an output pipe.
pub const DEFAULT_OUTPUT_LINGER: Duration = Duration::from_millis(200);

/// Options of `wait_with_options` (spec §3 `WaitOptions`, with our extensions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitOptions {
    /// Wall-clock limit for the whole wait, output collection included. `None` waits as long
    /// as it takes. On expiry the result is `TimedOut`, the process keeps running and its
    /// handle stays valid.
    pub timeout: Option<Duration>,
    /// The longest delay between the child's exit and the wait noticing it, for back-ends
    /// that must poll (no pidfd). On Linux with pidfd exit is event-driven and this is not
    /// needed for it; `wait_event` also uses it as the longest delay before it notices a
    /// stop (a stop does not wake a pidfd, so it is polled with `waitid(WSTOPPED | WNOHANG)`).
    pub check_interval: Duration,
    /// Buffer the stdout and stderr that were set to `StdioSpec::Pipe` (needs
    /// `effect {memory}`). Both are drained at the same time, so a child filling one never
    /// blocks; retrieve them with `take_output`.
    pub collect_output: bool,
    /// Cap per stream in bytes for collected output. Bytes past the cap are read and counted
    /// but not kept; the stream's `truncated` flag is set.
    pub max_output_bytes: u64,
    /// After the child exits, how long to keep reading pipes that a descendant still holds
    /// open. Bounded by `timeout` too.
    pub output_linger: Duration,
    /// For `wait_event` only: return [`WaitEvent::OutputCapped`] as soon as a collected
    /// stream passes `max_output_bytes` (the process keeps running; the caller decides what
    /// to do, e.g. `RunOptions::kill_on_output_cap`). `wait_with_options` ignores it.
    pub report_output_cap: bool,
}

impl Default for WaitOptions {
    /// No time limit, 50 ms check interval, no collection, 16 MiB cap, 200 ms linger, output
    /// cap not reported.
    fn default() -> Self {
        WaitOptions {
            timeout: None,
            check_interval: Duration::from_millis(50),
            collect_output: false,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            output_linger: DEFAULT_OUTPUT_LINGER,
            report_output_cap: false,
        }
    }
}

impl WaitOptions {
    /// Options with a time limit.
    pub fn with_timeout(timeout: Duration) -> Self {
        WaitOptions {
            timeout: Some(timeout),
            ..Self::default()
        }
    }

    /// These options with output collection on.
    pub fn collecting(mut self) -> Self {
        self.collect_output = true;
        self
    }
}

/// What [`ProcessCapability::wait_event`](crate::ProcessCapability::wait_event) observed
/// (spec §7, job control).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitEvent {
    /// The process ended and has been reaped (a normal exit or a signal: both are events
    /// here, not errors).
    Ended(Termination),
    /// The process was stopped by this signal (`SIGTSTP`, `SIGTTIN`, `SIGTTOU`, `SIGSTOP`)
    /// and is still alive. Each stop is reported once; `ProcessInfo::stopped` keeps it until
    /// a wait sees the process continue or end.
    Stopped(Signal),
    /// A collected stream passed `max_output_bytes` (only with
    /// `WaitOptions::report_output_cap`); the process is still running.
    OutputCapped(StdStream),
}

/// Output collected by `wait_with_options(collect_output = true)`.
///
/// Kept bytes are at most the cap per stream; `*_bytes` count every byte the child wrote
/// that we read, including those past the cap.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CollectedOutput {
    /// Kept bytes of standard output.
    pub stdout: Vec<u8>,
    /// Kept bytes of standard error.
    pub stderr: Vec<u8>,
    /// Whether stdout went past the cap.
    pub stdout_truncated: bool,
    /// Whether stderr went past the cap.
    pub stderr_truncated: bool,
    /// Total bytes read from stdout.
    pub stdout_bytes: u64,
    /// Total bytes read from stderr.
    pub stderr_bytes: u64,
}
