//! The security policy of `core.process` (`docs/policy.md`) and its
//! installation review (`verify_capability_security`, spec §6; see [`review`]).
//!
//! A [`Policy`] is read from a TOML file with [`Policy::from_path`] or
//! [`Policy::from_toml_str`]; every value is validated and typed while it is read. This
//! module only *describes* what is allowed: the enforcement layer, wrapped around the native
//! backend, applies it on every call using the accessors below (programs by
//! [`Policy::resolve_allowed`], environment by [`Policy::env_passes`], working directories by
//! [`Policy::allowed_cwd_roots`], signals by [`Policy::is_signal_allowed`], child rlimits by
//! [`Policy::child_rlimits`], effects by [`Policy::effect_scope`]).
//!
//! # Strict parsing
//! Every section and key of `docs/policy.md` is known; anything else is an error, as is a
//! value of the wrong type or an invalid value. A typo can therefore never weaken a policy:
//! `[limit]`, `max_proceses = 1` or `effect_scope = ["proces"]` are refused, not ignored.
//! Each [`PolicyError`] names the dotted key (`limits.max_wall_time`,
//! `commands.allowed_signals[2]`), the line and the column.
//!
//! # Keys, types, and what an absent key means
//! Every key is optional except `[commands] allow`. An absent key puts no restriction of its
//! own, except where the table says otherwise.
//!
//! | key | type | absent |
//! | --- | --- | --- |
//! | `capability.stage` | `experimental` \| `beta` \| `stable` ([`StageId`]) | `beta` |
//! | `capability.effect_scope` | array of effect tags ([`EffectSet`]) | all effects the plugin produces, [`PLUGIN_EFFECTS`] (the review warns: `policy.effect_scope.absent`) |
//! | `capability.audit_required` | bool | `false` |
//! | `capability.isolation_level` | `none` \| `sandboxed` \| `full_isolation` ([`IsolationLevel`]) | `none` |
//! | `sandbox.read` | array of absolute paths: readable and executable under `sandboxed` (`docs/sandbox.md`) | nothing |
//! | `sandbox.write` | array of absolute paths: readable and writable under `sandboxed` | nothing |
//! | `sandbox.network` | bool: TCP bind/connect under `sandboxed` | `false` |
//! | `commands.allow` | array of absolute paths or bare names ([`AllowEntry`]) | **required**; `[]` allows no program |
//! | `commands.search_path` | array of absolute directories | [`DEFAULT_SEARCH_PATH`] (never the environment's `PATH`) |
//! | `commands.allowed_cwd` | non-empty array of absolute directories | any cwd |
//! | `commands.allowed_signals` | array of signal names or numbers ([`Signal`]) | any signal; `[]` allows none |
//! | `commands.pass_fds` | bool | `false` |
//! | `env.inherit` | bool | `true` |
//! | `env.deny` | array of variable names | none denied |
//! | `env.allow` | array of variable names | `[]`: every name not denied passes |
//! | `limits.max_processes`, `max_threads`, `open_files` | non-negative integer | no limit |
//! | `limits.max_wall_time`, `cpu_time` | duration string (`"10m"`, `"250ms"`) or number of seconds | no limit |
//! | `limits.max_output_bytes`, `address_space` | size string (`"16MiB"`) or number of bytes | no limit |
//! | `limits.core_dump` | bool | the inherited `RLIMIT_CORE` |
//! | `limits.allowed_cpus` | cpulist string (`"0-3,8"`) or non-empty array of ids (a [`CpuSet`](crate::thread::CpuSet), ids 0 to [`MAX_POLICY_CPU`]) | any CPU |
//! | `limits.max_thread_priority` | `low` \| `normal` \| `high` \| `realtime` ([`ThreadPriority`](crate::thread::ThreadPriority)) | no ceiling |
//! | `limits.output_cap_action` | `truncate` \| `kill` ([`OutputCapAction`]) | `truncate` |
//! | `audit.redact` | array of `*` patterns ([`RedactPattern`]) | nothing redacted |
//!
//! Negative numbers are parse errors, not review warnings: they cannot be represented.
//! Zero and other nonsensical limits parse and are reported by the review. Durations and
//! sizes too large to represent saturate (no practical limit; a float `inf` too), and a
//! positive duration below 1 ns is 1 ns ([`crate::units`]).
//!
//! # Resolving the allow-list
//! An entry stands for the file it resolves to ([`Policy::resolve_allowed`]); a program is
//! compared by canonical path *and* identity ([`AllowedPrograms::check`]):
//! - an **absolute entry** (`/usr/bin/git`) is canonicalised with `realpath(3)`: every
//!   symlink along the path and at its end is resolved, `.` and `..` removed;
//! - a **bare name** (`python3`) is looked up in `search_path`, in order: the result is the
//!   first `DIR/NAME` that is a regular file (after following symlinks) and executable,
//!   canonicalised. A `DIR/NAME` that is a directory or not executable is skipped, as
//!   `execvp(3)` skips it. The environment's `PATH` is never consulted;
//! - **executable** means an execute bit in the mode (`st_mode & 0o111`) *and*
//!   `faccessat(X_OK, AT_EACCESS)` succeeding for our effective ids. For root that call
//!   succeeds as soon as any one execute bit is set (so the mode test states the rule
//!   explicitly rather than adding to it); for other users it applies the owner, group and
//!   other bits; for everyone it refuses a file on a `noexec` mount;
//! - the identity is the [`FileId`] (`st_dev`, `st_ino`) of the canonical path at resolution
//!   time. A file replaced later keeps its path but not its identity, and is refused by
//!   [`AllowedPrograms::check`] until the policy is resolved and reviewed again.
//!
//! So a symlink elsewhere *to* an allowed binary is the same program, and a symlink *named*
//! like an allowed binary but pointing elsewhere is not (`docs/policy.md`).
//!
//! # The built-in default policy
//! See [`Policy::default_for_program`].
//!
//! # Platform-specific behavior
//! Program resolution and the review use Unix file metadata (mode bits, owner, device and
//! inode); this module builds on Unix only, like the rest of the crate.

