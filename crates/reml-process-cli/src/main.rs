//! The `reml-process` command (`docs/command.md`). `main` only maps `cli::main()`'s result to
//! an exit status.
#![deny(unsafe_code)]

mod audit_cmd;
mod check;
mod cli;
mod describe;
mod generate;
mod output;
mod pass_fd;
mod policies;
mod run;
mod serve;
mod signals;
mod verify;

// The ELF note by which a security review recognises this command whatever it is called:
// allowing it in a policy would allow every program.
reml_process::supervisor_note!();

fn main() {
    std::process::exit(cli::main());
}
