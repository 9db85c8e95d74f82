//! Property tests of every parser of outside text: no input makes one panic, and where a
//! printed form exists, printing then parsing gives the same value back. Signals, CPU sets
//! and lists, stdio specs, redaction patterns, the policy's small value types, and the
//! policy file itself — on arbitrary text, and on arbitrary values of each of its keys.
//! (Durations and sizes: the unit tests of `reml_process::units`.)

use std::time::Duration;

use proptest::prelude::*;
use reml_process::audit::{glob_match, Redactor};
use reml_process::policy::{
    cpu_list_from_ids, parse_cpu_list, AllowEntry, IsolationLevel, PriorityCeiling, RedactPattern,
    StageId, MAX_POLICY_CPU,
};
use reml_process::thread::CpuSet;
use reml_process::units::{format_duration, format_size};
use reml_process::{verify_capability_security, Policy, Signal};

/// A whole-text `*` glob, the slow obvious way, to check the fast matchers against.
fn reference_glob(p: &[u8], t: &[u8]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some((b'*', rest)) => (0..=t.len()).any(|i| reference_glob(rest, &t[i..])),
        Some((c, rest)) => t.first() == Some(c) && reference_glob(rest, &t[1..]),
    }
}

/// Text made mostly of glob-relevant bytes, so matches and near-misses are common.
fn globby() -> impl Strategy<Value = String> {
    "[ab*=_-]{0,12}"
}

/// Any `i32`, often near its ends, where offsets overflow.
fn edgy_i32() -> impl Strategy<Value = i32> {
    prop_oneof![
        any::<i32>(),
        (i32::MAX - 100)..=i32::MAX,
        i32::MIN..(i32::MIN + 100),
        -100i32..100,
    ]
}

/// Every key of the policy format (`docs/policy.md`), as (section, key).
const KEYS: &[(&str, &str)] = &[
    ("capability", "stage"),
    ("capability", "effect_scope"),
    ("capability", "audit_required"),
    ("capability", "isolation_level"),
    ("commands", "allow"),
    ("commands", "search_path"),
    ("commands", "allowed_cwd"),
    ("commands", "allowed_signals"),
    ("commands", "pass_fds"),
    ("env", "inherit"),
    ("env", "deny"),
    ("env", "allow"),
    ("limits", "max_processes"),
    ("limits", "max_threads"),
    ("limits", "max_wall_time"),
    ("limits", "max_output_bytes"),
    ("limits", "cpu_time"),
    ("limits", "address_space"),
    ("limits", "open_files"),
    ("limits", "core_dump"),
    ("limits", "allowed_cpus"),
    ("limits", "max_thread_priority"),
    ("limits", "output_cap_action"),
    ("audit", "redact"),
    ("limits", "no_such_key"),
    ("no_such_section", "x"),
];

/// An arbitrary TOML value: every scalar type, arrays of numbers and strings, a table.
fn toml_value() -> impl Strategy<Value = toml::Value> {
    let text = prop_oneof![
        "\\PC{0,24}",
        "[0-9]{1,30}(|\\.[0-9]{0,30})(|ns|us|ms|s|m|h|d|KiB|MiB|GiB|TiB|KB|x)",
        "[0-9]{1,6}(|-[0-9]{1,6})(|,[0-9]{1,6})",
        "(|SIG|sig)(TERM|KILL|RTMIN|RTMAX)(|\\+|-)[0-9]{0,12}",
        Just("/usr/bin/env".to_owned()),
    ];
    prop_oneof![
        text.clone().prop_map(toml::Value::String),
        any::<i64>().prop_map(toml::Value::Integer),
        any::<f64>().prop_map(toml::Value::Float),
        any::<bool>().prop_map(toml::Value::Boolean),
        prop::collection::vec(any::<i64>(), 0..4)
            .prop_map(|v| toml::Value::Array(v.into_iter().map(toml::Value::Integer).collect())),
        prop::collection::vec(text, 0..4)
            .prop_map(|v| toml::Value::Array(v.into_iter().map(toml::Value::String).collect())),
        Just(toml::Value::Table(toml::map::Map::new())),
    ]
}

/// A policy text with `[commands] allow = []` and `key = value`.
fn policy_with(section: &str, key: &str, value: toml::Value) -> String {
    let mut doc = toml::map::Map::new();
    let mut commands = toml::map::Map::new();
    commands.insert("allow".into(), toml::Value::Array(Vec::new()));
    doc.insert("commands".into(), toml::Value::Table(commands));
    let table = doc
        .entry(section)
        .or_insert_with(|| toml::Value::Table(toml::map::Map::new()));
    if let toml::Value::Table(t) = table {
        t.insert(key.into(), value);
    }
    toml::to_string(&toml::Value::Table(doc)).unwrap()
}

