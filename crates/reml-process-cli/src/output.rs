//! The command's one way out (contract.md §1, "Input and output at the edges").
//!
//! Everything `reml-process` writes — reports, collected output, `--help` and `--version`,
//! error lines — goes through [`stdout`] or [`stderr`] here, never through `print!` or
//! `eprintln!` (which panic on a full or closed stream). Each write goes out whole
//! ([`write_all_waiting`]), and what write(2) answers decides what follows:
//!
//! | write(2) answers | what happens |
//! |---|---|
//! | `EINTR` | the write is retried |
//! | `EAGAIN` (someone set `O_NONBLOCK` on the shared pipe or terminal) | poll(2) waits for room, then the write goes on: nothing is lost |
//! | `EPIPE` (the reader went away: `reml-process … \| head`) | that stream is dropped quietly, and the exit status is the one the command would have had: the child's for `run`, 0 for `describe` or `--help`, 1 for `verify` with errors |
//! | anything else (`ENOSPC`, `EIO`, …) | that stream is dropped, [`finish`] prints `reml-process: cannot write the output: STREAM: REASON` and the exit status is 125 |
//!
//! `SIGPIPE` is ignored by the Rust runtime, so a closed pipe is an `EPIPE` answer here and
//! never kills us.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, PoisonError};

use reml_process::supervise::write_all_waiting;

use crate::cli::EXIT_OWN_FAILURE;

/// One of our two output streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Descriptor 1.
    Stdout,
    /// Descriptor 2.
    Stderr,
}

impl Stream {
    fn index(self) -> usize {
        match self {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "standard output",
            Stream::Stderr => "standard error",
        }
    }
}

/// The stream writes on.
const OPEN: u8 = 0;
/// The reader went away (`EPIPE`): nothing more is written there, and it is no failure.
const CLOSED: u8 = 1;
/// Another write error: nothing more is written there, and the command fails (125).
const FAILED: u8 = 2;

/// The state of stdout and stderr, by [`Stream::index`].
static STATE: [AtomicU8; 2] = [AtomicU8::new(OPEN), AtomicU8::new(OPEN)];

/// The first write error other than `EPIPE`, as [`finish`] reports it.
static FAILURE: Mutex<Option<String>> = Mutex::new(None);

/// Writes all of `bytes` to standard output (see the module doc for what a failure does).
pub fn stdout(bytes: &[u8]) {
    write(Stream::Stdout, bytes);
}

/// Writes all of `bytes` to standard error (see the module doc for what a failure does).
pub fn stderr(bytes: &[u8]) {
    write(Stream::Stderr, bytes);
}

fn write(stream: Stream, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    // The std lock of the stream keeps other writers of this process (the audit log on
    // standard error) from cutting into our bytes; std's own buffer is never used.
    let result = match stream {
        Stream::Stdout => {
            let _lock = std::io::stdout().lock();
            if STATE[0].load(Ordering::Relaxed) != OPEN {
                return;
            }
            write_all_waiting(rustix::stdio::stdout(), bytes)
        }
        Stream::Stderr => {
            let _lock = std::io::stderr().lock();
            if STATE[1].load(Ordering::Relaxed) != OPEN {
                return;
            }
            write_all_waiting(rustix::stdio::stderr(), bytes)
        }
    };
    if let Err(e) = result {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            STATE[stream.index()].store(CLOSED, Ordering::Relaxed);
        } else {
            STATE[stream.index()].store(FAILED, Ordering::Relaxed);
            let mut failure = FAILURE.lock().unwrap_or_else(PoisonError::into_inner);
            failure.get_or_insert_with(|| format!("{}: {e}", stream.name()));
        }
    }
}

/// The exit status of the command that would exit with `status`: 125 when a write failed
/// with anything but `EPIPE`, after one line saying so on standard error (when standard
/// error can still take it); `status` otherwise.
pub fn finish(status: i32) -> i32 {
    let failure = FAILURE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    match failure {
        Some(reason) => {
            stderr(format!("reml-process: cannot write the output: {reason}\n").as_bytes());
            EXIT_OWN_FAILURE
        }
        None => status,
    }
}
