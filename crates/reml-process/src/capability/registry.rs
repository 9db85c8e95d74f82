//! The Capability Registry (spec §6; registry chapter 3-8): installation of `core.process` through
//! `CapabilityRegistry::register("process", CapabilityHandle::Process(...))`, with the
//! security review, the effect-scope check and the plugin manifest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::audit::{domains, events, keys, AuditEvent, AuditSink};
use crate::capability::ProcessCapability;
use crate::effect::{Effect, EffectSet};
use crate::error::{Diagnostic, IntoDiagnostic, ProcessError, Severity};
use crate::policy::{verify_capability_security, Policy, StageId};
use crate::thread::ThreadCapability;

/// The manifest shipped with this crate (`crates/reml-process/plugin.toml`; the repository root has a link to it).
pub const BUNDLED_MANIFEST: &str = include_str!("../../plugin.toml");

/// A stage requirement (registry chapter: `StageRequirement = Exact(StageId) |
/// AtLeast(StageId)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageRequirement {
    /// Exactly this stage.
    Exact(StageId),
    /// This stage or a more mature one (`experimental < beta < stable`).
    AtLeast(StageId),
}

impl StageRequirement {
    /// Whether `stage` satisfies the requirement.
    pub fn accepts(self, stage: StageId) -> bool {
        match self {
            StageRequirement::Exact(s) => stage == s,
            StageRequirement::AtLeast(s) => stage >= s,
        }
    }
}

/// Who provides a capability (registry chapter `CapabilityProvider`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CapabilityProvider {
    /// Built into the runtime core.
    Core,
    /// A plugin package.
    Plugin {
        /// Package name (`reml-process`).
        package: String,
        /// Package version (`0.1.0`).
        version: String,
    },
    /// A bridge to an external system.
    ExternalBridge {
        /// Bridge name.
        name: String,
        /// Bridge version.
        version: String,
    },
    /// A component of the runtime.
    RuntimeComponent {
        /// Component name.
        name: String,
    },
}

impl CapabilityProvider {
    fn to_json(&self) -> Value {
        match self {
            CapabilityProvider::Core => json!({"kind": "core"}),
            CapabilityProvider::Plugin { package, version } => {
                json!({"kind": "plugin", "package": package, "version": version})
            }
            CapabilityProvider::ExternalBridge { name, version } => {
                json!({"kind": "external_bridge", "name": name, "version": version})
            }
            CapabilityProvider::RuntimeComponent { name } => {
                json!({"kind": "runtime_component", "name": name})
            }
        }
    }
}

/// One platform entry of the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestTarget {
    /// `linux`, `other-unix`, `windows`.
    pub os: String,
    /// `complete` or `unsupported`.
    pub status: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    plugin: ManifestPlugin,
    #[serde(default)]
    targets: Vec<ManifestTarget>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestPlugin {
    id: String,
    package: String,
    version: String,
    stage: String,
    effects: Vec<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

/// The plugin manifest `plugin.toml` (`crates/reml-process/plugin.toml`, built into the
/// binary).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Capability id, `core.process`.
    pub id: String,
    /// Package name.
    pub package: String,
    /// Package version.
    pub version: String,
    /// Declared stage.
    pub stage: StageId,
    /// Effects the plugin produces.
    pub effects: EffectSet,
    /// Capabilities it depends on (`system`, `memory`, `signal`).
    pub dependencies: Vec<String>,
    /// Platforms and their status.
    pub targets: Vec<ManifestTarget>,
}

impl Manifest {
    /// Parses a manifest (strict: unknown keys are errors).
    ///
    /// # Errors
    /// `InvalidHandle`-kind [`CapabilityError`] naming the problem (TOML error, unknown
    /// stage or effect).
    pub fn parse(text: &str) -> Result<Manifest, CapabilityError> {
        let bad =
            |m: String| CapabilityError::new(CapabilityErrorKind::InvalidHandle, "core.process", m);
        let file: ManifestFile =
            toml::from_str(text).map_err(|e| bad(format!("invalid plugin manifest: {e}")))?;
        let p = file.plugin;
        let stage = p
            .stage
            .parse::<StageId>()
            .map_err(|e| bad(format!("invalid plugin manifest: stage: {e}")))?;
        let effects = p
            .effects
            .iter()
            .map(|e| e.parse::<Effect>())
            .collect::<Result<EffectSet, _>>()
            .map_err(|e| bad(format!("invalid plugin manifest: effects: {e}")))?;
        Ok(Manifest {
            id: p.id,
            package: p.package,
            version: p.version,
            stage,
            effects,
            dependencies: p.dependencies,
            targets: file.targets,
        })
    }

