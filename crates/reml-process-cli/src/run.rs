//! `reml-process run [OPTIONS] -- PROGRAM [ARG...]` (contract.md §1).

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

use reml_process::units::{parse_duration, parse_size};
use reml_process::{
    run_process_supervised, Command, Environment, NativeProcessCapability, ProcessGroup,
    ProcessOutcome, RunEvent, RunOptions, Signal, SignalForwarder, StdioSpec, FORWARDED_SIGNALS,
};
use serde_json::json;

use crate::cli::{error_line, RunArgs, EXIT_OWN_FAILURE};

/// Runs `run`; returns the exit status.
pub fn main(args: RunArgs) -> i32 {
    // First, while this is the only thread: receive the forwarded signals synchronously.
    let forwarder = match SignalForwarder::install(&FORWARDED_SIGNALS) {
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
    if args.policy.is_some() {
        return Err("--policy: not supported yet (the security layer is not built)".into());
    }
    if args.audit.is_some() {
        return Err("--audit: not supported yet (the audit layer is not built)".into());
    }
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

fn split_env(kv: &OsString) -> Result<(OsString, OsString), String> {
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

fn execute(
    args: &RunArgs,
    command: &Command,
    options: &RunOptions,
    forwarder: &SignalForwarder,
) -> i32 {
    let cap = NativeProcessCapability::new();
    let outcome = run_process_supervised(
        &cap,
        command,
        &Environment::default(),
        options,
        Some(forwarder),
        &report_event,
    );
    if let Some(e) = &outcome.error {
        error_line(&e.message);
    }
    if args.json {
        let v = to_json(&outcome);
        println!("{v}");
    } else {
        let _ = std::io::stdout().write_all(&outcome.output.stdout);
        let _ = std::io::stderr().write_all(&outcome.output.stderr);
        let _ = std::io::stdout().flush();
    }
    outcome.exit_status()
}

/// One line on stderr for what happens while the child runs (a stop is never silent).
fn report_event(event: &RunEvent) {
    if let RunEvent::Stopped {
        program,
        pid,
        signal,
    } = event
    {
        error_line(format_args!("{program} (pid {pid}) stopped by {signal}"));
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
