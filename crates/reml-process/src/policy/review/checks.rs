//! The checks of the review, one method of `Reviewer` per part of the policy, and the
//! facts of the machine they compare against (its CPUs, `nr_open`).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::codes::*;
use super::launchers::launcher_kind;
use super::supervisor;
use super::{Finding, Reviewer};
use crate::command::Resource;
use crate::effect::{Effect, EffectSet, Operation};
use crate::error::Severity;
use crate::policy::resolve::{resolve_entry, AllowedProgram, ResolveErrorKind};
use crate::policy::{cpu_seconds, AllowEntry, IsolationLevel, Policy};
use crate::sandbox::{executable_under, first_below_proc};
use crate::thread::CpuSet;

fn mode_of(meta: &std::fs::Metadata) -> u32 {
    meta.permissions().mode() & 0o7777
}

fn who_can_write(mode: u32) -> &'static str {
    match (mode & 0o020 != 0, mode & 0o002 != 0) {
        (true, true) => "its group and others",
        (true, false) => "its group",
        _ => "others",
    }
}

/// The directories above `path`, nearest first, up to `/`.
fn dirs_above(path: &Path) -> impl Iterator<Item = &Path> {
    path.ancestors()
        .skip(1)
        .filter(|p| !p.as_os_str().is_empty())
}

impl Reviewer {
    pub(super) fn push(
        &mut self,
        code: &'static str,
        severity: Severity,
        entry: &str,
        message: String,
    ) {
        self.findings.push(Finding {
            code,
            severity,
            entry: entry.to_owned(),
            message,
        });
    }

    fn trusted_owner(&self, uid: u32) -> bool {
        uid == 0 || uid == self.euid
    }

    pub(super) fn command(&mut self, policy: &Policy, entry: &AllowEntry) {
        let name = entry.to_string();
        let mut names: Vec<String> = entry.file_name().map(str::to_owned).into_iter().collect();
        // The path the entry is reached by before any symlink is resolved: the entry's own,
        // or `DIR/NAME` of the search path.
        let mut literal = match entry {
            AllowEntry::Path(p) => Some(p.clone()),
            AllowEntry::Name(_) => None,
        };
        let mut resolved = None;
        match resolve_entry(entry, &policy.commands.search_path) {
            Err(e) => {
                let code = match e.kind {
                    ResolveErrorKind::NotFound => COMMAND_NOT_FOUND,
                    ResolveErrorKind::NotRegularFile => COMMAND_NOT_REGULAR,
                    ResolveErrorKind::NotExecutable => COMMAND_NOT_EXECUTABLE,
                    ResolveErrorKind::Io => COMMAND_UNRESOLVABLE,
                };
                self.push(code, Severity::Error, &name, e.message.clone());
                if let Some(real) = e
                    .path
                    .as_deref()
                    .and_then(|p| std::fs::canonicalize(p).ok())
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                {
                    names.push(real);
                }
            }
            Ok(prog) => {
                if let Some(n) = prog.path.file_name() {
                    names.push(n.to_string_lossy().into_owned());
                }
                self.command_file(&name, &prog.path);
                // Directories above the canonical file, then above the path it was found
                // at (a symlink there could be redirected); each directory once.
                let literal_parent = prog.found_at.parent().map(Path::to_owned);
                let dirs = dirs_above(&prog.path)
                    .map(Path::to_owned)
                    .chain(literal_parent.iter().flat_map(|p| {
                        std::iter::once(p.to_owned()).chain(dirs_above(p).map(Path::to_owned))
                    }))
                    .collect::<Vec<_>>();
                let mut seen_ids = Vec::new();
                for dir in dirs {
                    let Ok(meta) = std::fs::metadata(&dir) else {
                        continue;
                    };
                    let id = (meta.dev(), meta.ino());
                    if seen_ids.contains(&id) {
                        continue;
                    }
                    seen_ids.push(id);
                    self.command_dir(&name, &prog.path, &prog.found_at, &dir, &meta);
                }
                literal = Some(prog.found_at.clone());
                resolved = Some(prog);
            }
        }
        names.dedup();
        self.launcher(entry, literal.as_deref(), resolved.as_ref(), &names);
    }

