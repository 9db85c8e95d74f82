//! A host narrows its capability for one job, runs the job through it, and revokes it.
//!
//! ```sh
//! cargo run -p reml-process --example narrow_and_revoke
//! ```
//!
//! The host's capability (audit around its policy) allows `/bin/sh` and `/bin/sleep`. The
//! job gets a narrowed capability: `sleep` only with one argument, `sh` not at all, and at
//! most two children. The job's processes are recorded with `capability.scope =
//! core.process/job-42`; revoking the capability ends them (their whole trees) and refuses
//! every later call.

use std::sync::Arc;
use std::time::Duration;

use reml_process::audit::{MemorySink, Redactor};
use reml_process::policy::Policy;
use reml_process::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sleep = resolve_program(std::path::Path::new("sleep"), None, None)?;
    let sh = resolve_program(std::path::Path::new("sh"), None, None)?;
    let host_policy = Policy::from_toml_str(&format!(
        "[commands]\nallow = [{:?}, {:?}]\n[limits]\nmax_processes = 16\n",
        sleep.display().to_string(),
        sh.display().to_string()
    ))?;
    let sink = Arc::new(MemorySink::new());
    let settings = AuditSettings {
        sink: sink.clone(),
        redactor: Redactor::default(),
        required: false,
    };
    let host: Arc<dyn ProcessCapability> =
        Arc::new(stack::build(Some(Arc::new(host_policy)), &settings));

    // The job's policy only narrows: whatever the host refuses stays refused.
    let job_policy = Policy::from_toml_str(&format!(
        "[commands]\nallow = []\n\
         [[commands.rule]]\nprogram = {:?}\nargs = [[\"*\"]]\n\
         [limits]\nmax_processes = 2\n",
        sleep.display().to_string()
    ))?;
    let job = stack::narrow(host.clone(), job_policy, "job-42")?;

    let mut long = Command::new(&sleep);
    long.arg("300");
    let a = job.spawn_process(&long, &Environment::default())?;
    let b = job.spawn_process(&long, &Environment::default())?;
    println!(
        "job {} runs pids {} and {}",
        job.scope(),
        job.process_info(a)?.pid,
        job.process_info(b)?.pid
    );

    let mut shell = Command::new(&sh);
    shell.args(["-c", "echo escaped"]);
    match job.spawn_process(&shell, &Environment::default()) {
        Ok(_) => println!("unexpected: the job ran a shell"),
        Err(e) => println!("a shell is refused: {}", e.message),
    }
    match job.spawn_process(&long, &Environment::default()) {
        Ok(_) => println!("unexpected: a third child"),
        Err(e) => println!("a third child is refused: {}", e.message),
    }

    let report = job.revoke(Duration::from_secs(2));
    println!(
        "revoked: {} processes ended (pids signalled: {:?})",
        report.ended, report.signalled
    );
    match job.spawn_process(&long, &Environment::default()) {
        Ok(_) => println!("unexpected: spawned after revocation"),
        Err(e) => println!("after revocation: {}", e.message),
    }

    println!("audit records of the job:");
    for r in sink.records() {
        if let Some(scope) = r.metadata.get("capability.scope") {
            println!("  {:<16} {} (scope {scope})", r.event, r.subject);
        }
    }
    Ok(())
}
