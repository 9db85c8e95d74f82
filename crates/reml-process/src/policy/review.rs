//! The installation-time security review of a policy: `verify_capability_security`
//! (spec §6 `SecurityCapability.verify_capability_security`; `docs/command.md`
//! `reml-process verify`).
//!
//! [`verify_capability_security`] reads the policy and the file system and returns a
//! [`Review`]: a list of [`Finding`]s, each with a stable code, a severity, the offending
//! entry and a one-line message. A policy with at least one `error` finding should not be
//! installed; `warning`s are worth a look; `info` findings only say what was not checked.
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
//! Derived from [`Operation::effects`], so the review and the enforcement layer agree:
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
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use serde::Serialize;

use super::resolve::{resolve_entry, AllowedProgram, ResolveErrorKind};
use super::supervisor;
use super::{cpu_seconds, AllowEntry, CpuList, IsolationLevel, Policy, PriorityCeiling};
use crate::command::Resource;
use crate::effect::{Effect, EffectSet, Operation};
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
    /// `info`: something the review could not check.
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

/// Why a shell defeats an allow-list.
const SHELL: &str = "a shell: it runs any command given in its arguments or on its input";
/// Why an interpreter does.
const INTERPRETER: &str = "an interpreter: it runs whatever code its arguments or input give it";
/// Why a launcher does.
const LAUNCHER: &str = "a launcher: it runs another program named in its arguments";
/// Why a tool with a command option does.
const TOOL: &str = "a tool that runs arbitrary commands through its arguments";
/// Why a program named like the supervisor does.
const SUPERVISOR: &str = "named like the reml-process supervisor, which runs any program named in its arguments under a policy of its caller's choosing";

