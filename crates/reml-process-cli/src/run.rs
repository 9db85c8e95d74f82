//! `reml-process run [OPTIONS] -- PROGRAM [ARG...]` (`docs/command.md`).

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use reml_process::units::parse_size;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use reml_process::audit::{AuditSink, JsonLinesSink, StderrSink};
use reml_process::error::os_text;
use reml_process::policy::Policy;
use reml_process::{
    resolve_program, run_process_supervised, AuditSettings, Command, Environment,
    ProcessCapability, ProcessGroup, ProcessOutcome, RunEvent, RunOptions, Signal, SignalForwarder,
    StdioSpec, FORWARDED_SIGNALS,
};

use crate::exit::{error_line, EXIT_OWN_FAILURE};

/// Options of `run` (`docs/command.md`).
///
/// Options that take a value accept one starting with `-`, so `--timeout -1` is reported as
/// an invalid duration rather than as an unknown option `-1`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// TOML security policy (default: the built-in default policy); repeatable: each
    /// further file narrows the ones before.
    #[arg(long, allow_hyphen_values = true, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
    /// Append the audit log to PATH (`-` = standard error).
    #[arg(long, allow_hyphen_values = true, value_name = "PATH")]
    pub audit: Option<PathBuf>,
    /// Wall-clock limit (250ms, 2s, 1.5, 1m, 1h, 1d; 0 = none).
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "DUR",
        value_parser = crate::values::duration
    )]
    pub timeout: Option<Duration>,
    /// Signal sent when the time limit expires.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "SIG",
        default_value = "TERM",
        value_parser = crate::values::signal
    )]
    pub signal: Signal,
    /// Grace period after that signal before KILL.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "DUR",
        default_value = "2s",
        value_parser = crate::values::duration
    )]
    pub kill_after: Duration,
    /// Pipe, collect, then print stdout and stderr.
    #[arg(long)]
    pub collect: bool,
    /// Cap per stream for --collect (64KiB, 16MiB).
    #[arg(long, allow_hyphen_values = true, value_name = "SIZE")]
    pub max_output: Option<String>,
    /// stdin: inherit, null, pipe or file:PATH.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "SPEC",
        default_value = "inherit",
        value_parser = crate::values::parse_stdio
    )]
    pub stdin: StdioSpec,
    /// stdout: inherit, null, pipe or file:PATH.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "SPEC",
        default_value = "inherit",
        value_parser = crate::values::parse_stdio
    )]
    pub stdout: StdioSpec,
    /// stderr: inherit, null, pipe or file:PATH.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_name = "SPEC",
        default_value = "inherit",
        value_parser = crate::values::parse_stdio
    )]
    pub stderr: StdioSpec,
    /// Working directory.
    #[arg(long, allow_hyphen_values = true, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Set a variable (repeatable).
    #[arg(long, allow_hyphen_values = true, value_name = "KEY=VALUE")]
    pub env: Vec<OsString>,
    /// Start from an empty environment.
    #[arg(long)]
    pub env_clear: bool,
    /// Keep the child in our process group.
    #[arg(long)]
    pub no_new_group: bool,
    /// Hand our descriptor SRC to the child as DST (repeatable).
    #[arg(long, allow_hyphen_values = true, value_name = "SRC:DST")]
    pub pass_fd: Vec<String>,
    /// Print one JSON object instead of passing output through.
    #[arg(long)]
    pub json: bool,
    /// The program and its arguments (after `--`, or after the program, every word belongs
    /// to the command).
    // No `allow_hyphen_values` here: an unknown option before the program (`run --bogus -- x`)
    // is a bad option (125), not a program named `--bogus` (127).
    #[arg(required = true, trailing_var_arg = true, value_name = "PROGRAM")]
    pub command: Vec<OsString>,
}

