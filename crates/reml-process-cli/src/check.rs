//! `reml-process check [--policy FILE]... [--json] [--cwd DIR] [--env K=V]... -- PROGRAM
//! [ARG...]` (`docs/command.md`): the decision `run` would take, explained, without running
//! anything.
//!
//! The decision is the security layer's own: `check_run` (the default time-limit
//! signal, as `run` asks it) and then [`PolicyLayer::check_command`](reml_process::PolicyLayer::check_command), which runs the very
//! checks of a spawn in the same order — so `check` and `run` cannot disagree. It is not a
//! prediction of what the program will do, and `max_processes` (which depends on what runs
//! at the time) is shown among the limits, not decided.
//!
//! Text output, one `key: value` line each: `decision`, `program`, `args`, `rule`,
//! `reason`, `limits`. With `--json`, one object: `{"decision": "allowed" | "denied" |
//! "not_found", "program": PATH | null, "args": [...], "rule": STRING | null, "reason":
//! STRING, "limits": {...}, "rlimits": [{"resource", "soft", "hard"}]}` (`limits` as in
//! `describe`'s security summary).
//!
//! Exit status: 0 allowed, 126 denied (by the policy, or not executable), 127 not found,
//! 125 our own failure (bad option, unreadable or invalid policy, a policy failing the
//! review, a malformed command such as a missing cwd — as `run`).

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use reml_process::policy::Policy;
use reml_process::registry::security_summary;
use reml_process::{
    resolve_program, Command, Environment, ProcessCapability, ProcessGroup, Signal,
};
use serde_json::json;

use crate::exit::{error_line, EXIT_OWN_FAILURE};
use crate::output::escape_controls;

/// Options of `check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// TOML security policy (default: the built-in default policy of `run`); repeatable:
    /// each further file narrows the ones before.
    #[arg(long, allow_hyphen_values = true, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Working directory the program would run in.
    #[arg(long, allow_hyphen_values = true, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// A variable the program would get (repeatable).
    #[arg(long, allow_hyphen_values = true, value_name = "KEY=VALUE")]
    pub env: Vec<OsString>,
    /// The program and its arguments.
    #[arg(required = true, trailing_var_arg = true, value_name = "PROGRAM")]
    pub command: Vec<OsString>,
}

/// Runs `check`; returns the exit status.
pub fn main(args: CheckArgs) -> i32 {
    let command = match build(&args) {
        Ok(c) => c,
        Err(m) => {
            error_line(m);
            return EXIT_OWN_FAILURE;
        }
    };
    let env = Environment::default();
    let policy = if args.policy.is_empty() {
        // `run`'s built-in default: the one program named, as it will be resolved.
        let final_env = env.resolve(&command.env);
        match resolve_program(
            &command.program,
            command.cwd.as_deref(),
            final_env
                .get(std::ffi::OsStr::new("PATH"))
                .map(|p| p.as_os_str()),
        ) {
            Ok(program) => match Policy::default_for_program(&program) {
                Ok(p) => p,
                Err(e) => {
                    error_line(e);
                    return EXIT_OWN_FAILURE;
                }
            },
            Err(e) => return report(&args, &command, None, None, Err(e), None, Vec::new()),
        }
    } else {
        match crate::policies::load_reviewed(&args.policy) {
            Ok(p) => p,
            Err(m) => {
                error_line(m);
                return EXIT_OWN_FAILURE;
            }
        }
    };
    let layer = reml_process::stack::guard(Arc::new(policy));
    // The order of `run`: the time-limit signal, then the spawn's checks.
    let decision = layer.check_command(&command, &env);
    let plan = reml_process::RunPlan {
        signal: Signal::TERM,
        caller_limit: false,
        collect_output: false,
    };
    let result = layer.check_run(&command, &plan).and(decision.result);
    report(
        &args,
        &command,
        decision.program,
        decision.rule,
        result,
        Some(layer.policy()),
        decision.rlimits,
    )
}

fn build(args: &CheckArgs) -> Result<Command, String> {
    let mut command =
        crate::run::command_from(&args.command, args.cwd.as_deref(), false, &args.env)?;
    // As `run` starts it (the group does not change the decision; the parent-death signal,
    // `run`'s default `--signal`, does: the policy must allow it).
    command.process_group(ProcessGroup::New);
    command.parent_death_signal(Signal::TERM);
    Ok(command)
}

fn report(
    args: &CheckArgs,
    command: &Command,
    program: Option<PathBuf>,
    rule: Option<String>,
    result: Result<(), reml_process::ProcessError>,
    policy: Option<&Policy>,
    rlimits: Vec<reml_process::Rlimit>,
) -> i32 {
    let status = match &result {
        Ok(()) => 0,
        Err(e) => crate::exit::exit_status_for_error(e),
    };
    let decision = match status {
        0 => "allowed",
        126 => "denied",
        127 => "not_found",
        _ => {
            if let Err(e) = &result {
                error_line(escape_controls(&e.message));
            }
            return EXIT_OWN_FAILURE;
        }
    };
    let reason = match &result {
        Ok(()) => match &rule {
            Some(r) => format!("allowed by {r}"),
            None => "allowed".to_owned(),
        },
        Err(e) => e.message.clone(),
    };
    let argv: Vec<String> = command
        .args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let limits = policy.map_or_else(
        || json!({}),
        |p| security_summary(p, None)["limits"].clone(),
    );
    let rlimits: Vec<serde_json::Value> = rlimits
        .iter()
        .map(|r| json!({"resource": r.resource.name(), "soft": r.soft, "hard": r.hard}))
        .collect();
    let program = program.map(|p| p.to_string_lossy().into_owned());
    let out = if args.json {
        json!({
            "decision": decision,
            "program": program,
            "args": argv,
            "rule": rule,
            "reason": reason,
            "limits": limits,
            "rlimits": rlimits,
        })
        .to_string()
            + "\n"
    } else {
        let mut s = String::new();
        let mut line = |k: &str, v: &str| s.push_str(&format!("{k:<9} {}\n", escape_controls(v)));
        line("decision:", decision);
        line(
            "program:",
            program
                .as_deref()
                .unwrap_or(&command.program.to_string_lossy()),
        );
        line("args:", &serde_json::to_string(&argv).unwrap_or_default());
        line("rule:", rule.as_deref().unwrap_or("-"));
        line("reason:", &reason);
        line("limits:", &limits.to_string());
        if !rlimits.is_empty() {
            line("rlimits:", &serde_json::Value::Array(rlimits).to_string());
        }
        s
    };
    // The one output path of every subcommand: waits on a full non-blocking pipe, quiet on
    // a closed one, 125 and one line on any other write error.
    crate::output::stdout(out.as_bytes());
    status
}
