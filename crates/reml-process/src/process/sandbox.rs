//! Isolation levels enforced on a child (`docs/sandbox.md`; contract "Isolation is enforced,
//! not declared").
//!
//! The security layer turns the policy's `capability.isolation_level` and `[sandbox]` table
//! into [`SandboxRules`] for each spawn; the native backend builds the Landlock ruleset from
//! them **in the parent** (`SandboxRules::build`) and hands the child only the ruleset
//! descriptor, which the child applies with `prctl(PR_SET_NO_NEW_PRIVS)` and
//! `landlock_restrict_self` just before exec.
//!
//! A level the running kernel cannot provide is refused (`PermissionDenied` naming what is
//! missing), never silently weakened. [`kernel_support`] tells what the kernel provides.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use crate::error::{ProcessError, ProcessErrorKind};
use crate::policy::IsolationLevel;
use crate::sys::spawn_types::RawIsolation;

/// The confinement of one child: the level and the paths and network it may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxRules {
    /// The level applied (`sandboxed` or `full_isolation`).
    pub level: IsolationLevel,
    /// Readable and executable trees.
    pub read: Vec<PathBuf>,
    /// Readable and writable trees.
    pub write: Vec<PathBuf>,
    /// TCP bind and connect allowed.
    pub network: bool,
}

/// What the running kernel provides for the isolation levels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelSupport {
    /// The Landlock ABI version, 0 when Landlock is missing or disabled.
    pub landlock_abi: i32,
    /// Why the namespaces of `full_isolation` (user, PID, mount, IPC, UTS, network) cannot be
    /// created by this caller, or `None` when they can.
    pub namespaces_missing: Option<String>,
}

impl KernelSupport {
    /// Why `level` (with `network` allowed or not) cannot be provided here, or `None` when
    /// it can. The text names the missing feature.
    pub fn missing_for(&self, level: IsolationLevel, network: bool) -> Option<String> {
        match level {
            IsolationLevel::None => None,
            IsolationLevel::Sandboxed => {
                if self.landlock_abi < 1 {
                    Some("Landlock is not available in this kernel (needs Linux 5.13+ with `landlock` in the LSM list)".to_owned())
                } else if !network && self.landlock_abi < 4 {
                    Some(format!(
                        "`[sandbox] network = false` needs Landlock ABI 4 (Linux 6.7+); this kernel has ABI {}",
                        self.landlock_abi
                    ))
                } else {
                    None
                }
            }
            IsolationLevel::FullIsolation => self
                .missing_for(IsolationLevel::Sandboxed, network)
                .or_else(|| self.namespaces_missing.clone()),
        }
    }

    /// `{"landlock_abi": N, "namespaces": true|false}` for `describe` (`namespaces`: whether
    /// `full_isolation`'s namespaces are available to this caller).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "landlock_abi": self.landlock_abi,
            "namespaces": self.namespaces_missing.is_none(),
        })
    }
}

/// What the running kernel provides (probed once, cached).
///
/// # Platform-specific behavior
/// Linux: the Landlock ABI from `landlock_create_ruleset(NULL, 0, VERSION)`; the namespaces
/// from `/proc/self/ns`, the limits in `/proc/sys/user` and, for a caller other than root, the
/// switches that forbid unprivileged user namespaces. Elsewhere (the `unsupported` backend):
/// ABI 0 and no namespaces, and a confining level is refused with `PermissionDenied`.
pub fn kernel_support() -> KernelSupport {
    KernelSupport {
        landlock_abi: crate::sys::imp::landlock::abi(),
        namespaces_missing: crate::sys::imp::namespace::missing(),
    }
}

impl SandboxRules {
    /// The rules of `policy` for a child, or `None` at level `none`.
    pub fn from_policy(policy: &crate::policy::Policy) -> Option<SandboxRules> {
        let level = policy.capability.isolation_level;
        if level == IsolationLevel::None {
            return None;
        }
        Some(SandboxRules {
            level,
            read: policy.sandbox.read_paths().to_vec(),
            write: policy.sandbox.write_paths().to_vec(),
            network: policy.sandbox.network_allowed(),
        })
    }

    /// `process.isolation` of `--json` and of the audit's `process.spawned`:
    /// `{"level": "sandboxed", "landlock_abi": 7}`.
    pub fn isolation_json(level: IsolationLevel) -> serde_json::Value {
        let abi = if level == IsolationLevel::None {
            serde_json::Value::Null
        } else {
            kernel_support().landlock_abi.into()
        };
        serde_json::json!({ "level": level.as_str(), "landlock_abi": abi })
    }

