//! Turning a [`Command`] and its final environment into something the OS backend can exec:
//! validation of every string, resolution of the program, and the size limits of `execve`.
//!
//! Everything here happens in the parent, before any child exists, and has no side effect on
//! the file system (stdio files are opened later, by the backend, after the policy passed).

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::command::{has_nul, Command, Environment, ProcessGroup, Rlimit, StdioSpec};
use crate::error::ProcessError;
use crate::process::files::is_executable;
use crate::sys::spawn_types::CStrBlock;
use env_block::{block_var, entry_key, env_block, map_of, EnvSource};

/// The `PATH` used to resolve a bare program name when the child's final environment has no
/// `PATH` variable.
pub const DEFAULT_SEARCH_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Linux's limit on one argument or environment string, `MAX_ARG_STRLEN` (32 pages), bytes
/// including the terminating NUL.
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

/// Resolves `program` to the absolute path that will be executed (spec §2, our reading).
///
/// The rule, applied once, in the parent, before any child exists:
/// - **a name containing `/`** is a path: an absolute path is used as is; a relative one
///   (`./x`, `bin/x`, `../x`) is joined to the child's working directory `cwd` (the parent's
///   current directory when `cwd` is `None`). No `PATH` search.
/// - **a bare name** (`echo`) is searched in the child's final `PATH` (`path_var`, after the
///   base environment, the command's overrides and the policy's filtering), or in
///   [`DEFAULT_SEARCH_PATH`] when the child has no `PATH`. Entries are tried in order; empty and
///   relative entries are **skipped** (unlike `execvp`, which treats them as the current
///   directory: a security hazard). The first entry holding a *regular file* with an execute
///   bit wins; directories and other non-files of that name are skipped, as `execvp` skips
///   them. If only non-executable regular files are found, the result is `PermissionDenied`.
///
/// The returned path is absolute, with `.` components and repeated `/` removed, but **not**
/// canonicalised: `..` and symlinks are kept (removing `..` lexically is wrong past a
/// symlink), so the audit log (`subject`, `process.command`) and `run --json`'s `program`
/// show the path as found (`docs/command.md` `run` has the table). The child's `argv[0]` is
/// the program as given ([`Command::args`]). The security layer compares canonical paths
/// separately.
///
/// # Errors
/// - `InvalidCommand`: empty program, or a NUL byte in it;
/// - `SpawnFailed` with `ENOENT` (code 2): not found (message names the program and the
///   directories searched);
/// - `PermissionDenied` with `EACCES`: a directory given as the program ("is a directory"),
///   or a regular file with no execute permission for us ("not executable").
pub fn resolve_program(
    program: &Path,
    cwd: Option<&Path>,
    path_var: Option<&OsStr>,
) -> Result<PathBuf, ProcessError> {
    let bytes = program.as_os_str().as_bytes();
    if bytes.is_empty() {
        return Err(ProcessError::invalid("empty program name"));
    }
    if bytes.contains(&0) {
        return Err(ProcessError::invalid(format!(
            "program {:?} contains a NUL byte",
            program.as_os_str()
        )));
    }
    if bytes.contains(&b'/') {
        let full = if program.is_absolute() {
            program.to_path_buf()
        } else {
            let base = match cwd {
                Some(c) if c.is_absolute() => c.to_path_buf(),
                Some(c) => current_dir()?.join(c),
                None => current_dir()?,
            };
            base.join(program)
        };
        // Checked as written: `t/` or `t/.` names a directory, and `t` a file is refused
        // (ENOTDIR) as execve would refuse it.
        check_executable(&full, program)?;
        // `components()` drops `.` and repeated `/` (never `..`: through a symlink it is
        // not the lexical parent), so `./x` run in `/tmp` reads `/tmp/x`, not `/tmp/./x`.
        return Ok(full.components().collect());
    }
    let search = path_var
        .map(OsStr::to_os_string)
        .unwrap_or_else(|| OsString::from(DEFAULT_SEARCH_PATH));
    let mut denied: Option<PathBuf> = None;
    for dir in std::env::split_paths(&search) {
        if dir.as_os_str().is_empty() || !dir.is_absolute() {
            continue;
        }
        let candidate = dir.join(program);
        match std::fs::metadata(&candidate) {
            Ok(meta) if meta.is_file() => {
                // Cleaned as a path given with a `/` is (`/usr/./bin` → `/usr/bin`).
                if is_executable(&candidate, &meta) {
                    return Ok(candidate.components().collect());
                }
                denied.get_or_insert_with(|| candidate.components().collect());
            }
            _ => continue,
        }
    }
    match denied {
        Some(p) => Err(ProcessError::with_code(
            crate::ProcessErrorKind::PermissionDenied,
            format!(
                "{}: permission denied (not executable)",
                crate::error::os_text(&p)
            ),
            libc::EACCES,
        )),
        None => Err(ProcessError::with_code(
            crate::ProcessErrorKind::SpawnFailed,
            format!(
                "{}: program not found (searched PATH={})",
                crate::error::os_text(&program),
                crate::error::os_text(&search)
            ),
            libc::ENOENT,
        )),
    }
}