    /// Reads and parses a manifest file.
    ///
    /// # Errors
    /// As [`parse`](Self::parse), plus an unreadable file.
    pub fn from_path(path: &Path) -> Result<Manifest, CapabilityError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CapabilityError::new(
                CapabilityErrorKind::NotFound,
                "core.process",
                format!(
                    "cannot read the plugin manifest {}: {e}",
                    crate::error::os_text(&path)
                ),
            )
        })?;
        Self::parse(&text)
    }

    /// The manifest bundled with this build ([`BUNDLED_MANIFEST`]).
    pub fn bundled() -> Manifest {
        // Cannot fail: the text is the repository's plugin.toml, compiled in, and parsing it
        // is what the registry tests do first (`Manifest::bundled()` in tests/registry.rs).
        Self::parse(BUNDLED_MANIFEST).expect("the bundled plugin.toml is valid (tested)")
    }
}

/// A capability to install (registry chapter `CapabilityHandle`).
#[derive(Clone)]
pub enum CapabilityHandle {
    /// The process capability of `core.process` (all six operations of spec §1).
    Process(Arc<dyn ProcessCapability>),
    /// The standalone thread capability (spec §7).
    Thread(Arc<dyn ThreadCapability>),
    /// The security capability: the policy that reviews and guards (spec §6).
    Security(Arc<Policy>),
    /// An audit sink (spec audit chapter).
    Audit(Arc<dyn AuditSink>),
}

impl CapabilityHandle {
    /// `"process"`, `"thread"`, `"security"` or `"audit"`.
    pub fn kind(&self) -> &'static str {
        match self {
            CapabilityHandle::Process(_) => "process",
            CapabilityHandle::Thread(_) => "thread",
            CapabilityHandle::Security(_) => "security",
            CapabilityHandle::Audit(_) => "audit",
        }
    }

    /// The least effects a capability of this kind produces.
    pub fn minimum_effects(&self) -> EffectSet {
        use Effect::*;
        match self {
            CapabilityHandle::Process(_) => EffectSet::of(&[Process, IoBlocking]),
            CapabilityHandle::Thread(_) => EffectSet::of(&[Thread]),
            CapabilityHandle::Security(_) => EffectSet::of(&[Security]),
            CapabilityHandle::Audit(_) => EffectSet::of(&[Audit]),
        }
    }
}

impl std::fmt::Debug for CapabilityHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CapabilityHandle::{}", self.kind())
    }
}

/// The kind of a [`CapabilityError`] (registry chapter `CapabilityErrorKind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapabilityErrorKind {
    /// Something is registered under that id already.
    AlreadyRegistered,
    /// Nothing is registered under that id (diagnostic `system.capability.missing`).
    NotFound,
    /// The handle does not fit the request (wrong kind, bad manifest).
    InvalidHandle,
    /// The capability would act outside its declared effects.
    UnsafeViolation,
    /// The security review found errors.
    SecurityViolation,
    /// The stage does not satisfy the requirement.
    StageViolation,
}

impl CapabilityErrorKind {
    /// snake_case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CapabilityErrorKind::AlreadyRegistered => "already_registered",
            CapabilityErrorKind::NotFound => "not_found",
            CapabilityErrorKind::InvalidHandle => "invalid_handle",
            CapabilityErrorKind::UnsafeViolation => "unsafe_violation",
            CapabilityErrorKind::SecurityViolation => "security_violation",
            CapabilityErrorKind::StageViolation => "stage_violation",
        }
    }
}

/// An error of the registry (registry chapter `CapabilityError`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CapabilityError {
    /// What went wrong.
    pub kind: CapabilityErrorKind,
    /// The capability id concerned.
    pub id: String,
    /// Human-readable message.
    pub message: String,
    /// For `StageViolation`: the stage found.
    pub actual_stage: Option<StageId>,
    /// For `SecurityViolation`: the codes of the review's error findings.
    pub findings: Vec<String>,
}

