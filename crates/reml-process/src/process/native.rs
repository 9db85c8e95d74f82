//! The native backend of the process capability: no policy, no audit, only the OS.
//!
//! Layers wrap it in this order (outermost first): audit → security policy → native.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};

use crate::capability::{ProcessCapability, ProcessHandle, ProcessInfo, StdStream};
use crate::command::{ProcessGroup, SignalDispositions, StdioSpec};
use crate::error::{ProcessError, ProcessErrorKind};
use crate::handle_table::HandleTable;
use crate::prepare::PreparedCommand;
use crate::sandbox::Confinement;
use crate::signal::Signal;
use crate::status::{ExitStatus, Termination};
use crate::sys::imp::process as sys;
use crate::tree::TreeState;
use crate::units::Deadline;
use crate::wait::{CollectedOutput, WaitEvent, WaitOptions};

static NEXT_OWNER: AtomicU32 = AtomicU32::new(1);

/// The native Linux implementation of [`ProcessCapability`] (spec §1–§3).
///
/// Holds a table of the children it spawned. Handles are slot + generation ids into it.
///
/// # Platform-specific behavior
/// - **Linux**: children are created with `clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD)` and
///   exit signal 0, reset to `SIGCHLD` by the kernel at exec (see the `sys::linux::process`
///   docs); exit is noticed by polling the pidfd
///   (event-driven, no sleeping); signals go through the pidfd. Without pidfd support
///   (kernels before 5.2) waiting polls `waitid(WNOHANG)` every `check_interval`.
/// - **Other platforms**: spawning returns `Unsupported` naming the platform, before any
///   descriptor is opened or file created; so no handle ever exists, and the operations
///   that take one answer as for a stale handle.
///
/// # Caveats
/// Dropping the capability does not kill its children: each one still running is handed to
/// the library's reaper thread, which reaps it when it ends (no zombie).
pub struct NativeProcessCapability {
    owner: u32,
    table: Mutex<HandleTable<Entry>>,
    threads: crate::thread::NativeThreadCapability,
}

struct Entry {
    child: Arc<sys::Spawned>,
    pgid: Option<i32>,
    program: std::path::PathBuf,
    command_line: Vec<String>,
    spawned_at: Instant,
    /// The isolation level the child applied (sandbox hook).
    isolation: crate::policy::IsolationLevel,
    /// The cached end, once reaped. Held briefly: reaping and (fallback) pid signalling.
    end: Mutex<Option<Termination>>,
    /// The signal that stopped it, as last seen by `wait_event`.
    stopped: Mutex<Option<Signal>>,
    /// Its descendants, for whole-tree termination (spec §7).
    tree: Mutex<TreeState>,
    io: Mutex<Io>,
    /// A thread is blocked in a reaping `waitid` on the pidfd without holding `end` (the
    /// fast path of an unbounded wait, `reap_blocking_fast`); `reaped` is notified when it
    /// has stored the end.
    blocking: AtomicBool,
    reaped: Condvar,
    /// Threads waiting on `reaped` (so the fast path skips the futex wake when there are
    /// none, which is almost always).
    reaped_waiters: AtomicU32,
}

#[derive(Default)]
struct Io {
    stdin: Option<OwnedFd>,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    stdin_taken: bool,
    output: CollectedOutput,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of our locks leaves consistent data (every update is a
    // single assignment), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn stale(handle: ProcessHandle) -> ProcessError {
    ProcessError::invalid(format!(
        "process handle for pid {} is stale, released or from another capability",
        handle.pid
    ))
}

impl Default for NativeProcessCapability {
    fn default() -> Self {
        Self::new()
    }
}

impl NativeProcessCapability {
    /// A new capability with an empty process table.
    pub fn new() -> Self {
        NativeProcessCapability {
            owner: NEXT_OWNER.fetch_add(1, Ordering::Relaxed),
            table: Mutex::new(HandleTable::new()),
            threads: crate::thread::NativeThreadCapability::new(),
        }
    }

    /// Number of handles not yet released.
    pub fn outstanding(&self) -> usize {
        lock(&self.table).iter().count()
    }

