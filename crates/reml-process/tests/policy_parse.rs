//! Strict parsing of the policy file (`docs/policy.md`): every unknown key, wrong type and
//! invalid value is an error naming the key, the line and the column.

use reml_process::policy::{Policy, PolicyError, PolicyErrorKind};

/// A valid policy body for every section, so each test can break exactly one line.
fn base(replace: &str, with: &str) -> String {
    let text = "\
[capability]
stage = \"beta\"
effect_scope = [\"process\", \"io.blocking\", \"signal\"]
audit_required = false
isolation_level = \"sandboxed\"

[commands]
allow = [\"/bin/true\"]
search_path = [\"/usr/bin\", \"/bin\"]
allowed_signals = [\"TERM\", \"KILL\"]
pass_fds = false

[env]
inherit = true
deny = [\"LD_PRELOAD\"]

[limits]
max_processes = 4
max_wall_time = \"10m\"
max_output_bytes = \"16MiB\"
allowed_cpus = \"0\"
max_thread_priority = \"normal\"

[audit]
redact = [\"--password=*\"]
";
    assert!(text.contains(replace), "test bug: `{replace}` not in base");
    text.replacen(replace, with, 1)
}

#[track_caller]
fn err(text: &str) -> PolicyError {
    match Policy::from_toml_str(text) {
        Ok(p) => panic!("expected an error, parsed {p:?}\n{text}"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_err(
    text: &str,
    kind: PolicyErrorKind,
    key: &str,
    line: usize,
    column: usize,
    needle: &str,
) {
    let e = err(text);
    assert_eq!(e.kind, kind, "{e}");
    assert_eq!(e.key.as_deref(), Some(key), "{e}");
    assert_eq!((e.line(), e.column()), (Some(line), Some(column)), "{e}");
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("line {line}, column {column}: ")),
        "{shown}"
    );
    assert!(shown.contains(key), "the message names the key: {shown}");
    assert!(shown.contains(needle), "`{needle}` not in: {shown}");
    assert!(!shown.contains('\n'), "one line: {shown:?}");
}

#[test]
fn the_base_policy_is_valid() {
    Policy::from_toml_str(&base("", "")).unwrap();
}

#[test]
fn unknown_key_in_each_section() {
    use PolicyErrorKind::UnknownKey;
    let cases = [
        ("stage = \"beta\"", "stag = \"beta\"", "capability.stag", 2),
        (
            "allow = [\"/bin/true\"]",
            "allow = [\"/bin/true\"]\nalow = []",
            "commands.alow",
            9,
        ),
        ("inherit = true", "inhert = true", "env.inhert", 14),
        (
            "max_processes = 4",
            "max_proceses = 4",
            "limits.max_proceses",
            18,
        ),
        ("redact = [", "redakt = [", "audit.redakt", 25),
    ];
    for (from, to, key, line) in cases {
        assert_err(&base(from, to), UnknownKey, key, line, 1, "unknown key");
    }
}

#[test]
fn unknown_section_and_root_key() {
    let text = base("[limits]", "[limit]");
    assert_err(
        &text,
        PolicyErrorKind::UnknownKey,
        "limit",
        17,
        2,
        "unknown key `limit`",
    );
    let text = format!("version = 2\n{}", base("", ""));
    assert_err(
        &text,
        PolicyErrorKind::UnknownKey,
        "version",
        1,
        1,
        "unknown key",
    );
}

#[test]
fn unknown_key_in_dotted_and_inline_forms() {
    let text = "commands.allow = []\ncommands.allow_all = true\n";
    assert_err(
        text,
        PolicyErrorKind::UnknownKey,
        "commands.allow_all",
        2,
        10,
        "unknown key",
    );
    let text = "[commands]\nallow = []\n[limits]\nx = { y = 1 }\n";
    assert_err(
        text,
        PolicyErrorKind::UnknownKey,
        "limits.x",
        4,
        1,
        "unknown key",
    );
    let text = "limits = { max_processes = 1, oops = 2 }\n[commands]\nallow = []\n";
    assert_err(
        text,
        PolicyErrorKind::UnknownKey,
        "limits.oops",
        1,
        31,
        "unknown key",
    );
}

#[test]
fn wrong_types() {
    use PolicyErrorKind::InvalidType;
    assert_err(
        &base("max_processes = 4", "max_processes = \"4\""),
        InvalidType,
        "limits.max_processes",
        18,
        17,
        "non-negative integer",
    );
    assert_err(
        &base("pass_fds = false", "pass_fds = \"no\""),
        InvalidType,
        "commands.pass_fds",
        11,
        12,
        "invalid type",
    );
    assert_err(
        &base("allow = [\"/bin/true\"]", "allow = \"/bin/true\""),
        InvalidType,
        "commands.allow",
        8,
        9,
        "array",
    );
    assert_err(
        &base("allow = [\"/bin/true\"]", "allow = [\"/bin/true\", 7]"),
        InvalidType,
        "commands.allow[1]",
        8,
        23,
        "invalid type",
    );
    assert_err(
        &base("stage = \"beta\"", "stage = 1979-05-27"),
        InvalidType,
        "capability.stage",
        2,
        9,
        "invalid type",
    );
    // An array of tables where a table is expected: serde reads a struct from a sequence
    // positionally, so the error lands on the first element.
    assert_err(
        &base("[env]", "[[env]]"),
        InvalidType,
        "env[0]",
        13,
        1,
        "invalid type",
    );
}

#[test]
fn bad_duration() {
    assert_err(
        &base("max_wall_time = \"10m\"", "max_wall_time = \"10 minutes\""),
        PolicyErrorKind::InvalidValue,
        "limits.max_wall_time",
        19,
        17,
        "invalid duration",
    );
    assert_err(
        &base("max_wall_time = \"10m\"", "max_wall_time = -5"),
        PolicyErrorKind::InvalidValue,
        "limits.max_wall_time",
        19,
        17,
        "negative",
    );
}

#[test]
fn bad_size() {
    assert_err(
        &base(
            "max_output_bytes = \"16MiB\"",
            "max_output_bytes = \"16 MiBs\"",
        ),
        PolicyErrorKind::InvalidValue,
        "limits.max_output_bytes",
        20,
        20,
        "invalid size",
    );
}

#[test]
fn negative_count() {
    assert_err(
        &base("max_processes = 4", "max_processes = -1"),
        PolicyErrorKind::InvalidValue,
        "limits.max_processes",
        18,
        17,
        "negative",
    );
}

#[test]
fn bad_signal() {
    assert_err(
        &base("[\"TERM\", \"KILL\"]", "[\"TERM\", \"KILLL\"]"),
        PolicyErrorKind::InvalidValue,
        "commands.allowed_signals[1]",
        10,
        28,
        "unknown signal `KILLL`",
    );
    assert_err(
        &base("[\"TERM\", \"KILL\"]", "[\"TERM\", 99]"),
        PolicyErrorKind::InvalidValue,
        "commands.allowed_signals[1]",
        10,
        28,
        "signal 99 does not exist",
    );
}

#[test]
fn bad_effect() {
    assert_err(
        &base("\"io.blocking\"", "\"io\""),
        PolicyErrorKind::InvalidValue,
        "capability.effect_scope[1]",
        3,
        28,
        "unknown effect tag `io`",
    );
}

#[test]
fn bad_cpu_list() {
    use PolicyErrorKind::InvalidValue;
    for (bad, needle) in [
        ("\"1-0\"", "reversed"),
        ("\"0-x\"", "not a CPU id"),
        ("\"\"", "empty"),
        ("\"99999\"", "above the largest id"),
        ("[]", "may not be empty"),
        ("[-1]", "not a CPU id"),
    ] {
        assert_err(
            &base("allowed_cpus = \"0\"", &format!("allowed_cpus = {bad}")),
            InvalidValue,
            "limits.allowed_cpus",
            21,
            16,
            needle,
        );
    }
    assert_err(
        &base("allowed_cpus = \"0\"", "allowed_cpus = [0, \"1\"]"),
        PolicyErrorKind::InvalidType,
        "limits.allowed_cpus[1]",
        21,
        20,
        "invalid type",
    );
}

#[test]
fn bad_enumerations() {
    use PolicyErrorKind::InvalidValue;
    assert_err(
        &base("stage = \"beta\"", "stage = \"Beta\""),
        InvalidValue,
        "capability.stage",
        2,
        9,
        "experimental, beta or stable",
    );
    assert_err(
        &base(
            "isolation_level = \"sandboxed\"",
            "isolation_level = \"sandbox\"",
        ),
        InvalidValue,
        "capability.isolation_level",
        5,
        19,
        "none, sandboxed or full_isolation",
    );
    assert_err(
        &base(
            "max_thread_priority = \"normal\"",
            "max_thread_priority = \"max\"",
        ),
        InvalidValue,
        "limits.max_thread_priority",
        22,
        23,
        "low, normal, high or realtime",
    );
}

#[test]
fn bad_paths_and_names() {
    use PolicyErrorKind::InvalidValue;
    assert_err(
        &base("allow = [\"/bin/true\"]", "allow = [\"bin/true\"]"),
        InvalidValue,
        "commands.allow[0]",
        8,
        10,
        "relative path",
    );
    assert_err(
        &base("search_path = [\"/usr/bin\"", "search_path = [\"usr/bin\""),
        InvalidValue,
        "commands.search_path[0]",
        9,
        16,
        "not absolute",
    );
    assert_err(
        &base("allowed_signals", "allowed_cwd = []\nallowed_signals"),
        InvalidValue,
        "commands.allowed_cwd",
        10,
        15,
        "may not be empty",
    );
    assert_err(
        &base("deny = [\"LD_PRELOAD\"]", "deny = [\"LD_PRELOAD=1\"]"),
        InvalidValue,
        "env.deny[0]",
        15,
        9,
        "not an environment variable name",
    );
    assert_err(
        &base("redact = [\"--password=*\"]", "redact = [\"\"]"),
        InvalidValue,
        "audit.redact[0]",
        25,
        11,
        "may not be empty",
    );
}

#[test]
fn allow_is_required() {
    let e = err(&base("allow = [\"/bin/true\"]\n", ""));
    assert_eq!(e.kind, PolicyErrorKind::MissingKey, "{e}");
    assert_eq!(e.key.as_deref(), Some("commands.allow"));
    assert_eq!(e.line(), Some(7), "{e}");
    assert!(
        e.to_string()
            .contains("missing required key `commands.allow`"),
        "{e}"
    );

    let e = err("[env]\ninherit = false\n");
    assert_eq!(e.kind, PolicyErrorKind::MissingKey, "{e}");
    assert_eq!(e.key.as_deref(), Some("commands"));
    assert!(e.location.is_some());
    assert!(e.to_string().contains("[commands]"), "{e}");

    let e = err("");
    assert_eq!(e.kind, PolicyErrorKind::MissingKey, "{e}");
}

#[test]
fn syntax_errors_have_a_position() {
    let e = err("[commands]\nallow = [\"/bin/true\"\n");
    assert_eq!(e.kind, PolicyErrorKind::Syntax, "{e}");
    assert_eq!(e.line(), Some(3), "{e}");
    assert!(!e.to_string().contains('\n'), "{e}");

    let e = err("[commands]\nallow = []\nallow = []\n");
    assert_eq!(e.kind, PolicyErrorKind::Syntax, "{e}");
    assert_eq!(e.line(), Some(3), "{e}");
}

#[test]
fn from_path_names_the_file_and_reports_io_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(
        &path,
        "[commands]\nallow = []\n[limits]\nmax_wall_time = \"soon\"\n",
    )
    .unwrap();
    let e = Policy::from_path(&path).unwrap_err();
    assert_eq!(e.path.as_deref(), Some(path.as_path()));
    assert_eq!((e.line(), e.column()), (Some(4), Some(17)));
    assert!(
        e.to_string().starts_with(&format!(
            "{}: line 4, column 17: `limits.max_wall_time`",
            path.display()
        )),
        "{e}"
    );

    let missing = dir.path().join("nope.toml");
    let e = Policy::from_path(&missing).unwrap_err();
    assert_eq!(e.kind, PolicyErrorKind::Io);
    assert_eq!(e.errno, Some(2));
    assert!(e.to_string().contains("No such file"), "{e}");

    let e = Policy::from_path(dir.path()).unwrap_err();
    assert_eq!(e.kind, PolicyErrorKind::Io, "{e}");

    std::fs::write(&path, b"[commands]\nallow = [\"\xff\"]\n").unwrap();
    let e = Policy::from_path(&path).unwrap_err();
    assert_eq!(e.kind, PolicyErrorKind::Syntax);
    assert_eq!((e.line(), e.column()), (Some(2), Some(11)), "{e}");

    std::fs::write(&path, "[commands]\nallow = []\n").unwrap();
    Policy::from_path(&path).unwrap();
}

#[test]
fn typo_never_weakens() {
    // A misspelt limit is an error, never an unlimited policy.
    for typo in [
        "[limits]\nmax_wall_tme = \"1s\"\n",
        "[env]\ndenny = [\"LD_PRELOAD\"]\n",
        "[commands]\nallow = []\nallowed_signal = [\"TERM\"]\n",
        "[capability]\neffect_scopes = []\n",
    ] {
        let text = if typo.contains("[commands]") {
            typo.to_owned()
        } else {
            format!("[commands]\nallow = []\n{typo}")
        };
        assert_eq!(err(&text).kind, PolicyErrorKind::UnknownKey, "{text}");
    }
}
