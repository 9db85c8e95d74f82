//! One supervised job: spawn, wait with stops reported, end the whole tree on expiry or a
//! passed output cap, drain, give the terminal back ([`supervise`]).

use std::time::{Duration, Instant};

use super::{ProcessOutcome, RunEvent, RunOptions};
use crate::capability::{ProcessCapability, ProcessHandle, RunPlan};
use crate::command::{Command, Environment};
use crate::error::{ProcessError, ProcessErrorKind};
use crate::jobcontrol::TerminalGuard;
use crate::signal::Signal;
use crate::units::Deadline;
use crate::wait::{WaitEvent, WaitOptions};

/// Spawns `command` (calling `on_spawned` with its handle at once), then waits until the
/// job ends, ending it on expiry of `deadline`; gives the terminal back at the end.
/// `None` when it did not start: the error is then in `outcome`.
#[allow(clippy::too_many_arguments)]
pub(super) fn supervise(
    cap: &dyn ProcessCapability,
    command: &Command,
    env: &Environment,
    options: &RunOptions,
    deadline: Deadline,
    mut terminal: Option<TerminalGuard>,
    outcome: &mut ProcessOutcome,
    on_spawned: &dyn Fn(ProcessHandle),
    on_ending: &dyn Fn(),
    on_event: &(dyn Fn(&RunEvent) + Sync),
) -> Option<(ProcessHandle, Ending, Result<(), ProcessError>, bool)> {
    // The whole run must be possible before anything runs: a time-limit signal the policy
    // does not allow, or waits it forbids, are refused here, not discovered later.
    let plan = RunPlan {
        signal: options.signal,
        caller_limit: options.timeout.is_some() || options.kill_on_output_cap,
        collect_output: options.collect_output,
    };
    let spawned = cap
        .check_run(command, &plan)
        .and_then(|()| cap.spawn_process(command, env));
    let handle = match spawned {
        Ok(h) => h,
        Err(e) => {
            outcome.error = Some(e);
            return None;
        }
    };
    on_spawned(handle);
    outcome.pid = Some(handle.pid());
    let mut pgid = None;
    if let Ok(info) = cap.process_info(handle) {
        outcome.isolation = info.isolation;
        outcome.program = info.program.to_string_lossy().into_owned();
        pgid = info.pgid;
    }
    if let Some(guard) = terminal.as_mut() {
        // The child took the foreground itself before exec; making sure costs nothing. A
        // failure (the child already ended) still leaves the guard to take the terminal
        // back at the end.
        match pgid {
            Some(g) => {
                let _ = guard.hand_over(g);
            }
            None => terminal = None,
        }
    }
    let wait = WaitOptions {
        timeout: options.timeout,
        collect_output: options.collect_output,
        max_output_bytes: options.max_output_bytes,
        output_linger: options.output_linger,
        report_output_cap: options.kill_on_output_cap,
        ..WaitOptions::default()
    };
    let mut job = Job {
        cap,
        handle,
        options,
        wait,
        deadline,
        terminal,
        program: outcome.program.clone(),
        ending: Ending::ByItself,
        audit_reported: false,
        on_ending,
    };
    let result = job.wait_to_end(on_event);
    // The end record itself may be the one that failed: report it (a required log's
    // failure becomes the outcome's error in `run_process_supervised`).
    job.check_audit(on_event);
    // The terminal back to us, with its attributes, now that the whole job is over.
    drop(job.terminal.take());
    Some((handle, job.ending, result, job.audit_reported))
}

/// How long one drain of the output lasts while descendants use their grace period.
const DRAIN_SLICE: Duration = Duration::from_millis(20);

/// How a job came to its end, as far as we had a hand in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ending {
    /// It ended by itself (or by a signal not ours).
    ByItself,
    /// We ended it because we could not go on supervising it: a required audit record
    /// could not be written, or a wait failed.
    Failed,
    /// Our time limit expired and we ended it.
    TimedOut,
    /// A collected stream passed its cap and we ended it.
    OutputCapped,
}

/// One supervised job: waiting with stops reported, and ending it.
struct Job<'a> {
    cap: &'a dyn ProcessCapability,
    handle: ProcessHandle,
    options: &'a RunOptions,
    wait: WaitOptions,
    deadline: Deadline,
    terminal: Option<TerminalGuard>,
    program: String,
    ending: Ending,
    /// An audit failure of a log that is not required was reported ([`RunEvent::AuditFailed`]).
    audit_reported: bool,
    /// Called when we start ending the job ourselves ([`Job::end_tree`]): signals must be
    /// forwarded until the end, even once the child itself has ended.
    on_ending: &'a dyn Fn(),
}

