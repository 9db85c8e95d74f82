//! `--stress N`: N mixed cycles of spawn / wait / kill / time limit / release / collect /
//! wait set from several threads on one capability, then the zombies and open descriptors of
//! the bench before and after.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reml_process::{
    Command, Environment, NativeProcessCapability, ProcessCapability, ProcessErrorKind, Signal,
    StdioSpec, WaitOptions, WaitSet,
};

use crate::measures::Cfg;
use crate::report::{Report, Row, Unit};

/// Worker threads of the stress run.
const THREADS: usize = 4;

/// Open descriptors of this process (`/proc/self/fd` entries; the directory's own descriptor
/// is counted every time alike).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Pids of this process's children (any thread's) that are zombies.
pub fn zombies() -> Vec<i32> {
    children(true)
}

/// Pids of this process's children (any thread's), only the zombies when `only_zombies`.
fn children(only_zombies: bool) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(list) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        for pid in list
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].trim_start().chars().next());
            if !only_zombies || state == Some('Z') {
                out.push(pid);
            }
        }
    }
    out
}

fn e2s(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn expect_signal(
    r: Result<reml_process::ExitStatus, reml_process::ProcessError>,
    sig: i32,
) -> Result<(), String> {
    match r {
        Err(e) if e.kind == ProcessErrorKind::TerminatedBySignal && e.code == Some(sig) => Ok(()),
        other => Err(format!("expected signal {sig}, got {other:?}")),
    }
}

/// One cycle; the kind is `i % 6`.
fn cycle(cap: &NativeProcessCapability, exe: &Path, i: usize) -> Result<(), String> {
    let env = Environment::default();
    let helper = |args: &[&str]| {
        let mut c = Command::new(exe);
        c.arg("__child").args(args);
        c
    };
    match i % 6 {
        // spawn + wait
        0 => {
            let h = cap
                .spawn_process(&Command::new("/bin/true"), &env)
                .map_err(e2s)?;
            let r = cap.wait_process(h, None);
            cap.release_process(h).map_err(e2s)?;
            r.map(drop).map_err(e2s)
        }
        // spawn + kill + wait
        1 => {
            let h = cap
                .spawn_process(&helper(&["sleep", "30"]), &env)
                .map_err(e2s)?;
            cap.kill_process(h, Signal::TERM).map_err(e2s)?;
            let r = cap.wait_process(h, None);
            cap.release_process(h).map_err(e2s)?;
            expect_signal(r, 15)
        }
        // time limit, then kill
        2 => {
            let h = cap
                .spawn_process(&helper(&["sleep", "30"]), &env)
                .map_err(e2s)?;
            let r = cap.wait_process(h, Some(Duration::from_millis(5)));
            if !matches!(&r, Err(e) if e.kind == ProcessErrorKind::TimedOut) {
                return Err(format!("expected TimedOut, got {r:?}"));
            }
            cap.kill_process(h, Signal::KILL).map_err(e2s)?;
            let r = cap.wait_process(h, None);
            cap.release_process(h).map_err(e2s)?;
            expect_signal(r, 9)
        }
        // release while running: the library's reaper reaps it
        3 => {
            let h = cap
                .spawn_process(&helper(&["sleep", "0.05"]), &env)
                .map_err(e2s)?;
            cap.release_process(h).map_err(e2s)
        }
        // collect output through pipes
        4 => {
            let mut c = helper(&["write", "262144"]);
            c.stdout(StdioSpec::Pipe).stderr(StdioSpec::Pipe);
            let h = cap.spawn_process(&c, &env).map_err(e2s)?;
            let r = cap.wait_with_options(h, &WaitOptions::default().collecting());
            let out = cap.take_output(h).map_err(e2s)?;
            cap.release_process(h).map_err(e2s)?;
            r.map_err(e2s)?;
            if out.stdout_bytes != 262_144 {
                return Err(format!("collected {} bytes", out.stdout_bytes));
            }
            Ok(())
        }
        // a wait set: one exits, one outlives its limit and is killed, then re-added
        _ => {
            let mut set = WaitSet::new(cap).map_err(e2s)?;
            let a = cap
                .spawn_process(&Command::new("/bin/true"), &env)
                .map_err(e2s)?;
            let b = cap
                .spawn_process(&helper(&["sleep", "30"]), &env)
                .map_err(e2s)?;
            set.add(a, Some(Duration::from_secs(30))).map_err(e2s)?;
            set.add(b, Some(Duration::from_millis(5))).map_err(e2s)?;
            let mut problems = Vec::new();
            while let Some((h, r)) = set.wait_next() {
                match r {
                    Err(e) if e.kind == ProcessErrorKind::TimedOut && h == b => {
                        cap.kill_process(b, Signal::KILL).map_err(e2s)?;
                        set.add(b, None).map_err(e2s)?;
                    }
                    Err(e) if h == b && e.code == Some(9) => {}
                    Ok(_) if h == a => {}
                    other => problems.push(format!("{other:?}")),
                }
            }
            cap.release_process(a).map_err(e2s)?;
            cap.release_process(b).map_err(e2s)?;
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("; "))
            }
        }
    }
}

