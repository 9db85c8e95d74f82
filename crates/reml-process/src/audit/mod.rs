//! The audit trail (spec §2 and the audit chapter 3-6; `docs/audit-log.md` for the log format).
//!
//! Callers describe what happened through an [`AuditContext`] (`new(domain, subject)`,
//! [`with_metadata`](AuditContext::with_metadata), [`log(event, payload)`](AuditContext::log)),
//! which builds an [`AuditEvent`] and hands it to an [`AuditSink`]. A sink seals the event into
//! an [`AuditRecord`] — one JSON line with a sequence number and the hash of the previous
//! line — and stores it:
//!
//! | sink | where |
//! | --- | --- |
//! | [`JsonLinesSink`] | a JSON Lines file, appended, one `write(2)` per line, optional fsync, `flock`ed |
//! | [`StderrSink`] | standard error (`--audit -`) |
//! | [`MemorySink`] | memory, for tests; can be told to fail |
//! | [`NullSink`] | nowhere (the default of a context) |
//! | [`MultiSink`] | several sinks |
//! | [`FilteredSink`] | another sink, for the events a predicate accepts |
//! | [`RedactingSink`] | another sink, after masking secrets with a [`Redactor`] |
//!
//! # The log format (`docs/audit-log.md`)
//! One record per line, fields `seq, ts, audit_id, capability, domain, subject, event,
//! severity, metadata, prev` in that order. Decisions the record format leaves
//! to the writer:
//! - the first record has `seq` [`FIRST_SEQ`] = 1 and `prev` [`GENESIS_PREV`] (64 zeros);
//! - `prev` is the hex SHA-256 of the previous line's exact bytes without its newline;
//! - `seq` and the chain are per sink; for a file, per file (a reopened log resumes);
//! - `ts` is RFC 3339 UTC with six fractional digits, taken when the event is built (so with
//!   concurrent writers it need not grow with `seq`); `audit_id` is a UUID v4 per event;
//! - a torn last line left by a crash is recovered as described on [`JsonLinesSink`].
//!
//! [`verify_log`] checks a log (`reml-process audit verify`) and lists the lifecycles left
//! open ([`OpenLifecycle`]): a `process.spawned` with no end record for the same
//! `process.id`.
//!
//! # Audit failures
//! A failing sink does not break the application: [`AuditContext::log`] returns the
//! [`AuditError`] and the caller decides. When the policy sets `audit_required = true`, the
//! caller asks [`AuditSink::check`] (or [`AuditContext::check`]) *before* the operation and
//! refuses it if the sink cannot take records.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use reml_process::audit::{events, keys, AuditContext, AuditSink, MemorySink, Redactor};
//!
//! let sink = Arc::new(MemorySink::new());
//! let ctx = AuditContext::new("process", "/usr/bin/echo")
//!     .with_sink(sink.clone())
//!     .with_redactor(Redactor::new(["--password=*"]))
//!     .with_metadata(keys::PROCESS_COMMAND, vec!["/usr/bin/echo", "--password=x"]);
//! ctx.log(events::PROCESS_SPAWNED, serde_json::json!({ keys::PROCESS_PID: 4242 })).unwrap();
//! let rec = &sink.records()[0];
//! assert_eq!(rec.seq, 1);
//! assert_eq!(rec.metadata[keys::PROCESS_COMMAND], serde_json::json!(["/usr/bin/echo", "***"]));
//! rec.check_required_keys().unwrap();
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::error::{Diagnostic, IntoDiagnostic, Severity};

mod file;
pub mod layer;
mod names;
mod record;
mod redact;
mod sink;
mod verify;

pub use file::{JsonLinesOptions, JsonLinesSink};
pub use layer::AuditLayer;
pub use names::{check_required_keys, domains, events, keys, RequiredKeysError};
pub use record::{
    format_timestamp, line_hash, AuditEvent, AuditRecord, LineFault, CAPABILITY, FIRST_SEQ,
    GENESIS_PREV, MAX_LINE_BYTES, RECORD_FIELDS,
};
pub use redact::{glob_match, Redactor};
pub use sink::{FilteredSink, MemorySink, MultiSink, NullSink, RedactingSink, StderrSink};
pub use verify::{
    verify_log, verify_reader, OpenLifecycle, TornRegion, VerifyError, VerifySummary,
};

