//! The small validated value types of the policy file (`docs/policy.md`): stages, isolation
//! levels, priority ceilings, CPU lists, allow-list entries and redaction patterns.
//!
//! Each type is valid by construction: its only constructors are the parsers below, which
//! are also what the policy file goes through, so a value read from a policy and a value
//! built in code obey the same rules.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;

use crate::thread::{CpuId, CpuSet};

/// The maturity stage of a capability (registry chapter 3-8 `StageId`, spec §6;
/// `docs/policy.md` `[capability] stage`).
///
/// Ordered `Experimental < Beta < Stable`, so a registry can check a
/// `StageRequirement::AtLeast(stage)` with `>=`. Serialises as the policy spelling
/// (`"beta"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageId {
    /// Not ready for general use; the API may change.
    Experimental,
    /// Usable, still allowed to change (the default of `core.process`).
    #[default]
    Beta,
    /// Stable API.
    Stable,
}

impl StageId {
    /// `"experimental"`, `"beta"` or `"stable"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            StageId::Experimental => "experimental",
            StageId::Beta => "beta",
            StageId::Stable => "stable",
        }
    }
}

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StageId {
    type Err = String;

    /// Parses `experimental`, `beta` or `stable` (exact, lower case).
    ///
    /// # Errors
    /// A message quoting the text and listing the accepted values.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "experimental" => Ok(StageId::Experimental),
            "beta" => Ok(StageId::Beta),
            "stable" => Ok(StageId::Stable),
            _ => Err(format!(
                "unknown stage `{s}` (expected experimental, beta or stable)"
            )),
        }
    }
}

/// The isolation level a capability declares (registry chapter 3-8
/// `CapabilitySecurity.isolation_level`; `docs/policy.md` `[capability] isolation_level`).
///
/// Enforced on every child the capability starts (`docs/sandbox.md`): `sandboxed` applies
/// `no_new_privs` and a Landlock ruleset built from `[sandbox]`; `full_isolation` adds new
/// user, PID, mount, IPC, UTS and network namespaces. A level the host cannot provide refuses
/// the spawn (`PermissionDenied`), never a silent downgrade. A policy that declares no level
/// gets `none`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IsolationLevel {
    /// No confinement beyond the allow-list, environment rules and rlimits (the default).
    #[default]
    None,
    /// `no_new_privs` plus Landlock: files only under `[sandbox] read`/`write`, TCP only
    /// with `network = true`.
    Sandboxed,
    /// `sandboxed` plus new user, PID, mount, IPC, UTS and network namespaces: the child is
    /// PID 1 of its own, with its own `/proc` and only `lo`.
    FullIsolation,
}

impl IsolationLevel {
    /// `"none"`, `"sandboxed"` or `"full_isolation"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            IsolationLevel::None => "none",
            IsolationLevel::Sandboxed => "sandboxed",
            IsolationLevel::FullIsolation => "full_isolation",
        }
    }
}

impl fmt::Display for IsolationLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IsolationLevel {
    type Err = String;

    /// Parses `none`, `sandboxed` or `full_isolation` (exact, lower case).
    ///
    /// # Errors
    /// A message quoting the text and listing the accepted values.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(IsolationLevel::None),
            "sandboxed" => Ok(IsolationLevel::Sandboxed),
            "full_isolation" => Ok(IsolationLevel::FullIsolation),
            _ => Err(format!(
                "unknown isolation level `{s}` (expected none, sandboxed or full_isolation)"
            )),
        }
    }
}

/// The highest thread priority a policy allows (`docs/policy.md` `[limits]
/// max_thread_priority`): the thread module's own [`ThreadPriority`](crate::thread::ThreadPriority),
/// one type for the concept (this name stays for the paths that used it).
///
/// Ordered `Low < Normal < High < Realtime`: a requested priority `p` is allowed when
/// `p <= ceiling`. `Realtime` means a real-time scheduling class (`SCHED_FIFO`/`SCHED_RR`),
/// which can starve the rest of the machine; the review warns about it
/// (`policy.priority.realtime`). In a policy file the value is written exactly, in lower
/// case (`low`, `normal`, `high`, `realtime`): the policy's parsing is stricter than
/// `ThreadPriority`'s `FromStr`.
pub type PriorityCeiling = crate::thread::ThreadPriority;

