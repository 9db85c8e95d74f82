//! How spawn + wait of `/bin/true` grows with the parent: with its touched heap (resident
//! memory) and with its open descriptors, for us, std, Python and (memory only) a `fork`
//! path, each in a loop server of its own (`anchors`). At each step a *small* server of each
//! kind (nothing added) runs interleaved with the *grown* one, so the ratios compare samples
//! taken under the same load.

use crate::anchors::{self, LoopServer};
use crate::measures::Cfg;
use crate::plot::{self, Series};
use crate::report::{Report, Row, Unit};
use crate::stats::{interleave, summarize, Method, Summary};

/// One kind of server and the methods it runs.
struct Kind {
    /// Shown in the table and the plot.
    label: &'static str,
    /// The method on its server.
    method: &'static str,
    /// Which server (index into the pair list).
    server: usize,
    /// At most this many iterations per batch (the `fork` path of a 2 GiB parent takes
    /// about 100 ms per spawn here).
    most: usize,
}

/// What grows.
#[derive(Clone, Copy, PartialEq)]
enum Growth {
    /// Touched heap, MiB.
    Heap,
    /// Open descriptors.
    Fds,
}

struct Step {
    at: u64,
    small: Vec<Option<Summary>>,
    grown: Vec<Option<Summary>>,
}

/// Runs the steps: `targets` are cumulative sizes (MiB or descriptors); returns the summaries
/// per step and kind, and the real size of each step (descriptors opened may be fewer).
fn run_steps(
    cfg: &Cfg,
    growth: Growth,
    targets: &[u64],
    servers: &mut [(LoopServer, LoopServer)],
    kinds: &[Kind],
) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut have = vec![0u64; servers.len()];
    for &target in targets {
        let mut at = target;
        for (i, (_, grown)) in servers.iter_mut().enumerate() {
            let more = target.saturating_sub(have[i]);
            if more > 0 {
                match growth {
                    Growth::Heap => grown.alloc_start(more)?,
                    Growth::Fds => have[i] += grown.fds(more)?,
                }
            }
        }
        for (i, (_, grown)) in servers.iter_mut().enumerate() {
            if growth == Growth::Heap && target > have[i] {
                grown.alloc_done()?;
                have[i] = target;
            }
            at = at.min(have[i]);
        }
        // Every kind twice (small and grown), all interleaved.
        let cell = std::cell::RefCell::new(&mut *servers);
        let mut methods: Vec<Method<'_>> = Vec::new();
        for k in kinds {
            for grown in [false, true] {
                let cell = &cell;
                methods.push(Method::new(
                    format!("{} {}", k.label, if grown { "grown" } else { "small" }),
                    move |n| {
                        let mut s = cell.borrow_mut();
                        let pair = &mut s[k.server];
                        let srv = if grown { &mut pair.1 } else { &mut pair.0 };
                        srv.run(k.method, n.min(k.most))
                    },
                ));
            }
        }
        interleave(&mut methods, cfg.pick(4, 12), cfg.pick(10, 25), 1)?;
        let mut small = Vec::new();
        let mut grown = Vec::new();
        for (i, m) in methods.iter_mut().enumerate() {
            let s = summarize(&mut m.samples);
            if i % 2 == 0 {
                small.push(s);
            } else {
                grown.push(s);
            }
        }
        steps.push(Step { at, small, grown });
    }
    Ok(steps)
}

fn median_us(s: Option<Summary>) -> Option<f64> {
    s.map(|s| s.median.as_secs_f64() * 1e6)
}

fn ratio(grown: Option<Summary>, small: Option<Summary>) -> Option<f64> {
    let (g, s) = (grown?, small?);
    let s = s.median.as_secs_f64();
    (s > 0.0).then(|| g.median.as_secs_f64() / s)
}

/// The servers (small, grown) of each kind, the kinds, and why some kinds are missing.
type Pairs = (Vec<(LoopServer, LoopServer)>, Vec<Kind>, Vec<String>);

