//! `reml-process verify POLICY... [--json]` (`docs/command.md`): the installation-time security
//! review, `verify_capability_security`.
//!
//! Output, one finding per line on standard output:
//! `SEVERITY CODE ENTRY: MESSAGE` (e.g.
//! `error policy.command.writable /opt/x/tool: /opt/x/tool (mode 0777) is writable by …`),
//! then a summary line `N error(s), N warning(s), N info`. Control characters in entries and
//! messages are escaped so that a finding is always exactly one line.
//!
//! With `--json`, exactly one object on standard output:
//! `{"policy": PATH, "ok": BOOL, "findings": [{"code", "severity", "entry", "message"}, …]}`.
//!
//! Several files (`verify A B`, `docs/policy.md`) are reviewed each on its own and as the
//! narrowed policy they make together. Text: a `== FILE` block per file (its findings and
//! summary), then `== narrowed: A + B` with the findings only the combination has (such as
//! `policy.narrow.nothing_allowed`) and the combination's summary. JSON: `{"policy": [A, B],
//! "ok": BOOL, "findings": [the narrowed policy's findings], "files": [{"policy", "ok",
//! "findings"}, …]}`. Exit 1 when any file or the combination has an error.
//!
//! Exit status: 0 when there is no error finding (warnings allowed), 1 when there is at
//! least one, 125 when the policy cannot be read or parsed (one line on standard error:
//! `reml-process: POLICY: line L, column C: MESSAGE`; nothing on standard output) or the
//! report cannot be written ([`crate::output`]; a closed pipe keeps the status).

use std::path::PathBuf;

use clap::Args;
use reml_process::policy::{verify_capability_security, Finding, Review};
use reml_process::Severity;
use serde::Serialize;

use crate::output::escape_controls;

/// The `--json` object, fields in the documented order (`docs/command.md`).
#[derive(Serialize)]
struct JsonReport<'a> {
    policy: String,
    ok: bool,
    findings: &'a [Finding],
}

/// The `--json` object for several files: the narrowed policy's review, then each file's.
#[derive(Serialize)]
struct JsonNarrowedReport<'a> {
    policy: Vec<String>,
    ok: bool,
    findings: &'a [Finding],
    files: Vec<JsonReport<'a>>,
}

/// Exit status when the review found at least one error.
pub const EXIT_FINDINGS: i32 = 1;

/// Options of `verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The policy file to review; several files are reviewed each on its own and as the
    /// policy they make together (each further file narrows the ones before).
    #[arg(required = true, value_name = "POLICY")]
    pub policy: Vec<PathBuf>,
    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `verify`; returns the exit status.
pub fn main(args: VerifyArgs) -> i32 {
    let (each, narrowed) = match crate::policies::read_all(&args.policy) {
        Ok(p) => p,
        Err(e) => {
            // `PolicyError`'s Display starts with the path.
            crate::exit::error_line(e);
            return crate::exit::EXIT_OWN_FAILURE;
        }
    };
    let reviews: Vec<Review> = each.iter().map(verify_capability_security).collect();
    let combined = (each.len() > 1).then(|| verify_capability_security(&narrowed));
    let failed = reviews.iter().chain(&combined).any(Review::has_errors);
    let out = if args.json {
        let name = |p: &PathBuf| p.to_string_lossy().into_owned();
        let encoded = match &combined {
            None => serde_json::to_string(&JsonReport {
                policy: name(&args.policy[0]),
                ok: !failed,
                findings: reviews[0].findings(),
            }),
            Some(c) => serde_json::to_string(&JsonNarrowedReport {
                policy: args.policy.iter().map(name).collect(),
                ok: !failed,
                findings: c.findings(),
                files: args
                    .policy
                    .iter()
                    .zip(&reviews)
                    .map(|(p, r)| JsonReport {
                        policy: name(p),
                        ok: !r.has_errors(),
                        findings: r.findings(),
                    })
                    .collect(),
            }),
        };
        match encoded {
            Ok(s) => s + "\n",
            Err(e) => {
                crate::exit::error_line(format!("verify: cannot encode the report: {e}"));
                return crate::exit::EXIT_OWN_FAILURE;
            }
        }
    } else if let Some(c) = &combined {
        let mut s = String::new();
        for (p, r) in args.policy.iter().zip(&reviews) {
            s.push_str(&format!(
                "== {}\n",
                escape_controls(&p.display().to_string())
            ));
            s.push_str(&text(r.findings().iter(), r));
        }
        // The combination's own findings: those no single file has.
        let seen = |f: &&Finding| {
            reviews.iter().any(|r| {
                r.findings()
                    .iter()
                    .any(|g| g.code == f.code && g.entry == f.entry)
            })
        };
        s.push_str(&format!(
            "== narrowed: {}\n",
            escape_controls(&crate::policies::shown(&args.policy))
        ));
        s.push_str(&text(c.findings().iter().filter(|f| !seen(f)), c));
        s
    } else {
        text(reviews[0].findings().iter(), &reviews[0])
    };
    crate::output::stdout(out.as_bytes());
    if failed {
        EXIT_FINDINGS
    } else {
        0
    }
}

/// One line per finding, then the summary line of `review`'s counts.
fn text<'a>(findings: impl Iterator<Item = &'a Finding>, review: &Review) -> String {
    let mut s = String::new();
    for f in findings {
        s.push_str(&format!(
            "{} {} {}: {}\n",
            f.severity.as_str(),
            f.code,
            escape_controls(&f.entry),
            escape_controls(&f.message)
        ));
    }
    s.push_str(&format!(
        "{} error(s), {} warning(s), {} info\n",
        review.count(Severity::Error),
        review.count(Severity::Warning),
        review.count(Severity::Info)
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped() {
        assert_eq!(escape_controls("a\nb\x1b[0m"), "a\\nb\\x1b[0m");
        assert_eq!(escape_controls("plain é"), "plain é");
    }
}
