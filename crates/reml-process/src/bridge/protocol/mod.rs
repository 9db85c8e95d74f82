//! [`Bridge`]: the invoke protocol over the full stack, holding handles between calls.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::json::{error_json, outcome_json};
use crate::audit::{AuditSink, JsonLinesSink, NullSink, StderrSink};
use crate::registry::{CapabilityHandle, CapabilityRegistry, Manifest, Registration};
use crate::{
    verify_capability_security, Cause, Command, Environment, NativeProcessCapability, Policy,
    ProcessCapability, ProcessError, ProcessErrorKind, ProcessHandle, ProcessOutcome, Severity,
    Signal, StdStream, StdioSpec, Termination, WaitOptions,
};

/// The largest handle number: every JSON host (doubles included) keeps integers below 2^53
/// exact.
const MAX_HANDLE: u64 = (1 << 53) - 1;

/// How long a held process has, after `TERM`, to end by itself when the bridge is dropped,
/// before `KILL`.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// One process the host holds: its library handle and what a wait reports about it.
#[derive(Clone)]
struct Held {
    handle: ProcessHandle,
    program: String,
    args: Vec<String>,
    spawned_at: Instant,
}

/// The invoke protocol (`docs/bridge.md`) over the full `core.process` stack: the security
/// policy, then the native backend, with the audit layer around both.
///
/// A bridge holds the processes it spawned between calls, in a table from JSON handle numbers
/// (1, 2, …, always below 2^53) to library handles. It is `Send + Sync`: calls may come from
/// several threads at once (a `process.wait` blocks only its caller). When it is dropped,
/// every process still held is ended: `TERM` to its tree, [`DEFAULT_GRACE`] (or the grace of
/// [`Bridge::with_grace`]) to end by itself, then `KILL` to the tree; each step is recorded in
/// the audit log (`process.killed`, the end record, `process.released`).
///
/// Without a policy every spawn is denied: a host must say what it allows.
pub struct Bridge {
    stack: Box<dyn ProcessCapability>,
    policy: Arc<Policy>,
    policy_shown: Option<String>,
    max_output_bytes: u64,
    held: Mutex<HashMap<u64, Held>>,
    next: Mutex<u64>,
    grace: Duration,
    parent_death_signal: Option<crate::signal::Signal>,
}

