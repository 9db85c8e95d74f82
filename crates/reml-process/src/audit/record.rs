//! What callers log ([`AuditEvent`]) and what a sink writes ([`AuditRecord`], one JSON line,
//! `docs/audit-log.md`).

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use serde::{Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::names::{check_required_keys, RequiredKeysError};
use super::{AuditError, AuditErrorKind};
use crate::error::{Diagnostic, Severity};

/// The `capability` field of every record this plugin writes.
pub const CAPABILITY: &str = "core.process";

/// The `seq` of the first record of a log. Sequence numbers then increase by exactly 1 per
/// line, per sink (per file for [`JsonLinesSink`](super::JsonLinesSink)).
pub const FIRST_SEQ: u64 = 1;

/// The `prev` of the first record of a log: 64 zeros (the "hash" of the nothing before it).
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The longest line, in bytes without its newline, that a sink writes or `verify` reads
/// (16 MiB). A longer record is refused with [`AuditErrorKind::Encoding`].
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// The field names of a record, in the order they are written (`docs/audit-log.md`).
pub const RECORD_FIELDS: [&str; 10] = [
    "seq",
    "ts",
    "audit_id",
    "capability",
    "domain",
    "subject",
    "event",
    "severity",
    "metadata",
    "prev",
];

/// One thing that happened, as a caller logs it (the audit chapter's diagnostic with its
/// `AuditEnvelope { audit_id, capability, metadata }`).
///
/// A sink turns it into an [`AuditRecord`] by adding `seq` and `prev`, which belong to the
/// sink's chain. `audit_id` and `ts` are fixed when the event is built, so the same event
/// written to several sinks (a [`MultiSink`](super::MultiSink)) has the same id and time in
/// each.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEvent {
    /// A fresh UUID v4 (hyphenated, lowercase) identifying this event.
    pub audit_id: String,
    /// When the event happened (written as RFC 3339 UTC with microseconds).
    pub ts: SystemTime,
    /// The capability that produced it; [`CAPABILITY`] unless set otherwise.
    pub capability: String,
    /// What kind of thing the subject is (see [`domains`](super::domains)).
    pub domain: String,
    /// The thing concerned: for processes, the resolved program path.
    pub subject: String,
    /// The event name (see [`events`](super::events)).
    pub event: String,
    /// How serious it is.
    pub severity: Severity,
    /// Metadata (see [`keys`](super::keys)), sorted by key.
    pub metadata: BTreeMap<String, Value>,
}

impl AuditEvent {
    /// A new `info` event with a fresh `audit_id`, `ts` = now, `capability` = [`CAPABILITY`]
    /// and no metadata.
    pub fn new(
        domain: impl Into<String>,
        subject: impl Into<String>,
        event: impl Into<String>,
    ) -> Self {
        AuditEvent {
            audit_id: uuid::Uuid::new_v4().to_string(),
            ts: SystemTime::now(),
            capability: CAPABILITY.to_owned(),
            domain: domain.into(),
            subject: subject.into(),
            event: event.into(),
            severity: Severity::Info,
            metadata: BTreeMap::new(),
        }
    }

    /// Builds an event from a [`Diagnostic`] (spec §5 `IntoDiagnostic`: errors merge into
    /// the log): severity and metadata are the diagnostic's, plus `error.code` (its code) and
    /// `error.message` (its message).
    pub fn from_diagnostic(
        domain: impl Into<String>,
        subject: impl Into<String>,
        event: impl Into<String>,
        diagnostic: &Diagnostic,
    ) -> Self {
        let mut ev = AuditEvent::new(domain, subject, event).with_severity(diagnostic.severity);
        ev.metadata = diagnostic.metadata.clone();
        ev.metadata.insert(
            super::keys::ERROR_CODE.to_owned(),
            diagnostic.code.clone().into(),
        );
        ev.metadata.insert(
            super::keys::ERROR_MESSAGE.to_owned(),
            diagnostic.message.clone().into(),
        );
        ev
    }

    /// Sets the severity.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Sets one metadata key (replacing any previous value).
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Sets the `capability` field.
    pub fn with_capability(mut self, capability: impl Into<String>) -> Self {
        self.capability = capability.into();
        self
    }