    /// The handles not yet released (for shutdown reports).
    pub fn outstanding_handles(&self) -> Vec<ProcessHandle> {
        lock(&self.table)
            .iter()
            .map(|(slot, generation, e)| ProcessHandle {
                owner: self.owner,
                slot,
                generation,
                pid: e.child.pid,
            })
            .collect()
    }

    /// Forces the no-pidfd fallback (polling `waitid`) for every later spawn in this process.
    /// For tests of the fallback path; not reversible.
    #[doc(hidden)]
    pub fn force_pidfd_fallback() {
        sys::disable_pidfd();
    }

    fn entry(&self, handle: ProcessHandle) -> Result<Arc<Entry>, ProcessError> {
        if handle.owner != self.owner {
            return Err(stale(handle));
        }
        lock(&self.table)
            .get(handle.slot, handle.generation)
            .cloned()
            .ok_or_else(|| stale(handle))
    }

    /// Stores the entry of a child just spawned and issues its handle. With every one of the
    /// 2^32 slots taken or retired (memory runs out long before), the child is killed and
    /// left to the reaper, and the spawn fails.
    fn insert(&self, entry: Entry) -> Result<ProcessHandle, ProcessError> {
        let pid = entry.child.pid;
        let inserted = lock(&self.table).insert(entry);
        let ids = match inserted {
            Ok(ids) => ids,
            Err(entry) => {
                let entry = Arc::new(entry);
                let _ = sys::send_signal(&entry.child, libc::SIGKILL);
                orphan(entry);
                return Err(ProcessError::new(
                    ProcessErrorKind::SpawnFailed,
                    "the process handle table is full (2^32 slots); the child was killed",
                ));
            }
        };
        Ok(ProcessHandle {
            owner: self.owner,
            slot: ids.0,
            generation: ids.1,
            pid,
        })
    }
}

/// Opens the child's end of one standard stream; returns (child end, our end). A FIFO named
/// by a `File` spec waits for its other end until `deadline` or `interrupt`
/// ([`crate::files::open_stdio_file`]).
fn open_stdio(
    spec: &StdioSpec,
    target: RawFd,
    deadline: Deadline,
    interrupt: Option<&crate::command::Interrupt>,
) -> Result<(Option<OwnedFd>, Option<OwnedFd>), ProcessError> {
    use rustix::fs::{Mode, OFlags};
    let read = target == 0;
    let os_err =
        |what: String, e: rustix::io::Errno| ProcessError::from_errno(what, e.raw_os_error());
    match spec {
        StdioSpec::Inherit => Ok((None, None)),
        StdioSpec::Null => {
            let flags = if read { OFlags::RDONLY } else { OFlags::WRONLY };
            let fd = rustix::fs::open("/dev/null", flags | OFlags::CLOEXEC, Mode::empty())
                .map_err(|e| os_err("cannot open /dev/null".into(), e))?;
            Ok((Some(fd), None))
        }
        StdioSpec::Pipe => {
            #[cfg(reml_linux)]
            let pipe = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC);
            // Not reached: `spawn_prepared` refuses first where there is no backend.
            #[cfg(not(reml_linux))]
            let pipe: rustix::io::Result<(OwnedFd, OwnedFd)> = Err(rustix::io::Errno::NOSYS);
            let (r, w) = pipe.map_err(|e| os_err("cannot create a pipe".into(), e))?;
            Ok(if read {
                (Some(r), Some(w))
            } else {
                (Some(w), Some(r))
            })
        }
        StdioSpec::File(path) => {
            use crate::files::StdioOpenError;
            let name = match target {
                0 => "stdin",
                1 => "stdout",
                _ => "stderr",
            };
            let what = format!("{name} file {}", crate::error::os_text(&path));
            let peer = if read { "no writer" } else { "no reader" };
            let fd = crate::files::open_stdio_file(path, read, deadline, interrupt).map_err(
                |e| match e {
                    // A file that cannot be opened is bad input of the command, like a
                    // missing cwd: InvalidCommand, with the errno.
                    StdioOpenError::Os(e) => {
                        let mut err = os_err(what, e);
                        err.kind = ProcessErrorKind::InvalidCommand;
                        err
                    }
                    StdioOpenError::TimedOut => ProcessError::new(
                        ProcessErrorKind::TimedOut,
                        format!(
                            "{what}: a FIFO with {peer} within the time limit; nothing was started"
                        ),
                    ),
                    StdioOpenError::Interrupted(signal) => ProcessError::with_code(
                        ProcessErrorKind::TerminatedBySignal,
                        format!(
                            "{what}: interrupted by {signal} while waiting for the FIFO's other \
                             end ({peer}); nothing was started"
                        ),
                        signal.number(),
                    ),
                },
            )?;
            Ok((Some(fd), None))
        }
    }
}