/// Programs that defeat an allow-list: the name, why ([`SHELL`], …), and how when it takes
/// particular arguments (empty when the kind says it all). Severity: warning, by name
/// (see [`launcher_kind`]). Picked by what runs a program or code *from its arguments or
/// input*, the way a child of an allowed program would be told to.
const LAUNCHERS: &[(&str, &str, &str)] = &[
    ("sh", SHELL, ""),
    ("bash", SHELL, ""),
    ("rbash", SHELL, ""),
    ("dash", SHELL, ""),
    ("ash", SHELL, ""),
    ("zsh", SHELL, ""),
    ("fish", SHELL, ""),
    ("ksh", SHELL, ""),
    ("mksh", SHELL, ""),
    ("pdksh", SHELL, ""),
    ("oksh", SHELL, ""),
    ("csh", SHELL, ""),
    ("tcsh", SHELL, ""),
    ("yash", SHELL, ""),
    ("posh", SHELL, ""),
    ("elvish", SHELL, ""),
    ("nu", SHELL, ""),
    ("xonsh", SHELL, ""),
    ("pwsh", SHELL, ""),
    ("powershell", SHELL, ""),
    (
        "busybox",
        SHELL,
        "`busybox sh -c CMD`, and every other applet by name",
    ),
    (
        "toybox",
        SHELL,
        "`toybox sh -c CMD`, and every other applet by name",
    ),
    ("python", INTERPRETER, ""),
    ("pypy", INTERPRETER, ""),
    ("perl", INTERPRETER, ""),
    ("raku", INTERPRETER, ""),
    ("rakudo", INTERPRETER, ""),
    ("ruby", INTERPRETER, ""),
    ("irb", INTERPRETER, ""),
    ("jruby", INTERPRETER, ""),
    ("node", INTERPRETER, ""),
    ("nodejs", INTERPRETER, ""),
    ("deno", INTERPRETER, ""),
    ("bun", INTERPRETER, ""),
    ("qjs", INTERPRETER, ""),
    ("php", INTERPRETER, ""),
    ("php-cgi", INTERPRETER, ""),
    ("lua", INTERPRETER, ""),
    ("luajit", INTERPRETER, ""),
    ("tclsh", INTERPRETER, ""),
    ("wish", INTERPRETER, ""),
    ("expect", INTERPRETER, ""),
    ("guile", INTERPRETER, ""),
    ("racket", INTERPRETER, ""),
    ("sbcl", INTERPRETER, ""),
    ("clisp", INTERPRETER, ""),
    ("ocaml", INTERPRETER, ""),
    ("ghci", INTERPRETER, ""),
    ("runghc", INTERPRETER, ""),
    ("r", INTERPRETER, ""),
    ("rscript", INTERPRETER, ""),
    ("julia", INTERPRETER, ""),
    ("octave", INTERPRETER, ""),
    ("erl", INTERPRETER, ""),
    ("escript", INTERPRETER, ""),
    ("elixir", INTERPRETER, ""),
    ("iex", INTERPRETER, ""),
    ("swipl", INTERPRETER, ""),
    ("gforth", INTERPRETER, ""),
    ("java", INTERPRETER, ""),
    ("jshell", INTERPRETER, ""),
    ("groovy", INTERPRETER, ""),
    ("scala", INTERPRETER, ""),
    ("kotlin", INTERPRETER, ""),
    ("clojure", INTERPRETER, ""),
    ("bb", INTERPRETER, ""),
    ("dotnet", INTERPRETER, ""),
    ("mono", INTERPRETER, ""),
    ("awk", INTERPRETER, "`system(CMD)`, `print | CMD`"),
    ("gawk", INTERPRETER, "`system(CMD)`, `print | CMD`"),
    ("mawk", INTERPRETER, "`system(CMD)`, `print | CMD`"),
    ("nawk", INTERPRETER, "`system(CMD)`, `print | CMD`"),
    ("reml-process", SUPERVISOR, "`reml-process run -- PROGRAM`"),
    ("env", LAUNCHER, ""),
    ("xargs", LAUNCHER, ""),
    ("nohup", LAUNCHER, ""),
    ("sudo", LAUNCHER, ""),
    ("sudoedit", LAUNCHER, ""),
    ("su", LAUNCHER, "`-c CMD`"),
    ("doas", LAUNCHER, ""),
    ("pkexec", LAUNCHER, ""),
    ("runuser", LAUNCHER, ""),
    ("sg", LAUNCHER, "`sg GROUP CMD`"),
    ("newgrp", LAUNCHER, "a shell on its input"),
    ("setsid", LAUNCHER, ""),
    ("setpriv", LAUNCHER, ""),
    ("setarch", LAUNCHER, ""),
    ("linux32", LAUNCHER, ""),
    ("linux64", LAUNCHER, ""),
    ("capsh", LAUNCHER, "`capsh -- -c CMD`"),
    ("runcon", LAUNCHER, ""),
    ("nice", LAUNCHER, ""),
    ("ionice", LAUNCHER, ""),
    ("chrt", LAUNCHER, ""),
    ("taskset", LAUNCHER, ""),
    ("numactl", LAUNCHER, ""),
    ("prlimit", LAUNCHER, ""),
    ("cpulimit", LAUNCHER, ""),
    ("trickle", LAUNCHER, ""),
    ("cgexec", LAUNCHER, ""),
    ("timeout", LAUNCHER, ""),
    ("stdbuf", LAUNCHER, ""),
    ("unbuffer", LAUNCHER, ""),
    ("chroot", LAUNCHER, ""),
    ("unshare", LAUNCHER, ""),
    ("nsenter", LAUNCHER, ""),
    ("firejail", LAUNCHER, ""),
    ("bwrap", LAUNCHER, ""),
    ("proot", LAUNCHER, ""),
    ("fakeroot", LAUNCHER, ""),
    ("fakechroot", LAUNCHER, ""),
    ("eatmydata", LAUNCHER, ""),
    ("faketime", LAUNCHER, ""),
    ("torsocks", LAUNCHER, ""),
    ("proxychains", LAUNCHER, ""),
    ("flock", LAUNCHER, ""),
    ("script", LAUNCHER, "`-c CMD`"),
    ("screen", LAUNCHER, ""),
    ("tmux", LAUNCHER, "`new-session CMD`"),
    ("watch", LAUNCHER, ""),
    ("time", LAUNCHER, ""),
    ("hyperfine", LAUNCHER, ""),
    ("chronic", LAUNCHER, ""),
    ("ifne", LAUNCHER, ""),
    ("entr", LAUNCHER, ""),
    ("rlwrap", LAUNCHER, ""),
    ("parallel", LAUNCHER, ""),
    ("run-parts", LAUNCHER, ""),
    ("start-stop-daemon", LAUNCHER, ""),
    ("daemonize", LAUNCHER, ""),
    ("chpst", LAUNCHER, ""),
    ("softlimit", LAUNCHER, ""),
    ("setuidgid", LAUNCHER, ""),
    ("envdir", LAUNCHER, ""),
    ("envuidgid", LAUNCHER, ""),
    ("dbus-run-session", LAUNCHER, ""),
    ("dbus-launch", LAUNCHER, "`--exit-with-session PROGRAM`"),
    ("ssh-agent", LAUNCHER, "`ssh-agent PROGRAM`"),
    ("catchsegv", LAUNCHER, ""),
    ("strace", LAUNCHER, ""),
    ("ltrace", LAUNCHER, ""),
    ("uftrace", LAUNCHER, ""),
    ("valgrind", LAUNCHER, ""),
    (
        "perf",
        LAUNCHER,
        "`perf record -- PROGRAM`, `perf stat PROGRAM`",
    ),
    ("rr", LAUNCHER, "`rr record PROGRAM`"),
    ("gdb", LAUNCHER, "`--args PROGRAM`, `-ex 'shell CMD'`"),
    ("gdbserver", LAUNCHER, ""),
    ("lldb", LAUNCHER, "`-- PROGRAM`, `-o 'platform shell CMD'`"),
    ("systemd-run", LAUNCHER, ""),
    ("systemd-nspawn", LAUNCHER, ""),
    ("systemd-inhibit", LAUNCHER, ""),
    ("systemd-cat", LAUNCHER, ""),
    ("at", LAUNCHER, "commands on its input, run later"),
    ("batch", LAUNCHER, "commands on its input, run later"),
    ("docker", LAUNCHER, "`docker run IMAGE CMD`"),
    ("podman", LAUNCHER, "`podman run IMAGE CMD`"),
    ("find", TOOL, "`-exec CMD`, `-execdir CMD`, `-ok CMD`"),
    (
        "make",
        TOOL,
        "the recipes of its makefile, `-f FILE`, `--eval`",
    ),
    (
        "gmake",
        TOOL,
        "the recipes of its makefile, `-f FILE`, `--eval`",
    ),
    ("cmake", TOOL, "`-P SCRIPT`, `-E` commands"),
    ("ninja", TOOL, "the rules of `-f FILE`"),
    (
        "sed",
        TOOL,
        "GNU sed's `e` command and `s///e` flag run commands; `w FILE` writes any file",
    ),
    (
        "tar",
        TOOL,
        "`--to-command=CMD`, `-I CMD`, `--checkpoint-action=exec=CMD`, `--rsh-command=CMD`",
    ),
    ("rsync", TOOL, "`-e CMD`, `--rsync-path=CMD`"),
    (
        "git",
        TOOL,
        "`-c core.pager=CMD`, `-c alias.X='!CMD'`, `-c core.sshCommand=CMD`, `--upload-pack=CMD`",
    ),
    (
        "ssh",
        TOOL,
        "`-o ProxyCommand=CMD`, `-o LocalCommand=CMD`, a remote command",
    ),
    ("scp", TOOL, "`-S PROGRAM`, `-o ProxyCommand=CMD`"),
    (
        "sftp",
        TOOL,
        "`-S PROGRAM`, `-D PROGRAM`, `-o ProxyCommand=CMD`",
    ),
    ("zip", TOOL, "`-TT CMD`"),
    ("split", TOOL, "`--filter=CMD`"),
    ("sort", TOOL, "`--compress-program=PROGRAM`"),
    ("socat", TOOL, "`EXEC:CMD` and `SYSTEM:CMD` addresses"),
    ("nc", TOOL, "`-e PROGRAM`, `-c CMD`"),
    ("ncat", TOOL, "`-e PROGRAM`, `-c CMD`"),
    ("netcat", TOOL, "`-e PROGRAM`, `-c CMD`"),
    ("tcpdump", TOOL, "`-z PROGRAM`"),
    (
        "ip",
        TOOL,
        "`ip netns exec NAME PROGRAM`, `ip vrf exec NAME PROGRAM`",
    ),
    ("dc", TOOL, "`!CMD`"),
    ("m4", TOOL, "`syscmd(CMD)`, `esyscmd(CMD)`"),
    ("gnuplot", TOOL, "`system \"CMD\"`, `!CMD`"),
    ("sqlite3", TOOL, "`.shell CMD`, `.system CMD`"),
    ("psql", TOOL, "`\\! CMD`"),
    ("mysql", TOOL, "`\\! CMD`, `system CMD`"),
    ("cargo", TOOL, "`cargo run`, build scripts"),
    ("go", TOOL, "`go run`, `go generate`, `-toolexec=CMD`"),
    ("npm", TOOL, "package scripts, `npm exec`"),
    ("npx", TOOL, "`npx PROGRAM`"),
    ("pip", TOOL, "`pip install` runs a package's build code"),
    ("vi", TOOL, "`-c '!CMD'`, `:!CMD`"),
    ("vim", TOOL, "`-c '!CMD'`, `:!CMD`"),
    ("nvim", TOOL, "`-c '!CMD'`, `:!CMD`"),
    ("view", TOOL, "`-c '!CMD'`, `:!CMD`"),
    ("vimdiff", TOOL, "`-c '!CMD'`, `:!CMD`"),
    ("ed", TOOL, "`!CMD`"),
    ("ex", TOOL, "`!CMD`"),
    ("emacs", TOOL, "`--eval EXPR`, `-l FILE`"),
    ("nano", TOOL, "its execute-command key (^T)"),
    ("less", TOOL, "`+!CMD`, `!CMD`, `LESSOPEN`"),
    ("more", TOOL, "`!CMD`"),
    ("man", TOOL, "`-P PAGER`, `--html=BROWSER`"),
];

