//! Tamper evidence: checking an audit log (`docs/command.md` `audit verify`,
//! `docs/audit-log.md`).

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::names::{domains, events, keys};
use super::record::{line_hash, AuditRecord, LineFault, FIRST_SEQ, GENESIS_PREV, MAX_LINE_BYTES};

/// The largest run of torn bytes a recovery record can vouch for (one torn line and one torn
/// recovery, each at most [`MAX_LINE_BYTES`]).
const MAX_TORN_REGION: usize = 2 * MAX_LINE_BYTES + 1;

/// A good log: what [`verify_log`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifySummary {
    /// Number of records (recovery records included); their seqs are
    /// [`FIRST_SEQ`]`..=records`.
    pub records: u64,
    /// Number of lines in the file (records plus the lines of torn regions).
    pub lines: u64,
    /// The hex sha256 of the last record's line: the `prev` the next record must carry
    /// ([`GENESIS_PREV`] for an empty log). Keep it elsewhere to detect later truncation.
    pub head: String,
    /// Bytes left by a crash mid-write and vouched for by an `audit.recovered` record, in
    /// file order.
    pub torn_regions: Vec<TornRegion>,
    /// The `process.spawned` records that no end record follows for the same process (the
    /// writer was killed before it could write one), in file order. Not a fault of the log:
    /// the chain still verifies. See [`OpenLifecycle`].
    pub open: Vec<OpenLifecycle>,
}

/// A lifecycle left open: a `process.spawned` record that no record ending the same process
/// ([`events::ends_lifecycle`]: `process.exited`, `process.timed_out`, `process.killed`,
/// `process.released`, `process.leaked`) follows.
///
/// Records of one process are matched by their `process.id` ([`keys::PROCESS_ID`]), which
/// pid reuse cannot confuse. A record without one (a log written before it existed, or by
/// another writer) is matched by `process.pid` instead: an end closes the latest open
/// lifecycle of that pid, and a new `process.spawned` for a pid still open leaves the earlier
/// one open (the kernel reuses a pid only once its process is gone, so that one ended
/// unrecorded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenLifecycle {
    /// 1-based line of its `process.spawned` record.
    pub line: u64,
    /// `process.pid`, when the record has a positive integer there.
    pub pid: Option<u64>,
    /// `process.id`, when the record has one.
    pub id: Option<String>,
    /// The record's subject: the resolved program path.
    pub subject: String,
}

impl fmt::Display for OpenLifecycle {
    /// `pid 4242 (/usr/bin/sleep)`, control characters in the subject escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "pid {pid}")?,
            None => write!(f, "pid ?")?,
        }
        write!(f, " (")?;
        for c in self.subject.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        write!(f, ")")
    }
}

impl VerifySummary {
    /// The second line of `reml-process audit verify` when lifecycles are open
    /// (`open: 2 lifecycles without an end record: pid 4242 (/usr/bin/sleep), pid 4250
    /// (/usr/bin/sleep)`, every one listed in file order), or `None` when there are none.
    pub fn open_line(&self) -> Option<String> {
        if self.open.is_empty() {
            return None;
        }
        let list: Vec<String> = self.open.iter().map(ToString::to_string).collect();
        Some(format!(
            "open: {} lifecycle{} without an end record: {}",
            self.open.len(),
            if self.open.len() == 1 { "" } else { "s" },
            list.join(", ")
        ))
    }
}

/// Lines left by a crash mid-write, skipped by the chain and described by the
/// `audit.recovered` record that follows them (see [`JsonLinesSink`](super::JsonLinesSink)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornRegion {
    /// 1-based number of its first line.
    pub first_line: u64,
    /// 1-based number of its last line.
    pub last_line: u64,
    /// Its length in bytes (newlines between its lines included, the final one excluded).
    pub bytes: u64,
}