impl Job<'_> {
    /// Waits until the child ends, reporting stops; ends the whole tree when the time limit
    /// expires or (with `kill_on_output_cap`) a stream passes its cap.
    fn wait_to_end(&mut self, on_event: &(dyn Fn(&RunEvent) + Sync)) -> Result<(), ProcessError> {
        loop {
            // A required audit log that cannot be written ends the job (nothing of it may run
            // on unrecorded); one that is not required is reported once.
            if self.check_audit(on_event) {
                self.ending = Ending::Failed;
                return self.end_tree();
            }
            let options = WaitOptions {
                timeout: self.deadline.remaining(),
                ..self.wait.clone()
            };
            match self.cap.wait_event(self.handle, &options) {
                Ok(WaitEvent::Ended(_)) => return Ok(()),
                Ok(WaitEvent::Stopped(signal)) => {
                    on_event(&RunEvent::Stopped {
                        program: self.program.clone(),
                        pid: self.handle.pid(),
                        signal,
                    });
                    self.pass_stop_on(signal);
                }
                Ok(WaitEvent::OutputCapped(_)) => {
                    self.ending = Ending::OutputCapped;
                    return self.end_tree();
                }
                Err(e) if e.kind == ProcessErrorKind::TimedOut => {
                    self.ending = Ending::TimedOut;
                    return self.end_tree();
                }
                // We cannot go on supervising it: end it rather than leave it running
                // without its limits.
                Err(e) => {
                    self.ending = Ending::Failed;
                    let _ = self.end_tree();
                    return Err(e);
                }
            }
        }
    }

    /// Whether a required audit log has failed (then the job must end); reports a failure
    /// of a log that is not required once.
    fn check_audit(&mut self, on_event: &(dyn Fn(&RunEvent) + Sync)) -> bool {
        let Some(failure) = self.cap.audit_failure() else {
            return false;
        };
        if failure.required {
            return true;
        }
        if !self.audit_reported {
            self.audit_reported = true;
            on_event(&RunEvent::AuditFailed {
                message: failure.to_string(),
            });
        }
        false
    }

    /// Job control: the job was stopped from the terminal while it held the foreground. Take
    /// the terminal back and stop our own process group the same way, so our shell sees its
    /// job stop (the kernel discards the signal when our group is orphaned, i.e. no
    /// job-control shell is above us, and we go on at once). Once we run again: give the
    /// terminal back if we are in the foreground, and continue the job.
    fn pass_stop_on(&mut self, signal: Signal) {
        let Some(terminal) = self.terminal.as_mut() else {
            return;
        };
        let Some(pgid) = terminal.holder() else {
            return;
        };
        if ![Signal::TSTP, Signal::TTIN, Signal::TTOU].contains(&signal) {
            return;
        }
        let _ = terminal.suspend();
        crate::sys::imp::terminal::stop_own_group(signal.number());
        if terminal.we_are_foreground() {
            let _ = terminal.resume(pgid);
        }
        let _ = self.cap.kill_process_tree(self.handle, Signal::CONT);
    }

    /// Ends the whole tree: `options.signal` (stopped processes are continued), the grace
    /// period — all of it while any process of the tree is alive, even when the child itself
    /// has ended — then `KILL` until nothing is left.
    fn end_tree(&mut self) -> Result<(), ProcessError> {
        (self.on_ending)();
        let (cap, handle) = (self.cap, self.handle);
        // A grace too long to represent never ends: the tree is waited for as long as it runs.
        let grace_end = Deadline::after(self.options.kill_after);
        let _ = cap.enforce_limit(handle, self.options.signal);
        let grace = WaitOptions {
            timeout: Some(self.options.kill_after),
            report_output_cap: false,
            ..self.wait.clone()
        };
        let first = cap.wait_with_options(handle, &grace);
        let child_ended = !matches!(&first, Err(e) if e.kind == ProcessErrorKind::TimedOut);
        if child_ended {
            // Descendants keep their grace period; keep draining what they write meanwhile.
            while !grace_end.has_passed() {
                if cap
                    .process_tree(handle)
                    .map_or(true, |live| live.is_empty())
                {
                    break;
                }
                let slice = grace_end
                    .remaining()
                    .map_or(DRAIN_SLICE, |left| left.min(DRAIN_SLICE));
                let began = Instant::now();
                let drain = WaitOptions {
                    timeout: Some(slice),
                    output_linger: slice,
                    report_output_cap: false,
                    ..self.wait.clone()
                };
                let _ = cap.wait_with_options(handle, &drain);
                if began.elapsed() < Duration::from_millis(5) {
                    std::thread::sleep(slice.min(Duration::from_millis(10)));
                }
            }
        }
        let killed = cap.enforce_limit(handle, Signal::KILL);
        let last = WaitOptions {
            timeout: Some(Duration::from_secs(10)),
            output_linger: Duration::from_millis(50),
            report_output_cap: false,
            ..self.wait.clone()
        };
        // Reaps the child if it was still running, and reads what the tree wrote last.
        let end = cap.wait_with_options(handle, &last);
        if child_ended {
            return first.map(|_| ());
        }
        killed?;
        end.map(|_| ())
    }
}
