//! The cost of the isolation levels per spawn (`docs/sandbox.md`): spawn+wait of `/bin/true`
//! through the policy layer at `isolation_level = "none"` and at `"sandboxed"` (Landlock
//! ruleset built in the parent per spawn, `no_new_privs` + `landlock_restrict_self` in the
//! child).

use std::sync::Arc;

use reml_process::policy::Policy;
use reml_process::{Command, Environment, NativeProcessCapability, PolicyLayer, ProcessCapability};

use crate::measures::Cfg;
use crate::report::{Report, Row, Unit};
use crate::stats::{interleave, summarize, time_each, Method};

fn layer(level: &str) -> Result<PolicyLayer<NativeProcessCapability>, String> {
    let toml = format!(
        "[capability]\nisolation_level = \"{level}\"\n[commands]\nallow = [\"/bin/true\"]\n\
         [sandbox]\nread = [\"/usr\", \"/bin\", \"/lib\", \"/lib64\", \"/etc\"]\n"
    );
    let policy = Policy::from_toml_str(&toml).map_err(|e| e.to_string())?;
    Ok(PolicyLayer::new(
        NativeProcessCapability::new(),
        Arc::new(policy),
    ))
}

fn once(cap: &dyn ProcessCapability, cmd: &Command, env: &Environment) -> Result<(), String> {
    let h = cap.spawn_process(cmd, env).map_err(|e| e.to_string())?;
    let st = cap.wait_process(h, None).map_err(|e| e.to_string())?;
    cap.release_process(h).map_err(|e| e.to_string())?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("child {st}"))
    }
}

/// Adds the rows `spawn+wait /bin/true by isolation level` and the key
/// `spawn_sandboxed_vs_none` (median sandboxed / median none).
///
/// # Errors
/// A spawn that fails at level `none`; a kernel without Landlock gives a key with no value
/// and the reason.
pub fn spawn_by_level(cfg: &Cfg, report: &mut Report) -> Result<(), String> {
    const M: &str = "spawn+wait /bin/true by isolation level";
    let none = layer("none")?;
    let sandboxed = layer("sandboxed")?;
    let cmd = &Command::new("/bin/true");
    let env = &Environment::default();
    let probe = once(&sandboxed, cmd, env);
    let mut methods = vec![Method::new("policy layer, isolation none", |k| {
        time_each(k, || once(&none, cmd, env))
    })];
    if probe.is_ok() {
        methods.push(Method::new("policy layer, isolation sandboxed", |k| {
            time_each(k, || once(&sandboxed, cmd, env))
        }));
    }
    let rounds = if cfg.quick { 16 } else { 80 };
    let batch = if cfg.quick { 25 } else { 40 };
    interleave(&mut methods, rounds, batch, 2)?;
    let mut medians = Vec::new();
    for m in methods.iter_mut() {
        let s = summarize(&mut m.samples);
        medians.push(s.map(|s| s.median.as_secs_f64()));
        report.rows.push(Row {
            measure: M.to_string(),
            method: m.name.clone(),
            summary: s,
            unit: Unit::Time,
            note: String::new(),
        });
    }
    drop(methods);
    match probe {
        Ok(()) => {
            let ratio = match (
                medians.first().copied().flatten(),
                medians.get(1).copied().flatten(),
            ) {
                (Some(a), Some(b)) if a > 0.0 => Some(b / a),
                _ => None,
            };
            report.key(
                "spawn_sandboxed_vs_none",
                ratio,
                "median sandboxed / median none (policy layer, /bin/true)",
            );
        }
        Err(why) => report.key(
            "spawn_sandboxed_vs_none",
            None,
            format!("sandboxed unavailable: {why}"),
        ),
    }
    report.key(
        "spawn_full_isolation_vs_none",
        None,
        "full_isolation is not implemented in this version (every spawn is refused)",
    );
    Ok(())
}