/// What [`launcher_kind`] knows of a program that defeats an allow-list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Launcher {
    /// The listed name it matched (`python` for `python3.11`; `ld.so` for the loader).
    pub name: &'static str,
    /// Why, e.g. `a shell: it runs any command given in its arguments or on its input`.
    pub why: &'static str,
    /// How, when it takes particular arguments (`` `-exec CMD`, `-execdir CMD` ``); empty
    /// when [`why`](Self::why) says it all.
    pub how: &'static str,
}

/// Why `name` (a file name, no directory) is a shell, interpreter, launcher or
/// command-running tool, or `None`.
///
/// Matches a listed name exactly or followed by a version suffix of digits and dots
/// (`python3.11`, `lua5.4`, `ksh93`, `perl5.36.0`), case-insensitively; also the dynamic
/// loader (`ld-linux*.so*`, `ld-musl-*`, `ld.so*`), which runs any binary given as its
/// argument. The list is a heuristic by name (see the module caveats); the supervisor itself
/// is recognised by identity too ([`supervisor`]).
pub fn launcher_kind(name: &str) -> Option<Launcher> {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("ld-linux") || lower.starts_with("ld-musl-") || lower.starts_with("ld.so")
    {
        return Some(Launcher {
            name: "ld.so",
            why: "the dynamic loader: it runs any program given as its argument",
            how: "",
        });
    }
    LAUNCHERS.iter().find_map(|&(n, why, how)| {
        let rest = lower.strip_prefix(n)?;
        rest.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.')
            .then_some(Launcher { name: n, why, how })
    })
}

