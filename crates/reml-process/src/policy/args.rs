//! Argument patterns of `[[commands.rule]]` (`docs/policy.md`): which argument lists a
//! program named by a rule may be started with.
//!
//! A pattern is a list of tokens matched **one to one** against the arguments after
//! `argv[0]`:
//!
//! | token | matches |
//! | --- | --- |
//! | a plain token (no `*`, `?` or `[`) | exactly that argument, byte for byte |
//! | `"*"` alone | any one argument (also one that is not UTF-8) |
//! | `"**"` alone, as the **last** token | every remaining argument, none included |
//! | a token with `*`, `?` or `[...]` | one argument, as a shell glob within that argument: `*` any run of characters (`/` included), `?` one character, `[abc]`, `[a-z]`, `[!a-z]` one character of (or not of) the class; `[*]`, `[?]`, `[[]` match those characters literally |
//!
//! So `["log", "**"]` matches `log`, `log --oneline` and `log -n 3`, but not `status`;
//! `["diff", "--stat", "*"]` matches exactly three arguments; `["--format=*"]` matches one
//! argument that starts with `--format=`.
//!
//! Matching is case-sensitive and on whole arguments: a glob token never spans two
//! arguments, and `*` inside a token never matches part of the next one. An argument that
//! is not valid UTF-8 matches only a plain token with the same bytes, `"*"` or `"**"`,
//! never a glob token (a glob is defined on characters). A pattern with `"**"` anywhere but
//! last matches nothing (the review reports it: `policy.rule.rest_not_last`). `**` inside a
//! longer token is refused when the policy is read (`*` already matches any text within one
//! argument), as is a malformed class (`[abc` without `]`) or a NUL byte.
//!
//! The glob syntax is that of the `glob` crate's [`glob::Pattern`], matched with
//! case-sensitive options and no special treatment of `/` or a leading `.`.

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;

/// One token of an [`ArgPattern`], parsed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Token {
    /// A plain token: matches exactly these bytes.
    Literal(String),
    /// A glob within one argument.
    Glob(glob::Pattern),
    /// `"*"`: any one argument.
    One,
    /// `"**"`: every remaining argument (only meaningful last).
    Rest,
}

/// The options every glob token is matched with: case-sensitive, `*` and `?` match `/`, a
/// leading `.` needs nothing special.
const MATCH_OPTIONS: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: false,
    require_literal_leading_dot: false,
};

/// Parses one token of a pattern (`docs/policy.md`).
///
/// # Errors
/// A message when the token contains a NUL byte, contains `**` without being exactly
/// `"**"`, or is a malformed glob (an unclosed `[`).
fn parse_token(text: &str) -> Result<Token, String> {
    if text.contains('\0') {
        return Err(format!(
            "argument token `{}` contains a NUL byte (no argument can)",
            text.escape_default()
        ));
    }
    match text {
        "*" => return Ok(Token::One),
        "**" => return Ok(Token::Rest),
        _ => {}
    }
    if !text.contains(['*', '?', '[']) {
        return Ok(Token::Literal(text.to_owned()));
    }
    if text.contains("**") {
        return Err(format!(
            "argument token `{text}`: `**` is only a whole token (\"**\": all remaining arguments); within one argument `*` already matches any text"
        ));
    }
    glob::Pattern::new(text).map(Token::Glob).map_err(|e| {
        format!(
            "argument token `{text}` is not a valid glob: {} (at character {})",
            e.msg,
            e.pos + 1
        )
    })
}

/// Whether a token spelled `text` is a glob within one argument (it has `*`, `?` or `[` and
/// is neither `"*"` nor `"**"`).
pub fn is_glob_token(text: &str) -> bool {
    text != "*" && text != "**" && text.contains(['*', '?', '['])
}

/// Checks one token the way a policy file is read (see [`ArgPattern::parse`]).
///
/// # Errors
/// As [`ArgPattern::parse`], for this token.
pub fn check_token(text: &str) -> Result<(), String> {
    parse_token(text).map(|_| ())
}