/// Parsing succeeded or failed with one line; a parsed policy reviews and yields its
/// rlimits without a panic either.
fn parse_policy_fully(text: &str) -> Result<(), TestCaseError> {
    match Policy::from_toml_str(text) {
        Ok(p) => {
            let _ = verify_capability_security(&p);
            let _ = p.child_rlimits();
        }
        Err(e) => {
            let shown = e.to_string();
            prop_assert!(!shown.contains('\n'), "one line: {:?}", shown);
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn signal_parse_never_panics(s in "\\PC{0,20}") {
        let _ = s.parse::<Signal>();
    }

    #[test]
    fn signal_parse_never_panics_on_signal_like_text(
        s in "(|SIG|sig)(RTMIN|RTMAX|TERM|rtmin)(|\\+|-)[0-9]{0,12}|[0-9]{0,12}"
    ) {
        let _ = s.parse::<Signal>();
    }

    #[test]
    fn real_time_signal_offsets_never_overflow(
        name in "(|SIG)(RTMIN|RTMAX)", sign in "(|\\+|-|\\+-|--)", off in edgy_i32()
    ) {
        let _ = format!("{name}{sign}{off}").parse::<Signal>();
        let _ = format!("{name}{sign}{}", off.unsigned_abs()).parse::<Signal>();
    }

    #[test]
    fn signals_round_trip(n in 1i32..=reml_process::signal::MAX_SIGNAL) {
        let sig = Signal::new(n).unwrap();
        prop_assert_eq!(sig.to_string().parse::<Signal>().unwrap(), sig);
        prop_assert_eq!(n.to_string().parse::<Signal>().unwrap(), sig);
        if let Some(name) = sig.name() {
            prop_assert_eq!(name.to_ascii_lowercase().parse::<Signal>().unwrap(), sig);
        }
    }

    #[test]
    fn cpu_set_parse_never_panics(s in "\\PC{0,20}|[0-9, -]{0,20}") {
        let _ = s.parse::<CpuSet>();
    }

    #[test]
    fn cpu_sets_round_trip(ids in prop::collection::btree_set(0usize..5000, 0..40)) {
        let set: CpuSet = ids.iter().copied().collect();
        prop_assert_eq!(set.to_string().parse::<CpuSet>().unwrap(), set);
    }

    #[test]
    fn cpu_list_parse_never_panics(s in "\\PC{0,20}|[0-9, -]{0,20}") {
        if let Ok(set) = parse_cpu_list(&s) {
            prop_assert!(!set.is_empty(), "{s:?} parsed to an empty list");
            prop_assert!(set.max_cpu().unwrap() <= MAX_POLICY_CPU);
        }
    }

    #[test]
    fn cpu_lists_round_trip(ids in prop::collection::btree_set(0usize..=MAX_POLICY_CPU, 1..40)) {
        let list = cpu_list_from_ids(ids.iter().copied()).unwrap();
        prop_assert_eq!(parse_cpu_list(&list.to_string()).unwrap(), list.clone());
        prop_assert_eq!(list.iter().collect::<Vec<_>>(), ids.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn glob_matching_agrees_with_the_reference(p in globby(), t in globby()) {
        let want = reference_glob(p.as_bytes(), t.as_bytes());
        prop_assert_eq!(glob_match(&p, &t), want, "{:?} on {:?}", p, t);
        if let Ok(pattern) = RedactPattern::parse(&p) {
            prop_assert_eq!(pattern.matches(&t), want, "RedactPattern {:?} on {:?}", p, t);
        }
    }

    #[test]
    fn glob_matching_never_panics(p in "\\PC{0,16}", t in "\\PC{0,16}") {
        let _ = glob_match(&p, &t);
        prop_assert!(glob_match(&p, &p), "a pattern matches its own text");
        let r = Redactor::new([p.clone()]);
        let _ = r.matches_arg(&t);
        if let Ok(pattern) = RedactPattern::parse(&p) {
            prop_assert_eq!(pattern.as_str(), p.as_str());
            let _ = pattern.redact(&t);
        }
    }

    #[test]
    fn the_small_policy_types_parse_without_panic_and_round_trip(s in "\\PC{0,16}") {
        if let Ok(v) = s.parse::<StageId>() {
            prop_assert_eq!(v.to_string().parse::<StageId>(), Ok(v));
        }
        if let Ok(v) = s.parse::<IsolationLevel>() {
            prop_assert_eq!(v.to_string().parse::<IsolationLevel>(), Ok(v));
        }
        if let Ok(v) = s.parse::<PriorityCeiling>() {
            prop_assert_eq!(v.to_string().parse::<PriorityCeiling>(), Ok(v));
        }
        if let Ok(v) = AllowEntry::parse(&s) {
            prop_assert_eq!(AllowEntry::parse(&v.to_string()), Ok(v));
        }
    }

    #[test]
    fn policy_parse_never_panics_on_any_text(s in "\\PC{0,200}") {
        parse_policy_fully(&s)?;
    }

    #[test]
    fn policy_parse_never_panics_on_any_value_of_any_key(
        (section, key) in prop::sample::select(KEYS),
        value in toml_value(),
    ) {
        parse_policy_fully(&policy_with(section, key, value))?;
    }

    #[test]
    fn policy_durations_and_sizes_round_trip(
        secs in any::<u64>(), nanos in 0u32..1_000_000_000, bytes in any::<u64>(),
    ) {
        let d = Duration::new(secs, nanos);
        let text = policy_with("limits", "max_wall_time", toml::Value::String(format_duration(d)));
        prop_assert_eq!(Policy::from_toml_str(&text).unwrap().limits.max_wall_time, Some(d));
        let text = policy_with("limits", "max_output_bytes", toml::Value::String(format_size(bytes)));
        prop_assert_eq!(Policy::from_toml_str(&text).unwrap().limits.max_output_bytes, Some(bytes));
        let whole = i64::try_from(secs).unwrap_or(i64::MAX);
        let text = policy_with("limits", "cpu_time", toml::Value::Integer(whole));
        prop_assert_eq!(
            Policy::from_toml_str(&text).unwrap().limits.cpu_time,
            Some(Duration::from_secs(whole as u64))
        );
    }
}