fn mode_of(meta: &std::fs::Metadata) -> u32 {
    meta.permissions().mode() & 0o7777
}

fn who_can_write(mode: u32) -> &'static str {
    match (mode & 0o020 != 0, mode & 0o002 != 0) {
        (true, true) => "its group and others",
        (true, false) => "its group",
        _ => "others",
    }
}

/// The directories above `path`, nearest first, up to `/`.
fn dirs_above(path: &Path) -> impl Iterator<Item = &Path> {
    path.ancestors()
        .skip(1)
        .filter(|p| !p.as_os_str().is_empty())
}

impl Reviewer {
    fn push(&mut self, code: &'static str, severity: Severity, entry: &str, message: String) {
        self.findings.push(Finding {
            code,
            severity,
            entry: entry.to_owned(),
            message,
        });
    }

    fn trusted_owner(&self, uid: u32) -> bool {
        uid == 0 || uid == self.euid
    }

    fn command(&mut self, policy: &Policy, entry: &AllowEntry) {
        let name = entry.to_string();
        let mut names: Vec<String> = entry.file_name().map(str::to_owned).into_iter().collect();
        // The path the entry is reached by before any symlink is resolved: the entry's own,
        // or `DIR/NAME` of the search path.
        let mut literal = match entry {
            AllowEntry::Path(p) => Some(p.clone()),
            AllowEntry::Name(_) => None,
        };
        let mut resolved = None;
        match resolve_entry(entry, &policy.commands.search_path) {
            Err(e) => {
                let code = match e.kind {
                    ResolveErrorKind::NotFound => COMMAND_NOT_FOUND,
                    ResolveErrorKind::NotRegularFile => COMMAND_NOT_REGULAR,
                    ResolveErrorKind::NotExecutable => COMMAND_NOT_EXECUTABLE,
                    ResolveErrorKind::Io => COMMAND_UNRESOLVABLE,
                };
                self.push(code, Severity::Error, &name, e.message.clone());
                if let Some(real) = e
                    .path
                    .as_deref()
                    .and_then(|p| std::fs::canonicalize(p).ok())
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                {
                    names.push(real);
                }
            }
            Ok(prog) => {
                if let Some(n) = prog.path.file_name() {
                    names.push(n.to_string_lossy().into_owned());
                }
                self.command_file(&name, &prog.path);
                // Directories above the canonical file, then above the path it was found
                // at (a symlink there could be redirected); each directory once.
                let literal_parent = prog.found_at.parent().map(Path::to_owned);
                let dirs = dirs_above(&prog.path)
                    .map(Path::to_owned)
                    .chain(literal_parent.iter().flat_map(|p| {
                        std::iter::once(p.to_owned()).chain(dirs_above(p).map(Path::to_owned))
                    }))
                    .collect::<Vec<_>>();
                let mut seen_ids = Vec::new();
                for dir in dirs {
                    let Ok(meta) = std::fs::metadata(&dir) else {
                        continue;
                    };
                    let id = (meta.dev(), meta.ino());
                    if seen_ids.contains(&id) {
                        continue;
                    }
                    seen_ids.push(id);
                    self.command_dir(&name, &prog.path, &prog.found_at, &dir, &meta);
                }
                literal = Some(prog.found_at.clone());
                resolved = Some(prog);
            }
        }
        names.dedup();
        self.launcher(entry, literal.as_deref(), resolved.as_ref(), &names);
    }

