//! The serde layer of `[[commands.rule]]` (`docs/policy.md`), in the style of `de`: each
//! token is validated while it is read, so an error carries that token's span (and so its
//! key, `commands.rule[0].args[1][2]`, line and column).

use serde::Deserialize;

use super::args::{check_token, ArgPattern};
use super::de::{List, PolicyValue, V};
use super::pin::ContentPin;
use super::rules::CommandRule;
use super::types::AllowEntry;

/// One token of an argument pattern, checked (`"*"`, `"**"`, a plain token or a glob).
pub(super) struct ArgToken(String);

impl PolicyValue for ArgToken {
    const EXPECTING: &'static str = "an argument token string (plain, \"*\", \"**\" or a glob)";
    fn from_text(s: &str) -> Option<Result<Self, String>> {
        Some(check_token(s).map(|()| ArgToken(s.to_owned())))
    }
}

/// A `sha256` value: any string is kept (a malformed digest is a review error, not a
/// parse error: `docs/policy.md`); other types are refused.
pub(super) struct PinText(String);

impl PolicyValue for PinText {
    const EXPECTING: &'static str = "a SHA-256 digest string of 64 hexadecimal digits";
    fn from_text(s: &str) -> Option<Result<Self, String>> {
        Some(Ok(PinText(s.to_owned())))
    }
}

/// One `[[commands.rule]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    program: V<AllowEntry>,
    args: Option<Vec<List<ArgToken, false>>>,
    sha256: Option<V<PinText>>,
}

/// The typed rules.
pub(in crate::policy) fn rules(raw: Vec<RawRule>) -> Vec<CommandRule> {
    raw.into_iter()
        .map(|r| CommandRule {
            program: r.program.0,
            args: r.args.map(|patterns| {
                patterns
                    .into_iter()
                    .filter_map(|p| {
                        let tokens: Vec<String> = p.0.into_iter().map(|t| t.0).collect();
                        // Every token was checked while it was read, so this cannot fail;
                        // a pattern that did would be left out, allowing less, never more.
                        ArgPattern::parse(&tokens).ok()
                    })
                    .collect()
            }),
            sha256: r.sha256.map(|t| ContentPin::new(t.0 .0)),
        })
        .collect()
}
