//! The value parsers of the command line's typed options (`docs/command.md`), for clap's
//! `value_parser`: durations (`--timeout`, `--kill-after`), the signal (`--signal`), and the
//! `--stdin`/`--stdout`/`--stderr` form (`inherit`, `null`, `pipe`, `file:PATH`), which is a
//! convention of this command, not of the library. A value they refuse is one error line
//! `--OPTION: MESSAGE` and exit status 125 ([`crate::cli::parse`]).

use std::path::PathBuf;
use std::time::Duration;

use reml_process::{Signal, StdioSpec};

/// A duration as the library parses it (`250ms`, `2s`, `1.5`, `1m`, `1h`, `1d`; see
/// `reml_process::units::parse_duration`).
///
/// # Errors
/// The library's message naming the accepted forms.
pub fn duration(s: &str) -> Result<Duration, String> {
    reml_process::units::parse_duration(s)
}

/// A signal by name or number (`TERM`, `SIGTERM`, `15`; see [`Signal`]'s `FromStr`).
///
/// # Errors
/// The library's message for a name or number this platform does not have.
pub fn signal(s: &str) -> Result<Signal, String> {
    s.parse::<Signal>().map_err(|e| e.to_string())
}

/// Parses the command-line form of a standard stream used by `reml-process run`
/// (`docs/command.md`): `inherit`, `null`, `pipe` or `file:PATH`.
///
/// # Errors
/// A message naming the accepted forms when `s` is none of them or `file:` has no path.
pub fn parse_stdio(s: &str) -> Result<StdioSpec, String> {
    match s {
        "inherit" => Ok(StdioSpec::Inherit),
        "null" => Ok(StdioSpec::Null),
        "pipe" => Ok(StdioSpec::Pipe),
        _ => match s.strip_prefix("file:") {
            Some(p) if !p.is_empty() => Ok(StdioSpec::File(PathBuf::from(p))),
            _ => Err(format!(
                "invalid stdio spec `{s}` (expected inherit, null, pipe or file:PATH)"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stdio_cli_forms() {
        assert_eq!(parse_stdio("null").unwrap(), StdioSpec::Null);
        assert_eq!(
            parse_stdio("file:/tmp/x").unwrap(),
            StdioSpec::File("/tmp/x".into())
        );
        assert!(parse_stdio("file:").is_err());
        assert!(parse_stdio("tty").is_err());
    }

    proptest! {
        #[test]
        fn stdio_spec_parse_never_panics(s in "\\PC{0,30}") {
            let _ = parse_stdio(&s);
        }

        #[test]
        fn stdio_file_specs_round_trip(path in "[^\\x00]{1,30}") {
            prop_assert_eq!(
                parse_stdio(&format!("file:{path}")),
                Ok(StdioSpec::File(PathBuf::from(&path)))
            );
        }
    }
}
