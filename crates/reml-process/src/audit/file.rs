//! The JSON Lines file sink (`docs/audit-log.md`; `--audit PATH` in `docs/command.md`).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::names::{domains, events, keys};
use super::record::{line_hash, AuditEvent, AuditRecord, Chain, Draft, MAX_LINE_BYTES};
use super::{AuditError, AuditErrorKind, AuditSink};
use crate::error::Severity;

/// How much of the end of a log the sink reads, at most, to find where to resume: enough for
/// one torn line and the complete record before it.
const MAX_TAIL_WINDOW: u64 = 2 * MAX_LINE_BYTES as u64 + 2;

/// Options of a [`JsonLinesSink`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JsonLinesOptions {
    /// Call `fdatasync(2)` after every record, so a record that was written survives a power
    /// loss, not only a crash of this process. Off by default (a crash of the process alone
    /// loses nothing that `write(2)` returned for).
    pub fsync: bool,
}

/// Appends records to a JSON Lines file: one record per line (`docs/audit-log.md`).
///
/// # Format and chain
/// Each record is one line `{"seq":…,…,"prev":…}\n` (see [`AuditRecord`]). The chain is per
/// file: a new or empty file starts at seq [`FIRST_SEQ`](super::FIRST_SEQ) with prev
/// [`GENESIS_PREV`](super::GENESIS_PREV); an existing log is resumed from its last complete
/// line (seq + 1, sha256 of that line). The file is re-examined under the lock before every
/// record, so several sinks — in this process or in others — can append to one file and
/// the chain stays contiguous.
///
/// # Durability
/// Each line, newline included, is handed to the kernel in a single `write(2)` on a file
/// opened with `O_APPEND`, so a crash of the writer (even `SIGKILL`) leaves at most one
/// incomplete last line: the one being written. With [`JsonLinesOptions::fsync`] the data is
/// also synced to the disk before [`write`](AuditSink::write) returns.
///
/// # Incomplete tail (crash recovery)
/// When the file does not end with a newline, a writer died in the middle of a line. Before
/// the next record, under the lock, the sink:
/// - if the unterminated bytes are a complete record that continues the chain, only appends
///   the missing `\n`;
/// - otherwise leaves those bytes in place, ends them with `\n` and writes an
///   [`audit.recovered`](super::events::AUDIT_RECOVERED) record (severity `warning`, domain
///   `audit`, subject the path) chained to the last complete record, with
///   `audit.torn_offset`, `audit.torn_bytes` and `audit.torn_sha256` describing exactly the
///   skipped bytes (everything after the last complete record, up to the added newline).
///
/// [`verify_log`](super::verify_log) accepts skipped bytes only when such a recovery record
/// follows them and matches them byte for byte, and reports them in
/// [`VerifySummary::torn_regions`](super::VerifySummary::torn_regions); without it, an
/// unterminated last line is reported as incomplete.
///
/// # Refusals
/// A file that ends with a newline but whose last line is not a record (a foreign file, or an
/// edit) is not appended to: [`write`](AuditSink::write) and [`check`](AuditSink::check) fail
/// with [`AuditErrorKind::Encoding`]. Nothing already in the file is ever modified.
///
/// # Platform-specific behavior
/// On Unix the file is created with mode `0600` (before the umask), and every record is
/// written under an exclusive `flock(2)` held across "read the tail, append", which
/// serialises writers in other processes too (advisory: a writer that does not take the
/// lock is not excluded; on NFS `flock` may fail with `ENOLCK`, which is a `Transport`
/// error). Elsewhere only writers sharing one `JsonLinesSink` are serialised.
///
/// # Caveats
/// The sink keeps the descriptor it opened: if the file is renamed (rotation), records keep
/// going to the renamed file; if it is deleted, writes fail with `Transport`. Open a new sink
/// to switch files.
pub struct JsonLinesSink {
    path: PathBuf,
    options: JsonLinesOptions,
    file: File,
    /// Serialises the writers sharing this sink, and caches where the chain stands: valid
    /// while the file length is `Cursor::len` (no one else appended since our last look).
    cursor: Mutex<Option<Cursor>>,
}

#[derive(Clone, Debug)]
struct Cursor {
    len: u64,
    chain: Chain,
}

