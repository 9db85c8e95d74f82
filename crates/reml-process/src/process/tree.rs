//! Whole-tree termination (spec §7): ending a job ends every process it started, not only
//! the child — its pipeline, the helper it put in the background, the daemon that
//! double-forked, the process that called `setsid`.
//!
//! [`ProcessCapability::kill_process_tree`](crate::ProcessCapability::kill_process_tree)
//! finds the job's processes through three mechanisms, all used together on Linux. What
//! each one guarantees, and where it falls short:
//!
//! | mechanism | reaches | misses |
//! |---|---|---|
//! | **process group** (`ProcessGroup::New`, the default of `reml-process run`): `kill(-pgid)` | every process still in the child's group, wherever its parent is | processes that left the group (`setpgid`, `setsid`) |
//! | **tree walk**: `/proc/PID/task/*/children` from the child down, each process held by a pidfd | every process connected to the child by parent links at the time of the walk, whatever its group or session | processes orphaned before the walk: the kernel reparents them to init (or to the nearest child subreaper) |
//! | **child subreaper** (opt-in, process-wide: [`set_child_subreaper`]; `reml-process run` turns it on) | orphans of the job: the kernel reparents them to us instead of init, and the walk finds them among our own children ("adopted") | nothing the walk would otherwise miss; see the attribution caveat below |
//!
//! With the subreaper on (as in `reml-process run`), **no descendant of a timed-out job
//! survives it on Linux**: a process is either still connected to the child, or an orphan
//! that came back to us. Without it (the library default), descendants orphaned before the
//! walk (a double fork whose intermediate process already exited) are out of reach unless
//! they stayed in the child's process group.
//!
//! # How one signal reaches the tree
//! 1. **Freeze**: `SIGSTOP` to the group and to each process found, top-down; each level is
//!    listed only once its processes are stopped (bounded wait), so no process can fork
//!    between being listed and being signalled. (A process with `SIGKILL` pending cannot
//!    fork at all; a stopped one cannot run.) Not done for `SIGCONT`.
//! 2. **Signal** the group, then each process through its pidfd (`pidfd_send_signal`), so a
//!    process that ended and whose pid was reused is never hit.
//! 3. **Thaw**: `SIGCONT` to the same processes (not after `KILL`/`STOP`), so stopped
//!    processes, including ones the job had stopped itself, act on the signal.
//!
//! For `KILL` the walk and the signal repeat until nothing of the tree is left alive (at
//! most [`KILL_ROUNDS`] rounds); then every process of the tree that ended as our child (an
//! orphan reparented to us) is reaped through its own pidfd — never `waitpid(-1)` — so no
//! zombie is left behind.
//!
//! # Attribution with the subreaper on
//! An adopted orphan carries no trace of its former ancestry, so the library attributes to a
//! job every child of this process that is not one it had when the job was spawned
//! (recorded at spawn, by pid and start time), and that this library did not create (it
//! keeps the pids of the children it holds; the exit signal cannot tell them apart, as the
//! kernel resets it to `SIGCHLD` at exec). Hence:
//! - children this process had before the job are never touched (a shell that `exec`s into
//!   `reml-process run` may leave one: it survives);
//! - concurrent jobs of one process share their adopted orphans: a timed-out job also ends
//!   orphans another job left;
//! - a child the host creates by other means (`std::process`, `fork`) **while a job runs**
//!   cannot be told from an adopted orphan. Turn the subreaper on only in a process that
//!   spawns through this library alone, as `reml-process run` does.
//!
//! Orphans of a job that ended by itself are left alone (like coreutils `timeout`): with the
//! subreaper on they stay alive as children of this process, which should reap them or
//! exit. Orphans that end are zombies until reaped: a supervisor reaps them as they end with
//! [`SignalForwarder::install_reaping_orphans`](crate::SignalForwarder::install_reaping_orphans),
//! as `reml-process run` does. The subreaper setting is recorded per job at spawn: turning it
//! on later does not make earlier jobs look for adopted orphans.
//!
//! # cgroup v2
//! Not used. A `cgroup.kill` per job needs a delegated, writable cgroup v2 subtree and
//! placing the child in its leaf before it runs (`clone3(CLONE_INTO_CGROUP)`); neither can be
//! assumed (hybrid v1/v2 hosts, containers without delegation), and the mechanisms above
//! give the guarantee without it.
//!
//! # Platform-specific behavior
//! Linux 5.3+ (`pidfd_open`) with `/proc/PID/task/TID/children` (`CONFIG_PROC_CHILDREN`, on
//! in distribution kernels). Where the child has no pidfd (kernels before 5.2), only the
//! process group (or the child alone) is signalled. Processes we may not signal (a setuid
//! descendant running as another user) are skipped by the kernel with `EPERM`.
//!
//! # References
//! prctl(2) (`PR_SET_CHILD_SUBREAPER`), proc(5), pidfd_open(2), pidfd_send_signal(2),
//! waitid(2), kill(2).

