//! The Linux backend.

pub(crate) mod process;
pub(crate) mod signals;
pub(crate) mod terminal;
pub(crate) mod tree;

pub(crate) use process::arg_max;
pub(crate) mod thread;