    /// The `policy.command.launcher` finding of an entry, if any (one at most): reached
    /// through a link of procfs, or the supervisor by identity (errors); the program running
    /// the review, or a launcher by name (warnings).
    fn launcher(
        &mut self,
        entry: &AllowEntry,
        literal: Option<&Path>,
        prog: Option<&AllowedProgram>,
        names: &[String],
    ) {
        let name = &entry.to_string();
        if let Some(link) = literal.and_then(supervisor::proc_link_on_path) {
            let now = prog.map_or_else(String::new, |p| {
                format!(" (for this review: {})", p.path.display())
            });
            self.push(
                COMMAND_LAUNCHER,
                Severity::Error,
                name,
                format!(
                    "`{name}` goes through {}, a link of procfs that stands for whatever a process runs or holds open when the policy is installed{now}, not for a file on disk (through /proc/self/exe: the supervisor itself, which runs any program); allow the program by its own path",
                    link.display()
                ),
            );
            return;
        }
        if let Some(p) = prog {
            let path = p.path.display();
            if supervisor::has_supervisor_note(&p.path).unwrap_or(false) {
                self.push(
                    COMMAND_LAUNCHER,
                    Severity::Error,
                    name,
                    format!(
                        "`{name}` resolves to {path}, the reml-process supervisor (it carries the supervisor's ELF note, whatever its name): `{path} run -- PROGRAM` runs any program with any arguments, environment and working directory under a policy of its caller's choosing, with no audit record of it, so nothing this policy restricts holds for what it starts; allow the programs themselves instead"
                    ),
                );
                return;
            }
            if supervisor::is_running_program(p.id) {
                self.push(
                    COMMAND_LAUNCHER,
                    Severity::Warning,
                    name,
                    format!(
                        "`{name}` resolves to {path}, the program running this review (/proc/self/exe): the host of the capability allows itself; if its arguments can name a program to run, allowing it allows any program"
                    ),
                );
                return;
            }
        }
        let Some((n, l)) = names.iter().find_map(|n| launcher_kind(n).map(|l| (n, l))) else {
            return;
        };
        let via = if Some(n.as_str()) == entry.file_name() {
            format!("`{name}` is {}", l.why)
        } else {
            format!("`{name}` resolves to `{n}`, {}", l.why)
        };
        let how = if l.how.is_empty() {
            String::new()
        } else {
            format!(" ({})", l.how)
        };
        self.push(
            COMMAND_LAUNCHER,
            Severity::Warning,
            name,
            format!("{via}{how}; allowing it allows any program (it defeats the allow-list)"),
        );
    }

    fn command_file(&mut self, name: &str, path: &Path) {
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        let mode = mode_of(&meta);
        if mode & 0o022 != 0 {
            self.push(
                COMMAND_WRITABLE,
                Severity::Error,
                name,
                format!(
                    "{} (mode {mode:04o}) is writable by {}: it could be replaced after review",
                    path.display(),
                    who_can_write(mode)
                ),
            );
        }
        if !self.trusted_owner(meta.uid()) {
            self.push(
                COMMAND_UNTRUSTED_OWNER,
                Severity::Warning,
                name,
                format!(
                    "{} is owned by uid {}, neither root nor us (uid {}): that user can replace it",
                    path.display(),
                    meta.uid(),
                    self.euid
                ),
            );
        }
    }

    /// Whether `dir` (with `meta`) is a sticky directory owned by root or us whose entry on
    /// the way to `paths` is owned by root or us too: then nobody else can remove or rename
    /// that entry, so the path cannot be redirected through `dir` although it is writable.
    fn sticky_but_safe(&self, dir: &Path, meta: &std::fs::Metadata, paths: &[&Path]) -> bool {
        mode_of(meta) & 0o1000 != 0
            && self.trusted_owner(meta.uid())
            && Self::entry_below(dir, paths)
                .and_then(|e| std::fs::symlink_metadata(e).ok())
                .is_some_and(|m| self.trusted_owner(m.uid()))
    }

