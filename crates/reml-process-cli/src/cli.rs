//! The command line's clap definition, and the one line a bad command line prints.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Parser, Subcommand};

use crate::exit::{error_line, EXIT_OWN_FAILURE};
use crate::output::escape_controls;

#[derive(Parser, Debug)]
#[command(
    name = "reml-process",
    version,
    about = "Run programs through the core.process capability",
    long_about = "Run programs through the core.process capability of the Reml language: \
every program is checked against a security policy (an allow-list of programs, environment \
rules, resource limits), run under a time limit that always holds, ended \
with its whole process tree, and recorded in a tamper-evident audit log. `run` behaves \
like coreutils `timeout`; `verify` reviews a policy; `check` explains what `run` would \
decide for a program without running it; `describe` prints the capability descriptor; \
`serve` answers the invoke protocol on standard input and output; `audit verify` checks an \
audit log."
)]
pub struct Cli {
    /// The subcommand and its options.
    #[command(subcommand)]
    pub command: Cmd,
}

/// The subcommands, each with its options.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run one program through the full core.process stack and report its outcome.
    Run(Box<crate::run::RunArgs>),
    /// Review a security policy (verify_capability_security).
    Verify(crate::verify::VerifyArgs),
    /// Explain the decision `run` would take for a program, without running anything.
    Check(crate::check::CheckArgs),
    /// Print the capability descriptor of core.process.
    Describe(crate::describe::DescribeArgs),
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

/// `--OPTION: MESSAGE` for a value one of our value parsers refused (`crate::values`): the
/// option's long name from clap's context (`--timeout <DUR>`), the message from the parser.
/// `None` when clap's error does not carry both.
fn value_error_line(e: &clap::Error) -> Option<String> {
    let ContextValue::String(arg) = e.get(ContextKind::InvalidArg)? else {
        return None;
    };
    let option = arg.split(' ').next().filter(|o| o.starts_with("--"))?;
    let message = std::error::Error::source(e)?;
    Some(format!("{option}: {message}"))
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

/// Parses the command line: the subcommand to run, or `Err` with the exit status when there
/// is nothing to run: 0 after `--help` or `--version`, 125 after the one line that says what
/// is wrong with the command line (`docs/command.md`).
pub fn parse() -> Result<Cli, i32> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(e) => Err(match e.kind() {
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
            // A value refused by one of our value parsers (`crate::values`): the line names
            // the option and gives our message, as every other bad value of ours does.
            ErrorKind::ValueValidation => {
                error_line(value_error_line(&e).unwrap_or_else(|| clap_error_line(e)));
                EXIT_OWN_FAILURE
            }
            _ => {
                error_line(clap_error_line(e));
                EXIT_OWN_FAILURE
            }
        }),
    }
}