use std::collections::HashSet;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use crate::units::Deadline;

use crate::error::ProcessError;
use crate::signal::Signal;
use crate::sys::imp::process as sysproc;
use crate::sys::imp::tree as sys;

/// The most rounds of walk-and-`KILL` one tree kill makes before giving up on processes that
/// keep appearing (a fork bomb that outpaces us; each round freezes it first).
pub const KILL_ROUNDS: usize = 32;

/// How long one walk waits in total for frozen processes to stop before listing their
/// children anyway (a process in uninterruptible sleep, a `vfork` parent).
const FREEZE_WAIT: Duration = Duration::from_millis(500);

/// The most levels one walk descends.
const MAX_DEPTH: usize = 4096;

/// Makes this process a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER, 1)`), or stops
/// being one (`enabled = false`), so that orphaned descendants of the children it spawns are
/// reparented to it instead of to init, where whole-tree termination finds them (see the
/// module docs).
///
/// **Process-wide**: it affects every thread and every child, whoever spawned it. Orphans
/// become children of this process: it gets `SIGCHLD` for them, a `waitpid(-1)` of the host
/// may reap them, and orphans of jobs that ended by themselves stay its children until they
/// end — and zombies after that until reaped: reap them
/// ([`SignalForwarder::install_reaping_orphans`](crate::SignalForwarder::install_reaping_orphans)),
/// or exit. Jobs spawned while it is on record the children this process
/// already has, and never touch them.
///
/// # Errors
/// `SpawnFailed` with the errno when `prctl` refuses; `Unsupported` off Linux.
///
/// # Platform-specific behavior
/// Linux 3.4+. The setting is not inherited by children and survives `execve`.
///
/// # References
/// prctl(2) `PR_SET_CHILD_SUBREAPER`.
pub fn set_child_subreaper(enabled: bool) -> Result<(), ProcessError> {
    sys::set_child_subreaper(enabled).map_err(|e| {
        ProcessError::from_io(
            "cannot change the child subreaper setting (prctl PR_SET_CHILD_SUBREAPER)",
            &e,
        )
    })
}

/// Whether this process is a child subreaper (`prctl(PR_GET_CHILD_SUBREAPER)`).
///
/// # Errors
/// `SpawnFailed` with the errno when `prctl` refuses; `Unsupported` off Linux.
pub fn is_child_subreaper() -> Result<bool, ProcessError> {
    sys::is_child_subreaper().map_err(|e| {
        ProcessError::from_io(
            "cannot read the child subreaper setting (prctl PR_GET_CHILD_SUBREAPER)",
            &e,
        )
    })
}

/// One process of a job found by a walk, held by its pidfd.
struct Member {
    pid: i32,
    fd: OwnedFd,
}

/// The tree of one spawned child: its root, the processes found so far, and what is needed
/// to attribute adopted orphans to it.
pub(crate) struct TreeState {
    root: Arc<sysproc::Spawned>,
    /// The group the child leads or joined.
    pgid: Option<i32>,
    /// Our children (pid, start time) just before the spawn, when we were a subreaper then;
    /// `None`: adopted orphans are never attributed to this job.
    baseline: Option<Vec<(i32, u64)>>,
    members: Vec<Member>,
}

/// Our children right now, with start times, when we are a child subreaper; `None` when we
/// are not (taken just before a spawn).
pub(crate) fn baseline() -> Option<Vec<(i32, u64)>> {
    if !sys::is_child_subreaper().unwrap_or(false) {
        return None;
    }
    Some(sysproc::current_children())
}

/// A node of the walk: the root, or a member by index.
#[derive(Clone, Copy)]
enum Node {
    Root,
    Member(usize),
}

impl TreeState {
    /// The tree of a child just spawned; `baseline` from [`baseline`] taken before the spawn.
    pub(crate) fn new(
        root: Arc<sysproc::Spawned>,
        pgid: Option<i32>,
        baseline: Option<Vec<(i32, u64)>>,
    ) -> TreeState {
        TreeState {
            root,
            pgid,
            baseline,
            members: Vec::new(),
        }
    }

    /// Whether the tree can be walked (the child has a pidfd).
    pub(crate) fn walkable(&self) -> bool {
        self.root.pidfd.is_some()
    }

