//! `reml-process-bench`: the side-by-side benchmark against the performance goals.
//!
//! Runs every measure interleaved (the methods of a measure alternate within each round, so
//! drift on a shared machine hits them all alike), prints min / median / p99 per method, the
//! ratios of medians against the goals, a table, and then exactly one JSON object on its last
//! line with the goals' keys. `BENCHMARKS.md` explains each figure.
//!
//! ```text
//! reml-process-bench [--quick] [--stress N] [--only spawn,tiny,exit,collect,rss,concurrent,thread,isolation]
//! ```

#![forbid(unsafe_code)]

mod child;
mod measures;
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
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut a = Args {
        quick: false,
        stress: None,
        only: None,
    };
    let mut it = argv.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--stress" => {
                let n = it.next().ok_or("--stress needs a number of cycles")?;
                a.stress = Some(n.parse().map_err(|_| format!("--stress {n}: not a number"))?);
            }
            "--only" => {
                let list = it.next().ok_or("--only needs a list")?;
                a.only = Some(list.split(',').map(str::to_owned).collect());
            }
            "-h" | "--help" => {
                return Err("usage: reml-process-bench [--quick] [--stress N] [--only spawn,tiny,exit,collect,rss,concurrent,thread]".into())
            }
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
    };
    let wanted = |name: &str| {
        args.only
            .as_ref()
            .map_or(true, |o| o.iter().any(|x| x == name))
    };
    let mut report = Report::default();
    type Measure = fn(&measures::Cfg, &mut Report) -> Result<(), String>;
    let all: [(&str, Measure, &[&'static str]); 8] = [
        (
            "spawn",
            measures::spawn_wait,
            &[
                "spawn_wait_native_vs_std",
                "spawn_wait_full_stack_vs_std",
                "spawn_wait_full_stack_vs_python",
                "audit_overhead_ratio",
            ],
        ),
        ("tiny", measures::spawn_wait_tiny, &[]),
        (
            "exit",
            measures::exit_notice,
            &["exit_notice_median_vs_waitpid"],
        ),
        ("collect", measures::collect, &["collect_throughput_vs_std"]),
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
        ("thread", measures::threads, &["thread_create_join_vs_std"]),
        (
            "isolation",
            sandbox::spawn_by_level,
            &["spawn_sandboxed_vs_none", "spawn_full_isolation_vs_none"],
        ),
    ];
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
    if let Some(n) = args.stress {
        eprintln!(
            "[{:>6.1}s] stress, {n} cycles…",
            started.elapsed().as_secs_f64()
        );
        stress::stress(n, &cfg, &mut report)?;
    }
    let _ = std::fs::remove_dir_all(&tmp);
    report.sort_keys();
    eprintln!("[{:>6.1}s] done", started.elapsed().as_secs_f64());
    report::print_table(&report);
    println!("{}", report::json_line(&report));
    Ok(())
}
