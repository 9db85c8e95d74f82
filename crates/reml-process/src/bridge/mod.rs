//! The invoke protocol for non-Rust hosts (`docs/bridge.md`): one request/answer shape,
//! three transports — [`Bridge::invoke`] (the shape of the Reml runtime's
//! `PluginExecutionBridge::invoke`: an entrypoint name and a byte payload in, bytes out), the
//! C ABI of the `reml-process-ffi` crate (`docs/c-abi.md`) and `reml-process serve`
//! (`docs/serve.md`).
//!
//! A payload is a JSON object; an answer is `{"ok": {...}}` or
//! `{"error": {"kind", "message", "code"}}` ([`error_json`]). Entrypoints:
//!
//! | entrypoint | payload | ok |
//! | --- | --- | --- |
//! | `capability.describe` | `{}` | the `describe --json` object |
//! | `process.spawn` | `{"program", "args"?, "cwd"?, "env"?, "env_clear"?, "stdin"?, "stdout"?, "stderr"?, "input"?}` | `{"handle", "pid", "program"}` |
//! | `process.wait` | `{"handle", "timeout_ms"?, "collect_output"?}` | the `run --json` fields ([`outcome_json`]) |
//! | `process.kill` | `{"handle", "signal", "tree"?}` | `{}` |
//! | `process.release` | `{"handle"}` | `{}` |
//!
//! Every call goes through the full stack (the security policy, then the native backend, with
//! the audit layer around both). A bridge made without a policy denies every spawn.

mod protocol;

pub use json::{error_json, outcome_json};
pub use protocol::{Bridge, DEFAULT_GRACE};

pub mod json;
