//! Errors of reading a policy file, each naming the key, the line and the column
//! (`docs/command.md` `verify` and `run --policy`: exit 125 with line and column).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// What is wrong with a policy file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyErrorKind {
    /// The file could not be read (missing, unreadable, too large); the errno is in
    /// [`PolicyError::errno`] when the OS reported one.
    Io,
    /// The text is not valid TOML (or not UTF-8).
    Syntax,
    /// A section or key the policy format does not have (a typo must never weaken a policy).
    UnknownKey,
    /// A required key is absent (only `[commands] allow` is required).
    MissingKey,
    /// A value of the wrong TOML type (a string where a number is expected, …).
    InvalidType,
    /// A value of the right type that is not valid (unknown effect, bad duration, …).
    InvalidValue,
}

impl PolicyErrorKind {
    /// A stable snake_case name: `io`, `syntax`, `unknown_key`, `missing_key`,
    /// `invalid_type`, `invalid_value`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PolicyErrorKind::Io => "io",
            PolicyErrorKind::Syntax => "syntax",
            PolicyErrorKind::UnknownKey => "unknown_key",
            PolicyErrorKind::MissingKey => "missing_key",
            PolicyErrorKind::InvalidType => "invalid_type",
            PolicyErrorKind::InvalidValue => "invalid_value",
        }
    }
}

/// A 1-based position in the policy text; `column` counts Unicode scalar values, not bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// Line number, from 1.
    pub line: usize,
    /// Column number, from 1.
    pub column: usize,
}

impl Location {
    /// The position of byte `offset` in `text` (clamped to the text, moved back to a
    /// character boundary).
    pub fn of_offset(text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Location {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
}

/// An invalid or unreadable policy file (`docs/policy.md`).
///
/// Every error found in policy *text* carries the [`Location`] of the offending text and,
/// when one applies, the dotted key path (`limits.max_wall_time`,
/// `commands.allowed_signals[2]`). `Display` prints one line:
/// `PATH: line L, column C: MESSAGE` (the path only when the policy came from a file), with
/// the key named inside the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// What kind of problem.
    pub kind: PolicyErrorKind,
    /// The policy file, when the policy was read from one.
    pub path: Option<PathBuf>,
    /// The dotted key path of the offending entry, when known.
    pub key: Option<String>,
    /// Where in the text; `None` for [`PolicyErrorKind::Io`] errors and for errors of
    /// [`Policy::default_for_program`](super::Policy::default_for_program), which has no
    /// text.
    pub location: Option<Location>,
    /// One line saying what is wrong, naming the key.
    pub message: String,
    /// The OS error number for [`PolicyErrorKind::Io`] errors that have one.
    pub errno: Option<i32>,
}

impl PolicyError {
    pub(crate) fn new(
        kind: PolicyErrorKind,
        key: Option<String>,
        location: Option<Location>,
        message: impl Into<String>,
    ) -> PolicyError {
        PolicyError {
            kind,
            path: None,
            key,
            location,
            message: one_line(&message.into()),
            errno: None,
        }
    }

    pub(crate) fn io(path: &Path, err: &std::io::Error) -> PolicyError {
        let errno = err.raw_os_error();
        let message = match errno {
            Some(n) => format!("cannot read: {} (errno {n})", crate::error::errno_text(n)),
            None => format!("cannot read: {err}"),
        };
        PolicyError {
            kind: PolicyErrorKind::Io,
            path: Some(path.to_owned()),
            key: None,
            location: None,
            message,
            errno,
        }
    }

    pub(crate) fn with_path(mut self, path: &Path) -> PolicyError {
        self.path = Some(path.to_owned());
        self
    }

    /// The line, when known (1-based).
    pub fn line(&self) -> Option<usize> {
        self.location.map(|l| l.line)
    }

