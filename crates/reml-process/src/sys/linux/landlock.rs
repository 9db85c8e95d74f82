//! Landlock (Linux 5.13+) for the `sandboxed` isolation level (`docs/sandbox.md`).
//!
//! The ruleset is built here, in the parent, before the spawn: `landlock_create_ruleset(2)`
//! and one `landlock_add_rule(2)` per sandbox path (opened `O_PATH`). The child, on the
//! vfork-style path, only makes the two calls that apply it: `prctl(PR_SET_NO_NEW_PRIVS)` and
//! `landlock_restrict_self(fd)` ([`restrict_self`]). Nothing is allocated or locked there.
//!
//! Rights: paths under `read` get execute, read-file and read-dir; paths under `write` get
//! every filesystem right the running ABI knows. With `network = false` (ABI 4+) TCP bind and
//! connect are handled and no port is allowed. A right the ABI lacks is never silently
//! dropped where it matters: no network rules below ABI 4 is a refusal, not a downgrade.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::OnceLock;

use libc::{c_int, c_long};

// The syscall numbers are the same on every architecture (the unified table since 5.13).
const SYS_LANDLOCK_CREATE_RULESET: c_long = 444;
const SYS_LANDLOCK_ADD_RULE: c_long = 445;
const SYS_LANDLOCK_RESTRICT_SELF: c_long = 446;

const CREATE_RULESET_VERSION: u32 = 1;
const RULE_PATH_BENEATH: c_int = 1;

const FS_EXECUTE: u64 = 1 << 0;
const FS_WRITE_FILE: u64 = 1 << 1;
const FS_READ_FILE: u64 = 1 << 2;
const FS_READ_DIR: u64 = 1 << 3;
const FS_REFER: u64 = 1 << 13;
const FS_TRUNCATE: u64 = 1 << 14;
const FS_IOCTL_DEV: u64 = 1 << 15;
/// Rights that apply to a file (not only to directories).
const FS_FILE_RIGHTS: u64 = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV;
const NET_BIND_TCP: u64 = 1 << 0;
const NET_CONNECT_TCP: u64 = 1 << 1;

/// `struct landlock_ruleset_attr` (ABI 6 layout; the kernel takes the size we pass).
#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

/// `struct landlock_path_beneath_attr` (packed: 12 bytes).
#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// The Landlock ABI version of the running kernel, 0 when Landlock is missing or disabled
/// (probed once: `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`).
pub(crate) fn abi() -> i32 {
    static ABI: OnceLock<i32> = OnceLock::new();
    *ABI.get_or_init(|| {
        // SAFETY: with a NULL attribute, size 0 and the VERSION flag the call only returns
        // the ABI number (or fails with ENOSYS/EOPNOTSUPP); it touches no memory of ours.
        let r = unsafe {
            libc::syscall(
                SYS_LANDLOCK_CREATE_RULESET,
                std::ptr::null::<RulesetAttr>(),
                0usize,
                CREATE_RULESET_VERSION,
            )
        };
        if r < 0 {
            0
        } else {
            r as i32
        }
    })
}

/// Every filesystem right the given ABI knows.
fn fs_rights(abi: i32) -> u64 {
    let mut all = (1u64 << 13) - 1; // ABI 1: execute .. make_sym
    if abi >= 2 {
        all |= FS_REFER;
    }
    if abi >= 3 {
        all |= FS_TRUNCATE;
    }
    if abi >= 5 {
        all |= FS_IOCTL_DEV;
    }
    all
}

/// Why a ruleset could not be built: `missing` is a kernel feature the level needs (the
/// spawn is refused with `PermissionDenied` naming it); `Io` is any other failure.
#[derive(Debug)]
pub(crate) enum RulesetError {
    Missing(String),
    Io(String, io::Error),
}