/// The policy of a bridge made without one: nothing is allowed.
fn deny_all() -> Result<Policy, ProcessError> {
    Policy::from_toml_str("[commands]\nallow = []\n")
        .map_err(|e| ProcessError::invalid(format!("built-in deny-all policy: {e}")))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Bridge {
    /// A bridge with the policy files `policies` (each further file narrows the ones before,
    /// `docs/policy.md`; each and their combination must pass the security review) and the
    /// audit log `audit` (JSON Lines appended to that file; `-` is standard error; `None`
    /// records nowhere).
    ///
    /// With no policy file every spawn is denied.
    ///
    /// # Errors
    /// `InvalidCommand` when a policy cannot be read or parsed, or fails the security review;
    /// `PermissionDenied` when the policy sets `audit_required` and no audit log is given, or
    /// the log cannot be opened.
    pub fn new(policies: &[PathBuf], audit: Option<&Path>) -> Result<Bridge, ProcessError> {
        let mut narrowed: Option<Policy> = None;
        for path in policies {
            let p = Policy::from_path(path)
                .map_err(|e| ProcessError::invalid(format!("{}: {e}", path.display())))?;
            review(&p, &path.display().to_string())?;
            narrowed = Some(match narrowed {
                Some(acc) => acc.narrow(&p),
                None => p,
            });
        }
        let shown = (!policies.is_empty()).then(|| {
            policies
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" + ")
        });
        if let (Some(p), Some(s)) = (&narrowed, &shown) {
            if policies.len() > 1 {
                review(p, s)?;
            }
        }
        let sink: Option<Arc<dyn AuditSink>> = match audit {
            None => None,
            Some(p) if p.as_os_str() == "-" => Some(Arc::new(StderrSink::new())),
            // The sink's message names the log already ("audit log PATH: …").
            Some(p) => Some(Arc::new(
                JsonLinesSink::open(p).map_err(|e| ProcessError::denied(e.message))?,
            )),
        };
        let mut bridge = Bridge::with_policy(narrowed, sink)?;
        bridge.policy_shown = shown;
        Ok(bridge)
    }

    /// A bridge from the C ABI's configuration object:
    /// `{"policies": ["/path/a.toml", ...], "audit": "/path/log.jsonl" | null}` (both keys
    /// optional; others are an error), as [`Bridge::new`].
    ///
    /// # Errors
    /// `InvalidCommand` for malformed JSON or an unknown key; those of [`Bridge::new`].
    pub fn from_config_json(config: &str) -> Result<Bridge, ProcessError> {
        let v: Value = serde_json::from_str(config)
            .map_err(|e| ProcessError::invalid(format!("configuration: malformed JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| ProcessError::invalid("configuration: expected a JSON object"))?;
        let mut policies = Vec::new();
        let mut audit = None;
        for (k, val) in obj {
            match (k.as_str(), val) {
                ("policies", Value::Array(items)) => {
                    for item in items {
                        let s = item.as_str().ok_or_else(|| {
                            ProcessError::invalid("configuration: policies: expected strings")
                        })?;
                        policies.push(PathBuf::from(s));
                    }
                }
                ("policies", Value::Null) | ("audit", Value::Null) => {}
                ("audit", Value::String(s)) => audit = Some(PathBuf::from(s)),
                ("policies", _) => {
                    return Err(ProcessError::invalid(
                        "configuration: policies: expected an array of paths",
                    ))
                }
                ("audit", _) => {
                    return Err(ProcessError::invalid(
                        "configuration: audit: expected a path or null",
                    ))
                }
                (other, _) => {
                    return Err(ProcessError::invalid(format!(
                        "configuration: unknown key `{other}`"
                    )))
                }
            }
        }
        Bridge::new(&policies, audit.as_deref())
    }

    /// A bridge with an already-loaded `policy` (`None`: every spawn is denied) and an audit
    /// `sink` (`None`: records nowhere), for Rust hosts.
    ///
    /// # Errors
    /// `PermissionDenied` when the policy sets `audit_required` and `sink` is `None`.
    pub fn with_policy(
        policy: Option<Policy>,
        sink: Option<Arc<dyn AuditSink>>,
    ) -> Result<Bridge, ProcessError> {
        let policy = match policy {
            Some(p) => p,
            None => deny_all()?,
        };
        let required = policy.capability.audit_required;
        if required && sink.is_none() {
            return Err(ProcessError::denied(
                "the policy requires an audit log (audit_required = true): give an audit path",
            ));
        }
        let redactor = policy.redactor();
        let max_output_bytes = policy
            .limits
            .max_output_bytes
            .unwrap_or(crate::wait::DEFAULT_MAX_OUTPUT_BYTES);
        let policy = Arc::new(policy);
        // Audit over the policy over the native backend: the library's one stack.
        let stack: Box<dyn ProcessCapability> = Box::new(crate::stack::build(
            Some(policy.clone()),
            &crate::outcome::AuditSettings {
                sink: sink.unwrap_or_else(|| Arc::new(NullSink)),
                redactor,
                required,
            },
        ));
        Ok(Bridge {
            stack,
            policy,
            policy_shown: None,
            max_output_bytes,
            held: Mutex::new(HashMap::new()),
            next: Mutex::new(1),
            grace: DEFAULT_GRACE,
            parent_death_signal: None,
        })
    }

    /// The grace period between `TERM` and `KILL` when the bridge ends held processes
    /// (default [`DEFAULT_GRACE`]).
    pub fn with_grace(mut self, grace: Duration) -> Bridge {
        self.grace = grace;
        self
    }

    /// Gives every child this bridge spawns `signal` as its parent-death signal
    /// ([`Command::parent_death_signal`], Linux `PR_SET_PDEATHSIG`; no effect elsewhere), so
    /// the children still held do not outlive a host that is killed before it can end them
    /// (`reml-process serve` uses `KILL`). The policy checks the signal as for any spawn: it
    /// must be in `allowed_signals`, or `KILL`.
    ///
    /// The kernel sends it when the **thread** that spawned the child ends, not the process:
    /// use it only when every `process.spawn` is invoked from one thread that lives as long
    /// as the host (as `serve`'s main loop). Only the direct children get it; their own
    /// descendants end with them only under `isolation_level = "full_isolation"` (the child
    /// is PID 1 of its namespace).
    pub fn with_parent_death_signal(mut self, signal: crate::signal::Signal) -> Bridge {
        self.parent_death_signal = Some(signal);
        self
    }

    /// Answers one call: `entrypoint` with the JSON object `payload` (an empty payload is
    /// `{}`), as `{"ok": {...}}` or `{"error": {"kind", "message", "code"}}` (JSON bytes).
    /// Malformed JSON, a missing or mistyped field and an unknown entrypoint are
    /// `invalid_command` errors; a panic inside is caught and answered as an `unsupported`
    /// error naming it an internal error. Never panics.
    pub fn invoke(&self, entrypoint: &str, payload: &[u8]) -> Vec<u8> {
        answer_bytes(&self.invoke_value(entrypoint, payload))
    }

    /// [`invoke`](Self::invoke), answering the JSON value.
    pub fn invoke_value(&self, entrypoint: &str, payload: &[u8]) -> Value {
        let result = catch_unwind(AssertUnwindSafe(|| {
            let payload = parse_payload(payload)?;
            self.dispatch(entrypoint, &payload)
        }));
        match result {
            Ok(Ok(v)) => json!({ "ok": v }),
            Ok(Err(e)) => json!({ "error": error_json(&e) }),
            Err(_) => json!({ "error": error_json(&internal()) }),
        }
    }

    /// Answers one line of `reml-process serve` (`docs/serve.md`): the request
    /// `{"id": ID, "entrypoint": "...", "payload": {...}}` (`id` any JSON value, echoed;
    /// `payload` optional, `{}` by default), answered as `{"id": ID, "ok": ...}` or
    /// `{"id": ID, "error": ...}` on one line without its newline. A line that is not such an
    /// object is an `invalid_command` error with `id` `null` (or the id, when it could be
    /// read). Never panics.
    pub fn serve_line(&self, line: &[u8]) -> Vec<u8> {
        let (id, answer) = match serde_json::from_slice::<Value>(line) {
            Err(e) => (
                Value::Null,
                json!({"error": error_json(&ProcessError::invalid(format!("malformed JSON: {e}")))}),
            ),
            Ok(Value::Object(mut req)) => {
                let id = req.remove("id").unwrap_or(Value::Null);
                let answer = match (req.remove("entrypoint"), req.remove("payload")) {
                    (Some(Value::String(ep)), payload) => {
                        let payload = payload.unwrap_or_else(|| json!({}));
                        self.invoke_value(&ep, payload.to_string().as_bytes())
                    }
                    (Some(_), _) => json!({"error": error_json(&ProcessError::invalid(
                        "entrypoint: expected a string"))}),
                    (None, _) => json!({"error": error_json(&ProcessError::invalid(
                        "missing field `entrypoint`"))}),
                };
                (id, answer)
            }
            Ok(_) => (
                Value::Null,
                json!({"error": error_json(&ProcessError::invalid("expected a JSON object"))}),
            ),
        };
        let mut out = Map::new();
        out.insert("id".into(), id);
        if let Value::Object(a) = answer {
            out.extend(a);
        }
        answer_bytes(&Value::Object(out))
    }

    /// The number of processes the bridge holds (spawned and not released).
    pub fn held(&self) -> usize {
        lock(&self.held).len()
    }

    fn dispatch(&self, entrypoint: &str, p: &Map<String, Value>) -> Result<Value, ProcessError> {
        match entrypoint {
            "capability.describe" => self.describe(),
            "process.spawn" => self.spawn(p),
            "process.wait" => self.wait(p),
            "process.kill" => self.kill(p),
            "process.release" => self.release(p),
            other => Err(ProcessError::invalid(format!(
                "unknown entrypoint `{}` (expected capability.describe, process.spawn, \
                 process.wait, process.kill or process.release)",
                crate::error::os_text(std::ffi::OsStr::new(other))
            ))),
        }
    }

    fn describe(&self) -> Result<Value, ProcessError> {
        let registry = CapabilityRegistry::new();
        let handle = CapabilityHandle::Process(Arc::new(NativeProcessCapability::new()));
        let registration = Registration {
            policy: self.policy.clone(),
            policy_path: self.policy_shown.as_ref().map(PathBuf::from),
            manifest: Manifest::bundled(),
            manifest_path: Some(PathBuf::from("plugin.toml")),
            review: self.policy_shown.is_some(),
        };
        let d = registry
            .register("process", handle, registration)
            .map_err(|e| ProcessError::invalid(e.to_string()))?;
        Ok(d.to_json())
    }

    fn spawn(&self, p: &Map<String, Value>) -> Result<Value, ProcessError> {
        let program = req_str(p, "program")?;
        let mut command = Command::new(program);
        if let Some(args) = opt(p, "args") {
            let args = args
                .as_array()
                .ok_or_else(|| field("args", "an array of strings"))?;
            for a in args {
                command.arg(
                    a.as_str()
                        .ok_or_else(|| field("args", "an array of strings"))?,
                );
            }
        }
        if let Some(cwd) = opt(p, "cwd") {
            command.cwd(cwd.as_str().ok_or_else(|| field("cwd", "a string"))?);
        }
        if let Some(clear) = opt(p, "env_clear") {
            if clear
                .as_bool()
                .ok_or_else(|| field("env_clear", "a boolean"))?
            {
                command.env_clear();
            }
        }
        if let Some(env) = opt(p, "env") {
            let env = env
                .as_object()
                .ok_or_else(|| field("env", "an object of strings"))?;
            for (k, v) in env {
                let v = v
                    .as_str()
                    .ok_or_else(|| field("env", "an object of strings"))?;
                command.env(OsString::from(k), OsString::from(v));
            }
        }
        let input = match opt(p, "input") {
            Some(i) => Some(
                i.as_str()
                    .ok_or_else(|| field("input", "a string"))?
                    .to_owned(),
            ),
            None => None,
        };
        let stdin = match opt(p, "stdin") {
            Some(s) => stdio("stdin", s)?,
            None if input.is_some() => StdioSpec::Pipe,
            None => StdioSpec::Null,
        };
        if input.is_some() && stdin != StdioSpec::Pipe {
            return Err(ProcessError::invalid(
                "input: needs stdin \"pipe\" (or no stdin field)",
            ));
        }
        let stdout = opt(p, "stdout").map_or(Ok(StdioSpec::Null), |s| stdio("stdout", s))?;
        let stderr = opt(p, "stderr").map_or(Ok(StdioSpec::Null), |s| stdio("stderr", s))?;
        command.stdin(stdin).stdout(stdout).stderr(stderr);
        if let Some(signal) = self.parent_death_signal {
            command.parent_death_signal(signal);
        }

        let number = {
            let mut next = lock(&self.next);
            if *next > MAX_HANDLE {
                return Err(ProcessError::unsupported(
                    "no handle number left below 2^53",
                ));
            }
            let n = *next;
            *next += 1;
            n
        };
        let handle = self
            .stack
            .spawn_process(&command, &Environment::default())?;
        let info = self.stack.process_info(handle);
        let (resolved, args) = match &info {
            Ok(i) => (
                i.program.to_string_lossy().into_owned(),
                i.command_line.iter().skip(1).cloned().collect(),
            ),
            Err(_) => (program.to_owned(), Vec::new()),
        };
        lock(&self.held).insert(
            number,
            Held {
                handle,
                program: resolved.clone(),
                args,
                spawned_at: info.map_or_else(|_| Instant::now(), |i| i.spawned_at),
            },
        );
        if let Some(input) = input {
            if let Ok(Some(mut pipe)) = self.stack.take_pipe(handle, StdStream::Stdin) {
                // A thread, so a child that writes before it reads cannot block the call.
                // A child that exits without reading gets the rest discarded (EPIPE).
                std::thread::spawn(move || {
                    let _ = pipe.write_all(input.as_bytes());
                });
            }
        }
        Ok(json!({"handle": number, "pid": handle.pid(), "program": resolved}))
    }

    fn lookup(&self, p: &Map<String, Value>) -> Result<(u64, Held), ProcessError> {
        let n = opt(p, "handle")
            .ok_or_else(|| ProcessError::invalid("missing field `handle`"))?
            .as_u64()
            .filter(|n| *n <= MAX_HANDLE)
            .ok_or_else(|| field("handle", "an integer below 2^53"))?;
        lock(&self.held)
            .get(&n)
            .cloned()
            .map(|h| (n, h))
            .ok_or_else(|| ProcessError::invalid(format!("handle {n}: no such process held")))
    }

    fn wait(&self, p: &Map<String, Value>) -> Result<Value, ProcessError> {
        let (_, held) = self.lookup(p)?;
        let timeout = match opt(p, "timeout_ms") {
            Some(t) => {
                let ms = t
                    .as_f64()
                    .filter(|ms| *ms >= 0.0 && ms.is_finite())
                    .ok_or_else(|| field("timeout_ms", "a non-negative number"))?;
                Some(Duration::try_from_secs_f64(ms / 1e3).unwrap_or(Duration::MAX))
            }
            None => None,
        };
        let collect = match opt(p, "collect_output") {
            Some(c) => c
                .as_bool()
                .ok_or_else(|| field("collect_output", "a boolean"))?,
            None => false,
        };
        let options = WaitOptions {
            timeout,
            collect_output: collect,
            max_output_bytes: self.max_output_bytes,
            ..WaitOptions::default()
        };
        let termination = match self.stack.wait_with_options(held.handle, &options) {
            Ok(status) => Termination::Exited(status),
            Err(e) if e.kind == ProcessErrorKind::TerminatedBySignal => {
                match self.stack.process_info(held.handle)?.termination {
                    Some(t) => t,
                    None => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let output = if collect {
            self.stack.take_output(held.handle)?
        } else {
            Default::default()
        };
        let cause = match termination.signal() {
            None => Cause::Exited,
            Some(s) if s.number() == libc::SIGXCPU => Cause::CpuLimit,
            Some(_) => Cause::Signaled,
        };
        let isolation = self
            .stack
            .process_info(held.handle)
            .map(|i| i.isolation)
            .unwrap_or_default();
        let outcome = ProcessOutcome {
            isolation,
            program: held.program,
            args: held.args,
            pid: Some(held.handle.pid()),
            termination: Some(termination),
            timed_out: false,
            cause,
            duration: held.spawned_at.elapsed(),
            output,
            error: None,
        };
        Ok(outcome_json(&outcome))
    }

    fn kill(&self, p: &Map<String, Value>) -> Result<Value, ProcessError> {
        let (_, held) = self.lookup(p)?;
        let signal: Signal = match opt(p, "signal") {
            Some(Value::String(s)) => s.parse()?,
            Some(Value::Number(n)) => n.to_string().parse()?,
            Some(_) => return Err(field("signal", "a name or a number")),
            None => return Err(ProcessError::invalid("missing field `signal`")),
        };
        let tree = match opt(p, "tree") {
            Some(t) => t.as_bool().ok_or_else(|| field("tree", "a boolean"))?,
            None => false,
        };
        if tree {
            self.stack.kill_process_tree(held.handle, signal)?;
        } else {
            self.stack.kill_process(held.handle, signal)?;
        }
        Ok(json!({}))
    }

    fn release(&self, p: &Map<String, Value>) -> Result<Value, ProcessError> {
        let (n, held) = self.lookup(p)?;
        self.stack.release_process(held.handle)?;
        lock(&self.held).remove(&n);
        Ok(json!({}))
    }

    /// Ends every process still held: `TERM` to each tree, the grace period (one deadline for
    /// all), `KILL` to the trees still running, then release. Each step goes through the stack
    /// and so is recorded.
    fn end_all(&mut self) {
        let held: Vec<Held> = lock(&self.held).drain().map(|(_, h)| h).collect();
        if held.is_empty() {
            return;
        }
        let stack = &self.stack;
        let running = |h: &Held| {
            stack
                .process_info(h.handle)
                .is_ok_and(|i| i.termination.is_none())
        };
        let ended_within = |h: &Held, d: Duration| {
            let o = WaitOptions {
                timeout: Some(d),
                ..WaitOptions::default()
            };
            !matches!(stack.wait_with_options(h.handle, &o), Err(e) if e.kind == ProcessErrorKind::TimedOut)
        };
        for h in held.iter().filter(|h| running(h)) {
            // The capability's own enforcement: TERM when the policy allows it, else KILL below.
            let _ = stack.enforce_limit(h.handle, Signal::TERM);
        }
        let deadline = Instant::now() + self.grace;
        for h in &held {
            let left = deadline.saturating_duration_since(Instant::now());
            if !ended_within(h, left) {
                let _ = stack.enforce_limit(h.handle, Signal::KILL);
                let _ = ended_within(h, Duration::from_secs(5));
            }
            let _ = stack.release_process(h.handle);
        }
    }
}

impl Drop for Bridge {
    /// Ends every process still held (TERM, grace, KILL, the tree) and records it.
    fn drop(&mut self) {
        let _ = catch_unwind(AssertUnwindSafe(|| self.end_all()));
    }
}

fn review(policy: &Policy, shown: &str) -> Result<(), ProcessError> {
    let errors: Vec<String> = verify_capability_security(policy)
        .findings()
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{} ({}: {})", f.code, f.entry, f.message))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ProcessError::invalid(format!(
            "{shown}: the policy fails the security review: {}",
            errors.join("; ")
        )))
    }
}

fn internal() -> ProcessError {
    ProcessError::unsupported("internal error: the call panicked (a bug in reml-process)")
}

fn answer_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_else(|_| {
        br#"{"error":{"kind":"unsupported","message":"answer not serialisable","code":null}}"#
            .to_vec()
    })
}

fn parse_payload(payload: &[u8]) -> Result<Map<String, Value>, ProcessError> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ProcessError::invalid("payload: expected a JSON object")),
        Err(e) => Err(ProcessError::invalid(format!(
            "payload: malformed JSON: {e}"
        ))),
    }
}