fn spawn_error(prepared: &PreparedCommand, e: sys::SpawnError) -> ProcessError {
    let program = crate::error::os_text(&prepared.program);
    let errno = e.errno;
    let what = match e.stage {
        sys::Stage::Clone => format!("{program}: cannot create the process"),
        sys::Stage::SetPgid => format!("{program}: cannot set the process group (setpgid)"),
        sys::Stage::Rlimit(i) => match prepared.rlimits.get(i) {
            // Only a limit the command asked for itself can fail here: the policy's are
            // ceilings kept within the inherited hard limit.
            Some(r) => {
                let show =
                    |v: Option<u64>| v.map_or_else(|| "unlimited".to_owned(), |v| v.to_string());
                format!(
                    "{program}: cannot apply {} soft {}, hard {} (the hard limit this process has, and its child inherits, is {})",
                    r.resource.name(),
                    show(r.soft),
                    show(r.hard),
                    show(crate::sys::imp::process::hard_rlimit(r.resource))
                )
            }
            None => format!("{program}: cannot apply an rlimit"),
        },
        sys::Stage::Chdir => format!(
            "{program}: cannot change directory to {}",
            crate::error::os_text(
                prepared
                    .command
                    .cwd
                    .as_deref()
                    .unwrap_or(std::path::Path::new("?"))
            )
        ),
        sys::Stage::Fd(fd) => format!("{program}: cannot set up descriptor {fd}"),
        sys::Stage::ParentDeathSignal => {
            format!("{program}: cannot set the parent-death signal (prctl PR_SET_PDEATHSIG)")
        }
        sys::Stage::Sandbox => {
            return ProcessError::with_code(
                ProcessErrorKind::PermissionDenied,
                format!(
                    "{program}: not started: the child could not apply its sandbox \
                     (prctl PR_SET_NO_NEW_PRIVS / landlock_restrict_self)"
                ),
                errno,
            )
        }
        sys::Stage::Namespace(step) => {
            return ProcessError::with_code(
                ProcessErrorKind::PermissionDenied,
                format!(
                    "{program}: not started: isolation `full_isolation` is unavailable: the child could not {}",
                    crate::sys::imp::namespace::step_text(step)
                ),
                errno,
            )
        }
        sys::Stage::Identity => {
            return ProcessError::denied(format!(
                "{program}: denied: the file at this path changed after the policy checked it"
            ))
        }
        sys::Stage::Exec => match errno {
            libc::ENOENT => {
                format!("{program}: cannot execute (not found, or its interpreter is missing)")
            }
            libc::ENOEXEC => format!("{program}: cannot execute (bad executable format)"),
            libc::EACCES => format!("{program}: permission denied"),
            libc::E2BIG => {
                format!("{program}: arguments and environment too large for the kernel (ARG_MAX)")
            }
            _ => format!("{program}: cannot execute"),
        },
    };
    let mut err = ProcessError::from_errno(what, errno);
    if e.stage == sys::Stage::SetPgid && errno == libc::EPERM {
        err.kind = ProcessErrorKind::SpawnFailed;
    }
    if errno == libc::E2BIG {
        err.kind = ProcessErrorKind::InvalidCommand;
    }
    err
}

/// The backend's form of [`SignalDispositions`]: a mask with bit `n - 1` for signal `n`.
fn raw_dispositions(d: &SignalDispositions) -> sys::RawDispositions {
    match d {
        SignalDispositions::KeepIgnoredExceptPipe => sys::RawDispositions::KeepIgnoredExceptPipe,
        SignalDispositions::ResetAll => sys::RawDispositions::ResetAll,
        SignalDispositions::Ignore(signals) => sys::RawDispositions::Ignore(
            signals
                .iter()
                .map(|s| s.number())
                .filter(|&n| (1..=64).contains(&n))
                .fold(0u64, |mask, n| mask | 1 << (n - 1)),
        ),
    }
}

