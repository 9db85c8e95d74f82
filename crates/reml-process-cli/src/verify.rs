//! `reml-process verify POLICY [--json]` (contract.md §1).

use std::path::PathBuf;

use clap::Args;

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
pub fn main(_args: VerifyArgs) -> i32 {
    crate::cli::error_line("verify: not supported yet");
    crate::cli::EXIT_OWN_FAILURE
}