/// Runs `run`; returns the exit status.
pub fn main(args: RunArgs) -> i32 {
    // First, while this is the only thread: receive the forwarded signals synchronously.
    // An inherited "ignore" of SIGCHLD would cost us the child's exit status on kernels
    // before 6.15; signals inherited as ignored stay ignored and are not forwarded. The
    // orphans we adopt as subreaper (below) are reaped as they end, while the job runs: we
    // spawn nothing but the job, so every other child that ends is one of them.
    crate::signals::default_sigchld();
    let forwarded = crate::signals::not_ignored(&FORWARDED_SIGNALS);
    let forwarder = match SignalForwarder::install_reaping_orphans(&forwarded) {
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
    // The durations, the signal and the stdio specs are parsed by clap (`crate::values`).
    let timeout = args.timeout.filter(|d| !d.is_zero());
    let signal = args.signal;
    let kill_after = args.kill_after;
    let stdin = args.stdin.clone();
    let mut stdout = args.stdout.clone();
    let mut stderr = args.stderr.clone();
    // --collect and --json capture the streams left at their default; `pipe` is collected.
    let capture = args.collect || args.json;
    if capture && args.stdout == StdioSpec::Inherit {
        stdout = StdioSpec::Pipe;
    }
    if capture && args.stderr == StdioSpec::Inherit {
        stderr = StdioSpec::Pipe;
    }
    let collect = stdout == StdioSpec::Pipe || stderr == StdioSpec::Pipe;
    let mut max_output_bytes = reml_process::wait::DEFAULT_MAX_OUTPUT_BYTES;
    if let Some(m) = &args.max_output {
        max_output_bytes = parse_size(m).map_err(|e| format!("--max-output: {e}"))?;
    }
    let mut command = command_from(
        &args.command,
        args.cwd.as_deref(),
        args.env_clear,
        &args.env,
    )?;
    command.stdin(stdin).stdout(stdout).stderr(stderr);
    let mut targets: Vec<(i32, &str)> = Vec::with_capacity(args.pass_fd.len());
    for spec in &args.pass_fd {
        let (src, dst) = crate::pass_fd::parse_pass_fd(spec)?;
        // Said here, with the numbers the caller wrote: the library sees our duplicates of
        // them, whose numbers would mean nothing to the caller.
        if let Some((_, first)) = targets.iter().find(|(t, _)| *t == dst) {
            return Err(format!(
                "--pass-fd {spec}: descriptor target {dst} is given twice (--pass-fd {first} and --pass-fd {spec})"
            ));
        }
        targets.push((dst, spec));
        let mapping = reml_process::FdMapping::from_inherited(src, dst)
            .map_err(|e| format!("--pass-fd {spec}: {e}"))?;
        command.fd_mappings.push(mapping);
    }
    if !args.no_new_group {
        command.process_group(ProcessGroup::New);
    }
    // Our death must not free the job: the kernel sends it the time-limit signal, and it
    // ignores exactly what our caller ignored (`docs/command.md`).
    command.parent_death_signal(signal);
    command.signal_dispositions(crate::signals::child_dispositions());
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

/// The command `PROGRAM ARG...` with `--cwd`, `--env-clear` and `--env KEY=VALUE...` applied,
/// as `run` and `check` both build it.
///
/// # Errors
/// A message for an empty command line or a malformed `--env`.
pub(crate) fn command_from(
    words: &[OsString],
    cwd: Option<&std::path::Path>,
    env_clear: bool,
    env: &[OsString],
) -> Result<Command, String> {
    let (program, rest) = words
        .split_first()
        .ok_or_else(|| "missing PROGRAM".to_owned())?;
    let mut command = Command::new(program);
    command.args(rest.iter().cloned());
    if let Some(cwd) = cwd {
        command.cwd(cwd);
    }
    if env_clear {
        command.env_clear();
    }
    for kv in env {
        let (k, v) = split_env(kv)?;
        command.env(k, v);
    }
    Ok(command)
}

fn split_env(kv: &OsString) -> Result<(OsString, OsString), String> {
    let b = kv.as_bytes();
    match b.iter().position(|&c| c == b'=') {
        Some(0) | None => Err(format!(
            "--env {}: expected KEY=VALUE with a non-empty KEY",
            os_text(kv)
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
                .map_err(|e| format!("--audit {}: {}", os_text(path), e.message))?,
        )
    };
    let redactor = policy.map(Policy::redactor).unwrap_or_default();
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
    let env = Environment::default();
    // Audit over policy over native (`reml_process::stack`). Without a policy the program
    // cannot be resolved, so nothing can name it: the spawn fails (and is audited) before
    // anything runs. The stack is dropped before the error line, as the template did.
    //
    // Without --audit there is no log, and the audit layer is left out
    // (`stack::without_audit`): over a sink that drops every record and never fails it would
    // build nothing (`AuditSink::discards`) and, not being required, return every result of
    // the layers below as is (`AuditLayer`, "Audit failures"), so it would only add its own
    // bookkeeping. A policy that requires a log never gets here without one (`open_audit`).
    let outcome = {
        let below = reml_process::stack::without_audit(policy.map(Arc::new));
        let cap: Box<dyn ProcessCapability> = match &audit {
            Some(audit) => Box::new(reml_process::stack::audit(below, audit)),
            None => below,
        };
        run_process_supervised(
            &*cap,
            command,
            &env,
            &options,
            Some(forwarder),
            &report_event,
        )
    };
    if let Some(e) = &outcome.error {
        error_line(naming_program(
            &os_text(&command.program).to_string(),
            &e.message,
        ));
    }
    report(args, &outcome);
    crate::exit::exit_status(&outcome)
}

/// Prints the JSON object, or the collected output (stdout to stdout, stderr to stderr)
/// followed by one line on stderr for each stream cut at its cap
/// (`reml-process: stdout truncated at 10 of 3893 bytes (--max-output)`, `docs/command.md`).
/// With `--json` the object's `stdout_truncated` / `stdout_bytes` say it, and no line is
/// added: stderr then carries only failures.
///
/// Everything goes through [`crate::output`]: a slow non-blocking reader gets every byte, a
/// closed pipe keeps the child's status, another write error makes the status 125.
fn report(args: &RunArgs, outcome: &ProcessOutcome) {
    if args.json {
        crate::output::stdout(format!("{}\n", to_json(outcome)).as_bytes());
        return;
    }
    let o = &outcome.output;
    crate::output::stdout(&o.stdout);
    crate::output::stderr(&o.stderr);
    let streams = [
        ("stdout", o.stdout_truncated, o.stdout.len(), o.stdout_bytes),
        ("stderr", o.stderr_truncated, o.stderr.len(), o.stderr_bytes),
    ];
    for (name, truncated, kept, total) in streams {
        if truncated {
            error_line(format_args!(
                "{name} truncated at {kept} of {total} bytes (--max-output)"
            ));
        }
    }
}

/// The error line names the program (`docs/command.md`: one line naming the program and the
/// reason): messages about the program itself already start with it; others (`working directory /x:
/// ...`, `stdin file ...`) get it in front.
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

/// The `--json` object of `docs/command.md` (the shape the bridge's `process.wait` answers).
pub fn to_json(o: &ProcessOutcome) -> serde_json::Value {
    reml_process::bridge::outcome_json(o)
}
