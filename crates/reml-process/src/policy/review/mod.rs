//! The installation-time security review of a policy: `verify_capability_security`
//! (spec §6 `SecurityCapability.verify_capability_security`; `docs/command.md`
//! `reml-process verify`).
//!
//! [`verify_capability_security`] reads the policy and the file system and returns a
//! [`Review`]: a list of [`Finding`]s, each with a stable code, a severity, the offending
//! entry and a one-line message. A policy with at least one `error` finding should not be
//! installed; `warning`s are worth a look; `info` findings say what was not checked, or what
//! the policy takes away that a program may need (`policy.sandbox.no_proc`).
//!
//! # Findings
//! The codes are stable: scripts and tests match on them. They are also available as
//! constants in [`codes`].
//!
//! | code | severity | entry | when |
//! | --- | --- | --- | --- |
//! | `policy.command.not_found` | error | the allow entry | an absolute entry does not exist, or no `search_path` directory holds a bare name |
//! | `policy.command.not_regular` | error | the allow entry | the entry resolves to a directory, device, FIFO, … |
//! | `policy.command.not_executable` | error | the allow entry | no execute bit in the mode, or `faccessat(X_OK)` refuses (a `noexec` mount, not for our user) |
//! | `policy.command.unresolvable` | error | the allow entry | another OS error while resolving (permission denied on a directory, a symlink loop) |
//! | `policy.command.writable` | error | the allow entry | the resolved file is writable by its group or by others (`st_mode & 0o022`) |
//! | `policy.command.dir_writable` | error | the allow entry | a directory above the resolved file, or above the path the entry was found at (where a symlink could be redirected), is writable by group or others — except a sticky directory (such as `/tmp`) owned by root or us whose entry on the path is owned by root or us too, which others can neither remove nor rename |
//! | `policy.command.untrusted_owner` | warning | the allow entry | the file or a directory above it is owned by a user other than root and ourselves |
//! | `policy.command.launcher` | error | the allow entry | the resolved file is the reml-process supervisor, whatever its name or path: it carries the supervisor's ELF note ([`supervisor::has_supervisor_note`]) |
//! | `policy.command.launcher` | error | the allow entry | the entry (or the `search_path` directory it is found in) goes through a link of procfs: `/proc/self/exe`, `/proc/PID/exe`, `/proc/self/fd/N`, `/dev/fd/N`, `/dev/stdin`, a symlink leading there ([`supervisor::proc_link_on_path`]) |
//! | `policy.command.launcher` | warning | the allow entry | the resolved file is the program running the review (same device and inode as `/proc/self/exe`; [`supervisor::is_running_program`]): a host of the library allowing itself |
//! | `policy.command.launcher` | warning | the allow entry | the entry's name or the resolved file name is a shell, an interpreter, a launcher or a tool that runs commands from its arguments ([`launcher_kind`]; the message says how, e.g. `find -exec CMD`) |
//! | `policy.search_path.writable` | error | the directory | a bare name is allowed and a `search_path` directory is writable by group or others, or one above it is (a sticky one owned by root or us, whose entry on the path is trusted, excepted): a file planted there would be picked at the next resolution |
//! | `policy.effect_scope.missing` | error | the effect tag | `effect_scope` lacks an effect the policy enables (see below) |
//! | `policy.effect_scope.absent` | warning | `capability.effect_scope` | the key is absent, so every effect of the plugin is granted |
//! | `policy.limits.zero` | warning | `limits.KEY` | a limit is 0 (no child can be spawned, every wait times out, …) |
//! | `policy.limits.nonsensical` | warning | `limits.KEY` | a limit that cannot work: `open_files` below 3 or above `/proc/sys/fs/nr_open`, `address_space` below 16 MiB, `cpu_time` not a whole number of seconds |
//! | `policy.limits.above_host` | warning | `limits.KEY` | an rlimit of the policy (`cpu_time`, `address_space`, `open_files`) is above the hard limit of the process running the review, which every child inherits: the child gets the host's limit (a policy limit is a ceiling, applied as the stricter of the two; the message names the policy value and the host's) |
//! | `policy.limits.no_wall_time` | warning | `limits.max_wall_time` | no `max_wall_time`: a wait may last forever |
//! | `policy.cpus.absent` | warning | `limits.allowed_cpus` | `allowed_cpus` names CPUs this machine does not have (`/sys/devices/system/cpu/possible`, else `sched_getaffinity`) |
//! | `policy.cpus.unchecked` | info | `limits.allowed_cpus` | the CPUs of the machine could not be read |
//! | `policy.signals.time_limit` | warning | `commands.allowed_signals` | `allowed_signals` lacks `TERM`, `reml-process run`'s default time-limit and parent-death signal: a run is refused before it starts unless `--signal` names an allowed signal or `KILL`. A time limit itself always holds: its `KILL` escalation is never subject to `allowed_signals` |
//! | `policy.priority.realtime` | warning | `limits.max_thread_priority` | `realtime` is allowed: a runaway real-time thread can starve the machine |
//! | `policy.isolation.unavailable` | error | `capability.isolation_level` | the level cannot be provided by the running kernel (Landlock missing, ABI below 4 with `network = false`) or namespaces unavailable to this caller (`full_isolation`); the Landlock ABI and the missing switch are named |
//! | `policy.sandbox.no_read` | warning | `sandbox.read` | a confining level with no `read` paths: nothing can execute |
//! | `policy.sandbox.program_outside` | error | the allow entry | a confining level, `read` paths given, and the resolved program lies under none of `read` and `write`: every spawn of it is refused |
//! | `policy.sandbox.below_proc` | error | `sandbox.read` or `sandbox.write` | `full_isolation` and a path below `/proc` (not `/proc` itself): the child's `/proc` is its own, every spawn is refused |
//! | `policy.sandbox.no_proc` | info | `sandbox.read` | `full_isolation`, `read` paths given, and no `read` or `write` path is `/proc` or a directory above it (`/`): the child's own `/proc` is not readable to it (`/proc/self/status` fails with `EACCES`); programs that read it (`ps`, many runtimes) fail |
//! | `policy.env.loader_not_denied` | warning | `env.deny` | a program is allowed and `LD_PRELOAD`, `LD_AUDIT` or `LD_LIBRARY_PATH` can reach a child: each makes an allowed program run other code |
//! | `policy.cwd.not_found` | warning | the root | an `allowed_cwd` root does not exist or is not a directory |
//! | `policy.rule.allowed_too` | error | `commands.rule[N]` | the rule's program is also in `commands.allow` (the same entry, or the same file), so it runs with any arguments and content: the rule restricts nothing |
//! | `policy.rule.rest_not_last` | error | `commands.rule[N].args[M]` | a pattern has `"**"` before its last token: it matches nothing |
//! | `policy.rule.bad_digest` | error | `commands.rule[N].sha256` | the pin is not 64 hexadecimal digits: the rule allows nothing |
//! | `policy.rule.no_patterns` | warning | `commands.rule[N].args` | `args = []`: no argument list matches, the rule allows nothing |
//! | `policy.narrow.nothing_allowed` | error | `commands` | a narrowed policy whose policies each allow programs, none of them allowed by all (by canonical path and identity) |
//! | `policy.narrow.empty` | warning | the key | narrowing left no effect, signal, working directory, environment name or CPU in common |
//!
//! The programs of `[[commands.rule]]` entries get the same file checks as `allow` entries
//! (`policy.command.*`, with the program as written as the entry). A narrowed policy
//! ([`Policy::narrow`]) is reviewed as one policy: its first policy's programs and the
//! combined values; review each policy on its own too (`reml-process verify A B` does).
//!
//! ## Effects the policy enables
//! Derived from [`Operation::effects`](crate::Operation::effects), so the review and the enforcement layer agree:
//!
//! | when | needs |
//! | --- | --- |
//! | `commands.allow` or a `[[commands.rule]]` names a program (spawn, wait, kill) | `process`, `io.blocking`, `signal` |
//! | `commands.pass_fds = true` | `process`, `memory` |
//! | `limits.max_output_bytes` is set (output collection) | `process`, `io.blocking`, `memory` |
//! | `limits.max_threads` > 0 (create, join) | `thread`, `io.blocking` |
//! | `limits.allowed_cpus` is set (affinity) | `thread`, `hardware` |
//! | `limits.max_thread_priority` is set | `thread` |
//! | `capability.audit_required = true` | `audit` |
//!
//! # Caveats
//! - The review is a snapshot: it reads the file system when it runs. Resolve and review
//!   again after installing or upgrading an allowed program.
//! - `policy.limits.above_host` compares with the hard limits of the process running the
//!   review. `run --policy` and the registry review in the process that spawns, so they
//!   agree; `reml-process verify` started from another shell or service may see other limits.
//! - Write access is judged from mode bits and owners only. POSIX ACLs, capabilities such as
//!   `CAP_DAC_OVERRIDE` held by other processes, and mounts over a path are not examined.
//! - The launcher list is a heuristic by name: a renamed, copied or hard-linked interpreter
//!   is not recognised, and many more programs can run others given the right arguments.
//!   Only the supervisor is recognised by identity (see [`supervisor`] for what each test
//!   sees and misses); a wrapper script that execs a launcher is not.
//!
//! # Why the supervisor is an error and a shell a warning
//! Both defeat the allow-list. A shell or an interpreter is allowed on purpose, its name
//! says what it is, and scripts are a reason to allow one; the review warns. The supervisor
//! is never needed as a child of itself — the policy layer already does what a nested
//! `reml-process run` would — while it
//! replaces the whole policy with one its caller picks (by default the program named, every
//! effect, no audit), and under another name nothing shows it. The code stays
//! `policy.command.launcher`; only the severity differs, so `reml-process verify` exits 1 and
//! `run --policy` refuses such a policy. An entry through a procfs link is an error for the
//! same reason: what it allows depends on the process that installs the policy (through
//! `/proc/self/exe`, that is the supervisor itself), never on a file one can review.

