use super::*;

const FULL: &str = r#"
[capability]
stage = "beta"                    # experimental | beta | stable
effect_scope = ["process", "thread", "signal", "hardware", "audit", "io.blocking", "memory"]
audit_required = true
isolation_level = "sandboxed"     # none | sandboxed | full_isolation

[commands]
allow = ["/usr/bin/git", "python3"]        # absolute paths, or names looked up in search_path
search_path = ["/usr/local/bin", "/usr/bin", "/bin"]
allowed_cwd = ["/srv/jobs"]                # optional: the child's cwd must lie under one of these
allowed_signals = ["TERM", "KILL", "INT", "HUP"]
pass_fds = false                           # may a caller hand extra descriptors to a child

[env]
inherit = true
deny = ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT"]   # never passed to a child
allow = []                                              # when non-empty, only these names pass

[limits]
max_processes = 64          # children alive at once through this capability
max_threads = 128           # threads alive at once through this capability
max_wall_time = "10m"       # no wait may ask for longer; a time limit is always applied
max_output_bytes = "16MiB"  # per stream, for collected output
cpu_time = "60s"            # RLIMIT_CPU of each child
address_space = "4GiB"      # RLIMIT_AS of each child
open_files = 1024           # RLIMIT_NOFILE of each child
core_dump = false           # RLIMIT_CORE = 0 when false
allowed_cpus = "0-1"        # affinity may only name these CPUs
max_thread_priority = "high"  # low | normal | high | realtime

[audit]
redact = ["--password=*", "*_TOKEN"]   # argument / environment patterns masked as "***"
"#;

#[test]
fn full_example_parses_to_typed_values() {
    let p = Policy::from_toml_str(FULL).unwrap();
    assert_eq!(p.capability.stage, StageId::Beta);
    assert_eq!(p.capability.effect_scope, Some(PLUGIN_EFFECTS));
    assert!(p.capability.audit_required);
    assert_eq!(p.capability.isolation_level, IsolationLevel::Sandboxed);
    assert_eq!(
        p.commands.allow,
        [
            AllowEntry::Path("/usr/bin/git".into()),
            AllowEntry::Name("python3".into())
        ]
    );
    assert_eq!(
        p.commands.allowed_cwd,
        Some(vec![PathBuf::from("/srv/jobs")])
    );
    assert_eq!(
        p.commands.allowed_signals,
        Some(vec![Signal::HUP, Signal::INT, Signal::KILL, Signal::TERM])
    );
    assert!(!p.commands.pass_fds);
    assert_eq!(p.env.deny.len(), 3);
    assert_eq!(p.limits.max_processes, Some(64));
    assert_eq!(p.limits.max_threads, Some(128));
    assert_eq!(p.limits.max_wall_time, Some(Duration::from_secs(600)));
    assert_eq!(p.limits.max_output_bytes, Some(16 << 20));
    assert_eq!(p.limits.cpu_time, Some(Duration::from_secs(60)));
    assert_eq!(p.limits.address_space, Some(4 << 30));
    assert_eq!(p.limits.open_files, Some(1024));
    assert_eq!(p.limits.core_dump, Some(false));
    assert_eq!(p.limits.allowed_cpus, Some(parse_cpu_list("0-1").unwrap()));
    assert_eq!(p.limits.max_thread_priority, Some(PriorityCeiling::High));
    assert_eq!(p.audit.redact.len(), 2);
}

#[test]
fn minimal_policy_gets_documented_defaults() {
    let p = Policy::from_toml_str("[commands]\nallow = []\n").unwrap();
    assert_eq!(p.capability.stage, StageId::Beta);
    assert_eq!(p.capability.effect_scope, None);
    assert_eq!(p.effect_scope(), PLUGIN_EFFECTS);
    assert!(!p.capability.audit_required);
    assert_eq!(p.capability.isolation_level, IsolationLevel::None);
    assert_eq!(p.commands.search_path, default_search_path());
    assert_eq!(p.commands.allowed_cwd, None);
    assert!(p.is_signal_allowed(Signal::new(40).unwrap()));
    assert!(p.env.inherit);
    assert_eq!(p.limits, LimitsSection::default());
    assert!(p.child_rlimits().is_empty());
}

#[test]
fn alternative_value_forms() {
    let p = Policy::from_toml_str(
        "[commands]\nallow = []\nallowed_signals = [15, \"sigkill\", \"TERM\"]\n\
         [limits]\nmax_wall_time = 90\ncpu_time = 1.5\naddress_space = 1048576\n\
         allowed_cpus = [3, 0, 1]\n",
    )
    .unwrap();
    assert_eq!(p.allowed_signals(), Some(&[Signal::KILL, Signal::TERM][..]));
    assert_eq!(p.limits.max_wall_time, Some(Duration::from_secs(90)));
    assert_eq!(p.limits.cpu_time, Some(Duration::from_millis(1500)));
    assert_eq!(p.limits.address_space, Some(1 << 20));
    assert_eq!(p.limits.allowed_cpus.as_ref().unwrap().to_string(), "0-1,3");
}