fn current_dir() -> Result<PathBuf, ProcessError> {
    std::env::current_dir().map_err(|e| {
        ProcessError::from_errno(
            "cannot read the current directory",
            e.raw_os_error().unwrap_or(libc::EIO),
        )
    })
}

fn check_executable(full: &Path, as_given: &Path) -> Result<(), ProcessError> {
    match std::fs::metadata(full) {
        Ok(meta) if meta.is_dir() => Err(ProcessError::with_code(
            crate::ProcessErrorKind::PermissionDenied,
            format!(
                "{}: permission denied (is a directory)",
                crate::error::os_text(&as_given)
            ),
            libc::EACCES,
        )),
        Ok(meta) if !meta.is_file() => Err(ProcessError::with_code(
            crate::ProcessErrorKind::PermissionDenied,
            format!(
                "{}: permission denied (not a regular file)",
                crate::error::os_text(&as_given)
            ),
            libc::EACCES,
        )),
        Ok(meta) if !is_executable(full, &meta) => Err(ProcessError::with_code(
            crate::ProcessErrorKind::PermissionDenied,
            format!(
                "{}: permission denied (not executable)",
                crate::error::os_text(&as_given)
            ),
            libc::EACCES,
        )),
        Ok(_) => Ok(()),
        Err(e) => {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            let mut err = ProcessError::from_errno(crate::error::os_text(&as_given), errno);
            if errno == libc::ENOENT {
                err.message = format!("{}: program not found", crate::error::os_text(&as_given));
            }
            Err(err)
        }
    }
}