/// The kind of an [`AuditError`] (audit chapter `AuditErrorKind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditErrorKind {
    /// The record could not be delivered: opening, locking, reading, writing or syncing the
    /// log failed, the log file was deleted, or no sink is configured ([`NullSink::check`]).
    Transport,
    /// The record could not be encoded (too long, bad timestamp), or the existing log cannot
    /// be continued because its last line is not a record.
    Encoding,
    /// The event breaks an audit rule: [`AuditContext::require_keys`] is on and the event
    /// lacks a key `docs/audit-log.md` requires, or the payload is not a JSON object.
    PolicyViolation,
}

impl AuditErrorKind {
    /// `"transport"`, `"encoding"` or `"policy_violation"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditErrorKind::Transport => "transport",
            AuditErrorKind::Encoding => "encoding",
            AuditErrorKind::PolicyViolation => "policy_violation",
        }
    }
}

impl fmt::Display for AuditErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An audit failure (audit chapter `AuditError { kind, message }`).
///
/// Non-fatal by itself: the operation being audited has happened (or is refused beforehand
/// when audit is required, see [`AuditSink::check`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit {kind}: {message}")]
pub struct AuditError {
    /// What failed.
    pub kind: AuditErrorKind,
    /// A message naming the sink (the log path) and the reason, with the OS error if any.
    pub message: String,
}

impl AuditError {
    /// An error of `kind` with `message`.
    pub fn new(kind: AuditErrorKind, message: impl Into<String>) -> Self {
        AuditError {
            kind,
            message: message.into(),
        }
    }
}

/// An audit record a capability could not write
/// ([`ProcessCapability::audit_failure`](crate::ProcessCapability::audit_failure)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditFailure {
    /// The first error: which sink, which record, and why (e.g. `ENOSPC`).
    pub error: AuditError,
    /// Whether the audit log is required (`audit_required = true`): then nothing new starts
    /// through the capability, and a supervisor ends the job it runs.
    pub required: bool,
}

impl fmt::Display for AuditFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the audit log cannot be written: {}", self.error.message)
    }
}

impl IntoDiagnostic for AuditError {
    /// Code `core.process.audit.<kind>` (`core.process.audit.transport`, …), severity
    /// `warning` (audit failures do not stop the application), metadata `error.kind`.
    fn into_diagnostic(self) -> Diagnostic {
        let mut metadata = BTreeMap::new();
        metadata.insert(keys::ERROR_KIND.to_owned(), self.kind.as_str().into());
        Diagnostic {
            code: format!("core.process.audit.{}", self.kind.as_str()),
            severity: Severity::Warning,
            message: self.message,
            metadata,
        }
    }
}

/// Where audit events go (audit chapter `AuditSink`; object-safe, shared across threads).
///
/// Implementations seal each event into an [`AuditRecord`] with their own `seq`/`prev` chain
/// (starting at [`FIRST_SEQ`] / [`GENESIS_PREV`]) and must serialise concurrent calls so the
/// chain stays contiguous.
pub trait AuditSink: Send + Sync {
    /// Records `event`.
    ///
    /// # Errors
    /// [`AuditErrorKind::Transport`] when the record cannot be delivered,
    /// [`AuditErrorKind::Encoding`] when it cannot be encoded; each sink documents when.
    fn write(&self, event: &AuditEvent) -> Result<(), AuditError>;

    /// Whether the sink can take records now, without writing one: the `audit_required`
    /// gate, asked *before* an operation so it can be refused before it happens.
    ///
    /// The default says yes.
    ///
    /// # Errors
    /// The error a write would most likely meet (each sink documents what it checks).
    fn check(&self) -> Result<(), AuditError> {
        Ok(())
    }

    /// A short description for messages: `"file /var/log/x.jsonl"`, `"stderr"`, ….
    fn describe(&self) -> String {
        "audit sink".to_owned()
    }

