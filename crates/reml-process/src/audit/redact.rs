//! Redaction of arguments and environment values before any sink sees them (`docs/policy.md`
//! `[audit] redact`, `docs/audit-log.md`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::keys;
use super::record::AuditEvent;

/// Masks secrets in audit metadata with glob patterns (`docs/policy.md` `[audit] redact`).
///
/// Patterns use [`glob_match`]: `*` matches any run of characters (including none); every
/// other character matches itself, case-sensitively. A pattern must match the *whole* text.
///
/// Exactly what is masked (and nothing else):
/// - [`keys::PROCESS_COMMAND`] (array of strings): every element after the first (the
///   program itself is never masked) that is an **argument** matching a pattern;
/// - [`keys::PROCESS_ARGS`] (array of strings): every element that is a matching argument;
/// - [`keys::PROCESS_ENV`]: as an object, the value of every variable whose **name**
///   matches a pattern, or whose **value** matches as an argument would (`X=--password=abc`
///   under `--password=*`: a secret does not escape by travelling in a variable); as an
///   array of `"NAME=VALUE"` strings, each such element becomes `"NAME=***"`.
///
/// An argument matches when the whole argument matches a pattern (`--password=*` matches
/// `--password=hunter2`), or when it has the form `NAME=VALUE` with a NAME not starting with
/// `-` that matches a pattern (`*_TOKEN` matches `GITHUB_TOKEN=abc`, as passed to `env`).
/// A matching argument is replaced by `"***"` as a whole.
///
/// # Caveats
/// Patterns apply argument by argument: in `--password hunter2` (two arguments) the secret
/// is the *next* argument and is masked only if a pattern matches it. Other metadata (error
/// messages, the subject) is not inspected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Redactor {
    patterns: Vec<String>,
}

impl Redactor {
    /// What a masked value becomes.
    pub const MASK: &'static str = "***";

