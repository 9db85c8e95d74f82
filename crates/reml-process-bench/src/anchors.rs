//! The anchors that run in processes of their own, driven as *loop servers*: Python
//! (`subprocess.run`), Node (`child_process.spawnSync`), a small C program (the raw
//! `vfork` + `execve` + `waitpid` floor, and a `fork` path) and the bench itself re-executed
//! (`__child server`: native and std, so that their parent can be made large).
//!
//! Every server speaks the same line protocol on its stdin / stdout, one answer line per
//! request:
//!
//! - `run METHOD K` — K spawn+wait of `/bin/true` by METHOD, each timed inside the server
//!   with a monotonic clock; answers the K durations in nanoseconds, separated by spaces;
//! - `alloc MIB` — allocates MIB more MiB of heap and writes every byte (touched, resident);
//!   answers `ok`;
//! - `fds N` — opens N more descriptors of `/dev/null` (close-on-exec, as std and Python open
//!   files), raising the descriptor limit first if needed; answers `ok OPENED`.
//!
//! Anything else, or a failure, answers a line starting with `error`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// A running loop server.
pub struct LoopServer {
    name: &'static str,
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl LoopServer {
    /// Starts `cmd` as a loop server and checks that it answers one `run PROBE 1`.
    ///
    /// # Errors
    /// Why the server is not available (shown in the table).
    pub fn start(
        name: &'static str,
        mut cmd: std::process::Command,
        probe: &str,
    ) -> Result<LoopServer, String> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{name} not available ({e})"))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut s = LoopServer {
            name,
            child,
            stdin,
            stdout,
        };
        s.run(probe, 1)
            .map_err(|e| format!("{name} does not answer: {e}"))?;
        Ok(s)
    }

    fn ask(&mut self, line: &str) -> Result<String, String> {
        self.send(line)?;
        self.receive()
    }

    fn send(&mut self, line: &str) -> Result<(), String> {
        writeln!(self.stdin, "{line}").map_err(|e| format!("{}: {e}", self.name))?;
        self.stdin
            .flush()
            .map_err(|e| format!("{}: {e}", self.name))
    }

    fn receive(&mut self) -> Result<String, String> {
        let mut answer = String::new();
        self.stdout
            .read_line(&mut answer)
            .map_err(|e| format!("{}: {e}", self.name))?;
        if answer.is_empty() {
            return Err(format!("{} ended", self.name));
        }
        if answer.starts_with("error") {
            return Err(format!("{}: {}", self.name, answer.trim_end()));
        }
        Ok(answer)
    }

    /// `k` spawn+wait of `/bin/true` by `method`, one duration each.
    ///
    /// # Errors
    /// The server's failure, or a wrong number of durations.
    pub fn run(&mut self, method: &str, k: usize) -> Result<Vec<Duration>, String> {
        let answer = self.ask(&format!("run {method} {k}"))?;
        let v: Vec<Duration> = answer
            .split_whitespace()
            .filter_map(|t| t.parse().ok())
            .map(Duration::from_nanos)
            .collect();
        if v.len() != k {
            return Err(format!("{} answered {} times for {k}", self.name, v.len()));
        }
        Ok(v)
    }

    /// Asks the server to grow its touched heap by `mib` MiB; [`LoopServer::alloc_done`]
    /// waits for it (so that several servers touch their memory at the same time).
    ///
    /// # Errors
    /// The server is gone.
    pub fn alloc_start(&mut self, mib: u64) -> Result<(), String> {
        self.send(&format!("alloc {mib}"))
    }

    /// Waits for the answer to [`LoopServer::alloc_start`].
    ///
    /// # Errors
    /// The server's failure.
    pub fn alloc_done(&mut self) -> Result<(), String> {
        self.receive().map(drop)
    }

    /// Opens `n` more descriptors in the server; returns how many it opened.
    ///
    /// # Errors
    /// The server's failure.
    pub fn fds(&mut self, n: u64) -> Result<u64, String> {
        let answer = self.ask(&format!("fds {n}"))?;
        answer
            .split_whitespace()
            .nth(1)
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| format!("{}: bad answer {answer:?}", self.name))
    }
}

