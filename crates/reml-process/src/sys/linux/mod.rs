//! The Linux backend.

pub(crate) mod process;

pub(crate) use process::arg_max;