    /// Checks the keys its event requires ([`check_required_keys`]).
    ///
    /// # Errors
    /// [`RequiredKeysError`] naming every missing or malformed key.
    pub fn check_required_keys(&self) -> Result<(), RequiredKeysError> {
        check_required_keys(&self.event, &self.metadata)
    }
}

/// One line of the audit log, exactly as `docs/audit-log.md`:
///
/// ```json
/// {"seq":7,"ts":"2026-11-29T08:00:00.123456Z","audit_id":"0b6f…","capability":"core.process",
///  "domain":"process","subject":"/usr/bin/echo","event":"process.exited","severity":"info",
///  "metadata":{"process.command":["/usr/bin/echo","hi"],"process.exit_status":0,"process.pid":4242},
///  "prev":"<hex sha256 of the previous line>"}
/// ```
///
/// Records the audit layer writes about a process also carry `process.id`, the key that
/// ties the records of one process together across pid reuse
/// ([`keys::PROCESS_ID`](super::keys::PROCESS_ID): `"PID:START:BOOT"` on Linux).
///
/// Written compact, fields in that order, metadata keys sorted, followed by one `\n`.
/// `seq` starts at [`FIRST_SEQ`] and grows by 1 per line; `prev` is the lowercase hex
/// SHA-256 of the previous line's exact bytes without its newline ([`line_hash`]), and
/// [`GENESIS_PREV`] for the first record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditRecord {
    /// Position in the chain, from [`FIRST_SEQ`].
    pub seq: u64,
    /// RFC 3339 UTC with exactly six fractional digits, e.g. `2026-11-29T08:00:00.123456Z`.
    pub ts: String,
    /// UUID of the event.
    pub audit_id: String,
    /// The capability, `core.process`.
    pub capability: String,
    /// Domain of the subject.
    pub domain: String,
    /// The subject.
    pub subject: String,
    /// Event name.
    pub event: String,
    /// `"info"`, `"warning"` or `"error"`.
    #[serde(serialize_with = "ser_severity")]
    pub severity: Severity,
    /// Metadata, keys sorted.
    pub metadata: BTreeMap<String, Value>,
    /// Hex SHA-256 of the previous line, or [`GENESIS_PREV`].
    pub prev: String,
}

fn ser_severity<S: Serializer>(s: &Severity, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.as_str())
}

impl AuditRecord {
    /// Seals `event` at position `seq` of a chain whose previous line hashes to `prev`.
    ///
    /// # Errors
    /// [`AuditErrorKind::Encoding`] if `event.ts` cannot be written as RFC 3339 (a year
    /// outside 0‥=9999).
    pub fn seal(event: &AuditEvent, seq: u64, prev: &str) -> Result<AuditRecord, AuditError> {
        Ok(AuditRecord {
            seq,
            ts: format_timestamp(event.ts)?,
            audit_id: event.audit_id.clone(),
            capability: event.capability.clone(),
            domain: event.domain.clone(),
            subject: event.subject.clone(),
            event: event.event.clone(),
            severity: event.severity,
            metadata: event.metadata.clone(),
            prev: prev.to_owned(),
        })
    }

    /// The record as one line of JSON, without the newline.
    ///
    /// # Errors
    /// [`AuditErrorKind::Encoding`] if it cannot be serialised or is longer than
    /// [`MAX_LINE_BYTES`].
    pub fn to_line(&self) -> Result<String, AuditError> {
        let line = serde_json::to_string(self).map_err(|e| {
            AuditError::new(
                AuditErrorKind::Encoding,
                format!("cannot encode record: {e}"),
            )
        })?;
        if line.len() > MAX_LINE_BYTES {
            return Err(AuditError::new(
                AuditErrorKind::Encoding,
                format!(
                    "record `{}` is {} bytes, more than the {MAX_LINE_BYTES}-byte limit",
                    self.event,
                    line.len()
                ),
            ));
        }
        Ok(line)
    }

