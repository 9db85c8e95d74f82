//! The backend for platforms without a real implementation: the same names as `sys/linux`,
//! every operation failing with an `io::Error` of kind `Unsupported` that names the platform
//! (see the table in `sys/mod.rs`). Nothing is emulated.
//!
//! Some types exist only so that shared code type-checks: [`process::Spawned`] and the
//! results of waiting are never constructed here, because no spawn ever succeeds.

/// Whether this backend can create and control processes (it cannot).
pub(crate) const SUPPORTED: bool = false;

pub(crate) mod fs;
pub(crate) mod landlock;
pub(crate) mod namespace;
pub(crate) mod process;
pub(crate) mod reaper;
pub(crate) mod signals;
pub(crate) mod terminal;
pub(crate) mod thread;
pub(crate) mod tree;

pub(crate) use process::arg_max;

/// Marks the program that invokes it as a `reml-process` supervisor. On Linux an ELF note
/// that the security review recognises; here (no ELF note support is assumed) it expands to
/// nothing, so the review recognises the supervisor only as the running program or by name.
#[macro_export]
macro_rules! supervisor_note {
    () => {};
}
