//! Recognising the supervisor in an allow-list, whatever its name (the review's
//! `policy.command.launcher` errors, see [`review`](super::review)).
//!
//! The `reml-process` command runs any program given in its arguments
//! (`reml-process run -- PROGRAM`) under a policy of its caller's choosing, so allowing it
//! in a policy allows everything. A name list cannot see it once it is copied or installed
//! under another name; these tests look at the file itself:
//!
//! | test | what it reads | sees | does not see |
//! | --- | --- | --- | --- |
//! | [`has_supervisor_note`] | the ELF header, the program headers and the `PT_NOTE` segments of the file (a few KiB at its start, bounded) | any binary built with [`supervisor_note!`](crate::supervisor_note) — the `reml-process` command under any name, path, copy or hard link, stripped or not | a binary whose notes were removed or that is packed or compressed (UPX), a file we cannot read (mode `0711` for a non-root reviewer), a non-ELF platform, a wrapper script that execs `reml-process` |
//! | [`is_running_program`] | `stat` of `/proc/self/exe` (else [`std::env::current_exe`]) | the program doing the review, including a host that links this library and was not built with the note | another program |
//! | [`proc_link_on_path`] | `lstat`, `readlink` and `statfs` of each component of the entry's path | an entry through a link of procfs: `/proc/self/exe`, `/proc/PID/exe`, `/proc/self/fd/N`, `/dev/fd/N`, `/dev/stdin`, a symlink or a directory leading there, procfs mounted elsewhere | — (without `statfs`, off Linux: only `/proc` itself) |
//!
//! None of them runs the file. They answer "is it" only with evidence; "not recognised" is
//! not a proof of the contrary.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};

use super::FileId;

/// The owner name of the supervisor's ELF note (`readelf -n` shows it as the owner).
pub const SUPERVISOR_NOTE_NAME: &str = "reml-process";

/// The type of the supervisor's ELF note (owner-specific, as ELF notes are).
pub const SUPERVISOR_NOTE_TYPE: u32 = 1;

/// The description of the supervisor's ELF note.
pub const SUPERVISOR_NOTE_DESC: &str = "supervisor";

/// The bytes of the supervisor's ELF note, laid out as the ELF format wants a note
/// (`namesz`, `descsz`, `type`, then the name and the description, each padded to 4 bytes),
/// in the target's byte order. Emitted by [`supervisor_note!`](crate::supervisor_note); not
/// meant for any other use.
#[doc(hidden)]
#[repr(C, align(4))]
pub struct SupervisorNote {
    namesz: u32,
    descsz: u32,
    n_type: u32,
    name: [u8; 16],
    desc: [u8; 12],
}

/// The one value of [`SupervisorNote`].
#[doc(hidden)]
pub const SUPERVISOR_NOTE: SupervisorNote = SupervisorNote {
    namesz: SUPERVISOR_NOTE_NAME.len() as u32 + 1,
    descsz: SUPERVISOR_NOTE_DESC.len() as u32,
    n_type: SUPERVISOR_NOTE_TYPE,
    name: *b"reml-process\0\0\0\0",
    desc: *b"supervisor\0\0",
};

/// The most bytes of program headers, and of one `PT_NOTE` segment, that
/// [`has_supervisor_note`] reads (a real binary has well under 1 KiB of each).
const MAX_READ: u64 = 64 * 1024;

/// `PT_NOTE`, the program header type of a segment of notes.
const PT_NOTE: u32 = 4;

