//! `reml-process describe [--policy FILE] [--json]` (`docs/command.md`): the capability
//! descriptor of `core.process` as installed with that policy.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use reml_process::policy::Policy;
use reml_process::registry::{CapabilityHandle, CapabilityRegistry, Manifest, Registration};
use reml_process::NativeProcessCapability;

use crate::exit::{error_line, EXIT_OWN_FAILURE};

/// Options of `describe`.
#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// Policy to describe the capability with; repeatable: each further file narrows the
    /// ones before.
    #[arg(long, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `describe`; returns the exit status: 0, 1 when the policy fails installation (the
/// security review or the effect-scope check), 125 when it cannot be read or parsed (or,
/// through [`crate::output`], when standard output cannot be written).
pub fn main(args: DescribeArgs) -> i32 {
    let (policy, review) = match args.policy.is_empty() {
        // Each further file narrows the ones before; the error names the file.
        false => match crate::policies::read_all(&args.policy) {
            Ok((_, narrowed)) => (narrowed, true),
            Err(e) => {
                error_line(e);
                return EXIT_OWN_FAILURE;
            }
        },
        // The built-in default policy of `run` names exactly the program it is asked to run;
        // its shape (one allowed command, all effects, max_processes 64) does not depend on
        // which, so any absolute path stands in for it here.
        true => match Policy::default_for_program(Path::new("/")) {
            Ok(p) => (p, false),
            Err(e) => {
                error_line(e);
                return EXIT_OWN_FAILURE;
            }
        },
    };
    let registry = CapabilityRegistry::new();
    let handle = CapabilityHandle::Process(Arc::new(NativeProcessCapability::new()));
    let registration = Registration {
        policy: Arc::new(policy),
        policy_path: (!args.policy.is_empty())
            .then(|| PathBuf::from(crate::policies::shown(&args.policy))),
        manifest: Manifest::bundled(),
        manifest_path: Some(PathBuf::from("plugin.toml")),
        review,
    };
    let descriptor = match registry.register("process", handle, registration) {
        Ok(d) => d,
        // The line names the file(s) reviewed, as `run` and `verify` do.
        Err(e) if !args.policy.is_empty() => {
            error_line(format!("{}: {e}", crate::policies::shown(&args.policy)));
            return 1;
        }
        Err(e) => {
            error_line(e);
            return 1;
        }
    };
    let v = descriptor.to_json();
    let text = if args.json {
        format!("{v}\n")
    } else {
        format!(
            "id:               {}\n\
             stage:            {}\n\
             effect_scope:     {}\n\
             provider:         {}\n\
             manifest_path:    {}\n\
             last_verified_at: {}\n\
             security:         {}\n",
            descriptor.id,
            descriptor.stage.as_str(),
            descriptor.effect_scope.to_sorted_strings().join(", "),
            v["provider"],
            v["manifest_path"].as_str().unwrap_or("-"),
            v["last_verified_at"].as_str().unwrap_or("-"),
            v["security"],
        )
    };
    crate::output::stdout(text.as_bytes());
    0
}