    fn node(&self, n: Node) -> Option<(i32, BorrowedFd<'_>)> {
        match n {
            Node::Root => self
                .root
                .pidfd
                .as_ref()
                .map(|fd| (self.root.pid, fd.as_fd())),
            Node::Member(i) => self.members.get(i).map(|m| (m.pid, m.fd.as_fd())),
        }
    }

    /// Whether the root has not exited (still running or stopped).
    fn root_alive(&self) -> bool {
        match &self.root.pidfd {
            Some(fd) => !sys::pidfd_exited(fd.as_fd()),
            None => false,
        }
    }

    /// The group to signal along with the tree: the child's, unless it is our own, and only
    /// while it is certainly still the job's (the root has not exited, or a live member we
    /// hold is in it), so a recycled group id is never hit.
    fn group(&self) -> Option<i32> {
        let g = self.pgid?;
        if g <= 1 || g == sys::getpgrp() {
            return None;
        }
        if self.root_alive() {
            return Some(g);
        }
        self.members
            .iter()
            .any(|m| {
                let st = sys::stat(m.pid);
                !sys::pidfd_exited(m.fd.as_fd()) && st.is_some_and(|s| s.pgid == g)
            })
            .then_some(g)
    }

    /// Opens a pidfd for `pid` and keeps it when the process is a child of `parent`, or an
    /// orphan of the tree adopted by us (`parent` is then our own pid).
    fn open_member(&self, pid: i32, parent: i32) -> Option<Member> {
        // The pidfd first, then the checks: if the pid is recycled in between, the pidfd
        // names the old process, which has ended, so nothing we do through it reaches the
        // newcomer.
        let fd = sys::pidfd_open(pid).ok()?;
        let st = sys::stat(pid)?;
        let me = sys::getpid();
        if st.ppid == me {
            // Our own child: only an orphan reparented to us (not one of the children this
            // library created, which it tracks by pid) that we did not already have when
            // the job was spawned — and only when we were a subreaper then.
            let pre_existing = self
                .baseline
                .as_ref()
                .map_or(true, |b| b.contains(&(pid, st.starttime)));
            if sysproc::is_library_child(pid) || pre_existing || pid == self.root.pid {
                return None;
            }
        } else if st.ppid != parent {
            // Orphaned to someone else in the meantime, or a recycled pid: not ours to touch.
            return None;
        }
        Some(Member { pid, fd })
    }

    /// Walks the tree from the root and from every member already known, adding what is
    /// new. With `freeze`, every process is sent `SIGSTOP` before its children are listed
    /// (see the module docs). Members that no longer exist are dropped.
    fn collect(&mut self, freeze: bool) {
        if !self.walkable() {
            return;
        }
        let me = sys::getpid();
        self.members
            .retain(|m| sys::pidfd_signal(m.fd.as_fd(), 0).is_ok());
        let mut seen: HashSet<i32> = self.members.iter().map(|m| m.pid).collect();
        seen.insert(self.root.pid);
        let mut frontier: Vec<Node> = std::iter::once(Node::Root)
            .chain((0..self.members.len()).map(Node::Member))
            .collect();
        if freeze {
            if let Some(g) = self.group() {
                let _ = sysproc::kill_group(g, libc::SIGSTOP);
            }
        }
        let freeze_until = Deadline::after(FREEZE_WAIT);
        for _ in 0..MAX_DEPTH {
            if self.baseline.is_some() {
                for pid in sys::children(me) {
                    if !seen.insert(pid) {
                        continue;
                    }
                    if let Some(m) = self.open_member(pid, me) {
                        self.members.push(m);
                        frontier.push(Node::Member(self.members.len() - 1));
                    }
                }
            }
            if frontier.is_empty() {
                break;
            }
            if freeze {
                for &n in &frontier {
                    if let Some((_, fd)) = self.node(n) {
                        let _ = sys::pidfd_signal(fd, libc::SIGSTOP);
                    }
                }
                self.wait_stopped(&frontier, freeze_until);
            }
            let mut next = Vec::new();
            for n in std::mem::take(&mut frontier) {
                let Some((pid, fd)) = self.node(n) else {
                    continue;
                };
                // An exited process has no children (they were reparented at its exit); a
                // read not bracketed by "still alive" checks could be of a recycled pid.
                if sys::pidfd_exited(fd) {
                    continue;
                }
                let kids = sys::children(pid);
                if sys::pidfd_exited(fd) {
                    continue;
                }
                for c in kids {
                    if seen.insert(c) {
                        if let Some(m) = self.open_member(c, pid) {
                            self.members.push(m);
                            next.push(Node::Member(self.members.len() - 1));
                        }
                    }
                }
            }
            frontier = next;
        }
    }

