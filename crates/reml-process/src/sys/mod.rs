//! OS backends. The only place in the crate where `unsafe` is allowed.
//!
//! One backend is chosen at compile time and every backend exports the same names
//! (`process`, `fs`, `reaper`, `signals`, `terminal`, `tree`, `thread`, `arg_max`,
//! `SUPPORTED`):
//! - `linux`: the complete backend (clone + pidfd + poll, signalfd, `/proc`, prctl,
//!   sched_setaffinity, an `.init_array` constructor recording the inherited signal
//!   dispositions, the orphan reaper thread on `epoll`, …);
//! - `unsupported`: every other target. Each operation fails with an `io::Error` of kind
//!   `Unsupported` that names the platform ([`unsupported_error`]); the few queries without
//!   an error channel answer "nothing" (no terminal on stdin, no children, not ignored).
//!   Nothing is emulated.
//!
//! The backends take and return raw values (numbers, descriptors, byte strings, the types
//! of [`spawn_types`]), never a type of the shared code: `Resource` converts into
//! `spawn_types::RawResource`, `SchedPolicy` to and from the backend's `SCHED_*` numbers,
//! and the child's environment block (`spawn_types::CStrBlock`) is built here for `prepare`.
//!
//! # Choosing the backend: the `reml_linux` cfg
//! `build.rs` sets `reml_linux` when the target is Linux and the crate is *not* built with
//! `--cfg reml_force_unsupported`. Only this module and `lib.rs` read `reml_linux`: every
//! Linux-only piece of the shared code asks a function of `crate::sys::imp` instead:
//! - `crate::native` and `crate::supervise`: `fs::pipe_cloexec` (`pipe2`) for stdio and
//!   stop pipes; `spawn_prepared` refuses first of all when the backend's `SUPPORTED` is
//!   false;
//! - `crate::native`: `reaper::adopt` (`epoll` and `eventfd`; elsewhere there is never an
//!   orphan);
//! - `crate::shm`: `fs::sealed_memfd` (`memfd_create`), after a `SUPPORTED` check;
//! - `crate::policy::supervisor`: `fs::on_procfs` (`statfs` magic numbers, elsewhere by
//!   path);
//! - `crate::policy::review`: `thread::sched_getaffinity_thread` for the machine's CPUs.
//!
//! Facts of the target's signal table (`crate::signal`: `MAX_SIGNAL`, `RTMIN+N`) stay on
//! `target_os`. Shared code turns a backend's `Unsupported` error into
//! `ProcessErrorKind::Unsupported` with `ProcessError::from_io`.
//!
//! # What works where
//! | | Linux | other Unixes (macOS, the BSDs, …) |
//! |---|---|---|
//! | spawn (`spawn_process`, `run_process`, …) | yes | `Unsupported` naming the platform, before any descriptor is opened or file created |
//! | wait, signal, tree kill, output: operations on a handle | yes | unreachable: no handle can exist (any handle is stale) |
//! | `set_child_subreaper`, `is_child_subreaper` | yes | `Unsupported` |
//! | `SignalForwarder::install`, `install_reaping_orphans` | yes | `Unsupported`; `supervise::is_ignored` and `reset_sigchld_to_default` answer `false`, `inherited_ignored_signals` `None` |
//! | `TerminalGuard::acquire` (job control) | yes | `None` |
//! | `FdMapping::from_inherited` | yes | `Unsupported` |
//! | `SharedMemory::create` (memfd) | yes | `Unsupported` |
//! | threads: `create_thread`, affinity, `online_cpus`, `OsThreadState::current` | yes | `ThreadErrorKind::Unsupported` |
//! | commands, policy (parse, resolve, review), audit log, registry | yes | yes; the review cannot read the CPUs (an `Info` finding says so) nor `nr_open` (that check is skipped) |
//!
//! Preparing a command still checks everything that does not need the backend (program
//! resolution, NUL bytes, environment keys, descriptor conflicts, the policy). The limits
//! the backend knows (`ARG_MAX`, `RLIMIT_NOFILE`) are not known elsewhere and not checked
//! there, since the spawn is refused anyway.
//!
//! **Windows** (any non-Unix target) would get the `unsupported` backend too, but the crate
//! does not build there, and `lib.rs` says so with a `compile_error!`. The shared layers are
//! written against Unix: `std::os::fd` descriptors in the public API (`FdMapping`,
//! `Command::pass_fd`, `SharedMemory::fd`, `PreparedCommand::exec_file`) and in the
//! unsupported backend's own signatures; `std::os::unix` byte strings, permission bits and
//! owners in `command`, `prepare`, `policy`, `policy::guard` and `shm`; rustix's `fs`,
//! `pipe`, `process`, `stdio` modules, which do not exist on Windows; Unix signal numbers
//! from `libc` in `signal`. Making it build is an API decision (what replaces descriptors
//! and byte paths), not a matter of gates.
//!
//! # Checking the non-Linux paths on Linux
//! No other target's standard library is needed:
//!
//! ```text
//! CARGO_TARGET_DIR=target/unsupported RUSTFLAGS="--cfg reml_force_unsupported -D warnings" \
//!     cargo test -p reml-process --test unsupported_backend
//! ```
//!
//! `.ci/run` runs it, in its own target directory so that the main build cache stays valid.
//! It compiles the `unsupported` backend and every `not(reml_linux)` path of the shared code
//! without a warning, then `tests/unsupported_backend.rs` checks that the public API answers
//! `Unsupported` naming the platform and that a refused spawn has created nothing.
//!
//! What it cannot check: that the rustix and libc items used outside the `reml_linux` gates
//! exist on each other target, since it still compiles against Linux's. Those were checked
//! by hand against the crates' own `cfg`s for macOS, FreeBSD, NetBSD and OpenBSD (`poll`,
//! `open`, `read`/`write`, `access`, `accessat` with `AT_EACCESS`, `flock`, `fcntl_getfd`,
//! `geteuid`, every `E*`/`SIG*` constant used); `Timespec::tv_nsec` is a `c_long` on 32-bit
//! BSDs, hence `as _` in `crate::native`. Nor can it check anything about Windows.
#![allow(unsafe_code)]

use std::io;

// Without a backend most of these are only built, never read.
#[cfg_attr(not(reml_linux), allow(dead_code))]
pub(crate) mod spawn_types;

#[cfg(reml_linux)]
pub(crate) mod linux;
#[cfg(reml_linux)]
pub(crate) use linux as imp;

#[cfg(not(reml_linux))]
pub(crate) mod unsupported;
#[cfg(not(reml_linux))]
pub(crate) use unsupported as imp;

/// The name of this platform for messages (`std::env::consts::OS`: `linux`, `macos`, …).
pub(crate) const PLATFORM: &str = std::env::consts::OS;

/// `"<what> is not implemented on <platform> yet (core.process supports Linux)"`.
pub(crate) fn unsupported_message(what: &str) -> String {
    format!("{what} is not implemented on {PLATFORM} yet (core.process supports Linux)")
}

/// The error of an operation the backend does not implement: kind `Unsupported`, no errno,
/// the [`unsupported_message`] as its text. `ProcessError::from_io` turns it into
/// `ProcessErrorKind::Unsupported`.
#[cfg_attr(reml_linux, allow(dead_code))]
pub(crate) fn unsupported_error(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, unsupported_message(what))
}