    /// Whether every record written to this sink is thrown away, so that a writer may skip
    /// building records at all ([`NullSink`], and combinators over sinks that all discard).
    /// Must not change during the sink's life. The default says no: every record is built
    /// and written.
    fn discards(&self) -> bool {
        false
    }
}

/// The audit context of one subject (audit chapter `AuditContext { domain, subject, sink,
/// metadata }`): what every record it logs shares.
///
/// Cheap to clone (the sink is shared). Each [`log`](Self::log) builds an [`AuditEvent`]
/// from the context's domain, subject and metadata plus the payload (payload keys win),
/// masks it with the context's [`Redactor`], checks the required keys if
/// [`require_keys`](Self::require_keys) is on, and writes it to the sink.
#[derive(Clone)]
pub struct AuditContext {
    domain: String,
    subject: String,
    capability: String,
    sink: Arc<dyn AuditSink>,
    metadata: BTreeMap<String, Value>,
    redactor: Option<Arc<Redactor>>,
    require_keys: bool,
}

impl fmt::Debug for AuditContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditContext")
            .field("domain", &self.domain)
            .field("subject", &self.subject)
            .field("capability", &self.capability)
            .field("sink", &self.sink.describe())
            .field("metadata", &self.metadata)
            .field("redactor", &self.redactor)
            .field("require_keys", &self.require_keys)
            .finish()
    }
}

impl AuditContext {
    /// A context for `subject` in `domain` (spec: `AuditContext::new("process", program)`),
    /// capability [`CAPABILITY`], no metadata, no redaction, and a [`NullSink`]: set the real
    /// sink with [`with_sink`](Self::with_sink).
    pub fn new(domain: impl Into<String>, subject: impl Into<String>) -> Self {
        AuditContext {
            domain: domain.into(),
            subject: subject.into(),
            capability: CAPABILITY.to_owned(),
            sink: Arc::new(NullSink),
            metadata: BTreeMap::new(),
            redactor: None,
            require_keys: false,
        }
    }

    /// Uses `sink`.
    pub fn with_sink(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.sink = sink;
        self
    }

    /// Adds `key: value` to the metadata of every record this context logs.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Masks every record with `redactor` before the sink sees it.
    pub fn with_redactor(mut self, redactor: Redactor) -> Self {
        self.redactor = (!redactor.is_empty()).then(|| Arc::new(redactor));
        self
    }

    /// Sets the `capability` field of its records (default [`CAPABILITY`]).
    pub fn with_capability(mut self, capability: impl Into<String>) -> Self {
        self.capability = capability.into();
        self
    }

    /// When `on`, [`log`](Self::log) refuses (with [`AuditErrorKind::PolicyViolation`],
    /// writing nothing) an event that lacks the keys [`check_required_keys`] demands.
    pub fn require_keys(mut self, on: bool) -> Self {
        self.require_keys = on;
        self
    }

    /// The domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The subject.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The shared metadata.
    pub fn metadata(&self) -> &BTreeMap<String, Value> {
        &self.metadata
    }

    /// The sink.
    pub fn sink(&self) -> &Arc<dyn AuditSink> {
        &self.sink
    }

    /// Asks the sink whether it can take records now ([`AuditSink::check`]): the gate for
    /// `audit_required`.
    ///
    /// # Errors
    /// The sink's error.
    pub fn check(&self) -> Result<(), AuditError> {
        self.sink.check()
    }

    /// Builds (without writing) the event `event` of `severity` with `payload`, exactly as
    /// [`log_with_severity`](Self::log_with_severity) would write it: merged, redacted and,
    /// with [`require_keys`](Self::require_keys), checked.
    ///
    /// `payload` is a JSON object of metadata (`serde_json::json!({"process.pid": 42})`) or
    /// `null` for none.
    ///
    /// # Errors
    /// [`AuditErrorKind::PolicyViolation`] if `payload` is neither an object nor `null`, or
    /// required keys are missing while [`require_keys`](Self::require_keys) is on.
    pub fn event(
        &self,
        event: &str,
        severity: Severity,
        payload: Value,
    ) -> Result<AuditEvent, AuditError> {
        let mut ev = AuditEvent::new(self.domain.clone(), self.subject.clone(), event)
            .with_severity(severity)
            .with_capability(self.capability.clone());
        ev.metadata = self.metadata.clone();
        match payload {
            Value::Null => {}
            Value::Object(map) => ev.metadata.extend(map),
            other => {
                return Err(AuditError::new(
                    AuditErrorKind::PolicyViolation,
                    format!("payload of `{event}` must be a JSON object, not {other}"),
                ))
            }
        }
        self.prepare(ev)
    }