fn start_pairs(cfg: &Cfg, with_fork: bool) -> Result<Pairs, String> {
    let mut servers = vec![(anchors::bench(&cfg.exe)?, anchors::bench(&cfg.exe)?)];
    let mut kinds = vec![
        Kind {
            label: "native",
            method: "native",
            server: 0,
            most: usize::MAX,
        },
        Kind {
            label: "std",
            method: "std",
            server: 0,
            most: usize::MAX,
        },
    ];
    let mut missing = Vec::new();
    match (anchors::python(), anchors::python()) {
        (Ok(a), Ok(b)) => {
            kinds.push(Kind {
                label: "python3",
                method: "run",
                server: servers.len(),
                most: usize::MAX,
            });
            servers.push((a, b));
        }
        (Err(e), _) | (_, Err(e)) => missing.push(format!("python3: {e}")),
    }
    if with_fork {
        match (anchors::c_floor(&cfg.tmp), anchors::c_floor(&cfg.tmp)) {
            (Ok(a), Ok(b)) => {
                kinds.push(Kind {
                    label: "fork+exec (C)",
                    method: "fork",
                    server: servers.len(),
                    most: 2,
                });
                servers.push((a, b));
            }
            (Err(e), _) | (_, Err(e)) => missing.push(format!("fork path: {e}")),
        }
    }
    Ok((servers, kinds, missing))
}

fn add_rows(report: &mut Report, measure: &str, unit_name: &str, kinds: &[Kind], steps: &[Step]) {
    let last = steps.last();
    for (ki, k) in kinds.iter().enumerate() {
        if let Some(step) = last {
            report.rows.push(Row {
                measure: measure.to_string(),
                method: format!("{}, small parent", k.label),
                summary: step.small[ki],
                unit: Unit::Time,
                note: String::new(),
            });
        }
        let curve: Vec<String> = steps
            .iter()
            .map(|st| {
                format!(
                    "{} {unit_name}: {}",
                    st.at,
                    median_us(st.grown[ki]).map_or("–".into(), |v| format!("{v:.0} µs"))
                )
            })
            .collect();
        if let Some(step) = last {
            report.rows.push(Row {
                measure: measure.to_string(),
                method: format!("{}, {} {unit_name}", k.label, step.at),
                summary: step.grown[ki],
                unit: Unit::Time,
                note: format!(
                    "grown / small = {}; medians by size: {}",
                    ratio(step.grown[ki], step.small[ki])
                        .map_or("n/a".into(), |r| format!("{r:.3}")),
                    curve.join(", ")
                ),
            });
        }
    }
}

fn series(kinds: &[Kind], steps: &[Step]) -> Vec<Series> {
    kinds
        .iter()
        .enumerate()
        .map(|(ki, k)| Series {
            label: k.label.to_string(),
            points: steps
                .iter()
                .filter_map(|st| {
                    // The size-0 point of the grown server is the small parent itself.
                    median_us(st.grown[ki]).map(|v| (st.at as f64, v))
                })
                .collect(),
        })
        .collect()
}

/// Runs measure `m` over `targets` (the heap one with the `fork` path as well), adds its rows
/// to `report` (a row with the reason for each anchor that could not start) and hands back
/// the methods and their steps for the key and the plot.
fn measure(
    cfg: &Cfg,
    report: &mut Report,
    m: &str,
    growth: Growth,
    targets: &[u64],
) -> Result<(Vec<Kind>, Vec<Step>), String> {
    let with_fork = matches!(growth, Growth::Heap);
    let unit_name = if with_fork { "MiB" } else { "fds" };
    let (mut servers, kinds, missing) = start_pairs(cfg, with_fork)?;
    let steps = run_steps(cfg, growth, targets, &mut servers, &kinds)?;
    drop(servers);
    add_rows(report, m, unit_name, &kinds, &steps);
    for why in &missing {
        report.rows.push(Row {
            measure: m.into(),
            method: why.split(':').next().unwrap_or("").into(),
            summary: None,
            unit: Unit::Time,
            note: why.clone(),
        });
    }
    Ok((kinds, steps))
}

