//! `reml-process run [OPTIONS] -- PROGRAM [ARG...]` (contract.md §1).

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use reml_process::outcome::run_process_observed;
use reml_process::units::{parse_duration, parse_size};
use reml_process::{
    Command, Environment, NativeProcessCapability, ProcessCapability, ProcessGroup, ProcessOutcome,
    RunOptions, Signal, StdioSpec,
};
use serde_json::json;

use crate::cli::{error_line, RunArgs, EXIT_OWN_FAILURE};

/// Runs `run`; returns the exit status.
pub fn main(args: RunArgs) -> i32 {
    match build(&args) {
        Ok((command, options)) => execute(&args, &command, &options),
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
    if !args.pass_fd.is_empty() {
        return Err("--pass-fd: not supported yet (descriptor passing is not built)".into());
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
    if !args.no_new_group {
        command.process_group(ProcessGroup::New);
    }
    let options = RunOptions {
        timeout,
        signal,
        kill_after,
        collect_output: collect,
        max_output_bytes,
        ..RunOptions::default()
    };
    Ok((command, options))
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

fn execute(args: &RunArgs, command: &Command, options: &RunOptions) -> i32 {
    // Signals sent to us while the child runs go to the child (contract.md §1). Installed
    // first: it must precede every thread the capability may start.
    let forwarder = match crate::signals::install(!args.no_new_group) {
        Ok(f) => f,
        Err(e) => {
            error_line(format!("cannot set up signal forwarding: {e}"));
            return EXIT_OWN_FAILURE;
        }
    };
    let cap: Arc<dyn ProcessCapability> = Arc::new(NativeProcessCapability::new());
    let outcome = run_process_observed(
        &*cap,
        command,
        &Environment::default(),
        options,
        &mut |handle| forwarder.started(Arc::clone(&cap), handle),
    );
    forwarder.finished();
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
