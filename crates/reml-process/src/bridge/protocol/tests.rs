use super::*;

fn ans(b: &Bridge, ep: &str, p: &str) -> Value {
    serde_json::from_slice(&b.invoke(ep, p.as_bytes())).expect("answer is JSON")
}

fn allow_sh() -> Policy {
    Policy::from_toml_str(
        "[capability]\nisolation_level = \"none\"\n[commands]\nallow = [\"/bin/sh\"]\n",
    )
    .expect("policy")
}

#[test]
fn bridge_is_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Bridge>();
}

#[test]
fn malformed_and_unknown_are_errors() {
    let b = Bridge::with_policy(None, None).expect("bridge");
    assert_eq!(
        ans(&b, "process.spawn", "{nope")["error"]["kind"],
        "invalid_command"
    );
    assert_eq!(ans(&b, "no.such", "{}")["error"]["kind"], "invalid_command");
    assert_eq!(
        ans(&b, "process.wait", "{}")["error"]["kind"],
        "invalid_command"
    );
    assert_eq!(
        ans(&b, "process.wait", r#"{"handle": 9007199254740993}"#)["error"]["kind"],
        "invalid_command"
    );
    assert_eq!(
        ans(&b, "process.spawn", "[1]")["error"]["kind"],
        "invalid_command"
    );
}

#[test]
fn without_policy_every_spawn_is_denied() {
    let b = Bridge::with_policy(None, None).expect("bridge");
    let a = ans(
        &b,
        "process.spawn",
        r#"{"program": "/bin/sh", "args": ["-c", "true"]}"#,
    );
    assert_eq!(a["error"]["kind"], "permission_denied", "{a}");
    assert_eq!(b.held(), 0);
}

#[test]
fn spawn_wait_collect_release() {
    let b = Bridge::with_policy(Some(allow_sh()), None).expect("bridge");
    let a = ans(
        &b,
        "process.spawn",
        r#"{"program": "/bin/sh", "args": ["-c", "read x; echo got $x; exit 3"],
            "stdout": "pipe", "input": "hello\n"}"#,
    );
    let h = a["ok"]["handle"].as_u64().expect("handle");
    assert!(a["ok"]["pid"].as_i64().is_some_and(|p| p > 0));
    let w = ans(
        &b,
        "process.wait",
        &format!(r#"{{"handle": {h}, "collect_output": true, "timeout_ms": 10000}}"#),
    );
    assert_eq!(w["ok"]["exit_code"], 3, "{w}");
    assert_eq!(w["ok"]["stdout"], "got hello\n");
    assert_eq!(w["ok"]["cause"], "exited");
    assert_eq!(
        w["ok"]["args"],
        json!(["-c", "read x; echo got $x; exit 3"])
    );
    assert_eq!(
        ans(&b, "process.release", &format!(r#"{{"handle": {h}}}"#))["ok"],
        json!({})
    );
    assert_eq!(b.held(), 0);
    assert_eq!(
        ans(&b, "process.release", &format!(r#"{{"handle": {h}}}"#))["error"]["kind"],
        "invalid_command"
    );
}

#[test]
fn wait_timeout_keeps_handle_then_kill() {
    let b = Bridge::with_policy(Some(allow_sh()), None).expect("bridge");
    let a = ans(
        &b,
        "process.spawn",
        r#"{"program": "/bin/sh", "args": ["-c", "sleep 30"]}"#,
    );
    let h = a["ok"]["handle"].as_u64().expect("handle");
    let w = ans(
        &b,
        "process.wait",
        &format!(r#"{{"handle": {h}, "timeout_ms": 50}}"#),
    );
    assert_eq!(w["error"]["kind"], "timed_out", "{w}");
    let k = ans(
        &b,
        "process.kill",
        &format!(r#"{{"handle": {h}, "signal": "KILL"}}"#),
    );
    assert_eq!(k["ok"], json!({}), "{k}");
    let w = ans(
        &b,
        "process.wait",
        &format!(r#"{{"handle": {h}, "timeout_ms": 5000}}"#),
    );
    assert_eq!(w["ok"]["signal"], 9, "{w}");
    assert_eq!(w["ok"]["cause"], "signaled");
}

#[test]
fn drop_ends_held_processes() {
    let b = Bridge::with_policy(Some(allow_sh()), None)
        .expect("bridge")
        .with_grace(Duration::from_millis(200));
    let a = ans(
        &b,
        "process.spawn",
        r#"{"program": "/bin/sh", "args": ["-c", "trap '' TERM; sleep 30"]}"#,
    );
    let pid = a["ok"]["pid"].as_i64().expect("pid") as i32;
    let started = Instant::now();
    drop(b);
    assert!(started.elapsed() < Duration::from_secs(10));
    // Gone (reaped): signal 0 fails with ESRCH.
    assert!(
        rustix::process::test_kill_process(rustix::process::Pid::from_raw(pid).expect("pid"))
            .is_err()
    );
}

#[test]
fn describe_answers_descriptor() {
    let b = Bridge::with_policy(None, None).expect("bridge");
    let d = ans(&b, "capability.describe", "");
    assert_eq!(d["ok"]["id"], "core.process", "{d}");
    assert_eq!(d["ok"]["stage"], "beta");
}

#[test]
fn serve_line_echoes_id() {
    let b = Bridge::with_policy(None, None).expect("bridge");
    let a: Value = serde_json::from_slice(
        &b.serve_line(br#"{"id": "x1", "entrypoint": "capability.describe"}"#),
    )
    .expect("json");
    assert_eq!(a["id"], "x1");
    assert_eq!(a["ok"]["id"], "core.process");
    let a: Value = serde_json::from_slice(&b.serve_line(b"garbage")).expect("json");
    assert_eq!(a["id"], Value::Null);
    assert_eq!(a["error"]["kind"], "invalid_command");
}