impl ProcessCapability for NativeProcessCapability {
    /// `None`: the native backend is the ground floor, it writes the whole core itself.
    fn inner(&self) -> Option<&dyn ProcessCapability> {
        None
    }

    fn spawn_prepared(&self, prepared: PreparedCommand) -> Result<ProcessHandle, ProcessError> {
        if !crate::sys::imp::SUPPORTED {
            // Before anything is opened or created (stdio files, pipes).
            return Err(ProcessError::unsupported(format!(
                "{}: not spawned: {}",
                crate::error::os_text(&prepared.program),
                crate::sys::unsupported_message("process spawning")
            )));
        }
        let cmd = &prepared.command;
        // The cached kernel probes first: on kernels that keep the status for us the
        // `sigaction` query is skipped (one system call per spawn).
        if !(sys::pidfd_supported() && sys::pidfd_exit_info_supported()) && sys::sigchld_ignored() {
            return Err(ProcessError::unsupported(format!(
                "{}: not spawned: this process ignores SIGCHLD, so the kernel would discard the \
                 child's exit status, and this kernel cannot keep it for us (pidfd \
                 PIDFD_INFO_EXIT needs Linux 6.15); set SIGCHLD to its default disposition",
                crate::error::os_text(&prepared.program)
            )));
        }
        // One deadline for the three opens (a FIFO may wait for its other end).
        let deadline = Deadline::within(Instant::now(), cmd.stdio_open_timeout);
        let interrupt = cmd.interrupt.as_ref();
        let (in_child, in_ours) = open_stdio(&cmd.stdin, 0, deadline, interrupt)?;
        let (out_child, out_ours) = open_stdio(&cmd.stdout, 1, deadline, interrupt)?;
        let (err_child, err_ours) = open_stdio(&cmd.stderr, 2, deadline, interrupt)?;
        let mut fd_map: Vec<(RawFd, RawFd)> = Vec::with_capacity(3 + cmd.fd_mappings.len());
        for (fd, target) in [(&in_child, 0), (&out_child, 1), (&err_child, 2)] {
            if let Some(fd) = fd {
                fd_map.push((fd.as_raw_fd(), target));
            }
        }
        fd_map.extend(
            cmd.fd_mappings
                .iter()
                .map(|m| (m.source.as_raw_fd(), m.target)),
        );
        let rlimits: Vec<sys::RawRlimit> = prepared
            .rlimits
            .iter()
            .map(|r| sys::RawRlimit {
                resource: sys::rlimit_resource(r.resource),
                soft: r.soft.unwrap_or(sys::RLIM_INFINITY),
                hard: r.hard.unwrap_or(sys::RLIM_INFINITY),
            })
            .collect();
        let pgroup = match cmd.process_group {
            ProcessGroup::Inherit => sys::Pgroup::Inherit,
            ProcessGroup::New => sys::Pgroup::New,
            ProcessGroup::Join(id) => sys::Pgroup::Join(id),
        };
        let in_group = cmd.process_group != ProcessGroup::Inherit;
        // Sandbox hook (`crate::sandbox`): build the Landlock ruleset before the spawn.
        let confinement = match &prepared.sandbox {
            Some(rules) => Some(rules.build(&prepared.program)?),
            None => None,
        };
        if let (
            Some(Confinement {
                namespaces: Some(_),
                ..
            }),
            ProcessGroup::Join(id),
        ) = (&confinement, cmd.process_group)
        {
            return Err(ProcessError::invalid(format!(
                "{}: not started: a child under `full_isolation` cannot join process group {id}: its own PID namespace cannot see any group of ours",
                crate::error::os_text(&prepared.program)
            )));
        }
        let spec = sys::SpawnSpec {
            foreground: cmd.foreground && in_group,
            program: &prepared.program_c,
            exec_fd: prepared.exec_file.as_ref().map(|f| f.as_fd()),
            exec_identity: prepared.exec_identity,
            argv: &prepared.argv,
            envp: &prepared.envp,
            cwd: prepared.cwd_c.as_deref(),
            fd_map: &fd_map,
            pgroup,
            rlimits: &rlimits,
            dispositions: raw_dispositions(&cmd.signal_dispositions),
            parent_death_signal: cmd.parent_death_signal.map_or(0, |s| s.number()),
            // Sandbox hook: the ruleset is built here, in the parent (`crate::sandbox`).
            landlock_fd: confinement.as_ref().map_or(-1, |c| c.ruleset.as_raw_fd()),
            isolation: confinement.as_ref().and_then(|c| c.namespaces.as_ref()),
        };
        // Our children just before the spawn (when we are a child subreaper): never
        // attributed to this child's tree.
        let baseline = crate::tree::baseline();
        let child = sys::spawn(&spec).map_err(|e| spawn_error(&prepared, e))?;
        // The child's ends close here, in the parent, so end-of-file reaches our ends.
        drop((in_child, out_child, err_child));
        let pgid = match cmd.process_group {
            ProcessGroup::Inherit => None,
            ProcessGroup::New => Some(child.pid),
            ProcessGroup::Join(id) => Some(id),
        };
        let child = Arc::new(child);
        self.insert(Entry {
            command_line: prepared.command_line(),
            program: prepared.program,
            pgid,
            spawned_at: Instant::now(),
            isolation: prepared
                .sandbox
                .as_ref()
                .map_or(crate::policy::IsolationLevel::None, |s| s.level),
            end: Mutex::new(None),
            stopped: Mutex::new(None),
            tree: Mutex::new(TreeState::new(child.clone(), pgid, baseline)),
            blocking: AtomicBool::new(false),
            reaped: Condvar::new(),
            reaped_waiters: AtomicU32::new(0),
            io: Mutex::new(Io {
                stdin: in_ours,
                stdout: out_ours,
                stderr: err_ours,
                ..Io::default()
            }),
            child,
        })
    }