pub mod args;
mod de;
mod decision;
mod error;
pub mod guard;
mod load;
mod narrow;
pub mod narrowed;
mod pin;
mod resolve;
pub mod review;
mod review_rules;
mod rules;
mod rules_de;
mod sandbox;
pub mod supervisor;
mod types;

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use args::{ArgPattern, ArgPatternError};
pub use decision::CommandCheck;
pub use error::{Location, PolicyError, PolicyErrorKind};
pub use guard::PolicyLayer;
pub use narrowed::NarrowedCapability;
pub use pin::{ContentPin, DigestCache};
pub use resolve::{AllowedProgram, AllowedPrograms, FileId, ResolveError, ResolveErrorKind};
pub use review::{verify_capability_security, Finding, Review};
pub use rules::{CommandRule, Denial, Grant, ResolvedPrograms};
pub use sandbox::SandboxSection;
pub use types::{
    cpu_list_from_ids, parse_cpu_list, AllowEntry, IsolationLevel, OutputCapAction,
    PriorityCeiling, RedactPattern, StageId, MAX_POLICY_CPU, REDACTED,
};

use crate::command::{Resource, Rlimit};
use crate::effect::{Effect, EffectSet};
use crate::signal::Signal;

/// Every effect the plugin's operations produce (spec §1; `docs/command.md` `describe`):
/// `{process, thread, signal, io.blocking, hardware, memory, audit}`. The scope of a policy
/// without `effect_scope`, and of the built-in default policy.
pub const PLUGIN_EFFECTS: EffectSet = EffectSet::of(&[
    Effect::Process,
    Effect::Thread,
    Effect::Signal,
    Effect::IoBlocking,
    Effect::Hardware,
    Effect::Memory,
    Effect::Audit,
]);

/// The `search_path` of a policy that does not set one (`docs/policy.md`'s example):
/// `/usr/local/bin`, `/usr/bin`, `/bin`.
pub const DEFAULT_SEARCH_PATH: [&str; 3] = ["/usr/local/bin", "/usr/bin", "/bin"];

/// The largest policy file [`Policy::from_path`] reads (1 MiB).
pub const MAX_POLICY_BYTES: u64 = 1 << 20;

