//! Opening the child's standard streams: `/dev/null`, a pipe, or a file or FIFO named by
//! the command ([`StdioSpec`]).

use std::os::fd::{OwnedFd, RawFd};

use crate::command::StdioSpec;
use crate::error::{ProcessError, ProcessErrorKind};
use crate::units::Deadline;

/// Opens the child's end of one standard stream; returns (child end, our end). A FIFO named
/// by a `File` spec waits for its other end until `deadline` or `interrupt`
/// ([`crate::process::files::open_stdio_file`]).
pub(super) fn open_stdio(
    spec: &StdioSpec,
    target: RawFd,
    deadline: Deadline,
    interrupt: Option<&crate::command::Interrupt>,
) -> Result<(Option<OwnedFd>, Option<OwnedFd>), ProcessError> {
    use rustix::fs::{Mode, OFlags};
    let read = target == 0;
    let os_err =
        |what: String, e: rustix::io::Errno| ProcessError::from_errno(what, e.raw_os_error());
    match spec {
        StdioSpec::Inherit => Ok((None, None)),
        StdioSpec::Null => {
            let flags = if read { OFlags::RDONLY } else { OFlags::WRONLY };
            let fd = rustix::fs::open("/dev/null", flags | OFlags::CLOEXEC, Mode::empty())
                .map_err(|e| os_err("cannot open /dev/null".into(), e))?;
            Ok((Some(fd), None))
        }
        StdioSpec::Pipe => {
            // Without a backend not reached: `spawn_prepared` refuses first.
            let pipe = crate::sys::imp::fs::pipe_cloexec();
            let (r, w) = pipe.map_err(|e| os_err("cannot create a pipe".into(), e))?;
            Ok(if read {
                (Some(r), Some(w))
            } else {
                (Some(w), Some(r))
            })
        }
        StdioSpec::File(path) => {
            use crate::process::files::StdioOpenError;
            let name = match target {
                0 => "stdin",
                1 => "stdout",
                _ => "stderr",
            };
            let what = format!("{name} file {}", crate::error::os_text(&path));
            let peer = if read { "no writer" } else { "no reader" };
            let fd = crate::process::files::open_stdio_file(path, read, deadline, interrupt)
                .map_err(|e| match e {
                    // A file that cannot be opened is bad input of the command, like a
                    // missing cwd: InvalidCommand, with the errno.
                    StdioOpenError::Os(e) => {
                        let mut err = os_err(what, e);
                        err.kind = ProcessErrorKind::InvalidCommand;
                        err
                    }
                    StdioOpenError::TimedOut => ProcessError::new(
                        ProcessErrorKind::TimedOut,
                        format!(
                            "{what}: a FIFO with {peer} within the time limit; nothing was started"
                        ),
                    ),
                    StdioOpenError::Interrupted(signal) => ProcessError::with_code(
                        ProcessErrorKind::TerminatedBySignal,
                        format!(
                            "{what}: interrupted by {signal} while waiting for the FIFO's other \
                             end ({peer}); nothing was started"
                        ),
                        signal.number(),
                    ),
                })?;
            Ok((Some(fd), None))
        }
    }
}