    /// Parses one line (without its newline) as a record, checking every field's presence and
    /// shape: `seq` an unsigned integer, `ts` RFC 3339 UTC with six fractional digits,
    /// `audit_id` a UUID, `capability`/`domain`/`event` non-empty strings, `subject` a string,
    /// `severity` one of `info`/`warning`/`error`, `metadata` an object, `prev` 64 lowercase
    /// hex digits. Fields other than the ten of `docs/audit-log.md` are refused.
    ///
    /// # Errors
    /// The first [`LineFault`] found.
    pub fn parse_line(line: &[u8]) -> Result<AuditRecord, LineFault> {
        let text = std::str::from_utf8(line).map_err(|_| LineFault::NotUtf8)?;
        if text.trim().is_empty() {
            return Err(LineFault::Unparsable("empty line".to_owned()));
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| LineFault::Unparsable(e.to_string()))?;
        let Value::Object(mut obj) = value else {
            return Err(LineFault::NotAnObject);
        };
        for (i, field) in RECORD_FIELDS.iter().enumerate() {
            if !obj.contains_key(*field) {
                return Err(LineFault::MissingField(RECORD_FIELDS[i]));
            }
        }
        if let Some(extra) = obj.keys().find(|k| !RECORD_FIELDS.contains(&k.as_str())) {
            return Err(LineFault::UnexpectedField(extra.clone()));
        }
        let bad = |field: &'static str, expected: &'static str| LineFault::InvalidField {
            field,
            expected,
        };
        let mut take_str = |field: &'static str, expected: &'static str| match obj.remove(field) {
            Some(Value::String(s)) => Ok(s),
            _ => Err(bad(field, expected)),
        };
        let ts = take_str("ts", "an RFC 3339 UTC timestamp with microseconds")?;
        if !is_timestamp(&ts) {
            return Err(bad("ts", "an RFC 3339 UTC timestamp with microseconds"));
        }
        let audit_id = take_str("audit_id", "a UUID")?;
        if uuid::Uuid::parse_str(&audit_id).is_err() {
            return Err(bad("audit_id", "a UUID"));
        }
        let capability = take_str("capability", "a non-empty string")?;
        let domain = take_str("domain", "a non-empty string")?;
        let subject = take_str("subject", "a string")?;
        let event = take_str("event", "a non-empty string")?;
        let severity = take_str("severity", "\"info\", \"warning\" or \"error\"")?;
        let prev = take_str("prev", "64 lowercase hex digits")?;
        if capability.is_empty() {
            return Err(bad("capability", "a non-empty string"));
        }
        if domain.is_empty() {
            return Err(bad("domain", "a non-empty string"));
        }
        if event.is_empty() {
            return Err(bad("event", "a non-empty string"));
        }
        let severity = match severity.as_str() {
            "info" => Severity::Info,
            "warning" => Severity::Warning,
            "error" => Severity::Error,
            _ => return Err(bad("severity", "\"info\", \"warning\" or \"error\"")),
        };
        if !is_hex_digest(&prev) {
            return Err(bad("prev", "64 lowercase hex digits"));
        }
        let seq = obj
            .get("seq")
            .and_then(Value::as_u64)
            .ok_or(bad("seq", "an unsigned integer"))?;
        let metadata = match obj.remove("metadata") {
            Some(Value::Object(m)) => m.into_iter().collect(),
            _ => return Err(bad("metadata", "an object")),
        };
        Ok(AuditRecord {
            seq,
            ts,
            audit_id,
            capability,
            domain,
            subject,
            event,
            severity,
            metadata,
            prev,
        })
    }

    /// Checks the keys its event requires ([`check_required_keys`]).
    ///
    /// # Errors
    /// [`RequiredKeysError`] naming every missing or malformed key.
    pub fn check_required_keys(&self) -> Result<(), RequiredKeysError> {
        check_required_keys(&self.event, &self.metadata)
    }
}