    fn kill_process(&self, handle: ProcessHandle, signal: Signal) -> Result<(), ProcessError> {
        let entry = self.entry(handle)?;
        let end = lock(&entry.end);
        if end.is_some() {
            return Ok(());
        }
        match sys::send_signal(&entry.child, signal.number()) {
            Ok(()) => Ok(()),
            // Exited but not yet reaped by pidfd_send_signal's view: nothing to signal.
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            Err(e) => Err(ProcessError::from_errno(
                format!("cannot send {signal} to pid {}", handle.pid),
                e.raw_os_error().unwrap_or(libc::EIO),
            )),
        }
    }

    fn kill_process_group(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<(), ProcessError> {
        let entry = self.entry(handle)?;
        // `Join` of our own group is our group too.
        let Some(pgid) = entry
            .pgid
            .filter(|&g| g != crate::sys::imp::tree::getpgrp())
        else {
            return Err(ProcessError::invalid(format!(
                "pid {} was spawned in our own process group; signalling that group would hit the caller",
                handle.pid
            )));
        };
        match sys::kill_group(pgid, signal.number()) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            Err(e) => Err(ProcessError::from_errno(
                format!("cannot send {signal} to process group {pgid}"),
                e.raw_os_error().unwrap_or(libc::EIO),
            )),
        }
    }

    fn kill_process_tree(
        &self,
        handle: ProcessHandle,
        signal: Signal,
    ) -> Result<Vec<i32>, ProcessError> {
        let entry = self.entry(handle)?;
        let mut tree = lock(&entry.tree);
        if tree.walkable() {
            return Ok(tree.signal(signal));
        }
        drop(tree);
        // No pidfd (kernels before 5.2): the group, or the process alone.
        crate::capability::signal_group_or_process(self, handle, signal)
    }

    fn process_tree(&self, handle: ProcessHandle) -> Result<Vec<i32>, ProcessError> {
        let entry = self.entry(handle)?;
        let mut tree = lock(&entry.tree);
        if tree.walkable() {
            return Ok(tree.live());
        }
        drop(tree);
        crate::capability::process_alone(self, handle)
    }

    fn wait_event(
        &self,
        handle: ProcessHandle,
        options: &WaitOptions,
    ) -> Result<WaitEvent, ProcessError> {
        let entry = self.entry(handle)?;
        Ok(match wait_entry(&entry, options, true)? {
            Waited::Ended(t) => WaitEvent::Ended(t),
            Waited::Stopped(sig) => WaitEvent::Stopped(sig),
            Waited::Capped(stream) => WaitEvent::OutputCapped(stream),
        })
    }

