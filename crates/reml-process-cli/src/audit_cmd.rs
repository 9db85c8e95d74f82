//! `reml-process audit verify FILE` (`docs/command.md`).

use std::path::PathBuf;

use clap::Subcommand;
use reml_process::audit::{verify_log, VerifyError};

/// Exit status of `audit verify` when the log has a bad line (or, with `--strict`, an open
/// lifecycle).
pub const EXIT_BAD_LOG: i32 = 1;

/// Subcommands of `audit`.
#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Check an audit log: parsing, contiguous sequence numbers, the hash chain.
    Verify {
        /// The audit log (JSON Lines).
        file: PathBuf,
        /// Exit 1 when a process's start is recorded without its end (a lifecycle left open).
        #[arg(long)]
        strict: bool,
    },
}

/// Runs an `audit` subcommand; returns the exit status.
///
/// `audit verify FILE` ([`reml_process::audit::verify_log`]):
/// - a good log: exit 0, `ok: N records` on stdout (followed by
///   ` (K torn lines recovered: lines …)` when a crash left lines that a recovery record
///   vouches for); when `process.spawned` records have no end record for the same process,
///   a second line `open: N lifecycles without an end record: pid P (PROGRAM), …`, and exit
///   1 instead of 0 with `--strict`;
/// - a bad log: exit 1, one line on stdout naming the first bad line and why
///   (`line 7: sequence gap: expected seq 7, found 9 (…)`);
/// - a file that cannot be read: exit 125, `reml-process: FILE: REASON` on stderr.
pub fn main(cmd: AuditCmd) -> i32 {
    match cmd {
        AuditCmd::Verify { file, strict } => match verify_log(&file) {
            Ok(summary) => {
                print_line(&summary);
                match summary.open_line() {
                    Some(open) => {
                        print_line(&open);
                        if strict {
                            EXIT_BAD_LOG
                        } else {
                            0
                        }
                    }
                    None => 0,
                }
            }
            Err(e @ VerifyError::BadLine { .. }) => {
                print_line(&e);
                EXIT_BAD_LOG
            }
            Err(e @ VerifyError::Io { .. }) => {
                crate::exit::error_line(e);
                crate::exit::EXIT_OWN_FAILURE
            }
        },
    }
}

/// Prints one line on stdout, through [`crate::output`], its control characters escaped (a
/// line of the log or a program name it records may hold any).
fn print_line(line: &dyn std::fmt::Display) {
    let line = crate::output::escape_controls(&line.to_string());
    crate::output::stdout(format!("{line}\n").as_bytes());
}
