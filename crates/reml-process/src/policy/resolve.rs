//! Resolving `[commands] allow` entries to the files they stand for (`docs/policy.md`, "How
//! the allow-list matches": an allowed entry is compared by its canonical path, symlinks
//! resolved, and its identity).
//!
//! # The resolution rule
//! - An **absolute entry** (`/usr/bin/git`) is canonicalised with `realpath(3)`
//!   ([`std::fs::canonicalize`]): every symlink along the path and at its end is resolved,
//!   `.` and `..` are removed.
//! - A **bare name** (`python3`) is looked up in the policy's `search_path`, in order: the
//!   result is the first `DIR/NAME` that exists and is a regular file (after following
//!   symlinks) that is executable (see below), canonicalised. A `DIR/NAME` that exists but is
//!   a directory or not executable is skipped, as `execvp(3)` skips it. Relative directories
//!   in `search_path` are ignored (parsing refuses them; this only matters for policies
//!   built in code). The environment's `PATH` is never consulted.
//! - **Executable** means: at least one execute bit in the mode (`st_mode & 0o111`) *and*
//!   `faccessat(AT_FDCWD, path, X_OK, AT_EACCESS)` succeeds for our effective ids (for root
//!   that is true as soon as one execute bit is set; for others the owner/group/other bits
//!   apply; a file on a `noexec` mount is refused for everyone).
//!
//! The identity of a resolved file is its [`FileId`] (`st_dev`, `st_ino`) taken from the
//! canonical path. An entry resolves to at most one file; two entries may resolve to the
//! same file.
//!
//! # Caveats
//! Resolution reads the file system at the time it is called. If a file is replaced
//! afterwards (a package upgrade, or an attacker with write access to a directory above it,
//! which the review reports as an error), its canonical path may stay the same while its
//! [`FileId`] changes; [`AllowedPrograms::check`] requires both to match, so a replaced file
//! is refused until the policy is resolved (and reviewed) again.

use std::fmt;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::types::AllowEntry;
use crate::process::files::is_executable;

/// The identity of a file: its device and inode numbers (`st_dev`, `st_ino` of `stat(2)`).
///
/// Two paths with the same `FileId` name the same file for as long as it exists; a file
/// replaced by rename gets a new inode and so a new `FileId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FileId {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
}

impl FileId {
    /// The identity recorded in `metadata` (from `stat`, `lstat` or `fstat`).
    pub fn of_metadata(metadata: &std::fs::Metadata) -> FileId {
        FileId {
            dev: metadata.dev(),
            ino: metadata.ino(),
        }
    }

    /// `stat(2)` of `path`, following symlinks.
    ///
    /// # Errors
    /// The `io::Error` of `stat` (`NotFound`, permission denied, …).
    pub fn of_path(path: &Path) -> io::Result<FileId> {
        std::fs::metadata(path).map(|m| FileId::of_metadata(&m))
    }
}

impl fmt::Display for FileId {
    /// `dev:ino`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.dev, self.ino)
    }
}

/// One allow entry resolved to a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedProgram {
    /// The entry as written in the policy.
    pub entry: AllowEntry,
    /// The path the entry was found at before canonicalisation: the entry's own path, or
    /// `DIR/NAME` for a bare name found in `search_path` directory `DIR`.
    pub found_at: PathBuf,
    /// The canonical path (absolute, no symlink, no `.` or `..`).
    pub path: PathBuf,
    /// The file's identity at resolution time.
    pub id: FileId,
}

/// Why an allow entry did not resolve to a runnable file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResolveErrorKind {
    /// No such file (absolute entry), or no `search_path` directory holds the name.
    NotFound,
    /// The entry names something that is not a regular file (a directory, a device, …).
    NotRegularFile,
    /// A regular file without an execute bit, or one `faccessat(X_OK)` refuses.
    NotExecutable,
    /// Another OS error (permission denied on a directory, a symlink loop, …).
    Io,
}

/// An allow entry that did not resolve, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolveError {
    /// The entry as written.
    pub entry: AllowEntry,
    /// Why.
    pub kind: ResolveErrorKind,
    /// The path concerned (the entry's path or the `search_path` candidate), when there is
    /// one.
    pub path: Option<PathBuf>,
    /// The errno for [`ResolveErrorKind::Io`] and `NotFound` errors reported by the OS.
    pub errno: Option<i32>,
    /// One line naming the entry and the reason.
    pub message: String,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ResolveError {}

/// The allow-list resolved to files: what the enforcement layer compares a program against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedPrograms {
    programs: Vec<AllowedProgram>,
    errors: Vec<ResolveError>,
}

impl AllowedPrograms {
    /// The entries that resolved, in policy order.
    pub fn programs(&self) -> &[AllowedProgram] {
        &self.programs
    }

    /// The entries that did not resolve (they allow nothing), in policy order.
    pub fn errors(&self) -> &[ResolveError] {
        &self.errors
    }

    /// Whether no entry resolved: then no program at all may run.
    pub fn is_empty(&self) -> bool {
        self.programs.is_empty()
    }

