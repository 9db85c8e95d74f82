//! The command to run and its environment (spec §2 `Command`, `StdioSpec`, `Environment`).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::signal::Signal;

/// What a child's standard stream is connected to (spec §2 `StdioSpec`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StdioSpec {
    /// The child shares the parent's descriptor.
    #[default]
    Inherit,
    /// `/dev/null`, opened read-only for stdin and write-only for stdout/stderr.
    Null,
    /// A pipe; the parent's end is kept by the capability, used by `collect_output`, or taken
    /// with `take_stdin` / `take_stdout` / `take_stderr`.
    Pipe,
    /// A file. For stdin it is opened read-only and must exist; for stdout/stderr it is
    /// created if missing (mode `0o666` less the umask) and truncated, like the shell's `>`.
    /// Opened in the parent, before any child exists, so a failure is an error of the spawn.
    ///
    /// A FIFO is opened without blocking: the spawn waits for its other end (a reader for
    /// stdout/stderr; for stdin, a writer that has written or come and gone) at most
    /// [`Command::stdio_open_timeout`], and stops waiting when [`Command::interrupt`] is
    /// triggered; see [`Command::stdio_open_timeout`] for the errors.
    File(PathBuf),
}

/// Environment variables (spec §2 `Environment`).
///
/// Two roles, one type:
/// - as the **base** environment passed to `spawn_process`: `Environment::default()` inherits
///   the parent's variables (read at spawn time), [`Environment::empty`] starts from nothing;
///   `set`/`remove` then edit that base;
/// - as [`Command::env`], the **per-command overrides** applied on top of the base; there
///   `clear()` means "ignore the base entirely".
///
/// Final environment of a child = base → command overrides → the policy's filtering
/// (spec §2; `docs/policy.md`, `[env]`). Keys and values are byte strings (`OsString`); they are
/// validated at spawn: a key must be non-empty and contain neither `=` nor NUL, a value must
/// not contain NUL (`InvalidCommand` otherwise).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    inherit: bool,
    vars: BTreeMap<OsString, Option<OsString>>,
}

impl Default for Environment {
    /// Inherit the parent's environment, no changes.
    fn default() -> Self {
        Environment {
            inherit: true,
            vars: BTreeMap::new(),
        }
    }
}

impl Environment {
    /// An environment with no variables at all (nothing inherited).
    pub fn empty() -> Self {
        Environment {
            inherit: false,
            vars: BTreeMap::new(),
        }
    }

    /// Sets `key` to `value` (replacing an inherited value).
    pub fn set(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> &mut Self {
        self.vars.insert(key.into(), Some(value.into()));
        self
    }

    /// Removes `key` (from the inherited variables too).
    pub fn remove(&mut self, key: impl Into<OsString>) -> &mut Self {
        self.vars.insert(key.into(), None);
        self
    }

    /// Drops everything inherited and every edit made so far.
    pub fn clear(&mut self) -> &mut Self {
        self.inherit = false;
        self.vars.clear();
        self
    }

    /// Whether the parent's (or the base's) variables are kept.
    pub fn inherits(&self) -> bool {
        self.inherit
    }

    /// The edits: `Some(value)` sets, `None` removes.
    pub fn edits(&self) -> impl Iterator<Item = (&OsStr, Option<&OsStr>)> {
        self.vars.iter().map(|(k, v)| (k.as_os_str(), v.as_deref()))
    }

    /// The edits as they are kept: `Some(value)` sets, `None` removes.
    pub(crate) fn edit_map(&self) -> &BTreeMap<OsString, Option<OsString>> {
        &self.vars
    }

    /// The final variables of a child: `base` (this value's variables, inheriting the
    /// parent's process environment when [`inherits`](Self::inherits)) then `overrides`.
    ///
    /// The parent's environment is read with `std::env::vars_os` at the time of the call.
    pub fn resolve(&self, overrides: &Environment) -> BTreeMap<OsString, OsString> {
        // Inherited variables: one bulk build (`collect` sorts once and builds the tree from
        // the sorted run, the last of equal keys winning, as with `insert`) instead of one
        // search and insert per variable; this map is built at every spawn.
        let mut out: BTreeMap<OsString, OsString> = if overrides.inherit && self.inherit {
            std::env::vars_os().collect()
        } else {
            BTreeMap::new()
        };
        if overrides.inherit {
            apply(&mut out, &self.vars);
        }
        apply(&mut out, &overrides.vars);
        out
    }
}

fn apply(out: &mut BTreeMap<OsString, OsString>, edits: &BTreeMap<OsString, Option<OsString>>) {
    for (k, v) in edits {
        match v {
            Some(v) => {
                out.insert(k.clone(), v.clone());
            }
            None => {
                out.remove(k);
            }
        }
    }
}

/// Which process group the child joins (spec §7, process groups and job control).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProcessGroup {
    /// Stay in the parent's process group (the library's default, like `std::process`).
    #[default]
    Inherit,
    /// Lead a new process group whose id is the child's pid (`setpgid(0, 0)`); the default of
    /// `reml-process run`. Signals for time limits then go to the whole group.
    New,
    /// Join the existing process group `pgid` (`setpgid(0, pgid)`); the group must be in the
    /// same session, else the spawn fails with `EPERM`.
    Join(i32),
}

