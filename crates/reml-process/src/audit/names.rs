//! Event names, domains and metadata keys of the audit log, and the check of the keys each
//! event requires (`docs/audit-log.md`).

use std::collections::BTreeMap;

use serde_json::Value;

pub mod events {
    //! Event names (`docs/audit-log.md`, "Events").
    //!
    //! The end of a process is recorded by exactly one of [`PROCESS_EXITED`],
    //! [`PROCESS_TIMED_OUT`] or [`PROCESS_KILLED`] (the *ending* events, see
    //! [`is_process_end`]), or — when the process was not seen to end — by
    //! [`PROCESS_RELEASED`] or [`PROCESS_LEAKED`].

    /// A child process was created; carries `process.pid` and `process.command`.
    pub const PROCESS_SPAWNED: &str = "process.spawned";
    /// A child process ended on its own: normal exit (`process.exit_status`) or a signal that
    /// was not ours (`process.signal`). An ending event.
    pub const PROCESS_EXITED: &str = "process.exited";
    /// A time limit expired and the process was ended because of it; carries the status or
    /// signal that finally ended it. An ending event.
    pub const PROCESS_TIMED_OUT: &str = "process.timed_out";
    /// The process was ended by a signal we (the caller of the capability) sent; carries
    /// `process.signal` (or the status if it exited on its own meanwhile). An ending event.
    pub const PROCESS_KILLED: &str = "process.killed";
    /// A spawn was refused by the security policy before anything ran; carries
    /// `process.command` and the reason (`process.reason` or `error.message`), no pid.
    pub const PROCESS_DENIED: &str = "process.denied";
    /// The OS refused to create or exec the child; carries `process.command` and the reason,
    /// `process.pid` only if a pid existed.
    pub const PROCESS_SPAWN_FAILED: &str = "process.spawn_failed";
    /// The handle of a process was released; if the process was not seen to end, this is its
    /// last record (status unknown).
    pub const PROCESS_RELEASED: &str = "process.released";
    /// At shutdown a process handle was still outstanding ("leave and reap":
    /// nothing is killed, `docs/audit-log.md`).
    pub const PROCESS_LEAKED: &str = "process.leaked";
    /// A thread was created; carries `thread.id`.
    pub const THREAD_CREATED: &str = "thread.created";
    /// A thread was joined; carries `thread.id`.
    pub const THREAD_JOINED: &str = "thread.joined";
    /// The CPU affinity of a thread was set; carries `thread.id` and `thread.affinity`.
    pub const THREAD_AFFINITY_SET: &str = "thread.affinity_set";
    /// At shutdown a thread handle was still outstanding; carries `thread.id`.
    pub const THREAD_LEAKED: &str = "thread.leaked";
    /// A capability was registered in the registry; carries `capability.id`.
    pub const CAPABILITY_REGISTERED: &str = "capability.registered";
    /// A capability passed (or failed) its verification; carries `capability.id`.
    pub const CAPABILITY_VERIFIED: &str = "capability.verified";
    /// Written by the JSON Lines sink itself when it found an incomplete tail left by a crash
    /// and resumed after it; carries `audit.torn_offset`, `audit.torn_bytes` and
    /// `audit.torn_sha256` (see [`crate::audit::JsonLinesSink`]).
    pub const AUDIT_RECOVERED: &str = "audit.recovered";

    /// Every event name above, in the order listed in `docs/audit-log.md`, then ours.
    pub const ALL: &[&str] = &[
        PROCESS_SPAWNED,
        PROCESS_EXITED,
        PROCESS_TIMED_OUT,
        PROCESS_KILLED,
        PROCESS_DENIED,
        PROCESS_SPAWN_FAILED,
        PROCESS_RELEASED,
        PROCESS_LEAKED,
        THREAD_CREATED,
        THREAD_JOINED,
        THREAD_AFFINITY_SET,
        CAPABILITY_REGISTERED,
        CAPABILITY_VERIFIED,
        THREAD_LEAKED,
        AUDIT_RECOVERED,
    ];

    /// Whether `event` is the last record the audit layer writes about a process, closing
    /// its lifecycle: an ending event ([`is_process_end`]), [`PROCESS_RELEASED`] (the handle
    /// let go; the last record when the end was not seen) or [`PROCESS_LEAKED`] (the handle
    /// still held at shutdown). A [`PROCESS_SPAWNED`] record that none of these follows, for
    /// the same `process.id`, is an *open* lifecycle: the writer was killed before it could
    /// record the end (`reml-process audit verify` reports it).
    pub fn ends_lifecycle(event: &str) -> bool {
        is_process_end(event) || matches!(event, PROCESS_RELEASED | PROCESS_LEAKED)
    }