    fn wait_with_options(
        &self,
        handle: ProcessHandle,
        options: &WaitOptions,
    ) -> Result<ExitStatus, ProcessError> {
        let entry = self.entry(handle)?;
        match wait_entry(&entry, options, false)? {
            Waited::Ended(end) => end_result(&entry, end),
            // Not reached: without `report` the loop returns only ends. Said, not panicked.
            Waited::Stopped(_) | Waited::Capped(_) => Err(ProcessError::new(
                ProcessErrorKind::SpawnFailed,
                format!(
                    "internal error: the wait for pid {} reported a stop or a cap it was not asked for",
                    handle.pid
                ),
            )),
        }
    }

    fn take_output(&self, handle: ProcessHandle) -> Result<CollectedOutput, ProcessError> {
        let entry = self.entry(handle)?;
        let mut io = lock(&entry.io);
        Ok(std::mem::take(&mut io.output))
    }

    fn take_pipe(
        &self,
        handle: ProcessHandle,
        stream: StdStream,
    ) -> Result<Option<File>, ProcessError> {
        let entry = self.entry(handle)?;
        let mut io = lock(&entry.io);
        let fd = match stream {
            StdStream::Stdin => {
                let fd = io.stdin.take();
                if fd.is_some() {
                    io.stdin_taken = true;
                }
                fd
            }
            StdStream::Stdout => io.stdout.take(),
            StdStream::Stderr => io.stderr.take(),
        };
        Ok(fd.map(File::from))
    }

    fn process_info(&self, handle: ProcessHandle) -> Result<ProcessInfo, ProcessError> {
        let entry = self.entry(handle)?;
        let termination = *lock(&entry.end);
        let stopped = *lock(&entry.stopped);
        Ok(ProcessInfo {
            pid: entry.child.pid,
            pgid: entry.pgid,
            program: entry.program.clone(),
            command_line: entry.command_line.clone(),
            spawned_at: entry.spawned_at,
            termination,
            stopped,
            isolation: entry.isolation,
        })
    }

    fn process_start_time(&self, handle: ProcessHandle) -> Result<Option<u64>, ProcessError> {
        let entry = self.entry(handle)?;
        // Reaped by a wait of ours: the pid may be another process's by now.
        if lock(&entry.end).is_some() {
            return Ok(None);
        }
        Ok(sys::process_start_time(&entry.child))
    }

    fn threads(&self) -> Option<&dyn crate::thread::ThreadCapability> {
        Some(&self.threads)
    }

    fn release_process(&self, handle: ProcessHandle) -> Result<(), ProcessError> {
        if handle.owner != self.owner {
            return Err(stale(handle));
        }
        let entry = lock(&self.table)
            .remove(handle.slot, handle.generation)
            .ok_or_else(|| stale(handle))?;
        orphan(entry);
        Ok(())
    }
}

impl Drop for NativeProcessCapability {
    fn drop(&mut self) {
        let t = self.table.get_mut().unwrap_or_else(|p| p.into_inner());
        t.drain().for_each(orphan);
    }
}

/// What a wait returns for a child that ended: its exit status, or `TerminatedBySignal`.
fn end_result(entry: &Entry, end: Termination) -> Result<ExitStatus, ProcessError> {
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

// --- end of the accessors for the wait set and the async wait.

/// Hands the child of an entry whose handle is gone to the reaper, unless it is reaped.
///
/// A thread still inside a wait on this entry holds its own reference; whoever reaps first
/// wins, and the other reads the status back from the pidfd or stops.
fn orphan(entry: Arc<Entry>) {
    if lock(&entry.end).is_some() {
        return;
    }
    crate::reaper::adopt(entry.child.clone());
}

/// What one wait saw (stops and caps only with `report`).
enum Waited {
    Ended(Termination),
    Stopped(Signal),
    Capped(StdStream),
}

/// The wait loop: poll the pidfd (and the pipes when collecting) until the child ends, the
/// pipes reach end-of-file or linger runs out, or the deadline passes; with `report`, also
/// until the child stops or (with `report_output_cap`) a stream passes its cap.
fn wait_entry(entry: &Entry, options: &WaitOptions, report: bool) -> Result<Waited, ProcessError> {
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
    let mut ended = reap(entry)?;
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
            ended = reap(entry)?;
        }
    }
}
