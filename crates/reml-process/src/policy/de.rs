//! The serde layer of the policy file: raw section structs with `deny_unknown_fields` and a
//! validating wrapper [`V`] for every typed value, so that each error is raised while the
//! offending value is being read and therefore carries that value's span.

use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::{self, Deserializer, SeqAccess, Unexpected, Visitor};
use serde::Deserialize;

use super::types::{
    cpu_list_from_ids, parse_cpu_list, AllowEntry, IsolationLevel, OutputCapAction, RedactPattern,
    StageId,
};
use crate::effect::Effect;
use crate::signal::Signal;
use crate::thread::{CpuId, CpuSet, ThreadPriority};
use crate::units::{parse_duration, parse_size, DURATION_FORMS};

/// A value of the policy file that is parsed and validated while it is read.
///
/// Each method returns `None` when the value does not accept that TOML type (serde then
/// reports "invalid type … expected {EXPECTING}"), or the parse result.
pub(super) trait PolicyValue: Sized {
    /// What the value should look like, for "invalid type" messages.
    const EXPECTING: &'static str;
    /// Whether a TOML array of integers is accepted ([`PolicyValue::from_int_list`]).
    const ACCEPTS_INT_LIST: bool = false;
    fn from_text(_s: &str) -> Option<Result<Self, String>> {
        None
    }
    fn from_int(_n: i64) -> Option<Result<Self, String>> {
        None
    }
    fn from_float(_f: f64) -> Option<Result<Self, String>> {
        None
    }
    fn from_int_list(_v: Vec<i64>) -> Option<Result<Self, String>> {
        None
    }
}

/// A validated policy value.
pub(super) struct V<T>(pub T);

impl<'de, T: PolicyValue> Deserialize<'de> for V<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PolicyVisitor(PhantomData)).map(V)
    }
}

struct PolicyVisitor<T>(PhantomData<T>);

fn finish<T, E: de::Error>(
    got: Option<Result<T, String>>,
    unexpected: Unexpected<'_>,
    exp: &dyn de::Expected,
) -> Result<T, E> {
    match got {
        Some(Ok(v)) => Ok(v),
        Some(Err(msg)) => Err(E::custom(msg)),
        None => Err(E::invalid_type(unexpected, exp)),
    }
}