impl fmt::Display for VerifySummary {
    /// `ok: N records`, followed by ` (K torn lines recovered: lines A, B-C)` when there are
    /// torn regions. One line: open lifecycles are [`open_line`](Self::open_line).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ok: {} records", self.records)?;
        if !self.torn_regions.is_empty() {
            let lines: u64 = self
                .torn_regions
                .iter()
                .map(|t| t.last_line - t.first_line + 1)
                .sum();
            let at: Vec<String> = self
                .torn_regions
                .iter()
                .map(|t| {
                    if t.first_line == t.last_line {
                        t.first_line.to_string()
                    } else {
                        format!("{}-{}", t.first_line, t.last_line)
                    }
                })
                .collect();
            write!(
                f,
                " ({lines} torn line{} recovered: line{} {})",
                if lines == 1 { "" } else { "s" },
                if lines == 1 { "" } else { "s" },
                at.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Why a log does not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The log could not be read (`audit verify` exits 125).
    #[error("{}: {source}", path.as_ref().map_or_else(|| "audit log".to_owned(), |p| crate::error::os_text(p).to_string()))]
    Io {
        /// The file, when reading one.
        path: Option<PathBuf>,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The first bad line (`audit verify` exits 1).
    #[error("line {line}: {fault}")]
    BadLine {
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        fault: LineFault,
        /// How many records before it verified.
        verified: u64,
    },
}

/// Checks the audit log at `path` (`reml-process audit verify`, `docs/command.md`).
///
/// Every line must be a record with all the fields of `docs/audit-log.md`
/// ([`AuditRecord::parse_line`]); the first must have seq [`FIRST_SEQ`] (1) and prev
/// [`GENESIS_PREV`]; each next one seq + 1 and prev = sha256 of the previous record's line; the
/// file must end with a newline. The only lines allowed outside the chain are a torn region left by
/// a crash and immediately followed by the `audit.recovered` record that describes it byte for
/// byte.
///
/// Detected: an edited line (at that line if it no longer parses or its seq/prev changed,
/// otherwise at the next line, whose prev no longer matches), a removed, reordered or
/// inserted line (at the first line out of sequence), and an incomplete last line.
///
/// A good log's summary also lists the lifecycles left open
/// ([`VerifySummary::open`], [`OpenLifecycle`]): processes whose start is recorded but not
/// their end, because the writer was killed. That is not a bad line (the exit status of
/// `audit verify` stays 0 unless `--strict`).
///
/// # Errors
/// - [`VerifyError::Io`] if the file cannot be opened or read, or is not a regular file (a
///   FIFO, a device, a directory: refused at once, never waited on or read without end);
/// - [`VerifyError::BadLine`] naming the first bad line and why.
///
/// # Caveats
/// A hash chain without a secret shows edits made without rewriting every later line; it
/// cannot show the removal of the *last* records (truncation), nor a log rewritten and
/// re-chained from some point on. Keep [`VerifySummary::head`] elsewhere to detect those.
pub fn verify_log(path: impl AsRef<Path>) -> Result<VerifySummary, VerifyError> {
    let path = path.as_ref();
    let with_path = |source| VerifyError::Io {
        path: Some(path.to_path_buf()),
        source,
    };
    // Only a regular file, refused at once otherwise: a FIFO without a writer would block
    // `open(2)` for good, and a device such as `/dev/zero` would be read without end.
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    let file = crate::process::files::open_regular(path, &options).map_err(|e| match e {
        crate::process::files::RegularError::Io(e) => with_path(e),
        crate::process::files::RegularError::NotRegular(what) => with_path(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what}, not a regular file: an audit log must be a regular file"),
        )),
    })?;
    verify_reader(BufReader::new(file)).map_err(|e| match e {
        VerifyError::Io { source, .. } => with_path(source),
        other => other,
    })
}

/// [`verify_log`] on any reader (an in-memory log, a pipe).
///
/// # Errors
/// As [`verify_log`].
pub fn verify_reader<R: BufRead>(reader: R) -> Result<VerifySummary, VerifyError> {
    Verifier::new(reader).run()
}

/// One line read: its bytes without the newline, whether it had one, its byte offset.
struct Line {
    bytes: Vec<u8>,
    terminated: bool,
    offset: u64,
    too_long: bool,
}

struct Verifier<R> {
    reader: R,
    offset: u64,
    line_no: u64,
    next_seq: u64,
    prev: String,
    last_record_line: Option<u64>,
    records: u64,
    torn_regions: Vec<TornRegion>,
    lifecycles: Lifecycles,
}

/// What identifies the records of one process: its `process.id`, else its pid.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum LifecycleKey {
    Id(String),
    Pid(u64),
}

/// The lifecycles seen so far: every `process.spawned`, in order (`None` once ended), and
/// the one each key currently names.
#[derive(Default)]
struct Lifecycles {
    spawned: Vec<Option<OpenLifecycle>>,
    current: HashMap<LifecycleKey, usize>,
}

impl Lifecycles {
    fn key(rec: &AuditRecord) -> Option<LifecycleKey> {
        if let Some(id) = rec
            .metadata
            .get(keys::PROCESS_ID)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            return Some(LifecycleKey::Id(id.to_owned()));
        }
        rec.metadata
            .get(keys::PROCESS_PID)
            .and_then(Value::as_u64)
            .map(LifecycleKey::Pid)
    }

    fn record(&mut self, rec: &AuditRecord, line: u64) {
        if rec.domain != domains::PROCESS {
            return;
        }
        let spawned = rec.event == events::PROCESS_SPAWNED;
        if !spawned && !events::ends_lifecycle(&rec.event) {
            return;
        }
        let Some(key) = Self::key(rec) else {
            return;
        };
        if spawned {
            // A key still open stays open: its process ended unrecorded (see OpenLifecycle).
            self.current.insert(key, self.spawned.len());
            self.spawned.push(Some(OpenLifecycle {
                line,
                pid: rec.metadata.get(keys::PROCESS_PID).and_then(Value::as_u64),
                id: rec
                    .metadata
                    .get(keys::PROCESS_ID)
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                subject: rec.subject.clone(),
            }));
        } else if let Some(i) = self.current.remove(&key) {
            self.spawned[i] = None;
        }
    }

    fn open(self) -> Vec<OpenLifecycle> {
        self.spawned.into_iter().flatten().collect()
    }
}