    /// Checks the kernel and that `program` lies under `read`, then builds the ruleset in
    /// the parent and, for `full_isolation`, what the child needs to enter its namespaces.
    ///
    /// # Errors
    /// `PermissionDenied` naming the missing kernel feature, or the program outside
    /// `[sandbox] read`; `PolicyViolation` for a `full_isolation` sandbox path below `/proc`
    /// (the child's `/proc` is its own: only `/proc` itself can be granted); `SpawnFailed`
    /// when a Landlock call fails otherwise.
    pub(crate) fn build(&self, program: &Path) -> Result<Confinement, ProcessError> {
        let shown = crate::error::os_text(program).to_string();
        if let Some(missing) = kernel_support().missing_for(self.level, self.network) {
            return Err(ProcessError::with_code(
                ProcessErrorKind::PermissionDenied,
                format!(
                    "{shown}: not started: isolation `{}` is unavailable: {missing}",
                    self.level
                ),
                libc::EPERM,
            ));
        }
        if !executable_under(program, &self.read, &self.write) {
            return Err(ProcessError::denied_by_policy(format!(
                "{shown}: denied by the policy: the program lies outside `[sandbox] read`, so the sandbox would not let it execute"
            )));
        }
        let proc_dir = Path::new("/proc");
        let full = self.level == IsolationLevel::FullIsolation;
        if full {
            if let Some(p) = first_below_proc(self.read.iter().chain(&self.write)) {
                return Err(ProcessError::denied_by_policy(format!(
                    "{shown}: denied by the policy: `[sandbox]` grants {}, below /proc; under `full_isolation` the child has its own /proc, so only `/proc` itself can be granted",
                    crate::error::os_text(p)
                )));
            }
        }
        use crate::sys::imp::landlock::{build_ruleset, directory_rights, RulesetError};
        let read: Vec<&Path> = self.read.iter().map(PathBuf::as_path).collect();
        let write: Vec<&Path> = self.write.iter().map(PathBuf::as_path).collect();
        let ruleset = build_ruleset(&read, &write, self.network).map_err(|e| match e {
            RulesetError::Missing(m) => ProcessError::with_code(
                ProcessErrorKind::PermissionDenied,
                format!(
                    "{shown}: not started: isolation `{}` is unavailable: {m}",
                    self.level
                ),
                libc::EPERM,
            ),
            RulesetError::Io(what, err) => ProcessError::from_errno(
                format!("{shown}: not started: cannot build the sandbox ({what}: {err})"),
                err.raw_os_error().unwrap_or(0),
            ),
        })?;
        let namespaces = full.then(|| {
            let grants = |roots: &[PathBuf]| roots.iter().any(|p| p.as_path() == proc_dir);
            let proc_rights = if grants(&self.write) {
                directory_rights(true)
            } else if grants(&self.read) {
                directory_rights(false)
            } else {
                0
            };
            RawIsolation::for_caller(proc_rights)
        });
        Ok(Confinement {
            ruleset,
            namespaces,
        })
    }
}

/// A built confinement for one spawn: the Landlock ruleset, and with `full_isolation` the
/// namespaces' set-up.
pub(crate) struct Confinement {
    /// The ruleset the child applies before exec.
    pub(crate) ruleset: OwnedFd,
    /// `full_isolation`: the child's uid/gid maps and its `/proc` rights.
    pub(crate) namespaces: Option<RawIsolation>,
}

/// Whether a confined child could execute `program`: it lies (both canonicalised where they
/// can be) under a `read` or a `write` tree. The one rule for the spawn's refusal
/// ([`SandboxRules`]' "outside `[sandbox] read`") and the review's
/// `policy.sandbox.program_outside`.
pub(crate) fn executable_under(program: &Path, read: &[PathBuf], write: &[PathBuf]) -> bool {
    let canonical = std::fs::canonicalize(program).unwrap_or_else(|_| program.to_owned());
    read.iter().chain(write).any(|r| {
        let r = std::fs::canonicalize(r).unwrap_or_else(|_| r.clone());
        canonical.starts_with(&r)
    })
}

/// The first of `paths` below `/proc` (`/proc` itself excepted): under `full_isolation` the
/// child's `/proc` is its own, so such a grant is refused at spawn and reported by the review
/// (`policy.sandbox.below_proc`).
pub(crate) fn first_below_proc<'a>(
    paths: impl IntoIterator<Item = &'a PathBuf>,
) -> Option<&'a Path> {
    let proc_dir = Path::new("/proc");
    paths
        .into_iter()
        .find(|p| p.starts_with(proc_dir) && p.as_path() != proc_dir)
        .map(PathBuf::as_path)
}
