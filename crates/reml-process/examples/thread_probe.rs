//! `thread_probe`: create one thread through `core.process`'s `ThreadCapability` and print
//! what the OS really applied to it, like `taskset`/`chrt` for a single thread.
//!
//! ```text
//! cargo run -p reml-process --example thread_probe -- [OPTIONS]
//!
//!   --name NAME             thread name (Linux keeps 15 bytes; see ThreadOptions::name)
//!   --cpus LIST             CPU affinity, set with set_thread_affinity: `0`, `0,1`, `0-1`
//!   --priority PRIORITY     low | normal | high | realtime
//!   --stack-size BYTES      stack size: `65536`, `64KiB`, `8MiB`
//!   --detached              create the thread detached
//!   --join                  join the thread and report the join
//!   --work DURATION         how long the thread runs after reading its state (default 0):
//!                           `250ms`, `2s`, `1.5`
//!   --join-timeout DURATION time limit of the join (implies --join)
//! ```
//!
//! The thread reads its own state back from the OS (tid from `gettid`, name from
//! `/proc/self/task/TID/comm`, affinity from `sched_getaffinity`, nice from `getpriority`,
//! policy from `sched_getscheduler`, rt_priority from `sched_getparam`) and the probe prints one
//! JSON line:
//!
//! ```text
//! {"ok":true,"os":{"tid":123,"name":"...","affinity":[0],"nice":10,"policy":"other","rt_priority":0},"join":"ok"}
//! ```
//!
//! `"join"` is `"ok"` when `--join` was given and the join succeeded, `null` otherwise. Without
//! `--join` the line is printed as soon as the thread has read its state, and the probe then
//! waits for the thread's `--work` to end before exiting (so the thread can be inspected under
//! `/proc` meanwhile).
//!
//! On failure it prints `{"ok":false,"error":{"kind":"invalid_affinity|creation_failed|
//! join_failed|unsupported","message":"..."}}` and exits with status 1, or 2 for a bad
//! command line (kind `invalid_affinity` for a malformed `--cpus`, `creation_failed` for any
//! other bad option).

use std::io::Write;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use reml_process::thread::{
    CpuSet, NativeThreadCapability, OsThreadState, ThreadCapability, ThreadOptions, ThreadPriority,
    ThreadStart,
};
use reml_process::units::{parse_duration, parse_size};
use reml_process::{ThreadError, ThreadErrorKind};
use serde::Serialize;

struct Args {
    options: ThreadOptions,
    cpus: Option<CpuSet>,
    join: bool,
    work: Duration,
    join_timeout: Option<Duration>,
}

/// A failure: the error to print and the exit status.
struct Failure(ThreadError, u8);

impl From<ThreadError> for Failure {
    fn from(e: ThreadError) -> Self {
        Failure(e, 1)
    }
}

fn usage(message: String) -> Failure {
    Failure(
        ThreadError::new(ThreadErrorKind::CreationFailed, message),
        2,
    )
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, Failure> {
    let mut args = Args {
        options: ThreadOptions::default(),
        cpus: None,
        join: false,
        work: Duration::ZERO,
        join_timeout: None,
    };
    while let Some(flag) = argv.next() {
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (flag, None),
        };
        let mut value = |name: &str| -> Result<String, Failure> {
            inline
                .clone()
                .or_else(|| argv.next())
                .ok_or_else(|| usage(format!("option {name} needs a value")))
        };
        match flag.as_str() {
            "--name" => args.options.name = Some(value("--name")?),
            "--cpus" => {
                let text = value("--cpus")?;
                let cpus = text.parse::<CpuSet>().map_err(|e| {
                    Failure(
                        ThreadError::new(ThreadErrorKind::InvalidAffinity, e.to_string()),
                        2,
                    )
                })?;
                args.cpus = Some(cpus);
            }
            "--priority" => {
                let p = value("--priority")?
                    .parse::<ThreadPriority>()
                    .map_err(|e| usage(e.to_string()))?;
                args.options.priority = Some(p);
            }
            "--stack-size" => {
                let bytes = parse_size(&value("--stack-size")?).map_err(usage)?;
                let bytes = usize::try_from(bytes)
                    .map_err(|_| usage(format!("stack size {bytes} does not fit in usize")))?;
                args.options.stack_size = Some(bytes);
            }
            "--detached" => args.options.detached = true,
            "--join" => args.join = true,
            "--work" => args.work = parse_duration(&value("--work")?).map_err(usage)?,
            "--join-timeout" => {
                args.join_timeout = Some(parse_duration(&value("--join-timeout")?).map_err(usage)?);
                args.join = true;
            }
            "-h" | "--help" => {
                return Err(usage(
                    "usage: thread_probe [--name NAME] [--cpus LIST] [--priority \
                     low|normal|high|realtime] [--stack-size BYTES] [--detached] [--join] \
                     [--work DURATION] [--join-timeout DURATION]"
                        .to_owned(),
                ))
            }
            other => return Err(usage(format!("unknown option `{other}` (try --help)"))),
        }
    }
    Ok(args)
}