    /// A redactor with these glob patterns (an empty list masks nothing).
    pub fn new<I, S>(patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Redactor {
            patterns: patterns.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether there are no patterns.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The patterns.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether `text` matches one of the patterns as a whole.
    pub fn matches(&self, text: &str) -> bool {
        self.patterns.iter().any(|p| glob_match(p, text))
    }

    /// Whether the argument `arg` is to be masked (see the type's docs).
    pub fn matches_arg(&self, arg: &str) -> bool {
        if self.matches(arg) {
            return true;
        }
        match arg.split_once('=') {
            Some((name, _)) if !name.is_empty() && !name.starts_with('-') => self.matches(name),
            _ => false,
        }
    }

    /// Masks the metadata of one record in place (see the type's docs for what is masked).
    pub fn redact_metadata(&self, metadata: &mut BTreeMap<String, Value>) {
        if self.is_empty() {
            return;
        }
        if let Some(Value::Array(cmd)) = metadata.get_mut(keys::PROCESS_COMMAND) {
            for arg in cmd.iter_mut().skip(1) {
                self.mask_arg(arg);
            }
        }
        if let Some(Value::Array(args)) = metadata.get_mut(keys::PROCESS_ARGS) {
            for arg in args.iter_mut() {
                self.mask_arg(arg);
            }
        }
        match metadata.get_mut(keys::PROCESS_ENV) {
            Some(Value::Object(env)) => {
                for (name, value) in env.iter_mut() {
                    if self.matches(name) || value.as_str().is_some_and(|v| self.matches_arg(v)) {
                        *value = Value::String(Self::MASK.to_owned());
                    }
                }
            }
            Some(Value::Array(env)) => {
                for entry in env.iter_mut() {
                    let masked = match entry.as_str().and_then(|s| s.split_once('=')) {
                        Some((name, v)) if self.matches(name) || self.matches_arg(v) => {
                            Some(format!("{name}={}", Self::MASK))
                        }
                        _ => None,
                    };
                    if let Some(m) = masked {
                        *entry = Value::String(m);
                    }
                }
            }
            _ => {}
        }
    }

    /// Masks the metadata of `event` in place.
    pub fn redact_event(&self, event: &mut AuditEvent) {
        self.redact_metadata(&mut event.metadata);
    }

    fn mask_arg(&self, arg: &mut Value) {
        if arg.as_str().is_some_and(|a| self.matches_arg(a)) {
            *arg = Value::String(Self::MASK.to_owned());
        }
    }
}

/// Whether the glob `pattern` matches the whole of `text`.
///
/// `*` matches any run of characters, including none; there are no other wildcards and no
/// escapes: every other character, `?` and `[` included, matches itself. Case-sensitive.
///
/// ```
/// use reml_process::audit::glob_match;
/// assert!(glob_match("--password=*", "--password=hunter2"));
/// assert!(glob_match("*_TOKEN", "GITHUB_TOKEN"));
/// assert!(!glob_match("*_TOKEN", "GITHUB_TOKEN_FILE"));
/// ```
pub fn glob_match(pattern: &str, text: &str) -> bool {
    // Byte-wise is exact for UTF-8: a literal run in the pattern is whole characters, and a
    // whole character never matches starting in the middle of another.
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None; // (pattern index after `*`, text index)
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            pi += 1;
            star = Some((pi, ti));
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            // Let the last `*` swallow one more byte and retry.
            pi = sp;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn glob() {
        assert!(glob_match("*", ""));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "a"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(glob_match("a*b*c", "abc"));
        assert!(!glob_match("a*b*c", "acb"));
        assert!(glob_match("*ab", "aab"));
        assert!(glob_match("**x", "x"));
        assert!(!glob_match("x", "X"));
        assert!(glob_match("?", "?"));
        assert!(!glob_match("?", "a"));
        assert!(glob_match("é*ü", "éaaü"));
    }

    #[test]
    fn masks_an_env_value_that_matches_like_an_argument() {
        let r = Redactor::new(["--password=*"]);
        let mut m: BTreeMap<String, Value> = serde_json::from_value(json!({
            "process.env": {"X": "--password=abc", "Y": "plain"},
        }))
        .unwrap();
        r.redact_metadata(&mut m);
        assert_eq!(m["process.env"]["X"], "***");
        assert_eq!(m["process.env"]["Y"], "plain");
        let mut m: BTreeMap<String, Value> = serde_json::from_value(json!({
            "process.env": ["X=--password=abc", "Y=plain"],
        }))
        .unwrap();
        r.redact_metadata(&mut m);
        assert_eq!(m["process.env"], json!(["X=***", "Y=plain"]));
    }

    #[test]
    fn masks_args_and_env_by_name() {
        let r = Redactor::new(["--password=*", "*_TOKEN"]);
        let mut m: BTreeMap<String, Value> = serde_json::from_value(json!({
            "process.command": ["/usr/bin/tool", "--password=hunter2", "--user=bob",
                                "GITHUB_TOKEN=abc", "MY_TOKEN", "--x_TOKEN=1"],
            "process.args": ["--password=hunter2", "ok"],
            "process.env": {"API_TOKEN": "s3cret", "HOME": "/root"},
            "process.pid": 1,
        }))
        .unwrap();
        r.redact_metadata(&mut m);
        assert_eq!(
            m["process.command"],
            json!([
                "/usr/bin/tool",
                "***",
                "--user=bob",
                "***",
                "***",
                "--x_TOKEN=1"
            ])
        );
        assert_eq!(m["process.args"], json!(["***", "ok"]));
        assert_eq!(
            m["process.env"],
            json!({"API_TOKEN": "***", "HOME": "/root"})
        );

        let mut m: BTreeMap<String, Value> =
            serde_json::from_value(json!({"process.env": ["A_TOKEN=x", "B=y"]})).unwrap();
        r.redact_metadata(&mut m);
        assert_eq!(m["process.env"], json!(["A_TOKEN=***", "B=y"]));
    }

    #[test]
    fn program_is_never_masked() {
        let r = Redactor::new(["*"]);
        let mut m: BTreeMap<String, Value> =
            serde_json::from_value(json!({"process.command": ["/bin/x", "a"]})).unwrap();
        r.redact_metadata(&mut m);
        assert_eq!(m["process.command"], json!(["/bin/x", "***"]));
    }
}