/// An argument pattern of a `[[commands.rule]]` entry: a list of tokens matched one to one
/// against `argv[1..]` (see the [module docs](self) for the token syntax).
///
/// # Examples
/// ```
/// use reml_process::policy::ArgPattern;
///
/// let log = ArgPattern::parse(&["log", "**"]).unwrap();
/// assert!(log.matches(&["log"]));
/// assert!(log.matches(&["log", "--oneline", "-n", "3"]));
/// assert!(!log.matches(&["status"]));
///
/// let diff = ArgPattern::parse(&["diff", "--stat", "*"]).unwrap();
/// assert!(diff.matches(&["diff", "--stat", "HEAD~1"]));
/// assert!(!diff.matches(&["diff", "--stat"]));
///
/// let fmt = ArgPattern::parse(&["--format=*", "v[0-9]?"]).unwrap();
/// assert!(fmt.matches(&["--format=json", "v1x"]));
/// assert!(!fmt.matches(&["--format=json", "vx1"]));
///
/// assert!(ArgPattern::parse(&["[abc"]).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ArgPattern {
    text: Vec<String>,
    tokens: Vec<Token>,
}

/// A token of a pattern that could not be parsed: its index in the pattern and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgPatternError {
    /// The index of the token in the pattern (from 0).
    pub index: usize,
    /// One line saying what is wrong.
    pub message: String,
}

impl fmt::Display for ArgPatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token {}: {}", self.index, self.message)
    }
}

impl std::error::Error for ArgPatternError {}

impl ArgPattern {
    /// Parses a pattern from its tokens as written in the policy.
    ///
    /// A `"**"` that is not the last token is accepted here (the pattern then matches
    /// nothing, and [`ArgPattern::rest_not_last`] says where it is, for the review).
    ///
    /// # Errors
    /// An [`ArgPatternError`] for the first token that contains a NUL byte, contains `**`
    /// without being exactly `"**"`, or is a malformed glob (an unclosed `[`).
    pub fn parse<S: AsRef<str>>(tokens: &[S]) -> Result<ArgPattern, ArgPatternError> {
        let mut parsed = Vec::with_capacity(tokens.len());
        for (index, t) in tokens.iter().enumerate() {
            parsed.push(
                parse_token(t.as_ref()).map_err(|message| ArgPatternError { index, message })?,
            );
        }
        Ok(ArgPattern {
            text: tokens.iter().map(|t| t.as_ref().to_owned()).collect(),
            tokens: parsed,
        })
    }

    /// The tokens as written.
    pub fn tokens(&self) -> &[String] {
        &self.text
    }

    /// The index of a `"**"` token that is not the last one, if any: such a pattern matches
    /// nothing.
    pub fn rest_not_last(&self) -> Option<usize> {
        let last = self.tokens.len().saturating_sub(1);
        self.tokens
            .iter()
            .position(|t| *t == Token::Rest)
            .filter(|&i| i != last)
    }

    /// Whether the arguments `args` (`argv[1..]`, without the program) match the pattern.
    ///
    /// Never panics; time proportional to the number of tokens times the length of the
    /// arguments they are matched against (the glob crate's matcher backtracks only within
    /// one argument).
    pub fn matches<A: AsRef<OsStr>>(&self, args: &[A]) -> bool {
        if self.rest_not_last().is_some() {
            return false;
        }
        let mut next = 0usize;
        for token in &self.tokens {
            if *token == Token::Rest {
                return true;
            }
            let Some(arg) = args.get(next) else {
                return false;
            };
            let arg = arg.as_ref();
            let ok = match token {
                Token::Literal(t) => t.as_bytes() == arg.as_bytes(),
                Token::One => true,
                Token::Glob(p) => arg
                    .to_str()
                    .is_some_and(|s| p.matches_with(s, MATCH_OPTIONS)),
                Token::Rest => true,
            };
            if !ok {
                return false;
            }
            next += 1;
        }
        next == args.len()
    }
}

impl fmt::Display for ArgPattern {
    /// The pattern as a TOML-like array: `["log", "**"]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, t) in self.text.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{t:?}")?;
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pat(t: &[&str]) -> ArgPattern {
        ArgPattern::parse(t).unwrap()
    }

    #[test]
    fn tokens_one_to_one() {
        let p = pat(&["status"]);
        assert!(p.matches(&["status"]));
        assert!(!p.matches::<&str>(&[]));
        assert!(!p.matches(&["status", "-s"]));
        assert!(!p.matches(&["Status"]), "case-sensitive");
        let empty = pat(&[]);
        assert!(empty.matches::<&str>(&[]));
        assert!(!empty.matches(&["x"]));
        let one = pat(&["-n", "*"]);
        assert!(one.matches(&["-n", ""]));
        assert!(!one.matches(&["-n"]));
        assert!(!one.matches(&["-n", "1", "2"]));
    }