/// `[capability]`: how the capability is registered (registry chapter 3-8
/// `CapabilitySecurity`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CapabilitySection {
    /// `stage`; `beta` when absent.
    pub stage: StageId,
    /// `effect_scope` as written; `None` when absent (then [`Policy::effect_scope`] is
    /// [`PLUGIN_EFFECTS`]).
    pub effect_scope: Option<EffectSet>,
    /// `audit_required`: every operation must be audited; `false` when absent.
    pub audit_required: bool,
    /// `isolation_level`; `sandboxed` when absent.
    pub isolation_level: IsolationLevel,
}

/// `[commands]`: which programs may run, from where, and what may be done to them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommandsSection {
    /// `allow`: the allowed programs as written (resolve them with
    /// [`Policy::resolve_allowed`]).
    pub allow: Vec<AllowEntry>,
    /// `search_path`: absolute directories for bare names, in order; [`DEFAULT_SEARCH_PATH`]
    /// when absent.
    pub search_path: Vec<PathBuf>,
    /// `allowed_cwd`: absolute directories under which a child's cwd must lie, as written;
    /// `None` = any cwd. Never `Some(empty)` when parsed.
    pub allowed_cwd: Option<Vec<PathBuf>>,
    /// `allowed_signals`, sorted and without duplicates; `None` = any signal.
    pub allowed_signals: Option<Vec<Signal>>,
    /// `pass_fds`: may a caller hand extra descriptors to a child; `false` when absent.
    pub pass_fds: bool,
    /// `[[commands.rule]]`: programs allowed only with matching arguments and, when pinned,
    /// content ([`CommandRule`], `docs/policy.md`); empty when absent.
    pub rules: Vec<CommandRule>,
}

/// `[env]`: which environment variables reach a child.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnvSection {
    /// `inherit`: whether a child may inherit our environment; `true` when absent.
    pub inherit: bool,
    /// `deny`: names never passed to a child (exact, case-sensitive).
    pub deny: Vec<String>,
    /// `allow`: when non-empty, only these names pass (still minus `deny`).
    pub allow: Vec<String>,
    /// No name passes at all. Never set by parsing: set by [`Policy::narrow`] when two
    /// non-empty `allow` lists have no name in common (an empty `allow` would mean "no allow
    /// list", the opposite).
    pub allow_none: bool,
}

/// `[limits]`: counts, times and sizes. `None` = no limit from the policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitsSection {
    /// `max_processes`: children alive at once through this capability.
    pub max_processes: Option<u64>,
    /// `max_threads`: threads alive at once through this capability.
    pub max_threads: Option<u64>,
    /// `max_wall_time`: the longest any wait may ask for; also applied to a wait that asks
    /// for no limit.
    pub max_wall_time: Option<Duration>,
    /// `max_output_bytes`: cap per stream, in bytes, for collected output.
    pub max_output_bytes: Option<u64>,
    /// `cpu_time`: `RLIMIT_CPU` of each child (see [`Policy::child_rlimits`]).
    pub cpu_time: Option<Duration>,
    /// `address_space`: `RLIMIT_AS` of each child, in bytes.
    pub address_space: Option<u64>,
    /// `open_files`: `RLIMIT_NOFILE` of each child.
    pub open_files: Option<u64>,
    /// `core_dump`: `Some(false)` sets `RLIMIT_CORE = 0`; `Some(true)` and `None` leave the
    /// inherited limit alone.
    pub core_dump: Option<bool>,
    /// `allowed_cpus`: the CPUs an affinity may name.
    pub allowed_cpus: Option<crate::thread::CpuSet>,
    /// `max_thread_priority`: the highest priority a thread may be given.
    pub max_thread_priority: Option<crate::thread::ThreadPriority>,
    /// `output_cap_action`: what happens when a collected stream passes
    /// `max_output_bytes` (default [`OutputCapAction::Truncate`]).
    pub output_cap_action: OutputCapAction,
}

/// `[audit]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditSection {
    /// `redact`: argument and environment patterns masked as `"***"` in audit records.
    pub redact: Vec<RedactPattern>,
}