/// What the end of the file says about where to append.
#[derive(Debug, PartialEq)]
enum Plan {
    /// The file ends with a complete record (or is empty): append at `chain`.
    Ready(Chain),
    /// The unterminated tail is a complete record continuing the chain: add `\n`, then
    /// append at `chain`.
    Terminate(Chain),
    /// The bytes from `offset` to the end (`torn`) are not a record: end them with `\n`,
    /// then write a recovery record at `base`.
    Recover {
        base: Chain,
        offset: u64,
        torn: Vec<u8>,
    },
}

impl JsonLinesSink {
    /// Opens (creating if needed) the log at `path` for appending, with default options.
    ///
    /// # Errors
    /// As [`open_with`](Self::open_with).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        Self::open_with(path, JsonLinesOptions::default())
    }

    /// Opens (creating if needed) the log at `path` for appending, examines its end and,
    /// if a crash left an incomplete last line, performs the recovery described on the type
    /// (so a recovery record may be written here).
    ///
    /// # Errors
    /// - [`AuditErrorKind::Transport`]: the file cannot be opened, read, locked or written,
    ///   or is not a regular file (a directory, a FIFO, a device: refused at once, never waited on);
    /// - [`AuditErrorKind::Encoding`]: its last line is not a record (see "Refusals").
    pub fn open_with(
        path: impl AsRef<Path>,
        options: JsonLinesOptions,
    ) -> Result<Self, AuditError> {
        let path = path.as_ref().to_path_buf();
        let mut oo = OpenOptions::new();
        oo.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            oo.mode(0o600);
        }
        // Only a regular file, refused without blocking otherwise (`docs/command.md`).
        let file = crate::process::files::open_regular(&path, &oo).map_err(|e| match e {
            crate::process::files::RegularError::Io(e) => transport(&path, "cannot open", &e),
            crate::process::files::RegularError::NotRegular(what) => AuditError::new(
                AuditErrorKind::Transport,
                format!(
                    "audit log {}: {what}, not a regular file: an audit log must be a regular file",
                    path.display()
                ),
            ),
        })?;
        let sink = JsonLinesSink {
            path,
            options,
            file,
            cursor: Mutex::new(None),
        };
        sink.next_seq()?;
        Ok(sink)
    }

    /// The path the sink was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The seq the next record will get, as far as this sink knows now (another writer may
    /// append first). Examines the file under the lock, recovering a torn tail if needed.
    ///
    /// # Errors
    /// As [`write`](AuditSink::write), minus encoding the record.
    pub fn next_seq(&self) -> Result<u64, AuditError> {
        let mut cached = self.cursor.lock().unwrap_or_else(PoisonError::into_inner);
        let _lock = self.lock_file()?;
        Ok(self.cursor(&mut cached)?.chain.next_seq)
    }

    fn lock_file(&self) -> Result<FileLock<'_>, AuditError> {
        FileLock::exclusive(&self.file).map_err(|e| self.transport("cannot lock", &e))
    }

    fn transport(&self, what: &str, e: &io::Error) -> AuditError {
        transport(&self.path, what, e)
    }

    /// Length and link count of the file, failing if it was deleted.
    fn stat(&self) -> Result<u64, AuditError> {
        let md = self
            .file
            .metadata()
            .map_err(|e| self.transport("cannot stat", &e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if md.nlink() == 0 {
                return Err(AuditError::new(
                    AuditErrorKind::Transport,
                    format!(
                        "audit log {}: the file was deleted; records would be lost",
                        crate::error::os_text(&self.path)
                    ),
                ));
            }
        }
        Ok(md.len())
    }

    /// Where to append, with the lock held: the cached cursor if the file did not change
    /// length since our last write, else the plan from its tail, carried out.
    fn cursor(&self, cached: &mut Option<Cursor>) -> Result<Cursor, AuditError> {
        let len = self.stat()?;
        if let Some(c) = cached.as_ref() {
            if c.len == len {
                return Ok(c.clone());
            }
        }
        *cached = None;
        let cursor = match plan_tail(&self.file, len).map_err(|e| self.tail_error(e))? {
            Plan::Ready(chain) => Cursor { len, chain },
            Plan::Terminate(chain) => {
                self.append(len, b"\n")?;
                Cursor {
                    len: len + 1,
                    chain,
                }
            }
            Plan::Recover { base, offset, torn } => {
                let ev = AuditEvent::new(
                    domains::AUDIT,
                    self.path.display().to_string(),
                    events::AUDIT_RECOVERED,
                )
                .with_severity(Severity::Warning)
                .with_metadata(keys::AUDIT_TORN_OFFSET, offset)
                .with_metadata(keys::AUDIT_TORN_BYTES, torn.len() as u64)
                .with_metadata(keys::AUDIT_TORN_SHA256, line_hash(&torn));
                let (_, line) = base.seal(&ev)?;
                let mut buf = Vec::with_capacity(line.len() + 2);
                buf.push(b'\n');
                buf.extend_from_slice(line.as_bytes());
                buf.push(b'\n');
                self.append(len, &buf)?;
                let mut chain = base;
                chain.advance(&line);
                Cursor {
                    len: len + buf.len() as u64,
                    chain,
                }
            }
        };
        *cached = Some(cursor.clone());
        Ok(cursor)
    }

    fn tail_error(&self, e: TailError) -> AuditError {
        match e {
            TailError::Io(e) => self.transport("cannot read", &e),
            TailError::NotARecord(fault) => AuditError::new(
                AuditErrorKind::Encoding,
                format!(
                    "audit log {}: the last line is not an audit record ({fault}); refusing to append (check it with `reml-process audit verify`)",
                    crate::error::os_text(&self.path)
                ),
            ),
            TailError::NoRecordInWindow => AuditError::new(
                AuditErrorKind::Encoding,
                format!(
                    "audit log {}: no complete record in its last {MAX_TAIL_WINDOW} bytes; refusing to append",
                    crate::error::os_text(&self.path)
                ),
            ),
        }
    }

    /// One `write(2)` of `buf` (newline included) at the end of the file, `len` bytes long;
    /// `fdatasync` if asked. A line that would pass this process's file-size limit is not
    /// written at all ([`within_file_size_limit`]).
    fn append(&self, len: u64, buf: &[u8]) -> Result<(), AuditError> {
        within_file_size_limit(len, buf.len()).map_err(|e| self.transport("write refused", &e))?;
        (&self.file)
            .write_all(buf)
            .map_err(|e| self.transport("write failed", &e))?;
        if self.options.fsync {
            self.file
                .sync_data()
                .map_err(|e| self.transport("fdatasync failed", &e))?;
        }
        Ok(())
    }
}