    /// The `policy.command.launcher` finding of an entry, if any (one at most): reached
    /// through a link of procfs, or the supervisor by identity (errors); the program running
    /// the review, or a launcher by name (warnings).
    fn launcher(
        &mut self,
        entry: &AllowEntry,
        literal: Option<&Path>,
        prog: Option<&AllowedProgram>,
        names: &[String],
    ) {
        let name = &entry.to_string();
        if let Some(link) = literal.and_then(supervisor::proc_link_on_path) {
            let now = prog.map_or_else(String::new, |p| {
                format!(" (for this review: {})", p.path.display())
            });
            self.push(
                COMMAND_LAUNCHER,
                Severity::Error,
                name,
                format!(
                    "`{name}` goes through {}, a link of procfs that stands for whatever a process runs or holds open when the policy is installed{now}, not for a file on disk (through /proc/self/exe: the supervisor itself, which runs any program); allow the program by its own path",
                    link.display()
                ),
            );
            return;
        }
        if let Some(p) = prog {
            let path = p.path.display();
            if supervisor::has_supervisor_note(&p.path).unwrap_or(false) {
                self.push(
                    COMMAND_LAUNCHER,
                    Severity::Error,
                    name,
                    format!(
                        "`{name}` resolves to {path}, the reml-process supervisor (it carries the supervisor's ELF note, whatever its name): `{path} run -- PROGRAM` runs any program with any arguments, environment and working directory under a policy of its caller's choosing, with no audit record of it, so nothing this policy restricts holds for what it starts; allow the programs themselves instead"
                    ),
                );
                return;
            }
            if supervisor::is_running_program(p.id) {
                self.push(
                    COMMAND_LAUNCHER,
                    Severity::Warning,
                    name,
                    format!(
                        "`{name}` resolves to {path}, the program running this review (/proc/self/exe): the host of the capability allows itself; if its arguments can name a program to run, allowing it allows any program"
                    ),
                );
                return;
            }
        }
        let Some((n, l)) = names.iter().find_map(|n| launcher_kind(n).map(|l| (n, l))) else {
            return;
        };
        let via = if Some(n.as_str()) == entry.file_name() {
            format!("`{name}` is {}", l.why)
        } else {
            format!("`{name}` resolves to `{n}`, {}", l.why)
        };
        let how = if l.how.is_empty() {
            String::new()
        } else {
            format!(" ({})", l.how)
        };
        self.push(
            COMMAND_LAUNCHER,
            Severity::Warning,
            name,
            format!("{via}{how}; allowing it allows any program (it defeats the allow-list)"),
        );
    }

    fn command_file(&mut self, name: &str, path: &Path) {
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        let mode = mode_of(&meta);
        if mode & 0o022 != 0 {
            self.push(
                COMMAND_WRITABLE,
                Severity::Error,
                name,
                format!(
                    "{} (mode {mode:04o}) is writable by {}: it could be replaced after review",
                    path.display(),
                    who_can_write(mode)
                ),
            );
        }
        if !self.trusted_owner(meta.uid()) {
            self.push(
                COMMAND_UNTRUSTED_OWNER,
                Severity::Warning,
                name,
                format!(
                    "{} is owned by uid {}, neither root nor us (uid {}): that user can replace it",
                    path.display(),
                    meta.uid(),
                    self.euid
                ),
            );
        }
    }

    /// Whether `dir` (with `meta`) is a sticky directory owned by root or us whose entry on
    /// the way to `paths` is owned by root or us too: then nobody else can remove or rename
    /// that entry, so the path cannot be redirected through `dir` although it is writable.
    fn sticky_but_safe(&self, dir: &Path, meta: &std::fs::Metadata, paths: &[&Path]) -> bool {
        mode_of(meta) & 0o1000 != 0
            && self.trusted_owner(meta.uid())
            && Self::entry_below(dir, paths)
                .and_then(|e| std::fs::symlink_metadata(e).ok())
                .is_some_and(|m| self.trusted_owner(m.uid()))
    }