    fn prepare(&self, mut ev: AuditEvent) -> Result<AuditEvent, AuditError> {
        if let Some(r) = &self.redactor {
            r.redact_event(&mut ev);
        }
        if self.require_keys {
            ev.check_required_keys()
                .map_err(|e| AuditError::new(AuditErrorKind::PolicyViolation, e.to_string()))?;
        }
        Ok(ev)
    }

    /// Logs `event` (severity `info`) with `payload` (spec: `ctx.log("process.spawned",
    /// { pid, args })`).
    ///
    /// # Errors
    /// As [`event`](Self::event), then the sink's error.
    pub fn log(&self, event: &str, payload: Value) -> Result<(), AuditError> {
        self.log_with_severity(event, Severity::Info, payload)
    }

    /// Logs `event` with `severity` and `payload`.
    ///
    /// # Errors
    /// As [`event`](Self::event), then the sink's error.
    pub fn log_with_severity(
        &self,
        event: &str,
        severity: Severity,
        payload: Value,
    ) -> Result<(), AuditError> {
        let ev = self.event(event, severity, payload)?;
        self.sink.write(&ev)
    }

    /// Logs `event` from an error or diagnostic (spec §5: `IntoDiagnostic` merges errors
    /// into the log): its severity, its metadata over the context's, plus `error.code` and
    /// `error.message` ([`AuditEvent::from_diagnostic`]).
    ///
    /// # Errors
    /// As [`log`](Self::log).
    pub fn log_diagnostic(
        &self,
        event: &str,
        diagnostic: impl IntoDiagnostic,
    ) -> Result<(), AuditError> {
        let d = diagnostic.into_diagnostic();
        let mut ev =
            AuditEvent::from_diagnostic(self.domain.clone(), self.subject.clone(), event, &d)
                .with_capability(self.capability.clone());
        let mut metadata = self.metadata.clone();
        metadata.append(&mut ev.metadata);
        ev.metadata = metadata;
        let ev = self.prepare(ev)?;
        self.sink.write(&ev)
    }

