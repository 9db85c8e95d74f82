//! The Capability Registry (spec §6): install through the review, each error kind, the
//! manifest, and `system.capability.missing`.

use std::path::PathBuf;
use std::sync::Arc;

use reml_process::audit::MemorySink;
use reml_process::policy::{Policy, StageId};
use reml_process::*;

fn registration(toml: &str, review: bool) -> Registration {
    Registration {
        policy: Arc::new(Policy::from_toml_str(toml).unwrap()),
        policy_path: None,
        manifest: Manifest::bundled(),
        manifest_path: Some(PathBuf::from("plugin.toml")),
        review,
    }
}

const CLEAN: &str = r#"
[capability]
stage = "beta"
effect_scope = ["process", "thread", "signal", "hardware", "audit", "io.blocking", "memory"]
[commands]
allow = ["/usr/bin/true"]
[limits]
max_wall_time = "1m"
"#;

fn process_handle() -> CapabilityHandle {
    CapabilityHandle::Process(Arc::new(NativeProcessCapability::new()))
}

#[test]
fn register_get_describe_and_use() {
    let sink = Arc::new(MemorySink::new());
    let reg = CapabilityRegistry::with_audit(sink.clone());
    let d = reg
        .register("process", process_handle(), registration(CLEAN, true))
        .unwrap();
    assert_eq!(d.id, "core.process");
    assert_eq!(d.stage, StageId::Beta);
    assert!(d.last_verified_at.is_some());
    let j = d.to_json();
    assert_eq!(j["provider"]["package"], "reml-process");
    assert_eq!(j["manifest_path"], "plugin.toml");
    assert_eq!(j["security"]["allowed_commands"], 1);
    assert_eq!(reg.describe("process").unwrap(), d);
    let cap = reg.process("process").unwrap();
    let h = cap
        .spawn_process(&Command::new("/usr/bin/true"), &Environment::default())
        .unwrap();
    assert!(cap.wait_process(h, None).unwrap().success());
    assert!(matches!(
        reg.get("process").unwrap(),
        CapabilityHandle::Process(_)
    ));
    let events = sink.events();
    assert!(
        events.contains(&"capability.verified".to_owned()),
        "{events:?}"
    );
    assert!(events.contains(&"capability.registered".to_owned()));
}

#[test]
fn registering_twice_is_already_registered() {
    let reg = CapabilityRegistry::new();
    reg.register("process", process_handle(), registration(CLEAN, true))
        .unwrap();
    let e = reg
        .register("process", process_handle(), registration(CLEAN, true))
        .unwrap_err();
    assert_eq!(e.kind, CapabilityErrorKind::AlreadyRegistered);
    assert_eq!(e.id, "process");
}

#[test]
fn nothing_registered_is_unsupported_system_capability_missing() {
    let reg = CapabilityRegistry::new();
    let e = reg.process("process").err().unwrap();
    assert_eq!(e.kind, ProcessErrorKind::Unsupported);
    assert_eq!(e.diagnostic_code(), "system.capability.missing");
    assert_eq!(e.into_diagnostic().code, "system.capability.missing");
    let e = reg.get("process").unwrap_err();
    assert_eq!(e.kind, CapabilityErrorKind::NotFound);
    assert_eq!(e.into_diagnostic().code, "system.capability.missing");
    assert_eq!(
        reg.describe("nope").unwrap_err().kind,
        CapabilityErrorKind::NotFound
    );
}

#[test]
fn review_errors_are_security_violation() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("plain");
    std::fs::write(&plain, "x").unwrap();
    let toml = format!("[commands]\nallow = [\"{}\"]\n", plain.display());
    let reg = CapabilityRegistry::new();
    let e = reg
        .register("process", process_handle(), registration(&toml, true))
        .unwrap_err();
    assert_eq!(e.kind, CapabilityErrorKind::SecurityViolation);
    assert!(!e.findings.is_empty());
    assert!(e.message.contains("not_executable"), "{}", e.message);
    assert!(
        reg.get("process").is_err(),
        "a refused capability is not installed"
    );
}

#[test]
fn effect_scope_must_cover_the_capability() {
    let toml =
        "[capability]\neffect_scope = [\"thread\"]\n[commands]\nallow = [\"/usr/bin/true\"]\n";
    let reg = CapabilityRegistry::new();
    let e = reg
        .register("process", process_handle(), registration(toml, false))
        .unwrap_err();
    assert_eq!(e.kind, CapabilityErrorKind::UnsafeViolation);
    assert!(e.message.contains("process"), "{}", e.message);
    // A thread capability needs only `thread`.
    reg.register(
        "thread",
        CapabilityHandle::Thread(Arc::new(NativeThreadCapability::new())),
        registration(toml, false),
    )
    .unwrap();
}

#[test]
fn stage_requirements() {
    let reg = CapabilityRegistry::new();
    reg.register("process", process_handle(), registration(CLEAN, true))
        .unwrap();
    reg.verify_capability_stage("process", StageRequirement::AtLeast(StageId::Experimental))
        .unwrap();
    reg.verify_capability_stage("process", StageRequirement::Exact(StageId::Beta))
        .unwrap();
    let e = reg
        .verify_capability_stage("process", StageRequirement::AtLeast(StageId::Stable))
        .unwrap_err();
    assert_eq!(e.kind, CapabilityErrorKind::StageViolation);
    assert_eq!(e.actual_stage, Some(StageId::Beta));
    let e = reg
        .verify_capability_stage("missing", StageRequirement::Exact(StageId::Beta))
        .unwrap_err();
    assert_eq!(e.kind, CapabilityErrorKind::NotFound);
}

#[test]
fn manifest_is_strict_and_the_bundled_one_matches_the_repository_file() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../plugin.toml");
    let m = Manifest::from_path(&root).unwrap();
    assert_eq!(m, Manifest::bundled());
    assert_eq!(
        m.version,
        env!("CARGO_PKG_VERSION"),
        "the manifest names this crate's version"
    );
    assert_eq!(m.id, "core.process");
    assert_eq!(m.dependencies, ["system", "memory", "signal"]);
    assert!(m.effects.contains(Effect::Process));
    let e = Manifest::parse("[plugin]\nid = \"x\"\npackage = \"p\"\nversion = \"1\"\nstage = \"beta\"\neffects = []\ntypo = 1\n")
        .unwrap_err();
    assert_eq!(e.kind, CapabilityErrorKind::InvalidHandle);
    assert!(e.message.contains("typo"), "{}", e.message);
    assert!(Manifest::parse("[plugin]\nid = \"x\"\npackage = \"p\"\nversion = \"1\"\nstage = \"beta\"\neffects = [\"nope\"]\n").is_err());
}

/// `describe`'s limits are the policy's values exactly, not rounded through a float: a wall
/// time of 123456789012345678 s (beyond f64's 53 bits) and a fractional CPU time.
#[test]
fn described_limits_are_exact() {
    let p = Policy::from_toml_str(
        "[commands]\nallow = [\"/usr/bin/true\"]\n[limits]\n\
         max_wall_time = \"123456789012345678s\"\ncpu_time = \"1.000000001s\"\n",
    )
    .unwrap();
    let s = registry::security_summary(&p, None);
    assert_eq!(s["limits"]["max_wall_time"], "123456789012345678s");
    assert_eq!(s["limits"]["cpu_time"], "1.000000001s");
}