    /// Whether `event` records the observed end of a process (`process.exited`,
    /// `process.timed_out`, `process.killed`): such records must carry
    /// `process.exit_status` or `process.signal`.
    pub fn is_process_end(event: &str) -> bool {
        matches!(event, PROCESS_EXITED | PROCESS_TIMED_OUT | PROCESS_KILLED)
    }
}

/// Domains: the `domain` field of a record, i.e. what kind of thing the `subject` is.
pub mod domains {
    /// A child process; the subject is the resolved program path.
    pub const PROCESS: &str = "process";
    /// A thread; the subject is its name (or id).
    pub const THREAD: &str = "thread";
    /// A capability; the subject is its id (`core.process`).
    pub const CAPABILITY: &str = "capability";
    /// The audit log itself (recovery records); the subject is the log path.
    pub const AUDIT: &str = "audit";
}

/// Metadata keys (`docs/audit-log.md`). Values are JSON; the shape of each is stated.
pub mod keys {
    /// The OS process id: a positive integer.
    pub const PROCESS_PID: &str = "process.pid";
    /// The lifecycle key of a process: a non-empty string, the same on every record the
    /// audit layer writes about one process (`process.spawned` to its end) and never the
    /// same for two processes, even when the kernel reuses the pid.
    ///
    /// On Linux it names the OS process: `"PID:START:BOOT"`, the pid, the start time in
    /// clock ticks after boot (field 22, `starttime`, of `/proc/PID/stat`, read while the
    /// child is known to be unreaped) and the boot id (`/proc/sys/kernel/random/boot_id`),
    /// e.g. `"4242:8123456:6f1c2d2e-8b1e-4f1a-9f0e-1e2d3c4b5a69"`; so whether pid 4242 is
    /// still that process can be checked against `/proc`, and a log appended across reboots
    /// cannot confuse two boots. When that cannot be read (no procfs, another platform) it
    /// is `"PID:UUID"` with a fresh random UUID: unique, but naming nothing in the OS.
    /// Readers treat it as opaque. Logs written before it existed have none; a reader
    /// then falls back on `process.pid` (see [`crate::audit::verify_log`]).
    pub const PROCESS_ID: &str = "process.id";
    /// The narrowed capability a process was spawned through (`core.process/job-7`), on
    /// every record of that process and on the refusals of that capability.
    pub const CAPABILITY_SCOPE: &str = "capability.scope";
    /// The capability that narrowed capability was narrowed from (`core.process`).
    pub const CAPABILITY_PARENT: &str = "capability.parent";
    /// The command line: an array of strings, the resolved program path first, then the
    /// arguments (redacted, see [`crate::audit::Redactor`]).
    pub const PROCESS_COMMAND: &str = "process.command";
    /// The arguments alone, without the program: an array of strings (redacted).
    pub const PROCESS_ARGS: &str = "process.args";
    /// The exit code of a process that exited normally: an integer (0‥=255 on Unix).
    pub const PROCESS_EXIT_STATUS: &str = "process.exit_status";
    /// The signal that ended the process, or that was sent: the signal number (integer);
    /// a name string (`"TERM"`) is accepted too.
    pub const PROCESS_SIGNAL: &str = "process.signal";
    /// How long the process ran, in milliseconds: a number (fractional).
    pub const PROCESS_DURATION_MS: &str = "process.duration_ms";
    /// The process group id: a positive integer.
    pub const PROCESS_PGID: &str = "process.pgid";
    /// On a `process.kill` record of a whole-tree signal: the pids the signal was sent to,
    /// an array of positive integers, empty when the tree had already ended and nothing was
    /// signalled.
    pub const PROCESS_TARGETS: &str = "process.targets";
    /// The child's working directory: a string.
    pub const PROCESS_CWD: &str = "process.cwd";
    /// Environment variables set for the child: an object `{NAME: VALUE}` (values redacted
    /// by name), or an array of `"NAME=VALUE"` strings.
    pub const PROCESS_ENV: &str = "process.env";
    /// The time limit that applied, in milliseconds: a number.
    pub const PROCESS_TIMEOUT_MS: &str = "process.timeout_ms";
    /// Why a spawn was denied or failed: a string.
    pub const PROCESS_REASON: &str = "process.reason";
    /// Why the process ended, as `docs/command.md` `cause`: `"exited"`, `"signaled"`,
    /// `"timed_out"`, `"output_capped"`, `"cpu_limit"`, `"not_started"`.
    pub const PROCESS_CAUSE: &str = "process.cause";
    /// The kind of an error (`spawn_failed`, `permission_denied`, …): a string.
    pub const ERROR_KIND: &str = "error.kind";
    /// The OS errno of an error: an integer.
    pub const ERROR_ERRNO: &str = "error.errno";
    /// The stable diagnostic code (`core.process.spawn_failed`): a string.
    pub const ERROR_CODE: &str = "error.code";
    /// The human-readable message of an error: a string.
    pub const ERROR_MESSAGE: &str = "error.message";
    /// A thread's id within the capability: an integer or string.
    pub const THREAD_ID: &str = "thread.id";
    /// A thread's name: a string.
    pub const THREAD_NAME: &str = "thread.name";
    /// A CPU affinity: an array of CPU numbers, or a list string like `"0-1"`.
    pub const THREAD_AFFINITY: &str = "thread.affinity";
    /// A capability id (`core.process`): a string.
    pub const CAPABILITY_ID: &str = "capability.id";
    /// A capability stage (`experimental`, `beta`, `stable`): a string.
    pub const CAPABILITY_STAGE: &str = "capability.stage";
    /// Recovery records: byte offset in the file where the skipped torn bytes start.
    pub const AUDIT_TORN_OFFSET: &str = "audit.torn_offset";
    /// Recovery records: number of skipped torn bytes.
    pub const AUDIT_TORN_BYTES: &str = "audit.torn_bytes";
    /// Recovery records: hex sha256 of the skipped torn bytes.
    pub const AUDIT_TORN_SHA256: &str = "audit.torn_sha256";
}