impl<'de, T: PolicyValue> Visitor<'de> for PolicyVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
        finish(T::from_text(s), Unexpected::Str(s), &self)
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<T, E> {
        finish(T::from_int(n), Unexpected::Signed(n), &self)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<T, E> {
        match i64::try_from(n) {
            Ok(n) => self.visit_i64(n),
            Err(_) => Err(E::invalid_value(Unexpected::Unsigned(n), &self)),
        }
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<T, E> {
        finish(T::from_float(f), Unexpected::Float(f), &self)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<T, E> {
        Err(E::invalid_type(Unexpected::Bool(b), &self))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        // Only integer lists are ever accepted (allowed_cpus); anything else is a type error.
        if !T::ACCEPTS_INT_LIST {
            return Err(de::Error::invalid_type(Unexpected::Seq, &self));
        }
        let mut v = Vec::new();
        while let Some(n) = seq.next_element::<i64>()? {
            v.push(n);
        }
        finish(T::from_int_list(v), Unexpected::Seq, &self)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, _map: A) -> Result<T, A::Error> {
        // Tables and datetimes (which toml presents as a one-key map).
        Err(de::Error::invalid_type(Unexpected::Map, &self))
    }
}

fn parsed<T>(r: Result<T, String>) -> Option<Result<T, String>> {
    Some(r)
}

impl PolicyValue for StageId {
    const EXPECTING: &'static str = "a stage string: experimental, beta or stable";
    fn from_text(s: &str) -> Option<Result<Self, String>> {
        parsed(s.parse())
    }
}

impl PolicyValue for IsolationLevel {
    const EXPECTING: &'static str = "an isolation level string: none, sandboxed or full_isolation";
    fn from_text(s: &str) -> Option<Result<Self, String>> {
        parsed(s.parse())
    }
}

impl PolicyValue for ThreadPriority {
    const EXPECTING: &'static str = "a priority string: low, normal, high or realtime";
    /// Exact, lower case (a policy never accepts a spelling `ThreadPriority`'s `FromStr`
    /// would forgive).
    fn from_text(s: &str) -> Option<Result<Self, String>> {
        Some(
            ThreadPriority::ALL
                .into_iter()
                .find(|p| p.as_str() == s)
                .ok_or_else(|| crate::thread::ParseThreadPriorityError(s.to_owned()).to_string()),
        )
    }
}

impl PolicyValue for OutputCapAction {
    const EXPECTING: &'static str = "an output cap action string: truncate or kill";
    fn from_text(s: &str) -> Option<Result<Self, String>> {
        parsed(s.parse())
    }
}

impl PolicyValue for Effect {
    const EXPECTING: &'static str = "an effect tag string such as \"process\" or \"io.blocking\"";
    fn from_text(s: &str) -> Option<Result<Self, String>> {
        parsed(
            s.parse()
                .map_err(|e: crate::effect::UnknownEffect| e.to_string()),
        )
    }
}

impl PolicyValue for Signal {
    const EXPECTING: &'static str = "a signal name (\"TERM\", \"SIGTERM\") or number (15)";
    fn from_text(s: &str) -> Option<Result<Self, String>> {
        parsed(s.parse().map_err(|e: crate::ProcessError| e.message))
    }
    fn from_int(n: i64) -> Option<Result<Self, String>> {
        parsed(match i32::try_from(n) {
            Ok(n) => Signal::new(n).map_err(|e| e.message),
            Err(_) => Err(format!("signal {n} does not exist")),
        })
    }
}

impl PolicyValue for AllowEntry {
    const EXPECTING: &'static str = "a program: an absolute path or a bare name";
    fn from_text(s: &str) -> Option<Result<Self, String>> {
        parsed(AllowEntry::parse(s))
    }
}

impl PolicyValue for RedactPattern {
    const EXPECTING: &'static str = "a pattern string where `*` matches anything";
    fn from_text(s: &str) -> Option<Result<Self, String>> {
        parsed(RedactPattern::parse(s))
    }
}

/// An absolute directory path (`search_path`, `allowed_cwd`).
pub(super) struct AbsDir(pub PathBuf);

impl PolicyValue for AbsDir {
    const EXPECTING: &'static str = "an absolute directory path";
    fn from_text(s: &str) -> Option<Result<Self, String>> {
        parsed(if s.contains('\0') {
            Err(format!("path `{}` contains a NUL byte", s.escape_default()))
        } else if !s.starts_with('/') {
            Err(format!(
                "path `{s}` is not absolute (it must start with `/`)"
            ))
        } else {
            Ok(AbsDir(PathBuf::from(s)))
        })
    }
}

/// An environment variable name (`[env] deny`, `allow`).
pub(super) struct EnvName(pub String);

impl PolicyValue for EnvName {
    const EXPECTING: &'static str = "an environment variable name";
    fn from_text(s: &str) -> Option<Result<Self, String>> {
        parsed(if s.is_empty() {
            Err("an environment variable name may not be empty".to_owned())
        } else if s.contains('=') || s.contains('\0') {
            Err(format!(
                "`{}` is not an environment variable name (it contains `=` or NUL)",
                s.escape_default()
            ))
        } else {
            Ok(EnvName(s.to_owned()))
        })
    }
}

/// A duration: a string in the forms of [`parse_duration`], or a number of seconds.
pub(super) struct Dur(pub Duration);

const DURATION_EXPECTING: &str =
    "a duration string like \"10m\" or \"250ms\", or a number of seconds";

/// A number of seconds as a TOML float: negative and NaN are errors; too large (`inf`
/// included) saturates to `Duration::MAX`; a positive value below 1 ns is 1 ns, never zero
/// (`docs/command.md` "Input and output at the edges").
fn seconds(f: f64, shown: &str) -> Result<Dur, String> {
    if f.is_nan() || f < 0.0 {
        return Err(format!(
            "invalid duration {shown}: expected {DURATION_FORMS}"
        ));
    }
    let d = Duration::try_from_secs_f64(f).unwrap_or(Duration::MAX);
    Ok(Dur(if d.is_zero() && f > 0.0 {
        Duration::from_nanos(1)
    } else {
        d
    }))
}

impl PolicyValue for Dur {
    const EXPECTING: &'static str = DURATION_EXPECTING;
    fn from_text(s: &str) -> Option<Result<Self, String>> {
        parsed(parse_duration(s).map(Dur))
    }
    fn from_int(n: i64) -> Option<Result<Self, String>> {
        parsed(if n < 0 {
            Err(format!(
                "invalid duration {n}: a duration may not be negative"
            ))
        } else {
            Ok(Dur(Duration::from_secs(n as u64)))
        })
    }
    fn from_float(f: f64) -> Option<Result<Self, String>> {
        parsed(seconds(f, &f.to_string()))
    }
}

/// A byte size: a string in the forms of [`parse_size`], or a number of bytes.
pub(super) struct Size(pub u64);

impl PolicyValue for Size {
    const EXPECTING: &'static str = "a size string like \"16MiB\", or a number of bytes";
    fn from_text(s: &str) -> Option<Result<Self, String>> {
        parsed(parse_size(s).map(Size))
    }
    fn from_int(n: i64) -> Option<Result<Self, String>> {
        parsed(
            u64::try_from(n)
                .map(Size)
                .map_err(|_| format!("invalid size {n}: a size may not be negative")),
        )
    }
}

/// A count (`max_processes`, `max_threads`, `open_files`): a non-negative integer.
pub(super) struct Count(pub u64);

impl PolicyValue for Count {
    const EXPECTING: &'static str = "a non-negative integer";
    fn from_int(n: i64) -> Option<Result<Self, String>> {
        parsed(
            u64::try_from(n)
                .map(Count)
                .map_err(|_| format!("invalid count {n}: it may not be negative")),
        )
    }
}

impl PolicyValue for CpuSet {
    const EXPECTING: &'static str = "a CPU list string like \"0-3,8\", or an array of CPU ids";
    const ACCEPTS_INT_LIST: bool = true;
    fn from_text(s: &str) -> Option<Result<Self, String>> {
        parsed(parse_cpu_list(s))
    }
    fn from_int_list(v: Vec<i64>) -> Option<Result<Self, String>> {
        if v.is_empty() {
            return parsed(Err("allowed_cpus may not be empty".to_owned()));
        }
        let mut ids = Vec::with_capacity(v.len());
        for n in v {
            match CpuId::try_from(n) {
                Ok(id) => ids.push(id),
                Err(_) => return parsed(Err(format!("{n} is not a CPU id"))),
            }
        }
        parsed(cpu_list_from_ids(ids))
    }
}

/// A list of validated values; refuses an empty list when `NON_EMPTY`.
pub(super) struct List<T, const NON_EMPTY: bool>(pub Vec<T>);

impl<'de, T: PolicyValue, const NON_EMPTY: bool> Deserialize<'de> for List<T, NON_EMPTY> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor<T, const N: bool>(PhantomData<T>);
        impl<'de, T: PolicyValue, const N: bool> Visitor<'de> for ListVisitor<T, N> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let what = T::EXPECTING;
                let what = what
                    .strip_prefix("an ")
                    .or_else(|| what.strip_prefix("a "))
                    .unwrap_or(what);
                write!(f, "an array, each {what}")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(V(x)) = seq.next_element::<V<T>>()? {
                    out.push(x);
                }
                if N && out.is_empty() {
                    return Err(de::Error::custom(
                        "may not be empty here (omit the key to put no restriction)",
                    ));
                }
                Ok(out)
            }
        }
        d.deserialize_seq(ListVisitor::<T, NON_EMPTY>(PhantomData))
            .map(List)
    }
}