    /// Waits until every node of `nodes` is stopped or has exited, or until `until`.
    fn wait_stopped(&self, nodes: &[Node], until: Deadline) {
        loop {
            let pending = nodes.iter().any(|&n| {
                let Some((pid, fd)) = self.node(n) else {
                    return false;
                };
                let state = sys::stat(pid).map(|s| s.state);
                if sys::pidfd_exited(fd) {
                    return false;
                }
                !matches!(state, Some('T' | 't' | 'Z' | 'X') | None)
            });
            if !pending || until.has_passed() {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Sends `sig` to the group and every live node; returns the pids of the nodes that
    /// were alive (not exited) when the signal was sent.
    fn signal_all(&self, sig: i32) -> Vec<i32> {
        let live: Vec<(i32, BorrowedFd<'_>)> = std::iter::once(Node::Root)
            .chain((0..self.members.len()).map(Node::Member))
            .filter_map(|n| self.node(n))
            .filter(|&(_, fd)| !sys::pidfd_exited(fd))
            .collect();
        if let Some(g) = self.group() {
            let _ = sysproc::kill_group(g, sig);
        }
        for &(_, fd) in &live {
            // ESRCH: it ended meanwhile (the group signal may have done it); EPERM: not ours
            // to signal. Either way there is nothing more to do for it.
            let _ = sys::pidfd_signal(fd, sig);
        }
        live.into_iter().map(|(pid, _)| pid).collect()
    }

    /// Reaps the members that have ended and are our children — orphans of the tree
    /// reparented to us, whether found among our children or under the root before their
    /// parent died — through their own pidfds; drops members that no longer exist. Members
    /// whose parent is another process are left to it.
    fn reap_ended(&mut self) {
        self.members.retain(|m| {
            if sys::pidfd_exited(m.fd.as_fd()) {
                // ECHILD: not our child (its parent, or init, reaps it).
                if let Ok(true) = sys::reap_pidfd(m.fd.as_fd()) {
                    return false;
                }
            }
            sys::pidfd_signal(m.fd.as_fd(), 0).is_ok()
        });
    }

    /// The pids of the tree that have not exited (root first when it is alive), after a walk
    /// that does not freeze; members that ended as our children are reaped.
    pub(crate) fn live(&mut self) -> Vec<i32> {
        self.collect(false);
        self.reap_ended();
        let mut out = Vec::new();
        if self.root_alive() {
            out.push(self.root.pid);
        }
        out.extend(
            self.members
                .iter()
                .filter(|m| !sys::pidfd_exited(m.fd.as_fd()))
                .map(|m| m.pid),
        );
        out
    }

    /// Sends `sig` to the whole tree (module docs); returns the pids signalled (the first
    /// round's, for `KILL`). The caller signals the root itself when the tree is not
    /// walkable.
    pub(crate) fn signal(&mut self, sig: Signal) -> Vec<i32> {
        let n = sig.number();
        let freeze = n != libc::SIGCONT;
        self.collect(freeze);
        let pids = self.signal_all(n);
        if n == libc::SIGKILL {
            self.finish_kill();
        } else if n != libc::SIGSTOP && n != libc::SIGCONT {
            self.signal_all(libc::SIGCONT);
        }
        self.reap_ended();
        pids
    }

    /// After a first `KILL`: repeat walk-and-`KILL` until nothing is left alive, then reap
    /// the members that ended as our children. Once every member has exited, each one's
    /// last parent is known (children are reparented before a parent's exit is visible on
    /// its pidfd), so nothing can become our zombie after this.
    fn finish_kill(&mut self) {
        let deadline = Deadline::after(Duration::from_secs(5));
        for _ in 0..KILL_ROUNDS {
            self.wait_all_exited(Deadline::after(Duration::from_millis(200)));
            self.reap_ended();
            self.collect(true);
            let alive = self.root_alive()
                || self
                    .members
                    .iter()
                    .any(|m| !sys::pidfd_exited(m.fd.as_fd()));
            if !alive {
                break;
            }
            self.signal_all(libc::SIGKILL);
            if deadline.has_passed() {
                break;
            }
        }
        // Adopted zombies left by the last round.
        self.wait_all_exited(deadline.min(Deadline::after(Duration::from_secs(1))));
        self.reap_ended();
    }

    /// Waits until the root and every member have exited, or until `until`.
    fn wait_all_exited(&self, until: Deadline) {
        loop {
            let alive = self.root_alive()
                || self
                    .members
                    .iter()
                    .any(|m| !sys::pidfd_exited(m.fd.as_fd()));
            if !alive || until.has_passed() {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
