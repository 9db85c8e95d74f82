//! The measures behind the performance goals. Each adds its rows and goal keys to the report.

use std::io::Read;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use reml_process::{
    Command, Environment, NativeProcessCapability, ProcessCapability, StdStream, StdioSpec,
    WaitOptions,
};

use crate::child::{mono_ns, vm_hwm_kib};
use crate::report::{Report, Row, Unit};
use crate::stats::{interleave, summarize, time_each, Method, Summary};

/// Run sizes and paths shared by the measures.
pub struct Cfg {
    /// `--quick`: fewer rounds, smaller batches.
    pub quick: bool,
    /// This program, re-executed as the child of some measures.
    pub exe: PathBuf,
    /// A scratch directory (audit files of the full stack, the C floor).
    pub tmp: PathBuf,
    /// Where the plots go (`--plots DIR`).
    pub plots: PathBuf,
    /// `--cli-static PATH`: a second `reml-process` binary for the `cli` measure.
    pub cli_static: Option<PathBuf>,
}

impl Cfg {
    pub(crate) fn pick(&self, quick: usize, full: usize) -> usize {
        if self.quick {
            quick
        } else {
            full
        }
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn rows_of(report: &mut Report, measure: &str, methods: &mut [Method<'_>]) -> Vec<Option<Summary>> {
    methods
        .iter_mut()
        .map(|m| {
            let s = summarize(&mut m.samples);
            report.rows.push(Row {
                measure: measure.to_string(),
                method: m.name.clone(),
                summary: s,
                unit: Unit::Time,
                note: String::new(),
            });
            s
        })
        .collect()
}

fn missing_row(report: &mut Report, measure: &str, method: &str, why: &str) {
    report.rows.push(Row {
        measure: measure.to_string(),
        method: method.to_string(),
        summary: None,
        unit: Unit::Time,
        note: why.to_string(),
    });
}

fn ratio(a: Option<Summary>, b: Option<Summary>) -> Option<f64> {
    let (a, b) = (a?, b?);
    let b = b.median.as_secs_f64();
    (b > 0.0).then(|| a.median.as_secs_f64() / b)
}

/// Spawns, waits and releases through any capability; the child must exit 0.
pub(crate) fn spawn_wait_once(
    cap: &dyn ProcessCapability,
    cmd: &Command,
    env: &Environment,
) -> Result<(), String> {
    let h = cap.spawn_process(cmd, env).map_err(err)?;
    let st = cap.wait_process(h, None);
    cap.release_process(h).map_err(err)?;
    match st {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("child {s}")),
        Err(e) => Err(err(e)),
    }
}

/// `n` spawn+wait of `/bin/true` through the native capability (profiling loop).
pub fn loop_native(n: usize) -> Result<(), String> {
    loop_on(&NativeProcessCapability::new(), n)
}

/// `n` spawn+wait of `/bin/true` through the full stack (policy, and audit to a file in a
/// fresh directory under the system's temporary directory when `audit`), for profilers.
///
/// # Errors
/// The first failure.
pub fn loop_full(audit: bool, n: usize) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("reml-bench-loop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let result = crate::stack::full_stack(audit, &dir).and_then(|cap| loop_on(&*cap, n));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// `n` records appended to a JSON Lines audit log in a fresh directory (the sink alone,
/// warm: no child between records); prints the mean per record, ns, on stderr.
///
/// # Errors
/// The first failure.
pub fn loop_audit_write(n: usize) -> Result<(), String> {
    use reml_process::audit::{AuditEvent, AuditSink, JsonLinesSink};
    let dir = std::env::temp_dir().join(format!("reml-bench-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let result = JsonLinesSink::open(dir.join("log.jsonl"))
        .map_err(|e| e.message)
        .and_then(|sink| {
            let t = std::time::Instant::now();
            for i in 0..n {
                let ev = AuditEvent::new("process", "/usr/bin/true", "process.exited")
                    .with_metadata("process.pid", 4242 + i as u64)
                    .with_metadata("process.id", format!("{}:123456:abcdef", 4242 + i))
                    .with_metadata("process.command", vec!["/usr/bin/true"])
                    .with_metadata("process.exit_status", 0);
                sink.write(&ev).map_err(|e| e.message)?;
            }
            eprintln!(
                "{} ns per record",
                t.elapsed().as_nanos() / n.max(1) as u128
            );
            Ok(())
        });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn loop_on(cap: &dyn ProcessCapability, n: usize) -> Result<(), String> {
    let cmd = Command::new("/bin/true");
    let env = Environment::default();
    (0..n).try_for_each(|_| spawn_wait_once(cap, &cmd, &env))
}

/// Raises the soft descriptor limit to at least `want` (and the hard one when allowed);
/// best effort, up to the hard limit otherwise.
pub fn raise_nofile(want: u64) {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    if lim.current.map_or(true, |c| c >= want) {
        return;
    }
    let max = lim.maximum.map(|m| m.max(want));
    let raised = Rlimit {
        current: Some(want),
        maximum: max,
    };
    if setrlimit(Resource::Nofile, raised).is_err() {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: lim.maximum,
                maximum: lim.maximum,
            },
        );
    }
}

/// spawn + wait of `/bin/true`: native, std, the raw `vfork` floor (C), the full stack (with
/// and without the audit file), Python and Node, interleaved.
pub fn spawn_wait(cfg: &Cfg, report: &mut Report) -> Result<(), String> {
    const M: &str = "spawn+wait /bin/true";
    let cap = NativeProcessCapability::new();
    let cmd = &Command::new("/bin/true");
    let env = &Environment::default();
    let full = crate::stack::full_stack(true, &cfg.tmp);
    let bare = crate::stack::full_stack(false, &cfg.tmp);
    let mut floor = crate::anchors::c_floor(&cfg.tmp);
    let mut py = crate::anchors::python();
    let mut node = crate::anchors::node();

    let mut methods = vec![
        Method::new("native", |k| {
            time_each(k, || spawn_wait_once(&cap, cmd, env))
        }),
        Method::new("std Command::status()", |k| {
            time_each(k, || {
                let s = std::process::Command::new("/bin/true")
                    .status()
                    .map_err(err)?;
                if s.success() {
                    Ok(())
                } else {
                    Err(format!("child {s}"))
                }
            })
        }),
    ];
    let mut idx = std::collections::HashMap::new();
    let mut missing: Vec<(&str, String)> = Vec::new();
    const FLOOR: &str = "raw vfork+execve+waitpid (C, -O2)";
    const FULL: &str = "full stack (policy + audit file)";
    const BARE: &str = "full stack without audit";
    const PY: &str = "python3 subprocess.run";
    const NODE: &str = "node child_process.spawnSync";
    match &mut floor {
        Ok(f) => {
            idx.insert(FLOOR, methods.len());
            methods.push(Method::new(FLOOR, move |k| f.run("vfork", k)));
        }
        Err(why) => missing.push((FLOOR, why.clone())),
    }
    match &full {
        Ok(c) => {
            idx.insert(FULL, methods.len());
            let c = c.as_ref();
            methods.push(Method::new(FULL, move |k| {
                time_each(k, || spawn_wait_once(c, cmd, env))
            }));
        }
        Err(why) => missing.push((FULL, why.clone())),
    }
    match &bare {
        Ok(c) => {
            idx.insert(BARE, methods.len());
            let c = c.as_ref();
            methods.push(Method::new(BARE, move |k| {
                time_each(k, || spawn_wait_once(c, cmd, env))
            }));
        }
        Err(why) => missing.push((BARE, why.clone())),
    }
    match &mut py {
        Ok(p) => {
            idx.insert(PY, methods.len());
            methods.push(Method::new(PY, move |k| p.run("run", k)));
        }
        Err(why) => missing.push((PY, why.clone())),
    }
    match &mut node {
        Ok(p) => {
            idx.insert(NODE, methods.len());
            methods.push(Method::new(NODE, move |k| p.run("run", k)));
        }
        Err(why) => missing.push((NODE, why.clone())),
    }
    interleave(&mut methods, cfg.pick(16, 80), cfg.pick(25, 40), 2)?;
    let s = rows_of(report, M, &mut methods);
    drop(methods);
    if let Some(r) = ratio(s[0], s[1]) {
        let first = report.rows.len() - s.len();
        report.rows[first].note = format!("native / std = {r:.3}");
    }
    for (name, why) in &missing {
        missing_row(report, M, name, why);
    }
    let get = |name: &str| idx.get(name).and_then(|&i| s[i]);
    let why = |name: &str, how: &str| {
        missing
            .iter()
            .find(|(n, _)| *n == name)
            .map_or_else(|| how.to_string(), |(_, w)| w.clone())
    };
    report.key(
        "spawn_wait_native_vs_std",
        ratio(s[0], s[1]),
        "median native / median std",
    );
    report.key(
        "spawn_wait_native_vs_vfork_floor",
        ratio(s[0], get(FLOOR)),
        why(
            FLOOR,
            "median native / median raw vfork+execve+waitpid (timed inside the C program)",
        ),
    );
    let vs_std = ratio(get(FULL), s[1]).map_or("n/a".into(), |r| format!("{r:.3}"));
    report.key(
        "spawn_wait_full_stack_vs_native",
        ratio(get(FULL), s[0]),
        why(
            FULL,
            &format!("median full stack / median native (full stack / std = {vs_std})"),
        ),
    );
    let full_or = |other: &str, how: &str| {
        if full.is_err() {
            why(FULL, how)
        } else {
            why(other, how)
        }
    };
    report.key(
        "spawn_wait_full_stack_vs_python",
        ratio(get(FULL), get(PY)),
        full_or(
            PY,
            "median full stack / median python (timed inside python)",
        ),
    );
    report.key(
        "spawn_wait_full_stack_vs_node",
        ratio(get(FULL), get(NODE)),
        full_or(
            NODE,
            "median full stack / median node spawnSync (timed inside node)",
        ),
    );
    let audit_note = if bare.is_err() {
        why(BARE, "")
    } else {
        full_or(
            BARE,
            "median full stack with audit file / median full stack without",
        )
    };
    report.key(
        "audit_overhead_ratio",
        ratio(get(FULL), get(BARE)),
        audit_note,
    );
    Ok(())
}

/// A 129-byte static x86-64 ELF executable whose only instructions are `exit(0)`: no
/// dynamic loader, no libc start-up. Spawning it shows the cost of the spawn path itself.
#[cfg(target_arch = "x86_64")]
fn tiny_elf() -> Vec<u8> {
    const BASE: u64 = 0x40_0000;
    let code: [u8; 9] = [
        0xb8, 0x3c, 0, 0, 0, // mov eax, 60 (exit)
        0x31, 0xff, // xor edi, edi
        0x0f, 0x05, // syscall
    ];
    let total = (64 + 56 + code.len()) as u64;
    let mut b = Vec::with_capacity(total as usize);
    b.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    b.extend_from_slice(&0x3eu16.to_le_bytes()); // EM_X86_64
    b.extend_from_slice(&1u32.to_le_bytes()); // EV_CURRENT
    b.extend_from_slice(&(BASE + 64 + 56).to_le_bytes()); // entry
    b.extend_from_slice(&64u64.to_le_bytes()); // phoff
    b.extend_from_slice(&0u64.to_le_bytes()); // shoff
    b.extend_from_slice(&0u32.to_le_bytes()); // flags
    for v in [64u16, 56, 1, 0, 0, 0] {
        b.extend_from_slice(&v.to_le_bytes()); // ehsize phentsize phnum shentsize shnum shstrndx
    }
    b.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    b.extend_from_slice(&5u32.to_le_bytes()); // R + X
    for v in [0u64, BASE, BASE, total, total, 0x1000] {
        b.extend_from_slice(&v.to_le_bytes()); // offset vaddr paddr filesz memsz align
    }
    b.extend_from_slice(&code);
    b
}

/// spawn + wait of the tiny ELF: native vs std (for information: the spawn path without the
/// child's own start-up, which dominates `/bin/true` on this machine).
pub fn spawn_wait_tiny(cfg: &Cfg, report: &mut Report) -> Result<(), String> {
    const M: &str = "spawn+wait tiny static ELF (info)";
    #[cfg(target_arch = "x86_64")]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = cfg.tmp.join("exit0");
        std::fs::write(&path, tiny_elf()).map_err(err)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(err)?;
        let cap = NativeProcessCapability::new();
        let cmd = &Command::new(&path);
        let env = &Environment::default();
        let path = &path;
        let mut methods = vec![
            Method::new("native", |k| {
                time_each(k, || spawn_wait_once(&cap, cmd, env))
            }),
            Method::new("std Command::status()", |k| {
                time_each(k, || {
                    let s = std::process::Command::new(path).status().map_err(err)?;
                    if s.success() {
                        Ok(())
                    } else {
                        Err(format!("child {s}"))
                    }
                })
            }),
        ];
        interleave(&mut methods, cfg.pick(16, 80), cfg.pick(25, 40), 2)?;
        let s = rows_of(report, M, &mut methods);
        if let Some(r) = ratio(s[0], s[1]) {
            if let Some(row) = report
                .rows
                .iter_mut()
                .rev()
                .find(|r| r.method == "native" && r.measure == M)
            {
                row.note = format!("native / std = {r:.3}");
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    missing_row(report, M, "native", "only on x86_64");
    Ok(())
}

/// Delay from a child's last act before exit (it writes its CLOCK_MONOTONIC time to a pipe)
/// to the waiter's return, native `wait_process` vs a blocking `waitpid`.
pub fn exit_notice(cfg: &Cfg, report: &mut Report) -> Result<(), String> {
    const M: &str = "exit notice (stamp → wait returns)";
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new(&cfg.exe);
    cmd.args(["__child", "stamp"]).stdout(StdioSpec::Pipe);
    let env = Environment::default();
    let read_stamp = |r: &mut dyn Read| -> Result<u64, String> {
        let mut b = [0u8; 8];
        r.read_exact(&mut b).map_err(err)?;
        Ok(u64::from_le_bytes(b))
    };
    let delay = |stamp: u64, back: u64| Duration::from_nanos(back.saturating_sub(stamp));
    let mut methods = vec![
        Method::new("native wait_process", |k| {
            let mut v = Vec::with_capacity(k);
            for _ in 0..k {
                let h = cap.spawn_process(&cmd, &env).map_err(err)?;
                let st = cap.wait_process(h, None);
                let back = mono_ns();
                st.map_err(err)?;
                let mut pipe = cap
                    .take_pipe(h, StdStream::Stdout)
                    .map_err(err)?
                    .ok_or("no pipe")?;
                let stamp = read_stamp(&mut pipe)?;
                cap.release_process(h).map_err(err)?;
                v.push(delay(stamp, back));
            }
            Ok(v)
        }),
        Method::new("blocking waitpid", |k| {
            let mut v = Vec::with_capacity(k);
            for _ in 0..k {
                let mut child = std::process::Command::new(&cfg.exe)
                    .args(["__child", "stamp"])
                    .stdout(Stdio::piped())
                    .spawn()
                    .map_err(err)?;
                let pid = rustix::process::Pid::from_raw(child.id() as i32).ok_or("pid")?;
                rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty())
                    .map_err(err)?;
                let back = mono_ns();
                let stamp = read_stamp(child.stdout.as_mut().ok_or("no pipe")?)?;
                v.push(delay(stamp, back));
            }
            Ok(v)
        }),
    ];
    interleave(&mut methods, cfg.pick(20, 60), 10, 1)?;
    let s = rows_of(report, M, &mut methods);
    report.key(
        "exit_notice_median_vs_waitpid",
        ratio(s[0], s[1]),
        "median delay native / median delay waitpid",
    );
    Ok(())
}

/// 512 MiB of output.
pub const COLLECT_BYTES: u64 = 512 << 20;
/// The output cap of the collection measures.
pub const COLLECT_CAP: u64 = 16 << 20;

/// Collecting 512 MiB of stdout: native with the 16 MiB cap, native keeping everything, std
/// `Command::output()`.
pub fn collect(cfg: &Cfg, report: &mut Report) -> Result<(), String> {
    const M: &str = "collect 512 MiB stdout";
    let cap = NativeProcessCapability::new();
    let n = COLLECT_BYTES.to_string();
    let mut cmd = Command::new(&cfg.exe);
    cmd.args(["__child", "write", &n])
        .stdout(StdioSpec::Pipe)
        .stderr(StdioSpec::Pipe);
    let env = Environment::default();
    let native = |keep: u64| {
        let (cap, cmd, env) = (&cap, &cmd, &env);
        move |k| {
            time_each(k, || {
                let h = cap.spawn_process(cmd, env).map_err(err)?;
                let opts = WaitOptions {
                    max_output_bytes: keep,
                    ..WaitOptions::default().collecting()
                };
                let st = cap.wait_with_options(h, &opts);
                let out = cap.take_output(h).map_err(err)?;
                cap.release_process(h).map_err(err)?;
                st.map_err(err)?;
                if out.stdout_bytes != COLLECT_BYTES
                    || out.stdout.len() as u64 != keep.min(COLLECT_BYTES)
                {
                    return Err(format!(
                        "read {} bytes, kept {}",
                        out.stdout_bytes,
                        out.stdout.len()
                    ));
                }
                Ok(())
            })
        }
    };
    let mut methods = vec![
        Method::new("native, 16 MiB cap", native(COLLECT_CAP)),
        Method::new("std Command::output()", |k| {
            time_each(k, || {
                let out = std::process::Command::new(&cfg.exe)
                    .args(["__child", "write", &n])
                    .output()
                    .map_err(err)?;
                if out.stdout.len() as u64 != COLLECT_BYTES {
                    return Err(format!("read {} bytes", out.stdout.len()));
                }
                Ok(())
            })
        }),
        Method::new("native, cap 512 MiB (keeps all)", native(COLLECT_BYTES)),
    ];
    interleave(&mut methods, cfg.pick(3, 12), 1, 1)?;
    let s = rows_of(report, M, &mut methods);
    report.key(
        "collect_throughput_vs_std",
        ratio(s[1], s[0]),
        format!(
            "median std output() / median native with the 16 MiB cap (throughput ratio); keeping all 512 MiB: {}",
            ratio(s[1], s[2]).map_or("n/a".into(), |r| format!("{r:.3}"))
        ),
    );
    report.key(
        "collect_keep_all_vs_std",
        ratio(s[1], s[2]),
        "median std output() / median native keeping all 512 MiB (throughput ratio)",
    );
    Ok(())
}

/// Peak memory above the cap while collecting 512 MiB with a 16 MiB cap, in a fresh child
/// process of the bench (its `VmHWM` after, minus before, minus the cap).
pub fn collect_rss(cfg: &Cfg, report: &mut Report) -> Result<(), String> {
    let runs = cfg.pick(2, 5);
    let mut worst: Option<f64> = None;
    let mut all = Vec::new();
    for _ in 0..runs {
        let out = std::process::Command::new(&cfg.exe)
            .args([
                "__child",
                "collect-rss",
                &COLLECT_BYTES.to_string(),
                &COLLECT_CAP.to_string(),
            ])
            .stderr(Stdio::inherit())
            .output()
            .map_err(err)?;
        let text = String::from_utf8_lossy(&out.stdout);
        let nums: Vec<u64> = text
            .split_whitespace()
            .filter_map(|t| t.parse().ok())
            .collect();
        if !out.status.success() || nums.len() != 2 {
            return Err(format!("collect-rss child failed: {text}"));
        }
        let over = (nums[1] as f64 - nums[0] as f64) / 1024.0 - (COLLECT_CAP >> 20) as f64;
        all.push(Duration::from_nanos(nums[1].saturating_sub(nums[0])));
        worst = Some(worst.map_or(over, |w: f64| w.max(over)));
    }
    report.rows.push(Row {
        measure: "peak RSS growth collecting 512 MiB, cap 16 MiB".into(),
        method: "native (fresh process, VmHWM after − before)".into(),
        summary: summarize(&mut all),
        unit: Unit::KibAsMib,
        note: String::new(),
    });
    report.key(
        "collect_peak_rss_over_cap_mib",
        worst,
        format!("worst of {runs} fresh processes: VmHWM growth − 16 MiB, MiB"),
    );
    Ok(())
}

/// The child side of [`collect_rss`]: prints `VmHWM` before and after, KiB.
pub fn collect_rss_child(bytes: &str, keep: &str) -> i32 {
    let (Ok(bytes), Ok(keep)) = (bytes.parse::<u64>(), keep.parse::<u64>()) else {
        return 2;
    };
    let exe = std::env::current_exe().expect("current_exe");
    let cap = NativeProcessCapability::new();
    let env = Environment::default();
    // Warm the spawn path so its own allocations are in the baseline.
    if spawn_wait_once(&cap, &Command::new("/bin/true"), &env).is_err() {
        return 1;
    }
    let before = vm_hwm_kib();
    let mut cmd = Command::new(exe);
    cmd.args(["__child", "write", &bytes.to_string()])
        .stdout(StdioSpec::Pipe)
        .stderr(StdioSpec::Pipe);
    let Ok(h) = cap.spawn_process(&cmd, &env) else {
        return 1;
    };
    let opts = WaitOptions {
        max_output_bytes: keep,
        ..WaitOptions::default().collecting()
    };
    let st = cap.wait_with_options(h, &opts);
    let out = cap.take_output(h).expect("take_output");
    let after = vm_hwm_kib();
    if st.is_err() || out.stdout_bytes != bytes {
        eprintln!("collect-rss: {st:?}, {} bytes read", out.stdout_bytes);
        return 1;
    }
    println!("{before} {after}");
    0
}

/// Number of threads of this process (`/proc/self/task` entries).
pub fn task_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

/// Threads used while waiting on 1000 children at once, each with its own time limit, in a
/// fresh child process of the bench (so no thread of an earlier measure is counted).
pub fn concurrent(cfg: &Cfg, report: &mut Report) -> Result<(), String> {
    let n = 1000;
    let out = std::process::Command::new(&cfg.exe)
        .args(["__child", "concurrent", &n.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .map_err(err)?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let nums: Vec<u64> = text
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    if !out.status.success() || nums.len() != 5 {
        return Err(format!("concurrent child failed: {text}"));
    }
    let (extra, exited, timed_out, samples, elapsed_ms) =
        (nums[0], nums[1], nums[2], nums[3], nums[4]);
    report.rows.push(Row {
        measure: format!("wait on {n} children at once, own limits"),
        method: "native WaitSet (one epoll, caller's thread)".into(),
        summary: Some(Summary {
            n: samples as usize,
            min: Duration::ZERO,
            median: Duration::from_nanos(extra),
            p99: Duration::from_nanos(extra),
        }),
        unit: Unit::Count("threads"),
        note: format!(
            "most threads beyond the caller's, sampled at every result; {exited} exited, {timed_out} timed out (then killed), {elapsed_ms} ms in all; a thread per wait_process would be {n}"
        ),
    });
    report.count(
        "concurrent_1000_library_threads",
        Some(extra as i64),
        format!(
            "most threads beyond the caller's during the wait ({samples} samples, fresh process)"
        ),
    );
    Ok(())
}

/// The child side of [`concurrent`]: prints `extra_threads exited timed_out samples
/// elapsed_ms`.
pub fn concurrent_child(n: &str) -> i32 {
    let n: usize = n.parse().unwrap_or(1000);
    // 1000 pidfds plus stdio: make sure the soft descriptor limit allows it.
    raise_nofile(n as u64 + 1024);
    let base = task_count();
    let exe = std::env::current_exe().expect("current_exe");
    let cap = NativeProcessCapability::new();
    let env = Environment::default();
    let started = std::time::Instant::now();
    let mut set = match reml_process::WaitSet::new(&cap) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let mut extra = 0usize;
    let mut samples = 0u64;
    let mut sample = |extra: &mut usize| {
        *extra = (*extra).max(task_count().saturating_sub(base));
        samples += 1;
    };
    for i in 0..n {
        // Half end by themselves within their limit, half outlive theirs.
        let (secs, limit) = if i % 2 == 0 {
            (
                format!("{:.3}", 0.2 + (i % 10) as f64 * 0.02),
                Duration::from_secs(30),
            )
        } else {
            (
                "30".to_string(),
                Duration::from_millis(300 + (i % 20) as u64 * 10),
            )
        };
        let mut cmd = Command::new(&exe);
        cmd.args(["__child", "sleep", &secs]);
        let h = match cap.spawn_process(&cmd, &env) {
            Ok(h) => h,
            Err(e) => {
                eprintln!("spawn {i}: {e}");
                return 1;
            }
        };
        if let Err(e) = set.add(h, Some(limit)) {
            eprintln!("add {i}: {e}");
            return 1;
        }
        if i % 50 == 0 {
            sample(&mut extra);
        }
    }
    let (mut exited, mut timed_out) = (0u64, 0u64);
    while let Some((h, r)) = set.wait_next() {
        sample(&mut extra);
        match r {
            Ok(_) => {
                exited += 1;
                let _ = cap.release_process(h);
            }
            Err(e) if e.kind == reml_process::ProcessErrorKind::TimedOut => {
                timed_out += 1;
                let _ = cap.kill_process(h, reml_process::Signal::KILL);
                let _ = set.add(h, None);
            }
            Err(_) => {
                let _ = cap.release_process(h);
            }
        }
    }
    println!(
        "{extra} {exited} {timed_out} {samples} {}",
        started.elapsed().as_millis()
    );
    0
}

/// `create_thread` + `join_thread` vs `std::thread::Builder` spawn + join.
pub fn threads(cfg: &Cfg, report: &mut Report) -> Result<(), String> {
    const M: &str = "thread create+join";
    let lib = crate::stack::thread_create_join();
    let mut methods = vec![Method::new("std thread::Builder spawn+join", |k| {
        time_each(k, || {
            std::thread::Builder::new()
                .spawn(|| {})
                .map_err(err)?
                .join()
                .map_err(|_| "thread panicked".to_string())
        })
    })];
    let why = lib.as_ref().err().cloned();
    if let Ok(mut f) = lib {
        methods.insert(
            0,
            Method::new("library create_thread+join_thread", move |k| {
                time_each(k, &mut f)
            }),
        );
    }
    interleave(&mut methods, cfg.pick(10, 200), cfg.pick(50, 100), 1)?;
    let s = rows_of(report, M, &mut methods);
    match why {
        Some(why) => {
            missing_row(report, M, "library create_thread+join_thread", &why);
            report.key("thread_create_join_vs_std", None, why);
        }
        None => report.key(
            "thread_create_join_vs_std",
            ratio(s[0], s[1]),
            "median library / median std",
        ),
    }
    Ok(())
}