/// How a child's signal dispositions start (`docs/command.md`).
///
/// Whatever the choice, a signal this process *handles* starts at its default in the child
/// (a handler's address means nothing after `execve`), and the child's signal mask starts
/// empty. The choice is about signals this process *ignores*, which `execve` would otherwise
/// pass on unchanged.
///
/// # Examples
/// ```
/// use reml_process::{Command, Signal, SignalDispositions};
/// let mut cmd = Command::new("job");
/// assert_eq!(cmd.signal_dispositions, SignalDispositions::KeepIgnoredExceptPipe);
/// cmd.signal_dispositions(SignalDispositions::Ignore(vec![Signal::HUP]));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SignalDispositions {
    /// The default, as in Rust's `std::process` and Python's `subprocess`: a signal ignored
    /// here stays ignored in the child (`nohup`'s `HUP` keeps protecting it), except
    /// `SIGPIPE`, which starts at its default. (The Rust runtime ignores `SIGPIPE` in every
    /// Rust program before `main`; passing that on would make a child such as `yes | head`
    /// see `EPIPE` errors instead of ending quietly.)
    #[default]
    KeepIgnoredExceptPipe,
    /// Every signal starts at its default, whatever this process ignores.
    ResetAll,
    /// Exactly these signals start ignored, every other one at its default. For a supervisor
    /// that passes on the dispositions its own caller gave it (`SIGPIPE` included, when the
    /// caller ignored it): `reml-process run` uses the signals
    /// [`crate::supervise::inherited_ignored_signals`] reports. `KILL` and `STOP` cannot be
    /// ignored and are left out.
    Ignore(Vec<crate::signal::Signal>),
}

/// A resource limit applied to the child before it execs (`setrlimit(2)`), set by the caller
/// or by the security policy's `[limits]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// `RLIMIT_CPU`, seconds of CPU time; the kernel sends `SIGXCPU` at the soft limit.
    CpuTime,
    /// `RLIMIT_AS`, bytes of virtual address space.
    AddressSpace,
    /// `RLIMIT_NOFILE`, number of open descriptors.
    OpenFiles,
    /// `RLIMIT_CORE`, bytes of core dump (0 disables core dumps).
    CoreDump,
    /// `RLIMIT_NPROC`, processes of the real user id.
    Processes,
    /// `RLIMIT_FSIZE`, bytes of the largest file the child may write.
    FileSize,
}

impl Resource {
    /// The `RLIMIT_*` name, e.g. `"RLIMIT_CPU"`.
    pub const fn name(self) -> &'static str {
        match self {
            Resource::CpuTime => "RLIMIT_CPU",
            Resource::AddressSpace => "RLIMIT_AS",
            Resource::OpenFiles => "RLIMIT_NOFILE",
            Resource::CoreDump => "RLIMIT_CORE",
            Resource::Processes => "RLIMIT_NPROC",
            Resource::FileSize => "RLIMIT_FSIZE",
        }
    }
}

