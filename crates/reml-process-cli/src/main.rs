//! The `reml-process` command (`contract.md` §1). `main` only maps `cli::main()`'s result to
//! an exit status.
#![deny(unsafe_code)]

mod audit_cmd;
mod check;
mod cli;
mod describe;
mod generate;
mod policies;
mod run;
mod signals;
mod verify;

fn main() {
    std::process::exit(cli::main());
}
