//! `reml-process verify POLICY [--json]` (contract.md §1): the installation-time security
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
//! Exit status: 0 when there is no error finding (warnings allowed), 1 when there is at
//! least one, 125 when the policy cannot be read or parsed (one line on standard error:
//! `reml-process: POLICY: line L, column C: MESSAGE`; nothing on standard output) or the
//! report cannot be written ([`crate::output`]; a closed pipe keeps the status).

use std::path::PathBuf;

use clap::Args;
use reml_process::policy::{verify_capability_security, Finding, Policy};
use reml_process::Severity;
use serde::Serialize;

use crate::output::escape_controls;

/// The `--json` object, fields in the contract's order.
#[derive(Serialize)]
struct JsonReport<'a> {
    policy: String,
    ok: bool,
    findings: &'a [Finding],
}

/// Exit status when the review found at least one error.
pub const EXIT_FINDINGS: i32 = 1;

/// Options of `verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The policy file to review.
    pub policy: PathBuf,
    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `verify`; returns the exit status.
pub fn main(args: VerifyArgs) -> i32 {
    let policy = match Policy::from_path(&args.policy) {
        Ok(p) => p,
        Err(e) => {
            // `PolicyError`'s Display starts with the path.
            crate::cli::error_line(e);
            return crate::cli::EXIT_OWN_FAILURE;
        }
    };
    let review = verify_capability_security(&policy);
    let out = if args.json {
        let report = JsonReport {
            policy: args.policy.to_string_lossy().into_owned(),
            ok: !review.has_errors(),
            findings: review.findings(),
        };
        match serde_json::to_string(&report) {
            Ok(s) => s + "\n",
            Err(e) => {
                crate::cli::error_line(format!("verify: cannot encode the report: {e}"));
                return crate::cli::EXIT_OWN_FAILURE;
            }
        }
    } else {
        let mut s = String::new();
        for f in review.findings() {
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
    };
    crate::output::stdout(out.as_bytes());
    if review.has_errors() {
        EXIT_FINDINGS
    } else {
        0
    }
}
