//! Argument rules, content pins, narrowing and `check` end to end through the command
//! (`docs/command.md` `check`, repeatable `--policy`, `verify A B`; `docs/policy.md`, narrowing
//! and argument rules).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{helper, reml};
use serde_json::Value;
use sha2::Digest;

/// A directory under `target/tmp` holding `tool` and `other` (copies of rp-helper).
struct Dir {
    tmp: tempfile::TempDir,
    tool: String,
    other: String,
}

fn dir() -> Dir {
    let tmp = tempfile::Builder::new()
        .prefix("rules-cli-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let mut names = Vec::new();
    for n in ["tool", "other"] {
        let p = tmp.path().join(n);
        fs::copy(helper(), &p).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        names.push(p.to_str().unwrap().to_owned());
    }
    Dir {
        tool: names[0].clone(),
        other: names[1].clone(),
        tmp,
    }
}

/// A policy that passes the review: the effects it needs, the loader variables denied, a
/// wall-time limit; `commands` is the rest of `[commands]` and anything after it.
fn policy(d: &Dir, name: &str, commands: &str) -> PathBuf {
    policy_with(d, name, "", commands)
}

/// [`policy`] with more `[limits]` lines.
fn policy_with(d: &Dir, name: &str, limits: &str, commands: &str) -> PathBuf {
    let text = format!(
        "[capability]\neffect_scope = [\"process\", \"io.blocking\", \"signal\"]\n\
         [env]\ndeny = [\"LD_PRELOAD\", \"LD_AUDIT\", \"LD_LIBRARY_PATH\"]\n\
         [limits]\nmax_wall_time = \"10m\"\n{limits}\
         [commands]\n{commands}"
    );
    let p = d.tmp.path().join(name);
    fs::write(&p, text).unwrap();
    p
}

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn policies_args(ps: &[&Path]) -> Vec<String> {
    ps.iter()
        .flat_map(|p| ["--policy".to_owned(), p.to_str().unwrap().to_owned()])
        .collect()
}

fn check_json(ps: &[&Path], extra: &[&str], argv: &[&str]) -> (i32, Value) {
    let o = reml()
        .arg("check")
        .arg("--json")
        .args(policies_args(ps))
        .args(extra)
        .arg("--")
        .args(argv)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {:?} {}", o.stdout, stderr(&o)));
    (code(&o), v)
}

fn run_status(ps: &[&Path], extra: &[&str], argv: &[&str]) -> i32 {
    let o = reml()
        .arg("run")
        .args(policies_args(ps))
        .args(extra)
        .arg("--")
        .args(argv)
        .output()
        .unwrap();
    code(&o)
}

/// Policies, options, command, expected exit status, expected decision.
type Case<'a> = (Vec<&'a Path>, Vec<&'a str>, Vec<&'a str>, i32, &'a str);

#[test]
fn run_and_check_take_the_same_decision() {
    let d = dir();
    let good = {
        let h = sha2::Sha256::digest(fs::read(&d.tool).unwrap());
        h.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let rules = policy(
        &d,
        "rules.toml",
        &format!(
            "allow = [{other:?}]\nallowed_cwd = [{root:?}, {here:?}]\n\
             [[commands.rule]]\nprogram = {tool:?}\nargs = [[\"exit\", \"0\"], [\"echo\", \"**\"]]\nsha256 = {good:?}\n",
            other = d.other,
            tool = d.tool,
            root = d.tmp.path().to_str().unwrap(),
            here = env!("CARGO_MANIFEST_DIR"),
        ),
    );
    let narrower = policy(
        &d,
        "narrower.toml",
        &format!(
            "allow = []\n[[commands.rule]]\nprogram = {tool:?}\nargs = [[\"exit\", \"0\"]]\n\
             [[commands.rule]]\nprogram = {other:?}\nargs = [[\"exit\", \"*\"]]\n",
            tool = d.tool,
            other = d.other
        ),
    );
    let root = d.tmp.path().to_str().unwrap().to_owned();
    let (t, o) = (d.tool.as_str(), d.other.as_str());
    let cases: Vec<Case> = vec![
        (vec![&rules], vec![], vec![t, "exit", "0"], 0, "allowed"),
        (
            vec![&rules],
            vec![],
            vec![t, "echo", "a", "b"],
            0,
            "allowed",
        ),
        (vec![&rules], vec![], vec![t, "exit", "3"], 126, "denied"),
        (vec![&rules], vec![], vec![o, "exit", "0"], 0, "allowed"),
        (
            vec![&rules],
            vec![],
            vec!["/nonexistent/tool"],
            127,
            "not_found",
        ),
        (
            vec![&rules],
            vec!["--env", "LD_PRELOAD=x"],
            vec![t, "exit", "0"],
            126,
            "denied",
        ),
        (
            vec![&rules],
            vec!["--cwd", "/"],
            vec![t, "exit", "0"],
            126,
            "denied",
        ),
        (
            vec![&rules],
            vec!["--cwd", &root],
            vec![t, "exit", "0"],
            0,
            "allowed",
        ),
        (
            vec![&rules, &narrower],
            vec![],
            vec![t, "exit", "0"],
            0,
            "allowed",
        ),
        (
            vec![&rules, &narrower],
            vec![],
            vec![t, "echo"],
            126,
            "denied",
        ),
        (
            vec![&narrower, &rules],
            vec![],
            vec![t, "echo"],
            126,
            "denied",
        ),
        (
            vec![&rules, &narrower],
            vec![],
            vec![o, "exit", "0"],
            0,
            "allowed",
        ),
        (
            vec![&narrower, &rules],
            vec![],
            vec![o, "exit", "0"],
            0,
            "allowed",
        ),
        (
            vec![&rules, &narrower],
            vec![],
            vec![o, "echo"],
            126,
            "denied",
        ),
        (vec![], vec![], vec![t, "exit", "0"], 0, "allowed"),
        (vec![], vec![], vec!["/nonexistent/tool"], 127, "not_found"),
    ];
    for (ps, extra, argv, want, decision) in &cases {
        let (c, v) = check_json(ps, extra, argv);
        assert_eq!(c, *want, "check {ps:?} {extra:?} {argv:?}: {v}");
        assert_eq!(v["decision"], *decision, "{v}");
        let r = run_status(ps, extra, argv);
        assert_eq!(
            r, c,
            "run and check disagree on {ps:?} {extra:?} {argv:?}: {v}"
        );
    }
    // The content pin, after the file was overwritten in place: both refuse, naming it.
    let mut bytes = fs::read(&d.tool).unwrap();
    bytes.extend_from_slice(b"changed");
    fs::write(&d.tool, &bytes).unwrap();
    let (c, v) = check_json(&[&rules], &[], &[t, "exit", "0"]);
    assert_eq!(c, 126, "{v}");
    assert_eq!(v["rule"], "commands.rule[0].sha256");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("expected sha256 {good}")),
        "{reason}"
    );
    assert_eq!(run_status(&[&rules], &[], &[t, "exit", "0"]), 126);
}

