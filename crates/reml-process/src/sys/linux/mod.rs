//! The Linux backend.

#[cfg(feature = "tokio")]
pub(crate) mod async_fd;
pub(crate) mod process;
pub(crate) mod signals;
pub(crate) mod terminal;
pub(crate) mod tree;

pub(crate) use process::arg_max;
pub(crate) mod thread;

/// Whether this backend can create and control processes (it can).
pub(crate) const SUPPORTED: bool = true;