    /// The allowed program whose canonical path is `canonical` **and** whose identity is
    /// `id`, if any. This is the check to apply before exec: `canonical` is the program's
    /// path resolved exactly as it will be executed, and `id` the `FileId` of the very file
    /// that will be executed (ideally from `fstat` of the descriptor that is then passed to
    /// `execveat`/`fexecve`).
    ///
    /// A match of the path alone means the file was replaced since resolution and is refused.
    pub fn check(&self, canonical: &Path, id: FileId) -> Option<&AllowedProgram> {
        self.programs
            .iter()
            .find(|p| p.id == id && p.path == canonical)
    }

    /// The allowed program with canonical path `canonical` (whatever its identity now).
    pub fn find_by_path(&self, canonical: &Path) -> Option<&AllowedProgram> {
        self.programs.iter().find(|p| p.path == canonical)
    }

    /// The allowed program with identity `id` (whatever path it was reached by).
    pub fn find_by_id(&self, id: FileId) -> Option<&AllowedProgram> {
        self.programs.iter().find(|p| p.id == id)
    }
}

fn errno_message(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => format!("{} (errno {n})", crate::error::errno_text(n)),
        None => e.to_string(),
    }
}

/// Checks that `found_at` is a regular executable file and canonicalises it.
fn check_file(entry: &AllowEntry, found_at: &Path) -> Result<AllowedProgram, ResolveError> {
    let fail = |kind, errno: Option<i32>, message: String| ResolveError {
        entry: entry.clone(),
        kind,
        path: Some(found_at.to_owned()),
        errno,
        message,
    };
    let os_fail = |e: io::Error| {
        let kind = if e.kind() == io::ErrorKind::NotFound {
            ResolveErrorKind::NotFound
        } else {
            ResolveErrorKind::Io
        };
        let what = if kind == ResolveErrorKind::NotFound {
            "does not exist".to_owned()
        } else {
            format!("cannot be resolved: {}", errno_message(&e))
        };
        fail(
            kind,
            e.raw_os_error(),
            format!("allowed program `{entry}`: {} {what}", found_at.display()),
        )
    };
    let canonical = std::fs::canonicalize(found_at).map_err(os_fail)?;
    let meta = std::fs::metadata(&canonical).map_err(os_fail)?;
    if !meta.is_file() {
        return Err(fail(
            ResolveErrorKind::NotRegularFile,
            None,
            format!(
                "allowed program `{entry}`: {} is not a regular file ({})",
                canonical.display(),
                crate::process::files::file_type_name(&meta)
            ),
        ));
    }
    if !is_executable(&canonical, &meta) {
        let why = if meta.permissions().mode() & 0o111 == 0 {
            format!(
                "mode {:04o} has no execute bit",
                meta.permissions().mode() & 0o7777
            )
        } else {
            "faccessat(X_OK) refuses it (not for our user, or a noexec mount)".to_owned()
        };
        return Err(fail(
            ResolveErrorKind::NotExecutable,
            None,
            format!(
                "allowed program `{entry}`: {} is not executable: {why}",
                canonical.display()
            ),
        ));
    }
    Ok(AllowedProgram {
        entry: entry.clone(),
        found_at: found_at.to_owned(),
        path: canonical,
        id: FileId::of_metadata(&meta),
    })
}

/// Resolves one entry by the rule in the module docs.
pub(crate) fn resolve_entry(
    entry: &AllowEntry,
    search_path: &[PathBuf],
) -> Result<AllowedProgram, ResolveError> {
    match entry {
        AllowEntry::Path(p) => check_file(entry, p),
        AllowEntry::Name(name) => {
            let mut first_problem: Option<ResolveError> = None;
            for dir in search_path.iter().filter(|d| d.is_absolute()) {
                let candidate = dir.join(name);
                match check_file(entry, &candidate) {
                    Ok(p) => return Ok(p),
                    Err(e) if e.kind == ResolveErrorKind::NotFound => {}
                    Err(e) => {
                        first_problem.get_or_insert(e);
                    }
                }
            }
            Err(first_problem.unwrap_or_else(|| {
                let dirs: Vec<String> = search_path
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect();
                ResolveError {
                    entry: entry.clone(),
                    kind: ResolveErrorKind::NotFound,
                    path: None,
                    errno: None,
                    message: format!(
                        "allowed program `{name}` is not in any search_path directory ({})",
                        if dirs.is_empty() {
                            "search_path is empty".to_owned()
                        } else {
                            dirs.join(", ")
                        }
                    ),
                }
            }))
        }
    }
}

/// Resolves every entry.
pub(crate) fn resolve_all(entries: &[AllowEntry], search_path: &[PathBuf]) -> AllowedPrograms {
    let mut out = AllowedPrograms::default();
    for e in entries {
        match resolve_entry(e, search_path) {
            Ok(p) => out.programs.push(p),
            Err(err) => out.errors.push(err),
        }
    }
    out
}
