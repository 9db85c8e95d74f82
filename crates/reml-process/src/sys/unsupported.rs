//! The backend for platforms without a real implementation: every operation is `Unsupported`.

/// The name of this platform, for error messages.
#[allow(dead_code)]
pub(crate) const PLATFORM: &str = std::env::consts::OS;

pub(crate) mod thread;
