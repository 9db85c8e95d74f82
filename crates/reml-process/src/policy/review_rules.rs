//! The review findings of argument rules, content pins and narrowing (the codes are in the
//! table of [`super::review`]).

use super::review::codes::{
    NARROW_EMPTY, NARROW_NOTHING_ALLOWED, RULE_ALLOWED_TOO, RULE_BAD_DIGEST, RULE_NO_PATTERNS,
    RULE_REST_NOT_LAST,
};
use super::review::Finding;
use super::Policy;
use crate::error::Severity;

fn finding(code: &'static str, severity: Severity, entry: String, message: String) -> Finding {
    Finding {
        code,
        severity,
        entry,
        message,
    }
}

/// The findings of `policy`'s rules and of its narrowing, in rule order, then narrowing.
pub(super) fn findings(policy: &Policy) -> Vec<Finding> {
    let mut out = Vec::new();
    let resolved_allow: Vec<_> = policy
        .commands
        .allow
        .iter()
        .map(|e| (e, policy.resolve_entry(e).ok()))
        .collect();
    for (i, rule) in policy.commands.rules.iter().enumerate() {
        let key = format!("commands.rule[{i}]");
        let program = policy.resolve_entry(&rule.program).ok();
        let also_allowed = resolved_allow.iter().find(|(e, p)| {
            **e == rule.program
                || matches!((p, &program), (Some(a), Some(b)) if a.path == b.path && a.id == b.id)
        });
        if let Some((e, _)) = also_allowed {
            out.push(finding(
                RULE_ALLOWED_TOO,
                Severity::Error,
                key.clone(),
                format!(
                    "`{}` of {key} is also allowed by `commands.allow` entry `{e}`, which lets it run with any arguments{}: remove it from `allow` to restrict it",
                    rule.program,
                    if rule.sha256.is_some() { " and any content" } else { "" }
                ),
            ));
        }
        if let Some(patterns) = &rule.args {
            if patterns.is_empty() {
                out.push(finding(
                    RULE_NO_PATTERNS,
                    Severity::Warning,
                    format!("{key}.args"),
                    format!("{key} has `args = []`: no argument list matches, so it allows nothing (omit `args` to allow any arguments, or write `[[]]` for none)"),
                ));
            }
            for (j, p) in patterns.iter().enumerate() {
                if let Some(t) = p.rest_not_last() {
                    out.push(finding(
                        RULE_REST_NOT_LAST,
                        Severity::Error,
                        format!("{key}.args[{j}]"),
                        format!("pattern {p} has \"**\" at token {t}, not last: \"**\" matches all remaining arguments, so nothing can follow it and the pattern matches nothing"),
                    ));
                }
            }
        }
        if let Some(pin) = &rule.sha256 {
            if pin.digest().is_none() {
                out.push(finding(
                    RULE_BAD_DIGEST,
                    Severity::Error,
                    format!("{key}.sha256"),
                    format!(
                        "`{}` is not a SHA-256 digest (64 hexadecimal digits, as `sha256sum` prints): the rule allows nothing",
                        pin.as_str().escape_default()
                    ),
                ));
            }
        }
    }
    if policy.narrowed_count() > 1 {
        narrowing(policy, &mut out);
    }
    out
}

/// What only a narrowed policy can get wrong: nothing left in common.
fn narrowing(policy: &Policy, out: &mut Vec<Finding>) {
    let programs = policy.resolve_programs();
    if programs.each_names_a_program() && programs.common_programs().is_empty() {
        out.push(finding(
            NARROW_NOTHING_ALLOWED,
            Severity::Error,
            "commands".to_owned(),
            format!(
                "each of the {} policies allows programs, but no program is allowed by all of them (compared by canonical path and identity): the narrowed policy can run nothing",
                programs.policies()
            ),
        ));
    }
    let mut empty = |key: &str, what: &str| {
        out.push(finding(
            NARROW_EMPTY,
            Severity::Warning,
            key.to_owned(),
            format!("the policies have no {what} in common: the narrowed policy allows none"),
        ));
    };
    if policy.capability.effect_scope.is_some_and(|s| s.is_empty()) {
        empty("capability.effect_scope", "effect");
    }
    if policy
        .commands
        .allowed_signals
        .as_ref()
        .is_some_and(|s| s.is_empty())
    {
        empty("commands.allowed_signals", "signal");
    }
    if policy
        .commands
        .allowed_cwd
        .as_ref()
        .is_some_and(|s| s.is_empty())
    {
        empty("commands.allowed_cwd", "working directory");
    }
    if policy.env.allow_none {
        empty("env.allow", "environment variable name");
    }
    if policy
        .limits
        .allowed_cpus
        .as_ref()
        .is_some_and(|c| c.is_empty())
    {
        empty("limits.allowed_cpus", "CPU");
    }
}