/// `[capability]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCapability {
    pub stage: Option<V<StageId>>,
    pub effect_scope: Option<List<Effect, false>>,
    pub audit_required: Option<bool>,
    pub isolation_level: Option<V<IsolationLevel>>,
}

/// `[commands]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCommands {
    pub allow: List<AllowEntry, false>,
    pub search_path: Option<List<AbsDir, false>>,
    pub allowed_cwd: Option<List<AbsDir, true>>,
    pub allowed_signals: Option<List<Signal, false>>,
    pub pass_fds: Option<bool>,
    /// `[[commands.rule]]` (read by `super::rules_de`).
    pub rule: Option<Vec<super::rules_de::RawRule>>,
}

/// `[env]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEnv {
    pub inherit: Option<bool>,
    pub deny: Option<List<EnvName, false>>,
    pub allow: Option<List<EnvName, false>>,
}

/// `[limits]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub max_processes: Option<V<Count>>,
    pub max_threads: Option<V<Count>>,
    pub max_wall_time: Option<V<Dur>>,
    pub max_output_bytes: Option<V<Size>>,
    pub cpu_time: Option<V<Dur>>,
    pub address_space: Option<V<Size>>,
    pub open_files: Option<V<Count>>,
    pub core_dump: Option<bool>,
    pub allowed_cpus: Option<V<CpuSet>>,
    pub max_thread_priority: Option<V<ThreadPriority>>,
    pub output_cap_action: Option<V<OutputCapAction>>,
}

/// `[audit]`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    pub redact: Option<List<RedactPattern, false>>,
}

pub(super) use super::rules_de::rules;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    #[serde(default)]
    pub capability: RawCapability,
    pub commands: RawCommands,
    #[serde(default)]
    pub env: RawEnv,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub audit: RawAudit,
    /// `[sandbox]` (read by `super::sandbox`).
    #[serde(default)]
    pub sandbox: super::sandbox::RawSandbox,
}
