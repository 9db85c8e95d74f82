//! `Policy::narrow` (`docs/policy.md`): order-independent and never widening, with each
//! policy's programs resolved in its own `search_path` — property-tested against the
//! decisions of the security layer itself.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::helper;
use proptest::prelude::*;
use reml_process::policy::{verify_capability_security, Policy};
use reml_process::*;

/// `a/p0..p2`: copies of rp-helper; `b/p0..p2`: symlinks to them (a bare name found there
/// is the same file); `c/p0..p2`: other copies (a bare name found there is another file).
struct Files {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

fn files() -> Files {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    for d in ["a", "b", "c"] {
        std::fs::create_dir(root.join(d)).unwrap();
    }
    for i in 0..3 {
        for d in ["a", "c"] {
            let p = root.join(d).join(format!("p{i}"));
            std::fs::copy(helper(), &p).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::os::unix::fs::symlink(
            root.join("a").join(format!("p{i}")),
            root.join("b").join(format!("p{i}")),
        )
        .unwrap();
    }
    Files { _tmp: tmp, root }
}

#[derive(Clone, Debug)]
enum Naming {
    None,
    /// In `allow`: absolute (`a/pN`), or a bare name (with the policy's search path).
    Allow {
        bare: bool,
    },
    /// A rule with these patterns (indices into PATTERNS).
    Rule {
        bare: bool,
        patterns: Vec<usize>,
    },
}

const PATTERNS: [&str; 4] = [
    r#"["exit", "*"]"#,
    r#"["echo", "**"]"#,
    r#"["exit", "1"]"#,
    r#"["sleep", "[0-9]"]"#,
];
const PROBES: [&[&str]; 6] = [
    &["exit", "1"],
    &["exit", "2"],
    &["echo"],
    &["echo", "x"],
    &["sleep", "5"],
    &[],
];
const SIGNALS: [&str; 4] = ["TERM", "KILL", "INT", "HUP"];
const ENV: [&str; 4] = ["A", "B", "C", "D"];
const EFFECTS: [&str; 4] = ["process", "io.blocking", "signal", "memory"];

#[derive(Clone, Debug)]
struct Spec {
    programs: Vec<Naming>,
    /// 0: `a`, 1: `b` (symlinks to `a`), 2: `c` (other files).
    search_dir: usize,
    signals: Option<Vec<usize>>,
    env_allow: Vec<usize>,
    env_deny: Vec<usize>,
    inherit: bool,
    max_processes: Option<u64>,
    wall: Option<u64>,
    core_dump: Option<bool>,
    kill_on_cap: bool,
    cpus: Option<Vec<u32>>,
    effects: Option<Vec<usize>>,
    audit_required: bool,
    pass_fds: bool,
    stage: usize,
    isolation: usize,
}

fn naming() -> impl Strategy<Value = Naming> {
    prop_oneof![
        Just(Naming::None),
        any::<bool>().prop_map(|bare| Naming::Allow { bare }),
        (
            any::<bool>(),
            proptest::collection::vec(0..PATTERNS.len(), 0..3)
        )
            .prop_map(|(bare, patterns)| Naming::Rule { bare, patterns }),
    ]
}

fn subset(n: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::btree_set(0..n, 0..=n).prop_map(|s| s.into_iter().collect())
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        (
            proptest::collection::vec(naming(), 3),
            0usize..3,
            proptest::option::of(subset(SIGNALS.len())),
            subset(ENV.len()),
            subset(ENV.len()),
            any::<bool>(),
        ),
        (
            proptest::option::of(0u64..5),
            proptest::option::of(1u64..100),
            proptest::option::of(any::<bool>()),
            any::<bool>(),
            proptest::option::of(proptest::collection::btree_set(0u32..4, 1..4)),
            proptest::option::of(subset(EFFECTS.len())),
        ),
        (any::<bool>(), any::<bool>(), 0usize..3, 0usize..3),
    )
        .prop_map(
            |(
                (programs, search_dir, signals, env_allow, env_deny, inherit),
                (max_processes, wall, core_dump, kill_on_cap, cpus, effects),
                (audit_required, pass_fds, stage, isolation),
            )| Spec {
                programs,
                search_dir,
                signals,
                env_allow,
                env_deny,
                inherit,
                max_processes,
                wall,
                core_dump,
                kill_on_cap,
                cpus: cpus.map(|c| c.into_iter().collect()),
                effects,
                audit_required,
                pass_fds,
                stage,
                isolation,
            },
        )
}

fn quoted<T: AsRef<str>>(items: impl IntoIterator<Item = T>) -> String {
    let v: Vec<String> = items
        .into_iter()
        .map(|s| format!("{:?}", s.as_ref()))
        .collect();
    format!("[{}]", v.join(", "))
}

fn toml(f: &Files, s: &Spec) -> String {
    let dir = f.root.join(["a", "b", "c"][s.search_dir]);
    let name = |i: usize, bare: bool| {
        if bare {
            format!("p{i}")
        } else {
            f.root.join("a").join(format!("p{i}")).display().to_string()
        }
    };
    let mut allow = Vec::new();
    let mut rules = String::new();
    for (i, n) in s.programs.iter().enumerate() {
        match n {
            Naming::None => {}
            Naming::Allow { bare } => allow.push(name(i, *bare)),
            Naming::Rule { bare, patterns } => {
                let pats: Vec<&str> = patterns.iter().map(|&p| PATTERNS[p]).collect();
                rules.push_str(&format!(
                    "[[commands.rule]]\nprogram = {:?}\nargs = [{}]\n",
                    name(i, *bare),
                    pats.join(", ")
                ));
            }
        }
    }
    let mut t = String::from("[capability]\n");
    t += &format!(
        "stage = {:?}\nisolation_level = {:?}\naudit_required = {}\n",
        ["experimental", "beta", "stable"][s.stage],
        ["none", "sandboxed", "full_isolation"][s.isolation],
        s.audit_required
    );
    if let Some(e) = &s.effects {
        t += &format!("effect_scope = {}\n", quoted(e.iter().map(|&i| EFFECTS[i])));
    }
    t += &format!(
        "[commands]\nallow = {}\nsearch_path = [{:?}]\npass_fds = {}\n",
        quoted(&allow),
        dir.display().to_string(),
        s.pass_fds
    );
    if let Some(sig) = &s.signals {
        t += &format!(
            "allowed_signals = {}\n",
            quoted(sig.iter().map(|&i| SIGNALS[i]))
        );
    }
    t += &format!(
        "[env]\ninherit = {}\nallow = {}\ndeny = {}\n",
        s.inherit,
        quoted(s.env_allow.iter().map(|&i| ENV[i])),
        quoted(s.env_deny.iter().map(|&i| ENV[i]))
    );
    t += "[limits]\n";
    if let Some(m) = s.max_processes {
        t += &format!("max_processes = {m}\n");
    }
    if let Some(w) = s.wall {
        t += &format!("max_wall_time = {w}\n");
    }
    if let Some(c) = s.core_dump {
        t += &format!("core_dump = {c}\n");
    }
    if s.kill_on_cap {
        t += "output_cap_action = \"kill\"\n";
    }
    if let Some(c) = &s.cpus {
        t += &format!("allowed_cpus = {c:?}\n");
    }
    t + &rules
}

/// Which (program, arguments) probes the policy's security layer allows.
fn decisions(f: &Files, p: &Policy) -> Vec<bool> {
    let layer = PolicyLayer::new(NativeProcessCapability::new(), Arc::new(p.clone()));
    let mut out = Vec::new();
    for dir in ["a", "c"] {
        for i in 0..3 {
            let program = f.root.join(dir).join(format!("p{i}"));
            for probe in PROBES {
                let mut c = Command::new(&program);
                c.args(probe.iter().copied());
                out.push(
                    layer
                        .check_command(&c, &Environment::empty())
                        .result
                        .is_ok(),
                );
            }
        }
    }
    out
}

fn signals_of(p: &Policy) -> Vec<bool> {
    SIGNALS
        .iter()
        .chain(&["USR1"])
        .map(|s| p.is_signal_allowed(s.parse().unwrap()))
        .collect()
}

fn env_of(p: &Policy) -> Vec<bool> {
    ENV.iter()
        .chain(&["E"])
        .map(|n| p.env_passes(std::ffi::OsStr::new(n)))
        .collect()
}

fn cpus_of(p: &Policy) -> Vec<bool> {
    (0..5)
        .map(|c| {
            p.limits
                .allowed_cpus
                .as_ref()
                .map_or(true, |l| l.contains(c))
        })
        .collect()
}

fn limits_of(p: &Policy) -> String {
    let l = &p.limits;
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
        l.max_processes,
        l.max_wall_time,
        l.core_dump,
        l.output_cap_action,
        p.capability.stage,
        p.capability.isolation_level,
        p.capability.audit_required,
        (p.commands.pass_fds, p.env.inherit, p.effect_scope())
    )
}

