//! `reml-process-bench`: the side-by-side benchmark against the performance goals.
//!
//! Runs every measure interleaved (the methods of a measure alternate within each round, so
//! drift on a shared machine hits them all alike), prints min / median / p99 per method, the
//! ratios of medians against the goals, a table, and then exactly one JSON object on its last
//! line with the goals' keys. `BENCHMARKS.md` explains each figure.
//!
//! ```text
//! reml-process-bench [--quick] [--stress N] [--plots DIR] [--cli-static PATH] [--only MEASURE,…]
//! ```
//!
//! Measures: `spawn,tiny,exit,collect,rss,concurrent,bigparent,fds,threads8,thread,cli,isolation,stress`.
//! The stress cycles run by default (300 with `--quick`, 1000 otherwise; `--stress N` sets
//! N). The plots (`spawn_vs_parent_rss.svg`, `spawn_vs_open_fds.svg`) go to `--plots DIR`,
//! by default `reml-process-bench-plots` under the system's temporary directory.
//! `--cli-static PATH` adds a second `reml-process` binary to the `cli` measure (the
//! statically linked build the README's "Installing the command" describes), alternated with
//! the default build and `timeout` in the same rounds (`cli_run_static_vs_coreutils_timeout`).

#![forbid(unsafe_code)]

mod anchors;
mod child;
mod growth;
mod measures;
mod parallel;
mod plot;
mod report;
mod sandbox;
mod stack;
mod stats;
mod stress;

use std::process::ExitCode;

use report::Report;

struct Args {
    quick: bool,
    stress: Option<usize>,
    only: Option<Vec<String>>,
    plots: Option<std::path::PathBuf>,
    cli_static: Option<std::path::PathBuf>,
}

const USAGE: &str = "usage: reml-process-bench [--quick] [--stress N] [--plots DIR] \
[--cli-static PATH] [--only spawn,tiny,exit,collect,rss,concurrent,bigparent,fds,threads8,thread,cli,isolation,stress]";

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut a = Args {
        quick: false,
        stress: None,
        only: None,
        plots: None,
        cli_static: None,
    };
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--stress" => {
                let n = it.next().ok_or("--stress needs a number of cycles")?;
                a.stress = Some(
                    n.parse()
                        .map_err(|_| format!("--stress {n}: not a number"))?,
                );
            }
            "--only" => {
                let list = it.next().ok_or("--only needs a list")?;
                a.only = Some(list.split(',').map(str::to_owned).collect());
            }
            "--plots" => {
                let dir = it.next().ok_or("--plots needs a directory")?;
                a.plots = Some(dir.into());
            }
            "--cli-static" => {
                let path = it
                    .next()
                    .ok_or("--cli-static needs the path of a reml-process binary")?;
                a.cli_static = Some(path.into());
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("__child") {
        return ExitCode::from(child::run(&argv[1..]) as u8);
    }
    match run(&argv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reml-process-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(argv: &[String]) -> Result<(), String> {
    let args = parse_args(argv)?;
    let tmp = std::env::temp_dir().join(format!("reml-process-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let cfg = measures::Cfg {
        quick: args.quick,
        exe: std::env::current_exe().map_err(|e| e.to_string())?,
        tmp: tmp.clone(),
        plots: args
            .plots
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("reml-process-bench-plots")),
        cli_static: args.cli_static.clone(),
    };
    let wanted = |name: &str| {
        args.only
            .as_ref()
            .map_or(true, |o| o.iter().any(|x| x == name))
    };
    let mut report = Report::default();
    type Measure = fn(&measures::Cfg, &mut Report) -> Result<(), String>;
    let all: [(&str, Measure, &[&'static str]); 12] = [
        (
            "spawn",
            measures::spawn_wait,
            &[
                "spawn_wait_native_vs_std",
                "spawn_wait_native_vs_vfork_floor",
                "spawn_wait_full_stack_vs_native",
                "spawn_wait_full_stack_vs_python",
                "spawn_wait_full_stack_vs_node",
                "audit_overhead_ratio",
            ],
        ),
        ("tiny", measures::spawn_wait_tiny, &[]),
        (
            "exit",
            measures::exit_notice,
            &["exit_notice_median_vs_waitpid"],
        ),
        (
            "collect",
            measures::collect,
            &["collect_throughput_vs_std", "collect_keep_all_vs_std"],
        ),
        (
            "rss",
            measures::collect_rss,
            &["collect_peak_rss_over_cap_mib"],
        ),
        (
            "concurrent",
            measures::concurrent,
            &["concurrent_1000_library_threads"],
        ),
        (
            "bigparent",
            growth::large_parent,
            &["spawn_large_parent_ratio"],
        ),
        ("fds", growth::many_fds, &["spawn_many_fds_ratio"]),
        (
            "threads8",
            parallel::threads8,
            &["spawn_threads8_throughput_vs_std"],
        ),
        ("thread", measures::threads, &["thread_create_join_vs_std"]),
        (
            "cli",
            parallel::cli_run,
            &[
                "cli_run_vs_coreutils_timeout",
                "cli_run_static_vs_coreutils_timeout",
            ],
        ),
        (
            "isolation",
            sandbox::spawn_by_level,
            &["spawn_sandboxed_vs_none", "spawn_full_isolation_vs_none"],
        ),
    ];
    if let Some(only) = &args.only {
        let known = |m: &str| m == "stress" || all.iter().any(|(name, _, _)| *name == m);
        if let Some(bad) = only.iter().find(|m| !known(m)) {
            return Err(format!("--only: no measure is called {bad:?} ({USAGE})"));
        }
    }
    let started = std::time::Instant::now();
    for (name, f, keys) in all {
        if wanted(name) {
            eprintln!(
                "[{:>6.1}s] measuring {name}…",
                started.elapsed().as_secs_f64()
            );
            f(&cfg, &mut report)?;
        } else {
            for k in keys {
                report.key(k, None, "not measured in this run (--only)");
            }
        }
    }
    let stress = args
        .stress
        .or_else(|| wanted("stress").then_some(if args.quick { 300 } else { 1000 }));
    if let Some(n) = stress {
        eprintln!(
            "[{:>6.1}s] stress, {n} cycles…",
            started.elapsed().as_secs_f64()
        );
        stress::stress(n, &cfg, &mut report)?;
    } else {
        report.count("stress_zombies", None, "not measured in this run (--only)");
        report.count("stress_fd_delta", None, "not measured in this run (--only)");
    }
    let _ = std::fs::remove_dir_all(&tmp);
    report.sort_keys();
    eprintln!("[{:>6.1}s] done", started.elapsed().as_secs_f64());
    report::print_table(&report);
    println!("{}", report::json_line(&report));
    Ok(())
}
