//! The JSON shapes the invoke protocol shares with `reml-process run --json`
//! (`docs/command.md`, `docs/bridge.md`).

use serde_json::{json, Value};

use crate::{ProcessError, ProcessOutcome};

/// The `run --json` object of `docs/command.md` for `outcome`: `program`, `args`, `pid`,
/// `exit_code`, `signal` (a number), `timed_out`, `duration_ms` (milliseconds, 3 decimals),
/// `stdout`/`stderr` (lossy UTF-8), `stdout_truncated`/`stderr_truncated`,
/// `stdout_bytes`/`stderr_bytes` (every byte written, past the cap included), `cause`,
/// `error` ([`error_json`] or `null`) and `process.isolation` (the level applied and the
/// Landlock ABI, `docs/sandbox.md`).
///
/// The answer of the bridge's `process.wait` is this object.
pub fn outcome_json(o: &ProcessOutcome) -> Value {
    json!({
        "program": o.program,
        "args": o.args,
        "pid": o.pid,
        "exit_code": o.termination.and_then(|t| t.code()),
        "signal": o.termination.and_then(|t| t.signal()).map(|s| s.number()),
        "timed_out": o.timed_out,
        "duration_ms": (o.duration.as_secs_f64() * 1e6).round() / 1e3,
        "stdout": String::from_utf8_lossy(&o.output.stdout),
        "stderr": String::from_utf8_lossy(&o.output.stderr),
        "stdout_truncated": o.output.stdout_truncated,
        "stderr_truncated": o.output.stderr_truncated,
        "stdout_bytes": o.output.stdout_bytes,
        "stderr_bytes": o.output.stderr_bytes,
        "cause": o.cause.as_str(),
        "error": o.error.as_ref().map(error_json),
        "process.isolation": crate::sandbox::SandboxRules::isolation_json(o.isolation),
    })
}

/// `{"kind": "permission_denied", "message": "...", "code": 13 | null}`: an error as
/// `docs/command.md` shows it (`kind` one of `spawn_failed`, `timed_out`,
/// `terminated_by_signal`, `invalid_command`, `permission_denied`, `unsupported`).
pub fn error_json(e: &ProcessError) -> Value {
    json!({"kind": e.kind.as_str(), "message": e.message, "code": e.code})
}
