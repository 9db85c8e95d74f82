//! Argument rules and content pins (`docs/policy.md`): parsed strictly, enforced by the
//! security layer at every spawn, and decided by the same code `check` uses.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use common::helper;
use proptest::prelude::*;
use reml_process::policy::{ArgPattern, Policy, PolicyErrorKind};
use reml_process::*;
use sha2::Digest;

struct Fixture {
    _tmp: tempfile::TempDir,
    tool: PathBuf,
    other: PathBuf,
}

/// `tool` and `other`: two copies of rp-helper (different files).
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let tool = root.join("tool");
    let other = root.join("other");
    for p in [&tool, &other] {
        std::fs::copy(helper(), p).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    Fixture {
        _tmp: tmp,
        tool,
        other,
    }
}

fn layer(toml: &str) -> PolicyLayer<NativeProcessCapability> {
    let p = Policy::from_toml_str(toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    PolicyLayer::new(NativeProcessCapability::new(), Arc::new(p))
}

fn cmd(program: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args.iter().copied()).stdout(StdioSpec::Null);
    c
}

fn runs(cap: &dyn ProcessCapability, c: &Command) -> Result<i32, ProcessError> {
    let h = cap.spawn_process(c, &Environment::default())?;
    let s = cap.wait_process(h, None)?;
    cap.release_process(h)?;
    Ok(s.code())
}

