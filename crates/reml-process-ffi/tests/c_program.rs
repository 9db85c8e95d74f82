//! A C program compiled with the system `cc` against the built cdylib and the header runs the
//! scenario of `docs/c-abi.md`.

mod common;

use std::process::Command;

#[test]
fn c_program_runs_the_scenario() {
    let lib = common::cdylib();
    let lib_dir = lib.parent().expect("lib dir");
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = dir.path().join("scenario");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenario.c");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let out = Command::new(&cc)
        .arg("-Wall")
        .arg("-Werror")
        .arg("-I")
        .arg(common::include_dir())
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(lib_dir)
        .arg("-lreml_process_ffi")
        .arg("-lpthread")
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .output()
        .unwrap_or_else(|e| panic!("{cc}: {e} (a C compiler is needed for this test)"));
    assert!(
        out.status.success(),
        "cc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let policy = common::policy(dir.path());
    let audit = dir.path().join("audit.jsonl");
    let run = Command::new(&exe)
        .arg(&policy)
        .arg(&audit)
        .output()
        .expect("run scenario");
    common::assert_scenario_ran("scenario", &run, &audit);
}