impl CapabilityError {
    fn new(kind: CapabilityErrorKind, id: &str, message: impl Into<String>) -> Self {
        CapabilityError {
            kind,
            id: id.to_owned(),
            message: message.into(),
            actual_stage: None,
            findings: Vec::new(),
        }
    }
}

impl IntoDiagnostic for CapabilityError {
    /// Code `system.capability.missing` for `NotFound`, else `system.capability.<kind>`.
    fn into_diagnostic(self) -> Diagnostic {
        let code = match self.kind {
            CapabilityErrorKind::NotFound => "system.capability.missing".to_owned(),
            k => format!("system.capability.{}", k.as_str()),
        };
        let mut metadata = BTreeMap::new();
        metadata.insert(keys::CAPABILITY_ID.to_owned(), Value::from(self.id));
        Diagnostic {
            code,
            severity: Severity::Error,
            message: self.message,
            metadata,
        }
    }
}

/// The descriptor of an installed capability (registry chapter `CapabilityDescriptor`).
#[derive(Clone, Debug, PartialEq)]
pub struct CapabilityDescriptor {
    /// Capability id (`core.process`).
    pub id: String,
    /// Stage.
    pub stage: StageId,
    /// The granted effect scope.
    pub effect_scope: EffectSet,
    /// Who provides it.
    pub provider: CapabilityProvider,
    /// Where its manifest is.
    pub manifest_path: Option<PathBuf>,
    /// When it last passed verification (UTC).
    pub last_verified_at: Option<SystemTime>,
    /// The security summary (`describe`'s `security` object).
    pub security: Value,
}

impl CapabilityDescriptor {
    /// The JSON form printed by `reml-process describe --json` (`docs/command.md`).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "stage": self.stage.as_str(),
            "effect_scope": self.effect_scope.to_sorted_strings(),
            "provider": self.provider.to_json(),
            "manifest_path": self.manifest_path.as_ref().map(|p| p.display().to_string()),
            "last_verified_at": self.last_verified_at.map(rfc3339_seconds),
            "security": self.security,
        })
    }
}

fn rfc3339_seconds(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    dt.format(&fmt).unwrap_or_default()
}

/// What [`CapabilityRegistry::register`] installs with.
#[derive(Clone, Debug)]
pub struct Registration {
    /// The security policy reviewed at installation and enforced afterwards.
    pub policy: Arc<Policy>,
    /// Where the policy came from (`None`: the built-in default policy).
    pub policy_path: Option<PathBuf>,
    /// The plugin manifest.
    pub manifest: Manifest,
    /// Where the manifest is.
    pub manifest_path: Option<PathBuf>,
    /// Run the security review (`verify_capability_security`). Off only for the built-in
    /// default policy of `run`, which names exactly the program it runs.
    pub review: bool,
}

struct Entry {
    handle: CapabilityHandle,
    descriptor: CapabilityDescriptor,
    registration: Registration,
}

/// The Capability Registry (spec §6).
///
/// `register` reviews the policy (`verify_capability_security`: an error finding is
/// `SecurityViolation`), checks that the granted `effect_scope` covers the effects the
/// capability produces (`UnsafeViolation` otherwise), refuses a second registration under
/// the same id (`AlreadyRegistered`), and records `capability.registered` and
/// `capability.verified` when an audit sink is attached.
#[derive(Default)]
pub struct CapabilityRegistry {
    entries: Mutex<BTreeMap<String, Entry>>,
    audit: Option<Arc<dyn AuditSink>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CapabilityRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty registry that records its events to `sink`.
    pub fn with_audit(sink: Arc<dyn AuditSink>) -> Self {
        CapabilityRegistry {
            entries: Mutex::new(BTreeMap::new()),
            audit: Some(sink),
        }
    }

    fn log(&self, event: &str, id: &str, severity: Severity, extra: &[(&str, Value)]) {
        if let Some(sink) = &self.audit {
            let mut ev = AuditEvent::new(domains::CAPABILITY, id, event)
                .with_severity(severity)
                .with_metadata(keys::CAPABILITY_ID, id);
            for (k, v) in extra {
                ev = ev.with_metadata(*k, v.clone());
            }
            let _ = sink.write(&ev);
        }
    }