fn sha256_hex(path: &std::path::Path) -> String {
    let d = sha2::Sha256::digest(std::fs::read(path).unwrap());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_documented_rule_parses() {
    let p = Policy::from_toml_str(
        r#"
[commands]
allow = []
[[commands.rule]]
program = "git"
args = [["status"], ["log", "**"], ["diff", "--stat", "*"]]
sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
[[commands.rule]]
program = "/bin/echo"
"#,
    )
    .unwrap();
    assert_eq!(p.commands.rules.len(), 2);
    let r = &p.commands.rules[0];
    assert_eq!(r.program.to_string(), "git");
    let pats = r.args.as_ref().unwrap();
    assert_eq!(pats.len(), 3);
    assert_eq!(pats[1].tokens(), ["log", "**"]);
    assert!(r.sha256.as_ref().unwrap().digest().is_some());
    assert_eq!(p.commands.rules[1].args, None, "absent args: any arguments");
}

#[test]
fn rules_are_parsed_strictly_with_key_line_and_column() {
    let cases: &[(&str, PolicyErrorKind, &str, (usize, usize))] = &[
        (
            "[commands]\nallow = []\n[[commands.rule]]\nprogram = \"/bin/echo\"\nargz = []\n",
            PolicyErrorKind::UnknownKey,
            "commands.rule[0].argz",
            (5, 1),
        ),
        (
            "[commands]\nallow = []\n[[commands.rule]]\nprogram = \"/bin/echo\"\nargs = [[\"ok\", \"[abc\"]]\n",
            PolicyErrorKind::InvalidValue,
            "commands.rule[0].args[0][1]",
            (5, 16),
        ),
        (
            "[commands]\nallow = []\n[[commands.rule]]\nprogram = \"/bin/echo\"\nargs = [[\"--x=**\"]]\n",
            PolicyErrorKind::InvalidValue,
            "commands.rule[0].args[0][0]",
            (5, 10),
        ),
        (
            "[commands]\nallow = []\n[[commands.rule]]\nprogram = \"/bin/echo\"\nargs = [\"status\"]\n",
            PolicyErrorKind::InvalidType,
            "commands.rule[0].args[0]",
            (5, 9),
        ),
        (
            "[commands]\nallow = []\n[[commands.rule]]\nprogram = \"/bin/echo\"\nsha256 = 12\n",
            PolicyErrorKind::InvalidType,
            "commands.rule[0].sha256",
            (5, 10),
        ),
        (
            "[commands]\nallow = []\n[[commands.rule]]\nprogram = \"bin/echo\"\n",
            PolicyErrorKind::InvalidValue,
            "commands.rule[0].program",
            (4, 11),
        ),
    ];
    for (text, kind, key, (line, col)) in cases {
        let e = Policy::from_toml_str(text).expect_err(text);
        assert_eq!(e.kind, *kind, "{text}: {e}");
        assert_eq!(e.key.as_deref(), Some(*key), "{text}: {e}");
        assert_eq!(
            (e.line(), e.column()),
            (Some(*line), Some(*col)),
            "{text}: {e}"
        );
        assert!(e.message.contains(key), "{e}");
    }
    let e = Policy::from_toml_str("[commands]\nallow = []\n[[commands.rule]]\nargs = []\n")
        .unwrap_err();
    assert_eq!(e.kind, PolicyErrorKind::MissingKey, "{e}");
    assert!(e.message.contains("program"), "{e}");
}

#[test]
fn a_program_named_only_by_rules_runs_only_with_matching_arguments() {
    let f = fixture();
    let cap = layer(&format!(
        "[commands]\nallow = [{other:?}]\n\
         [[commands.rule]]\nprogram = {tool:?}\nargs = [[\"exit\", \"[0-3]\"], [\"echo\", \"**\"]]\n",
        tool = f.tool.display().to_string(),
        other = f.other.display().to_string(),
    ));
    assert_eq!(runs(&cap, &cmd(&f.tool, &["exit", "3"])).unwrap(), 3);
    assert_eq!(runs(&cap, &cmd(&f.tool, &["echo"])).unwrap(), 0);
    assert_eq!(runs(&cap, &cmd(&f.tool, &["echo", "a", "b"])).unwrap(), 0);
    for bad in [
        &["exit", "4"][..],
        &["exit"],
        &["exit", "1", "2"],
        &["sleep", "1"],
        &[],
    ] {
        let e = runs(&cap, &cmd(&f.tool, bad)).expect_err("must be denied");
        assert_eq!(e.kind, ProcessErrorKind::PermissionDenied, "{e}");
        assert!(e.is_policy_denial());
        assert!(
            e.message.contains("commands.rule[0]"),
            "names the rule: {e}"
        );
        assert!(e.message.contains("match none of its patterns"), "{e}");
    }
    // A program in `allow` runs with any arguments.
    assert_eq!(runs(&cap, &cmd(&f.other, &["exit", "9"])).unwrap(), 9);
}

#[test]
fn several_rules_for_one_program_and_the_rule_that_allowed_it() {
    let f = fixture();
    let t = f.tool.display().to_string();
    let cap = layer(&format!(
        "[commands]\nallow = []\n\
         [[commands.rule]]\nprogram = {t:?}\nargs = [[\"exit\", \"1\"]]\n\
         [[commands.rule]]\nprogram = {t:?}\nargs = [[\"echo\", \"x\"], [\"exit\", \"2\"]]\n"
    ));
    let check = cap.check_command(&cmd(&f.tool, &["exit", "2"]), &Environment::default());
    assert!(check.result.is_ok(), "{:?}", check.result);
    assert_eq!(check.rule.as_deref(), Some("commands.rule[1].args[1]"));
    assert_eq!(runs(&cap, &cmd(&f.tool, &["exit", "2"])).unwrap(), 2);
    let check = cap.check_command(&cmd(&f.tool, &["exit", "7"]), &Environment::default());
    let e = check.result.unwrap_err();
    assert_eq!(
        check.rule.as_deref(),
        Some("commands.rule[0], commands.rule[1]")
    );
    assert!(
        e.message.contains("commands.rule[0], commands.rule[1]"),
        "{e}"
    );
    // Not named at all.
    let check = cap.check_command(&cmd(&f.other, &[]), &Environment::default());
    assert!(check
        .result
        .unwrap_err()
        .message
        .contains("not an allowed program"));
    assert_eq!(check.rule, None);
}

#[test]
fn content_pins_hold_at_every_spawn_and_name_both_digests() {
    let f = fixture();
    let good = sha256_hex(&f.tool);
    let t = f.tool.display().to_string();
    let cap = layer(&format!(
        "[commands]\nallow = []\n[[commands.rule]]\nprogram = {t:?}\nsha256 = {:?}\n",
        good.to_uppercase()
    ));
    assert_eq!(runs(&cap, &cmd(&f.tool, &["exit", "5"])).unwrap(), 5);
    assert_eq!(
        runs(&cap, &cmd(&f.tool, &["exit", "6"])).unwrap(),
        6,
        "again"
    );
    // Overwritten in place: same path, same inode (the allow-list identity still matches),
    // different content.
    let id_before = std::fs::metadata(&f.tool).unwrap();
    let mut bytes = std::fs::read(&f.tool).unwrap();
    bytes.extend_from_slice(b"appended");
    std::fs::write(&f.tool, &bytes).unwrap();
    let id_after = std::fs::metadata(&f.tool).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(id_before.ino(), id_after.ino(), "rewritten in place");
    let found = sha256_hex(&f.tool);
    let e = runs(&cap, &cmd(&f.tool, &["exit", "5"])).expect_err("changed content");
    assert_eq!(e.kind, ProcessErrorKind::PermissionDenied, "{e}");
    assert!(e.message.contains("commands.rule[0].sha256"), "{e}");
    assert!(
        e.message.contains(&format!("expected sha256 {good}")),
        "{e}"
    );
    assert!(e.message.contains(&format!("found {found}")), "{e}");
}

#[test]
fn a_wrong_or_malformed_pin_allows_nothing() {
    let f = fixture();
    let t = f.tool.display().to_string();
    let wrong = "0".repeat(64);
    let cap = layer(&format!(
        "[commands]\nallow = []\n[[commands.rule]]\nprogram = {t:?}\nsha256 = {wrong:?}\n"
    ));
    let e = runs(&cap, &cmd(&f.tool, &["exit", "0"])).unwrap_err();
    assert!(
        e.message.contains(&format!("expected sha256 {wrong}")),
        "{e}"
    );
    let cap = layer(&format!(
        "[commands]\nallow = []\n[[commands.rule]]\nprogram = {t:?}\nsha256 = \"abc\"\n"
    ));
    let e = runs(&cap, &cmd(&f.tool, &["exit", "0"])).unwrap_err();
    assert!(e.message.contains("is not a SHA-256 digest"), "{e}");
    // A pin on a rule whose arguments do not match is not what is reported: the arguments
    // are (the content is read only for a rule that accepts them).
    let cap = layer(&format!(
        "[commands]\nallow = []\n[[commands.rule]]\nprogram = {t:?}\nargs = [[\"exit\", \"0\"]]\nsha256 = {wrong:?}\n"
    ));
    let e = runs(&cap, &cmd(&f.tool, &["exit", "1"])).unwrap_err();
    assert!(e.message.contains("match none of its patterns"), "{e}");
}

#[test]
fn a_replaced_rule_program_is_refused() {
    let f = fixture();
    let t = f.tool.display().to_string();
    let cap = layer(&format!(
        "[commands]\nallow = []\n[[commands.rule]]\nprogram = {t:?}\n"
    ));
    let tmp = f.tool.with_extension("new");
    std::fs::copy(&f.other, &tmp).unwrap();
    std::fs::rename(&tmp, &f.tool).unwrap();
    let e = runs(&cap, &cmd(&f.tool, &["exit", "0"])).unwrap_err();
    assert!(e.message.contains("it was replaced"), "{e}");
    assert!(e.message.contains("commands.rule[0]"), "{e}");
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_owned()),
        Just("**".to_owned()),
        "(exit|echo|[0-9])",
        "[0-9?*]{1,2}".prop_filter("no ** inside", |t| t == "**" || !t.contains("**")),
    ]
}