/// Why a line is not a valid record, or does not continue the chain (used by
/// [`verify_log`](super::verify_log) and by the file sink when it resumes a log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineFault {
    /// The line is not UTF-8.
    NotUtf8,
    /// The line is not JSON (the parser's message), or is empty.
    Unparsable(String),
    /// The line is JSON but not an object.
    NotAnObject,
    /// A field of the record format (`docs/audit-log.md`) is missing.
    MissingField(&'static str),
    /// A field that the record format (`docs/audit-log.md`) does not define.
    UnexpectedField(String),
    /// A field has the wrong shape; `expected` says what it should be.
    InvalidField {
        /// The field.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// The line is longer than [`MAX_LINE_BYTES`].
    TooLong,
    /// `seq` is higher than the next expected number: records are missing (or reordered).
    SequenceGap {
        /// The seq this line should have.
        expected: u64,
        /// The seq it has.
        found: u64,
    },
    /// `seq` is lower than expected: a record repeated, inserted or moved back.
    SequenceRepeat {
        /// The seq this line should have.
        expected: u64,
        /// The seq it has.
        found: u64,
    },
    /// `prev` is not the hash of the previous record's line (or not [`GENESIS_PREV`] on
    /// the first record).
    ChainBroken {
        /// The 1-based line of the previous record, `None` for the first record.
        previous_line: Option<u64>,
    },
    /// The final line has no newline: a write was interrupted (crash mid-write) or the file is
    /// being written right now. Every line before it was verified.
    IncompleteLastLine {
        /// Whether its bytes nonetheless parse as a record (only the newline is missing).
        parses: bool,
    },
}

impl fmt::Display for LineFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineFault::NotUtf8 => f.write_str("unparsable: not UTF-8"),
            LineFault::Unparsable(e) => write!(f, "unparsable: {e}"),
            LineFault::NotAnObject => f.write_str("unparsable: not a JSON object"),
            LineFault::MissingField(field) => write!(f, "missing field `{field}`"),
            LineFault::UnexpectedField(field) => write!(f, "unexpected field `{field}`"),
            LineFault::InvalidField { field, expected } => {
                write!(f, "invalid field `{field}`: expected {expected}")
            }
            LineFault::TooLong => write!(f, "line longer than {MAX_LINE_BYTES} bytes"),
            LineFault::SequenceGap { expected, found } => write!(
                f,
                "sequence gap: expected seq {expected}, found {found} (records missing or reordered)"
            ),
            LineFault::SequenceRepeat { expected, found } => write!(
                f,
                "sequence repeat: expected seq {expected}, found {found} (record repeated, inserted or reordered)"
            ),
            LineFault::ChainBroken {
                previous_line: Some(n),
            } => write!(
                f,
                "hash chain broken: prev is not the sha256 of line {n} (line {n} was edited, or a line was removed or inserted before this one)"
            ),
            LineFault::ChainBroken {
                previous_line: None,
            } => write!(f, "hash chain broken: the first record's prev must be {GENESIS_PREV}"),
            LineFault::IncompleteLastLine { parses: false } => f.write_str(
                "incomplete last line: no newline and not a complete record (a write interrupted by a crash)",
            ),
            LineFault::IncompleteLastLine { parses: true } => f.write_str(
                "incomplete last line: the record is complete but its newline is missing (a write interrupted by a crash)",
            ),
        }
    }
}

/// The lowercase hex SHA-256 of `line` (the exact bytes of a line, without its newline):
/// the `prev` of the record that follows it.
pub fn line_hash(line: &[u8]) -> String {
    let digest = Sha256::digest(line);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    out
}

/// Formats `t` as RFC 3339 UTC with microseconds: `2026-11-29T08:00:00.123456Z`.
///
/// # Errors
/// [`AuditErrorKind::Encoding`] for a time whose year is outside 0‥=9999.
pub fn format_timestamp(t: SystemTime) -> Result<String, AuditError> {
    let dt = time::OffsetDateTime::from(t);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    match dt.format(&format) {
        Ok(s) if s.len() == 27 => Ok(s),
        Ok(s) => Err(AuditError::new(
            AuditErrorKind::Encoding,
            format!("timestamp {s} is outside the years 0..=9999"),
        )),
        Err(e) => Err(AuditError::new(
            AuditErrorKind::Encoding,
            format!("cannot format timestamp: {e}"),
        )),
    }
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, digits where digits belong (shape only).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    const SHAPE: &[u8; 27] = b"dddd-dd-ddTdd:dd:dd.ddddddZ";
    b.len() == SHAPE.len()
        && b.iter().zip(SHAPE).all(|(c, m)| match m {
            b'd' => c.is_ascii_digit(),
            m => c == m,
        })
}

fn is_hex_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// A record's line with everything but its `seq` and `prev`, serialised before the chain is
/// known (so a sink can do it outside its lock): [`Chain::line_of`] adds the two. The line
/// is byte for byte the one [`AuditRecord::to_line`] gives for the same record: `seq` is the
/// first field and `prev` (always 64 hex digits) the last, and JSON writes both without
/// escapes.
pub(crate) struct Draft {
    /// From just after `{"seq":0` to just before `"prev":`: `,"ts":…,"metadata":{…},`.
    body: String,
    /// The event name, for the error of a line that is too long.
    event: String,
}