    /// Writes an event built elsewhere, after the context's redaction and key check (its
    /// domain, subject and metadata are left as they are).
    ///
    /// # Errors
    /// As [`log`](Self::log).
    pub fn log_event(&self, event: AuditEvent) -> Result<(), AuditError> {
        let ev = self.prepare(event)?;
        self.sink.write(&ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn context_merges_redacts_and_checks() {
        let sink = Arc::new(MemorySink::new());
        let ctx = AuditContext::new(domains::PROCESS, "/usr/bin/tool")
            .with_sink(sink.clone())
            .with_redactor(Redactor::new(["*_TOKEN"]))
            .with_metadata(keys::PROCESS_COMMAND, vec!["/usr/bin/tool", "A_TOKEN=1"])
            .require_keys(true);
        let err = ctx.log(events::PROCESS_SPAWNED, Value::Null).unwrap_err();
        assert_eq!(err.kind, AuditErrorKind::PolicyViolation);
        assert!(err.message.contains("process.pid"), "{err}");
        assert!(sink.is_empty());

        ctx.log(
            events::PROCESS_SPAWNED,
            json!({keys::PROCESS_PID: 7, keys::PROCESS_ENV: {"X_TOKEN": "s"}}),
        )
        .unwrap();
        let r = &sink.records()[0];
        assert_eq!(r.domain, "process");
        assert_eq!(r.subject, "/usr/bin/tool");
        assert_eq!(r.capability, "core.process");
        assert_eq!(
            r.metadata[keys::PROCESS_COMMAND],
            json!(["/usr/bin/tool", "***"])
        );
        assert_eq!(r.metadata[keys::PROCESS_ENV], json!({"X_TOKEN": "***"}));
        assert_eq!(r.metadata[keys::PROCESS_PID], 7);

        let err = ctx.log(events::PROCESS_SPAWNED, json!([1])).unwrap_err();
        assert_eq!(err.kind, AuditErrorKind::PolicyViolation);
    }

    #[test]
    fn diagnostics_merge_into_the_log() {
        let sink = Arc::new(MemorySink::new());
        let ctx = AuditContext::new(domains::PROCESS, "/bin/nope")
            .with_sink(sink.clone())
            .with_metadata(keys::PROCESS_COMMAND, vec!["/bin/nope"])
            .require_keys(true);
        ctx.log_diagnostic(
            events::PROCESS_SPAWN_FAILED,
            crate::error::ProcessError::from_errno("spawn /bin/nope", 2),
        )
        .unwrap();
        let r = &sink.records()[0];
        assert_eq!(r.severity, Severity::Error);
        assert_eq!(r.metadata[keys::ERROR_CODE], "core.process.spawn_failed");
        assert_eq!(r.metadata[keys::ERROR_ERRNO], 2);
        assert_eq!(r.metadata[keys::PROCESS_COMMAND], json!(["/bin/nope"]));
    }

    #[test]
    fn shared_types_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<AuditContext>();
        assert_send_sync::<JsonLinesSink>();
        assert_send_sync::<StderrSink>();
        assert_send_sync::<MemorySink>();
        assert_send_sync::<MultiSink>();
        assert_send_sync::<FilteredSink>();
        assert_send_sync::<RedactingSink>();
        assert_send_sync::<Arc<dyn AuditSink>>();
    }

    #[test]
    fn null_sink_fails_the_gate_only() {
        let ctx = AuditContext::new("process", "/bin/x");
        assert_eq!(ctx.check().unwrap_err().kind, AuditErrorKind::Transport);
        ctx.log("x", Value::Null).unwrap();
    }

    #[test]
    fn audit_error_diagnostic() {
        let d = AuditError::new(AuditErrorKind::Transport, "disk full").into_diagnostic();
        assert_eq!(d.code, "core.process.audit.transport");
        assert_eq!(d.severity, Severity::Warning);
    }

    #[test]
    fn combinators() {
        let a = Arc::new(MemorySink::new());
        let b = Arc::new(MemorySink::new());
        let multi = MultiSink::new(vec![
            a.clone(),
            Arc::new(FilteredSink::min_severity(b.clone(), Severity::Warning)),
        ]);
        multi
            .write(&AuditEvent::new("process", "/x", "e1"))
            .unwrap();
        multi
            .write(&AuditEvent::new("process", "/x", "e2").with_severity(Severity::Error))
            .unwrap();
        assert_eq!(a.events(), ["e1", "e2"]);
        assert_eq!(b.events(), ["e2"]);
        // Each sink has its own chain.
        assert_eq!(b.records()[0].seq, 1);
        assert_eq!(a.records()[1].seq, 2);
        // Same event, same id in both.
        assert_eq!(a.records()[1].audit_id, b.records()[0].audit_id);

        b.fail_with(Some(AuditError::new(AuditErrorKind::Transport, "down")));
        let err = multi
            .write(&AuditEvent::new("process", "/x", "e3").with_severity(Severity::Error))
            .unwrap_err();
        assert_eq!(err.kind, AuditErrorKind::Transport);
        assert!(err.message.contains("down"), "{err}");
        assert_eq!(a.len(), 3, "the healthy sink still got it");
        assert!(multi.check().is_err());

        let c = Arc::new(MemorySink::new());
        let f = FilteredSink::events(c.clone(), ["process.*"]);
        f.write(&AuditEvent::new("thread", "t", "thread.created"))
            .unwrap();
        f.write(&AuditEvent::new("process", "/x", "process.exited"))
            .unwrap();
        assert_eq!(c.events(), ["process.exited"]);
    }
}