    /// The entry of `dir` through which `paths` pass (`dir/first-component`), if any.
    fn entry_below(dir: &Path, paths: &[&Path]) -> Option<std::path::PathBuf> {
        paths.iter().find_map(|p| {
            let rest = p.strip_prefix(dir).ok()?;
            let first = rest.components().next()?;
            Some(dir.join(first))
        })
    }

    fn command_dir(
        &mut self,
        name: &str,
        file: &Path,
        found_at: &Path,
        dir: &Path,
        meta: &std::fs::Metadata,
    ) {
        let mode = mode_of(meta);
        // A sticky directory (like /tmp, mode 1777) owned by root or us is safe on the way
        // when the entry of it that the path goes through is owned by root or us too: the
        // sticky bit stops everyone else from removing or renaming that entry, so the path
        // cannot be redirected (what they can do — create other entries — does not touch it).
        if mode & 0o022 != 0 && !self.sticky_but_safe(dir, meta, &[file, found_at]) {
            let sticky = if mode & 0o1000 != 0 {
                " (it is sticky, but the entry the path goes through is not owned by root or us, so its owner can swap it)"
            } else {
                ""
            };
            self.push(
                COMMAND_DIR_WRITABLE,
                Severity::Error,
                name,
                format!(
                    "directory {} (mode {mode:04o}) on the way to {} is writable by {}{sticky}: the program could be replaced after review",
                    dir.display(),
                    file.display(),
                    who_can_write(mode)
                ),
            );
        }
        if !self.trusted_owner(meta.uid()) {
            self.push(
                COMMAND_UNTRUSTED_OWNER,
                Severity::Warning,
                name,
                format!(
                    "directory {} on the way to {} is owned by uid {}, neither root nor us (uid {}): that user can replace what it holds",
                    dir.display(),
                    file.display(),
                    meta.uid(),
                    self.euid
                ),
            );
        }
    }

    pub(super) fn search_path(&mut self, policy: &Policy) {
        if !policy
            .program_entries()
            .any(|e| matches!(e, AllowEntry::Name(_)))
        {
            return;
        }
        for dir in policy
            .commands
            .search_path
            .iter()
            .filter(|d| d.is_absolute())
        {
            if !dir.exists() {
                continue;
            }
            let shown = dir.display().to_string();
            for d in std::iter::once(dir.as_path()).chain(dirs_above(dir)) {
                let Ok(meta) = std::fs::metadata(d) else {
                    continue;
                };
                let mode = mode_of(&meta);
                // Above the search directory, a sticky directory owned by root or us is safe
                // when the entry the path goes through is trusted too (see `command_dir`);
                // the search directory itself must not be writable at all: planting a new
                // file needs no rename.
                let sticky_but_safe =
                    d != dir.as_path() && self.sticky_but_safe(d, &meta, &[dir.as_path()]);
                if mode & 0o022 != 0 && !sticky_but_safe {
                    let where_ = if d == dir.as_path() {
                        String::new()
                    } else {
                        format!(" (through {}, mode {mode:04o})", d.display())
                    };
                    self.push(
                        SEARCH_PATH_WRITABLE,
                        Severity::Error,
                        &shown,
                        format!(
                            "search_path directory {shown}{where_} is writable by {}: a program planted there under an allowed bare name would be picked at the next resolution",
                            who_can_write(mode)
                        ),
                    );
                    break;
                }
            }
        }
    }