/// The backends' raw name of each resource (they take no type of the shared code).
impl From<Resource> for crate::sys::spawn_types::RawResource {
    fn from(r: Resource) -> Self {
        use crate::sys::spawn_types::RawResource as R;
        match r {
            Resource::CpuTime => R::Cpu,
            Resource::AddressSpace => R::As,
            Resource::OpenFiles => R::Nofile,
            Resource::CoreDump => R::Core,
            Resource::Processes => R::Nproc,
            Resource::FileSize => R::Fsize,
        }
    }
}

/// One resource limit: soft (`cur`) and hard (`max`) values in the resource's unit; `None`
/// is `RLIM_INFINITY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    /// Which resource.
    pub resource: Resource,
    /// Soft limit.
    pub soft: Option<u64>,
    /// Hard limit.
    pub hard: Option<u64>,
}

/// One descriptor handed to the child (spec §7, shared-memory hand-off): the child's
/// descriptor `target` becomes a copy of `source`.
///
/// The source is shared (`Arc`), so a `Command` stays cheap to clone; it is never closed by
/// the spawn. Only the listed descriptors cross: everything else of ours stays close-on-exec.
#[derive(Clone, Debug)]
pub struct FdMapping {
    /// Our descriptor.
    pub source: Arc<OwnedFd>,
    /// Its number in the child (0‥ the child's `RLIMIT_NOFILE`).
    pub target: RawFd,
}

impl FdMapping {
    /// A mapping whose source is a duplicate (close-on-exec) of descriptor number `source`,
    /// which this process inherited — for `reml-process run --pass-fd SRC:DST`.
    ///
    /// # Errors
    /// `InvalidCommand` naming the number when it is not an open descriptor; `Unsupported`
    /// off Linux.
    pub fn from_inherited(source: RawFd, target: RawFd) -> Result<FdMapping, crate::ProcessError> {
        let fd = crate::sys::imp::process::dup_inherited_fd(source).map_err(|e| {
            if e.raw_os_error().is_none() && e.kind() == std::io::ErrorKind::Unsupported {
                return crate::ProcessError::from_io(format!("descriptor {source}"), &e);
            }
            crate::ProcessError::with_code(
                crate::ProcessErrorKind::InvalidCommand,
                format!(
                    "descriptor {source} is not open in this process: {}",
                    crate::error::errno_text(e.raw_os_error().unwrap_or(libc::EBADF))
                ),
                e.raw_os_error().unwrap_or(libc::EBADF),
            )
        })?;
        Ok(FdMapping {
            source: Arc::new(fd),
            target,
        })
    }
}

impl PartialEq for FdMapping {
    /// Same source descriptor number and same target.
    fn eq(&self, other: &Self) -> bool {
        self.source.as_raw_fd() == other.source.as_raw_fd() && self.target == other.target
    }
}

impl Eq for FdMapping {}