use std::collections::BTreeMap;

use serde::Serialize;

use super::supervisor;
use super::{IsolationLevel, Policy, PriorityCeiling, PLUGIN_EFFECTS};
use crate::error::{Diagnostic, IntoDiagnostic, Severity};

/// The stable finding codes (see the table in the [module docs](self)).
pub mod codes {
    /// An allowed entry does not exist / is not found in `search_path`.
    pub const COMMAND_NOT_FOUND: &str = "policy.command.not_found";
    /// An allowed entry is not a regular file.
    pub const COMMAND_NOT_REGULAR: &str = "policy.command.not_regular";
    /// An allowed entry is not executable.
    pub const COMMAND_NOT_EXECUTABLE: &str = "policy.command.not_executable";
    /// An allowed entry could not be resolved for another OS reason.
    pub const COMMAND_UNRESOLVABLE: &str = "policy.command.unresolvable";
    /// An allowed binary is writable by group or others.
    pub const COMMAND_WRITABLE: &str = "policy.command.writable";
    /// A directory above an allowed binary is writable by group or others.
    pub const COMMAND_DIR_WRITABLE: &str = "policy.command.dir_writable";
    /// An allowed binary or a directory above it belongs to an untrusted user.
    pub const COMMAND_UNTRUSTED_OWNER: &str = "policy.command.untrusted_owner";
    /// An allowed entry is a shell, interpreter or launcher.
    pub const COMMAND_LAUNCHER: &str = "policy.command.launcher";
    /// A `search_path` directory is writable by group or others.
    pub const SEARCH_PATH_WRITABLE: &str = "policy.search_path.writable";
    /// `effect_scope` lacks an effect the policy enables.
    pub const EFFECT_SCOPE_MISSING: &str = "policy.effect_scope.missing";
    /// `effect_scope` is absent.
    pub const EFFECT_SCOPE_ABSENT: &str = "policy.effect_scope.absent";
    /// A limit is zero.
    pub const LIMITS_ZERO: &str = "policy.limits.zero";
    /// A limit cannot work as written.
    pub const LIMITS_NONSENSICAL: &str = "policy.limits.nonsensical";
    /// An rlimit of the policy is above the host's (inherited) hard limit.
    pub const LIMITS_ABOVE_HOST: &str = "policy.limits.above_host";
    /// No `max_wall_time`.
    pub const LIMITS_NO_WALL_TIME: &str = "policy.limits.no_wall_time";
    /// `allowed_cpus` names CPUs that do not exist.
    pub const CPUS_ABSENT: &str = "policy.cpus.absent";
    /// The machine's CPUs could not be read.
    pub const CPUS_UNCHECKED: &str = "policy.cpus.unchecked";
    /// `max_thread_priority = "realtime"`.
    pub const PRIORITY_REALTIME: &str = "policy.priority.realtime";
    /// `allowed_signals` lacks `TERM`, the default time-limit and parent-death signal.
    pub const SIGNALS_TIME_LIMIT: &str = "policy.signals.time_limit";
    /// The isolation level cannot be provided by the running kernel (or by this version).
    pub const ISOLATION_UNAVAILABLE: &str = "policy.isolation.unavailable";
    /// A confining isolation level with no `[sandbox] read` paths.
    pub const SANDBOX_NO_READ: &str = "policy.sandbox.no_read";
    /// An allowed program lies outside `[sandbox] read` and `write`: a confined child could
    /// not execute it.
    pub const SANDBOX_PROGRAM_OUTSIDE: &str = "policy.sandbox.program_outside";
    /// A `full_isolation` `[sandbox]` path below `/proc`.
    pub const SANDBOX_BELOW_PROC: &str = "policy.sandbox.below_proc";
    /// `full_isolation` whose `[sandbox]` grants do not cover `/proc`: the child cannot read
    /// its own `/proc`.
    pub const SANDBOX_NO_PROC: &str = "policy.sandbox.no_proc";
    /// A dynamic-loader variable can reach a child.
    pub const ENV_LOADER_NOT_DENIED: &str = "policy.env.loader_not_denied";
    /// An `allowed_cwd` root does not exist.
    pub const CWD_NOT_FOUND: &str = "policy.cwd.not_found";
    /// A rule's program is also in `commands.allow`.
    pub const RULE_ALLOWED_TOO: &str = "policy.rule.allowed_too";
    /// A pattern has `"**"` before its last token.
    pub const RULE_REST_NOT_LAST: &str = "policy.rule.rest_not_last";
    /// A content pin is not a SHA-256 digest.
    pub const RULE_BAD_DIGEST: &str = "policy.rule.bad_digest";
    /// A rule has `args = []`.
    pub const RULE_NO_PATTERNS: &str = "policy.rule.no_patterns";
    /// A narrowing leaves no program allowed by every policy.
    pub const NARROW_NOTHING_ALLOWED: &str = "policy.narrow.nothing_allowed";
    /// A narrowing emptied a list.
    pub const NARROW_EMPTY: &str = "policy.narrow.empty";
}

