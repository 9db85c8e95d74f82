//! The child's environment as a block, without the map (`PreparedCommand::from_environment`).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use super::{check_env_key, check_env_value};
use crate::command::Environment;
use crate::error::ProcessError;
use crate::sys::spawn_types::CStrBlock;

/// Where [`PreparedCommand::assemble`] gets the child's environment.
pub(super) enum EnvSource<'a> {
    /// The final map, given.
    Map(BTreeMap<OsString, OsString>),
    /// Built from `base` (and this process's `environ`), the command's edits and a filter.
    Environment {
        base: &'a Environment,
        keep: Option<&'a dyn Fn(&OsStr) -> bool>,
    },
}

/// The name of a `KEY=VALUE` string of a block (all of it when it holds no `=`, which no
/// block string does).
pub(super) fn entry_key(s: &[u8]) -> &OsStr {
    OsStr::from_bytes(&s[..name_end(s).unwrap_or(s.len())])
}

/// Where the name of an environment string ends: at the first `=` after its first byte, as
/// `std::env::vars_os` (and glibc) read it; `None` for a string without one (skipped).
fn name_end(s: &[u8]) -> Option<usize> {
    s.get(1..)?.iter().position(|&b| b == b'=').map(|i| i + 1)
}

/// The map of a block's `KEY=VALUE` strings (the last of a name given twice wins, as when
/// the map is built from `vars_os`).
pub(super) fn map_of(block: &CStrBlock) -> BTreeMap<OsString, OsString> {
    block
        .strings()
        .filter_map(|s| {
            let eq = name_end(s)?;
            Some((
                OsStr::from_bytes(&s[..eq]).to_os_string(),
                OsStr::from_bytes(&s[eq + 1..]).to_os_string(),
            ))
        })
        .collect()
}

/// The value of the last `NAME=` string of a block.
pub(super) fn block_var<'a>(block: &'a CStrBlock, name: &[u8]) -> Option<&'a OsStr> {
    block
        .strings()
        .filter(|s| s.len() > name.len() && s[name.len()] == b'=' && s.starts_with(name))
        .last()
        .map(|s| OsStr::from_bytes(&s[name.len() + 1..]))
}

/// The child's environment block for [`PreparedCommand::from_environment`]: what
/// `base.resolve(overrides)` then a `retain` of `keep` gives, checked as
/// [`PreparedCommand::new`] checks the map, without building one.
pub(super) fn env_block(
    base: &Environment,
    overrides: &Environment,
    keep: Option<&dyn Fn(&OsStr) -> bool>,
) -> Result<CStrBlock, ProcessError> {
    let passes = |k: &OsStr| keep.map_or(true, |f| f(k));
    // The base's edits count only when the command keeps the base (`clear()` drops them).
    let base_edits = if overrides.inherits() {
        Some(base.edit_map())
    } else {
        None
    };
    let over_edits = overrides.edit_map();
    let edited =
        |k: &OsStr| over_edits.contains_key(k) || base_edits.is_some_and(|b| b.contains_key(k));
    let any_edit = !over_edits.is_empty() || base_edits.is_some_and(|b| !b.is_empty());
    let mut block = CStrBlock::with_capacity(4096, 64);
    if base.inherits() && overrides.inherits() {
        let mut bad: Option<ProcessError> = None;
        for_each_environ(|s| {
            let Some(eq) = name_end(s) else { return };
            let key = OsStr::from_bytes(&s[..eq]);
            if bad.is_some() || (any_edit && edited(key)) || !passes(key) {
                return;
            }
            // The name holds `=` only when the string starts with one (it holds no NUL).
            if s[0] == b'=' {
                bad = check_env_key(key).err();
                return;
            }
            block.push(&[s]);
        });
        if let Some(e) = bad {
            return Err(e);
        }
    }
    let sets = base_edits
        .into_iter()
        .flatten()
        .filter(|(k, _)| !over_edits.contains_key(*k))
        .chain(over_edits)
        .filter_map(|(k, v)| Some((k, v.as_ref()?)));
    for (k, v) in sets {
        if !passes(k) {
            continue;
        }
        check_env_key(k)?;
        check_env_value(k, v)?;
        block.push(&[k.as_bytes(), b"=", v.as_bytes()]);
    }
    Ok(block)
}

/// Calls `f` with each `NAME=value` of this process's environment, in `environ` order: what
/// `std::process::Command` hands a child whose environment it did not change.
///
/// Read through `std::env::vars_os`, under std's environment lock, so a `std::env::set_var`
/// in another thread at the same time is no data race (a raw read of `environ` would save
/// about two allocations per variable but race with it).
fn for_each_environ(mut f: impl FnMut(&[u8])) {
    let mut entry = Vec::new();
    for (k, v) in std::env::vars_os() {
        entry.clear();
        entry.extend_from_slice(k.as_bytes());
        entry.push(b'=');
        entry.extend_from_slice(v.as_bytes());
        f(&entry);
    }
}
