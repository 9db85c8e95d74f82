//! The native backend of the process capability: no policy, no audit, only the OS.
//!
//! Layers wrap it in this order (outermost first): audit → security policy → native.
//!
//! This file holds the capability and its handle table; the opening of the child's standard
//! streams is in `stdio.rs`, the wait engine (poll, reap, collect output) in `wait_engine.rs`.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use crate::capability::handle_table::HandleTable;
use crate::capability::{ProcessCapability, ProcessHandle, ProcessInfo, StdStream};
use crate::command::{ProcessGroup, SignalDispositions};
use crate::error::{ProcessError, ProcessErrorKind};
use crate::prepare::PreparedCommand;
use crate::sandbox::Confinement;
use crate::signal::Signal;
use crate::status::{ExitStatus, Termination};
use crate::sys::imp::process as sys;
use crate::tree::TreeState;
use crate::units::Deadline;
use crate::wait::{CollectedOutput, WaitEvent, WaitOptions};

mod stdio;
mod wait_engine;

use stdio::open_stdio;
pub(crate) use wait_engine::WaitTarget;
use wait_engine::{end_result, wait_entry, Waited};

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

    fn spawn_prepared(&self, mut prepared: PreparedCommand) -> Result<ProcessHandle, ProcessError> {
        // What a layer read of the environment is what runs.
        prepared.settle_envp();
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

// --- end of the accessors for the wait set and the async wait.

/// Hands the child of an entry whose handle is gone to the reaper, unless it is reaped.
///
/// A thread still inside a wait on this entry holds its own reference; whoever reaps first
/// wins, and the other reads the status back from the pidfd or stops.
fn orphan(entry: Arc<Entry>) {
    if lock(&entry.end).is_some() {
        return;
    }
    crate::sys::imp::reaper::adopt(entry.child.clone());
}