/// A command checked and resolved, ready for the OS backend (and for the security layer to
/// inspect and restrict before that).
///
/// Built by [`PreparedCommand::new`]; every string is already NUL-free and converted to a
/// `CString`, the program is resolved to an absolute path, and the `execve` size limits hold.
///
/// Outside this crate it is read-only, except that a layer may **narrow** the environment
/// ([`remove_env`](Self::remove_env), [`retain_env`](Self::retain_env)): what a layer
/// inspects or records (program, arguments, environment, limits) is exactly what the backend
/// runs. (Public fields would let a layer change, say, the program a later layer records
/// while the child ran the one checked before.)
///
/// ```
/// use reml_process::{Command, Environment, PreparedCommand};
/// let env = Environment::default().resolve(&Environment::default());
/// let mut p = PreparedCommand::new(&Command::new("sh"), env).unwrap();
/// assert!(p.program().is_absolute());
/// p.retain_env(|k| k == "PATH");
/// assert!(p.env().keys().all(|k| k == "PATH"));
/// ```
///
/// ```compile_fail
/// use reml_process::{Command, Environment, PreparedCommand};
/// let env = Environment::default().resolve(&Environment::default());
/// let mut p = PreparedCommand::new(&Command::new("sh"), env).unwrap();
/// p.program = "/bin/false".into(); // private: what runs cannot drift from what is checked
/// ```
#[derive(Debug)]
pub struct PreparedCommand {
    pub(crate) command: Command,
    pub(crate) program: PathBuf,
    /// The child's environment as a map: given to [`new`](Self::new), or built from `envp`
    /// the first time a layer reads it ([`env`](Self::env)). A spawn that no layer looks at
    /// never builds it (`from_environment`).
    env: OnceLock<BTreeMap<OsString, OsString>>,
    pub(crate) argv: Vec<CString>,
    /// The child's environment as `execve` reads it. When the map exists, the block holds
    /// exactly its variables (see [`settle_envp`](Self::settle_envp)).
    pub(crate) envp: CStrBlock,
    pub(crate) program_c: CString,
    pub(crate) cwd_c: Option<CString>,
    pub(crate) rlimits: Vec<Rlimit>,
    /// A descriptor of the checked program file; when set, the backend execs this file
    /// (`execveat(fd, "", …, AT_EMPTY_PATH)`) instead of the path. Set by the security layer.
    pub(crate) exec_file: Option<std::os::fd::OwnedFd>,
    /// When set (by the security layer, for `#!` scripts): exec by path, but only if the
    /// file at the path still has this identity (device, inode), checked in the child right
    /// before `execve`. Scripts are not exec'd by descriptor because the kernel would hand
    /// the interpreter `/dev/fd/N` as the script's name (`$0`), which breaks wrapper scripts.
    pub(crate) exec_identity: Option<(u64, u64)>,
    /// The policy rule that allowed the program (`commands.rule[0].args[1]`), or the one
    /// that came closest when it was denied. Set by the security layer.
    pub(crate) policy_rule: Option<String>,
    /// The narrowed capability this spawn goes through (`core.process/job-1`), for the
    /// audit records. Set by the innermost narrowed capability's security layer.
    pub(crate) scope: Option<std::sync::Arc<str>>,
    /// Sandbox hook: the confinement the backend applies in the child (`docs/sandbox.md`).
    /// Set by the security layer from the policy's isolation level and `[sandbox]` table.
    pub(crate) sandbox: Option<crate::sandbox::SandboxRules>,
}

impl PreparedCommand {
    /// Validates `command` and resolves its program against the final environment `env`.
    ///
    /// # Errors
    /// `InvalidCommand` (no child exists yet in every case) for: a NUL byte in the program,
    /// an argument (named by index), the cwd, an env key or value; an empty env key or one
    /// containing `=`; a cwd that does not exist or is not a directory; a single string longer
    /// than [`MAX_ARG_STRLEN`]; arguments plus environment larger than the kernel's
    /// `ARG_MAX` (`sysconf(_SC_ARG_MAX)`, the limit is named). `File(path)` stdin that does
    /// not exist is `InvalidCommand` too. Resolution errors are those of [`resolve_program`].
    pub fn new(
        command: &Command,
        env: BTreeMap<OsString, OsString>,
    ) -> Result<PreparedCommand, ProcessError> {
        Self::assemble(command, EnvSource::Map(env))
    }

    /// Validates `command` and resolves its program against its final environment: `base`
    /// (the parent's environment when it [inherits](Environment::inherits), then its edits),
    /// then the command's own edits, keeping only the variables for which `keep` is true —
    /// the same variables as `new(command, base.resolve(&command.env))` after a `retain` of
    /// `keep`, and the same errors.
    ///
    /// Unlike `new`, it builds no map: the child's environment block is copied straight from
    /// this process's `environ` (as `std::process::Command` passes it on when nothing
    /// changes; one copy, no allocation per variable), less the edited and filtered names,
    /// plus the values set. The map is built from that block only if a layer asks for it
    /// ([`env`](Self::env)). Inherited entries are taken as `std::env::vars_os` takes them
    /// (a name ends at the first `=` after the first byte; an entry without one is skipped),
    /// and a name holding `=` (`=A=1`) is refused as `new` refuses it. Unlike the map, the
    /// block keeps a name the parent's environment holds twice (only a raw `execve` makes
    /// such an environment) twice, as std does; once a layer reads the map, the block is
    /// rebuilt from it before the spawn.
    pub(crate) fn from_environment(
        command: &Command,
        base: &Environment,
        keep: Option<&dyn Fn(&OsStr) -> bool>,
    ) -> Result<PreparedCommand, ProcessError> {
        Self::assemble(command, EnvSource::Environment { base, keep })
    }

