//! The backend for platforms without a real implementation: the same names as `sys/linux`,
//! every operation failing with an `io::Error` of kind `Unsupported` that names the platform
//! (see the table in `sys/mod.rs`). Nothing is emulated.
//!
//! Some types exist only so that shared code type-checks: [`process::Spawned`] and the
//! results of waiting are never constructed here, because no spawn ever succeeds.

/// Whether this backend can create and control processes (it cannot).
pub(crate) const SUPPORTED: bool = false;

pub(crate) mod process;
pub(crate) mod signals;
pub(crate) mod terminal;
pub(crate) mod thread;
pub(crate) mod tree;

pub(crate) use process::arg_max;
