//! The Linux backend.
pub(crate) mod thread;