    fn assemble(command: &Command, env: EnvSource<'_>) -> Result<PreparedCommand, ProcessError> {
        let program_os = command.program.as_os_str();
        if program_os.is_empty() {
            return Err(ProcessError::invalid("empty program name"));
        }
        if has_nul(program_os) {
            return Err(ProcessError::invalid(format!(
                "program {program_os:?} contains a NUL byte"
            )));
        }
        for (i, a) in command.args.iter().enumerate() {
            if has_nul(a) {
                return Err(ProcessError::invalid(format!(
                    "argument {} ({a:?}) contains a NUL byte",
                    i + 1
                )));
            }
        }
        if let Some(cwd) = &command.cwd {
            if has_nul(cwd.as_os_str()) {
                return Err(ProcessError::invalid(format!(
                    "working directory {:?} contains a NUL byte",
                    cwd.as_os_str()
                )));
            }
            match std::fs::metadata(cwd) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(ProcessError::with_code(
                        crate::ProcessErrorKind::InvalidCommand,
                        format!(
                            "working directory {}: not a directory",
                            crate::error::os_text(&cwd)
                        ),
                        libc::ENOTDIR,
                    ))
                }
                Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(libc::EIO);
                    return Err(ProcessError::with_code(
                        crate::ProcessErrorKind::InvalidCommand,
                        format!(
                            "working directory {}: {} (errno {errno})",
                            crate::error::os_text(&cwd),
                            crate::error::errno_text(errno)
                        ),
                        errno,
                    ));
                }
            }
        }
        for (k, v) in command.env.edits() {
            check_env_key(k)?;
            if let Some(v) = v {
                check_env_value(k, v)?;
            }
        }
        let (envp, env) = match env {
            EnvSource::Map(env) => {
                for (k, v) in &env {
                    check_env_key(k)?;
                    check_env_value(k, v)?;
                }
                (CStrBlock::from_env(&env), OnceLock::from(env))
            }
            EnvSource::Environment { base, keep } => {
                (env_block(base, &command.env, keep)?, OnceLock::new())
            }
        };
        if let StdioSpec::File(p) = &command.stdin {
            if has_nul(p.as_os_str()) {
                return Err(ProcessError::invalid(format!(
                    "stdin file {:?} contains a NUL byte",
                    p.as_os_str()
                )));
            }
            if let Err(e) = std::fs::metadata(p) {
                let errno = e.raw_os_error().unwrap_or(libc::EIO);
                return Err(ProcessError::with_code(
                    crate::ProcessErrorKind::InvalidCommand,
                    format!(
                        "stdin file {}: {} (errno {errno})",
                        crate::error::os_text(&p),
                        crate::error::errno_text(errno)
                    ),
                    errno,
                ));
            }
        }
        for spec in [&command.stdout, &command.stderr] {
            if let StdioSpec::File(p) = spec {
                if has_nul(p.as_os_str()) {
                    return Err(ProcessError::invalid(format!(
                        "output file {:?} contains a NUL byte",
                        p.as_os_str()
                    )));
                }
            }
        }
        check_fd_mappings(command)?;
        if let ProcessGroup::Join(pgid) = command.process_group {
            if pgid <= 0 {
                return Err(ProcessError::invalid(format!(
                    "process group {pgid} is not a valid group id (must be > 0)"
                )));
            }
        }

        let program = resolve_program(
            &command.program,
            command.cwd.as_deref(),
            block_var(&envp, b"PATH"),
        )?;

        let mut argv = Vec::with_capacity(command.args.len() + 1);
        argv.push(cstring(program_os, "program")?);
        for a in &command.args {
            argv.push(cstring(a, "argument")?);
        }
        check_exec_size(&argv, &envp)?;
        Ok(PreparedCommand {
            program_c: cstring(program.as_os_str(), "resolved program")?,
            cwd_c: command
                .cwd
                .as_ref()
                .map(|c| cstring(c.as_os_str(), "working directory"))
                .transpose()?,
            program,
            argv,
            envp,
            env,
            rlimits: command.rlimits.clone(),
            command: command.clone(),
            exec_file: None,
            exec_identity: None,
            policy_rule: None,
            scope: None,
            sandbox: None,
        })
    }

    /// The command as the caller gave it (its program before resolution, its arguments, cwd,
    /// stdio, environment edits, group and passed descriptors).
    pub fn command(&self) -> &Command {
        &self.command
    }

    /// The resolved absolute program path: what runs, and what is reported.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The final environment of the child, after base, overrides and any narrowing by a
    /// layer (`KEY → VALUE`, sorted by key).
    ///
    /// Built from the environment block on the first call when the command was prepared
    /// without a map (the usual spawn through a capability).
    pub fn env(&self) -> &BTreeMap<OsString, OsString> {
        self.env.get_or_init(|| map_of(&self.envp))
    }

    /// The environment block the backend hands to `execve`, made to hold exactly the map's
    /// variables if the map was built from a block that holds a name twice (see
    /// [`from_environment`](Self::from_environment)): what a layer read is what runs.
    pub(crate) fn settle_envp(&mut self) -> &CStrBlock {
        if let Some(map) = self.env.get() {
            if map.len() != self.envp.len() {
                self.envp = CStrBlock::from_env(map);
            }
        }
        &self.envp
    }

    /// The resource limits applied in the child before exec: the command's, then merged with
    /// the policy's by the security layer.
    pub fn rlimits(&self) -> &[Rlimit] {
        &self.rlimits
    }

    /// The descriptor of the checked program file the backend will exec instead of the path,
    /// when the security layer pinned one (binaries); `None` otherwise.
    pub fn exec_file(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        self.exec_file.as_ref().map(|f| f.as_fd())
    }

    /// The (device, inode) the file at [`program`](Self::program) must still have when the
    /// child execs it by path, when the security layer pinned one (`#!` scripts); `None`
    /// otherwise.
    pub fn exec_identity(&self) -> Option<(u64, u64)> {
        self.exec_identity
    }

    /// The command line as it will run: the resolved program, then the arguments (lossy
    /// UTF-8), for messages and audit records.
    pub fn command_line(&self) -> Vec<String> {
        std::iter::once(self.program.to_string_lossy().into_owned())
            .chain(
                self.command
                    .args
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned()),
            )
            .collect()
    }

    /// Removes `key` from the child's environment (used by the security layer).
    pub fn remove_env(&mut self, key: &OsStr) {
        self.retain_env(|k| k != key);
    }

    /// Keeps only the variables for which `keep(name)` is true (used by the security layer).
    /// `keep` is called once per variable (per entry of the block when no map was built).
    pub fn retain_env(&mut self, mut keep: impl FnMut(&OsStr) -> bool) {
        if let Some(map) = self.env.get_mut() {
            let before = map.len();
            map.retain(|k, _| keep(k));
            if map.len() != before || map.len() != self.envp.len() {
                self.envp = CStrBlock::from_env(map);
            }
            return;
        }
        // No map: filter the block itself; a new block only when something goes.
        let mut out: Option<CStrBlock> = None;
        for (i, s) in self.envp.strings().enumerate() {
            let kept = keep(entry_key(s));
            match &mut out {
                Some(o) if kept => o.push(&[s]),
                Some(_) => {}
                None if kept => {}
                None => {
                    let mut o = CStrBlock::with_capacity(self.envp_bytes(), self.envp.len());
                    for s in self.envp.strings().take(i) {
                        o.push(&[s]);
                    }
                    out = Some(o);
                }
            }
        }
        if let Some(o) = out {
            self.envp = o;
        }
    }

    fn envp_bytes(&self) -> usize {
        self.envp.lens().sum()
    }
}