fn arg() -> impl Strategy<Value = String> {
    "(exit|echo|[0-9]{1,2}|x)"
}

/// The reference: a pattern as a plain recursive matcher on tokens, independently of the
/// library's.
fn ref_glob(p: &[char], s: &[char]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some(('*', rest)) => (0..=s.len()).any(|k| ref_glob(rest, &s[k..])),
        Some(('?', rest)) => !s.is_empty() && ref_glob(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && ref_glob(rest, &s[1..]),
    }
}

fn ref_pattern(tokens: &[String], args: &[String]) -> bool {
    match tokens.split_first() {
        None => args.is_empty(),
        Some((t, rest)) if t == "**" => rest.is_empty(),
        Some((t, rest)) => args.split_first().is_some_and(|(a, more)| {
            let p: Vec<char> = t.chars().collect();
            let s: Vec<char> = a.chars().collect();
            ref_glob(&p, &s) && ref_pattern(rest, more)
        }),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The layer's decision accepts exactly the argument lists one of the rule's patterns
    /// matches (no spawn: `check_command` runs the spawn's checks).
    #[test]
    fn a_rule_set_accepts_exactly_what_its_patterns_say(
        patterns in proptest::collection::vec(proptest::collection::vec(token(), 0..4), 1..4),
        args in proptest::collection::vec(proptest::collection::vec(arg(), 0..4), 1..6),
    ) {
        let f = fixture();
        let toml_patterns: Vec<String> = patterns
            .iter()
            .map(|p| format!("[{}]", p.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(", ")))
            .collect();
        let cap = layer(&format!(
            "[commands]\nallow = []\n[[commands.rule]]\nprogram = {:?}\nargs = [{}]\n",
            f.tool.display().to_string(),
            toml_patterns.join(", ")
        ));
        for a in &args {
            let expected = patterns.iter().any(|p| ref_pattern(p, a));
            let lib = patterns.iter().any(|p| ArgPattern::parse(p).unwrap().matches(a));
            prop_assert_eq!(lib, expected, "matcher: {:?} on {:?}", patterns, a);
            let c = cmd(&f.tool, &a.iter().map(String::as_str).collect::<Vec<_>>());
            let check = cap.check_command(&c, &Environment::default());
            prop_assert_eq!(check.result.is_ok(), expected, "layer: {:?} on {:?}: {:?}", patterns, a, check.result);
            if expected {
                let rule = check.rule.unwrap();
                let j: usize = rule
                    .strip_prefix("commands.rule[0].args[")
                    .and_then(|r| r.strip_suffix(']'))
                    .and_then(|n| n.parse().ok())
                    .unwrap();
                prop_assert!(ref_pattern(&patterns[j], a), "the named pattern matches");
            }
        }
    }
}