impl<R: BufRead> Verifier<R> {
    fn new(reader: R) -> Self {
        Verifier {
            reader,
            offset: 0,
            line_no: 0,
            next_seq: FIRST_SEQ,
            prev: GENESIS_PREV.to_owned(),
            last_record_line: None,
            records: 0,
            torn_regions: Vec::new(),
            lifecycles: Lifecycles::default(),
        }
    }

    /// Reads the next line, keeping at most `MAX_LINE_BYTES + 1` bytes of it.
    fn read_line(&mut self) -> Result<Option<Line>, VerifyError> {
        let io_err = |source| VerifyError::Io { path: None, source };
        let mut bytes = Vec::new();
        let mut terminated = false;
        let mut consumed: u64 = 0;
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(e)),
            };
            if buf.is_empty() {
                break;
            }
            let (take, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            let content = if done { &buf[..take - 1] } else { &buf[..take] };
            let room = (MAX_LINE_BYTES + 1).saturating_sub(bytes.len());
            bytes.extend_from_slice(&content[..content.len().min(room)]);
            self.reader.consume(take);
            consumed += take as u64;
            if done {
                terminated = true;
                break;
            }
        }
        if consumed == 0 {
            return Ok(None);
        }
        let line = Line {
            too_long: bytes.len() > MAX_LINE_BYTES,
            bytes,
            terminated,
            offset: self.offset,
        };
        self.offset += consumed;
        self.line_no += 1;
        Ok(Some(line))
    }

    fn bad(&self, line: u64, fault: LineFault) -> VerifyError {
        VerifyError::BadLine {
            line,
            fault,
            verified: self.records,
        }
    }

    /// Checks `bytes` (line `line_no`) as the next record of the chain and advances.
    fn accept(&mut self, bytes: &[u8], line_no: u64) -> Result<AuditRecord, LineFault> {
        let rec = AuditRecord::parse_line(bytes)?;
        if rec.seq > self.next_seq {
            return Err(LineFault::SequenceGap {
                expected: self.next_seq,
                found: rec.seq,
            });
        }
        if rec.seq < self.next_seq {
            return Err(LineFault::SequenceRepeat {
                expected: self.next_seq,
                found: rec.seq,
            });
        }
        if rec.prev != self.prev {
            return Err(LineFault::ChainBroken {
                previous_line: self.last_record_line,
            });
        }
        self.next_seq += 1;
        self.prev = line_hash(bytes);
        self.last_record_line = Some(line_no);
        self.records += 1;
        self.lifecycles.record(&rec, line_no);
        Ok(rec)
    }

    fn run(mut self) -> Result<VerifySummary, VerifyError> {
        while let Some(line) = self.read_line()? {
            let n = self.line_no;
            if line.too_long {
                return Err(self.bad(n, LineFault::TooLong));
            }
            if !line.terminated {
                let parses = AuditRecord::parse_line(&line.bytes).is_ok();
                return Err(self.bad(n, LineFault::IncompleteLastLine { parses }));
            }
            if let Err(fault) = self.accept(&line.bytes, n) {
                self.skip_torn_region(line, fault)?;
            }
        }
        Ok(VerifySummary {
            records: self.records,
            lines: self.line_no,
            head: self.prev,
            torn_regions: self.torn_regions,
            open: self.lifecycles.open(),
        })
    }

    /// `first` did not continue the chain (`fault`). Accept it only as the start of a torn
    /// region vouched for by the next recovery record; otherwise report `fault` at `first`.
    fn skip_torn_region(&mut self, first: Line, fault: LineFault) -> Result<(), VerifyError> {
        let first_line = self.line_no;
        let start = first.offset;
        let mut region = first.bytes;
        loop {
            let Some(next) = self.read_line()? else {
                return Err(self.bad(first_line, fault));
            };
            if next.too_long || region.len() > MAX_TORN_REGION {
                return Err(self.bad(first_line, fault));
            }
            if next.terminated && is_recovery_of(&next.bytes, start, &region) {
                let n = self.line_no;
                self.accept(&next.bytes, n).map_err(|f| self.bad(n, f))?;
                self.torn_regions.push(TornRegion {
                    first_line,
                    last_line: n - 1,
                    bytes: region.len() as u64,
                });
                return Ok(());
            }
            if !next.terminated {
                return Err(self.bad(first_line, fault));
            }
            region.push(b'\n');
            region.extend_from_slice(&next.bytes);
        }
    }
}

/// Whether `line` is an `audit.recovered` record describing exactly `region` at `offset`.
fn is_recovery_of(line: &[u8], offset: u64, region: &[u8]) -> bool {
    let Ok(rec) = AuditRecord::parse_line(line) else {
        return false;
    };
    rec.event == events::AUDIT_RECOVERED
        && rec
            .metadata
            .get(keys::AUDIT_TORN_OFFSET)
            .and_then(Value::as_u64)
            == Some(offset)
        && rec
            .metadata
            .get(keys::AUDIT_TORN_BYTES)
            .and_then(Value::as_u64)
            == Some(region.len() as u64)
        && rec
            .metadata
            .get(keys::AUDIT_TORN_SHA256)
            .and_then(Value::as_str)
            == Some(line_hash(region).as_str())
}

#[cfg(test)]
mod tests;
