//! Spawn + wait from 8 threads at once (`spawn_threads8_throughput_vs_std`) and the whole
//! command against coreutils `timeout` (`cli_run_vs_coreutils_timeout`).

use std::process::Stdio;
use std::time::{Duration, Instant};

use reml_process::{Command, Environment, NativeProcessCapability};

use crate::measures::{spawn_wait_once, Cfg};
use crate::report::{Report, Row, Unit};
use crate::stats::{interleave, summarize, time_each, Method, Summary};

const THREADS: usize = 8;

/// Runs `per` iterations of `f` on each of 8 threads at once; returns the wall time divided
/// by the number of spawns (the inverse of the throughput).
fn eight_at_once(
    per: usize,
    f: &(dyn Fn() -> Result<(), String> + Sync),
) -> Result<Duration, String> {
    let t = Instant::now();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| s.spawn(move || (0..per).try_for_each(|_| f())))
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().map_err(|_| "worker panicked".to_string())?)
    })?;
    Ok(t.elapsed() / (THREADS * per) as u32)
}

/// spawn+wait of `/bin/true` per second from 8 threads sharing one capability, against
/// `std::process::Command::status()` from 8 threads; each sample is one burst of
/// 8 × `per` spawns (wall time per spawn).
///
/// # Errors
/// The first failed spawn.
pub fn threads8(cfg: &Cfg, report: &mut Report) -> Result<(), String> {
    const M: &str = "spawn+wait /bin/true from 8 threads at once (wall time per spawn)";
    let cap = NativeProcessCapability::new();
    let cmd = Command::new("/bin/true");
    let env = Environment::default();
    let per = cfg.pick(8, 20);
    let native = || spawn_wait_once(&cap, &cmd, &env);
    let std_status = || {
        let s = std::process::Command::new("/bin/true")
            .status()
            .map_err(|e| e.to_string())?;
        if s.success() {
            Ok(())
        } else {
            Err(format!("child {s}"))
        }
    };
    let mut methods = vec![
        Method::new("native, one capability", |k| {
            (0..k).map(|_| eight_at_once(per, &native)).collect()
        }),
        Method::new("std Command::status()", |k| {
            (0..k).map(|_| eight_at_once(per, &std_status)).collect()
        }),
    ];
    interleave(&mut methods, cfg.pick(8, 30), 1, 1)?;
    let s: Vec<_> = methods
        .iter_mut()
        .map(|m| summarize(&mut m.samples))
        .collect();
    for (m, s) in methods.iter().zip(&s) {
        report.rows.push(Row {
            measure: M.into(),
            method: m.name.clone(),
            summary: *s,
            unit: Unit::Time,
            note: format!("bursts of {THREADS} × {per}"),
        });
    }
    let r = match (s[0], s[1]) {
        (Some(a), Some(b)) if a.median > Duration::ZERO => {
            Some(b.median.as_secs_f64() / a.median.as_secs_f64())
        }
        _ => None,
    };
    report.key(
        "spawn_threads8_throughput_vs_std",
        r,
        "spawns per second native / std (median burst), 8 threads",
    );
    Ok(())
}

fn status_of(cmd: &mut std::process::Command) -> Result<(), String> {
    let s = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if s.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?}: {s}"))
    }
}

/// The whole command `reml-process run --timeout 10 -- /bin/true` (the binary built next to
/// the bench, and the one `--cli-static` names when given) against `timeout 10 /bin/true`,
/// alternated in the same rounds, each timed around its `status()` from the bench.
///
/// # Errors
/// A run that fails once all were found.
pub fn cli_run(cfg: &Cfg, report: &mut Report) -> Result<(), String> {
    const M: &str = "whole command: run --timeout 10 -- /bin/true";
    const KEY: &str = "cli_run_vs_coreutils_timeout";
    const KEY_STATIC: &str = "cli_run_static_vs_coreutils_timeout";
    let run_of = |cli: &std::path::Path| {
        let cli = cli.to_path_buf();
        move || {
            status_of(std::process::Command::new(&cli).args([
                "run",
                "--timeout",
                "10",
                "--",
                "/bin/true",
            ]))
        }
    };
    let cli = cfg.exe.with_file_name("reml-process");
    let ours = run_of(&cli);
    let coreutils = || status_of(std::process::Command::new("timeout").args(["10", "/bin/true"]));
    // Without the default build or `timeout` neither key can be measured.
    let neither = |report: &mut Report, why: String| {
        report.key(KEY, None, why.clone());
        report.key(KEY_STATIC, None, why);
    };
    if let Err(why) = ours() {
        let why = format!(
            "{} does not run ({why}): build it with `cargo build --release -p reml-process-cli`",
            cli.display()
        );
        neither(report, why);
        return Ok(());
    }
    if let Err(why) = coreutils() {
        neither(report, format!("coreutils timeout does not run: {why}"));
        return Ok(());
    }
    let static_run = match &cfg.cli_static {
        None => Err(
            "not measured: give --cli-static PATH (the static build of README's \"Installing the command\")"
                .to_owned(),
        ),
        Some(path) => {
            let run = run_of(path);
            match run() {
                Ok(()) => Ok(run),
                Err(why) => Err(format!("{} does not run: {why}", path.display())),
            }
        }
    };
    let mut methods = vec![
        Method::new("reml-process run --timeout 10", |k| time_each(k, &ours)),
        Method::new("coreutils timeout 10", |k| time_each(k, coreutils)),
    ];
    if let Ok(run) = &static_run {
        methods.push(Method::new(
            "reml-process run --timeout 10 (static build)",
            move |k| time_each(k, run),
        ));
    }
    interleave(&mut methods, cfg.pick(10, 40), cfg.pick(10, 20), 1)?;
    let s: Vec<_> = methods
        .iter_mut()
        .map(|m| summarize(&mut m.samples))
        .collect();
    for (m, s) in methods.iter().zip(&s) {
        report.rows.push(Row {
            measure: M.into(),
            method: m.name.clone(),
            summary: *s,
            unit: Unit::Time,
            note: String::new(),
        });
    }
    let vs_timeout = |ours: Option<Summary>| match (ours, s[1]) {
        (Some(a), Some(b)) if b.median > Duration::ZERO => {
            Some(a.median.as_secs_f64() / b.median.as_secs_f64())
        }
        _ => None,
    };
    report.key(
        KEY,
        vs_timeout(s[0]),
        "median whole reml-process run (default build) / median whole timeout (alternated)",
    );
    match &static_run {
        Ok(_) => report.key(
            KEY_STATIC,
            vs_timeout(s[2]),
            "median whole reml-process run (static build, --cli-static) / median whole timeout (alternated)",
        ),
        Err(why) => report.key(KEY_STATIC, None, why.clone()),
    }
    Ok(())
}