/// The field `name`, `None` when absent or `null`.
fn opt<'a>(p: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    p.get(name).filter(|v| !v.is_null())
}

fn req_str<'a>(p: &'a Map<String, Value>, name: &str) -> Result<&'a str, ProcessError> {
    opt(p, name)
        .ok_or_else(|| ProcessError::invalid(format!("missing field `{name}`")))?
        .as_str()
        .ok_or_else(|| field(name, "a string"))
}

fn field(name: &str, expected: &str) -> ProcessError {
    ProcessError::invalid(format!("{name}: expected {expected}"))
}

fn stdio(name: &str, v: &Value) -> Result<StdioSpec, ProcessError> {
    match v {
        Value::String(s) if s == "inherit" => Ok(StdioSpec::Inherit),
        Value::String(s) if s == "null" => Ok(StdioSpec::Null),
        Value::String(s) if s == "pipe" => Ok(StdioSpec::Pipe),
        Value::Object(o) if o.len() == 1 => match o.get("file") {
            Some(Value::String(path)) if !path.is_empty() => {
                Ok(StdioSpec::File(PathBuf::from(path)))
            }
            _ => Err(field(
                name,
                "\"inherit\", \"null\", \"pipe\" or {\"file\": PATH}",
            )),
        },
        _ => Err(field(
            name,
            "\"inherit\", \"null\", \"pipe\" or {\"file\": PATH}",
        )),
    }
}

#[cfg(test)]
mod tests;
