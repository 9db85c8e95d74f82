//! The report: rows of timings, the goal keys, the human table and the JSON line.

use std::time::Duration;

use crate::stats::Summary;

/// How a row's figures are shown.
#[derive(Clone, Copy, Debug)]
pub enum Unit {
    /// Durations.
    Time,
    /// A plain count or amount (MiB, threads); the summary holds it as whole nanoseconds.
    Count(&'static str),
    /// An amount of memory held as KiB (in the nanoseconds of the summary), shown in MiB.
    KibAsMib,
}

/// One method of one measure.
pub struct Row {
    /// The measure (`spawn+wait /bin/true`, …).
    pub measure: String,
    /// The method (`native`, `std status()`, …).
    pub method: String,
    /// Its figures; `None` when it could not run (see `note`).
    pub summary: Option<Summary>,
    /// How to show them.
    pub unit: Unit,
    /// Why it did not run, or what it means.
    pub note: String,
}

/// Whether a goal is an upper or a lower bound.
#[derive(Clone, Copy, Debug)]
pub enum Goal {
    /// The figure must be at most this.
    AtMost(f64),
    /// The figure must be at least this.
    AtLeast(f64),
    /// The figure must be exactly this (stress counts).
    Exactly(f64),
}

impl Goal {
    fn met(self, v: f64) -> bool {
        match self {
            Goal::AtMost(g) => v <= g,
            Goal::AtLeast(g) => v >= g,
            Goal::Exactly(g) => v == g,
        }
    }

    fn text(self) -> String {
        match self {
            Goal::AtMost(g) => format!("<= {g}"),
            Goal::AtLeast(g) => format!(">= {g}"),
            Goal::Exactly(g) => format!("= {g}"),
        }
    }
}

/// The keys of the performance goals, in their order, with their goals.
pub const KEYS: [(&str, Goal); 21] = [
    ("spawn_wait_native_vs_std", Goal::AtMost(1.00)),
    ("spawn_wait_native_vs_vfork_floor", Goal::AtMost(1.05)),
    ("spawn_wait_full_stack_vs_native", Goal::AtMost(1.05)),
    ("spawn_wait_full_stack_vs_python", Goal::AtMost(1.00)),
    ("spawn_wait_full_stack_vs_node", Goal::AtMost(0.60)),
    ("audit_overhead_ratio", Goal::AtMost(1.02)),
    ("exit_notice_median_vs_waitpid", Goal::AtMost(1.00)),
    ("collect_throughput_vs_std", Goal::AtLeast(1.50)),
    ("collect_keep_all_vs_std", Goal::AtLeast(1.30)),
    ("collect_peak_rss_over_cap_mib", Goal::AtMost(4.0)),
    ("concurrent_1000_library_threads", Goal::AtMost(2.0)),
    ("spawn_large_parent_ratio", Goal::AtMost(1.05)),
    ("spawn_many_fds_ratio", Goal::AtMost(1.05)),
    ("spawn_threads8_throughput_vs_std", Goal::AtLeast(1.00)),
    ("thread_create_join_vs_std", Goal::AtMost(1.05)),
    ("cli_run_vs_coreutils_timeout", Goal::AtMost(1.10)),
    ("cli_run_static_vs_coreutils_timeout", Goal::AtMost(1.10)),
    ("stress_zombies", Goal::Exactly(0.0)),
    ("stress_fd_delta", Goal::Exactly(0.0)),
    ("spawn_sandboxed_vs_none", Goal::AtMost(1.10)),
    ("spawn_full_isolation_vs_none", Goal::AtMost(3.0)),
];

fn goal_of(key: &str) -> Goal {
    KEYS.iter()
        .find(|(k, _)| *k == key)
        .map(|(_, g)| *g)
        .expect("a key of the goals")
}

/// One key of the JSON line.
pub struct Key {
    /// The JSON key, as named in the goals (`BENCHMARKS.md`).
    pub key: &'static str,
    /// The figure; `None` is printed as `null` (see `note`).
    pub value: Option<f64>,
    /// The goal for this key.
    pub goal: Goal,
    /// How the figure was made, or why there is none.
    pub note: String,
    /// A whole count (printed as a JSON integer) rather than a ratio.
    pub count: bool,
}

/// Everything measured in one run.
#[derive(Default)]
pub struct Report {
    /// Timing rows.
    pub rows: Vec<Row>,
    /// Goal keys, in the goals' order.
    pub keys: Vec<Key>,
}

impl Report {
    /// Adds a goal key.
    pub fn key(&mut self, key: &'static str, value: Option<f64>, note: impl Into<String>) {
        self.keys.push(Key {
            key,
            value,
            goal: goal_of(key),
            note: note.into(),
            count: false,
        });
    }

    /// Adds a key whose figure is a whole count.
    pub fn count(&mut self, key: &'static str, value: Option<i64>, note: impl Into<String>) {
        self.keys.push(Key {
            key,
            value: value.map(|v| v as f64),
            goal: goal_of(key),
            note: note.into(),
            count: true,
        });
    }
}

impl Report {
    /// Puts the keys in the goals' order (the stress keys only when measured).
    pub fn sort_keys(&mut self) {
        let pos = |k: &str| KEYS.iter().position(|(x, _)| *x == k).unwrap_or(usize::MAX);
        self.keys.sort_by_key(|k| pos(k.key));
    }
}

/// A duration with a unit fitting its size.
pub fn fmt_dur(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.3} s", ns / 1e9)
    }
}

fn fmt_fig(d: Duration, unit: Unit) -> String {
    match unit {
        Unit::Time => fmt_dur(d),
        Unit::Count(u) => format!("{} {u}", d.as_nanos()),
        Unit::KibAsMib => format!("{:.2} MiB", d.as_nanos() as f64 / 1024.0),
    }
}

/// Rounds to 3 decimals for the JSON line and the table.
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The human table: timings, then the goals.
pub fn print_table(report: &Report) {
    println!();
    println!("| measure | method | n | min | median | p99 | note |");
    println!("|---|---|---:|---:|---:|---:|---|");
    for r in &report.rows {
        match &r.summary {
            Some(s) => println!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.measure,
                r.method,
                s.n,
                fmt_fig(s.min, r.unit),
                fmt_fig(s.median, r.unit),
                fmt_fig(s.p99, r.unit),
                r.note
            ),
            None => println!(
                "| {} | {} | – | – | – | – | {} |",
                r.measure, r.method, r.note
            ),
        }
    }
    println!();
    println!("| key | value | goal | met | how / why |");
    println!("|---|---:|---|---|---|");
    for k in &report.keys {
        let (v, met) = match k.value {
            Some(v) => (
                format!("{}", round3(v)),
                if k.goal.met(round3(v)) { "yes" } else { "NO" },
            ),
            None => ("null".to_string(), "n/a"),
        };
        println!(
            "| `{}` | {} | {} | {} | {} |",
            k.key,
            v,
            k.goal.text(),
            met,
            k.note
        );
    }
    println!();
}

/// The JSON object of the last line: every key, `null` where there is no figure.
pub fn json_line(report: &Report) -> String {
    let mut obj = serde_json::Map::new();
    for k in &report.keys {
        let v = match k.value {
            Some(v) if k.count => serde_json::Value::from(v as i64),
            Some(v) => serde_json::Value::from(round3(v)),
            None => serde_json::Value::Null,
        };
        obj.insert(k.key.to_string(), v);
    }
    serde_json::Value::Object(obj).to_string()
}