/// Spawn + wait with 2 GiB of touched heap in the parent against a small parent
/// (`spawn_large_parent_ratio`), with the curve for us, std, Python and a `fork` path, and
/// its plot `spawn_vs_parent_rss.svg`.
///
/// # Errors
/// A server that fails while measuring (a missing Python or C compiler only leaves its row
/// out).
pub fn large_parent(cfg: &Cfg, report: &mut Report) -> Result<(), String> {
    const M: &str = "spawn+wait /bin/true, parent with touched heap";
    let targets: &[u64] = if cfg.quick {
        &[0, 512, 2048]
    } else {
        &[0, 256, 512, 1024, 2048]
    };
    let (kinds, steps) = measure(cfg, report, M, Growth::Heap, targets)?;
    let last = steps.last().expect("steps");
    let other = |label: &str| {
        kinds
            .iter()
            .position(|k| k.label == label)
            .and_then(|i| ratio(last.grown[i], last.small[i]))
            .map_or("n/a".into(), |r| format!("{r:.3}"))
    };
    report.key(
        "spawn_large_parent_ratio",
        ratio(last.grown[0], last.small[0]),
        format!(
            "median native with {} MiB touched heap / median native small parent (interleaved); std {}, python3 {}, fork path {}",
            last.at,
            other("std"),
            other("python3"),
            other("fork+exec (C)")
        ),
    );
    plot::write(
        &cfg.plots.join("spawn_vs_parent_rss.svg"),
        "spawn+wait /bin/true vs the parent's touched heap (median)",
        "heap touched in the parent, MiB",
        &series(&kinds, &steps),
    )
}

/// Spawn + wait with 20 000 open descriptors in the parent against a few
/// (`spawn_many_fds_ratio`), with the curve for us, std and Python, and its plot
/// `spawn_vs_open_fds.svg`.
///
/// # Errors
/// A server that fails while measuring.
pub fn many_fds(cfg: &Cfg, report: &mut Report) -> Result<(), String> {
    const M: &str = "spawn+wait /bin/true, parent with open descriptors";
    // 20 000, or as many as the hard descriptor limit allows (20 000 here, and raising it
    // needs CAP_SYS_RESOURCE): each server keeps 100 free for its spawns.
    let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .maximum
        .unwrap_or(u64::MAX);
    let top = 20_000u64.min(hard.saturating_sub(100));
    let targets: Vec<u64> = if cfg.quick {
        vec![0, top / 2, top]
    } else {
        vec![0, top / 8, top / 4, top / 2, top]
    };
    let targets = &targets[..];
    let (kinds, steps) = measure(cfg, report, M, Growth::Fds, targets)?;
    let last = steps.last().expect("steps");
    let other = |i: usize| {
        ratio(
            last.grown.get(i).copied().flatten(),
            last.small.get(i).copied().flatten(),
        )
        .map_or("n/a".into(), |r| format!("{r:.3}"))
    };
    let value = ratio(last.grown[0], last.small[0]);
    let limited = if last.at < 20_000 {
        format!(" (not 20 000: the hard descriptor limit is {hard})")
    } else {
        String::new()
    };
    let note = format!(
        "median native with {} more open descriptors{limited} / median native with a few (interleaved); std {}, python3 {}",
        last.at,
        other(1),
        other(2)
    );
    report.key("spawn_many_fds_ratio", value, note);
    plot::write(
        &cfg.plots.join("spawn_vs_open_fds.svg"),
        "spawn+wait /bin/true vs the parent's open descriptors (median)",
        "descriptors opened in the parent (close-on-exec)",
        &series(&kinds, &steps),
    )
}
