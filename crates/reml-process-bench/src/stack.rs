//! The subjects built from the whole library: the full stack (audit → policy → native) and
//! the thread capability.

use std::sync::Arc;

use reml_process::audit::{AuditSink, JsonLinesSink, NullSink, Redactor};
use reml_process::policy::Policy;
use reml_process::{
    AuditSettings, NativeThreadCapability, ProcessCapability, ThreadCapability, ThreadOptions,
    ThreadStart,
};

/// The full stack for the spawn measures, as `reml-process run --policy P --audit F` builds
/// it: audit (to a JSON Lines file in `dir` when `audit` is true, to nowhere otherwise) over
/// the security policy (allowing `/bin/true`, with the limits a real policy would set) over
/// the native backend.
///
/// # Errors
/// The reason, shown in the table, when the policy or the audit file cannot be set up.
pub fn full_stack(
    audit: bool,
    dir: &std::path::Path,
) -> Result<Box<dyn ProcessCapability>, String> {
    let policy = Policy::from_toml_str(
        r#"
[capability]
effect_scope = ["process", "signal", "io.blocking", "memory", "audit", "thread"]
[commands]
allow = ["/bin/true"]
allowed_signals = ["TERM", "KILL"]
[env]
deny = ["LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH"]
[limits]
max_processes = 64
max_wall_time = "1m"
max_output_bytes = "16MiB"
"#,
    )
    .map_err(|e| format!("bench policy: {e}"))?;
    let sink: Arc<dyn AuditSink> = if audit {
        Arc::new(
            JsonLinesSink::open(dir.join("bench-audit.jsonl"))
                .map_err(|e| format!("bench audit log: {}", e.message))?,
        )
    } else {
        Arc::new(NullSink)
    };
    let settings = AuditSettings {
        sink,
        redactor: Redactor::default(),
        required: false,
    };
    Ok(Box::new(reml_process::stack::build(
        Some(Arc::new(policy)),
        &settings,
    )))
}

/// One `create_thread` + `join_thread` of a thread that does nothing, through the library's
/// thread capability (the handle released after the join, as a careful caller does).
///
/// # Errors
/// Never in this build; the signature keeps the slot's shape.
pub fn thread_create_join() -> Result<Box<dyn FnMut() -> Result<(), String>>, String> {
    let cap = NativeThreadCapability::new();
    Ok(Box::new(move || {
        let h = cap
            .create_thread(ThreadStart::new(|_| Ok(())), ThreadOptions::default())
            .map_err(|e| e.message)?;
        cap.join_thread(h, None).map_err(|e| e.message)?;
        cap.release_thread(h).map_err(|e| e.message)
    }))
}