    /// The column, when known (1-based, in characters).
    pub fn column(&self) -> Option<usize> {
        self.location.map(|l| l.column)
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{}: ", crate::error::os_text(&p))?;
        }
        if let Some(l) = self.location {
            write!(f, "line {}, column {}: ", l.line, l.column)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for PolicyError {}

/// Joins a multi-line message (toml's syntax errors have several lines) into one line.
fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Turns a `toml` deserialisation error into a [`PolicyError`] naming the key.
///
/// `doc` is the same text parsed by `toml_edit`, used only to find which key the error's
/// span belongs to.
pub(crate) fn from_de_error(
    text: &str,
    doc: &toml_edit::ImDocument<&str>,
    err: &toml::de::Error,
) -> PolicyError {
    let span = err.span();
    let location = Some(Location::of_offset(
        text,
        span.as_ref().map_or(0, |s| s.start),
    ));
    let located = span.as_ref().and_then(|s| locate(doc, s));
    let msg = err.message();
    let join = |parent: Option<&str>, field: &str| match parent {
        Some(p) if !p.is_empty() => format!("{p}.{field}"),
        _ => field.to_owned(),
    };
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let (field, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let key = located.unwrap_or_else(|| field.to_owned());
        let tail = tail.trim_start_matches(',').trim();
        let message = if tail.is_empty() {
            format!("unknown key `{key}`")
        } else {
            format!("unknown key `{key}` ({tail})")
        };
        return PolicyError::new(PolicyErrorKind::UnknownKey, Some(key), location, message);
    }
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        // The span of a missing-field error is the whole table it is missing from, which
        // for the root can coincide with a section's span; the format has exactly two
        // required keys, so name them directly.
        let key = match field {
            "commands" => "commands".to_owned(),
            "allow" => "commands.allow".to_owned(),
            _ => join(located.as_deref(), field),
        };
        let message = if key == "commands" {
            "missing required section `[commands]` (its key `allow` is required)".to_owned()
        } else {
            format!("missing required key `{key}`")
        };
        return PolicyError::new(PolicyErrorKind::MissingKey, Some(key), location, message);
    }
    let kind = if msg.starts_with("invalid type") {
        PolicyErrorKind::InvalidType
    } else {
        PolicyErrorKind::InvalidValue
    };
    let message = match &located {
        Some(k) => format!("`{k}`: {msg}"),
        None => msg.to_owned(),
    };
    PolicyError::new(kind, located, location, message)
}

/// A syntax error of `toml_edit`'s parser.
pub(crate) fn from_syntax_error(text: &str, err: &toml_edit::TomlError) -> PolicyError {
    let offset = err.span().map_or(0, |s| s.start);
    PolicyError::new(
        PolicyErrorKind::Syntax,
        None,
        Some(Location::of_offset(text, offset)),
        format!("TOML syntax error: {}", err.message()),
    )
}

/// One key of the document with the spans of its key and its value.
struct Entry {
    path: String,
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
}

/// The dotted path (`limits.max_wall_time`, `commands.allow[1]`) of the key or value that
/// `span` designates: an exact match of a key or value span first, else the smallest key or
/// value span containing the start of `span`.
fn locate(doc: &toml_edit::ImDocument<&str>, span: &Range<usize>) -> Option<String> {
    let mut entries = Vec::new();
    walk_table(doc.as_table(), "", &mut entries);
    let exact = entries
        .iter()
        .filter(|e| e.key.as_ref() == Some(span) || e.value.as_ref() == Some(span))
        .max_by_key(|e| e.path.len());
    if let Some(e) = exact {
        return Some(e.path.clone());
    }
    let at = span.start;
    entries
        .iter()
        .filter_map(|e| {
            [e.key.as_ref(), e.value.as_ref()]
                .into_iter()
                .flatten()
                .filter(|r| r.start <= at && at < r.end)
                .map(|r| r.end - r.start)
                .min()
                .map(|len| (len, e))
        })
        .min_by_key(|(len, e)| (*len, usize::MAX - e.path.len()))
        .map(|(_, e)| e.path.clone())
}

fn child_path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn walk_table(table: &toml_edit::Table, prefix: &str, out: &mut Vec<Entry>) {
    for (k, item) in table.iter() {
        let path = child_path(prefix, k);
        let key = table.key(k).and_then(|k| k.span());
        walk_item(item, path, key, out);
    }
}

fn walk_item(
    item: &toml_edit::Item,
    path: String,
    key: Option<Range<usize>>,
    out: &mut Vec<Entry>,
) {
    match item {
        toml_edit::Item::None => {}
        toml_edit::Item::Value(v) => walk_value(v, path, key, out),
        toml_edit::Item::Table(t) => {
            out.push(Entry {
                path: path.clone(),
                key,
                value: t.span(),
            });
            walk_table(t, &path, out);
        }
        toml_edit::Item::ArrayOfTables(a) => {
            out.push(Entry {
                path: path.clone(),
                key,
                value: a.span(),
            });
            for (i, t) in a.iter().enumerate() {
                let p = format!("{path}[{i}]");
                out.push(Entry {
                    path: p.clone(),
                    key: None,
                    value: t.span(),
                });
                walk_table(t, &p, out);
            }
        }
    }
}

fn walk_value(v: &toml_edit::Value, path: String, key: Option<Range<usize>>, out: &mut Vec<Entry>) {
    out.push(Entry {
        path: path.clone(),
        key,
        value: v.span(),
    });
    match v {
        toml_edit::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk_value(x, format!("{path}[{i}]"), None, out);
            }
        }
        toml_edit::Value::InlineTable(t) => {
            for (k, x) in t.iter() {
                let key = t.key(k).and_then(|k| k.span());
                walk_value(x, child_path(&path, k), key, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_to_lines_and_columns() {
        let t = "ab\ncdé\nf";
        assert_eq!(Location::of_offset(t, 0), Location { line: 1, column: 1 });
        assert_eq!(Location::of_offset(t, 3), Location { line: 2, column: 1 });
        // After the two-byte `é`: column counts characters.
        assert_eq!(Location::of_offset(t, 7), Location { line: 2, column: 4 });
        // Inside `é` moves back to its start.
        assert_eq!(Location::of_offset(t, 6), Location { line: 2, column: 3 });
        assert_eq!(Location::of_offset(t, 999), Location { line: 3, column: 2 });
    }

    #[test]
    fn messages_become_one_line() {
        assert_eq!(
            one_line("invalid array\nexpected `]`\n"),
            "invalid array; expected `]`"
        );
    }
}