    /// The entry of `dir` through which `paths` pass (`dir/first-component`), if any.
    fn entry_below(dir: &Path, paths: &[&Path]) -> Option<std::path::PathBuf> {
        paths.iter().find_map(|p| {
            let rest = p.strip_prefix(dir).ok()?;
            let first = rest.components().next()?;
            Some(dir.join(first))
        })
    }

    fn command_dir(
        &mut self,
        name: &str,
        file: &Path,
        found_at: &Path,
        dir: &Path,
        meta: &std::fs::Metadata,
    ) {
        let mode = mode_of(meta);
        // A sticky directory (like /tmp, mode 1777) owned by root or us is safe on the way
        // when the entry of it that the path goes through is owned by root or us too: the
        // sticky bit stops everyone else from removing or renaming that entry, so the path
        // cannot be redirected (what they can do — create other entries — does not touch it).
        if mode & 0o022 != 0 && !self.sticky_but_safe(dir, meta, &[file, found_at]) {
            let sticky = if mode & 0o1000 != 0 {
                " (it is sticky, but the entry the path goes through is not owned by root or us, so its owner can swap it)"
            } else {
                ""
            };
            self.push(
                COMMAND_DIR_WRITABLE,
                Severity::Error,
                name,
                format!(
                    "directory {} (mode {mode:04o}) on the way to {} is writable by {}{sticky}: the program could be replaced after review",
                    dir.display(),
                    file.display(),
                    who_can_write(mode)
                ),
            );
        }
        if !self.trusted_owner(meta.uid()) {
            self.push(
                COMMAND_UNTRUSTED_OWNER,
                Severity::Warning,
                name,
                format!(
                    "directory {} on the way to {} is owned by uid {}, neither root nor us (uid {}): that user can replace what it holds",
                    dir.display(),
                    file.display(),
                    meta.uid(),
                    self.euid
                ),
            );
        }
    }

    fn search_path(&mut self, policy: &Policy) {
        if !policy
            .program_entries()
            .any(|e| matches!(e, AllowEntry::Name(_)))
        {
            return;
        }
        for dir in policy
            .commands
            .search_path
            .iter()
            .filter(|d| d.is_absolute())
        {
            if !dir.exists() {
                continue;
            }
            let shown = dir.display().to_string();
            for d in std::iter::once(dir.as_path()).chain(dirs_above(dir)) {
                let Ok(meta) = std::fs::metadata(d) else {
                    continue;
                };
                let mode = mode_of(&meta);
                // Above the search directory, a sticky directory owned by root or us is safe
                // when the entry the path goes through is trusted too (see `command_dir`);
                // the search directory itself must not be writable at all: planting a new
                // file needs no rename.
                let sticky_but_safe =
                    d != dir.as_path() && self.sticky_but_safe(d, &meta, &[dir.as_path()]);
                if mode & 0o022 != 0 && !sticky_but_safe {
                    let where_ = if d == dir.as_path() {
                        String::new()
                    } else {
                        format!(" (through {}, mode {mode:04o})", d.display())
                    };
                    self.push(
                        SEARCH_PATH_WRITABLE,
                        Severity::Error,
                        &shown,
                        format!(
                            "search_path directory {shown}{where_} is writable by {}: a program planted there under an allowed bare name would be picked at the next resolution",
                            who_can_write(mode)
                        ),
                    );
                    break;
                }
            }
        }
    }