impl AuditSink for JsonLinesSink {
    /// Appends `event` as the next record of the file.
    ///
    /// # Errors
    /// - [`AuditErrorKind::Transport`]: locking, reading the tail, writing or syncing failed,
    ///   or the file was deleted. A failed write may leave a partial line, recovered before
    ///   the next record.
    /// - [`AuditErrorKind::Encoding`]: the record is longer than
    ///   [`MAX_LINE_BYTES`](super::MAX_LINE_BYTES), or the file's last line is not a record.
    fn write(&self, event: &AuditEvent) -> Result<(), AuditError> {
        // The record is serialised before any lock (only its `seq` and `prev` depend on the
        // file), and the hash of our own line, which the next record's `prev` needs, is
        // computed after the file lock is released: under the lock are only the `statx`
        // (and reading the tail when someone else appended), the splice of `seq` and `prev`,
        // the file-size-limit check and the `write`.
        let draft = Draft::new(event)?;
        let mut cached = self.cursor.lock().unwrap_or_else(PoisonError::into_inner);
        let (len, mut chain, mut line) = {
            let _lock = self.lock_file()?;
            let cursor = self.cursor(&mut cached)?;
            let mut line = cursor.chain.line_of(&draft)?;
            line.push('\n');
            // Forget the cursor until the write is known to be complete.
            *cached = None;
            self.append(cursor.len, line.as_bytes())?;
            (cursor.len + line.len() as u64, cursor.chain, line)
        };
        // The hash is of the bytes we wrote (from memory). The cached cursor trusts that the
        // file is still `len` bytes long at our next record: `cursor()` compares the length
        // under the lock and reads the tail again if anyone appended meanwhile.
        line.pop();
        chain.advance(&line);
        *cached = Some(Cursor { len, chain });
        Ok(())
    }