fn le<T: PartialOrd>(narrow: Option<T>, each: Option<T>) -> bool {
    match (narrow, each) {
        (_, None) => true,
        (Some(n), Some(e)) => n <= e,
        (None, Some(_)) => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn narrowing_is_order_independent_and_never_widens(a in spec(), b in spec()) {
        let f = files();
        let pa = Policy::from_toml_str(&toml(&f, &a)).unwrap();
        let pb = Policy::from_toml_str(&toml(&f, &b)).unwrap();
        let ab = pa.narrow(&pb);
        let ba = pb.narrow(&pa);

        // Programs: exactly what both allow, whichever order.
        let (da, db, dab, dba) = (decisions(&f, &pa), decisions(&f, &pb), decisions(&f, &ab), decisions(&f, &ba));
        prop_assert_eq!(&dab, &dba);
        let both: Vec<bool> = da.iter().zip(&db).map(|(x, y)| *x && *y).collect();
        prop_assert_eq!(&dab, &both, "\n{}\n---\n{}", toml(&f, &a), toml(&f, &b));

        // Signals, environment, CPUs: the intersections.
        for (g, name) in [(signals_of as fn(&Policy) -> Vec<bool>, "signals"), (env_of, "env"), (cpus_of, "cpus")] {
            let both: Vec<bool> = g(&pa).iter().zip(g(&pb)).map(|(x, y)| *x && y).collect();
            prop_assert_eq!(g(&ab), both.clone(), "{}", name);
            prop_assert_eq!(g(&ba), both, "{}", name);
        }
        // Limits and flags: the same whichever order, and never looser than either.
        prop_assert_eq!(limits_of(&ab), limits_of(&ba));
        for each in [&pa, &pb] {
            prop_assert!(le(ab.limits.max_processes, each.limits.max_processes));
            prop_assert!(le(ab.limits.max_wall_time, each.limits.max_wall_time));
            prop_assert!(ab.capability.stage >= each.capability.stage);
            prop_assert!(ab.capability.isolation_level >= each.capability.isolation_level);
            prop_assert!(each.effect_scope().is_superset(ab.effect_scope()));
            prop_assert!(!each.capability.audit_required || ab.capability.audit_required);
            prop_assert!(each.commands.pass_fds || !ab.commands.pass_fds);
            prop_assert!(each.env.inherit || !ab.env.inherit);
            prop_assert!(each.limits.core_dump != Some(false) || ab.limits.core_dump == Some(false));
            prop_assert!(each.limits.output_cap_action != policy::OutputCapAction::Kill
                || ab.limits.output_cap_action == policy::OutputCapAction::Kill);
        }
        // Narrowing again with either changes nothing.
        prop_assert_eq!(decisions(&f, &ab.narrow(&pa)), dab);
    }
}

#[test]
fn bare_names_resolve_in_each_policys_own_search_path() {
    let f = files();
    let p0 = |d: &str| f.root.join(d).join("p0");
    let by_name = |dir: &Path| {
        Policy::from_toml_str(&format!(
            "[commands]\nallow = [\"p0\"]\nsearch_path = [{:?}]\n",
            dir.display().to_string()
        ))
        .unwrap()
    };
    let absolute = Policy::from_toml_str(&format!(
        "[commands]\nallow = [{:?}]\n",
        p0("a").display().to_string()
    ))
    .unwrap();
    // `p0` found in b/ is a link to a/p0: the same program.
    let same = absolute.narrow(&by_name(&f.root.join("b")));
    let layer = PolicyLayer::new(NativeProcessCapability::new(), Arc::new(same.clone()));
    let check = layer.check_command(&Command::new(p0("a")), &Environment::empty());
    assert!(check.result.is_ok(), "{:?}", check.result);
    assert_eq!(
        check.rule.as_deref(),
        Some("policy 1: commands.allow[0]; policy 2: commands.allow[0]")
    );
    // `p0` found in c/ is another file: nothing in common.
    let other = absolute.narrow(&by_name(&f.root.join("c")));
    let layer = PolicyLayer::new(NativeProcessCapability::new(), Arc::new(other.clone()));
    for d in ["a", "c"] {
        let check = layer.check_command(&Command::new(p0(d)), &Environment::empty());
        let e = check.result.unwrap_err();
        assert!(e.message.contains("not allowed by policy"), "{e}");
    }
    let review = verify_capability_security(&other);
    assert_eq!(
        review.with_code("policy.narrow.nothing_allowed").count(),
        1,
        "{review:?}"
    );
    assert_eq!(
        verify_capability_security(&same)
            .with_code("policy.narrow.nothing_allowed")
            .count(),
        0
    );
}

#[test]
fn allowed_by_allow_in_one_and_by_a_rule_in_the_other_needs_the_rule() {
    let f = files();
    let p = f.root.join("a/p1").display().to_string();
    let host = Policy::from_toml_str(&format!("[commands]\nallow = [{p:?}]\n"))
        .unwrap()
        .with_label("host.toml");
    let job = Policy::from_toml_str(&format!(
        "[commands]\nallow = []\n[[commands.rule]]\nprogram = {p:?}\nargs = [[\"exit\", \"1\"]]\n"
    ))
    .unwrap()
    .with_label("job.toml");
    let layer = PolicyLayer::new(NativeProcessCapability::new(), Arc::new(host.narrow(&job)));
    let mut ok = Command::new(&p);
    ok.args(["exit", "1"]);
    let check = layer.check_command(&ok, &Environment::empty());
    assert_eq!(
        check.rule.as_deref(),
        Some("host.toml: commands.allow[0]; job.toml: commands.rule[0].args[0]")
    );
    let mut bad = Command::new(&p);
    bad.args(["exit", "2"]);
    let check = layer.check_command(&bad, &Environment::empty());
    let e = check.result.unwrap_err();
    assert!(e.message.contains("not allowed by job.toml"), "{e}");
    assert_eq!(check.rule.as_deref(), Some("job.toml: commands.rule[0]"));
}

#[test]
fn disjoint_lists_allow_nothing_and_are_reported() {
    let a = Policy::from_toml_str(
        "[commands]\nallow = []\nallowed_signals = [\"TERM\"]\n[env]\nallow = [\"A\"]\n[limits]\nallowed_cpus = \"0\"\n",
    )
    .unwrap();
    let b = Policy::from_toml_str(
        "[commands]\nallow = []\nallowed_signals = [\"HUP\"]\n[env]\nallow = [\"B\"]\n[limits]\nallowed_cpus = \"1\"\n",
    )
    .unwrap();
    let n = a.narrow(&b);
    assert!(!n.env_passes(std::ffi::OsStr::new("A")));
    assert!(!n.env_passes(std::ffi::OsStr::new("B")));
    assert!(
        !n.env_passes(std::ffi::OsStr::new("C")),
        "an empty intersection is not 'no list'"
    );
    assert!(!n.is_signal_allowed(Signal::TERM) && !n.is_signal_allowed(Signal::HUP));
    assert!(n.limits.allowed_cpus.as_ref().unwrap().is_empty());
    let r = verify_capability_security(&n);
    let entries: Vec<&str> = r
        .with_code("policy.narrow.empty")
        .map(|f| f.entry.as_str())
        .collect();
    assert_eq!(
        entries,
        [
            "commands.allowed_signals",
            "env.allow",
            "limits.allowed_cpus"
        ]
    );
}