/// A record lacks metadata that its event requires, or carries a required key with the wrong
/// shape (see [`check_required_keys`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("event `{event}` lacks required metadata: {}", problems.join("; "))]
pub struct RequiredKeysError {
    /// The event name.
    pub event: String,
    /// One entry per problem, e.g. `"missing process.pid"`.
    pub problems: Vec<String>,
}

/// Checks that `metadata` has the keys `docs/audit-log.md` requires for `event`.
///
/// The rules:
/// - every `process.*` event: [`keys::PROCESS_COMMAND`], a non-empty array of strings;
/// - every `process.*` event except `process.denied` and `process.spawn_failed` (where no
///   process exists, so the pid is not known): [`keys::PROCESS_PID`], a positive integer;
/// - the ending events ([`events::is_process_end`]): [`keys::PROCESS_EXIT_STATUS`] (integer)
///   or [`keys::PROCESS_SIGNAL`] (positive integer or non-empty string);
/// - `process.denied` and `process.spawn_failed`: the reason, [`keys::PROCESS_REASON`] or
///   [`keys::ERROR_MESSAGE`] (string);
/// - every `thread.*` event: [`keys::THREAD_ID`]; `thread.affinity_set` also
///   [`keys::THREAD_AFFINITY`];
/// - every `capability.*` event: [`keys::CAPABILITY_ID`].
///
/// A key named above that is present must have the stated shape even where it is optional
/// (a `process.pid` of `"42"` is an error); so must [`keys::PROCESS_ID`], which is optional
/// (records of other writers, and older logs, have none). Other events and keys are not checked.
///
/// # Errors
/// [`RequiredKeysError`] listing every problem found.
pub fn check_required_keys(
    event: &str,
    metadata: &BTreeMap<String, Value>,
) -> Result<(), RequiredKeysError> {
    let mut problems = Vec::new();
    let get = |k: &str| metadata.get(k).filter(|v| !v.is_null());

    // Shapes of present keys.
    if let Some(v) = get(keys::PROCESS_PID) {
        if !v.as_u64().is_some_and(|p| p > 0) {
            problems.push(format!("{} must be a positive integer", keys::PROCESS_PID));
        }
    }
    if let Some(v) = get(keys::PROCESS_ID) {
        if !v.as_str().is_some_and(|s| !s.is_empty()) {
            problems.push(format!("{} must be a non-empty string", keys::PROCESS_ID));
        }
    }
    if let Some(v) = get(keys::PROCESS_COMMAND) {
        let ok = v
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string));
        if !ok {
            problems.push(format!(
                "{} must be a non-empty array of strings",
                keys::PROCESS_COMMAND
            ));
        }
    }
    if let Some(v) = get(keys::PROCESS_EXIT_STATUS) {
        if !v.is_i64() && !v.is_u64() {
            problems.push(format!("{} must be an integer", keys::PROCESS_EXIT_STATUS));
        }
    }
    if let Some(v) = get(keys::PROCESS_SIGNAL) {
        let ok = v.as_u64().is_some_and(|s| s > 0) || v.as_str().is_some_and(|s| !s.is_empty());
        if !ok {
            problems.push(format!(
                "{} must be a signal number or name",
                keys::PROCESS_SIGNAL
            ));
        }
    }

    if event.starts_with("process.") {
        if get(keys::PROCESS_COMMAND).is_none() {
            problems.push(format!("missing {}", keys::PROCESS_COMMAND));
        }
        let pid_unknown = matches!(event, events::PROCESS_DENIED | events::PROCESS_SPAWN_FAILED);
        if !pid_unknown && get(keys::PROCESS_PID).is_none() {
            problems.push(format!("missing {}", keys::PROCESS_PID));
        }
        if events::is_process_end(event)
            && get(keys::PROCESS_EXIT_STATUS).is_none()
            && get(keys::PROCESS_SIGNAL).is_none()
        {
            problems.push(format!(
                "missing {} or {}",
                keys::PROCESS_EXIT_STATUS,
                keys::PROCESS_SIGNAL
            ));
        }
        if pid_unknown {
            let has_reason = [keys::PROCESS_REASON, keys::ERROR_MESSAGE]
                .iter()
                .any(|k| get(k).is_some_and(Value::is_string));
            if !has_reason {
                problems.push(format!(
                    "missing the reason ({} or {})",
                    keys::PROCESS_REASON,
                    keys::ERROR_MESSAGE
                ));
            }
        }
    } else if event.starts_with("thread.") {
        if get(keys::THREAD_ID).is_none() {
            problems.push(format!("missing {}", keys::THREAD_ID));
        }
        if event == events::THREAD_AFFINITY_SET && get(keys::THREAD_AFFINITY).is_none() {
            problems.push(format!("missing {}", keys::THREAD_AFFINITY));
        }
    } else if event.starts_with("capability.") && get(keys::CAPABILITY_ID).is_none() {
        problems.push(format!("missing {}", keys::CAPABILITY_ID));
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(RequiredKeysError {
            event: event.to_owned(),
            problems,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn meta(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn spawned_needs_pid_and_command() {
        let err = check_required_keys(events::PROCESS_SPAWNED, &meta(json!({}))).unwrap_err();
        assert_eq!(
            err.problems,
            vec!["missing process.command", "missing process.pid"]
        );
        check_required_keys(
            events::PROCESS_SPAWNED,
            &meta(json!({"process.pid": 42, "process.command": ["/bin/true"]})),
        )
        .unwrap();
    }

    #[test]
    fn ends_need_status_or_signal() {
        let base = json!({"process.pid": 42, "process.command": ["/bin/true"]});
        for ev in [
            events::PROCESS_EXITED,
            events::PROCESS_TIMED_OUT,
            events::PROCESS_KILLED,
        ] {
            let err = check_required_keys(ev, &meta(base.clone())).unwrap_err();
            assert_eq!(
                err.problems,
                vec!["missing process.exit_status or process.signal"]
            );
            let mut m = meta(base.clone());
            m.insert(keys::PROCESS_SIGNAL.into(), json!(9));
            check_required_keys(ev, &m).unwrap();
            let mut m = meta(base.clone());
            m.insert(keys::PROCESS_EXIT_STATUS.into(), json!(0));
            check_required_keys(ev, &m).unwrap();
        }
        // Released and leaked are not ending events.
        check_required_keys(events::PROCESS_LEAKED, &meta(base)).unwrap();
    }

    #[test]
    fn denied_needs_reason_not_pid() {
        let err = check_required_keys(
            events::PROCESS_DENIED,
            &meta(json!({"process.command": ["/bin/x"]})),
        )
        .unwrap_err();
        assert_eq!(
            err.problems,
            vec!["missing the reason (process.reason or error.message)"]
        );
        check_required_keys(
            events::PROCESS_DENIED,
            &meta(json!({"process.command": ["/bin/x"], "process.reason": "not allowed"})),
        )
        .unwrap();
    }

    #[test]
    fn shapes_are_checked() {
        let err = check_required_keys(
            events::PROCESS_EXITED,
            &meta(json!({"process.pid": "42", "process.command": [], "process.exit_status": 1.5})),
        )
        .unwrap_err();
        assert_eq!(err.problems.len(), 3, "{err}");
    }

    #[test]
    fn thread_and_capability_events() {
        assert!(
            check_required_keys(events::THREAD_AFFINITY_SET, &meta(json!({"thread.id": 1})))
                .is_err()
        );
        check_required_keys(
            events::THREAD_AFFINITY_SET,
            &meta(json!({"thread.id": 1, "thread.affinity": [0]})),
        )
        .unwrap();
        assert!(check_required_keys(events::CAPABILITY_REGISTERED, &meta(json!({}))).is_err());
        check_required_keys("custom.event", &meta(json!({}))).unwrap();
    }
}