/// Builds the ruleset in the parent and returns its descriptor (close-on-exec).
///
/// `read` paths get read and execute, `write` paths every filesystem right; with
/// `network == false` TCP bind and connect are refused. Paths that do not exist grant
/// nothing and are skipped.
pub(crate) fn build_ruleset(
    read: &[&Path],
    write: &[&Path],
    network: bool,
) -> Result<OwnedFd, RulesetError> {
    let abi = abi();
    if abi < 1 {
        return Err(RulesetError::Missing(
            "Landlock is not available in this kernel (needs Linux 5.13+ with `landlock` in the LSM list)".to_owned(),
        ));
    }
    if !network && abi < 4 {
        return Err(RulesetError::Missing(format!(
            "`network = false` needs Landlock ABI 4 (Linux 6.7+); this kernel has ABI {abi}"
        )));
    }
    let handled_fs = fs_rights(abi);
    let attr = RulesetAttr {
        handled_access_fs: handled_fs,
        handled_access_net: if network {
            0
        } else {
            NET_BIND_TCP | NET_CONNECT_TCP
        },
        scoped: 0,
    };
    // ABI 1-3 know only the first field, 4-5 the first two; pass the size they know.
    let size = if abi >= 6 {
        std::mem::size_of::<RulesetAttr>()
    } else if abi >= 4 {
        16
    } else {
        8
    };
    // SAFETY: `attr` is a valid `landlock_ruleset_attr` prefix of `size` bytes that lives
    // across the call; the kernel returns a new descriptor or -1.
    let fd = unsafe {
        libc::syscall(
            SYS_LANDLOCK_CREATE_RULESET,
            &attr as *const RulesetAttr,
            size,
            0u32,
        )
    };
    if fd < 0 {
        return Err(RulesetError::Io(
            "landlock_create_ruleset".to_owned(),
            io::Error::last_os_error(),
        ));
    }
    // SAFETY: the kernel just returned this descriptor to us (close-on-exec by default).
    let ruleset = unsafe { OwnedFd::from_raw_fd(fd as c_int) };
    let read_rights = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR;
    for (paths, rights) in [(read, read_rights), (write, handled_fs)] {
        for path in paths {
            add_path_rule(&ruleset, path, rights & handled_fs)?;
        }
    }
    // No TCP port rule is added: handled network rights with no rule deny every port.
    Ok(ruleset)
}

fn add_path_rule(ruleset: &OwnedFd, path: &Path, rights: u64) -> Result<(), RulesetError> {
    let shown = || crate::error::os_text(path).to_string();
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| RulesetError::Io(shown(), io::Error::from(io::ErrorKind::InvalidInput)))?;
    // SAFETY: `c` is NUL-terminated and lives across the call; O_PATH opens nothing for I/O.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENOENT) {
            return Ok(());
        }
        return Err(RulesetError::Io(shown(), e));
    }
    // SAFETY: the descriptor was just opened by us.
    let dir = unsafe { OwnedFd::from_raw_fd(fd) };
    let is_dir = std::fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false);
    let attr = PathBeneathAttr {
        allowed_access: if is_dir {
            rights
        } else {
            rights & FS_FILE_RIGHTS
        },
        parent_fd: dir.as_raw_fd(),
    };
    // SAFETY: `attr` is a valid packed `landlock_path_beneath_attr` that lives across the
    // call; both descriptors are open.
    let r = unsafe {
        libc::syscall(
            SYS_LANDLOCK_ADD_RULE,
            ruleset.as_raw_fd(),
            RULE_PATH_BENEATH,
            &attr as *const PathBeneathAttr,
            0u32,
        )
    };
    if r != 0 {
        return Err(RulesetError::Io(
            format!("landlock_add_rule {}", shown()),
            io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// The rights a directory given in `[sandbox] read` (`write == false`) or `write` gets from
/// [`build_ruleset`] on this kernel, for a rule the child adds itself
/// ([`add_rule_in_child`]).
pub(crate) fn directory_rights(write: bool) -> u64 {
    let handled = fs_rights(abi());
    if write {
        handled
    } else {
        (FS_EXECUTE | FS_READ_FILE | FS_READ_DIR) & handled
    }
}

/// In the child: adds to `ruleset` a rule granting `rights` beneath the directory at `path`
/// (opened `O_PATH`, closed again). Returns 0, or -1 with errno set.
///
/// # Safety
/// Async-signal-safe (open, one raw system call, close); `path` is NUL-terminated and
/// `ruleset` a ruleset descriptor.
pub(crate) unsafe fn add_rule_in_child(
    ruleset: c_int,
    path: *const libc::c_char,
    rights: u64,
) -> c_int {
    // SAFETY: raw system calls on a NUL-terminated path and a packed attribute on this stack.
    unsafe {
        let dir = libc::open(path, libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC);
        if dir < 0 {
            return -1;
        }
        let attr = PathBeneathAttr {
            allowed_access: rights,
            parent_fd: dir,
        };
        let r = libc::syscall(
            SYS_LANDLOCK_ADD_RULE,
            ruleset,
            RULE_PATH_BENEATH,
            &attr as *const PathBeneathAttr,
            0u32,
        );
        let saved = *libc::__errno_location();
        libc::close(dir);
        *libc::__errno_location() = saved;
        if r != 0 {
            return -1;
        }
    }
    0
}

/// In the child, before exec: `prctl(PR_SET_NO_NEW_PRIVS, 1)` then
/// `landlock_restrict_self(fd, 0)`. Returns 0, or -1 with errno set.
///
/// # Safety
/// Async-signal-safe (two raw system calls); `fd` must be a ruleset descriptor.
pub(crate) unsafe fn restrict_self(fd: c_int) -> c_int {
    // SAFETY: plain system calls on integer arguments.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return -1;
        }
        if libc::syscall(SYS_LANDLOCK_RESTRICT_SELF, fd, 0u32) != 0 {
            return -1;
        }
    }
    0
}
