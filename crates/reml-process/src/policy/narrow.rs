//! Narrowing (`docs/policy.md`): the policy that allows only what two policies both
//! allow. See [`Policy::narrow`].

use std::path::PathBuf;

use super::rules::{ProgramGate, ResolvedPrograms};
use super::{AllowEntry, Policy};

/// Where a policy came from, and the programs of the policies it was narrowed with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Narrowing {
    /// The label of the policy's own `[commands]` (its file), for messages.
    pub(super) label: Option<String>,
    /// The `allow`, rules and `search_path` of every other policy it was narrowed with.
    pub(super) also: Vec<ProgramGate>,
}

/// The smaller of two optional limits (`None` = no limit).
fn min_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The union of two lists, sorted and without duplicates.
fn union_sorted<T: Ord + Clone>(a: &[T], b: &[T]) -> Vec<T> {
    let mut v: Vec<T> = a.iter().chain(b).cloned().collect();
    v.sort();
    v.dedup();
    v
}

/// The directories that lie under a root of `a` and under a root of `b`, compared
/// canonically (a root that does not exist is compared as written, and allows nothing at
/// installation either), sorted.
pub(super) fn intersect_cwd(a: &[PathBuf], b: &[PathBuf]) -> Vec<PathBuf> {
    let canon = |p: &PathBuf| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
    let a: Vec<PathBuf> = a.iter().map(canon).collect();
    let b: Vec<PathBuf> = b.iter().map(canon).collect();
    let mut out = Vec::new();
    for x in &a {
        for y in &b {
            if x.starts_with(y) {
                out.push(x.clone());
            } else if y.starts_with(x) {
                out.push(y.clone());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

impl Policy {
    /// The policy that allows **only what both `self` and `other` allow** (`docs/policy.md`,
    /// "Several policies: narrowing"): `--policy A --policy B`, `verify A B`, and a
    /// [`NarrowedCapability`](crate::layer::NarrowedCapability) all use it.
    ///
    /// | what | narrowed |
    /// | --- | --- |
    /// | programs | allowed only when **each** policy allows them, each resolving its own `allow` and rules in its own `search_path` and comparing by canonical path and identity: a program in `allow` of one and named by rules in the other must match those rules (arguments, content) |
    /// | `capability.effect_scope` | the intersection (an absent scope counts as every effect of the plugin) |
    /// | `capability.stage` | the highest required |
    /// | `capability.audit_required` | `true` if either says so |
    /// | `capability.isolation_level` | the stricter |
    /// | `commands.allowed_signals`, `commands.allowed_cwd` | the intersection (absent = any); two cwd roots meet in the deeper one, compared canonically |
    /// | `commands.pass_fds` | `false` if either says so |
    /// | `env.inherit` | `false` if either says so |
    /// | `env.deny` | the union |
    /// | `env.allow` | the intersection of the non-empty lists; when two non-empty lists share no name, no variable passes ([`EnvSection::allow_none`](super::EnvSection::allow_none)) |
    /// | each `[limits]` count, time and size | the smallest given |
    /// | `limits.core_dump` | `false` if either says so |
    /// | `limits.allowed_cpus` | the intersection (it may be empty: then no affinity can be set) |
    /// | `limits.max_thread_priority` | the lower ceiling |
    /// | `limits.output_cap_action` | `kill` if either says so |
    /// | `audit.redact` | the union |
    ///
    /// The result never allows anything that `self` or `other` refuses, and does not depend
    /// on the order (`a.narrow(&b)` and `b.narrow(&a)` decide alike; the lists are kept
    /// sorted). Narrowing a narrowed policy again keeps every policy's programs. The first
    /// policy's `allow`, rules and `search_path` stay in [`Policy::commands`]; the others'
    /// are kept inside the result and applied by [`Policy::resolve_programs`].
    ///
    /// # Caveats
    /// `allowed_cwd` roots are canonicalised *now* (the file system is read); a root that
    /// does not exist is compared as written. Two argument rules for the same program are
    /// not intersected into one: both are applied at every spawn, which is the same
    /// decision. The review reports a narrowing that leaves no program in common
    /// (`policy.narrow.nothing_allowed`) or empties a list (`policy.narrow.empty`).
    ///
    /// # Examples
    /// ```
    /// use reml_process::policy::Policy;
    /// use reml_process::Signal;
    ///
    /// let host = Policy::from_toml_str(r#"
    ///     [commands]
    ///     allow = ["/bin/sh", "/bin/echo"]
    ///     allowed_signals = ["TERM", "KILL", "INT"]
    ///     [limits]
    ///     max_processes = 8
    /// "#).unwrap();
    /// let job = Policy::from_toml_str(r#"
    ///     [commands]
    ///     allow = ["/bin/echo"]
    ///     allowed_signals = ["TERM", "HUP"]
    ///     [limits]
    ///     max_processes = 64
    ///     max_wall_time = "30s"
    /// "#).unwrap();
    /// let both = host.narrow(&job);
    /// assert_eq!(both.allowed_signals(), Some(&[Signal::TERM][..]));
    /// assert_eq!(both.limits.max_processes, Some(8));
    /// assert_eq!(both.limits.max_wall_time, Some(std::time::Duration::from_secs(30)));
    /// ```
    pub fn narrow(&self, other: &Policy) -> Policy {
        let (a, b) = (self, other);
        let mut out = a.clone();

        let c = &mut out.capability;
        c.stage = a.capability.stage.max(b.capability.stage);
        c.effect_scope = match (a.capability.effect_scope, b.capability.effect_scope) {
            (None, None) => None,
            _ => Some(a.effect_scope().intersection(b.effect_scope())),
        };
        c.audit_required = a.capability.audit_required || b.capability.audit_required;
        c.isolation_level = a
            .capability
            .isolation_level
            .max(b.capability.isolation_level);

        let k = &mut out.commands;
        k.allowed_signals = match (&a.commands.allowed_signals, &b.commands.allowed_signals) {
            (None, None) => None,
            (Some(x), None) | (None, Some(x)) => Some(x.clone()),
            (Some(x), Some(y)) => Some(x.iter().filter(|s| y.contains(s)).copied().collect()),
        };
        k.allowed_cwd = match (&a.commands.allowed_cwd, &b.commands.allowed_cwd) {
            (None, None) => None,
            (Some(x), None) | (None, Some(x)) => Some(intersect_cwd(x, x)),
            (Some(x), Some(y)) => Some(intersect_cwd(x, y)),
        };
        k.pass_fds = a.commands.pass_fds && b.commands.pass_fds;
        // The stricter isolation level (above) and the intersected sandbox paths.
        out.sandbox = a.sandbox.narrow(&b.sandbox);

        let e = &mut out.env;
        e.inherit = a.env.inherit && b.env.inherit;
        e.deny = union_sorted(&a.env.deny, &b.env.deny);
        e.allow_none = a.env.allow_none || b.env.allow_none;
        e.allow = match (a.env.allow.is_empty(), b.env.allow.is_empty()) {
            (true, true) => Vec::new(),
            (false, true) => union_sorted(&a.env.allow, &[]),
            (true, false) => union_sorted(&b.env.allow, &[]),
            (false, false) => {
                let both: Vec<String> = union_sorted(&a.env.allow, &[])
                    .into_iter()
                    .filter(|n| b.env.allow.contains(n))
                    .collect();
                if both.is_empty() {
                    e.allow_none = true;
                }
                both
            }
        };

        let (la, lb) = (&a.limits, &b.limits);
        let l = &mut out.limits;
        l.max_processes = min_opt(la.max_processes, lb.max_processes);
        l.max_threads = min_opt(la.max_threads, lb.max_threads);
        l.max_wall_time = min_opt(la.max_wall_time, lb.max_wall_time);
        l.max_output_bytes = min_opt(la.max_output_bytes, lb.max_output_bytes);
        l.cpu_time = min_opt(la.cpu_time, lb.cpu_time);
        l.address_space = min_opt(la.address_space, lb.address_space);
        l.open_files = min_opt(la.open_files, lb.open_files);
        // `false` (RLIMIT_CORE = 0) wins; `true` and absent both leave the inherited limit.
        l.core_dump = min_opt(la.core_dump, lb.core_dump);
        l.allowed_cpus = match (&la.allowed_cpus, &lb.allowed_cpus) {
            (None, None) => None,
            (Some(x), None) | (None, Some(x)) => Some(x.clone()),
            (Some(x), Some(y)) => Some(x.intersection(y)),
        };
        l.max_thread_priority = min_opt(la.max_thread_priority, lb.max_thread_priority);
        if lb.output_cap_action == super::OutputCapAction::Kill {
            l.output_cap_action = super::OutputCapAction::Kill;
        }

        out.audit.redact = {
            let mut v: Vec<_> = a
                .audit
                .redact
                .iter()
                .chain(&b.audit.redact)
                .cloned()
                .collect();
            v.sort_by(|x, y| x.as_str().cmp(y.as_str()));
            v.dedup();
            v
        };

        out.narrowing.also.extend(b.program_gates());
        out
    }

    /// `self` with `label` naming it in messages about its programs (the policy file; set
    /// by [`Policy::from_path`]). In a narrowed policy, grants and denials name each policy
    /// by its label (`b.toml: commands.rule[1]`), or by its position (`policy 2`).
    pub fn with_label(mut self, label: impl Into<String>) -> Policy {
        self.narrowing.label = Some(label.into());
        self
    }

    /// The label set by [`Policy::with_label`] or [`Policy::from_path`].
    pub fn label(&self) -> Option<&str> {
        self.narrowing.label.as_deref()
    }

    /// The number of policies this one combines: 1, plus one for each policy it was
    /// narrowed with.
    pub fn narrowed_count(&self) -> usize {
        1 + self.narrowing.also.len()
    }

    /// Every program entry of the policy: the `allow` entries, then the rules' programs (of
    /// its own `[commands]`; not those of the policies it was narrowed with).
    pub fn program_entries(&self) -> impl Iterator<Item = &AllowEntry> + '_ {
        self.commands
            .allow
            .iter()
            .chain(self.commands.rules.iter().map(|r| &r.program))
    }

    /// Whether the policy names any program (in `allow` or a rule).
    pub fn names_programs(&self) -> bool {
        self.program_entries().next().is_some()
    }

    /// The programs of every policy combined: its own, then those it was narrowed with.
    pub(crate) fn program_gates(&self) -> Vec<ProgramGate> {
        let own = ProgramGate {
            label: self.narrowing.label.clone(),
            allow: self.commands.allow.clone(),
            rules: self.commands.rules.clone(),
            search_path: self.commands.search_path.clone(),
        };
        std::iter::once(own)
            .chain(self.narrowing.also.iter().cloned())
            .collect()
    }

    /// Resolves the `allow` entries and the rules' programs of the policy — and of every
    /// policy it was narrowed with, each in its own `search_path` — to files, by the rule in
    /// the [module docs](crate::policy#resolving-the-allow-list). What the enforcement layer decides
    /// against ([`ResolvedPrograms::decide`]); entries that do not resolve allow nothing.
    ///
    /// Reads the file system now; call again (and review again) after installing or
    /// upgrading an allowed program.
    pub fn resolve_programs(&self) -> ResolvedPrograms {
        ResolvedPrograms::resolve(&self.program_gates())
    }
}
