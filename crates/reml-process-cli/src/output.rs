//! The command's one way out (`docs/command.md`, "Input and output at the edges").
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
//! | anything else (`ENOSPC`, `EIO`, …) | that stream is dropped, [`crate::exit::finish`] prints `reml-process: cannot write the output: STREAM: REASON` and the exit status is 125 |
//!
//! `SIGPIPE` is ignored by the Rust runtime, so a closed pipe is an `EPIPE` answer here and
//! never kills us.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, PoisonError};

use reml_process::supervise::write_all_waiting;

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

/// The first write error other than `EPIPE`, as [`take_failure`] hands it over.
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

/// The first write error other than `EPIPE` (`STREAM: REASON`), taken: the next call answers
/// `None` unless another write fails. [`crate::exit::finish`] reports it.
pub fn take_failure() -> Option<String> {
    FAILURE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
}

/// `s` with its control characters escaped, so that it stays on one line and cannot drive a
/// terminal: `\n`, `\r` and `\t` by name, the other C0 controls and DEL as `\xNN`
/// (`\x1b`), the C1 controls U+0080–U+009F as `\u{NN}` (`\u{9b}`, unlike a raw byte `\x9b`
/// shown by [`reml_process::error::os_text`]), and the Unicode characters that reorder or
/// break a line as `\u{NN}`: the bidirectional marks, embeddings, overrides and isolates
/// (U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069), which could make a message read
/// as something else, and the line and paragraph separators U+2028–U+2029. Everything else,
/// backslashes included, is kept as it is.
pub fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0'..='\x1f' | '\x7f' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            '\u{80}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_is_escaped_and_the_rest_kept() {
        assert_eq!(
            escape_controls("a\nb\rc\td\x1b[31m\x7f\u{9b}\0"),
            "a\\nb\\rc\\td\\x1b[31m\\x7f\\u{9b}\\x00"
        );
        assert_eq!(
            escape_controls("plain é € \\x41 \u{a0}"),
            "plain é € \\x41 \u{a0}"
        );
        assert_eq!(
            escape_controls("a\u{202e}b\u{2066}c\u{2028}d\u{61c}e\u{200f}f\u{200b}"),
            "a\\u{202e}b\\u{2066}c\\u{2028}d\\u{61c}e\\u{200f}f\u{200b}"
        );
    }
}