/// A command to spawn (spec §2 `Command`).
///
/// The spec's fields are public (`program`, `args`, `cwd`, `env`, `stdin`, `stdout`,
/// `stderr`); the extensions (process group, resource limits) have builder methods.
///
/// How `program` is resolved — once, in the parent, before any child exists — is
/// [`crate::resolve_program`]: a name with a `/` is a path (relative ones against the child's
/// cwd); a bare name is searched in the child's final `PATH`.
///
/// # Examples
/// ```
/// use reml_process::{Command, StdioSpec};
/// let mut cmd = Command::new("echo");
/// cmd.arg("hello").stdout(StdioSpec::Pipe);
/// assert_eq!(cmd.args, ["hello"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The program: a bare name (searched in `PATH`) or a path.
    pub program: PathBuf,
    /// The arguments, without `argv[0]` (which is `program` as given).
    pub args: Vec<OsString>,
    /// The child's working directory; `None` keeps the parent's.
    pub cwd: Option<PathBuf>,
    /// Per-command environment overrides, applied over the base [`Environment`].
    pub env: Environment,
    /// Standard input.
    pub stdin: StdioSpec,
    /// Standard output.
    pub stdout: StdioSpec,
    /// Standard error.
    pub stderr: StdioSpec,
    /// The process group the child joins.
    pub process_group: ProcessGroup,
    /// Job control (spec §7): the child makes its process group the foreground group of the
    /// terminal on its stdin before it execs. See [`Command::foreground`].
    pub foreground: bool,
    /// Resource limits set in the child before exec.
    pub rlimits: Vec<Rlimit>,
    /// Extra descriptors handed to the child (spec §7); needs `effect {memory}` and the
    /// policy's `pass_fds = true`.
    pub fd_mappings: Vec<FdMapping>,
    /// Which signals the child starts with ignored ([`SignalDispositions`]).
    pub signal_dispositions: SignalDispositions,
    /// The signal the child gets when the thread that spawned it ends; `None` (the default):
    /// none. See [`Command::parent_death_signal`].
    pub parent_death_signal: Option<crate::signal::Signal>,
    /// How long the spawn may wait for the other end of a FIFO named by a
    /// [`StdioSpec::File`]; `None`: as long as it takes. See
    /// [`Command::stdio_open_timeout`].
    pub stdio_open_timeout: Option<Duration>,
    /// Ends that wait early when triggered. See [`Command::interrupt`].
    pub interrupt: Option<Interrupt>,
}

