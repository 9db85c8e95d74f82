//! The slots for subjects built in other branches: the full stack (audit → policy → native)
//! and the thread capability. Each returns the reason when its subject is not built here.
//!
//! Filling a slot is a few lines: return a capability (or a closure) instead of the reason;
//! the measures, the table and the JSON pick it up unchanged.

use reml_process::ProcessCapability;

/// The full stack for the spawn measures: audit (to a file in `dir` when `audit` is true)
/// over the security policy over the native backend.
///
/// # Errors
/// The reason, shown in the table, when the layers are not available in this build.
pub fn full_stack(
    audit: bool,
    dir: &std::path::Path,
) -> Result<Box<dyn ProcessCapability>, String> {
    let _ = (audit, dir);
    Err(
        "full stack not available: the policy and audit layers are not merged in this branch"
            .into(),
    )
}

/// One `create_thread` + `join_thread` of a thread that does nothing, through the library's
/// thread capability.
///
/// # Errors
/// The reason, shown in the table, when the thread capability is not available in this build.
pub fn thread_create_join() -> Result<Box<dyn FnMut() -> Result<(), String>>, String> {
    Err("create_thread/join_thread not available: the thread capability is not merged in this branch".into())
}
