//! Reading a policy: from TOML text or a file (size-capped, strict), the default policy of
//! one program, and the conversion of the parsed form into [`Policy`].

use super::*;

impl Policy {
    /// Parses a policy from TOML text (`docs/policy.md`).
    ///
    /// # Errors
    /// A [`PolicyError`] with the line, the column and (except for syntax errors) the key:
    /// [`Syntax`](PolicyErrorKind::Syntax) for invalid TOML,
    /// [`UnknownKey`](PolicyErrorKind::UnknownKey) for a section or key the format does not
    /// have, [`MissingKey`](PolicyErrorKind::MissingKey) when `[commands] allow` is absent,
    /// [`InvalidType`](PolicyErrorKind::InvalidType) and
    /// [`InvalidValue`](PolicyErrorKind::InvalidValue) for a bad value.
    pub fn from_toml_str(text: &str) -> Result<Policy, PolicyError> {
        let doc =
            toml_edit::ImDocument::parse(text).map_err(|e| error::from_syntax_error(text, &e))?;
        let raw: de::RawPolicy =
            toml::from_str(text).map_err(|e| error::from_de_error(text, &doc, &e))?;
        Ok(Policy::from_raw(raw))
    }

    /// Reads and parses the policy file at `path` (at most [`MAX_POLICY_BYTES`]).
    ///
    /// # Errors
    /// Everything [`Policy::from_toml_str`] returns, with [`PolicyError::path`] set;
    /// [`Io`](PolicyErrorKind::Io) when the file cannot be opened or read, is not a regular
    /// file (a FIFO, a device, a directory: refused at once, never waited on), or is larger
    /// than [`MAX_POLICY_BYTES`]; [`Syntax`](PolicyErrorKind::Syntax) at the first invalid byte
    /// when it is not UTF-8.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Policy, PolicyError> {
        let path = path.as_ref();
        // Only a regular file, refused without blocking otherwise (`docs/command.md`: a FIFO
        // would block `open(2)` until a writer came, with `run`'s signals blocked).
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        let file = crate::process::files::open_regular(path, &options).map_err(|e| match e {
            crate::process::files::RegularError::Io(e) => PolicyError::io(path, &e),
            crate::process::files::RegularError::NotRegular(what) => PolicyError::new(
                PolicyErrorKind::Io,
                None,
                None,
                format!("{what}, not a regular file: a policy must be a regular file"),
            )
            .with_path(path),
        })?;
        let mut bytes = Vec::new();
        file.take(MAX_POLICY_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| PolicyError::io(path, &e))?;
        if bytes.len() as u64 > MAX_POLICY_BYTES {
            let mut e = PolicyError::new(
                PolicyErrorKind::Io,
                None,
                None,
                format!("larger than {MAX_POLICY_BYTES} bytes; not a policy file"),
            );
            e.path = Some(path.to_owned());
            return Err(e);
        }
        let text = match std::str::from_utf8(&bytes) {
            Ok(t) => t,
            Err(e) => {
                let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or("");
                let loc = Location::of_offset(valid, valid.len());
                return Err(PolicyError::new(
                    PolicyErrorKind::Syntax,
                    None,
                    Some(loc),
                    "the file is not valid UTF-8",
                )
                .with_path(path));
            }
        };
        Policy::from_toml_str(text)
            .map(|p| p.with_label(path.display().to_string()))
            .map_err(|e| e.with_path(path))
    }

    /// The built-in default policy of `reml-process run` when no `--policy` is given
    /// (`docs/policy.md`, "The built-in default policy": the one program named,
    /// every effect, no audit requirement).
    ///
    /// `program` is the absolute path `run` resolved the program to (its own resolution
    /// rule, against the child's `PATH` and cwd); the policy's allow-list is exactly that
    /// path, compared canonically like any entry. Exactly:
    /// - `[capability]`: stage `beta`, `effect_scope` = [`PLUGIN_EFFECTS`] (explicitly set,
    ///   so the review does not warn), `audit_required = false`, isolation `sandboxed`;
    /// - `[commands]`: `allow = [program]`, `search_path` = [`DEFAULT_SEARCH_PATH`] (unused,
    ///   the entry is absolute), any cwd, any signal, `pass_fds = true` (the invoking user
    ///   already owns the descriptors it asks to pass);
    /// - `[env]`: inherit, nothing denied, no allow list;
    /// - `[limits]`: `max_processes = 64` (the value `describe` shows), everything else
    ///   unlimited: no `max_wall_time` (so only `--timeout` limits a run), no output cap, no
    ///   rlimits applied, any CPU, no priority ceiling;
    /// - `[audit]`: nothing redacted.
    ///
    /// # Errors
    /// [`InvalidValue`](PolicyErrorKind::InvalidValue) with key `commands.allow` when
    /// `program` is not an absolute path or contains a NUL byte.
    pub fn default_for_program(program: &Path) -> Result<Policy, PolicyError> {
        let bad = |why: String| {
            PolicyError::new(
                PolicyErrorKind::InvalidValue,
                Some("commands.allow".to_owned()),
                None,
                why,
            )
        };
        if !program.is_absolute() {
            return Err(bad(format!(
                "the default policy needs the program's absolute path, not `{}`",
                crate::error::os_text(&program)
            )));
        }
        if program.as_os_str().as_bytes().contains(&0) {
            return Err(bad("the program path contains a NUL byte".to_owned()));
        }
        Ok(Policy {
            capability: CapabilitySection {
                stage: StageId::Beta,
                effect_scope: Some(PLUGIN_EFFECTS),
                audit_required: false,
                isolation_level: IsolationLevel::None,
            },
            commands: CommandsSection {
                allow: vec![AllowEntry::Path(program.to_owned())],
                search_path: default_search_path(),
                allowed_cwd: None,
                allowed_signals: None,
                pass_fds: true,
                rules: Vec::new(),
            },
            env: EnvSection {
                inherit: true,
                deny: Vec::new(),
                allow: Vec::new(),
                allow_none: false,
            },
            limits: LimitsSection {
                max_processes: Some(64),
                ..LimitsSection::default()
            },
            audit: AuditSection::default(),
            sandbox: SandboxSection::default(),
            narrowing: narrow::Narrowing::default(),
        })
    }

    fn from_raw(raw: de::RawPolicy) -> Policy {
        let c = raw.capability;
        let k = raw.commands;
        let e = raw.env;
        let l = raw.limits;
        let mut signals = k.allowed_signals.map(|s| s.0);
        if let Some(s) = signals.as_mut() {
            s.sort_unstable();
            s.dedup();
        }
        Policy {
            capability: CapabilitySection {
                stage: c.stage.map_or(StageId::default(), |v| v.0),
                effect_scope: c.effect_scope.map(|v| v.0.into_iter().collect()),
                audit_required: c.audit_required.unwrap_or(false),
                isolation_level: c.isolation_level.map_or(IsolationLevel::default(), |v| v.0),
            },
            commands: CommandsSection {
                allow: k.allow.0,
                search_path: k.search_path.map_or_else(default_search_path, |v| {
                    v.0.into_iter().map(|d| d.0).collect()
                }),
                allowed_cwd: k
                    .allowed_cwd
                    .map(|v| v.0.into_iter().map(|d| d.0).collect()),
                allowed_signals: signals,
                pass_fds: k.pass_fds.unwrap_or(false),
                rules: k.rule.map_or_else(Vec::new, de::rules),
            },
            env: EnvSection {
                inherit: e.inherit.unwrap_or(true),
                deny: e
                    .deny
                    .map_or_else(Vec::new, |v| v.0.into_iter().map(|n| n.0).collect()),
                allow: e
                    .allow
                    .map_or_else(Vec::new, |v| v.0.into_iter().map(|n| n.0).collect()),
                allow_none: false,
            },
            limits: LimitsSection {
                max_processes: l.max_processes.map(|v| v.0 .0),
                max_threads: l.max_threads.map(|v| v.0 .0),
                max_wall_time: l.max_wall_time.map(|v| v.0 .0),
                max_output_bytes: l.max_output_bytes.map(|v| v.0 .0),
                cpu_time: l.cpu_time.map(|v| v.0 .0),
                address_space: l.address_space.map(|v| v.0 .0),
                open_files: l.open_files.map(|v| v.0 .0),
                core_dump: l.core_dump,
                allowed_cpus: l.allowed_cpus.map(|v| v.0),
                max_thread_priority: l.max_thread_priority.map(|v| v.0),
                output_cap_action: l.output_cap_action.map(|v| v.0).unwrap_or_default(),
            },
            audit: AuditSection {
                redact: raw.audit.redact.map_or_else(Vec::new, |v| v.0),
            },
            sandbox: raw.sandbox.into_section(),
            narrowing: narrow::Narrowing::default(),
        }
    }
}