/// The most descriptors one command may pass (the child arranges them without allocating).
pub const MAX_PASSED_FDS: usize = 60;

fn check_fd_mappings(command: &Command) -> Result<(), ProcessError> {
    let maps = &command.fd_mappings;
    if maps.is_empty() {
        // Nothing to check: skip the RLIMIT_NOFILE query (one system call per spawn).
        return Ok(());
    }
    if maps.len() > MAX_PASSED_FDS {
        return Err(ProcessError::invalid(format!(
            "{} descriptors to pass; at most {MAX_PASSED_FDS} per command",
            maps.len()
        )));
    }
    let nofile = crate::sys::imp::process::nofile_soft_limit();
    for (i, m) in maps.iter().enumerate() {
        let t = m.target;
        if t < 0 || (t as u64) >= nofile {
            return Err(ProcessError::invalid(format!(
                "descriptor target {t} is outside 0..{nofile} (the child's RLIMIT_NOFILE)"
            )));
        }
        if let Some(prev) = maps[..i].iter().find(|p| p.target == t) {
            return Err(ProcessError::invalid(format!(
                "descriptor target {t} is given twice (sources {} and {})",
                std::os::fd::AsRawFd::as_raw_fd(&*prev.source),
                std::os::fd::AsRawFd::as_raw_fd(&*m.source)
            )));
        }
        let slot = match t {
            0 => Some(("stdin", &command.stdin)),
            1 => Some(("stdout", &command.stdout)),
            2 => Some(("stderr", &command.stderr)),
            _ => None,
        };
        if let Some((name, spec)) = slot {
            if *spec != StdioSpec::Inherit {
                return Err(ProcessError::invalid(format!(
                    "descriptor target {t} conflicts with {name}, which is set to {spec:?}"
                )));
            }
        }
    }
    Ok(())
}

