//! Anonymous shared memory for handing data to a child (spec §7, integration with the Memory
//! plugin's shared memory).
//!
//! The Memory plugin's `shared_open` (`effect {memory, process}`) is the real provider; this
//! small helper lets a user try the hand-off without it. A [`SharedMemory`] is a Linux
//! `memfd`: an anonymous file in memory, close-on-exec, sealed against shrinking, so a child
//! that maps it can never see it cut short under its feet.
//!
//! What is shared: the bytes of the object (both sides see each other's writes at once) and,
//! through `Command::pass_fd`, one open file description — so the file *offset* is shared too
//! when both sides use `read`/`write`; use positional I/O ([`SharedMemory::read_at`],
//! [`SharedMemory::write_at`], `pread`/`pwrite`, or `mmap`) to stay independent. What is not
//! shared: any other descriptor of ours, memory of our process, or the right to grow the
//! object past its seals.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use crate::error::ProcessError;

/// An anonymous shared-memory object of a fixed minimum size (Linux `memfd_create(2)`).
#[derive(Debug)]
pub struct SharedMemory {
    fd: Arc<OwnedFd>,
    size: u64,
}

impl SharedMemory {
    /// Creates an object named `name` (shown in `/proc/PID/fd` as `memfd:NAME`) of `size`
    /// bytes, zero-filled, close-on-exec, sealed with `F_SEAL_SHRINK` (it may grow, never
    /// shrink).
    ///
    /// # Errors
    /// `InvalidCommand` when `name` contains a NUL byte or is longer than 249 bytes;
    /// `SpawnFailed` with the errno when the kernel refuses (`EMFILE`, `ENOMEM`, …);
    /// `Unsupported` off Linux.
    pub fn create(name: &str, size: u64) -> Result<SharedMemory, ProcessError> {
        if name.contains('\0') || name.len() > 249 {
            return Err(ProcessError::invalid(format!(
                "shared memory name {name:?}: must be at most 249 bytes without NUL"
            )));
        }
        create_memfd(name, size)
    }

    /// The size in bytes at creation (it may have grown since; never shrunk).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The descriptor, shareable with `Command::pass_fd`.
    pub fn fd(&self) -> Arc<OwnedFd> {
        self.fd.clone()
    }

    /// Writes `data` at byte `offset` (positional: the shared file offset does not move).
    ///
    /// # Errors
    /// `SpawnFailed` with the errno on an I/O error.
    pub fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), ProcessError> {
        self.file()?
            .write_all_at(data, offset)
            .map_err(|e| io_error("write to shared memory", e))
    }

    /// Reads `len` bytes at byte `offset` (positional); fewer at the end of the object.
    ///
    /// # Errors
    /// `SpawnFailed` with the errno on an I/O error.
    pub fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, ProcessError> {
        let file = self.file()?;
        let mut buf = vec![0u8; len];
        let mut got = 0;
        while got < len {
            match file.read_at(&mut buf[got..], offset + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error("read from shared memory", e)),
            }
        }
        buf.truncate(got);
        Ok(buf)
    }

    fn file(&self) -> Result<File, ProcessError> {
        self.fd
            .try_clone()
            .map(File::from)
            .map_err(|e| io_error("duplicate the shared memory descriptor", e))
    }
}

impl AsFd for SharedMemory {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn io_error(what: &str, e: std::io::Error) -> ProcessError {
    ProcessError::from_errno(
        format!("cannot {what}"),
        e.raw_os_error().unwrap_or(libc::EIO),
    )
}

fn create_memfd(name: &str, size: u64) -> Result<SharedMemory, ProcessError> {
    if !crate::sys::imp::SUPPORTED {
        return Err(ProcessError::unsupported(format!(
            "cannot create shared memory `{name}`: {}",
            crate::sys::unsupported_message("shared memory (memfd)")
        )));
    }
    let fd = crate::sys::imp::fs::sealed_memfd(name, size).map_err(|(what, e)| {
        ProcessError::from_errno(
            format!("cannot {what} shared memory `{name}`"),
            e.raw_os_error(),
        )
    })?;
    Ok(SharedMemory {
        fd: Arc::new(fd),
        size,
    })
}