    /// Installs `handle` under `id` (spec §6).
    ///
    /// # Errors
    /// `AlreadyRegistered` when `id` is taken; `SecurityViolation` when the review finds an
    /// error (the finding codes are in `findings`); `UnsafeViolation` when the granted
    /// `effect_scope` lacks an effect the capability produces.
    pub fn register(
        &self,
        id: &str,
        handle: CapabilityHandle,
        registration: Registration,
    ) -> Result<CapabilityDescriptor, CapabilityError> {
        let mut entries = lock(&self.entries);
        if entries.contains_key(id) {
            return Err(CapabilityError::new(
                CapabilityErrorKind::AlreadyRegistered,
                id,
                format!("a capability is already registered under `{id}`"),
            ));
        }
        let descriptor = self.verify_registration(id, &handle, &registration)?;
        self.log(
            events::CAPABILITY_REGISTERED,
            id,
            Severity::Info,
            &[("capability.kind", handle.kind().into())],
        );
        entries.insert(
            id.to_owned(),
            Entry {
                handle,
                descriptor: descriptor.clone(),
                registration,
            },
        );
        Ok(descriptor)
    }

    fn verify_registration(
        &self,
        id: &str,
        handle: &CapabilityHandle,
        reg: &Registration,
    ) -> Result<CapabilityDescriptor, CapabilityError> {
        if reg.review {
            let review = verify_capability_security(&reg.policy);
            if review.has_errors() {
                let codes: Vec<String> = review
                    .findings()
                    .iter()
                    .filter(|f| f.severity == Severity::Error)
                    .map(|f| format!("{} ({})", f.code, f.entry))
                    .collect();
                self.log(
                    events::CAPABILITY_VERIFIED,
                    id,
                    Severity::Error,
                    &[
                        ("capability.ok", false.into()),
                        ("capability.findings", json!(codes)),
                    ],
                );
                let mut e = CapabilityError::new(
                    CapabilityErrorKind::SecurityViolation,
                    id,
                    format!("`{id}` fails the security review: {}", codes.join("; ")),
                );
                e.findings = codes;
                return Err(e);
            }
        }
        let scope = reg.policy.effect_scope();
        let missing = handle.minimum_effects().difference(scope);
        if !missing.is_empty() {
            return Err(CapabilityError::new(
                CapabilityErrorKind::UnsafeViolation,
                id,
                format!(
                    "`{id}` produces {missing}, which the granted effect_scope {scope} does not cover"
                ),
            ));
        }
        let now = SystemTime::now();
        self.log(
            events::CAPABILITY_VERIFIED,
            id,
            Severity::Info,
            &[("capability.ok", true.into())],
        );
        Ok(CapabilityDescriptor {
            id: reg.manifest.id.clone(),
            stage: reg.policy.capability.stage,
            effect_scope: scope,
            provider: CapabilityProvider::Plugin {
                package: reg.manifest.package.clone(),
                version: reg.manifest.version.clone(),
            },
            manifest_path: reg.manifest_path.clone(),
            last_verified_at: Some(now),
            security: security_summary(&reg.policy, reg.policy_path.as_deref()),
        })
    }

    /// The handle installed under `id`.
    ///
    /// # Errors
    /// `NotFound` (diagnostic `system.capability.missing`).
    pub fn get(&self, id: &str) -> Result<CapabilityHandle, CapabilityError> {
        lock(&self.entries)
            .get(id)
            .map(|e| e.handle.clone())
            .ok_or_else(|| not_found(id))
    }

    /// The process capability installed under `id`, for calling its operations.
    ///
    /// # Errors
    /// `Unsupported` with diagnostic code `system.capability.missing` when nothing is
    /// registered there (or something that is not a process capability).
    pub fn process(&self, id: &str) -> Result<Arc<dyn ProcessCapability>, ProcessError> {
        match self.get(id) {
            Ok(CapabilityHandle::Process(p)) => Ok(p),
            _ => Err(ProcessError::capability_missing(id)),
        }
    }