/// `s` as a C string. The strings given were checked for NUL bytes above with a precise
/// message; this refuses one all the same rather than assume it.
fn cstring(s: &OsStr, what: &str) -> Result<CString, ProcessError> {
    CString::new(s.as_bytes())
        .map_err(|_| ProcessError::invalid(format!("{what} {s:?} contains a NUL byte")))
}

fn check_env_key(k: &OsStr) -> Result<(), ProcessError> {
    let b = k.as_bytes();
    if b.is_empty() {
        return Err(ProcessError::invalid("empty environment variable name"));
    }
    if b.contains(&0) {
        return Err(ProcessError::invalid(format!(
            "environment variable name {k:?} contains a NUL byte"
        )));
    }
    if b.contains(&b'=') {
        return Err(ProcessError::invalid(format!(
            "environment variable name {k:?} contains `=`"
        )));
    }
    Ok(())
}

fn check_env_value(k: &OsStr, v: &OsStr) -> Result<(), ProcessError> {
    if has_nul(v) {
        return Err(ProcessError::invalid(format!(
            "value of environment variable {k:?} contains a NUL byte"
        )));
    }
    Ok(())
}

/// The least `ARG_MAX` of any Linux kernel, bytes (32 pages of 4 KiB).
const ARG_MAX_FLOOR: usize = 32 * 4096;

/// Checks the `execve` limits: each string below `MAX_ARG_STRLEN`, and all strings plus
/// their pointers below `ARG_MAX`.
fn check_exec_size(argv: &[CString], envp: &CStrBlock) -> Result<(), ProcessError> {
    let lists: [(&str, &mut dyn Iterator<Item = usize>); 2] = [
        (
            "argument",
            &mut argv.iter().map(|a| a.as_bytes_with_nul().len()),
        ),
        ("environment entry", &mut envp.lens()),
    ];
    let ptr = std::mem::size_of::<usize>();
    let mut total = 2 * ptr;
    for (what, lens) in lists {
        for (i, len) in lens.enumerate() {
            if len > MAX_ARG_STRLEN {
                return Err(ProcessError::with_code(
                    crate::ProcessErrorKind::InvalidCommand,
                    format!(
                        "{what} {i} is {len} bytes, above the kernel's limit for one string (MAX_ARG_STRLEN = {MAX_ARG_STRLEN} bytes)"
                    ),
                    libc::E2BIG,
                ));
            }
            total += len + ptr;
        }
    }
    // The kernel always accepts at least 32 pages (`ARG_MAX` = 128 KiB, the floor of
    // fs/exec.c's limit, whatever RLIMIT_STACK is): below that, skip the query
    // (`sysconf(_SC_ARG_MAX)` costs a `getrlimit` system call per spawn).
    if total <= ARG_MAX_FLOOR {
        return Ok(());
    }
    let arg_max = crate::sys::imp::arg_max();
    if total > arg_max {
        return Err(ProcessError::with_code(
            crate::ProcessErrorKind::InvalidCommand,
            format!(
                "arguments and environment take {total} bytes, above the kernel's limit (ARG_MAX = {arg_max} bytes)"
            ),
            libc::E2BIG,
        ));
    }
    Ok(())
}

mod env_block;
#[cfg(test)]
mod tests;
