//! `isolation_level = "sandboxed"` is enforced on the child (`docs/sandbox.md`): reads
//! outside `[sandbox] read`, writes outside `write` and TCP with `network = false` fail in the
//! child; `full_isolation` is refused, never downgraded. Tests needing Landlock skip visibly
//! where the kernel lacks it.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use reml_process::audit::{MemorySink, Redactor};
use reml_process::policy::{IsolationLevel, Policy};
use reml_process::sandbox::kernel_support;
use reml_process::*;

const SYSTEM: &str = r#""/usr", "/bin", "/lib", "/lib64", "/etc""#;

fn landlock(min_abi: i32) -> bool {
    let abi = kernel_support().landlock_abi;
    if abi < min_abi {
        eprintln!("SKIP: needs Landlock ABI {min_abi}, this kernel has {abi}");
        return false;
    }
    true
}

fn guard(toml: &str) -> PolicyLayer<NativeProcessCapability> {
    let policy = Policy::from_toml_str(toml).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    PolicyLayer::new(NativeProcessCapability::new(), Arc::new(policy))
}

fn sandboxed(sandbox: &str) -> PolicyLayer<NativeProcessCapability> {
    guard(&format!(
        "[capability]\nisolation_level = \"sandboxed\"\n[commands]\nallow = [\"/bin/sh\", \"/bin/bash\"]\n[sandbox]\n{sandbox}\n"
    ))
}

/// Runs `sh -c script`; returns (exit code, stdout, stderr).
fn run(cap: &dyn ProcessCapability, shell: &str, script: &str) -> (i32, String, String) {
    let mut c = Command::new(shell);
    c.args(["-c", script])
        .stdout(StdioSpec::Pipe)
        .stderr(StdioSpec::Pipe);
    let h = cap
        .spawn_process(&c, &Environment::default())
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let st = cap
        .wait_with_options(
            h,
            &WaitOptions::with_timeout(Duration::from_secs(20)).collecting(),
        )
        .unwrap();
    let out = cap.take_output(h).unwrap();
    cap.release_process(h).unwrap();
    (
        st.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn reading_outside_read_is_refused_and_inside_works() {
    if !landlock(1) {
        return;
    }
    let secret = tempfile::tempdir().unwrap();
    let file = secret.path().join("secret");
    std::fs::write(&file, "top secret\n").unwrap();
    let script = format!("cat {}", file.display());
    // Without the sandbox, the same script reads it: the test can fail.
    let plain = guard("[commands]\nallow = [\"/bin/sh\"]\n");
    let (code, out, _) = run(&plain, "/bin/sh", &script);
    assert_eq!((code, out.as_str()), (0, "top secret\n"));

    let cap = sandboxed(&format!("read = [{SYSTEM}]"));
    let (code, out, err) = run(&cap, "/bin/sh", &script);
    assert_ne!(code, 0, "read outside [sandbox] read: {out}");
    assert!(err.contains("Permission denied"), "EACCES expected: {err}");
    assert!(out.is_empty());

    let cap = sandboxed(&format!(
        "read = [{SYSTEM}, \"{}\"]",
        secret.path().display()
    ));
    let (code, out, _) = run(&cap, "/bin/sh", &script);
    assert_eq!((code, out.as_str()), (0, "top secret\n"));
}

#[test]
fn writing_outside_write_is_refused_and_inside_works() {
    if !landlock(1) {
        return;
    }
    let ro = tempfile::tempdir().unwrap();
    let rw = tempfile::tempdir().unwrap();
    let cap = sandboxed(&format!(
        "read = [{SYSTEM}, \"{}\"]\nwrite = [\"{}\"]",
        ro.path().display(),
        rw.path().display()
    ));
    let bad = ro.path().join("x");
    let good = rw.path().join("y");
    let (code, _, err) = run(&cap, "/bin/sh", &format!("echo hi > {}", bad.display()));
    assert_ne!(code, 0);
    assert!(err.contains("Permission denied"), "{err}");
    assert!(!bad.exists(), "a file was created outside [sandbox] write");
    let (code, _, err) = run(&cap, "/bin/sh", &format!("echo hi > {}", good.display()));
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&good).unwrap(), "hi\n");
}

#[test]
fn tcp_connect_is_refused_with_network_false() {
    if !landlock(4) || !std::path::Path::new("/bin/bash").exists() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected");
    let open = sandboxed(&format!("read = [{SYSTEM}]\nnetwork = true"));
    let (code, out, err) = run(&open, "/bin/bash", &script);
    assert_eq!((code, out.as_str()), (0, "connected\n"), "{err}");
    let closed = sandboxed(&format!("read = [{SYSTEM}]\nnetwork = false"));
    let (code, out, err) = run(&closed, "/bin/bash", &script);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("Permission denied"), "{err}");
}

#[test]
fn a_program_outside_read_is_refused_before_it_starts() {
    if !landlock(1) {
        return;
    }
    let cap = sandboxed("read = [\"/etc\"]");
    let e = cap
        .spawn_process(&Command::new("/bin/sh"), &Environment::default())
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::PermissionDenied);
    assert!(e.message.contains("[sandbox] read"), "{e}");
}

#[test]
fn full_isolation_is_refused_not_downgraded() {
    let cap = guard(&format!(
        "[capability]\nisolation_level = \"full_isolation\"\n[commands]\nallow = [\"/bin/sh\"]\n[sandbox]\nread = [{SYSTEM}]\n"
    ));
    let e = cap
        .spawn_process(&Command::new("/bin/sh"), &Environment::default())
        .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::PermissionDenied);
    assert!(e.message.contains("full_isolation"), "{e}");
}

#[test]
fn the_audit_record_and_process_info_carry_the_level() {
    if !landlock(4) {
        return;
    }
    let policy = Policy::from_toml_str(&format!(
        "[capability]\nisolation_level = \"sandboxed\"\n[commands]\nallow = [\"/bin/sh\"]\n[sandbox]\nread = [{SYSTEM}]\n"
    ))
    .unwrap();
    let sink = Arc::new(MemorySink::default());
    let cap = AuditLayer::new(
        PolicyLayer::new(NativeProcessCapability::new(), Arc::new(policy)),
        sink.clone(),
        Redactor::new(Vec::<String>::new()),
        false,
    );
    let mut c = Command::new("/bin/sh");
    c.args(["-c", "exit 0"]);
    let h = cap.spawn_process(&c, &Environment::default()).unwrap();
    assert_eq!(
        cap.process_info(h).unwrap().isolation,
        IsolationLevel::Sandboxed
    );
    cap.wait_process(h, Some(Duration::from_secs(10))).unwrap();
    cap.release_process(h).unwrap();
    let spawned = sink
        .records()
        .into_iter()
        .find(|e| e.event == "process.spawned")
        .unwrap();
    let iso = spawned.metadata.get("process.isolation").unwrap();
    assert_eq!(iso["level"], "sandboxed");
    assert_eq!(iso["landlock_abi"], kernel_support().landlock_abi);
}