impl Drop for LoopServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const PY_SERVER: &str = r#"
import os, resource, subprocess, sys, time
keep = []
for line in sys.stdin:
    w = line.split()
    try:
        if w[0] == "run":
            ts = []
            for _ in range(int(w[2])):
                t0 = time.perf_counter_ns()
                subprocess.run(["/bin/true"], check=True)
                ts.append(time.perf_counter_ns() - t0)
            out = " ".join(map(str, ts))
        elif w[0] == "alloc":
            keep.append(bytearray(b"\x01") * (int(w[1]) << 20))
            out = "ok"
        elif w[0] == "fds":
            n = int(w[1])
            want = len(os.listdir("/proc/self/fd")) + n + 64
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            if want > soft:
                try:
                    resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
                except (OSError, ValueError):
                    pass
            k = 0
            try:
                while k < n:
                    keep.append(os.open("/dev/null", os.O_RDONLY))
                    k += 1
            except OSError:
                pass
            out = "ok %d" % k
        else:
            out = "error unknown request"
    except Exception as e:
        out = "error %r" % (e,)
    sys.stdout.write(out + "\n")
    sys.stdout.flush()
"#;

/// Python's `subprocess.run(["/bin/true"], check=True)` (method `run`).
///
/// # Errors
/// Why `python3` is not available.
pub fn python() -> Result<LoopServer, String> {
    let mut cmd = std::process::Command::new("python3");
    cmd.args(["-c", PY_SERVER]);
    LoopServer::start("python3", cmd, "run")
}

const NODE_SERVER: &str = r#"
const { spawnSync } = require('child_process');
const rl = require('readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const w = line.split(' ');
  if (w[0] !== 'run') { process.stdout.write('error unknown request\n'); return; }
  const ts = [];
  for (let i = 0; i < Number(w[2]); i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('/bin/true', [], { stdio: 'inherit' });
    if (r.status !== 0) { process.stdout.write('error status ' + r.status + '\n'); return; }
    ts.push(String(process.hrtime.bigint() - t0));
  }
  process.stdout.write(ts.join(' ') + '\n');
});
"#;

/// Node's `child_process.spawnSync('/bin/true', [], {stdio: 'inherit'})` (method `run`).
///
/// # Errors
/// Why `node` is not available.
pub fn node() -> Result<LoopServer, String> {
    let mut cmd = std::process::Command::new("node");
    cmd.args(["-e", NODE_SERVER]);
    LoopServer::start("node", cmd, "run")
}

const C_SERVER: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
extern char **environ;
static char *volatile keep[4096];
static int nkeep;
static long long now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}
int main(void) {
    char line[256], m[32];
    char *argv[] = {"/bin/true", NULL};
    long n;
    while (fgets(line, sizeof line, stdin)) {
        if (sscanf(line, "run %31s %ld", m, &n) == 2) {
            int use_fork = strcmp(m, "fork") == 0;
            if (!use_fork && strcmp(m, "vfork") != 0) { printf("error method\n"); fflush(stdout); continue; }
            for (long i = 0; i < n; i++) {
                long long t0 = now();
                pid_t p = use_fork ? fork() : vfork();
                if (p == 0) { execve(argv[0], argv, environ); _exit(127); }
                int st = 0;
                if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                    printf("%serror status %d\n", i ? "\n" : "", st);
                    break;
                }
                long long d = now() - t0;
                printf("%s%lld", i ? " " : "", d);
            }
            printf("\n");
        } else if (sscanf(line, "alloc %ld", &n) == 1) {
            char *b = malloc((size_t)n << 20);
            if (!b || nkeep == 4096) { printf("error alloc\n"); }
            else { memset(b, 1, (size_t)n << 20); keep[nkeep++] = b; printf("ok\n"); }
        } else if (sscanf(line, "fds %ld", &n) == 1) {
            struct rlimit r;
            getrlimit(RLIMIT_NOFILE, &r);
            rlim_t want = (rlim_t)n + 1024;
            if (r.rlim_cur < want) {
                struct rlimit w = {want, r.rlim_max > want ? r.rlim_max : want};
                setrlimit(RLIMIT_NOFILE, &w);
            }
            long k = 0;
            while (k < n && open("/dev/null", O_RDONLY | O_CLOEXEC) >= 0) k++;
            printf("ok %ld\n", k);
        } else {
            printf("error unknown request\n");
        }
        fflush(stdout);
    }
    return 0;
}
"#;