/// The `"os"` object, fields in the documented order.
#[derive(Serialize)]
struct OsJson<'a> {
    tid: u32,
    name: &'a str,
    affinity: Vec<usize>,
    nice: i32,
    policy: &'static str,
    rt_priority: i32,
}

impl<'a> From<&'a OsThreadState> for OsJson<'a> {
    fn from(s: &'a OsThreadState) -> Self {
        OsJson {
            tid: s.tid,
            name: &s.name,
            affinity: s.affinity.to_vec(),
            nice: s.nice,
            policy: s.policy.as_str(),
            rt_priority: s.rt_priority,
        }
    }
}

/// `{"ok": true, "os": {...}, "join": "ok" | null}`.
#[derive(Serialize)]
struct Success<'a> {
    ok: bool,
    os: OsJson<'a>,
    join: Option<&'static str>,
}

/// `{"ok": false, "error": {"kind": ..., "message": ...}}`.
#[derive(Serialize)]
struct Failed<'a> {
    ok: bool,
    error: ErrorJson<'a>,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    kind: &'static str,
    message: &'a str,
}

fn print_line(v: &impl Serialize) {
    // These plain structs always serialise; the fallback only avoids a panic path.
    let line = serde_json::to_string(v).unwrap_or_else(|e| {
        format!(r#"{{"ok":false,"error":{{"kind":"unsupported","message":"json: {e}"}}}}"#)
    });
    let mut out = std::io::stdout().lock();
    // A closed stdout leaves nothing useful to do; the exit status still tells.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn run() -> Result<(), Failure> {
    let args = parse_args(std::env::args().skip(1))?;
    let cap = NativeThreadCapability::new();

    // The thread waits for `go` (sent once the affinity is set), reads its state, reports it,
    // works for `--work`, then says it is done.
    let (go_tx, go_rx) = mpsc::channel::<bool>();
    let (state_tx, state_rx) = mpsc::channel::<Result<OsThreadState, ThreadError>>();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let work = args.work;
    let start = ThreadStart::new(move |_me| {
        let result = if go_rx.recv().unwrap_or(false) {
            let state = OsThreadState::current();
            let result = state.as_ref().map(|_| ()).map_err(Clone::clone);
            let _ = state_tx.send(state);
            if result.is_ok() {
                std::thread::sleep(work);
            }
            result
        } else {
            Ok(())
        };
        let _ = done_tx.send(());
        result
    });

    let detached = args.options.detached;
    let handle = cap.create_thread(start, args.options)?;
    if let Some(cpus) = &args.cpus {
        if let Err(e) = cap.set_thread_affinity(handle, cpus) {
            let _ = go_tx.send(false);
            return Err(e.into());
        }
    }
    let _ = go_tx.send(true);
    let state = state_rx.recv().map_err(|_| {
        ThreadError::new(
            ThreadErrorKind::JoinFailed,
            "the thread ended without reporting its state",
        )
    })??;

    let join = if args.join {
        let result = cap.join_thread(handle, args.join_timeout)?;
        result.result?;
        Some("ok")
    } else {
        None
    };
    print_line(&Success {
        ok: true,
        os: OsJson::from(&state),
        join,
    });

    if !args.join {
        // Let the thread finish its work before the process exits.
        if detached {
            let _ = done_rx.recv();
        } else {
            cap.join_thread(handle, None)?.result?;
        }
    }
    cap.release_thread(handle)?;
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(e, status)) => {
            print_line(&Failed {
                ok: false,
                error: ErrorJson {
                    kind: e.kind.as_str(),
                    message: &e.message,
                },
            });
            ExitCode::from(status)
        }
    }
}