/// A parsed and validated security policy (`docs/policy.md`).
///
/// Construct with [`Policy::from_path`], [`Policy::from_toml_str`] or
/// [`Policy::default_for_program`]. The sections are public for reading; the types of their
/// fields carry the validation (absolute paths aside, which the resolver re-checks).
///
/// # Examples
/// ```
/// use reml_process::policy::Policy;
/// use reml_process::{Effect, Signal};
///
/// let p = Policy::from_toml_str(r#"
///     [capability]
///     effect_scope = ["process", "io.blocking", "signal"]
///     [commands]
///     allow = ["/bin/echo"]
///     allowed_signals = ["TERM", "KILL"]
///     [limits]
///     max_wall_time = "10m"
/// "#).unwrap();
/// assert!(p.effect_scope().contains(Effect::Signal));
/// assert!(p.is_signal_allowed(Signal::KILL));
/// assert!(!p.is_signal_allowed(Signal::HUP));
/// assert_eq!(p.limits.max_wall_time, Some(std::time::Duration::from_secs(600)));
///
/// let err = Policy::from_toml_str("[commands]\nalow = []\n").unwrap_err();
/// assert_eq!(err.key.as_deref(), Some("commands.alow"));
/// assert_eq!((err.line(), err.column()), (Some(2), Some(1)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// `[capability]`.
    pub capability: CapabilitySection,
    /// `[commands]`.
    pub commands: CommandsSection,
    /// `[env]`.
    pub env: EnvSection,
    /// `[limits]`.
    pub limits: LimitsSection,
    /// `[audit]`.
    pub audit: AuditSection,
    /// `[sandbox]`: what the isolation level confines a child to (`docs/sandbox.md`).
    pub sandbox: SandboxSection,
    /// Where the policy came from, and the programs of the policies it was narrowed with.
    narrowing: narrow::Narrowing,
}

impl Policy {
    /// The granted effect scope: `effect_scope` when set, else [`PLUGIN_EFFECTS`].
    ///
    /// An operation may run only when its effects ([`crate::Operation::effects`]) are a
    /// subset of this set.
    pub fn effect_scope(&self) -> EffectSet {
        self.capability.effect_scope.unwrap_or(PLUGIN_EFFECTS)
    }

    /// Resolves every `[commands] allow` entry to a file, by the rule in the module docs
    /// ([Resolving the allow-list](self#resolving-the-allow-list)). Entries that do not
    /// resolve allow nothing and are listed in [`AllowedPrograms::errors`].
    ///
    /// Reads the file system now; call again (and review again) after installing or
    /// upgrading an allowed program.
    pub fn resolve_allowed(&self) -> AllowedPrograms {
        resolve::resolve_all(&self.commands.allow, &self.commands.search_path)
    }

    /// Resolves one allow entry (see [`Policy::resolve_allowed`]).
    ///
    /// # Errors
    /// A [`ResolveError`]: `NotFound` (no such file, or no `search_path` directory holds the
    /// name), `NotRegularFile`, `NotExecutable` (no execute bit, or `faccessat(X_OK)`
    /// refuses), or `Io` for other OS errors; the message names the entry and the path.
    pub fn resolve_entry(&self, entry: &AllowEntry) -> Result<AllowedProgram, ResolveError> {
        resolve::resolve_entry(entry, &self.commands.search_path)
    }

    /// The `allowed_cwd` roots, canonicalised (`realpath(3)`), or `None` when any cwd is
    /// allowed.
    ///
    /// A root that cannot be canonicalised (it does not exist) is left out, which can only
    /// make the set of allowed directories smaller; `Some(vec![])` then allows none.
    pub fn allowed_cwd_roots(&self) -> Option<Vec<PathBuf>> {
        self.commands.allowed_cwd.as_ref().map(|roots| {
            roots
                .iter()
                .filter(|r| r.is_absolute())
                .filter_map(|r| std::fs::canonicalize(r).ok())
                .collect()
        })
    }

    /// Whether the policy lets a caller send `signal` (`allowed_signals`; any signal when the
    /// key is absent).
    pub fn is_signal_allowed(&self, signal: Signal) -> bool {
        self.commands
            .allowed_signals
            .as_ref()
            .map_or(true, |s| s.contains(&signal))
    }

