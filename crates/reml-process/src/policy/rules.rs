//! Which programs a policy lets run, and with which arguments: `[commands] allow`, the
//! `[[commands.rule]]` entries (`docs/policy.md`) and, for a narrowed policy, those of
//! every policy it was narrowed with. One function, [`ResolvedPrograms::decide`],
//! takes the decision for the enforcement layer and for `reml-process check`.
//!
//! # The rule
//! A program is compared by its canonical path **and** identity (device + inode) with each
//! entry as resolved at installation ([`super::Policy::resolve_programs`]), then:
//!
//! 1. a program named in `allow` runs with **any** arguments (granted by
//!    `commands.allow[N]`);
//! 2. a program named only by rules runs when one of those rules accepts it: its `args`
//!    are absent (any arguments: `commands.rule[N]`) or one of its patterns matches the
//!    arguments after `argv[0]` (`commands.rule[N].args[M]`, see [`super::ArgPattern`]),
//!    **and** its `sha256`, when set, is the digest of the opened file that will be exec'd
//!    ([`super::ContentPin`], [`super::DigestCache`]);
//! 3. anything else is denied, naming the rule that came closest: a digest that does not
//!    match (`expected …, found …`) before arguments that match no pattern, before "not an
//!    allowed program". A file at an allowed path whose identity changed since installation
//!    is denied as replaced.
//!
//! A narrowed policy applies this to **every** policy it was made from, each with its own
//! `allow`, rules and `search_path`: a program runs only when each of them grants it, and
//! the grant names each policy's rule (`a.toml: commands.allow[0]; b.toml:
//! commands.rule[1].args[0]`).

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::args::ArgPattern;
use super::pin::{hex, ContentPin, DigestCache};
use super::resolve::{resolve_entry, AllowedProgram, FileId, ResolveError};
use super::types::AllowEntry;

/// One `[[commands.rule]]` entry (`docs/policy.md`): a program allowed only with matching
/// arguments, and optionally only with pinned content.
///
/// ```toml
/// [[commands.rule]]
/// program = "git"                         # as in allow: absolute path or bare name
/// args = [["status"], ["log", "**"], ["diff", "--stat", "*"]]   # omitted: any arguments
/// sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"  # optional
/// ```
///
/// - `program` is resolved exactly like an `allow` entry (canonical path and identity at
///   installation; bare names in the policy's `search_path`).
/// - `args` is a list of patterns ([`ArgPattern`]); the rule accepts an argument list that
///   matches **one** of them. Absent, it accepts any arguments; `args = []` accepts none.
/// - `sha256` ([`ContentPin`]) is checked against the content of the very file that is
///   opened, checked and exec'd, at every spawn (the digest of an unchanged file is cached:
///   [`DigestCache`] says exactly what the cache trusts). A malformed digest makes the rule
///   accept nothing.
///
/// # Caveats
/// A pin proves the content of the opened file when it is checked, just before the exec.
/// The file is exec'd through that descriptor, so a file *renamed* over the path changes
/// nothing, but a writer who can modify the same inode in place between the check and the
/// kernel's `execve` (microseconds) is not caught; the review's `policy.command.writable`
/// and `policy.command.dir_writable` are what keep others from writing it. A `#!` script is
/// exec'd by path (see the security layer), and its interpreter is not pinned.
///
/// Several rules may name the same program; it runs when any of them accepts it. A program
/// that is also in `allow` runs with any arguments, which the review reports as an error
/// (`policy.rule.allowed_too`), as it reports `"**"` not last (`policy.rule.rest_not_last`)
/// and a malformed digest (`policy.rule.bad_digest`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CommandRule {
    /// `program`, as written.
    pub program: AllowEntry,
    /// `args`: the accepted argument patterns; `None` = any arguments.
    pub args: Option<Vec<ArgPattern>>,
    /// `sha256`: the pinned content digest, if any.
    pub sha256: Option<ContentPin>,
}

impl CommandRule {
    /// A rule for `program` accepting any arguments, without a pin (add them with the
    /// fields).
    pub fn new(program: AllowEntry) -> CommandRule {
        CommandRule {
            program,
            args: None,
            sha256: None,
        }
    }
}

/// The programs one policy names: its `allow`, its rules and the `search_path` its bare
/// names are looked up in, with a label for messages (the policy file).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ProgramGate {
    pub(crate) label: Option<String>,
    pub(crate) allow: Vec<AllowEntry>,
    pub(crate) rules: Vec<CommandRule>,
    pub(crate) search_path: Vec<PathBuf>,
}

/// One policy's programs resolved to files.
#[derive(Clone, Debug)]
struct ResolvedGate {
    label: Option<String>,
    allow: Vec<(usize, AllowedProgram)>,
    rules: Vec<(usize, CommandRule, AllowedProgram)>,
    errors: Vec<ResolveError>,
}

