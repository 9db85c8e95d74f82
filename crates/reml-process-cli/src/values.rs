//! The value syntaxes of the command line that are conventions of this command, not of the
//! library (`docs/command.md`): the `--stdin`/`--stdout`/`--stderr` form
//! (`inherit`, `null`, `pipe`, `file:PATH`).

use std::path::PathBuf;

use reml_process::StdioSpec;

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