#[test]
fn check_names_the_rule_and_the_limits() {
    let d = dir();
    let p = policy(
        &d,
        "p.toml",
        &format!(
            "allow = [{:?}, {:?}]\n[[commands.rule]]\nprogram = \"/bin/sh\"\nargs = [[\"-c\", \"true\"]]\n",
            d.other, d.tool
        ),
    );
    let (c, v) = check_json(&[&p], &[], &[&d.tool, "anything"]);
    assert_eq!(c, 0, "{v}");
    assert_eq!(v["rule"], "commands.allow[1]");
    assert_eq!(v["program"], d.tool.as_str());
    assert_eq!(v["args"], serde_json::json!(["anything"]));
    assert_eq!(v["limits"]["max_wall_time"], "600s");
    // Text output: one `key: value` line each.
    let o = reml()
        .args(["check", "--policy", p.to_str().unwrap(), "--", &d.tool, "x"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.starts_with("decision: allowed\n"), "{text}");
    assert!(text.contains("rule:     commands.allow[1]\n"), "{text}");
    // Denied: the reason, exit 126, nothing run.
    let (c, v) = check_json(&[&p], &[], &["/bin/sh", "-c", "touch /nonexistent/x"]);
    assert_eq!((c, v["decision"].as_str()), (126, Some("denied")), "{v}");
    assert_eq!(v["rule"], "commands.rule[0]");
    // A policy that fails to parse: 125 with line and column.
    let bad = d.tmp.path().join("bad.toml");
    fs::write(
        &bad,
        "[commands]\nallow = []\n[[commands.rule]]\nprogram = \"/bin/sh\"\nargz = []\n",
    )
    .unwrap();
    let o = reml()
        .args(["check", "--policy", bad.to_str().unwrap(), "--", "/bin/sh"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 125);
    let e = stderr(&o);
    assert!(
        e.contains("line 5, column 1") && e.contains("commands.rule[0].argz"),
        "{e}"
    );
}

#[test]
fn verify_reports_the_new_shapes_with_stable_codes() {
    let d = dir();
    let p = policy(
        &d,
        "p.toml",
        &format!(
            "allow = [{tool:?}]\n\
             [[commands.rule]]\nprogram = {tool:?}\nargs = [[\"x\"]]\n\
             [[commands.rule]]\nprogram = {other:?}\nargs = [[\"**\", \"x\"], [\"ok\"]]\nsha256 = \"12ab\"\n\
             [[commands.rule]]\nprogram = {other:?}\nargs = []\n",
            tool = d.tool,
            other = d.other
        ),
    );
    let o = reml()
        .args(["verify", "--json", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let got: Vec<(String, String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"].as_str().unwrap().starts_with("policy.rule."))
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
                f["entry"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = [
        ("policy.rule.allowed_too", "error", "commands.rule[0]"),
        (
            "policy.rule.rest_not_last",
            "error",
            "commands.rule[1].args[0]",
        ),
        ("policy.rule.bad_digest", "error", "commands.rule[1].sha256"),
        (
            "policy.rule.no_patterns",
            "warning",
            "commands.rule[2].args",
        ),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want, "{v}");
    // `run` refuses the policy (review errors), naming a code.
    let o = reml()
        .args(["run", "--policy", p.to_str().unwrap(), "--", &d.tool])
        .output()
        .unwrap();
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).contains("policy.rule.allowed_too"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn verify_of_several_files_reviews_each_and_the_combination() {
    let d = dir();
    let a = policy(&d, "a.toml", &format!("allow = [{:?}]\n", d.tool));
    let b = policy(&d, "b.toml", &format!("allow = [{:?}]\n", d.other));
    let o = reml()
        .args(["verify", a.to_str().unwrap(), b.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains(&format!("== {}\n", a.display())), "{text}");
    assert!(text.contains(&format!("== {}\n", b.display())), "{text}");
    let narrowed = text.split("== narrowed: ").nth(1).expect(&text);
    assert!(
        narrowed.starts_with(&format!("{} + {}\n", a.display(), b.display())),
        "{text}"
    );
    assert!(
        narrowed.contains("error policy.narrow.nothing_allowed commands:"),
        "{text}"
    );
    let o = reml()
        .args(["verify", "--json", a.to_str().unwrap(), b.to_str().unwrap()])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["files"].as_array().unwrap().len(), 2);
    assert_eq!(v["files"][0]["ok"], true);
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "policy.narrow.nothing_allowed"));
    // A file with itself narrows to the same programs: no such finding.
    let o = reml()
        .args(["verify", a.to_str().unwrap(), a.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    // `run` with both refuses before anything runs; `describe` shows the combination.
    let o = reml()
        .args([
            "run",
            "--policy",
            a.to_str().unwrap(),
            "--policy",
            b.to_str().unwrap(),
            "--",
            &d.tool,
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).contains("policy.narrow.nothing_allowed"),
        "{}",
        stderr(&o)
    );
    let limited = policy_with(
        &d,
        "limited.toml",
        "max_processes = 3\n",
        &format!("allow = [{:?}]\n", d.tool),
    );
    let o = reml()
        .args([
            "describe",
            "--json",
            "--policy",
            a.to_str().unwrap(),
            "--policy",
            limited.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["security"]["limits"]["max_processes"], 3, "{v}");
    assert_eq!(
        v["security"]["policy"],
        format!("{} + {}", a.display(), limited.display())
    );
}

#[test]
fn run_with_several_policies_narrows_whatever_the_order() {
    let d = dir();
    let wide = policy(
        &d,
        "wide.toml",
        &format!("allow = [{:?}, {:?}]\n", d.tool, d.other),
    );
    let narrow = policy(
        &d,
        "narrow.toml",
        &format!(
            "allow = []\n[[commands.rule]]\nprogram = {:?}\nargs = [[\"exit\", \"4\"]]\n",
            d.tool
        ),
    );
    for order in [
        [wide.as_path(), narrow.as_path()],
        [narrow.as_path(), wide.as_path()],
    ] {
        assert_eq!(run_status(&order, &[], &[&d.tool, "exit", "4"]), 4);
        assert_eq!(run_status(&order, &[], &[&d.tool, "exit", "5"]), 126);
        assert_eq!(run_status(&order, &[], &[&d.other, "exit", "4"]), 126);
    }
    assert_eq!(run_status(&[&wide], &[], &[&d.other, "exit", "4"]), 4);
}