    fn effect_scope(&mut self, policy: &Policy) {
        let c = &policy.commands;
        let l = &policy.limits;
        let mut needs: Vec<(&str, EffectSet)> = Vec::new();
        if policy.names_programs() {
            needs.push((
                "`commands.allow` or `[[commands.rule]]` names programs (spawning, waiting for and signalling children)",
                Operation::SpawnProcess { passes_fds: false }
                    .effects()
                    .union(Operation::WaitProcess.effects())
                    .union(Operation::KillProcess.effects()),
            ));
        }
        if c.pass_fds {
            needs.push((
                "`commands.pass_fds = true` (passing descriptors to a child)",
                Operation::SpawnProcess { passes_fds: true }.effects(),
            ));
        }
        if l.max_output_bytes.is_some() {
            needs.push((
                "`limits.max_output_bytes` is set (collecting output)",
                Operation::WaitWithOptions {
                    collect_output: true,
                }
                .effects(),
            ));
        }
        if l.max_threads.is_some_and(|n| n > 0) {
            needs.push((
                "`limits.max_threads` allows threads (creating and joining them)",
                Operation::CreateThread
                    .effects()
                    .union(Operation::JoinThread.effects()),
            ));
        }
        if l.allowed_cpus.is_some() {
            needs.push((
                "`limits.allowed_cpus` is set (setting thread affinity)",
                Operation::SetThreadAffinity.effects(),
            ));
        }
        if l.max_thread_priority.is_some() {
            needs.push((
                "`limits.max_thread_priority` is set (thread priorities)",
                Operation::CreateThread.effects(),
            ));
        }
        if policy.capability.audit_required {
            needs.push((
                "`capability.audit_required = true` (writing the audit log)",
                EffectSet::of(&[Effect::Audit]),
            ));
        }
        let Some(scope) = policy.capability.effect_scope else {
            self.push(
                EFFECT_SCOPE_ABSENT,
                Severity::Warning,
                "capability.effect_scope",
                format!(
                    "no effect_scope: every effect of the plugin is granted ({}); declare the effects this installation needs",
                    super::PLUGIN_EFFECTS
                ),
            );
            return;
        };
        let needed = needs
            .iter()
            .fold(EffectSet::EMPTY, |acc, (_, s)| acc.union(*s));
        for effect in needed.difference(scope).iter() {
            let why: Vec<&str> = needs
                .iter()
                .filter(|(_, s)| s.contains(effect))
                .map(|(w, _)| *w)
                .collect();
            self.push(
                EFFECT_SCOPE_MISSING,
                Severity::Error,
                effect.as_str(),
                format!(
                    "effect `{effect}` is not in `capability.effect_scope` but the policy needs it: {}; every such call would be denied",
                    why.join("; ")
                ),
            );
        }
    }

    fn limits(&mut self, policy: &Policy) {
        let l = &policy.limits;
        let zero = |v: Option<u64>| v == Some(0);
        let zero_d = |v: Option<std::time::Duration>| v.is_some_and(|d| d.is_zero());
        let checks: [(bool, &str, &str); 7] = [
            (
                zero(l.max_processes),
                "max_processes",
                "no child can ever be spawned",
            ),
            (
                zero(l.max_threads),
                "max_threads",
                "no thread can ever be created",
            ),
            (
                zero_d(l.max_wall_time),
                "max_wall_time",
                "every wait times out at once",
            ),
            (
                zero(l.max_output_bytes),
                "max_output_bytes",
                "collected output is always empty and capped",
            ),
            (
                zero_d(l.cpu_time),
                "cpu_time",
                "a child gets SIGXCPU after its first second of CPU",
            ),
            (
                zero(l.address_space),
                "address_space",
                "no child can even be loaded",
            ),
            (
                zero(l.open_files),
                "open_files",
                "a child cannot even hold stdin, stdout and stderr",
            ),
        ];
        for (hit, key, why) in checks {
            if hit {
                self.push(
                    LIMITS_ZERO,
                    Severity::Warning,
                    &format!("limits.{key}"),
                    format!("`{key}` is 0: {why}"),
                );
            }
        }
        if let Some(n @ 1..=2) = l.open_files {
            self.push(
                LIMITS_NONSENSICAL,
                Severity::Warning,
                "limits.open_files",
                format!("`open_files = {n}`: a child needs at least 3 descriptors for stdin, stdout and stderr"),
            );
        }
        if let (Some(n), Some(max)) = (l.open_files, read_nr_open()) {
            if n > max {
                self.push(
                    LIMITS_NONSENSICAL,
                    Severity::Warning,
                    "limits.open_files",
                    format!("`open_files = {n}` is above the kernel's ceiling /proc/sys/fs/nr_open = {max}: no process can have that many; children get the host's hard limit instead"),
                );
            }
        }
        if let Some(b @ 1..=0xFF_FFFF) = l.address_space {
            self.push(
                LIMITS_NONSENSICAL,
                Severity::Warning,
                "limits.address_space",
                format!("`address_space = {b}` bytes is below 16 MiB: most programs cannot even be loaded"),
            );
        }
        if let Some(d) = l.cpu_time.filter(|d| !d.is_zero() && d.subsec_nanos() != 0) {
            self.push(
                LIMITS_NONSENSICAL,
                Severity::Warning,
                "limits.cpu_time",
                format!(
                    "`cpu_time` = {d:?}: RLIMIT_CPU counts whole seconds, so it is rounded up to {} s",
                    cpu_seconds(d)
                ),
            );
        }
        self.limits_above_host(policy);
        if l.max_wall_time.is_none() {
            self.push(
                LIMITS_NO_WALL_TIME,
                Severity::Warning,
                "limits.max_wall_time",
                "no `max_wall_time`: a wait without its own time limit may last forever".to_owned(),
            );
        }
    }

