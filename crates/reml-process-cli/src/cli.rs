//! Argument parsing and dispatch.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::output::escape_controls;

/// Exit status for our own failures (bad option, invalid policy, audit not writable).
pub const EXIT_OWN_FAILURE: i32 = 125;

#[derive(Parser, Debug)]
#[command(
    name = "reml-process",
    version,
    about = "Run programs through the core.process capability",
    long_about = "Run programs through the core.process capability of the Reml language: \
every program is checked against a security policy (an allow-list of programs, environment \
rules, resource limits), run under a time limit that always holds, ended \
with its whole process tree, and recorded in a tamper-evident audit log. `run` behaves \
like coreutils `timeout`; `verify` reviews a policy; `describe` prints the capability \
descriptor; `audit verify` checks an audit log."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run one program through the full core.process stack and report its outcome.
    Run(Box<RunArgs>),
    /// Review a security policy (verify_capability_security).
    Verify(crate::verify::VerifyArgs),
    /// Explain the decision `run` would take for a program, without running anything.
    Check(crate::check::CheckArgs),
    /// Print the capability descriptor of core.process.
    Describe(DescribeArgs),
    /// The invoke protocol over stdin/stdout: one JSON request a line in, one answer a line
    /// out (docs/serve.md).
    Serve(crate::serve::ServeArgs),
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: crate::audit_cmd::AuditCmd,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell) on standard output.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on standard output: `reml-process man | man -l -`.
    Man,
}

/// Options of `run` (`docs/command.md`).
///
/// Options that take a value accept one starting with `-`, so `--timeout -1` is reported as
/// an invalid duration rather than as an unknown option `-1`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// TOML security policy (default: the built-in default policy); repeatable: each
    /// further file narrows the ones before.
    #[arg(long, allow_hyphen_values = true, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
    /// Append the audit log to PATH (`-` = standard error).
    #[arg(long, allow_hyphen_values = true, value_name = "PATH")]
    pub audit: Option<PathBuf>,
    /// Wall-clock limit (250ms, 2s, 1.5, 1m, 1h, 1d; 0 = none).
    #[arg(long, allow_hyphen_values = true, value_name = "DUR")]
    pub timeout: Option<String>,
    /// Signal sent when the time limit expires.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "SIG",
        default_value = "TERM"
    )]
    pub signal: String,
    /// Grace period after that signal before KILL.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "DUR",
        default_value = "2s"
    )]
    pub kill_after: String,
    /// Pipe, collect, then print stdout and stderr.
    #[arg(long)]
    pub collect: bool,
    /// Cap per stream for --collect (64KiB, 16MiB).
    #[arg(long, allow_hyphen_values = true, value_name = "SIZE")]
    pub max_output: Option<String>,
    /// stdin: inherit, null, pipe or file:PATH.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "SPEC",
        default_value = "inherit"
    )]
    pub stdin: String,
    /// stdout: inherit, null, pipe or file:PATH.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "SPEC",
        default_value = "inherit"
    )]
    pub stdout: String,
    /// stderr: inherit, null, pipe or file:PATH.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "SPEC",
        default_value = "inherit"
    )]
    pub stderr: String,
    /// Working directory.
    #[arg(long, allow_hyphen_values = true, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Set a variable (repeatable).
    #[arg(long, allow_hyphen_values = true, value_name = "KEY=VALUE")]
    pub env: Vec<OsString>,
    /// Start from an empty environment.
    #[arg(long)]
    pub env_clear: bool,
    /// Keep the child in our process group.
    #[arg(long)]
    pub no_new_group: bool,
    /// Hand our descriptor SRC to the child as DST (repeatable).
    #[arg(long, allow_hyphen_values = true, value_name = "SRC:DST")]
    pub pass_fd: Vec<String>,
    /// Print one JSON object instead of passing output through.
    #[arg(long)]
    pub json: bool,
    /// The program and its arguments (after `--`, or after the program, every word belongs
    /// to the command).
    // No `allow_hyphen_values` here: an unknown option before the program (`run --bogus -- x`)
    // is a bad option (125), not a program named `--bogus` (127).
    #[arg(required = true, trailing_var_arg = true, value_name = "PROGRAM")]
    pub command: Vec<OsString>,
}

/// Options of `describe`.
#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// Policy to describe the capability with; repeatable: each further file narrows the
    /// ones before.
    #[arg(long, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Prints `reml-process: MESSAGE` on standard error: always one line (`docs/command.md`).
