//! Opening the files named at the edges without blocking outside a time limit (`docs/command.md`,
//! "Input and output at the edges").
//!
//! | file | opened | a FIFO, device, socket, … |
//! |---|---|---|
//! | the policy file, the audit log | [`open_regular`]: `O_NONBLOCK`, then `fstat` on the open descriptor | refused at once, naming the file type |
//! | a `StdioSpec::File` | [`open_stdio_file`]: `O_NONBLOCK`, then cleared for the child | a FIFO waits for its other end until the deadline or an [`Interrupt`]; other types as a blocking open would do |
//!
//! Without `O_NONBLOCK`, `open(2)` of a FIFO blocks until the other end is opened, and
//! `reml-process run` blocks the signals it forwards, so that wait could be ended by nothing.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::command::Interrupt;
use crate::signal::Signal;
use crate::units::Deadline;

/// Whether `path` (with `metadata` from `stat`) is executable, the one rule of the program
/// lookup (`prepare`) and of the policy's allow-list (`policy::resolve`): an execute bit is
/// set and `faccessat(X_OK, AT_EACCESS)` succeeds, so a `noexec` mount or a file not
/// executable by our effective ids is refused (root passes for any file with one x bit).
pub(crate) fn is_executable(path: &Path, metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o111 != 0
        && rustix::fs::accessat(
            rustix::fs::CWD,
            path,
            rustix::fs::Access::EXEC_OK,
            rustix::fs::AtFlags::EACCESS,
        )
        .is_ok()
}

/// Why [`open_regular`] failed.
#[derive(Debug)]
pub(crate) enum RegularError {
    /// The OS refused the open or the `fstat`.
    Io(io::Error),
    /// The path names something else than a regular file: its type, as
    /// [`file_type_name`] says it (`"a FIFO"`).
    NotRegular(&'static str),
}

/// Opens `path` with `options`, refusing anything but a regular file without blocking.
///
/// `O_NONBLOCK` makes the open of a FIFO return at once (a read-only or read-write open
/// succeeds, a write-only open with no reader fails with `ENXIO`, as it does for a socket);
/// the type is then read from the open descriptor, so what is checked is what was opened. A
/// directory opened for writing fails with `EISDIR` before any descriptor exists; it is
/// named as a directory too, as it is when opened read-only.
/// `O_NOCTTY` keeps a terminal named by mistake from becoming our controlling terminal.
/// `O_NONBLOCK` is cleared again on the regular file returned.
pub(crate) fn open_regular(path: &Path, options: &OpenOptions) -> Result<File, RegularError> {
    let mut options = options.clone();
    options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENXIO | libc::EISDIR)) => {
            // A FIFO without a reader, or a socket (ENXIO); a directory opened for writing, as
            // the audit log is (EISDIR): name the type when it can be seen.
            return Err(match std::fs::metadata(path) {
                Ok(meta) if !meta.is_file() => RegularError::NotRegular(file_type_name(&meta)),
                _ => RegularError::Io(e),
            });
        }
        Err(e) => return Err(RegularError::Io(e)),
    };
    let meta = file.metadata().map_err(RegularError::Io)?;
    if !meta.is_file() {
        return Err(RegularError::NotRegular(file_type_name(&meta)));
    }
    clear_nonblock(&file).map_err(|e| RegularError::Io(e.into()))?;
    Ok(file)
}

/// A human name for a file type, for messages.
pub(crate) fn file_type_name(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_file() {
        "a regular file"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_char_device() {
        "a character device"
    } else {
        "an unknown file type"
    }
}

fn clear_nonblock(fd: impl AsFd) -> rustix::io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(&fd)?;
    if flags.contains(OFlags::NONBLOCK) {
        rustix::fs::fcntl_setfl(&fd, flags - OFlags::NONBLOCK)?;
    }
    Ok(())
}

/// Why [`open_stdio_file`] failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StdioOpenError {
    /// The OS refused the open.
    Os(Errno),
    /// The path is a FIFO whose other end was not opened before the deadline.
    TimedOut,
    /// The wait for the other end of a FIFO was interrupted by this signal.
    Interrupted(Signal),
}