    /// `policy.limits.above_host`: each rlimit of the policy whose hard value is above our
    /// own hard limit (which children inherit and the policy layer never exceeds).
    fn limits_above_host(&mut self, policy: &Policy) {
        for r in policy.child_rlimits() {
            let (Some(hard), Some(host)) =
                (r.hard, crate::sys::imp::process::hard_rlimit(r.resource))
            else {
                continue;
            };
            if hard <= host {
                continue;
            }
            let l = &policy.limits;
            let (key, value) = match r.resource {
                Resource::CpuTime => (
                    "cpu_time",
                    l.cpu_time.map_or_else(String::new, |d| {
                        format!(
                            "{d:?} (RLIMIT_CPU soft {} s, hard {hard} s)",
                            r.soft.unwrap_or(hard)
                        )
                    }),
                ),
                Resource::AddressSpace => ("address_space", format!("{hard} bytes")),
                Resource::OpenFiles => ("open_files", hard.to_string()),
                other => (other.name(), hard.to_string()),
            };
            let soft = r.soft.map_or(host, |s| s.min(host));
            self.push(
                LIMITS_ABOVE_HOST,
                Severity::Warning,
                &format!("limits.{key}"),
                format!(
                    "`{key}` = {value} is above this host's hard limit {} = {host} (of the process running the review, which every child inherits and only a privileged process could raise): children get soft {soft}, hard {host}, the stricter of the two",
                    r.resource.name()
                ),
            );
        }
    }

    fn cpus(&mut self, policy: &Policy) {
        let Some(allowed) = &policy.limits.allowed_cpus else {
            return;
        };
        let Some((machine, source)) = machine_cpus() else {
            self.push(
                CPUS_UNCHECKED,
                Severity::Info,
                "limits.allowed_cpus",
                "the CPUs of this machine could not be read (/sys/devices/system/cpu/possible, sched_getaffinity); allowed_cpus was not checked".to_owned(),
            );
            return;
        };
        let absent = allowed.difference(&machine);
        if !absent.is_empty() {
            let absent = CpuList::from_ids(absent).map_or_else(|e| e, |l| l.to_string());
            self.push(
                CPUS_ABSENT,
                Severity::Warning,
                "limits.allowed_cpus",
                format!("`allowed_cpus = \"{allowed}\"` names CPUs {absent} that this machine does not have ({source}: {machine})"),
            );
        }
    }

    fn env(&mut self, policy: &Policy) {
        if !policy.names_programs() {
            return;
        }
        let leaking: Vec<&str> = ["LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH"]
            .into_iter()
            .filter(|n| policy.env_passes(std::ffi::OsStr::new(n)))
            .collect();
        if !leaking.is_empty() {
            self.push(
                ENV_LOADER_NOT_DENIED,
                Severity::Warning,
                "env.deny",
                format!(
                    "{} can reach a child (not in `env.deny`{}): each makes an allowed program load and run other code",
                    leaking.join(", "),
                    if policy.env.allow.is_empty() { ", no `env.allow` list" } else { "" }
                ),
            );
        }
    }

    fn cwd(&mut self, policy: &Policy) {
        for root in policy.commands.allowed_cwd.iter().flatten() {
            if !root.is_dir() {
                let shown = root.display().to_string();
                self.push(
                    CWD_NOT_FOUND,
                    Severity::Warning,
                    &shown,
                    format!("allowed_cwd root {shown} does not exist or is not a directory: no cwd can lie under it"),
                );
            }
        }
    }
}

/// The CPUs of this machine and where they were read from.
fn machine_cpus() -> Option<(CpuList, &'static str)> {
    if let Some(l) = std::fs::read_to_string("/sys/devices/system/cpu/possible")
        .ok()
        .and_then(|t| CpuList::parse(&t).ok())
    {
        return Some((l, "/sys/devices/system/cpu/possible"));
    }
    machine_cpus_from_affinity()
}

#[cfg(reml_linux)]
fn machine_cpus_from_affinity() -> Option<(CpuList, &'static str)> {
    let set = rustix::thread::sched_getaffinity(None).ok()?;
    let ids = (0..rustix::thread::CpuSet::MAX_CPU)
        .filter(|&i| set.is_set(i))
        .filter_map(|i| u32::try_from(i).ok());
    CpuList::from_ids(ids)
        .ok()
        .map(|l| (l, "sched_getaffinity"))
}

/// Off Linux the CPUs are not read from the scheduler: unknown (the review says so).
#[cfg(not(reml_linux))]
fn machine_cpus_from_affinity() -> Option<(CpuList, &'static str)> {
    None
}

fn read_nr_open() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()?
        .trim()
        .parse()
        .ok()
}

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
