//! Program resolution: once, in the parent, by the documented rule.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::helper;
use reml_process::*;

fn install(dir: &Path, name: &str, mode: u32) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::copy(helper(), &p).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

#[test]
fn bare_name_uses_the_childs_final_path() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let prog = install(&bin, "my-tool", 0o755);
    let mut path_var = std::ffi::OsString::from("/nonexistent:");
    path_var.push(bin.as_os_str());
    // Resolved against the child's PATH, not ours.
    assert_eq!(
        resolve_program(Path::new("my-tool"), None, Some(&path_var)).unwrap(),
        prog
    );
    let e = resolve_program(Path::new("my-tool"), None, None).unwrap_err();
    assert_eq!(e.code, Some(2));
    // Through the capability: the command's own PATH override decides.
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("my-tool");
    cmd.args(["exit", "4"]).env("PATH", &path_var);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    assert_eq!(cap.process_info(h).unwrap().program, prog);
    assert_eq!(cap.wait_process(h, None).unwrap().code(), 4);
}

#[test]
fn relative_path_is_against_the_childs_cwd() {
    let tmp = tempfile::tempdir().unwrap();
    let prog = install(tmp.path(), "rel-tool", 0o755);
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new("./rel-tool");
    cmd.args(["exit", "9"]).cwd(tmp.path());
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    // Compared as strings: `Path`'s `==` ignores `.` components.
    assert_eq!(
        cap.process_info(h).unwrap().program.as_os_str(),
        prog.as_os_str()
    );
    assert_eq!(cap.wait_process(h, None).unwrap().code(), 9);
}

/// The resolved path is what messages, `argv[0]` and the audit log show: `.` and repeated
/// `/` are dropped, `..` is kept (it is not the lexical parent past a symlink).
#[test]
fn resolved_paths_drop_dot_components_and_keep_dot_dot() {
    let tmp = tempfile::tempdir().unwrap();
    let sub = tmp.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let prog = install(tmp.path(), "t", 0o755);
    let text = |p: std::path::PathBuf| p.into_os_string().into_string().unwrap();
    let base = text(tmp.path().to_path_buf());
    for (given, cwd, expected) in [
        ("./t", tmp.path().to_path_buf(), format!("{base}/t")),
        (
            "./sub/.//../t",
            tmp.path().to_path_buf(),
            format!("{base}/sub/../t"),
        ),
        ("../t", sub.clone(), format!("{base}/sub/../t")),
    ] {
        let got = resolve_program(Path::new(given), Some(&cwd), None).unwrap();
        assert_eq!(text(got), expected, "{given} in {}", cwd.display());
    }
    // A trailing `/` or `/.` names a directory: the file is not run in its place.
    for given in ["./t/", "./t/."] {
        let e = resolve_program(Path::new(given), Some(tmp.path()), None).unwrap_err();
        assert_eq!(e.code, Some(libc::ENOTDIR), "{given}: {e}");
    }
    let dotted = format!("{base}/./sub/.././");
    assert_eq!(
        text(resolve_program(Path::new("t"), None, Some(dotted.as_ref())).unwrap()),
        format!("{base}/sub/../t")
    );
    // A not-executable file is named by the path as given; the path found is clean too.
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = resolve_program(Path::new("t"), None, Some(dotted.as_ref())).unwrap_err();
    assert!(
        e.message.starts_with(&format!("{base}/sub/../t: ")),
        "{}",
        e.message
    );
}

#[test]
fn empty_and_relative_path_entries_are_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    install(tmp.path(), "cwd-tool", 0o755);
    // "" and "." would mean the current directory to execvp; we skip them.
    let e = resolve_program(
        Path::new("cwd-tool"),
        Some(tmp.path()),
        Some(std::ffi::OsStr::new(":.:rel")),
    )
    .unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::SpawnFailed);
    assert_eq!(e.code, Some(2));
}

#[test]
fn non_executable_on_path_is_skipped_for_a_later_executable_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    install(&a, "t", 0o644);
    let good = install(&b, "t", 0o755);
    let path = format!("{}:{}", a.display(), b.display());
    assert_eq!(
        resolve_program(Path::new("t"), None, Some(path.as_ref())).unwrap(),
        good
    );
    // Only a non-executable one: PermissionDenied naming it.
    let e = resolve_program(Path::new("t"), None, Some(a.as_os_str())).unwrap_err();
    assert_eq!(e.kind, ProcessErrorKind::PermissionDenied);
    assert!(e.message.contains("not executable"), "{}", e.message);
}

#[test]
fn environment_layers_reach_the_child() {
    let cap = NativeProcessCapability::new();
    let mut base = Environment::empty();
    base.set("FROM_BASE", "1").set("OVERRIDDEN", "base");
    let mut cmd = Command::new(helper());
    cmd.arg("env").stdout(StdioSpec::Pipe);
    cmd.env("OVERRIDDEN", "cmd").env("FROM_CMD", "2");
    let h = cap.spawn_process(&cmd, &base).unwrap();
    cap.wait_with_options(h, &WaitOptions::default().collecting())
        .unwrap();
    let out = String::from_utf8(cap.take_output(h).unwrap().stdout).unwrap();
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(lines, ["FROM_BASE=1", "FROM_CMD=2", "OVERRIDDEN=cmd"]);
}
