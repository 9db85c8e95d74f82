//! `reml-process run [OPTIONS] -- PROGRAM [ARG...]` (contract.md §1).

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

use reml_process::units::{parse_duration, parse_size};
use std::sync::Arc;

use reml_process::audit::{AuditSink, JsonLinesSink, NullSink, Redactor, StderrSink};
use reml_process::policy::Policy;
use reml_process::{
    audited_process_supervised, resolve_program, AuditSettings, Command, Environment,
    NativeProcessCapability, PolicyLayer, ProcessCapability, ProcessGroup, ProcessOutcome,
    RunEvent, RunOptions, Signal, SignalForwarder, StdioSpec, FORWARDED_SIGNALS,
};
use serde_json::json;

use crate::cli::{error_line, RunArgs, EXIT_OWN_FAILURE};

/// Runs `run`; returns the exit status.
pub fn main(args: RunArgs) -> i32 {
    // First, while this is the only thread: receive the forwarded signals synchronously.
    // An inherited "ignore" of SIGCHLD would cost us the child's exit status on kernels
    // before 6.15; signals inherited as ignored stay ignored and are not forwarded.
    crate::signals::default_sigchld();
    let forwarded = crate::signals::not_ignored(&FORWARDED_SIGNALS);
    let forwarder = match SignalForwarder::install(&forwarded) {
        Ok(f) => f,
        Err(e) => {
            error_line(e);
            return EXIT_OWN_FAILURE;
        }
    };
    // Whole-tree termination (spec §7): orphans of the job come back to us instead of init,
    // so a timed-out job's daemons and setsid escapees are found and ended. We spawn nothing
    // else, so every adopted orphan is the job's. Best effort: without it only orphans that
    // stayed in the job's group are reached.
    let _ = reml_process::set_child_subreaper(true);
    match build(&args) {
        Ok((command, options)) => execute(&args, &command, &options, &forwarder),
        Err(message) => {
            error_line(message);
            EXIT_OWN_FAILURE
        }
    }
}

/// Turns the options into a command and run options; every error is a bad option (125).
fn build(args: &RunArgs) -> Result<(Command, RunOptions), String> {
    let timeout = match &args.timeout {
        Some(t) => {
            let d = parse_duration(t).map_err(|e| format!("--timeout: {e}"))?;
            (!d.is_zero()).then_some(d)
        }
        None => None,
    };
    let signal: Signal = args
        .signal
        .parse()
        .map_err(|e: reml_process::ProcessError| format!("--signal: {e}"))?;
    let kill_after = parse_duration(&args.kill_after).map_err(|e| format!("--kill-after: {e}"))?;
    let stdio = |name: &str, s: &str| StdioSpec::parse_cli(s).map_err(|e| format!("--{name}: {e}"));
    let stdin = stdio("stdin", &args.stdin)?;
    let mut stdout = stdio("stdout", &args.stdout)?;
    let mut stderr = stdio("stderr", &args.stderr)?;
    // --collect and --json capture the streams left at their default; `pipe` is collected.
    let capture = args.collect || args.json;
    if capture && args.stdout == "inherit" {
        stdout = StdioSpec::Pipe;
    }
    if capture && args.stderr == "inherit" {
        stderr = StdioSpec::Pipe;
    }
    let collect = stdout == StdioSpec::Pipe || stderr == StdioSpec::Pipe;
    let mut max_output_bytes = reml_process::wait::DEFAULT_MAX_OUTPUT_BYTES;
    if let Some(m) = &args.max_output {
        max_output_bytes = parse_size(m).map_err(|e| format!("--max-output: {e}"))?;
    }
    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| "missing PROGRAM".to_owned())?;
    let mut command = Command::new(program);
    command.args(rest.iter().cloned());
    command.stdin(stdin).stdout(stdout).stderr(stderr);
    if let Some(cwd) = &args.cwd {
        command.cwd(cwd);
    }
    if args.env_clear {
        command.env_clear();
    }
    for kv in &args.env {
        let (k, v) = split_env(kv)?;
        command.env(k, v);
    }
    for spec in &args.pass_fd {
        let (src, dst) = parse_pass_fd(spec)?;
        let mapping = reml_process::FdMapping::from_inherited(src, dst)
            .map_err(|e| format!("--pass-fd {spec}: {e}"))?;
        command.fd_mappings.push(mapping);
    }
    if !args.no_new_group {
        command.process_group(ProcessGroup::New);
    }
    let options = RunOptions {
        timeout,
        signal,
        kill_after,
        collect_output: collect,
        max_output_bytes,
        job_control: true,
        ..RunOptions::default()
    };
    Ok((command, options))
}