#[test]
fn limits_at_the_edges_saturate_or_round_up() {
    let limits = |body: &str| {
        Policy::from_toml_str(&format!("[commands]\nallow = []\n[limits]\n{body}\n"))
            .map(|p| p.limits)
    };
    let l = limits("max_wall_time = inf\ncpu_time = 1e300").unwrap();
    assert_eq!(l.max_wall_time, Some(Duration::MAX));
    assert_eq!(l.cpu_time, Some(Duration::MAX));
    let l = limits("max_wall_time = 1e-12\ncpu_time = \"0.0000000001s\"").unwrap();
    assert_eq!(l.max_wall_time, Some(Duration::from_nanos(1)));
    assert_eq!(l.cpu_time, Some(Duration::from_nanos(1)));
    let l = limits("max_wall_time = 0.0\nmax_output_bytes = \"99999999999999999999\"").unwrap();
    assert_eq!(l.max_wall_time, Some(Duration::ZERO));
    assert_eq!(l.max_output_bytes, Some(u64::MAX));
    for bad in [
        "max_wall_time = nan",
        "max_wall_time = -inf",
        "cpu_time = -1.0",
    ] {
        assert!(limits(bad).is_err(), "{bad}");
    }
    // The rlimit of a saturated cpu_time is RLIM_INFINITY, not an overflow.
    assert_eq!(cpu_seconds(Duration::MAX), u64::MAX);
}

#[test]
fn rlimits_for_the_child() {
    let p = Policy::from_toml_str(
        "[commands]\nallow = []\n[limits]\ncpu_time = \"1500ms\"\naddress_space = \"1GiB\"\n\
         open_files = 64\ncore_dump = false\n",
    )
    .unwrap();
    let r = p.child_rlimits();
    assert_eq!(
        r,
        [
            Rlimit {
                resource: Resource::CpuTime,
                soft: Some(2),
                hard: Some(3)
            },
            Rlimit {
                resource: Resource::AddressSpace,
                soft: Some(1 << 30),
                hard: Some(1 << 30)
            },
            Rlimit {
                resource: Resource::OpenFiles,
                soft: Some(64),
                hard: Some(64)
            },
            Rlimit {
                resource: Resource::CoreDump,
                soft: Some(0),
                hard: Some(0)
            },
        ]
    );
    let p = Policy::from_toml_str("[commands]\nallow = []\n[limits]\ncore_dump = true\n").unwrap();
    assert!(p.child_rlimits().is_empty());
    assert_eq!(cpu_seconds(Duration::ZERO), 1);
    assert_eq!(cpu_seconds(Duration::from_secs(60)), 60);
}

#[test]
fn env_rules() {
    let p = Policy::from_toml_str(
        "[commands]\nallow = []\n[env]\ndeny = [\"LD_PRELOAD\"]\nallow = [\"PATH\", \"LD_PRELOAD\"]\n",
    )
    .unwrap();
    assert!(p.env_denied(OsStr::new("LD_PRELOAD")));
    assert!(
        !p.env_passes(OsStr::new("LD_PRELOAD")),
        "deny wins over allow"
    );
    assert!(p.env_passes(OsStr::new("PATH")));
    assert!(!p.env_passes(OsStr::new("HOME")), "not on the allow list");
    assert!(
        !p.env_denied(OsStr::new("ld_preload")),
        "names are case-sensitive"
    );
    let open = Policy::from_toml_str("[commands]\nallow = []\n").unwrap();
    assert!(open.env_passes(OsStr::new("HOME")));
}

#[test]
fn redaction() {
    let p = Policy::from_toml_str(FULL).unwrap();
    let r = p.redactor();
    assert_eq!(r.patterns(), ["--password=*", "*_TOKEN"]);
    assert!(r.matches_arg("--password=hunter2"));
    assert!(!r.matches_arg("--verbose"));
    assert!(r.matches("GITHUB_TOKEN"));
    assert!(!r.matches("HOME"));
    let open = Policy::from_toml_str("[commands]\nallow = []\n").unwrap();
    assert!(open.redactor().is_empty());
}

#[test]
fn default_policy() {
    let p = Policy::default_for_program(Path::new("/bin/true")).unwrap();
    assert_eq!(p.commands.allow, [AllowEntry::Path("/bin/true".into())]);
    assert_eq!(p.effect_scope(), PLUGIN_EFFECTS);
    assert_eq!(p.capability.effect_scope, Some(PLUGIN_EFFECTS));
    assert!(!p.capability.audit_required);
    assert_eq!(p.limits.max_processes, Some(64));
    assert_eq!(p.limits.max_wall_time, None);
    assert!(p.commands.pass_fds);
    assert!(p.child_rlimits().is_empty());
    let e = Policy::default_for_program(Path::new("true")).unwrap_err();
    assert_eq!(e.kind, PolicyErrorKind::InvalidValue);
    assert_eq!(e.key.as_deref(), Some("commands.allow"));
}

#[test]
fn cwd_roots_compare_canonically() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("jobs");
    std::fs::create_dir_all(root.join("a")).unwrap();
    let text = format!(
        "[commands]\nallow = []\nallowed_cwd = [{:?}, \"/nonexistent/x\"]\n",
        root.display().to_string()
    );
    let p = Policy::from_toml_str(&text).unwrap();
    assert_eq!(
        p.allowed_cwd_roots().unwrap(),
        [std::fs::canonicalize(&root).unwrap()]
    );
}

#[test]
fn the_priority_ceiling_is_the_thread_priority_written_exactly() {
    let p =
        Policy::from_toml_str("[commands]\nallow = []\n[limits]\nmax_thread_priority = \"high\"\n")
            .unwrap();
    assert_eq!(
        p.limits.max_thread_priority,
        Some(crate::thread::ThreadPriority::High)
    );
    // `ThreadPriority`'s own parsing forgives case and blanks; a policy does not.
    for bad in ["High", " high", "HIGH"] {
        let text = format!("[commands]\nallow = []\n[limits]\nmax_thread_priority = {bad:?}\n");
        let e = Policy::from_toml_str(&text).unwrap_err();
        assert_eq!(e.kind, PolicyErrorKind::InvalidValue, "{bad:?}");
        assert_eq!(e.key.as_deref(), Some("limits.max_thread_priority"));
    }
}
