//! The Linux backend.

#[cfg(feature = "tokio")]
pub(crate) mod async_fd;
mod child;
pub(crate) mod fs;
pub(crate) mod landlock;
pub(crate) mod namespace;
pub(crate) mod process;
pub(crate) mod reaper;
pub(crate) mod signals;
pub(crate) mod terminal;
pub(crate) mod tree;
mod wait;

pub(crate) use process::arg_max;
pub(crate) mod thread;

/// Whether this backend can create and control processes (it can).
pub(crate) const SUPPORTED: bool = true;

/// Marks the program that invokes it as a `reml-process` supervisor: an ELF note (owner
/// `reml-process`, type 1, description `supervisor`; `readelf -n` shows it) that the security
/// review finds in the file whatever its name, so allowing that program in a policy is a
/// `policy.command.launcher` error
/// ([`has_supervisor_note`](crate::policy::supervisor::has_supervisor_note)).
///
/// Invoke it once, at the top level of the binary crate of a program that runs programs
/// named by its caller (the `reml-process` command does). The note is emitted into that
/// binary only, never into other programs that link this library.
///
/// ```ignore
/// reml_process::supervisor_note!();
/// fn main() {}
/// ```
///
/// # Platform-specific behavior
/// Linux: a section `.note.reml-process`, which the linker places in a `PT_NOTE` segment
/// at the start of the file (kept by `strip`). Elsewhere it expands to nothing.
#[macro_export]
macro_rules! supervisor_note {
    () => {
        // `link_section` names the output section of these bytes. SAFETY: the section is
        // a `.note.*` one, which holds data the loader never runs or relocates; the static
        // is plain immutable integers and bytes laid out as an ELF note (`namesz`, `descsz`,
        // `type`, name and description padded to 4, aligned to 4), so every ELF reader
        // sees a well-formed note; nothing in the program refers to it. `#[used]` keeps
        // the compiler from dropping it; linkers keep note sections.
        #[allow(unsafe_code)]
        #[used]
        #[link_section = ".note.reml-process"]
        static REML_PROCESS_SUPERVISOR_NOTE: $crate::policy::supervisor::SupervisorNote =
            $crate::policy::supervisor::SUPERVISOR_NOTE;
    };
}
