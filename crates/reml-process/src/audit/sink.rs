//! Sinks other than the JSON Lines file: standard error, memory, null, and the combinators.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::record::{AuditEvent, AuditRecord, Chain};
use super::redact::{glob_match, Redactor};
use super::{AuditError, AuditErrorKind, AuditSink};
use crate::error::Severity;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves the state consistent (the chain only advances
    // after a successful write), so a poisoned lock is simply taken over.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A sink that discards every record (what [`AuditContext::new`](super::AuditContext::new)
/// starts with).
///
/// [`write`](AuditSink::write) succeeds (nothing to fail), but [`check`](AuditSink::check)
/// fails with [`AuditErrorKind::Transport`]: "no audit sink configured", so an operation that
/// requires audit is refused when no real sink was given.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullSink;

impl AuditSink for NullSink {
    fn write(&self, _event: &AuditEvent) -> Result<(), AuditError> {
        Ok(())
    }

    fn check(&self) -> Result<(), AuditError> {
        Err(AuditError::new(
            AuditErrorKind::Transport,
            "no audit sink configured (records are discarded)",
        ))
    }

    /// Yes: every record is thrown away.
    fn discards(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        "null".to_owned()
    }
}

#[derive(Default)]
struct MemoryState {
    chain: Chain,
    lines: Vec<String>,
    records: Vec<AuditRecord>,
    failure: Option<AuditError>,
}

/// An in-memory sink for tests: keeps every record (sealed with `seq` and `prev` like a file,
/// so its [`to_jsonl`](Self::to_jsonl) verifies) and can be told to fail.
#[derive(Default)]
pub struct MemorySink {
    state: Mutex<MemoryState>,
}

impl MemorySink {
    /// An empty sink; its first record gets seq [`FIRST_SEQ`](super::FIRST_SEQ).
    pub fn new() -> Self {
        Self::default()
    }

    /// Every record written so far, in order.
    pub fn records(&self) -> Vec<AuditRecord> {
        lock(&self.state).records.clone()
    }

    /// Every line written so far (no newlines), in order.
    pub fn lines(&self) -> Vec<String> {
        lock(&self.state).lines.clone()
    }

    /// The event names written so far, in order.
    pub fn events(&self) -> Vec<String> {
        lock(&self.state)
            .records
            .iter()
            .map(|r| r.event.clone())
            .collect()
    }

    /// The log as a JSON Lines text, every line ended by `\n` (what a file sink would hold).
    pub fn to_jsonl(&self) -> String {
        let st = lock(&self.state);
        let mut out = String::new();
        for l in &st.lines {
            out.push_str(l);
            out.push('\n');
        }
        out
    }

    /// How many records were written.
    pub fn len(&self) -> usize {
        lock(&self.state).records.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// From now on, `write` and `check` fail with `error` (`Some`), or work again (`None`).
    /// Nothing is recorded while failing.
    pub fn fail_with(&self, error: Option<AuditError>) {
        lock(&self.state).failure = error;
    }
}

impl AuditSink for MemorySink {
    /// # Errors
    /// The error set with [`MemorySink::fail_with`]; [`AuditErrorKind::Encoding`] if the
    /// record cannot be encoded.
    fn write(&self, event: &AuditEvent) -> Result<(), AuditError> {
        let mut st = lock(&self.state);
        if let Some(e) = &st.failure {
            return Err(e.clone());
        }
        let (record, line) = st.chain.seal(event)?;
        st.chain.advance(&line);
        st.records.push(record);
        st.lines.push(line);
        Ok(())
    }

    fn check(&self) -> Result<(), AuditError> {
        match &lock(&self.state).failure {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn describe(&self) -> String {
        "memory".to_owned()
    }
}

/// Writes each record as one line to standard error (`--audit -`, `docs/command.md`).
///
/// Each line, newline included, goes out whole while holding the stderr lock, waiting for
/// room when another process made the shared stderr non-blocking
/// ([`write_all_waiting`](crate::supervise::write_all_waiting)).
/// The chain (seq, prev) is per `StderrSink` value, starting at
/// [`FIRST_SEQ`](super::FIRST_SEQ).
///
/// # Caveats
/// Other writers to the same stderr (a child that inherits it, another sink) interleave with
/// the records, so the stream as a whole need not verify; use a file for tamper evidence.
#[derive(Default)]
pub struct StderrSink {
    chain: Mutex<Chain>,
}

impl StderrSink {
    /// A sink on this process's standard error.
    pub fn new() -> Self {
        Self::default()
    }
}

/// A standard error that is a regular file must keep within this process's file-size
/// limit (see [`within_file_size_limit`](super::file::within_file_size_limit)); its offset
/// is where the next write goes (the end, for `O_APPEND`).
fn stderr_room(add: usize) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let fd = rustix::stdio::stderr();
        if let Ok(st) = rustix::fs::fstat(fd) {
            if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile
            {
                let append = rustix::fs::fcntl_getfl(fd)
                    .is_ok_and(|f| f.contains(rustix::fs::OFlags::APPEND));
                let at = if append {
                    st.st_size as u64
                } else {
                    rustix::fs::tell(fd).unwrap_or(st.st_size as u64)
                };
                return super::file::within_file_size_limit(at, add);
            }
        }
    }
    let _ = add;
    Ok(())
}

impl AuditSink for StderrSink {
    /// # Errors
    /// [`AuditErrorKind::Transport`] if writing to stderr fails (closed descriptor, broken
    /// pipe); the chain does not advance then.
    fn write(&self, event: &AuditEvent) -> Result<(), AuditError> {
        let mut chain = lock(&self.chain);
        let (_, mut line) = chain.seal(event)?;
        line.push('\n');
        // The std lock keeps other writers of this process off the line; the write itself
        // waits for room when someone made the shared stderr non-blocking. A record that
        // would pass the file-size limit is refused whole first.
        let _err = std::io::stderr().lock();
        stderr_room(line.len())
            .and_then(|()| {
                crate::supervise::write_all_waiting(rustix::stdio::stderr(), line.as_bytes())
            })
            .map_err(|e| {
                AuditError::new(
                    AuditErrorKind::Transport,
                    format!("audit log on standard error: {e}"),
                )
            })?;
        line.pop();
        chain.advance(&line);
        Ok(())
    }

    /// # Errors
    /// [`AuditErrorKind::Transport`] if descriptor 2 is not open (Unix); otherwise `Ok`.
    fn check(&self) -> Result<(), AuditError> {
        #[cfg(unix)]
        {
            if let Err(e) = rustix::io::fcntl_getfd(rustix::stdio::stderr()) {
                return Err(AuditError::new(
                    AuditErrorKind::Transport,
                    format!("audit log on standard error: {}", std::io::Error::from(e)),
                ));
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        "stderr".to_owned()
    }
}

/// Writes every record to each of several sinks (the audit chapter's multi sink).
///
/// Each inner sink keeps its own chain. A write goes to every sink even if an earlier one
/// fails.
#[derive(Default)]
pub struct MultiSink {
    sinks: Vec<Arc<dyn AuditSink>>,
}

impl MultiSink {
    /// A multi sink over `sinks`.
    pub fn new(sinks: Vec<Arc<dyn AuditSink>>) -> Self {
        MultiSink { sinks }
    }

    /// Adds a sink.
    pub fn push(&mut self, sink: Arc<dyn AuditSink>) {
        self.sinks.push(sink);
    }

    fn each(&self, f: impl Fn(&dyn AuditSink) -> Result<(), AuditError>) -> Result<(), AuditError> {
        let mut first: Option<AuditErrorKind> = None;
        let mut messages = Vec::new();
        for s in &self.sinks {
            if let Err(e) = f(s.as_ref()) {
                first.get_or_insert(e.kind);
                messages.push(format!("{}: {}", s.describe(), e.message));
            }
        }
        match first {
            None => Ok(()),
            Some(kind) => Err(AuditError::new(kind, messages.join("; "))),
        }
    }
}

impl AuditSink for MultiSink {
    /// # Errors
    /// If any sink fails: the kind of the first failure, and a message naming every failing
    /// sink and its error.
    fn write(&self, event: &AuditEvent) -> Result<(), AuditError> {
        self.each(|s| s.write(event))
    }

    /// # Errors
    /// As [`write`](Self::write): fails if any sink's check fails.
    fn check(&self) -> Result<(), AuditError> {
        self.each(|s| s.check())
    }

    /// When every sink discards (none at all included).
    fn discards(&self) -> bool {
        self.sinks.iter().all(|s| s.discards())
    }

    fn describe(&self) -> String {
        let names: Vec<String> = self.sinks.iter().map(|s| s.describe()).collect();
        format!("multi[{}]", names.join(", "))
    }
}

type Predicate = dyn Fn(&AuditEvent) -> bool + Send + Sync;

/// Passes on only the events a predicate accepts (the audit chapter's filtered sink); the
/// others are dropped and count as written.
pub struct FilteredSink {
    inner: Arc<dyn AuditSink>,
    predicate: Box<Predicate>,
}

impl FilteredSink {
    /// Passes on the events for which `predicate` returns `true`.
    pub fn new(
        inner: Arc<dyn AuditSink>,
        predicate: impl Fn(&AuditEvent) -> bool + Send + Sync + 'static,
    ) -> Self {
        FilteredSink {
            inner,
            predicate: Box::new(predicate),
        }
    }

    /// Passes on the events of severity `min` or more serious (`Info < Warning < Error`).
    pub fn min_severity(inner: Arc<dyn AuditSink>, min: Severity) -> Self {
        Self::new(inner, move |e| e.severity >= min)
    }

    /// Passes on the events whose name matches one of the glob `patterns`
    /// ([`glob_match`]: `"process.*"`, `"thread.joined"`).
    pub fn events<I, S>(inner: Arc<dyn AuditSink>, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let patterns: Vec<String> = patterns.into_iter().map(Into::into).collect();
        Self::new(inner, move |e| {
            patterns.iter().any(|p| glob_match(p, &e.event))
        })
    }
}

impl AuditSink for FilteredSink {
    /// # Errors
    /// The inner sink's error, for an accepted event.
    fn write(&self, event: &AuditEvent) -> Result<(), AuditError> {
        if (self.predicate)(event) {
            self.inner.write(event)
        } else {
            Ok(())
        }
    }

    /// The inner sink's check (whatever the filter would let through).
    fn check(&self) -> Result<(), AuditError> {
        self.inner.check()
    }

    /// When the inner sink discards.
    fn discards(&self) -> bool {
        self.inner.discards()
    }

    fn describe(&self) -> String {
        format!("filtered[{}]", self.inner.describe())
    }
}

/// Masks secrets with a [`Redactor`] before passing each event on, so the inner sink never
/// sees them. The same masking [`AuditContext::with_redactor`](super::AuditContext::with_redactor)
/// applies, but attached to the sink, so every context writing through it is covered.
pub struct RedactingSink {
    inner: Arc<dyn AuditSink>,
    redactor: Redactor,
}

impl RedactingSink {
    /// Redacts with `redactor`, then writes to `inner`.
    pub fn new(inner: Arc<dyn AuditSink>, redactor: Redactor) -> Self {
        RedactingSink { inner, redactor }
    }
}

impl AuditSink for RedactingSink {
    /// # Errors
    /// The inner sink's error.
    fn write(&self, event: &AuditEvent) -> Result<(), AuditError> {
        if self.redactor.is_empty() {
            return self.inner.write(event);
        }
        let mut event = event.clone();
        self.redactor.redact_event(&mut event);
        self.inner.write(&event)
    }

    fn check(&self) -> Result<(), AuditError> {
        self.inner.check()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    /// When the inner sink discards.
    fn discards(&self) -> bool {
        self.inner.discards()
    }
}