/// What happens when a collected stream passes the output cap (`[limits]
/// output_cap_action`, `docs/policy.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputCapAction {
    /// Keep the first `max_output_bytes` bytes, count and drop the rest; the child runs on
    /// (the default).
    #[default]
    Truncate,
    /// End the job as a time limit does (the time-limit signal to the whole tree, the grace
    /// period, then `KILL`); the cause is `output_capped` and `reml-process run` exits 124.
    Kill,
}

impl OutputCapAction {
    /// `"truncate"` or `"kill"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            OutputCapAction::Truncate => "truncate",
            OutputCapAction::Kill => "kill",
        }
    }
}

impl fmt::Display for OutputCapAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutputCapAction {
    type Err = String;

    /// Parses `truncate` or `kill` (exact, lower case).
    ///
    /// # Errors
    /// A message quoting the text and listing the accepted values.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "truncate" => Ok(OutputCapAction::Truncate),
            "kill" => Ok(OutputCapAction::Kill),
            _ => Err(format!(
                "unknown output cap action `{s}` (expected truncate or kill)"
            )),
        }
    }
}

/// The largest CPU id `[limits] allowed_cpus` accepts (8191: Linux's `CONFIG_NR_CPUS` is at
/// most 8192).
pub const MAX_POLICY_CPU: CpuId = 8191;

/// Parses `[limits] allowed_cpus` written as a string (`docs/policy.md`): the kernel's
/// *cpulist* format (`"0-1"`, `"0,2"`, `"0-3,8"`, as in `/sys/devices/system/cpu/possible`),
/// spaces around items allowed (`"0-3, 8"`), a trailing newline accepted so the kernel's
/// files parse as they are. The policy's rule is stricter than [`CpuSet`]'s own `FromStr`:
/// the list may not be empty and ids stop at [`MAX_POLICY_CPU`].
///
/// # Errors
/// A message quoting the text when it is empty, has an empty item, a non-number, a range
/// whose start is above its end, or an id above [`MAX_POLICY_CPU`].
pub fn parse_cpu_list(text: &str) -> Result<CpuSet, String> {
    let bad = |why: &str| {
        format!("invalid CPU list `{text}`: {why} (expected ids and ranges like \"0-3,8\")")
    };
    let t = text.trim();
    if t.is_empty() {
        return Err(bad("it is empty"));
    }
    let mut set = CpuSet::new();
    for item in t.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(bad("an item is empty"));
        }
        let (lo, hi) = match item.split_once('-') {
            Some((a, b)) => (parse_cpu_id(a.trim(), text)?, parse_cpu_id(b.trim(), text)?),
            None => {
                let id = parse_cpu_id(item, text)?;
                (id, id)
            }
        };
        if lo > hi {
            return Err(bad(&format!("range {lo}-{hi} is reversed")));
        }
        for id in lo..=hi {
            set.insert(id);
        }
    }
    Ok(set)
}

/// Builds `[limits] allowed_cpus` from ids, as written in the policy file as an array of
/// integers (`[0, 2]`).
///
/// # Errors
/// A message when `ids` is empty or an id is above [`MAX_POLICY_CPU`].
pub fn cpu_list_from_ids(ids: impl IntoIterator<Item = CpuId>) -> Result<CpuSet, String> {
    let set: CpuSet = ids.into_iter().collect();
    if set.is_empty() {
        return Err("a CPU list may not be empty".to_owned());
    }
    if let Some(max) = set.max_cpu() {
        if max > MAX_POLICY_CPU {
            return Err(format!(
                "CPU id {max} is above the largest id Linux supports ({MAX_POLICY_CPU})"
            ));
        }
    }
    Ok(set)
}

fn parse_cpu_id(s: &str, text: &str) -> Result<CpuId, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "invalid CPU list `{text}`: `{s}` is not a CPU id (expected ids and ranges like \"0-3,8\")"
        ));
    }
    match s.parse::<CpuId>() {
        Ok(n) if n <= MAX_POLICY_CPU => Ok(n),
        _ => Err(format!(
            "invalid CPU list `{text}`: CPU id {s} is above the largest id Linux supports ({MAX_POLICY_CPU})"
        )),
    }
}