    pub(super) fn effect_scope(&mut self, policy: &Policy) {
        let c = &policy.commands;
        let l = &policy.limits;
        let mut needs: Vec<(&str, EffectSet)> = Vec::new();
        if policy.names_programs() {
            needs.push((
                "`commands.allow` or `[[commands.rule]]` names programs (spawning, waiting for and signalling children)",
                Operation::SpawnProcess { passes_fds: false }
                    .effects()
                    .union(Operation::WaitProcess.effects())
                    .union(Operation::KillProcess.effects()),
            ));
        }
        if c.pass_fds {
            needs.push((
                "`commands.pass_fds = true` (passing descriptors to a child)",
                Operation::SpawnProcess { passes_fds: true }.effects(),
            ));
        }
        if l.max_output_bytes.is_some() {
            needs.push((
                "`limits.max_output_bytes` is set (collecting output)",
                Operation::WaitWithOptions {
                    collect_output: true,
                }
                .effects(),
            ));
        }
        if l.max_threads.is_some_and(|n| n > 0) {
            needs.push((
                "`limits.max_threads` allows threads (creating and joining them)",
                Operation::CreateThread
                    .effects()
                    .union(Operation::JoinThread.effects()),
            ));
        }
        if l.allowed_cpus.is_some() {
            needs.push((
                "`limits.allowed_cpus` is set (setting thread affinity)",
                Operation::SetThreadAffinity.effects(),
            ));
        }
        if l.max_thread_priority.is_some() {
            needs.push((
                "`limits.max_thread_priority` is set (thread priorities)",
                Operation::CreateThread.effects(),
            ));
        }
        if policy.capability.audit_required {
            needs.push((
                "`capability.audit_required = true` (writing the audit log)",
                EffectSet::of(&[Effect::Audit]),
            ));
        }
        let Some(scope) = policy.capability.effect_scope else {
            self.push(
                EFFECT_SCOPE_ABSENT,
                Severity::Warning,
                "capability.effect_scope",
                format!(
                    "no effect_scope: every effect of the plugin is granted ({}); declare the effects this installation needs",
                    super::PLUGIN_EFFECTS
                ),
            );
            return;
        };
        let needed = needs
            .iter()
            .fold(EffectSet::EMPTY, |acc, (_, s)| acc.union(*s));
        for effect in needed.difference(scope).iter() {
            let why: Vec<&str> = needs
                .iter()
                .filter(|(_, s)| s.contains(effect))
                .map(|(w, _)| *w)
                .collect();
            self.push(
                EFFECT_SCOPE_MISSING,
                Severity::Error,
                effect.as_str(),
                format!(
                    "effect `{effect}` is not in `capability.effect_scope` but the policy needs it: {}; every such call would be denied",
                    why.join("; ")
                ),
            );
        }
    }

    pub(super) fn limits(&mut self, policy: &Policy) {
        let l = &policy.limits;
        let zero = |v: Option<u64>| v == Some(0);
        let zero_d = |v: Option<std::time::Duration>| v.is_some_and(|d| d.is_zero());
        let checks: [(bool, &str, &str); 7] = [
            (
                zero(l.max_processes),
                "max_processes",
                "no child can ever be spawned",
            ),
            (
                zero(l.max_threads),
                "max_threads",
                "no thread can ever be created",
            ),
            (
                zero_d(l.max_wall_time),
                "max_wall_time",
                "every wait times out at once",
            ),
            (
                zero(l.max_output_bytes),
                "max_output_bytes",
                "collected output is always empty and capped",
            ),
            (
                zero_d(l.cpu_time),
                "cpu_time",
                "a child gets SIGXCPU after its first second of CPU",
            ),
            (
                zero(l.address_space),
                "address_space",
                "no child can even be loaded",
            ),
            (
                zero(l.open_files),
                "open_files",
                "a child cannot even hold stdin, stdout and stderr",
            ),
        ];
        for (hit, key, why) in checks {
            if hit {
                self.push(
                    LIMITS_ZERO,
                    Severity::Warning,
                    &format!("limits.{key}"),
                    format!("`{key}` is 0: {why}"),
                );
            }
        }
        if let Some(n @ 1..=2) = l.open_files {
            self.push(
                LIMITS_NONSENSICAL,
                Severity::Warning,
                "limits.open_files",
                format!("`open_files = {n}`: a child needs at least 3 descriptors for stdin, stdout and stderr"),
            );
        }
        if let (Some(n), Some(max)) = (l.open_files, read_nr_open()) {
            if n > max {
                self.push(
                    LIMITS_NONSENSICAL,
                    Severity::Warning,
                    "limits.open_files",
                    format!("`open_files = {n}` is above the kernel's ceiling /proc/sys/fs/nr_open = {max}: no process can have that many; children get the host's hard limit instead"),
                );
            }
        }
        if let Some(b @ 1..=0xFF_FFFF) = l.address_space {
            self.push(
                LIMITS_NONSENSICAL,
                Severity::Warning,
                "limits.address_space",
                format!("`address_space = {b}` bytes is below 16 MiB: most programs cannot even be loaded"),
            );
        }
        if let Some(d) = l.cpu_time.filter(|d| !d.is_zero() && d.subsec_nanos() != 0) {
            self.push(
                LIMITS_NONSENSICAL,
                Severity::Warning,
                "limits.cpu_time",
                format!(
                    "`cpu_time` = {d:?}: RLIMIT_CPU counts whole seconds, so it is rounded up to {} s",
                    cpu_seconds(d)
                ),
            );
        }
        self.limits_above_host(policy);
        if l.max_wall_time.is_none() {
            self.push(
                LIMITS_NO_WALL_TIME,
                Severity::Warning,
                "limits.max_wall_time",
                "no `max_wall_time`: a wait without its own time limit may last forever".to_owned(),
            );
        }
    }