    /// Whether a record could be appended now, without writing one: takes the lock, checks
    /// the file still exists and that its end can be resumed (a torn tail counts as
    /// resumable; it is recovered by the next write).
    ///
    /// # Errors
    /// As [`write`](Self::write), except that errors only a write can reveal (a full disk)
    /// are not detected.
    fn check(&self) -> Result<(), AuditError> {
        let cached = self.cursor.lock().unwrap_or_else(PoisonError::into_inner);
        let _lock = self.lock_file()?;
        let len = self.stat()?;
        if cached.as_ref().is_some_and(|c| c.len == len) {
            return Ok(());
        }
        plan_tail(&self.file, len).map_err(|e| self.tail_error(e))?;
        Ok(())
    }

    fn describe(&self) -> String {
        format!("file {}", crate::error::os_text(&self.path))
    }
}

/// Whether `add` more bytes at offset `at` of a regular file stay within this process's
/// soft `RLIMIT_FSIZE`.
///
/// The kernel would write up to the limit, then fail the rest with `EFBIG` **and** send
/// `SIGXFSZ`, whose default action ends the writer (the supervisor, whose job would run
/// on unsupervised). So a record that does not fit is refused beforehand, whole: the
/// error is `EFBIG` and no partial line is left.
///
/// # Errors
/// `EFBIG` when the record would pass the limit.
pub(crate) fn within_file_size_limit(at: u64, add: usize) -> io::Result<()> {
    #[cfg(unix)]
    {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Fsize);
        if let Some(max) = limit.current {
            if at.saturating_add(add as u64) > max {
                let efbig = io::Error::from_raw_os_error(libc::EFBIG);
                return Err(io::Error::new(
                    efbig.kind(),
                    format!(
                        "the record would pass the file-size limit (RLIMIT_FSIZE = {max} bytes; {efbig})"
                    ),
                ));
            }
        }
    }
    let _ = (at, add);
    Ok(())
}

fn transport(path: &Path, what: &str, e: &io::Error) -> AuditError {
    AuditError::new(
        AuditErrorKind::Transport,
        format!("audit log {}: {what}: {e}", crate::error::os_text(&path)),
    )
}

/// An exclusive `flock(2)` on a file, released on drop (Unix); a no-op elsewhere.
struct FileLock<'a> {
    #[cfg_attr(not(unix), allow(dead_code))]
    file: &'a File,
}

impl<'a> FileLock<'a> {
    fn exclusive(file: &'a File) -> io::Result<Self> {
        #[cfg(unix)]
        loop {
            match rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive) {
                Ok(()) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(FileLock { file })
    }
}

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            // Closing the descriptor or exiting releases it too; an error here leaves nothing
            // to undo.
            let _ = rustix::fs::flock(self.file, rustix::fs::FlockOperation::Unlock);
        }
    }
}

#[derive(Debug)]
enum TailError {
    Io(io::Error),
    NotARecord(super::record::LineFault),
    NoRecordInWindow,
}

/// Reads the end of `file` (of length `len`) and decides where to append.
fn plan_tail(file: &File, len: u64) -> Result<Plan, TailError> {
    if len == 0 {
        return Ok(Plan::Ready(Chain::default()));
    }
    let mut window = len.min(64 * 1024);
    loop {
        let start = len - window;
        let mut buf = vec![0u8; window as usize];
        let mut f = file;
        f.seek(SeekFrom::Start(start)).map_err(TailError::Io)?;
        f.read_exact(&mut buf).map_err(TailError::Io)?;
        if let Some(plan) = analyze_tail(&buf, start)? {
            return Ok(plan);
        }
        if window >= MAX_TAIL_WINDOW.min(len) {
            return Err(TailError::NoRecordInWindow);
        }
        window = (window * 4).min(MAX_TAIL_WINDOW).min(len);
    }
}