/// The first and the longest pause between two looks at a FIFO's other end.
const FIRST_PAUSE: Duration = Duration::from_millis(1);
const LONGEST_PAUSE: Duration = Duration::from_millis(50);

/// Opens the file of a `StdioSpec::File` for the child: read-only for stdin (`read`),
/// else write-only, created (mode `0o666` less the umask) and truncated. Close-on-exec;
/// the child gets its copy through the descriptor map.
///
/// The open itself never blocks (`O_NONBLOCK`, cleared before returning, so the child sees
/// an ordinary blocking descriptor). What differs from a blocking `open(2)` is only the
/// wait for a FIFO's other end, which here lasts until `deadline` at most and ends early
/// when `interrupt` is triggered:
/// - **write side** (stdout, stderr): a FIFO with no reader refuses the open with `ENXIO`;
///   the open is retried (pauses from 1 ms growing to 50 ms) until a reader is there.
/// - **read side** (stdin): the open succeeds at once, but a child reading a FIFO that no
///   writer has opened would see end-of-file; so the child is started only once a writer
///   has written something or has come and gone (`poll` for `POLLIN`/`POLLHUP`) — slightly
///   later than a blocking open would (at the first byte, not at the writer's open).
///
/// Regular files, devices (`/dev/null`, terminals) and the rest open as a blocking open
/// would; a socket still fails with `ENXIO`.
pub(crate) fn open_stdio_file(
    path: &Path,
    read: bool,
    deadline: Deadline,
    interrupt: Option<&Interrupt>,
) -> Result<OwnedFd, StdioOpenError> {
    let access = if read {
        OFlags::RDONLY
    } else {
        OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC
    };
    let flags = access | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let mut pause = FIRST_PAUSE;
    let fd = loop {
        match rustix::fs::open(path, flags, Mode::from_bits_truncate(0o666)) {
            Ok(fd) => break fd,
            Err(Errno::INTR) => continue,
            Err(Errno::NXIO) if !read && is_fifo(path) => {}
            Err(e) => return Err(StdioOpenError::Os(e)),
        }
        wait_a_little(deadline, interrupt, &mut pause, None)?;
    };
    if read && is_fifo_fd(&fd) {
        let mut pause = FIRST_PAUSE;
        while !writer_has_been_there(&fd) {
            wait_a_little(deadline, interrupt, &mut pause, Some(&fd))?;
        }
    }
    clear_nonblock(&fd).map_err(StdioOpenError::Os)?;
    Ok(fd)
}

fn is_fifo(path: &Path) -> bool {
    rustix::fs::stat(path).is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Fifo)
}

fn is_fifo_fd(fd: &OwnedFd) -> bool {
    rustix::fs::fstat(fd).is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Fifo)
}

/// Whether the read end `fd` of a FIFO has data, or a writer that came and went since we
/// opened it (`POLLHUP` counts only writers after our open).
fn writer_has_been_there(fd: &OwnedFd) -> bool {
    let mut fds = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
    let zero = crate::units::timespec(Duration::ZERO);
    matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
}

/// One pause of a FIFO wait: the interrupt and the deadline are checked first; then sleeps
/// `pause` (doubled for the next time, up to [`LONGEST_PAUSE`]) or until the deadline, or —
/// with `readable` — until that descriptor is ready, whichever comes first.
fn wait_a_little(
    deadline: Deadline,
    interrupt: Option<&Interrupt>,
    pause: &mut Duration,
    readable: Option<&OwnedFd>,
) -> Result<(), StdioOpenError> {
    if let Some(signal) = interrupt.and_then(Interrupt::triggered) {
        return Err(StdioOpenError::Interrupted(signal));
    }
    let now = Instant::now();
    if deadline.passed_at(now) {
        return Err(StdioOpenError::TimedOut);
    }
    let slice = Deadline::after_from(now, *pause).min(deadline);
    *pause = (*pause * 2).min(LONGEST_PAUSE);
    match readable {
        Some(fd) => {
            let mut fds = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
            // EINTR and the rest: the caller looks again.
            let _ = rustix::event::poll(&mut fds, slice.timespec_from(now).as_ref());
        }
        None => std::thread::sleep(slice.remaining_from(now).unwrap_or(*pause)),
    }
    Ok(())
}
