//! `reml-process audit verify FILE` (contract.md §1).

use std::path::PathBuf;

use clap::Subcommand;

/// Subcommands of `audit`.
#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Check an audit log: parsing, contiguous sequence numbers, the hash chain.
    Verify {
        /// The audit log (JSON Lines).
        file: PathBuf,
    },
}

/// Runs an `audit` subcommand; returns the exit status.
pub fn main(_cmd: AuditCmd) -> i32 {
    crate::cli::error_line("audit verify: not supported yet");
    crate::cli::EXIT_OWN_FAILURE
}
