//! The data the OS backends exchange with the shared code: what a spawn needs, how it can
//! fail, and what a wait reports. Shared by every backend, so they cannot drift apart.

use std::collections::BTreeMap;
use std::ffi::{c_int, CStr, CString, OsString};
use std::os::fd::{BorrowedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

/// The stage of child setup that failed, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// `clone` itself (in the parent).
    Clone,
    /// `setpgid` in the child.
    SetPgid,
    /// `prlimit64` in the child; the payload is the index into `rlimits`.
    Rlimit(usize),
    /// `chdir` in the child.
    Chdir,
    /// Arranging descriptor `dst` (`fcntl`/`dup2`) in the child.
    Fd(RawFd),
    /// `execve`/`execveat` in the child.
    Exec,
    /// The file at the path is no longer the one the policy checked (scripts).
    Identity,
    /// `prctl(PR_SET_PDEATHSIG)` in the child.
    ParentDeathSignal,
    /// `prctl(PR_SET_NO_NEW_PRIVS)` or `landlock_restrict_self` in the child (sandbox hook).
    Sandbox,
    /// Full isolation: creating or entering the namespaces; the payload is the backend's
    /// step number (`sys::imp::namespace::step_text` says it in words).
    Namespace(c_int),
}

/// A spawn failure: the stage and the errno.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SpawnError {
    pub stage: Stage,
    pub errno: i32,
}

/// Process group action in the child.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Pgroup {
    Inherit,
    New,
    Join(i32),
}

/// How the child sets up its signal dispositions before exec (from
/// `crate::command::SignalDispositions`). Handled signals always start at their default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RawDispositions {
    /// Ignored signals stay ignored, except `SIGPIPE`, which starts at its default.
    KeepIgnoredExceptPipe,
    /// Every signal starts at its default.
    ResetAll,
    /// Exactly the signals of this mask (bit `n - 1` for signal `n`) start ignored.
    Ignore(u64),
}

/// A resource of `setrlimit(2)`, as the backends name it (`RLIMIT_CPU`, …): the raw form of
/// `crate::command::Resource`, which converts into it at the call site (`From`), so the
/// backends take no type of the shared code. Each backend maps it to its own number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RawResource {
    /// `RLIMIT_CPU`.
    Cpu,
    /// `RLIMIT_AS`.
    As,
    /// `RLIMIT_NOFILE`.
    Nofile,
    /// `RLIMIT_CORE`.
    Core,
    /// `RLIMIT_NPROC`.
    Nproc,
    /// `RLIMIT_FSIZE`.
    Fsize,
}

/// One resource limit for the child: `RLIMIT_*` number, soft, hard (`RLIM_INFINITY` = none).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawRlimit {
    pub resource: c_int,
    pub soft: u64,
    pub hard: u64,
}

/// Everything the child needs, prepared in the parent.
pub(crate) struct SpawnSpec<'a> {
    pub program: &'a CStr,
    pub exec_fd: Option<BorrowedFd<'a>>,
    /// Exec by path only if the file there has this (device, inode), checked in the child
    /// just before `execve`.
    pub exec_identity: Option<(u64, u64)>,
    pub argv: &'a [CString],
    pub envp: &'a CStrBlock,
    pub cwd: Option<&'a CStr>,
    /// `(source, target)` descriptor pairs: the child's `target` becomes a copy of our
    /// `source`. Includes stdio (targets 0, 1, 2) when they are not inherited.
    pub fd_map: &'a [(RawFd, RawFd)],
    pub pgroup: Pgroup,
    pub rlimits: &'a [RawRlimit],
    /// Make the child's process group the foreground group of the terminal on its stdin
    /// (`TIOCSPGRP` in the child, before exec; errors ignored: stdin may be no terminal).
    pub foreground: bool,
    /// The child's signal dispositions at exec.
    pub dispositions: RawDispositions,
    /// `PR_SET_PDEATHSIG` for the child (0: none).
    pub parent_death_signal: c_int,
    /// Sandbox hook: a Landlock ruleset descriptor the child applies (with `no_new_privs`)
    /// before exec; -1 for none.
    pub landlock_fd: c_int,
    /// Full isolation: new namespaces for the child (`None`: the caller's).
    pub isolation: Option<&'a RawIsolation>,
}

/// What a fully isolated child needs, prepared in the parent (`docs/sandbox.md`).
#[derive(Clone, Debug)]
pub(crate) struct RawIsolation {
    /// The child's `uid_map`: the caller's effective uid mapped onto itself (`"U U 1"`).
    pub uid_map: CString,
    /// The child's `gid_map`: the caller's effective gid mapped onto itself.
    pub gid_map: CString,
    /// Landlock rights for the child's own `/proc` (0: none).
    pub proc_rights: u64,
}

