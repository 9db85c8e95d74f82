//! The bench re-executes itself as the child programs of some measures
//! (`reml-process-bench __child MODE ARGS…`), so it depends on no program of the machine but
//! `/bin/true` and, for the Python anchor, `python3`.

use std::io::Write;

/// `CLOCK_MONOTONIC` now, in nanoseconds (the clock every process of the machine shares).
pub fn mono_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// The peak resident set (`VmHWM`) of this process, KiB.
pub fn vm_hwm_kib() -> u64 {
    proc_status_kib("VmHWM:")
}

fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Runs child mode `args[0]`; returns the process exit code.
pub fn run(args: &[String]) -> i32 {
    let a = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    match a(0) {
        // Writes the CLOCK_MONOTONIC time (8 bytes, little-endian ns) to stdout, then exits
        // at once: the exit-notice measure takes the delay from this stamp to the waiter.
        "stamp" => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&mono_ns().to_le_bytes());
            let _ = out.flush();
            std::process::exit(0)
        }
        // Sleeps SECS (decimal) seconds, then exits 0.
        "sleep" => {
            let secs: f64 = a(1).parse().unwrap_or(0.0);
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.max(0.0)));
            0
        }
        // Writes N zero bytes to stdout in 1 MiB writes.
        "write" => {
            let n: u64 = a(1).parse().unwrap_or(0);
            let chunk = vec![0u8; 1 << 20];
            let mut out = std::io::stdout().lock();
            let mut left = n;
            while left > 0 {
                let k = left.min(chunk.len() as u64) as usize;
                if out.write_all(&chunk[..k]).is_err() {
                    return 1;
                }
                left -= k as u64;
            }
            0
        }
        // A plain loop of N spawn+wait of /bin/true, or of N create+join of an empty thread,
        // by one method, for profilers (`perf record`, `strace -c -f`, `valgrind
        // --tool=callgrind`): `loop native|full|full-noaudit|std|thread-native|thread-std N`;
        // `loop audit-write N` appends N `process.exited` records to a fresh JSON Lines log and
        // prints the mean time per record (ns) on stderr.
        "loop" => {
            let n: usize = a(2).parse().unwrap_or(1000);
            let r = match a(1) {
                "native" => crate::measures::loop_native(n),
                "full" => crate::measures::loop_full(true, n),
                "full-noaudit" => crate::measures::loop_full(false, n),
                "std" => (0..n).try_for_each(|_| {
                    std::process::Command::new("/bin/true")
                        .status()
                        .map(drop)
                        .map_err(|e| e.to_string())
                }),
                "audit-write" => crate::measures::loop_audit_write(n),
                "thread-native" => crate::stack::thread_create_join()
                    .and_then(|mut one| (0..n).try_for_each(|_| one())),
                "thread-std" => (0..n).try_for_each(|_| {
                    std::thread::Builder::new()
                        .spawn(|| ())
                        .map_err(|e| e.to_string())?
                        .join()
                        .map_err(|_| "thread panicked".to_owned())
                }),
                m => Err(format!("unknown loop method {m:?}")),
            };
            match r {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("{e}");
                    1
                }
            }
        }
        // The loop server of the growth measures (see `anchors`).
        "server" => crate::anchors::bench_server(),
        "collect-rss" => crate::measures::collect_rss_child(a(1), a(2)),
        "concurrent" => crate::measures::concurrent_child(a(1)),
        other => {
            eprintln!("reml-process-bench: unknown child mode {other:?}");
            2
        }
    }
}