/// The C floor: raw `vfork` + `execve` + `waitpid` (method `vfork`) and `fork` + `execve` +
/// `waitpid` (method `fork`), compiled with `cc -O2` into `dir` on first use.
///
/// # Errors
/// Why there is no C compiler or the program does not build.
pub fn c_floor(dir: &Path) -> Result<LoopServer, String> {
    let src = dir.join("floor.c");
    let bin = dir.join("floor");
    if !bin.exists() {
        std::fs::write(&src, C_SERVER).map_err(|e| e.to_string())?;
        let out = std::process::Command::new("cc")
            .args(["-O2", "-o"])
            .arg(&bin)
            .arg(&src)
            .output()
            .map_err(|e| format!("no C compiler `cc` for the vfork floor ({e})"))?;
        if !out.status.success() {
            return Err(format!(
                "cc failed on the vfork floor: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    LoopServer::start("vfork floor (C)", std::process::Command::new(bin), "vfork")
}

/// The bench re-executed as a loop server (methods `native` and `std`), for the measures
/// that need a parent of a given size.
///
/// # Errors
/// Why it does not start.
pub fn bench(exe: &Path) -> Result<LoopServer, String> {
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["__child", "server"]);
    LoopServer::start("bench server", cmd, "native")
}

/// The server side of [`bench()`] (`__child server`): reads requests on stdin until it ends.
pub fn bench_server() -> i32 {
    use reml_process::{Command, Environment, NativeProcessCapability, ProcessCapability};
    let cap = NativeProcessCapability::new();
    let cmd = Command::new("/bin/true");
    let env = Environment::default();
    let mut heap: Vec<Vec<u8>> = Vec::new();
    let mut files: Vec<std::fs::File> = Vec::new();
    let native = || -> Result<(), String> {
        let h = cap.spawn_process(&cmd, &env).map_err(|e| e.to_string())?;
        let st = cap.wait_process(h, None);
        cap.release_process(h).map_err(|e| e.to_string())?;
        match st {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!("child {s}")),
            Err(e) => Err(e.to_string()),
        }
    };
    let std_status = || -> Result<(), String> {
        let s = std::process::Command::new("/bin/true")
            .status()
            .map_err(|e| e.to_string())?;
        if s.success() {
            Ok(())
        } else {
            Err(format!("child {s}"))
        }
    };
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { return 1 };
        let w: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| w.get(i).and_then(|t| t.parse::<u64>().ok());
        let answer = match (w.first().copied(), w.get(1).copied(), num(2), num(1)) {
            (Some("run"), Some(m @ ("native" | "std")), Some(k), _) => {
                let f: &dyn Fn() -> Result<(), String> =
                    if m == "native" { &native } else { &std_status };
                match crate::stats::time_each(k as usize, f) {
                    Ok(v) => v
                        .iter()
                        .map(|d| d.as_nanos().to_string())
                        .collect::<Vec<_>>()
                        .join(" "),
                    Err(e) => format!("error {e}"),
                }
            }
            (Some("alloc"), _, _, Some(mib)) => {
                heap.push(vec![1u8; (mib as usize) << 20]);
                std::hint::black_box(&heap);
                "ok".to_string()
            }
            (Some("fds"), _, _, Some(n)) => {
                crate::measures::raise_nofile(files.len() as u64 + n + 1024);
                let mut k = 0;
                while k < n {
                    match std::fs::File::open("/dev/null") {
                        Ok(f) => files.push(f),
                        Err(_) => break,
                    }
                    k += 1;
                }
                format!("ok {k}")
            }
            _ => "error unknown request".to_string(),
        };
        if writeln!(out, "{answer}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return 1;
        }
    }
    0
}