/// The programs a policy (narrowed or not) allows, resolved to files at installation: what
/// [`ResolvedPrograms::decide`] compares a program against.
#[derive(Clone, Debug)]
pub struct ResolvedPrograms {
    gates: Vec<ResolvedGate>,
}

/// A program the policy allows, and by which rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The granting rule: `commands.allow[2]`, `commands.rule[0]` (a rule without `args`)
    /// or `commands.rule[0].args[1]`; for a narrowed policy, each policy's rule prefixed by
    /// its label and joined by `"; "`.
    pub rule: String,
}

/// Why a program is not allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// The rule that came closest (`commands.rule[1]`, `commands.rule[1].sha256`,
    /// `commands.allow[0]` for a replaced file), or `None` when nothing names the program.
    pub rule: Option<String>,
    /// One line: why (for a narrowed policy, which policy refused it first).
    pub reason: String,
}

impl ResolvedPrograms {
    pub(crate) fn resolve(gates: &[ProgramGate]) -> ResolvedPrograms {
        let gates = gates
            .iter()
            .map(|g| {
                let mut errors = Vec::new();
                let mut allow = Vec::new();
                for (i, e) in g.allow.iter().enumerate() {
                    match resolve_entry(e, &g.search_path) {
                        Ok(p) => allow.push((i, p)),
                        Err(err) => errors.push(err),
                    }
                }
                let mut rules = Vec::new();
                for (i, r) in g.rules.iter().enumerate() {
                    match resolve_entry(&r.program, &g.search_path) {
                        Ok(p) => rules.push((i, r.clone(), p)),
                        Err(err) => errors.push(err),
                    }
                }
                ResolvedGate {
                    label: g.label.clone(),
                    allow,
                    rules,
                    errors,
                }
            })
            .collect();
        ResolvedPrograms { gates }
    }

    /// The number of policies combined (1 for a policy that was not narrowed).
    pub fn policies(&self) -> usize {
        self.gates.len()
    }

    /// The entries (allow entries and rule programs, of every policy) that did not resolve:
    /// they allow nothing.
    pub fn errors(&self) -> impl Iterator<Item = &ResolveError> + '_ {
        self.gates.iter().flat_map(|g| g.errors.iter())
    }

    /// The files that every policy names (by `allow` or by a rule), by canonical path and
    /// identity, in the first policy's order. Empty means no program can run (with rules,
    /// a file in this list may still be refused for its arguments or content).
    pub fn common_programs(&self) -> Vec<(PathBuf, FileId)> {
        let named = |g: &ResolvedGate| -> Vec<(PathBuf, FileId)> {
            g.allow
                .iter()
                .map(|(_, p)| p)
                .chain(g.rules.iter().map(|(_, _, p)| p))
                .map(|p| (p.path.clone(), p.id))
                .collect()
        };
        let Some((first, rest)) = self.gates.split_first() else {
            return Vec::new();
        };
        let mut out: Vec<(PathBuf, FileId)> = Vec::new();
        for p in named(first) {
            if !out.contains(&p) && rest.iter().all(|g| named(g).contains(&p)) {
                out.push(p);
            }
        }
        out
    }

    /// Whether every policy names at least one program that resolved.
    pub fn each_names_a_program(&self) -> bool {
        self.gates
            .iter()
            .all(|g| !g.allow.is_empty() || !g.rules.is_empty())
    }

    /// The decision for the program at canonical path `canonical`, opened as `file` (the
    /// descriptor that will be exec'd) with identity `id`, started with arguments `args`
    /// (`argv[1..]`).
    ///
    /// # The rule
    /// The program is compared by canonical path **and** identity (device + inode) with
    /// each entry as resolved at installation, then:
    /// 1. a program named in `allow` runs with any arguments (`commands.allow[N]`);
    /// 2. a program named only by rules runs when one of them accepts it: no `args` (any
    ///    arguments: `commands.rule[N]`) or a pattern matching `args`
    ///    (`commands.rule[N].args[M]`, see [`ArgPattern`]), **and** its `sha256`, when set,
    ///    is the digest of `file` ([`ContentPin`], [`DigestCache`]);
    /// 3. anything else is denied, naming the closest rule: a digest that does not match
    ///    (`expected …, found …`) before arguments that match no pattern, before "not an
    ///    allowed program"; a file at an allowed path whose identity changed is "replaced".
    ///
    /// A narrowed policy applies this to each policy it combines, each with its own
    /// `allow`, rules and `search_path`; all must grant, and the grant names each one's
    /// rule, prefixed by its label (`a.toml: commands.allow[0]; b.toml:
    /// commands.rule[1].args[0]`, or `policy 2: …` without a label).
    ///
    /// Reads `file` only when a rule with a content pin accepts the arguments (through
    /// `digests`, which caches the digest of an unchanged file).
    ///
    /// # Errors
    /// A [`Denial`] naming the closest rule and the reason.
    pub fn decide(
        &self,
        canonical: &Path,
        id: FileId,
        file: &File,
        args: &[OsString],
        digests: &DigestCache,
    ) -> Result<Grant, Denial> {
        let many = self.gates.len() > 1;
        let mut granted = Vec::with_capacity(self.gates.len());
        for (k, gate) in self.gates.iter().enumerate() {
            let label = gate
                .label
                .clone()
                .unwrap_or_else(|| format!("policy {}", k + 1));
            match decide_gate(gate, canonical, id, file, args, digests) {
                Ok(rule) if many => granted.push(format!("{label}: {rule}")),
                Ok(rule) => granted.push(rule),
                Err(d) if many => {
                    return Err(Denial {
                        rule: d.rule.map(|r| format!("{label}: {r}")),
                        reason: format!("not allowed by {label}: {}", d.reason),
                    })
                }
                Err(d) => return Err(d),
            }
        }
        if granted.is_empty() {
            return Err(Denial {
                rule: None,
                reason: format!("{} is not an allowed program", canonical.display()),
            });
        }
        Ok(Grant {
            rule: granted.join("; "),
        })
    }
}

