//! The `reml-process` command (`docs/command.md`): parses the command line ([`cli`]), runs the
//! subcommand, and exits with its status ([`exit`]).
#![deny(unsafe_code)]

use clap::CommandFactory;

mod audit_cmd;
mod check;
mod cli;
mod describe;
mod exit;
mod generate;
mod output;
mod pass_fd;
mod policies;
mod run;
mod serve;
mod signals;
mod values;
mod verify;

// The ELF note by which a security review recognises this command whatever it is called:
// allowing it in a policy would allow every program.
reml_process::supervisor_note!();

/// Parses the command line and runs the subcommand; exits with its status, 125 when the
/// output could not be written ([`exit::finish`]).
fn main() {
    // A write past our file-size limit is an error we report (125), never a SIGXFSZ that
    // would end us silently; the job's own dispositions are its caller's (see signals.rs).
    reml_process::supervise::ignore_file_size_signal();
    std::process::exit(exit::finish(dispatch()));
}

/// The subcommand run; returns its exit status.
fn dispatch() -> i32 {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(status) => return status,
    };
    match cli.command {
        cli::Cmd::Run(args) => run::main(*args),
        cli::Cmd::Verify(args) => verify::main(args),
        cli::Cmd::Check(args) => check::main(args),
        cli::Cmd::Describe(args) => describe::main(args),
        cli::Cmd::Serve(args) => serve::main(args),
        cli::Cmd::Audit { command } => audit_cmd::main(command),
        cli::Cmd::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cli::Cli::command(), "reml-process", &mut out);
            output::stdout(&out);
            0
        }
        cli::Cmd::Man => match generate::man_page(cli::Cli::command()) {
            Ok(page) => {
                output::stdout(&page);
                0
            }
            Err(e) => {
                exit::error_line(format_args!("cannot render the man page: {e}"));
                exit::EXIT_OWN_FAILURE
            }
        },
    }
}