/// One entry of `[commands] allow` (`docs/policy.md`): an absolute path, or a bare program
/// name looked up in `search_path`.
///
/// Relative paths (`bin/tool`, `./tool`) are refused: what they name would depend on the
/// working directory of whoever reads the policy. An entry is only the *spelling*; the file
/// it stands for is found by [`crate::policy::Policy::resolve_entry`], which canonicalises it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AllowEntry {
    /// An absolute path, e.g. `/usr/bin/git` (may go through symlinks; compared canonically).
    Path(PathBuf),
    /// A bare name without `/`, e.g. `python3`, looked up in `search_path`.
    Name(String),
}

impl AllowEntry {
    /// Parses one allow entry.
    ///
    /// # Errors
    /// A message when the text is empty, contains a NUL byte, is `.` or `..`, or is a
    /// relative path (contains `/` but does not start with it).
    pub fn parse(text: &str) -> Result<AllowEntry, String> {
        if text.is_empty() {
            return Err("an allowed program may not be empty".to_owned());
        }
        if text.contains('\0') {
            return Err(format!(
                "allowed program `{}` contains a NUL byte",
                text.escape_default()
            ));
        }
        if text.starts_with('/') {
            return Ok(AllowEntry::Path(PathBuf::from(text)));
        }
        if text.contains('/') {
            return Err(format!(
                "allowed program `{text}` is a relative path; write an absolute path or a bare name looked up in search_path"
            ));
        }
        if text == "." || text == ".." {
            return Err(format!("allowed program `{text}` is not a program name"));
        }
        Ok(AllowEntry::Name(text.to_owned()))
    }

    /// The entry as written in the policy (`/usr/bin/git`, `python3`).
    pub fn as_str(&self) -> Cow<'_, str> {
        match self {
            AllowEntry::Path(p) => p.to_string_lossy(),
            AllowEntry::Name(n) => Cow::Borrowed(n),
        }
    }

    /// The last component of the entry: the bare name, or the file name of the path.
    pub fn file_name(&self) -> Option<&str> {
        match self {
            AllowEntry::Path(p) => p.file_name().and_then(|n| n.to_str()),
            AllowEntry::Name(n) => Some(n),
        }
    }

    /// The path for [`AllowEntry::Path`], `None` for a bare name.
    pub fn path(&self) -> Option<&Path> {
        match self {
            AllowEntry::Path(p) => Some(p),
            AllowEntry::Name(_) => None,
        }
    }
}

impl fmt::Display for AllowEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

/// A redaction pattern of `[audit] redact` (`docs/policy.md`, `docs/audit-log.md`): a glob where
/// `*` matches any run of characters (including none) and every other character matches itself.
///
/// The pattern must match the **whole** text: `--password=*` matches `--password=hunter2`
/// but not `x--password=1`; `*_TOKEN` matches `GITHUB_TOKEN`. There is no escape, so a
/// literal `*` cannot be required; `?` and `[` are ordinary characters. Matching is
/// case-sensitive and works on Unicode scalar values.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RedactPattern(String);

/// The text that replaces a redacted value (`docs/policy.md`: masked as `"***"`), the
/// audit layer's [`Redactor::MASK`](crate::audit::Redactor::MASK).
pub const REDACTED: &str = crate::audit::Redactor::MASK;

impl RedactPattern {
    /// Parses a pattern.
    ///
    /// # Errors
    /// A message when the pattern is empty (it would only ever match the empty string, which
    /// is almost certainly a mistake).
    pub fn parse(text: &str) -> Result<RedactPattern, String> {
        if text.is_empty() {
            return Err("a redact pattern may not be empty".to_owned());
        }
        Ok(RedactPattern(text.to_owned()))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the pattern matches the whole of `text`.
    ///
    /// Greedy matching that backtracks to the last `*` only: time at worst proportional to
    /// pattern length × text length, so a hostile pattern cannot make it exponential.
    pub fn matches(&self, text: &str) -> bool {
        crate::audit::glob_match(&self.0, text)
    }

    /// `"***"` when the pattern matches `text`, else `text` unchanged (borrowed).
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.matches(text) {
            Cow::Borrowed(REDACTED)
        } else {
            Cow::Borrowed(text)
        }
    }
}

