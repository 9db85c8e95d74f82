//! `reml-process completions SHELL` and `reml-process man`: shell completions and a roff man
//! page, generated from the same clap definitions as `--help`, so neither can drift from the
//! options the command really takes.
//!
//! The man page is clap_mangen's page for the command (name, synopsis, description, the
//! subcommand list) followed by one section per subcommand with its own synopsis and
//! options, and the exit statuses (`docs/command.md`).

use clap::{Arg, Command};

/// The roff man page of `cmd` (the whole `reml-process` command).
///
/// # Errors
/// Only those of writing into memory, which cannot fail; kept as `io::Result` for
/// clap_mangen's signature.
pub fn man_page(cmd: Command) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    for sub in cmd.get_subcommands() {
        subcommand_section(&mut out, cmd.get_name(), sub);
    }
    out.extend_from_slice(EXIT_STATUS.as_bytes());
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// The exit statuses of `run` (`docs/command.md`), as a roff section.
const EXIT_STATUS: &str = r#".SH "EXIT STATUS"
.TP
\fIthe child's own code\fR
it exited normally
.TP
\fB124\fR
a limit of ours ended it: the time limit, or the output cap under output_cap_action = "kill"
.TP
\fB125\fR
our own failure: bad option, unreadable or invalid policy, audit log required but not writable
.TP
\fB126\fR
the program exists but cannot be run (not executable, a directory, a bad format), or the policy denies it
.TP
\fB127\fR
the program was not found
.TP
\fB128+N\fR
the child was ended by signal N that was not ours
.PP
\fBverify\fR exits 0 without error findings, 1 with one, 125 when a policy cannot be read.
\fBaudit verify\fR exits 0 for a good log, 1 for a bad line, 125 when the file cannot be read.
"#;

/// One `.SH` section for subcommand `sub` of `parent` (and, nested, for its subcommands).
fn subcommand_section(out: &mut Vec<u8>, parent: &str, sub: &Command) {
    let full = format!("{parent} {}", sub.get_name());
    if sub.has_subcommands() {
        for nested in sub.get_subcommands() {
            subcommand_section(out, &full, nested);
        }
        return;
    }
    let mut s = format!(".SH \"{}\"\n", roff(&full.to_uppercase()));
    s.push_str(&format!(".B {}\n", roff(&full)));
    let mut usage = Vec::new();
    for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
        if arg.is_positional() {
            let name = arg
                .get_value_names()
                .and_then(|v| v.first().map(|n| n.to_string()))
                .unwrap_or_else(|| arg.get_id().to_string().to_uppercase());
            // `FILE` for one value, `PROGRAM...` for several, in brackets when optional.
            let many = arg.get_num_args().is_some_and(|n| n.max_values() > 1)
                || matches!(arg.get_action(), clap::ArgAction::Append);
            let item = format!("\\fI{}\\fR{}", roff(&name), if many { "..." } else { "" });
            usage.push(if arg.is_required_set() {
                item
            } else {
                format!("[{item}]")
            });
        }
    }
    let mut line = Vec::new();
    if sub.get_arguments().any(|a| !a.is_positional()) {
        line.push("[\\fIOPTIONS\\fR]".to_owned());
    }
    if !usage.is_empty() {
        line.push("[\\-\\-]".to_owned());
        line.extend(usage);
    }
    s.push_str(&line.join(" "));
    s.push('\n');
    if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
        s.push_str(&format!(".PP\n{}\n", roff(&about.to_string())));
    }
    for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
        s.push_str(&option_item(arg));
    }
    out.extend_from_slice(s.as_bytes());
}

/// A `.TP` item: the option's spelling and value name, then its help and default.
fn option_item(arg: &Arg) -> String {
    let value = if arg.get_action().takes_values() {
        arg.get_value_names()
            .and_then(|v| v.first().map(|n| format!(" \\fI{}\\fR", roff(n))))
            .unwrap_or_default()
    } else {
        String::new()
    };
    let head = match (arg.get_long(), arg.get_short()) {
        (Some(l), Some(c)) => format!("\\fB\\-{c}\\fR, \\fB\\-\\-{}\\fR{value}", roff(l)),
        (Some(l), None) => format!("\\fB\\-\\-{}\\fR{value}", roff(l)),
        (None, Some(c)) => format!("\\fB\\-{c}\\fR{value}"),
        (None, None) => value.trim_start().to_owned(),
    };
    let mut help = arg
        .get_long_help()
        .or_else(|| arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && arg.get_action().takes_values() {
        help.push_str(&format!(" [default: {}]", defaults.join(", ")));
    }
    format!(".TP\n{head}\n{}\n", roff(&help))
}

/// Text made safe for roff: backslashes and hyphens escaped, a leading `.` or `'` guarded.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    escaped
        .lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::{man_page, roff};

    #[test]
    fn roff_escapes_what_roff_would_interpret() {
        assert_eq!(roff("--timeout"), "\\-\\-timeout");
        assert_eq!(roff("a\\b"), "a\\eb");
        assert_eq!(roff(".starts a request"), "\\&.starts a request");
        assert_eq!(roff("x\n'y"), "x\n\\&'y");
    }

    /// A positional taking one value is shown without `...`; one taking several with it.
    #[test]
    fn usage_lines_mark_only_repeated_positionals() {
        let page = String::from_utf8(
            man_page(<crate::cli::Cli as clap::CommandFactory>::command()).unwrap(),
        )
        .unwrap();
        let usage_after = |title: &str| {
            let at = page
                .find(title)
                .unwrap_or_else(|| panic!("{title} in {page}"));
            page[at..].lines().nth(2).unwrap().to_owned()
        };
        assert!(usage_after(".SH \"REML\\-PROCESS COMPLETIONS\"").ends_with("\\fISHELL\\fR"));
        assert!(usage_after(".SH \"REML\\-PROCESS AUDIT VERIFY\"").ends_with("\\fIFILE\\fR"));
        assert!(usage_after(".SH \"REML\\-PROCESS RUN\"").ends_with("\\fIPROGRAM\\fR..."));
    }
}