impl RawIsolation {
    /// Maps for the calling process's effective uid and gid, and `proc_rights` for the
    /// child's `/proc`.
    pub(crate) fn for_caller(proc_rights: u64) -> RawIsolation {
        let line =
            |id: u32| CString::new(format!("{id} {id} 1")).expect("digits and spaces hold no NUL");
        RawIsolation {
            uid_map: line(rustix::process::geteuid().as_raw()),
            gid_map: line(rustix::process::getegid().as_raw()),
            proc_rights,
        }
    }
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Termination {
    Exited(i32),
    Signaled { signal: i32, core_dumped: bool },
}

/// What `waitid` reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitEvent {
    Ended(Termination),
    Stopped(i32),
    Continued,
}

/// NUL-terminated strings packed in one buffer: the child's environment as `execve` reads
/// it, built with one allocation instead of one `CString` per variable (spawn cost).
///
/// Invariant (relied on by the OS backend's `execve`): every string ends at `ends[i] - 1`
/// with its only NUL byte. Only [`CStrBlock::from_env`] and [`CStrBlock::push`] fill the fields. Built by `crate::prepare` from the
/// checked environment; a raw value of the backend, like the rest of [`SpawnSpec`].
#[derive(Clone, Debug, Default)]
pub(crate) struct CStrBlock {
    bytes: Vec<u8>,
    /// Offset just past each string's NUL.
    ends: Vec<usize>,
}

impl CStrBlock {
    /// `KEY=VALUE` for each variable; keys and values are already validated (no NUL).
    pub(crate) fn from_env(env: &BTreeMap<OsString, OsString>) -> CStrBlock {
        let size = env.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        let mut bytes = Vec::with_capacity(size);
        let mut ends = Vec::with_capacity(env.len());
        for (k, v) in env {
            bytes.extend_from_slice(k.as_bytes());
            bytes.push(b'=');
            bytes.extend_from_slice(v.as_bytes());
            bytes.push(0);
            ends.push(bytes.len());
        }
        CStrBlock { bytes, ends }
    }

    /// An empty block with room for `bytes` bytes of strings (NULs included) and `n` strings.
    pub(crate) fn with_capacity(bytes: usize, n: usize) -> CStrBlock {
        CStrBlock {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(n),
        }
    }

    /// Appends one string made of `parts` (e.g. `[key, b"=", value]`) and its NUL. The parts
    /// must hold no NUL (checked in debug builds); the caller validated them.
    pub(crate) fn push(&mut self, parts: &[&[u8]]) {
        for p in parts {
            debug_assert!(!p.contains(&0));
            self.bytes.extend_from_slice(p);
        }
        self.bytes.push(0);
        self.ends.push(self.bytes.len());
    }

    /// How many strings it holds.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Each string without its NUL, in order.
    pub(crate) fn strings(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.slices().map(|s| &s[..s.len() - 1])
    }

    /// Each string with its NUL, in order. Not re-checked: `from_env` and `push` build every
    /// one from validated parts (no NUL inside), so each ends at its only NUL.
    fn slices(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let s = &self.bytes[start..end];
            debug_assert_eq!(s.iter().position(|&b| b == 0), Some(s.len() - 1));
            start = end;
            s
        })
    }

    /// A pointer to each string, in order — what `execve` reads as `envp` (the caller adds
    /// the terminating null pointer). Valid while `self` lives unchanged.
    pub(crate) fn ptrs(&self) -> impl Iterator<Item = *const std::ffi::c_char> + '_ {
        self.slices().map(|s| s.as_ptr().cast())
    }

    /// Each string's length in bytes, its NUL included, in order.
    pub(crate) fn lens(&self) -> impl Iterator<Item = usize> + '_ {
        self.slices().map(<[u8]>::len)
    }
}

/// One signal read from a signalfd (`sys/*/signals.rs` `read_signal`): its number, and for
/// `SIGCHLD` the child and what happened to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Received {
    /// The signal number.
    pub signo: i32,
    /// The sending process (for `SIGCHLD`: the child).
    pub pid: i32,
    /// `si_code` (for `SIGCHLD`: `CLD_EXITED`, `CLD_KILLED`, `CLD_DUMPED`, `CLD_STOPPED`, …).
    pub code: i32,
}

impl Received {
    /// Whether this is the `SIGCHLD` of a child's end (exited, killed or dumped core; not a
    /// stop or a continue).
    pub(crate) fn is_child_end(&self) -> bool {
        self.signo == libc::SIGCHLD
            && matches!(
                self.code,
                libc::CLD_EXITED | libc::CLD_KILLED | libc::CLD_DUMPED
            )
    }
}