impl fmt::Display for RedactPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RedactPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedactPattern({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpulist_forms() {
        let c = parse_cpu_list("0-3,8").unwrap();
        assert_eq!(c.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 8]);
        assert_eq!(c.to_string(), "0-3,8");
        assert_eq!(parse_cpu_list("0,2").unwrap().to_string(), "0,2");
        assert_eq!(parse_cpu_list("0-1\n").unwrap().to_string(), "0-1");
        assert_eq!(parse_cpu_list(" 1 , 0 ").unwrap().to_string(), "0-1");
        assert_eq!(parse_cpu_list("5").unwrap().len(), 1);
        for bad in [
            "",
            "a",
            "0-",
            "-1",
            "3-1",
            "0,,1",
            "1-2-3",
            "8192",
            "0-99999999999",
            "+1",
        ] {
            let e = parse_cpu_list(bad).unwrap_err();
            assert!(e.contains("CPU"), "{bad}: {e}");
        }
        assert!(cpu_list_from_ids([]).is_err());
        assert!(cpu_list_from_ids([8192]).is_err());
        let a = cpu_list_from_ids([0, 5]).unwrap();
        let b = parse_cpu_list("0-1").unwrap();
        assert_eq!(a.difference(&b).to_vec(), [5]);
        assert!(!a.is_subset(&b));
        assert!(parse_cpu_list("1").unwrap().is_subset(&b));
    }

    #[test]
    fn allow_entries() {
        assert_eq!(
            AllowEntry::parse("/usr/bin/git").unwrap(),
            AllowEntry::Path("/usr/bin/git".into())
        );
        assert_eq!(
            AllowEntry::parse("python3").unwrap(),
            AllowEntry::Name("python3".into())
        );
        for bad in ["", "bin/git", "./git", "..", ".", "a\0b"] {
            assert!(AllowEntry::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            AllowEntry::parse("/usr/bin/python3").unwrap().file_name(),
            Some("python3")
        );
    }

    #[test]
    fn globs() {
        let p = RedactPattern::parse("--password=*").unwrap();
        assert!(p.matches("--password=hunter2"));
        assert!(p.matches("--password="));
        assert!(!p.matches("x--password=1"));
        assert!(!p.matches("--passwor"));
        assert_eq!(p.redact("--password=x"), "***");
        assert_eq!(p.redact("--user=x"), "--user=x");
        let t = RedactPattern::parse("*_TOKEN").unwrap();
        assert!(t.matches("GITHUB_TOKEN"));
        assert!(t.matches("_TOKEN"));
        assert!(!t.matches("GITHUB_TOKENS"));
        let mid = RedactPattern::parse("a*b*c").unwrap();
        assert!(mid.matches("abc"));
        assert!(mid.matches("aXXbYYc"));
        assert!(mid.matches("abbbcbc"));
        assert!(!mid.matches("acb"));
        assert!(RedactPattern::parse("*").unwrap().matches(""));
        assert!(RedactPattern::parse("é*").unwrap().matches("éa"));
        assert!(!RedactPattern::parse("?").unwrap().matches("a"));
        assert!(RedactPattern::parse("").is_err());
        // A pathological pattern stays fast (quadratic at worst, not exponential).
        let evil = RedactPattern::parse(&"*a".repeat(30)).unwrap();
        assert!(!evil.matches(&"a".repeat(29)));
    }

    #[test]
    fn enums_parse_and_order() {
        assert_eq!("beta".parse::<StageId>().unwrap(), StageId::Beta);
        assert!("Beta".parse::<StageId>().is_err());
        assert!(StageId::Experimental < StageId::Stable);
        assert_eq!(
            "full_isolation".parse::<IsolationLevel>().unwrap(),
            IsolationLevel::FullIsolation
        );
        assert!(PriorityCeiling::High < PriorityCeiling::Realtime);
        assert!("urgent".parse::<PriorityCeiling>().is_err());
    }
}