    /// The `allowed_signals`, or `None` when any signal is allowed.
    pub fn allowed_signals(&self) -> Option<&[Signal]> {
        self.commands.allowed_signals.as_deref()
    }

    /// Whether `name` is on the `[env] deny` list (exact byte comparison).
    pub fn env_denied(&self, name: &OsStr) -> bool {
        self.env
            .deny
            .iter()
            .any(|d| d.as_bytes() == name.as_bytes())
    }

    /// Whether a variable called `name` may reach a child: not denied, and on the allow list
    /// when that list is non-empty. (Whether inherited variables are kept at all is
    /// [`EnvSection::inherit`].)
    pub fn env_passes(&self, name: &OsStr) -> bool {
        !self.env.allow_none
            && !self.env_denied(name)
            && (self.env.allow.is_empty()
                || self
                    .env
                    .allow
                    .iter()
                    .any(|a| a.as_bytes() == name.as_bytes()))
    }

    /// The resource limits to set in each child before it execs (`setrlimit(2)`), from
    /// `[limits]`:
    /// - `cpu_time` → `RLIMIT_CPU`, soft = the duration in whole seconds rounded **up**
    ///   (at least 1), hard = soft + 1: the kernel sends `SIGXCPU` at the soft limit (the
    ///   `cpu_limit` cause of `docs/command.md`) and `SIGKILL` one second later if the child
    ///   ignores it;
    /// - `address_space` → `RLIMIT_AS`, soft = hard = bytes;
    /// - `open_files` → `RLIMIT_NOFILE`, soft = hard;
    /// - `core_dump = false` → `RLIMIT_CORE`, soft = hard = 0.
    ///
    /// Lowering the hard limit means the child cannot raise it again. Keys that are absent
    /// produce no entry (the inherited limit stays).
    ///
    /// These are the policy's values as written. Each is a **ceiling**: the policy layer
    /// applies it as the stricter of it and the hard limit the child inherits (a value the
    /// host cannot grant gives the host's limit instead of a spawn that fails; a policy
    /// never raises a limit), and of the command's own limit ([`PolicyLayer`]).
    /// The review reports a value above the host's as `policy.limits.above_host`.
    pub fn child_rlimits(&self) -> Vec<Rlimit> {
        let l = &self.limits;
        let mut out = Vec::new();
        let both = |resource, v: u64| Rlimit {
            resource,
            soft: Some(v),
            hard: Some(v),
        };
        if let Some(d) = l.cpu_time {
            let secs = cpu_seconds(d);
            out.push(Rlimit {
                resource: Resource::CpuTime,
                soft: Some(secs),
                hard: Some(secs.saturating_add(1)),
            });
        }
        if let Some(b) = l.address_space {
            out.push(both(Resource::AddressSpace, b));
        }
        if let Some(n) = l.open_files {
            out.push(both(Resource::OpenFiles, n));
        }
        if l.core_dump == Some(false) {
            out.push(both(Resource::CoreDump, 0));
        }
        out
    }

    /// The audit redaction of this policy: an [`audit::Redactor`](crate::audit::Redactor)
    /// with the `[audit] redact` patterns, in order (the one rule of what a record masks,
    /// `docs/audit-log.md`).
    pub fn redactor(&self) -> crate::audit::Redactor {
        crate::audit::Redactor::new(self.audit.redact.iter().map(|r| r.as_str().to_owned()))
    }
}

/// `RLIMIT_CPU` seconds for a `cpu_time`: rounded up, at least 1 (0 would mean "no CPU at
/// all", which the kernel treats as an immediate `SIGXCPU`), saturating at `u64::MAX`
/// (`RLIM_INFINITY`: a limit too large to represent is no limit).
pub(crate) fn cpu_seconds(d: Duration) -> u64 {
    let secs = d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0));
    secs.max(1)
}

fn default_search_path() -> Vec<PathBuf> {
    DEFAULT_SEARCH_PATH.iter().map(PathBuf::from).collect()
}

#[cfg(test)]
mod tests;