use codes::*;

/// One finding of the review.
///
/// Serialises as `{"code": …, "severity": "error"|"warning"|"info", "entry": …,
/// "message": …}` (`docs/command.md` `verify --json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable machine code, e.g. `policy.command.writable` (see [`codes`]).
    pub code: &'static str,
    /// `error`: the policy must not be installed as is; `warning`: a risk to consider;
    /// `info`: something the review could not check, or a consequence to know about
    /// (never fails the review).
    pub severity: Severity,
    /// The offending entry: an allow entry as written, a `section.key`, an effect tag or a
    /// directory (per code, see the module table).
    pub entry: String,
    /// One line explaining the problem and its consequence.
    pub message: String,
}

impl IntoDiagnostic for Finding {
    /// A diagnostic with the finding's code and severity, and `policy.entry` in the metadata
    /// (for the `capability.verified` audit record).
    fn into_diagnostic(self) -> Diagnostic {
        let mut metadata = BTreeMap::new();
        metadata.insert("policy.entry".to_owned(), self.entry.into());
        Diagnostic {
            code: self.code.to_owned(),
            severity: self.severity,
            message: self.message,
            metadata,
        }
    }
}

/// The result of [`verify_capability_security`]: the findings in a stable order (allow
/// entries in policy order, then search path, effects, limits, CPUs, priority, isolation,
/// environment, cwd).
///
/// Serialises as `{"ok": bool, "findings": [Finding, …]}` where `ok` is
/// `!has_errors()`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Review {
    findings: Vec<Finding>,
}