/// Decides from `buf`, the last bytes of the file starting at offset `start`; `None` when it
/// needs bytes from before `start`.
fn analyze_tail(buf: &[u8], start: u64) -> Result<Option<Plan>, TailError> {
    let at_file_start = start == 0;
    // The start of the line ending just before `end` (exclusive, `buf[end - 1] == b'\n'`).
    let line_start = |end: usize| -> Option<usize> {
        match buf[..end - 1].iter().rposition(|&b| b == b'\n') {
            Some(q) => Some(q + 1),
            None if at_file_start => Some(0),
            None => None,
        }
    };
    if buf.last() == Some(&b'\n') {
        let Some(ls) = line_start(buf.len()) else {
            return Ok(None);
        };
        let line = &buf[ls..buf.len() - 1];
        return match AuditRecord::parse_line(line) {
            Ok(rec) => Ok(Some(Plan::Ready(Chain::after(rec.seq, line)))),
            Err(fault) => Err(TailError::NotARecord(fault)),
        };
    }
    // Unterminated tail: find the last complete record before it.
    let tail_start = match buf.iter().rposition(|&b| b == b'\n') {
        Some(p) => p + 1,
        None if at_file_start => 0,
        None => return Ok(None),
    };
    let mut end = tail_start;
    let (base, region_start) = loop {
        if end == 0 {
            if at_file_start {
                break (Chain::default(), 0);
            }
            return Ok(None);
        }
        let Some(ls) = line_start(end) else {
            return Ok(None);
        };
        let line = &buf[ls..end - 1];
        if let Ok(rec) = AuditRecord::parse_line(line) {
            break (Chain::after(rec.seq, line), end);
        }
        end = ls;
    };
    let torn = &buf[region_start..];
    if region_start == tail_start {
        if let Ok(rec) = AuditRecord::parse_line(torn) {
            if rec.seq == base.next_seq && rec.prev == base.prev {
                return Ok(Some(Plan::Terminate(Chain::after(rec.seq, torn))));
            }
        }
    }
    Ok(Some(Plan::Recover {
        base,
        offset: start + region_start as u64,
        torn: torn.to_vec(),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::record::GENESIS_PREV;
    use super::*;

    fn line(seq: u64, prev: &str) -> String {
        let ev = AuditEvent::new("process", "/bin/x", "process.spawned");
        AuditRecord::seal(&ev, seq, prev)
            .unwrap()
            .to_line()
            .unwrap()
    }

    #[test]
    fn plans() {
        let l1 = line(1, GENESIS_PREV);
        let h1 = line_hash(l1.as_bytes());
        let l2 = line(2, &h1);
        let h2 = line_hash(l2.as_bytes());

        // Complete file.
        let buf = format!("{l1}\n{l2}\n");
        assert_eq!(
            analyze_tail(buf.as_bytes(), 0).unwrap(),
            Some(Plan::Ready(Chain {
                next_seq: 3,
                prev: h2.clone()
            }))
        );
        // Window starting inside the last line: needs more.
        let off = l1.len() + 1;
        assert_eq!(
            analyze_tail(&buf.as_bytes()[off + 5..], (off + 5) as u64).unwrap(),
            None
        );
        // A window holding the newline before the last line is enough.
        assert!(matches!(
            analyze_tail(&buf.as_bytes()[off - 1..], (off - 1) as u64).unwrap(),
            Some(Plan::Ready(_))
        ));

        // Complete record without its newline.
        let buf = format!("{l1}\n{l2}");
        assert_eq!(
            analyze_tail(buf.as_bytes(), 0).unwrap(),
            Some(Plan::Terminate(Chain {
                next_seq: 3,
                prev: h2
            }))
        );

        // Torn record.
        let buf = format!("{l1}\n{}", &l2[..30]);
        match analyze_tail(buf.as_bytes(), 0).unwrap() {
            Some(Plan::Recover { base, offset, torn }) => {
                assert_eq!(base, Chain::after(1, l1.as_bytes()));
                assert_eq!(offset, l1.len() as u64 + 1);
                assert_eq!(torn, l2.as_bytes()[..30].to_vec());
            }
            other => panic!("{other:?}"),
        }

        // Torn first record.
        let buf = &l1[..10];
        assert!(matches!(
            analyze_tail(buf.as_bytes(), 0).unwrap(),
            Some(Plan::Recover { base, offset: 0, .. }) if base == Chain::default()
        ));

        // Torn recovery after a torn line: both skipped together.
        let buf = format!("{l1}\n{}\n{}", &l2[..30], &l2[..12]);
        match analyze_tail(buf.as_bytes(), 0).unwrap() {
            Some(Plan::Recover { offset, torn, .. }) => {
                assert_eq!(offset, l1.len() as u64 + 1);
                assert_eq!(torn.len(), 30 + 1 + 12);
            }
            other => panic!("{other:?}"),
        }

        // Foreign last line: refused.
        let buf = format!("{l1}\nhello\n");
        assert!(matches!(
            analyze_tail(buf.as_bytes(), 0),
            Err(TailError::NotARecord(_))
        ));
    }
}
