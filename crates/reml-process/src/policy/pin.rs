//! Content pins (`sha256` of a `[[commands.rule]]`, `docs/policy.md`): the digest of the
//! file that is about to run, computed from the **open descriptor** the child then execs,
//! with a cache for files that have not changed.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::resolve::FileId;

/// A SHA-256 content pin as written in a rule (`sha256 = "9f86d0…"`).
///
/// Any string is kept as written so that the review can report a malformed one
/// (`policy.rule.bad_digest`); only 64 hexadecimal digits (either case) form a digest. A
/// malformed pin matches no file, so its rule allows nothing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContentPin {
    text: String,
    digest: Option<[u8; 32]>,
}

impl ContentPin {
    /// A pin from its text (never fails; see [`ContentPin::digest`]).
    pub fn new(text: impl Into<String>) -> ContentPin {
        let text = text.into();
        let digest = parse_hex32(&text);
        ContentPin { text, digest }
    }

    /// The pin as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The 32 bytes of the digest, or `None` when the text is not 64 hexadecimal digits.
    pub fn digest(&self) -> Option<&[u8; 32]> {
        self.digest.as_ref()
    }
}

impl fmt::Display for ContentPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    let b = text.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// Lower-case hexadecimal of a digest.
pub(crate) fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the cache trusts a file by: its identity and its change stamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    mtime: (i64, i64),
    ctime: (i64, i64),
    size: u64,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            size: meta.size(),
        }
    }
}

/// How close to "now" a file's change time may be for its digest to be cached: a file
/// changed within the last two seconds could be changed again within the same tick of the
/// file system's clock without its stamps moving (the "racily clean" case of git's index),
/// so its digest is computed at every spawn until it is older.
const RACY_WINDOW: Duration = Duration::from_secs(2);

/// A cache of file digests for content pins, one per policy layer.
///
/// # What the cache trusts
/// A digest computed once is reused for a later spawn of the *same open file* only when
/// all of these are unchanged, as read by `fstat(2)` of the descriptor that will be exec'd:
/// the identity (`st_dev`, `st_ino`), the modification time (`st_mtime`, nanoseconds
/// included), the status-change time (`st_ctime`, nanoseconds included) and the size
/// (`st_size`). Any write to the file moves `st_mtime` and `st_ctime`; `utimensat(2)` can
/// set `st_mtime` back but moves `st_ctime` to the current time, which no unprivileged
/// call can set. So the cache is wrong only if someone writes the file *and* makes its
/// `st_ctime` come out equal to the cached one: by setting the system clock back (root), by
/// writing the block device underneath the file system, or on a file system that does not
/// keep `st_ctime` (some network and FUSE file systems) — against those, a pin is checked
/// at every spawn only if the file's change time is within two seconds of the clock, which
/// is why the cache does not store a digest computed that close to a change.
///
/// A digest is computed by reading the whole file through the descriptor (`pread(2)`,
/// which does not move its offset); the file is `fstat`ed before and after, and a file
/// whose stamps changed while it was read is refused rather than guessed at.
#[derive(Debug, Default)]
pub struct DigestCache {
    entries: Mutex<HashMap<FileId, (Stamp, [u8; 32])>>,
}

/// The largest number of files whose digests a [`DigestCache`] keeps; past it the cache
/// starts over (a policy names few programs).
const MAX_CACHED: usize = 1024;

impl DigestCache {
    /// An empty cache.
    pub fn new() -> DigestCache {
        DigestCache::default()
    }

    /// The SHA-256 of the content of `file` (read through the descriptor), from the cache
    /// when the file is unchanged (see the type docs for what "unchanged" means).
    ///
    /// # Errors
    /// A message when the file cannot be `fstat`ed or read, or when it changed while it was
    /// being read.
    pub fn digest_of(&self, file: &File) -> Result<[u8; 32], String> {
        self.digest_at(file, SystemTime::now())
    }

    /// [`DigestCache::digest_of`] with the clock read as `now`.
    fn digest_at(&self, file: &File, now: SystemTime) -> Result<[u8; 32], String> {
        let before = file
            .metadata()
            .map_err(|e| format!("cannot stat it to check its digest ({e})"))?;
        let id = FileId::of_metadata(&before);
        let stamp = Stamp::of(&before);
        if let Some((s, d)) = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            if *s == stamp {
                return Ok(*d);
            }
        }
        let digest = hash_file(file)?;
        let after = file
            .metadata()
            .map_err(|e| format!("cannot stat it to check its digest ({e})"))?;
        if Stamp::of(&after) != stamp || FileId::of_metadata(&after) != id {
            return Err("it changed while its digest was being computed".to_owned());
        }
        if !recently_changed(&before, now) {
            let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() >= MAX_CACHED {
                map.clear();
            }
            map.insert(id, (stamp, digest));
        }
        Ok(digest)
    }
}

/// Whether the file's change time lies within [`RACY_WINDOW`] of the clock (or in the
/// future, or cannot be read).
fn recently_changed(meta: &std::fs::Metadata, now: SystemTime) -> bool {
    let Ok(ctime) = u64::try_from(meta.ctime()) else {
        return true;
    };
    let changed = SystemTime::UNIX_EPOCH + Duration::from_secs(ctime);
    match now.duration_since(changed) {
        Ok(age) => age < RACY_WINDOW,
        Err(_) => true,
    }
}

fn hash_file(file: &File) -> Result<[u8; 32], String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut offset = 0u64;
    loop {
        let n = match file.read_at(&mut buf, offset) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("cannot read it to check its digest ({e})")),
        };
        hasher.update(&buf[..n]);
        offset += n as u64;
    }
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn pins_parse_hex_of_either_case() {
        let lower = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let p = ContentPin::new(lower);
        assert_eq!(p.digest().map(hex).as_deref(), Some(lower));
        assert_eq!(ContentPin::new(lower.to_uppercase()).digest(), p.digest());
        for bad in [
            "",
            "9f86",
            &format!("{lower}0"),
            &lower.replace('9', "g"),
            "é",
        ] {
            assert!(ContentPin::new(bad).digest().is_none(), "{bad}");
        }
    }

    const TEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn cached(cache: &DigestCache, f: &File) -> Option<[u8; 32]> {
        let id = FileId::of_metadata(&f.metadata().unwrap());
        cache.entries.lock().unwrap().get(&id).map(|(_, d)| *d)
    }

    #[test]
    fn an_unchanged_file_is_served_from_the_cache_a_changed_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"test").unwrap();
        let f = File::open(&path).unwrap();
        let later = SystemTime::now() + Duration::from_secs(60);

        // Just written: correct, but not cached (racily clean).
        let cache = DigestCache::new();
        assert_eq!(hex(&cache.digest_of(&f).unwrap()), TEST);
        assert_eq!(cached(&cache, &f), None);

        // Old enough: cached, and the cached value is what is served while nothing changes.
        assert_eq!(hex(&cache.digest_at(&f, later).unwrap()), TEST);
        assert!(cached(&cache, &f).is_some());
        let id = FileId::of_metadata(&f.metadata().unwrap());
        cache.entries.lock().unwrap().get_mut(&id).unwrap().1 = [7; 32];
        assert_eq!(
            cache.digest_at(&f, later).unwrap(),
            [7; 32],
            "served from the cache"
        );

        // Rewritten in place, same inode and size: the stamps move, so it is read again.
        std::thread::sleep(Duration::from_millis(100));
        let mut w = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        w.write_all(b"TEST").unwrap();
        drop(w);
        let again = cache.digest_at(&f, later).unwrap();
        assert_ne!(again, [7; 32]);
        assert_ne!(hex(&again), TEST);
    }
}