fn parse_pass_fd(spec: &str) -> Result<(i32, i32), String> {
    let bad = || format!("--pass-fd {spec}: expected SRC:DST, two descriptor numbers (e.g. 3:3)");
    let (a, b) = spec.split_once(':').ok_or_else(bad)?;
    let src: i32 = a.trim().parse().map_err(|_| bad())?;
    let dst: i32 = b.trim().parse().map_err(|_| bad())?;
    if src < 0 || dst < 0 {
        return Err(bad());
    }
    Ok((src, dst))
}

pub(crate) fn split_env(kv: &OsString) -> Result<(OsString, OsString), String> {
    let b = kv.as_bytes();
    match b.iter().position(|&c| c == b'=') {
        Some(0) | None => Err(format!(
            "--env {}: expected KEY=VALUE with a non-empty KEY",
            kv.to_string_lossy()
        )),
        Some(i) => Ok((
            std::ffi::OsStr::from_bytes(&b[..i]).to_owned(),
            std::ffi::OsStr::from_bytes(&b[i + 1..]).to_owned(),
        )),
    }
}

/// Loads the policy: the files given with `--policy`, each narrowing the ones before
/// (each, and their combination, must pass the security review), or the built-in default
/// policy for the program as it will be resolved.
///
/// `Ok(None)`: the program cannot be resolved, so no default policy can name it; the spawn
/// will fail with that error (and be audited) without anything running.
fn load_policy(args: &RunArgs, command: &Command) -> Result<Option<Policy>, String> {
    if !args.policy.is_empty() {
        return crate::policies::load_reviewed(&args.policy).map(Some);
    }
    let env = Environment::default().resolve(&command.env);
    match resolve_program(
        &command.program,
        command.cwd.as_deref(),
        env.get(std::ffi::OsStr::new("PATH")).map(|p| p.as_os_str()),
    ) {
        Ok(program) => Policy::default_for_program(&program)
            .map(Some)
            .map_err(|e| e.to_string()),
        Err(_) => Ok(None),
    }
}

fn open_audit(args: &RunArgs, policy: Option<&Policy>) -> Result<Option<AuditSettings>, String> {
    let required = policy.is_some_and(|p| p.capability.audit_required);
    let Some(path) = &args.audit else {
        if required {
            return Err(
                "the policy requires an audit log (audit_required = true): give --audit PATH"
                    .into(),
            );
        }
        return Ok(None);
    };
    let sink: Arc<dyn AuditSink> = if path.as_os_str() == "-" {
        Arc::new(StderrSink::new())
    } else {
        Arc::new(
            JsonLinesSink::open(path)
                .map_err(|e| format!("--audit {}: {}", path.display(), e.message))?,
        )
    };
    let redactor = Redactor::new(
        policy
            .map(|p| {
                p.audit
                    .redact
                    .iter()
                    .map(|r| r.as_str().to_owned())
                    .collect::<Vec<String>>()
            })
            .unwrap_or_default(),
    );
    Ok(Some(AuditSettings {
        sink,
        redactor,
        required,
    }))
}

