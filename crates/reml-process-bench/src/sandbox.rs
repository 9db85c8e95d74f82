//! The cost of the isolation levels per spawn (`docs/sandbox.md`): spawn+wait of `/bin/true`
//! through the policy layer at `isolation_level = "none"`, at `"sandboxed"` (Landlock
//! ruleset built in the parent per spawn, `no_new_privs` + `landlock_restrict_self` in the
//! child) and at `"full_isolation"` (the same in new user, PID, mount, IPC, UTS and network
//! namespaces: the child writes its maps, mounts its `/proc`, brings up `lo`).

use std::sync::Arc;

use reml_process::policy::Policy;
use reml_process::{Command, Environment, NativeProcessCapability, PolicyLayer, ProcessCapability};

use crate::measures::Cfg;
use crate::report::{Report, Row, Unit};
use crate::stats::{interleave, summarize, time_each, Method};

fn layer(level: &str) -> Result<PolicyLayer<NativeProcessCapability>, String> {
    let toml = format!(
        "[capability]\nisolation_level = \"{level}\"\n[commands]\nallow = [\"/bin/true\"]\n\
         [sandbox]\nread = [\"/usr\", \"/bin\", \"/lib\", \"/lib64\", \"/etc\", \"/proc\"]\n"
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

/// Adds the rows `spawn+wait /bin/true by isolation level` and the keys
/// `spawn_sandboxed_vs_none` and `spawn_full_isolation_vs_none` (median at that level /
/// median at none), interleaved in one run.
///
/// # Errors
/// A spawn that fails at level `none`; a level the kernel cannot provide gives its key no
/// value and the reason.
pub fn spawn_by_level(cfg: &Cfg, report: &mut Report) -> Result<(), String> {
    const M: &str = "spawn+wait /bin/true by isolation level";
    let none = layer("none")?;
    let sandboxed = layer("sandboxed")?;
    let isolated = layer("full_isolation")?;
    let cmd = &Command::new("/bin/true");
    let env = &Environment::default();
    let levels: [(&str, &str, &PolicyLayer<NativeProcessCapability>); 2] = [
        ("sandboxed", "spawn_sandboxed_vs_none", &sandboxed),
        ("full_isolation", "spawn_full_isolation_vs_none", &isolated),
    ];
    let probes: Vec<Result<(), String>> = levels
        .iter()
        .map(|(_, _, cap)| once(*cap, cmd, env))
        .collect();
    let mut methods = vec![Method::new("policy layer, isolation none", |k| {
        time_each(k, || once(&none, cmd, env))
    })];
    for ((level, _, cap), probe) in levels.iter().zip(&probes) {
        if probe.is_ok() {
            let cap: &PolicyLayer<NativeProcessCapability> = cap;
            methods.push(Method::new(
                format!("policy layer, isolation {level}"),
                move |k| time_each(k, || once(cap, cmd, env)),
            ));
        }
    }
    // A namespace spawn costs milliseconds: fewer samples keep the run short.
    let rounds = if cfg.quick { 8 } else { 40 };
    let batch = if cfg.quick { 10 } else { 25 };
    interleave(&mut methods, rounds, batch, 2)?;
    let mut medians = std::collections::HashMap::new();
    for m in methods.iter_mut() {
        let s = summarize(&mut m.samples);
        if let Some(s) = &s {
            medians.insert(m.name.clone(), s.median.as_secs_f64());
        }
        report.rows.push(Row {
            measure: M.to_string(),
            method: m.name.clone(),
            summary: s,
            unit: Unit::Time,
            note: String::new(),
        });
    }
    drop(methods);
    let base = medians.get("policy layer, isolation none").copied();
    for ((level, key, _), probe) in levels.iter().zip(probes) {
        match probe {
            Ok(()) => {
                let ratio = match (
                    base,
                    medians.get(&format!("policy layer, isolation {level}")),
                ) {
                    (Some(a), Some(&b)) if a > 0.0 => Some(b / a),
                    _ => None,
                };
                report.key(
                    key,
                    ratio,
                    format!("median {level} / median none (policy layer, /bin/true)"),
                );
            }
            Err(why) => report.key(key, None, format!("{level} unavailable: {why}")),
        }
    }
    Ok(())
}