    /// `policy.limits.above_host`: each rlimit of the policy whose hard value is above our
    /// own hard limit (which children inherit and the policy layer never exceeds).
    fn limits_above_host(&mut self, policy: &Policy) {
        for r in policy.child_rlimits() {
            let (Some(hard), Some(host)) =
                (r.hard, crate::sys::imp::process::hard_rlimit(r.resource))
            else {
                continue;
            };
            if hard <= host {
                continue;
            }
            let l = &policy.limits;
            let (key, value) = match r.resource {
                Resource::CpuTime => (
                    "cpu_time",
                    l.cpu_time.map_or_else(String::new, |d| {
                        format!(
                            "{d:?} (RLIMIT_CPU soft {} s, hard {hard} s)",
                            r.soft.unwrap_or(hard)
                        )
                    }),
                ),
                Resource::AddressSpace => ("address_space", format!("{hard} bytes")),
                Resource::OpenFiles => ("open_files", hard.to_string()),
                other => (other.name(), hard.to_string()),
            };
            let soft = r.soft.map_or(host, |s| s.min(host));
            self.push(
                LIMITS_ABOVE_HOST,
                Severity::Warning,
                &format!("limits.{key}"),
                format!(
                    "`{key}` = {value} is above this host's hard limit {} = {host} (of the process running the review, which every child inherits and only a privileged process could raise): children get soft {soft}, hard {host}, the stricter of the two",
                    r.resource.name()
                ),
            );
        }
    }

    pub(super) fn cpus(&mut self, policy: &Policy) {
        let Some(allowed) = &policy.limits.allowed_cpus else {
            return;
        };
        let Some((machine, source)) = machine_cpus() else {
            self.push(
                CPUS_UNCHECKED,
                Severity::Info,
                "limits.allowed_cpus",
                "the CPUs of this machine could not be read (/sys/devices/system/cpu/possible, sched_getaffinity); allowed_cpus was not checked".to_owned(),
            );
            return;
        };
        let absent = allowed.difference(&machine);
        if !absent.is_empty() {
            self.push(
                CPUS_ABSENT,
                Severity::Warning,
                "limits.allowed_cpus",
                format!("`allowed_cpus = \"{allowed}\"` names CPUs {absent} that this machine does not have ({source}: {machine})"),
            );
        }
    }