///
/// Control characters in the message — a program name or a path with a newline or an escape
/// sequence in it — are escaped here ([`escape_controls`]), so no caller can forget it.
/// Bytes that are not UTF-8 must be made visible when the message is built
/// ([`reml_process::error::os_text`]; the library's messages do so). Written through
/// [`output`](crate::output) like everything else: a full or closed stderr is no panic.
pub fn error_line(message: impl std::fmt::Display) {
    let line = format!(
        "reml-process: {}
",
        escape_controls(&message.to_string())
    );
    crate::output::stderr(line.as_bytes());
}

/// The one-line form of a command-line error: clap's first paragraph joined on one line,
/// without its `error: ` prefix, plus where to find the usage.
///
/// The words of the command line that clap quotes (an unknown option, a bad value) have
/// their control characters escaped first, so a newline in them cannot cut the paragraph.
fn clap_error_line(mut e: clap::Error) -> String {
    let quoted: Vec<(ContextKind, ContextValue)> = e
        .context()
        .filter_map(|(kind, value)| match value {
            ContextValue::String(s) => Some((kind, ContextValue::String(escape_controls(s)))),
            ContextValue::Strings(v) => Some((
                kind,
                ContextValue::Strings(v.iter().map(|s| escape_controls(s)).collect()),
            )),
            _ => None,
        })
        .collect();
    for (kind, value) in quoted {
        e.insert(kind, value);
    }
    let text = e.render().to_string();
    let paragraph: Vec<&str> = text
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty())
        .collect();
    let joined = paragraph.join(" ");
    let first = joined.strip_prefix("error: ").unwrap_or(&joined);
    let first = if first.is_empty() {
        "invalid command line"
    } else {
        first
    };
    format!("{first} (see `reml-process --help`)")
}

/// The one line for a command line that names no subcommand (`reml-process`,
/// `reml-process audit`): clap would print the whole help on standard error, but a failure
/// is one line; the help itself is `--help`.
fn missing_subcommand_line(e: &clap::Error) -> String {
    let help = e.render().to_string();
    let usage = help
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage: "))
        .unwrap_or("reml-process <COMMAND>");
    format!("missing a subcommand (usage: {usage}; see `reml-process --help`)")
}

/// `--help` and `--version` (also `help SUBCOMMAND`): clap's text rendered to a string, in
/// colour when standard output takes it as clap would decide, and written through
/// [`output`](crate::output).
fn print_help(e: &clap::Error) {
    let styled = e.render();
    let text = match anstream::AutoStream::choice(&std::io::stdout()) {
        anstream::ColorChoice::Never => styled.to_string(),
        _ => styled.ansi().to_string(),
    };
    crate::output::stdout(text.as_bytes());
}

/// Parses the command line and runs the subcommand; returns the exit status, 125 when the
/// output could not be written ([`crate::output::finish`]).
pub fn main() -> i32 {
    // A write past our file-size limit is an error we report (125), never a SIGXFSZ that
    // would end us silently; the job's own dispositions are its caller's (see signals.rs).
    reml_process::supervise::ignore_file_size_signal();
    let status = dispatch();
    crate::output::finish(status)
}

fn dispatch() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    print_help(&e);
                    0
                }
                // Every failure is one line on standard error (`docs/command.md`), not clap's
                // multi-line usage block.
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    error_line(missing_subcommand_line(&e));
                    EXIT_OWN_FAILURE
                }
                _ => {
                    error_line(clap_error_line(e));
                    EXIT_OWN_FAILURE
                }
            };
        }
    };
    match cli.command {
        Cmd::Run(args) => crate::run::main(*args),
        Cmd::Verify(args) => crate::verify::main(args),
        Cmd::Check(args) => crate::check::main(args),
        Cmd::Describe(args) => crate::describe::main(args),
        Cmd::Serve(args) => crate::serve::main(args),
        Cmd::Audit { command } => crate::audit_cmd::main(command),
        Cmd::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "reml-process", &mut out);
            crate::output::stdout(&out);
            0
        }
        Cmd::Man => match crate::generate::man_page(Cli::command()) {
            Ok(page) => {
                crate::output::stdout(&page);
                0
            }
            Err(e) => {
                error_line(format_args!("cannot render the man page: {e}"));
                EXIT_OWN_FAILURE
            }
        },
    }
}