fn execute(
    args: &RunArgs,
    command: &Command,
    options: &RunOptions,
    forwarder: &SignalForwarder,
) -> i32 {
    let policy = match load_policy(args, command) {
        Ok(p) => p,
        Err(m) => {
            error_line(m);
            return EXIT_OWN_FAILURE;
        }
    };
    let audit = match open_audit(args, policy.as_ref()) {
        Ok(a) => a,
        Err(m) => {
            error_line(m);
            return EXIT_OWN_FAILURE;
        }
    };
    let mut options = options.clone();
    if args.max_output.is_none() {
        if let Some(max) = policy.as_ref().and_then(|p| p.limits.max_output_bytes) {
            options.max_output_bytes = max;
        }
    }
    let native = NativeProcessCapability::new();
    let env = Environment::default();
    // `run` is built on the audited_process template; without --audit it records nowhere.
    let audit = audit.unwrap_or_else(|| AuditSettings {
        sink: Arc::new(NullSink),
        redactor: Redactor::default(),
        required: false,
    });
    // Policy, then native; audit around both. Without a policy the program cannot be
    // resolved, so nothing can name it: the spawn fails (and is audited) before anything runs.
    let guarded;
    let cap: &dyn ProcessCapability = match policy {
        Some(policy) => {
            guarded = PolicyLayer::new(native, Arc::new(policy));
            &guarded
        }
        None => &native,
    };
    let outcome = audited_process_supervised(
        cap,
        &audit,
        command,
        &env,
        &options,
        Some(forwarder),
        &report_event,
    );
    if let Some(e) = &outcome.error {
        error_line(naming_program(
            &command.program.to_string_lossy(),
            &e.message,
        ));
    }
    if let Err(e) = report(args, &outcome) {
        // The reader went away (`run --json ... | head`): like any filter, stop quietly and
        // keep the child's status. Any other write failure lost the report: our failure.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            error_line(format!("cannot write the output: {e}"));
            return EXIT_OWN_FAILURE;
        }
    }
    outcome.exit_status()
}

/// Prints the JSON object, or the collected output (stdout to stdout, stderr to stderr).
/// Written with `write_all`, never `println!`, which panics when stdout is a closed pipe.
fn report(args: &RunArgs, outcome: &ProcessOutcome) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", to_json(outcome))?;
        return out.flush();
    }
    out.write_all(&outcome.output.stdout)?;
    out.flush()?;
    std::io::stderr().write_all(&outcome.output.stderr)
}

/// The error line names the program (contract.md §1: "naming the program and the reason"):
/// messages about the program itself already start with it; others (`working directory
/// /x: ...`, `stdin file ...`) get it in front.
fn naming_program(program: &str, message: &str) -> String {
    let subject = message.split(": ").next().unwrap_or("");
    let named =
        !program.is_empty() && (subject == program || subject.ends_with(&format!("/{program}")));
    if named || program.is_empty() {
        message.to_owned()
    } else {
        format!("{program}: {message}")
    }
}

/// One line on stderr for what happens while the child runs (a stop, a signal not
/// forwarded, records being lost: never silent).
fn report_event(event: &RunEvent) {
    match event {
        RunEvent::Stopped {
            program,
            pid,
            signal,
        } => error_line(format_args!("{program} (pid {pid}) stopped by {signal}")),
        RunEvent::SignalNotForwarded { signal, reason } => {
            error_line(format_args!("{signal} received, not forwarded: {reason}"))
        }
        RunEvent::AuditFailed { message } => error_line(format_args!(
            "{message}; the job goes on (the policy does not require the audit log)"
        )),
        _ => {}
    }
}

/// The `--json` object of contract.md §1.
pub fn to_json(o: &ProcessOutcome) -> serde_json::Value {
    let error = o
        .error
        .as_ref()
        .map(|e| json!({"kind": e.kind.as_str(), "message": e.message, "code": e.code}));
    json!({
        "program": o.program,
        "args": o.args,
        "pid": o.pid,
        "exit_code": o.termination.and_then(|t| t.code()),
        "signal": o.termination.and_then(|t| t.signal()).map(|s| s.number()),
        "timed_out": o.timed_out,
        "duration_ms": (o.duration.as_secs_f64() * 1e6).round() / 1e3,
        "stdout": String::from_utf8_lossy(&o.output.stdout),
        "stderr": String::from_utf8_lossy(&o.output.stderr),
        "stdout_truncated": o.output.stdout_truncated,
        "stderr_truncated": o.output.stderr_truncated,
        "stdout_bytes": o.output.stdout_bytes,
        "stderr_bytes": o.output.stderr_bytes,
        "cause": o.cause.as_str(),
        "error": error,
    })
}