impl Review {
    /// Every finding.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Whether at least one finding is an error (then `reml-process verify` exits 1).
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The number of findings of `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// The findings with code `code`.
    pub fn with_code<'a>(&'a self, code: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.code == code)
    }
}

impl Serialize for Review {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Review", 2)?;
        st.serialize_field("ok", &!self.has_errors())?;
        st.serialize_field("findings", &self.findings)?;
        st.end()
    }
}

/// Reviews `policy` (spec §6 `SecurityCapability.verify_capability_security`): checks the
/// external-command allow-list against the file system and the limits and effect scope for
/// consistency. Every check of the [module table](self#findings) runs; nothing stops at the
/// first finding.
///
/// Never fails: a problem reading the file system becomes a finding.
///
/// # Platform-specific behavior
/// Linux: the CPUs of the machine come from `/sys/devices/system/cpu/possible`, else from
/// `sched_getaffinity(2)` of the calling thread; the `open_files` ceiling from
/// `/proc/sys/fs/nr_open`. Elsewhere (no sysfs, no procfs) the CPUs are unknown, so
/// `allowed_cpus` is not checked (an `Info` finding says so), nor `open_files` against a
/// ceiling.
pub fn verify_capability_security(policy: &Policy) -> Review {
    let mut r = Reviewer {
        findings: Vec::new(),
        euid: rustix::process::geteuid().as_raw(),
    };
    for entry in policy.program_entries() {
        r.command(policy, entry);
    }
    r.search_path(policy);
    r.effect_scope(policy);
    r.limits(policy);
    r.cpus(policy);
    if !policy.is_signal_allowed(crate::signal::Signal::TERM) {
        r.push(
            SIGNALS_TIME_LIMIT,
            Severity::Warning,
            "commands.allowed_signals",
            "`allowed_signals` does not allow TERM, the default time-limit and parent-death signal of `reml-process run`: every run must choose an allowed one (--signal), or KILL; a time limit's KILL escalation holds regardless".to_owned(),
        );
    }
    if policy.limits.max_thread_priority == Some(PriorityCeiling::Realtime) {
        r.push(
            PRIORITY_REALTIME,
            Severity::Warning,
            "limits.max_thread_priority",
            "`realtime` is allowed: a real-time thread that never blocks can starve every other process on its CPUs".to_owned(),
        );
    }
    let level = policy.capability.isolation_level;
    let kernel = crate::sandbox::kernel_support();
    if let Some(missing) = kernel.missing_for(level, policy.sandbox.network_allowed()) {
        r.push(
            ISOLATION_UNAVAILABLE,
            Severity::Error,
            "capability.isolation_level",
            format!(
                "`{level}` cannot be provided here (Landlock ABI {}): {missing}; every spawn would be refused",
                kernel.landlock_abi
            ),
        );
    }
    if level != IsolationLevel::None && policy.sandbox.read_paths().is_empty() {
        r.push(
            SANDBOX_NO_READ,
            Severity::Warning,
            "sandbox.read",
            format!("`{level}` with no `[sandbox] read` paths: no program can execute, every spawn is refused"),
        );
    }
    r.sandbox(policy);
    r.env(policy);
    r.cwd(policy);
    r.findings.extend(super::review_rules::findings(policy));
    Review {
        findings: r.findings,
    }
}

struct Reviewer {
    findings: Vec<Finding>,
    euid: u32,
}

mod checks;
mod launchers;

pub use launchers::{launcher_kind, Launcher};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launcher_names() {
        for n in [
            "sh",
            "bash",
            "python3",
            "python3.11",
            "python",
            "perl5.36.0",
            "lua5.4",
            "ksh93",
            "env",
            "xargs",
            "busybox",
            "ld-linux-x86-64.so.2",
            "Bash",
            "nice",
            "gawk",
            "find",
            "reml-process",
            "timeout",
            "setsid",
            "stdbuf",
            "ionice",
            "flock",
            "doas",
            "nsenter",
            "script",
            "systemd-run",
            "watch",
            "parallel",
            "tar",
            "rsync",
            "less",
            "perf",
            "socat",
            "proxychains4",
            "go1.22",
        ] {
            assert!(launcher_kind(n).is_some(), "{n}");
        }
        assert_eq!(launcher_kind("python3.11").unwrap().name, "python");
        assert!(launcher_kind("find").unwrap().how.contains("-exec"));
        assert!(launcher_kind("ld.so.1").unwrap().why.contains("loader"));
        for n in [
            "git-upload-pack",
            "true",
            "echo",
            "python3-config",
            "shred",
            "envsubst",
            "ls",
            "timedatectl",
            "ip6tables",
            "sorted",
            "editor",
            "atop",
            "reml-process-bench",
        ] {
            assert!(launcher_kind(n).is_none(), "{n}");
        }
    }

    #[test]
    fn review_serialises_with_ok() {
        let r = Review {
            findings: vec![Finding {
                code: LIMITS_ZERO,
                severity: Severity::Warning,
                entry: "limits.max_processes".into(),
                message: "m".into(),
            }],
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["ok"], true);
        assert_eq!(v["findings"][0]["code"], "policy.limits.zero");
        assert_eq!(v["findings"][0]["severity"], "warning");
        assert_eq!(v["findings"][0]["entry"], "limits.max_processes");
        let d = r.findings[0].clone().into_diagnostic();
        assert_eq!(d.code, "policy.limits.zero");
        assert_eq!(d.metadata["policy.entry"], "limits.max_processes");
    }

    fn review_of(text: &str) -> Review {
        verify_capability_security(&Policy::from_toml_str(text).unwrap())
    }

    #[test]
    fn effect_scope_missing_names_each_effect() {
        let r = review_of(
            "[capability]\neffect_scope = [\"process\"]\naudit_required = true\n\
             [commands]\nallow = []\npass_fds = true\n",
        );
        let missing: Vec<&str> = r
            .with_code(EFFECT_SCOPE_MISSING)
            .map(|f| f.entry.as_str())
            .collect();
        assert_eq!(missing, ["memory", "audit"]);
        assert!(r.has_errors());
        let audit = r.with_code(EFFECT_SCOPE_MISSING).nth(1).unwrap();
        assert!(
            audit.message.contains("audit_required"),
            "{}",
            audit.message
        );
    }

    #[test]
    fn limits_checks() {
        let r = review_of(
            "[capability]\neffect_scope = []\n[commands]\nallow = []\n\
             [limits]\nmax_processes = 0\nopen_files = 2\naddress_space = \"1MiB\"\ncpu_time = \"1500ms\"\n",
        );
        assert_eq!(r.with_code(LIMITS_ZERO).count(), 1);
        assert_eq!(r.with_code(LIMITS_NONSENSICAL).count(), 3);
        assert_eq!(r.with_code(LIMITS_NO_WALL_TIME).count(), 1);
        assert!(!r.has_errors(), "{r:?}");
        let r = review_of(
            "[capability]\neffect_scope = []\n[commands]\nallow = []\n[limits]\nmax_wall_time = \"1s\"\n",
        );
        assert_eq!(r.findings().len(), 0, "{r:?}");
    }
}