impl Command {
    /// A command for `program` with no arguments, inheriting cwd, environment and stdio.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Command {
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            env: Environment::default(),
            stdin: StdioSpec::Inherit,
            stdout: StdioSpec::Inherit,
            stderr: StdioSpec::Inherit,
            process_group: ProcessGroup::Inherit,
            foreground: false,
            rlimits: Vec::new(),
            fd_mappings: Vec::new(),
            signal_dispositions: SignalDispositions::default(),
            parent_death_signal: None,
            stdio_open_timeout: None,
            interrupt: None,
        }
    }

    /// Appends one argument.
    pub fn arg(&mut self, arg: impl Into<OsString>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets the working directory.
    pub fn cwd(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Sets one environment variable for this command.
    pub fn env(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> &mut Self {
        self.env.set(key, value);
        self
    }

    /// Removes one environment variable for this command.
    pub fn env_remove(&mut self, key: impl Into<OsString>) -> &mut Self {
        self.env.remove(key);
        self
    }

    /// Starts this command from an empty environment (ignores the base).
    pub fn env_clear(&mut self) -> &mut Self {
        self.env.clear();
        self
    }

    /// Sets standard input.
    pub fn stdin(&mut self, spec: StdioSpec) -> &mut Self {
        self.stdin = spec;
        self
    }

    /// Sets standard output.
    pub fn stdout(&mut self, spec: StdioSpec) -> &mut Self {
        self.stdout = spec;
        self
    }

    /// Sets standard error.
    pub fn stderr(&mut self, spec: StdioSpec) -> &mut Self {
        self.stderr = spec;
        self
    }

    /// Sets the process group (spec §7).
    pub fn process_group(&mut self, group: ProcessGroup) -> &mut Self {
        self.process_group = group;
        self
    }

    /// Job control (spec §7): when `on`, the child gives its process group the terminal
    /// foreground (`tcsetpgrp` on its stdin, with `SIGTTOU` blocked) itself, just before it
    /// execs — as a job-control shell's child does — so a program that reads the terminal
    /// at once is never stopped by `SIGTTIN`.
    ///
    /// Only meaningful with [`ProcessGroup::New`] or [`ProcessGroup::Join`] and a stdin that
    /// is the caller's controlling terminal; otherwise the request fails silently in the
    /// child (`ENOTTY`, `EPERM`) and the spawn goes on. **The caller takes the terminal back
    /// afterwards**: [`crate::jobcontrol::TerminalGuard`] does it, and `run_process` does it
    /// when `RunOptions::job_control` is on (which sets this flag itself).
    pub fn foreground(&mut self, on: bool) -> &mut Self {
        self.foreground = on;
        self
    }

    /// Adds a resource limit (replacing an earlier one for the same resource), set in the
    /// child with `setrlimit(2)` before exec; `None` is `RLIM_INFINITY`.
    ///
    /// Applied as asked: a hard limit above the one the child inherits needs
    /// `CAP_SYS_RESOURCE` (and `RLIMIT_NOFILE` never goes above `/proc/sys/fs/nr_open`), so
    /// without it the spawn fails with the errno (`EPERM`, kind `PermissionDenied`; `EINVAL`
    /// for a soft limit above the hard one), naming the limit, the values asked and the hard
    /// limit there is. Under a policy, the stricter of this and the policy's limit applies;
    /// the policy's own is a ceiling that never makes a spawn fail.
    pub fn rlimit(
        &mut self,
        resource: Resource,
        soft: Option<u64>,
        hard: Option<u64>,
    ) -> &mut Self {
        self.rlimits.retain(|r| r.resource != resource);
        self.rlimits.push(Rlimit {
            resource,
            soft,
            hard,
        });
        self
    }

    /// Sets which signals the child starts with ignored ([`SignalDispositions`]; by default
    /// those ignored here, except `SIGPIPE`).
    pub fn signal_dispositions(&mut self, dispositions: SignalDispositions) -> &mut Self {
        self.signal_dispositions = dispositions;
        self
    }

    /// Asks the kernel to send `signal` to the child when its parent ends
    /// (`prctl(PR_SET_PDEATHSIG)`, set in the child before it execs), so a supervisor that is
    /// killed — even with `SIGKILL` — does not leave its job running without a limit.
    /// `reml-process run` sets it to its `--signal` (default `TERM`, as coreutils `timeout`
    /// does), so the child can clean up. Off by default.
    ///
    /// If this process has already ended by the time the child sets it up (a race the child
    /// checks with `getppid()` against our pid, recorded before the spawn), the child never
    /// execs the program: it ends itself with `signal` (or exits 128 + `signal` when that
    /// signal does not end a process).
    ///
    /// # Caveats
    /// - **The parent is the spawning thread, not the process**: the kernel sends the signal
    ///   when the *thread* that called `spawn_process` ends, even if the process lives on.
    ///   Spawn from a thread that lives as long as the child should be supervised (the main
    ///   thread, as `reml-process run` does), never from a short-lived worker thread.
    /// - The kernel clears the setting when the child execs a set-user-ID or set-group-ID
    ///   program, or one with file capabilities; and it is not inherited by the child's own
    ///   children (it is cleared in the child of a `fork`).
    /// - A child that ignores or handles `signal` runs on after it; what the child started in
    ///   the background is not signalled at all. Only whole-job isolation covers those: under
    ///   a policy with `isolation_level = "full_isolation"` the child is PID 1 of its own PID
    ///   namespace, the kernel would drop any other signal it does not handle, so the
    ///   parent-death signal is `KILL` whatever `signal` says, and the whole namespace ends
    ///   with the child (`docs/sandbox.md`).
    ///
    /// # Platform-specific behavior
    /// Linux only (other platforms do not spawn at all).
    ///
    /// # References
    /// prctl(2) `PR_SET_PDEATHSIG`.
    pub fn parent_death_signal(&mut self, signal: crate::signal::Signal) -> &mut Self {
        self.parent_death_signal = Some(signal);
        self
    }

    /// Hands `source` to the child as its descriptor `target` (spec §7).
    ///
    /// Conflicts (two sources for one target, a target of 0–2 whose stdio slot is not
    /// `Inherit`, a negative target or one at or above the child's `RLIMIT_NOFILE`) are
    /// refused by the spawn with `InvalidCommand`, before any child exists.
    pub fn pass_fd(&mut self, source: impl Into<Arc<OwnedFd>>, target: RawFd) -> &mut Self {
        self.fd_mappings.push(FdMapping {
            source: source.into(),
            target,
        });
        self
    }

    /// Bounds the wait of the spawn for the other end of a FIFO named by a
    /// [`StdioSpec::File`] (`docs/command.md`: nothing blocks outside the time limit);
    /// `None`, the default, waits as long as it takes. A limit too large to represent is no
    /// limit; `Duration::ZERO` does not wait. The security policy caps it with its
    /// `max_wall_time`, and `run_process` sets it to the run's time limit.
    ///
    /// # Errors (of the spawn)
    /// Nothing is started, and the files opened so far are closed:
    /// - `TimedOut` naming the stream and the file when the limit passes first;
    /// - `TerminatedBySignal` with the signal in `code` when [`interrupt`](Self::interrupt)
    ///   is triggered during the wait.
    ///
    /// # Platform-specific behavior
    /// The FIFO is opened with `O_NONBLOCK` (cleared before the child gets it): on the write
    /// side the open is retried while it fails with `ENXIO` (no reader yet), on the read
    /// side the descriptor is polled. Regular files, devices and the rest behave as with a
    /// blocking open.
    pub fn stdio_open_timeout(&mut self, limit: Option<Duration>) -> &mut Self {
        self.stdio_open_timeout = limit;
        self
    }

    /// Lets another thread end the spawn's wait for a FIFO's other end (see
    /// [`stdio_open_timeout`](Self::stdio_open_timeout)) by triggering `interrupt`:
    /// `reml-process run` triggers it with a signal it receives before its child exists.
    /// Checked at least every 50 ms during the wait; a spawn that does not wait ignores it.
    pub fn interrupt(&mut self, interrupt: Interrupt) -> &mut Self {
        self.interrupt = Some(interrupt);
        self
    }

    /// The command line as strings, `program` first, non-UTF-8 bytes replaced (for messages
    /// and audit records).
    pub fn command_line(&self) -> Vec<String> {
        std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    }
}

/// A flag that ends a spawn's wait for the other end of a FIFO ([`Command::interrupt`]),
/// set from any thread, carrying the signal that caused it.
///
/// Clones share the flag. Two interrupts are equal when they are clones of one another.
///
/// # Example
/// ```
/// use reml_process::{command::Interrupt, Signal};
/// let i = Interrupt::new();
/// let j = i.clone();
/// assert_eq!(i.triggered(), None);
/// j.trigger(Signal::TERM);
/// j.trigger(Signal::INT); // the first one is kept
/// assert_eq!(i.triggered(), Some(Signal::TERM));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Interrupt(Arc<AtomicI32>);

impl Interrupt {
    /// A flag not yet triggered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Triggers it with `signal` (the reason reported); a later trigger keeps the first
    /// signal.
    pub fn trigger(&self, signal: Signal) {
        let _ = self
            .0
            .compare_exchange(0, signal.number(), Ordering::AcqRel, Ordering::Acquire);
    }

    /// The signal it was triggered with, if it was.
    pub fn triggered(&self) -> Option<Signal> {
        match self.0.load(Ordering::Acquire) {
            0 => None,
            n => Signal::new(n).ok(),
        }
    }
}

impl PartialEq for Interrupt {
    /// The same flag (one is a clone of the other).
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Interrupt {}

/// Whether `s` contains a NUL byte.
pub(crate) fn has_nul(s: &OsStr) -> bool {
    s.as_bytes().contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_layering() {
        let mut base = Environment::empty();
        base.set("A", "1").set("B", "2");
        let mut over = Environment::default();
        over.set("B", "3").remove("A");
        let got = base.resolve(&over);
        assert_eq!(got.len(), 1);
        assert_eq!(got[OsStr::new("B")], "3");

        let mut cleared = Environment::default();
        cleared.clear();
        cleared.set("C", "4");
        let got = base.resolve(&cleared);
        assert_eq!(got.keys().collect::<Vec<_>>(), ["C"]);
    }

    #[test]
    fn inherit_reads_parent_env() {
        let got = Environment::default().resolve(&Environment::default());
        assert_eq!(
            got.get(OsStr::new("PATH")),
            std::env::var_os("PATH").as_ref()
        );
    }
}