/// The record's fields borrowed from the event, serialised like [`AuditRecord`] (same
/// fields, same order, same serialisers) without copying the metadata.
#[derive(Serialize)]
struct RecordView<'a> {
    seq: u64,
    ts: &'a str,
    audit_id: &'a str,
    capability: &'a str,
    domain: &'a str,
    subject: &'a str,
    event: &'a str,
    #[serde(serialize_with = "ser_severity")]
    severity: Severity,
    metadata: &'a BTreeMap<String, Value>,
    prev: &'a str,
}

const DRAFT_HEAD: &str = "{\"seq\":0";
const PREV_TAIL: usize = "\"prev\":\"\"}".len() + 64;

impl Draft {
    /// Serialises `event` with a placeholder `seq` and `prev`.
    ///
    /// # Errors
    /// [`AuditErrorKind::Encoding`] as [`AuditRecord::to_line`] (the length is checked by
    /// [`Chain::line_of`]).
    pub(crate) fn new(event: &AuditEvent) -> Result<Draft, AuditError> {
        let ts = format_timestamp(event.ts)?;
        let view = RecordView {
            seq: 0,
            ts: &ts,
            audit_id: &event.audit_id,
            capability: &event.capability,
            domain: &event.domain,
            subject: &event.subject,
            event: &event.event,
            severity: event.severity,
            metadata: &event.metadata,
            prev: GENESIS_PREV,
        };
        let mut line = serde_json::to_string(&view).map_err(|e| {
            AuditError::new(
                AuditErrorKind::Encoding,
                format!("cannot encode record: {e}"),
            )
        })?;
        debug_assert!(line.starts_with(DRAFT_HEAD) && line.len() >= DRAFT_HEAD.len() + PREV_TAIL);
        line.truncate(line.len() - PREV_TAIL);
        line.drain(..DRAFT_HEAD.len());
        Ok(Draft {
            body: line,
            event: event.event.clone(),
        })
    }
}

/// The position of a sink in its chain: the `seq` and `prev` of the next record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Chain {
    pub(crate) next_seq: u64,
    pub(crate) prev: String,
}

impl Default for Chain {
    fn default() -> Self {
        Chain {
            next_seq: FIRST_SEQ,
            prev: GENESIS_PREV.to_owned(),
        }
    }
}

impl Chain {
    /// The chain after the record `line` (which has seq `seq`).
    pub(crate) fn after(seq: u64, line: &[u8]) -> Chain {
        Chain {
            next_seq: seq + 1,
            prev: line_hash(line),
        }
    }

    /// Seals `event` as the next record; returns it and its line (no newline). The chain is
    /// not advanced: call [`Chain::advance`] once the line is written.
    pub(crate) fn seal(&self, event: &AuditEvent) -> Result<(AuditRecord, String), AuditError> {
        let record = AuditRecord::seal(event, self.next_seq, &self.prev)?;
        let line = record.to_line()?;
        Ok((record, line))
    }

    /// The line (no newline) of `draft` as the next record: byte for byte what
    /// [`Chain::seal`] gives for the same event.
    ///
    /// # Errors
    /// [`AuditErrorKind::Encoding`] if it is longer than [`MAX_LINE_BYTES`].
    pub(crate) fn line_of(&self, draft: &Draft) -> Result<String, AuditError> {
        debug_assert_eq!(self.prev.len(), 64);
        let mut line = String::with_capacity(draft.body.len() + PREV_TAIL + 32);
        line.push_str("{\"seq\":");
        // Writing to a String cannot fail.
        let _ = fmt::Write::write_fmt(&mut line, format_args!("{}", self.next_seq));
        line.push_str(&draft.body);
        line.push_str("\"prev\":\"");
        line.push_str(&self.prev);
        line.push_str("\"}");
        if line.len() > MAX_LINE_BYTES {
            return Err(AuditError::new(
                AuditErrorKind::Encoding,
                format!(
                    "record `{}` is {} bytes, more than the {MAX_LINE_BYTES}-byte limit",
                    draft.event,
                    line.len()
                ),
            ));
        }
        Ok(line)
    }

    /// Moves past `line`, just written.
    pub(crate) fn advance(&mut self, line: &str) {
        *self = Chain::after(self.next_seq, line.as_bytes());
    }
}

#[cfg(test)]
mod tests;