    #[test]
    fn rest_is_zero_or_more_and_only_last() {
        let p = pat(&["log", "**"]);
        assert!(p.matches(&["log"]));
        assert!(p.matches(&["log", "a", "b"]));
        assert!(!p.matches(&["lo"]));
        let bad = pat(&["**", "x"]);
        assert_eq!(bad.rest_not_last(), Some(0));
        assert!(!bad.matches(&["x"]));
        assert!(!bad.matches(&["a", "x"]));
        assert_eq!(pat(&["**"]).rest_not_last(), None);
        assert!(pat(&["**"]).matches::<&str>(&[]));
    }

    #[test]
    fn globs_stay_within_one_argument() {
        let p = pat(&["--format=*"]);
        assert!(p.matches(&["--format="]));
        assert!(p.matches(&["--format=a b/c"]));
        assert!(!p.matches(&["--format", "=x"]));
        let q = pat(&["?", "[ab]", "[!ab]", "[*]"]);
        assert!(q.matches(&["x", "a", "c", "*"]));
        assert!(!q.matches(&["xy", "a", "c", "*"]));
        assert!(!q.matches(&["x", "c", "c", "*"]));
        assert!(!q.matches(&["x", "a", "a", "*"]));
        assert!(!q.matches(&["x", "a", "c", "y"]));
    }

    #[test]
    fn non_utf8_arguments() {
        use std::os::unix::ffi::OsStrExt;
        let raw = OsStr::from_bytes(b"a\xffb");
        assert!(pat(&["*"]).matches(&[raw]));
        assert!(pat(&["**"]).matches(&[raw]));
        assert!(!pat(&["a*b"]).matches(&[raw]), "globs are on characters");
        assert!(!pat(&["ab"]).matches(&[raw]));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in ["[abc", "a**", "--x=**", "a/**/b", "x\0y", "***"] {
            let e = ArgPattern::parse(&["ok", bad]).unwrap_err();
            assert_eq!(e.index, 1, "{bad}");
        }
        assert!(is_glob_token("a*"));
        assert!(!is_glob_token("*"));
        assert!(!is_glob_token("plain"));
    }

    /// A reference matcher written independently: tokens are plain, `*`, `**` or contain
    /// only `?`/`*` wildcards (no classes), matched by recursion on characters.
    fn ref_glob(p: &[char], s: &[char]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some(('*', rest)) => (0..=s.len()).any(|k| ref_glob(rest, &s[k..])),
            Some(('?', rest)) => !s.is_empty() && ref_glob(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && ref_glob(rest, &s[1..]),
        }
    }

    fn ref_match(tokens: &[String], args: &[String]) -> bool {
        match tokens.split_first() {
            None => args.is_empty(),
            Some((t, rest)) if t == "**" => rest.is_empty(),
            Some((t, rest)) => match args.split_first() {
                None => false,
                Some((a, more)) => {
                    let p: Vec<char> = t.chars().collect();
                    let s: Vec<char> = a.chars().collect();
                    ref_glob(&p, &s) && ref_match(rest, more)
                }
            },
        }
    }

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("*".to_owned()),
            Just("**".to_owned()),
            "[ab?*]{0,4}".prop_filter("no ** inside", |t| t == "**" || !t.contains("**")),
        ]
    }

    fn arg() -> impl Strategy<Value = String> {
        "[ab*?]{0,4}"
    }

    proptest! {
        #[test]
        fn matching_never_panics(tokens in proptest::collection::vec(".{0,6}", 0..5),
                                 args in proptest::collection::vec(".{0,6}", 0..5)) {
            if let Ok(p) = ArgPattern::parse(&tokens) {
                let _ = p.matches(&args);
            }
        }

        #[test]
        fn agrees_with_the_reference(tokens in proptest::collection::vec(token(), 0..5),
                                     args in proptest::collection::vec(arg(), 0..6)) {
            let p = ArgPattern::parse(&tokens).unwrap();
            prop_assert_eq!(p.matches(&args), ref_match(&tokens, &args), "{} vs {:?}", p, args);
        }

        #[test]
        fn rest_means_zero_or_more(prefix in proptest::collection::vec("[ab]{1,3}", 0..4),
                                   extra in proptest::collection::vec(".{0,5}", 0..5)) {
            let mut tokens = prefix.clone();
            tokens.push("**".to_owned());
            let p = ArgPattern::parse(&tokens).unwrap();
            prop_assert!(p.matches(&prefix), "zero remaining");
            let mut args = prefix.clone();
            args.extend(extra);
            prop_assert!(p.matches(&args), "any remaining");
            if !prefix.is_empty() {
                prop_assert!(!p.matches(&prefix[..prefix.len() - 1]), "the prefix is required");
            }
        }
    }
}