fn decide_gate(
    gate: &ResolvedGate,
    canonical: &Path,
    id: FileId,
    file: &File,
    args: &[OsString],
    digests: &DigestCache,
) -> Result<String, Denial> {
    let same = |p: &AllowedProgram| p.path == canonical && p.id == id;
    if let Some((i, _)) = gate.allow.iter().find(|(_, p)| same(p)) {
        return Ok(format!("commands.allow[{i}]"));
    }
    let rules: Vec<&(usize, CommandRule, AllowedProgram)> =
        gate.rules.iter().filter(|(_, _, p)| same(p)).collect();
    if rules.is_empty() {
        let replaced = gate
            .allow
            .iter()
            .map(|(i, p)| (format!("commands.allow[{i}]"), p))
            .chain(
                gate.rules
                    .iter()
                    .map(|(i, _, p)| (format!("commands.rule[{i}]"), p)),
            )
            .find(|(_, p)| p.path == canonical);
        return Err(match replaced {
            Some((rule, _)) => Denial {
                rule: Some(rule),
                reason: format!(
                    "{} is not the file that was allowed at installation (it was replaced)",
                    canonical.display()
                ),
            },
            None => Denial {
                rule: None,
                reason: format!("{} is not an allowed program", canonical.display()),
            },
        });
    }
    let mut content_failure: Option<Denial> = None;
    for (i, rule, _) in &rules {
        let accepted = match &rule.args {
            None => Some(format!("commands.rule[{i}]")),
            Some(patterns) => patterns
                .iter()
                .position(|p| p.matches(args))
                .map(|j| format!("commands.rule[{i}].args[{j}]")),
        };
        let Some(name) = accepted else {
            continue;
        };
        let Some(pin) = &rule.sha256 else {
            return Ok(name);
        };
        let failure = match pin.digest() {
            None => Denial {
                rule: Some(format!("commands.rule[{i}].sha256")),
                reason: format!(
                    "commands.rule[{i}].sha256 = \"{}\" is not a SHA-256 digest (64 hexadecimal digits), so the rule allows nothing",
                    pin.as_str().escape_default()
                ),
            },
            Some(expected) => match digests.digest_of(file) {
                Ok(found) if found == *expected => return Ok(name),
                Ok(found) => Denial {
                    rule: Some(format!("commands.rule[{i}].sha256")),
                    reason: format!(
                        "{} does not have the content commands.rule[{i}].sha256 pins: expected sha256 {}, found {}",
                        canonical.display(),
                        hex(expected),
                        hex(&found)
                    ),
                },
                Err(m) => Denial {
                    rule: Some(format!("commands.rule[{i}].sha256")),
                    reason: format!(
                        "{}: its content pin (commands.rule[{i}].sha256) cannot be checked: {m}",
                        canonical.display()
                    ),
                },
            },
        };
        content_failure.get_or_insert(failure);
    }
    if let Some(d) = content_failure {
        return Err(d);
    }
    let names: Vec<String> = rules
        .iter()
        .map(|(i, _, _)| format!("commands.rule[{i}]"))
        .collect();
    Err(Denial {
        rule: Some(names.join(", ")),
        reason: format!(
            "{} is allowed only with the arguments of {}, and its arguments match none of its patterns",
            canonical.display(),
            names.join(", ")
        ),
    })
}
