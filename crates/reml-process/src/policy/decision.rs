//! The decision of the security layer, without spawning: [`PolicyLayer::check_command`]
//! (what `reml-process check` prints). It runs the very checks `spawn_process` runs, in the
//! same order, so the two cannot disagree.

use std::path::PathBuf;

use crate::capability::ProcessCapability;
use crate::command::{Command, Environment, Rlimit};
use crate::error::ProcessError;
use crate::policy::Denial;

use super::guard::PolicyLayer;

/// The message of a program denial: the reason, and the rule it names.
pub(super) fn denial_text(d: &Denial) -> String {
    match &d.rule {
        Some(r) => format!("{} (rule: {r})", d.reason),
        None => format!(
            "{} (rule: [commands] allow and [[commands.rule]], compared by canonical path and identity)",
            d.reason
        ),
    }
}

/// What [`PolicyLayer::check_command`] found: the decision `spawn_process` would take.
#[derive(Debug)]
#[non_exhaustive]
pub struct CommandCheck {
    /// The program resolved exactly as it would run (absolute), or `None` when it could not
    /// be resolved (then `result` says why: not found is `SpawnFailed` with `ENOENT`).
    pub program: Option<PathBuf>,
    /// The rule that allows the program (`commands.allow[2]`, `commands.rule[0].args[1]`;
    /// for a narrowed policy, each policy's, joined by `"; "`), or, when the program is
    /// denied, the rule that came closest; `None` when no rule names it or the decision
    /// did not get that far.
    pub rule: Option<String>,
    /// `Ok(())` when the spawn would pass the policy; otherwise the error `spawn_process`
    /// would return (`PermissionDenied` for a denial, `InvalidCommand`, `SpawnFailed`).
    pub result: Result<(), ProcessError>,
    /// The resource limits the child would get (the stricter of the command's and the
    /// policy's), when the program was allowed.
    pub rlimits: Vec<Rlimit>,
}

impl<C: ProcessCapability> PolicyLayer<C> {
    /// The decision [`spawn_process`](ProcessCapability::spawn_process) would take for
    /// `command` with base environment `env`, **without spawning anything**: the same
    /// checks in the same order (effects, environment requests and filtering, program
    /// resolution in the child's final `PATH`, the program against the policy's `allow`
    /// and rules — arguments and content pins included —, the cwd, the rlimits).
    ///
    /// Not part of the decision, because they depend on the moment rather than on the
    /// command: `max_processes` (how many children are alive then) and the time-limit
    /// signal, which [`check_run`](ProcessCapability::check_run) decides
    /// (`reml-process check` asks both, as `run` does).
    ///
    /// Opens the program file to check its identity (and reads it for a content pin);
    /// nothing else is touched.
    pub fn check_command(&self, command: &Command, env: &Environment) -> CommandCheck {
        let mut prepared = match self.prepare(command, env) {
            Ok(p) => p,
            Err(e) => {
                return CommandCheck {
                    program: None,
                    rule: None,
                    result: Err(e),
                    rlimits: Vec::new(),
                }
            }
        };
        let result = self.check_prepared(&mut prepared);
        CommandCheck {
            program: Some(prepared.program.clone()),
            rule: prepared.policy_rule.take(),
            rlimits: if result.is_ok() {
                prepared.rlimits.clone()
            } else {
                Vec::new()
            },
            result,
        }
    }
}