    /// What a confining level makes impossible to run: an allowed program outside every
    /// `read` and `write` tree, a `full_isolation` grant below `/proc` (the rules the spawn
    /// applies, [`crate::sandbox`]).
    pub(super) fn sandbox(&mut self, policy: &Policy) {
        let level = policy.capability.isolation_level;
        if level == IsolationLevel::None {
            return;
        }
        let (read, write) = (policy.sandbox.read_paths(), policy.sandbox.write_paths());
        if level == IsolationLevel::FullIsolation {
            let below = first_below_proc(read)
                .map(|p| ("sandbox.read", p))
                .or_else(|| first_below_proc(write).map(|p| ("sandbox.write", p)));
            if let Some((key, path)) = below {
                self.push(
                    SANDBOX_BELOW_PROC,
                    Severity::Error,
                    key,
                    format!(
                        "`{key}` grants {}, below /proc: under `full_isolation` the child has its own /proc, so only `/proc` itself can be granted; every spawn would be refused",
                        crate::error::os_text(path)
                    ),
                );
            }
        }
        if read.is_empty() {
            return; // policy.sandbox.no_read says it
        }
        if level == IsolationLevel::FullIsolation && !covers_proc(read, write) {
            self.push(
                SANDBOX_NO_PROC,
                Severity::Info,
                "sandbox.read",
                "`full_isolation` and no `[sandbox] read` or `write` path covers /proc: the child's own /proc is not readable to it (reading /proc/self/status fails with EACCES), so programs that read /proc fail; add \"/proc\" to `read` if they need it".to_owned(),
            );
        }
        for entry in policy.program_entries() {
            let Ok(program) = policy.resolve_entry(entry) else {
                continue; // policy.command.* says it
            };
            if !executable_under(&program.path, read, write) {
                self.push(
                    SANDBOX_PROGRAM_OUTSIDE,
                    Severity::Error,
                    &entry.to_string(),
                    format!(
                        "{} lies outside `[sandbox] read` and `write`: under `{level}` it could not execute, every spawn of it would be refused",
                        crate::error::os_text(&program.path)
                    ),
                );
            }
        }
    }

    pub(super) fn env(&mut self, policy: &Policy) {
        if !policy.names_programs() {
            return;
        }
        let leaking: Vec<&str> = ["LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH"]
            .into_iter()
            .filter(|n| policy.env_passes(std::ffi::OsStr::new(n)))
            .collect();
        if !leaking.is_empty() {
            self.push(
                ENV_LOADER_NOT_DENIED,
                Severity::Warning,
                "env.deny",
                format!(
                    "{} can reach a child (not in `env.deny`{}): each makes an allowed program load and run other code",
                    leaking.join(", "),
                    if policy.env.allow.is_empty() { ", no `env.allow` list" } else { "" }
                ),
            );
        }
    }

    pub(super) fn cwd(&mut self, policy: &Policy) {
        for root in policy.commands.allowed_cwd.iter().flatten() {
            if !root.is_dir() {
                let shown = root.display().to_string();
                self.push(
                    CWD_NOT_FOUND,
                    Severity::Warning,
                    &shown,
                    format!("allowed_cwd root {shown} does not exist or is not a directory: no cwd can lie under it"),
                );
            }
        }
    }
}

/// The CPUs of this machine and where they were read from.
fn machine_cpus() -> Option<(CpuSet, &'static str)> {
    if let Some(l) = crate::thread::possible_cpus()
        .ok()
        .filter(|set| !set.is_empty())
    {
        return Some((l, "/sys/devices/system/cpu/possible"));
    }
    machine_cpus_from_affinity()
}

/// The CPUs this process may run on, from the scheduler. Without a backend the affinity
/// cannot be read: unknown (the review says so).
fn machine_cpus_from_affinity() -> Option<(CpuSet, &'static str)> {
    let ids = crate::sys::imp::thread::sched_getaffinity_thread(None).ok()?;
    let set: CpuSet = ids.into_iter().collect();
    (!set.is_empty()).then_some((set, "sched_getaffinity"))
}

fn read_nr_open() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether the `[sandbox]` grants of a `full_isolation` policy leave the child's own `/proc`
/// readable to it: a `read` or `write` path that is `/proc` itself (the child adds that grant
/// for its new `/proc`, [`crate::sandbox`]), or a directory above it (`/`: a Landlock rule
/// covers what is mounted beneath it, the new `/proc` too). A link to `/proc` names the host's
/// procfs, which the new mount hides: it does not count.
fn covers_proc(read: &[std::path::PathBuf], write: &[std::path::PathBuf]) -> bool {
    let proc_dir = Path::new("/proc");
    read.iter().chain(write).any(|p| {
        p.as_path() == proc_dir || {
            let canonical = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            canonical.as_path() != proc_dir && proc_dir.starts_with(&canonical)
        }
    })
}