    /// The descriptor of `id`.
    ///
    /// # Errors
    /// `NotFound`.
    pub fn describe(&self, id: &str) -> Result<CapabilityDescriptor, CapabilityError> {
        lock(&self.entries)
            .get(id)
            .map(|e| e.descriptor.clone())
            .ok_or_else(|| not_found(id))
    }

    /// Runs the verification again (review and effect scope) and refreshes
    /// `last_verified_at`.
    ///
    /// # Errors
    /// `NotFound`, or the errors of [`register`](Self::register)'s verification.
    pub fn verify_capability(&self, id: &str) -> Result<CapabilityDescriptor, CapabilityError> {
        let mut entries = lock(&self.entries);
        let entry = entries.get_mut(id).ok_or_else(|| not_found(id))?;
        let d = self.verify_registration(id, &entry.handle, &entry.registration)?;
        entry.descriptor = d.clone();
        Ok(d)
    }

    /// Verifies `id` and checks its stage against `requirement`.
    ///
    /// # Errors
    /// `StageViolation` (with `actual_stage`) when the stage does not satisfy it; otherwise
    /// those of [`verify_capability`](Self::verify_capability).
    pub fn verify_capability_stage(
        &self,
        id: &str,
        requirement: StageRequirement,
    ) -> Result<CapabilityDescriptor, CapabilityError> {
        let d = self.verify_capability(id)?;
        if !requirement.accepts(d.stage) {
            let mut e = CapabilityError::new(
                CapabilityErrorKind::StageViolation,
                id,
                format!(
                    "`{id}` is at stage {}, which does not satisfy {requirement:?}",
                    d.stage.as_str()
                ),
            );
            e.actual_stage = Some(d.stage);
            return Err(e);
        }
        Ok(d)
    }
}

fn not_found(id: &str) -> CapabilityError {
    CapabilityError::new(
        CapabilityErrorKind::NotFound,
        id,
        format!("no capability is registered under `{id}` (system.capability.missing)"),
    )
}

/// The `security` object of `describe` (`docs/command.md`): audit requirement, isolation,
/// the policy file, the number of allowed commands and the limits that are set.
pub fn security_summary(policy: &Policy, policy_path: Option<&Path>) -> Value {
    let l = &policy.limits;
    let mut limits = serde_json::Map::new();
    // Exact (not through f64, which rounds above 2^53 ns): the form `parse_duration` reads
    // back to the same value, `0s` for zero.
    let secs = |d: std::time::Duration| match crate::units::format_duration(d) {
        zero if zero == "0" => "0s".to_owned(),
        exact => exact,
    };
    if let Some(v) = l.max_processes {
        limits.insert("max_processes".into(), v.into());
    }
    if let Some(v) = l.max_threads {
        limits.insert("max_threads".into(), v.into());
    }
    if let Some(v) = l.max_wall_time {
        limits.insert("max_wall_time".into(), secs(v).into());
    }
    if let Some(v) = l.max_output_bytes {
        limits.insert("max_output_bytes".into(), v.into());
    }
    if let Some(v) = l.cpu_time {
        limits.insert("cpu_time".into(), secs(v).into());
    }
    if let Some(v) = l.address_space {
        limits.insert("address_space".into(), v.into());
    }
    if let Some(v) = l.open_files {
        limits.insert("open_files".into(), v.into());
    }
    if let Some(v) = l.core_dump {
        limits.insert("core_dump".into(), v.into());
    }
    if let Some(v) = &l.allowed_cpus {
        limits.insert(
            "allowed_cpus".into(),
            Value::Array(v.iter().map(Value::from).collect()),
        );
    }
    if let Some(v) = l.max_thread_priority {
        limits.insert("max_thread_priority".into(), v.as_str().into());
    }
    if l.output_cap_action != crate::policy::OutputCapAction::Truncate {
        limits.insert(
            "output_cap_action".into(),
            l.output_cap_action.as_str().into(),
        );
    }
    json!({
        "audit_required": policy.capability.audit_required,
        "isolation_level": policy.capability.isolation_level.as_str(),
        "policy": policy_path.map(|p| p.display().to_string()),
        "allowed_commands": policy.program_entries().count(),
        "limits": Value::Object(limits),
        // What the running kernel provides for the isolation levels (`docs/sandbox.md`).
        "kernel": crate::sandbox::kernel_support().to_json(),
    })
}