/// Whether the file at `path` is an ELF file carrying the supervisor's note
/// ([`SUPERVISOR_NOTE_NAME`], [`SUPERVISOR_NOTE_TYPE`], [`SUPERVISOR_NOTE_DESC`]) in a
/// `PT_NOTE` segment: a `reml-process` command, whatever its name.
///
/// Reads the ELF header, the program header table and each `PT_NOTE` segment, at most
/// 64 KiB each; 32- and 64-bit files of either byte order. A file that is not ELF, too short
/// or malformed is simply `false`. Program headers survive `strip` (even `sstrip`), so a
/// stripped binary is still recognised; a packed one is not.
///
/// # Errors
/// The `io::Error` of opening or reading the file (permission denied, …).
pub fn has_supervisor_note(path: &Path) -> io::Result<bool> {
    let file = File::open(path)?;
    let mut header = [0u8; 64];
    let n = read_up_to(&file, 0, &mut header)?;
    let Some(elf) = Elf::parse(&header[..n]) else {
        return Ok(false);
    };
    let Some(table_len) = elf
        .phentsize
        .checked_mul(elf.phnum)
        .filter(|&l| l <= MAX_READ)
    else {
        return Ok(false);
    };
    let Some(table) = read_exact(&file, elf.phoff, table_len)? else {
        return Ok(false);
    };
    for entry in table.chunks_exact(elf.phentsize as usize) {
        let Some((offset, size, align)) = elf.note_segment(entry) else {
            continue;
        };
        if size > MAX_READ {
            continue;
        }
        let Some(notes) = read_exact(&file, offset, size)? else {
            continue;
        };
        if elf.notes_hold_supervisor(&notes, if align == 8 { 8 } else { 4 }) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Reads up to `buf.len()` bytes at `offset`; returns how many (fewer at end of file).
fn read_up_to(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(k) => done += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Exactly `len` bytes at `offset`, or `None` when the file ends before.
fn read_exact(file: &File, offset: u64, len: u64) -> io::Result<Option<Vec<u8>>> {
    // `len` is at most MAX_READ, so it fits a usize.
    let mut buf = vec![0u8; len as usize];
    let n = read_up_to(file, offset, &mut buf)?;
    Ok((n == buf.len()).then_some(buf))
}

/// What [`has_supervisor_note`] needs of an ELF header.
struct Elf {
    class64: bool,
    little: bool,
    phoff: u64,
    phentsize: u64,
    phnum: u64,
}

impl Elf {
    fn parse(h: &[u8]) -> Option<Elf> {
        if h.len() < 52 || &h[..4] != b"\x7fELF" {
            return None;
        }
        let class64 = match h[4] {
            1 => false,
            2 => true,
            _ => return None,
        };
        let little = match h[5] {
            1 => true,
            2 => false,
            _ => return None,
        };
        let mut elf = Elf {
            class64,
            little,
            phoff: 0,
            phentsize: 0,
            phnum: 0,
        };
        let (phoff, phentsize, phnum) = if class64 {
            (
                elf.u64_at(h, 0x20)?,
                elf.u16_at(h, 0x36)?,
                elf.u16_at(h, 0x38)?,
            )
        } else {
            (
                u64::from(elf.u32_at(h, 0x1c)?),
                elf.u16_at(h, 0x2a)?,
                elf.u16_at(h, 0x2c)?,
            )
        };
        let min_entry = if class64 { 56 } else { 32 };
        // 0xffff (PN_XNUM) keeps the real count in section 0: not a layout the linkers
        // produce for a program, so not followed.
        if u64::from(phentsize) < min_entry || phnum == 0 || phnum == 0xffff {
            return None;
        }
        elf.phoff = phoff;
        elf.phentsize = u64::from(phentsize);
        elf.phnum = u64::from(phnum);
        Some(elf)
    }

    fn bytes<const N: usize>(&self, b: &[u8], at: usize) -> Option<[u8; N]> {
        b.get(at..at.checked_add(N)?)?.try_into().ok()
    }

    fn u16_at(&self, b: &[u8], at: usize) -> Option<u16> {
        let x = self.bytes::<2>(b, at)?;
        Some(if self.little {
            u16::from_le_bytes(x)
        } else {
            u16::from_be_bytes(x)
        })
    }

    fn u32_at(&self, b: &[u8], at: usize) -> Option<u32> {
        let x = self.bytes::<4>(b, at)?;
        Some(if self.little {
            u32::from_le_bytes(x)
        } else {
            u32::from_be_bytes(x)
        })
    }

    fn u64_at(&self, b: &[u8], at: usize) -> Option<u64> {
        let x = self.bytes::<8>(b, at)?;
        Some(if self.little {
            u64::from_le_bytes(x)
        } else {
            u64::from_be_bytes(x)
        })
    }

    /// `(p_offset, p_filesz, p_align)` of a program header entry of type `PT_NOTE`.
    fn note_segment(&self, e: &[u8]) -> Option<(u64, u64, u64)> {
        if self.u32_at(e, 0)? != PT_NOTE {
            return None;
        }
        if self.class64 {
            Some((self.u64_at(e, 8)?, self.u64_at(e, 32)?, self.u64_at(e, 48)?))
        } else {
            Some((
                u64::from(self.u32_at(e, 4)?),
                u64::from(self.u32_at(e, 16)?),
                u64::from(self.u32_at(e, 28)?),
            ))
        }
    }

    /// Whether the notes in `seg` (entries aligned to `align`) include the supervisor's.
    fn notes_hold_supervisor(&self, seg: &[u8], align: usize) -> bool {
        let up = |x: usize| x.checked_add(align - 1).map(|v| v & !(align - 1));
        let mut pos = 0usize;
        while let (Some(namesz), Some(descsz), Some(n_type)) = (
            self.u32_at(seg, pos),
            self.u32_at(seg, pos + 4),
            self.u32_at(seg, pos + 8),
        ) {
            let name_at = pos + 12;
            let Some(name_end) = name_at.checked_add(namesz as usize) else {
                return false;
            };
            let Some(desc_at) = up(name_end) else {
                return false;
            };
            let Some(desc_end) = desc_at.checked_add(descsz as usize) else {
                return false;
            };
            let (Some(name), Some(desc)) = (seg.get(name_at..name_end), seg.get(desc_at..desc_end))
            else {
                return false;
            };
            if n_type == SUPERVISOR_NOTE_TYPE
                && name.strip_suffix(b"\0") == Some(SUPERVISOR_NOTE_NAME.as_bytes())
                && desc.starts_with(SUPERVISOR_NOTE_DESC.as_bytes())
            {
                return true;
            }
            match up(desc_end) {
                Some(next) if next > pos => pos = next,
                _ => return false,
            }
        }
        false
    }
}

/// Whether `id` is the identity of the program running this code: `stat` of
/// `/proc/self/exe` (which follows the kernel's link to the executable even when it was
/// renamed or deleted), else of [`std::env::current_exe`].
pub fn is_running_program(id: FileId) -> bool {
    let own = FileId::of_path(Path::new("/proc/self/exe"))
        .or_else(|_| std::env::current_exe().and_then(|p| FileId::of_path(&p)));
    own.is_ok_and(|own| own == id)
}

/// The first link of procfs that resolving `path` goes through — `/proc/self/exe`,
/// `/proc/PID/exe`, `/proc/self/fd/N`, `/dev/fd/N` (a link to `/proc/self/fd/N`),
/// `/dev/stdin`, a symlink or directory symlink leading there — shown as the procfs path
/// the resolution reached (`/proc/self/fd/3`), or `None`.
///
/// Such an entry does not name a file on disk: it stands for what some process runs or
/// holds open at the moment it is resolved.
///
/// Resolves `path` component by component as the kernel does (`lstat` each one, follow a
/// symlink with `readlink`, at most 40 links), and stops at the first symlink that lives on
/// a procfs (`statfs` of its directory, on Linux; elsewhere a directory under `/proc`). A
/// relative path, a component that does not exist and a loop answer `None` (the other
/// checks of the review report those).
pub fn proc_link_on_path(path: &Path) -> Option<PathBuf> {
    if !path.is_absolute() {
        return None;
    }
    // Components still to resolve, the next one last.
    let mut todo: Vec<PathBuf> = components_reversed(path);
    let mut done = PathBuf::from("/");
    let mut links = 0;
    while let Some(c) = todo.pop() {
        match c.components().next() {
            Some(Component::RootDir) => done = PathBuf::from("/"),
            Some(Component::ParentDir) => {
                done.pop();
            }
            Some(Component::Normal(name)) => {
                let next = done.join(name);
                let meta = std::fs::symlink_metadata(&next).ok()?;
                if !meta.file_type().is_symlink() {
                    done = next;
                    continue;
                }
                if on_procfs(&done) {
                    let mut shown = next;
                    for rest in todo.iter().rev() {
                        shown.push(rest);
                    }
                    return Some(shown);
                }
                links += 1;
                if links > 40 {
                    return None;
                }
                let target = std::fs::read_link(&next).ok()?;
                todo.extend(components_reversed(&target));
            }
            _ => {}
        }
    }
    done.parent().filter(|d| on_procfs(d)).map(|_| done.clone())
}

/// `path`'s components, last first (a root component for an absolute path).
fn components_reversed(path: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = path
        .components()
        .map(|c| PathBuf::from(c.as_os_str()))
        .collect();
    v.reverse();
    v
}

/// Whether `dir` is on procfs: by `statfs` magic number on Linux, elsewhere by path
/// (under `/proc`).
fn on_procfs(dir: &Path) -> bool {
    crate::sys::imp::fs::on_procfs(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ELF64 little-endian header and program header table with one `PT_NOTE` segment
    /// holding `notes`.
    fn elf64(notes: &[u8], align: u64) -> Vec<u8> {
        let mut f = vec![0u8; 64];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = 2;
        f[5] = 1;
        f[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        f[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        f[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        let mut ph = vec![0u8; 56];
        ph[..4].copy_from_slice(&PT_NOTE.to_le_bytes());
        ph[8..16].copy_from_slice(&120u64.to_le_bytes());
        ph[32..40].copy_from_slice(&(notes.len() as u64).to_le_bytes());
        ph[48..56].copy_from_slice(&align.to_le_bytes());
        f.extend(ph);
        f.extend_from_slice(notes);
        f
    }

    fn note(name: &[u8], ty: u32, desc: &[u8]) -> Vec<u8> {
        let mut n = Vec::new();
        n.extend((name.len() as u32).to_le_bytes());
        n.extend((desc.len() as u32).to_le_bytes());
        n.extend(ty.to_le_bytes());
        n.extend(name);
        n.resize(n.len().next_multiple_of(4), 0);
        n.extend(desc);
        n.resize(n.len().next_multiple_of(4), 0);
        n
    }

    fn check(bytes: &[u8]) -> bool {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, bytes).unwrap();
        has_supervisor_note(&p).unwrap()
    }

    #[test]
    fn the_note_is_found_among_others() {
        let mut notes = note(b"GNU\0", 3, &[7; 20]);
        notes.extend(note(b"reml-process\0", 1, b"supervisor"));
        assert!(check(&elf64(&notes, 4)));
        // The note as the macro lays it out in memory (this target's byte order).
        let n = &SUPERVISOR_NOTE;
        let mut raw = Vec::new();
        raw.extend(n.namesz.to_ne_bytes());
        raw.extend(n.descsz.to_ne_bytes());
        raw.extend(n.n_type.to_ne_bytes());
        raw.extend(n.name);
        raw.extend(n.desc);
        assert_eq!(raw, note(b"reml-process\0", 1, b"supervisor"));
    }

    #[test]
    fn other_notes_and_other_files_are_not_the_supervisor() {
        assert!(!check(&elf64(&note(b"GNU\0", 1, b"supervisor"), 4)));
        assert!(!check(&elf64(
            &note(b"reml-process\0", 2, b"supervisor"),
            4
        )));
        assert!(!check(&elf64(&note(b"reml-process\0", 1, b"other"), 4)));
        assert!(!check(b"#!/bin/sh\necho reml-process supervisor\n"));
        assert!(!check(b""));
        // Truncated and absurd sizes end the walk, they do not panic.
        let mut bad = note(b"reml-process\0", 1, b"supervisor");
        bad[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(!check(&elf64(&bad, 4)));
        let whole = elf64(&note(b"reml-process\0", 1, b"supervisor"), 4);
        assert!(!check(&whole[..whole.len() - 4]));
        assert!(!check(&whole[..70]));
    }

    #[test]
    fn an_ordinary_program_has_no_note() {
        for p in ["/bin/sh", "/usr/bin/env"] {
            if Path::new(p).exists() {
                assert!(!has_supervisor_note(Path::new(p)).unwrap(), "{p}");
            }
        }
    }

    // A fact of the target's file system (`/proc`, `/dev/fd`), not of the backend.
    #[cfg(target_os = "linux")]
    #[test]
    fn proc_links_are_seen_through_symlinks() {
        assert_eq!(
            proc_link_on_path(Path::new("/proc/self/exe")),
            Some(PathBuf::from("/proc/self/exe"))
        );
        assert_eq!(
            proc_link_on_path(Path::new("/dev/fd/0")),
            Some(PathBuf::from("/proc/self/fd/0"))
        );
        let d = tempfile::tempdir().unwrap();
        let link = d.path().join("tool");
        std::os::unix::fs::symlink("/proc/self/exe", &link).unwrap();
        assert_eq!(
            proc_link_on_path(&link),
            Some(PathBuf::from("/proc/self/exe"))
        );
        let dir_link = d.path().join("fds");
        std::os::unix::fs::symlink("/proc/self/fd", &dir_link).unwrap();
        assert_eq!(
            proc_link_on_path(&dir_link.join("1")),
            Some(PathBuf::from("/proc/self/fd/1"))
        );
        assert_eq!(proc_link_on_path(Path::new("/bin/sh")), None);
        assert_eq!(proc_link_on_path(Path::new("/no/such/file")), None);
        assert_eq!(proc_link_on_path(Path::new("relative")), None);
    }

    #[test]
    fn the_running_program_is_recognised() {
        let me = FileId::of_path(&std::env::current_exe().unwrap()).unwrap();
        assert!(is_running_program(me));
        let other = FileId::of_path(Path::new("/")).unwrap();
        assert!(!is_running_program(other));
    }
}
