//! Namespaces are Linux's: here `full_isolation` is always unavailable, and refused (never
//! downgraded), as `sys/linux/namespace.rs` refuses it on a kernel without them.

use std::ffi::c_int;

/// Why `full_isolation` cannot be provided: always, on this platform.
pub(crate) fn missing() -> Option<String> {
    Some(format!(
        "namespaces are Linux's; this platform ({}) has none",
        std::env::consts::OS
    ))
}

/// The failed step in words (no step can run here).
#[allow(dead_code)] // the shared code's error mapping names it; no spawn reaches it here.
pub(crate) fn step_text(_step: c_int) -> &'static str {
    "set up its namespaces"
}
