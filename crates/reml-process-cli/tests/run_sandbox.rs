//! `isolation_level = "sandboxed"` through `reml-process run` (`docs/sandbox.md`): a read
//! outside `[sandbox] read`, a write outside `write` and a loopback TCP connect with
//! `network = false` fail in the child; `--json` and the audit's `process.spawned` carry
//! `process.isolation`; `verify` names an unavailable level.

mod common;

use common::*;

const SYSTEM: &str = r#""/usr", "/bin", "/lib", "/lib64", "/etc""#;

fn abi() -> i32 {
    reml_process::sandbox::kernel_support().landlock_abi
}

fn policy(dir: &std::path::Path, level: &str, sandbox: &str) -> String {
    let p = dir.join("p.toml");
    std::fs::write(
        &p,
        format!("[capability]\nisolation_level = \"{level}\"\n[commands]\nallow = [\"/bin/sh\", \"/bin/bash\"]\n[sandbox]\n{sandbox}\n"),
    )
    .unwrap();
    p.display().to_string()
}

#[test]
fn sandboxed_run_confines_files_and_network_and_says_so() {
    if abi() < 4 {
        skip(
            "sandboxed_run_confines_files_and_network_and_says_so",
            "needs Landlock ABI 4",
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let secret = tmp.path().join("secret");
    std::fs::write(&secret, "s3cret").unwrap();
    let rw = tempfile::tempdir().unwrap();
    let p = policy(
        tmp.path(),
        "sandboxed",
        &format!("read = [{SYSTEM}]\nwrite = [\"{}\"]", rw.path().display()),
    );
    let audit = tmp.path().join("audit.jsonl");
    let audit_s = audit.display().to_string();
    let script = format!(
        "cat {s} && echo READ; echo x > {t}/own && echo WROTE_OWN; echo x > {d}/out && echo WROTE_OUT; exit 0",
        s = secret.display(),
        t = rw.path().display(),
        d = tmp.path().display(),
    );
    let out = run(&[
        "--policy", &p, "--audit", &audit_s, "--json", "--", "/bin/sh", "-c", &script,
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let j = one_json(&out);
    let stdout = field(&j, "stdout").as_str().unwrap();
    assert_eq!(
        stdout, "WROTE_OWN\n",
        "only the write under [sandbox] write works"
    );
    assert!(field(&j, "stderr")
        .as_str()
        .unwrap()
        .contains("Permission denied"));
    assert!(!tmp.path().join("out").exists());
    assert_eq!(field(&j, "process.isolation")["level"], "sandboxed");
    assert_eq!(field(&j, "process.isolation")["landlock_abi"], abi());
    let log = std::fs::read_to_string(&audit).unwrap();
    let spawned = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["event"] == "process.spawned")
        .expect("a process.spawned record");
    assert_eq!(
        spawned["metadata"]["process.isolation"]["level"],
        "sandboxed"
    );

    // Network: a loopback listener of ours that the child may not reach.
    if !std::path::Path::new("/bin/bash").exists() {
        skip("network part", "no /bin/bash for /dev/tcp");
        return;
    }
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let net = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo CONNECTED");
    let closed = policy(
        tmp.path(),
        "sandboxed",
        &format!("read = [{SYSTEM}]\nnetwork = false"),
    );
    let out = run(&["--policy", &closed, "--json", "--", "/bin/bash", "-c", &net])
        .output()
        .unwrap();
    let j = one_json(&out);
    assert_ne!(code(&out), 0);
    assert_eq!(field(&j, "stdout"), "");
    let open = policy(
        tmp.path(),
        "sandboxed",
        &format!("read = [{SYSTEM}]\nnetwork = true"),
    );
    let out = run(&["--policy", &open, "--json", "--", "/bin/bash", "-c", &net])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "the same connect works with network = true");
    assert_eq!(field(&one_json(&out), "stdout"), "CONNECTED\n");
}

#[test]
fn full_isolation_is_refused_and_verify_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let p = policy(tmp.path(), "full_isolation", &format!("read = [{SYSTEM}]"));
    let out = run(&["--policy", &p, "--", "/bin/sh", "-c", "echo ran"])
        .output()
        .unwrap();
    // The policy fails its security review, so `run` refuses it before anything starts.
    assert_eq!(code(&out), 125, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "nothing ran");
    let line = one_error_line(&out);
    assert!(line.contains("policy.isolation.unavailable"), "{line}");
    assert!(line.contains("full_isolation"), "{line}");
    let out = reml().args(["verify", &p]).output().unwrap();
    assert_eq!(code(&out), 1);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("policy.isolation.unavailable"), "{text}");
    assert!(text.contains(&format!("Landlock ABI {}", abi())), "{text}");
}