/// Waits (at most `limit`) until this process has no child left (released children still
/// running end by themselves and are reaped by the library), then returns the zombies.
fn settle(limit: Duration) -> Vec<i32> {
    let until = Instant::now() + limit;
    loop {
        if children(false).is_empty() || Instant::now() >= until {
            return zombies();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `n` cycles from [`THREADS`] threads and reports `stress_zombies` and
/// `stress_fd_delta`.
pub fn stress(n: usize, cfg: &Cfg, report: &mut Report) -> Result<(), String> {
    let cap = NativeProcessCapability::new();
    // Warm-up: one release while running starts the library's reaper thread, whose eventfd
    // and epoll stay open for the life of the process; count descriptors once it has reaped
    // that child (and closed its pidfd).
    cycle(&cap, &cfg.exe, 3)?;
    let zombies_before = settle(Duration::from_secs(5)).len();
    let fds_before = open_fds();
    let started = Instant::now();
    let failures = AtomicUsize::new(0);
    let first: Mutex<Option<String>> = Mutex::new(None);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (cap, exe, failures, first) = (&cap, &cfg.exe, &failures, &first);
            s.spawn(move || {
                for i in (t..n).step_by(THREADS) {
                    if let Err(e) = cycle(cap, exe, i) {
                        failures.fetch_add(1, Ordering::Relaxed);
                        first
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(format!("cycle {i}: {e}"));
                    }
                }
            });
        }
    });
    let elapsed = started.elapsed();
    // Children released while running end within 50 ms; give the reaper time to reap them.
    let zombies_after = settle(Duration::from_secs(10));
    let fds_after = open_fds();
    let failures = failures.into_inner();
    let outstanding = cap.outstanding();
    if let Some(e) = first.into_inner().unwrap_or_else(|p| p.into_inner()) {
        eprintln!("stress: {failures} failed cycles, first: {e}");
    }
    report.rows.push(Row {
        measure: format!("stress, {n} mixed cycles, {THREADS} threads"),
        method: "native".into(),
        summary: None,
        unit: Unit::Time,
        note: format!(
            "{:.1} s; failed cycles {failures}; handles left {outstanding}; zombies before {zombies_before}, after {}; fds before {fds_before}, after {fds_after}",
            elapsed.as_secs_f64(),
            zombies_after.len()
        ),
    });
    report.count(
        "stress_zombies",
        Some(zombies_after.len() as i64),
        format!("zombie children of the bench after the cycles (up to 10 s for the reaper); {failures} failed cycles"),
    );
    report.count(
        "stress_fd_delta",
        Some(fds_after as i64 - fds_before as i64),
        format!("open descriptors after − before ({fds_after} − {fds_before})"),
    );
    Ok(())
}
