//! Resolving the allow-list to canonical paths and file identities (`docs/policy.md`, "How the
//! allow-list matches": a link elsewhere to an allowed binary is the same program, and a link named
//! like an allowed binary but pointing elsewhere is not). This is the part of the policy the
//! enforcement layer compares programs against.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use reml_process::policy::{AllowEntry, FileId, Policy, ResolveErrorKind};

fn dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("policy-resolve-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

fn exe(path: &Path) -> PathBuf {
    fs::write(path, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    path.to_owned()
}

fn policy(allow: &[&str], search_path: &[&Path]) -> Policy {
    let q = |s: &str| format!("{s:?}");
    let text = format!(
        "[commands]\nallow = [{}]\nsearch_path = [{}]\n",
        allow.iter().map(|s| q(s)).collect::<Vec<_>>().join(", "),
        search_path
            .iter()
            .map(|p| q(p.to_str().unwrap()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Policy::from_toml_str(&text).unwrap()
}

#[test]
fn a_link_to_an_allowed_binary_is_the_same_program() {
    let d = dir();
    let real = exe(&d.path().join("tool"));
    let link = d.path().join("elsewhere");
    symlink(&real, &link).unwrap();
    let p = policy(&[real.to_str().unwrap()], &[]);
    let allowed = p.resolve_allowed();
    assert!(allowed.errors().is_empty(), "{:?}", allowed.errors());
    let canon = fs::canonicalize(&link).unwrap();
    let id = FileId::of_path(&link).unwrap();
    let hit = allowed
        .check(&canon, id)
        .expect("a link to the binary is allowed");
    assert_eq!(hit.entry, AllowEntry::Path(real.clone()));
    assert_eq!(hit.path, fs::canonicalize(&real).unwrap());
}

#[test]
fn a_link_named_like_an_allowed_binary_is_not() {
    let d = dir();
    let bin = d.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let allowed_tool = exe(&bin.join("tool"));
    let other = exe(&d.path().join("evil"));
    let fake = d.path().join("tool");
    symlink(&other, &fake).unwrap();
    let p = policy(&[allowed_tool.to_str().unwrap()], &[]);
    let allowed = p.resolve_allowed();
    let canon = fs::canonicalize(&fake).unwrap();
    assert!(allowed
        .check(&canon, FileId::of_path(&fake).unwrap())
        .is_none());
    assert!(allowed.find_by_path(&canon).is_none());
    assert!(allowed
        .find_by_id(FileId::of_path(&fake).unwrap())
        .is_none());
}

#[test]
fn a_replaced_file_keeps_its_path_but_not_its_identity() {
    let d = dir();
    let tool = exe(&d.path().join("tool"));
    let p = policy(&[tool.to_str().unwrap()], &[]);
    let allowed = p.resolve_allowed();
    let canon = fs::canonicalize(&tool).unwrap();
    let before = FileId::of_path(&tool).unwrap();
    assert!(allowed.check(&canon, before).is_some());
    // Replace by rename, as an attacker or a package upgrade would.
    let new = exe(&d.path().join("tool.new"));
    fs::rename(&new, &tool).unwrap();
    let after = FileId::of_path(&tool).unwrap();
    assert_ne!(before, after);
    assert!(allowed.find_by_path(&canon).is_some(), "same path");
    assert!(
        allowed.check(&canon, after).is_none(),
        "different file: refused"
    );
    // Resolving again picks up the new file.
    assert!(p.resolve_allowed().check(&canon, after).is_some());
}

#[test]
fn bare_names_follow_search_path_order_and_skip_what_cannot_run() {
    let d = dir();
    let a = d.path().join("a");
    let b = d.path().join("b");
    let c = d.path().join("c");
    for x in [&a, &b, &c] {
        fs::create_dir(x).unwrap();
    }
    fs::create_dir(a.join("tool")).unwrap(); // a directory: skipped
    fs::write(b.join("tool"), "data").unwrap(); // not executable: skipped
    let real = exe(&c.join("tool"));
    let p = policy(&["tool"], &[&a, &b, &c]);
    let prog = p.resolve_entry(&AllowEntry::Name("tool".into())).unwrap();
    assert_eq!(prog.found_at, c.join("tool"));
    assert_eq!(prog.path, fs::canonicalize(&real).unwrap());

    // With only the unusable candidates, the first problem is reported.
    let p = policy(&["tool"], &[&a, &b]);
    let e = p
        .resolve_entry(&AllowEntry::Name("tool".into()))
        .unwrap_err();
    assert_eq!(e.kind, ResolveErrorKind::NotRegularFile, "{e}");
    let p = policy(&["tool"], &[&b]);
    let e = p
        .resolve_entry(&AllowEntry::Name("tool".into()))
        .unwrap_err();
    assert_eq!(e.kind, ResolveErrorKind::NotExecutable, "{e}");
    let p = policy(&["nothing"], &[&a]);
    let e = p
        .resolve_entry(&AllowEntry::Name("nothing".into()))
        .unwrap_err();
    assert_eq!(e.kind, ResolveErrorKind::NotFound, "{e}");
    assert!(e.message.contains(a.to_str().unwrap()), "{e}");
}

#[test]
fn bare_names_never_use_the_environment_path() {
    let d = dir();
    exe(&d.path().join("only-in-env-path"));
    // Only this test in this binary touches PATH; it is restored before returning.
    let saved = std::env::var_os("PATH").unwrap_or_default();
    let mut with_dir = d.path().as_os_str().to_owned();
    with_dir.push(":");
    with_dir.push(&saved);
    std::env::set_var("PATH", &with_dir);
    let p = Policy::from_toml_str("[commands]\nallow = [\"only-in-env-path\"]\n").unwrap();
    let r = p.resolve_allowed();
    std::env::set_var("PATH", &saved);
    assert!(r.is_empty(), "{:?}", r.programs());
    assert_eq!(r.errors()[0].kind, ResolveErrorKind::NotFound);
}

#[test]
fn dot_dot_components_and_symlinked_directories_are_canonicalised() {
    let d = dir();
    let bin = d.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let tool = exe(&bin.join("tool"));
    let linked_dir = d.path().join("linked");
    symlink(&bin, &linked_dir).unwrap();
    let entry = format!("{}/../bin/tool", bin.display());
    let via_link = linked_dir.join("tool");
    let p = policy(&[&entry, via_link.to_str().unwrap()], &[]);
    let r = p.resolve_allowed();
    let canon = fs::canonicalize(&tool).unwrap();
    assert_eq!(r.programs().len(), 2);
    for prog in r.programs() {
        assert_eq!(prog.path, canon);
        assert_eq!(prog.id, FileId::of_path(&tool).unwrap());
    }
}

/// `to` written relative to the current directory (`../../target/tmp/…`).
fn relative_to_cwd(to: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap();
    let (cwd, to) = (
        fs::canonicalize(cwd).unwrap(),
        fs::canonicalize(to).unwrap(),
    );
    let common = cwd
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut rel = PathBuf::new();
    for _ in cwd.components().skip(common) {
        rel.push("..");
    }
    rel.extend(to.components().skip(common));
    rel
}

#[test]
fn relative_search_path_directories_added_in_code_are_ignored() {
    let d = dir();
    exe(&d.path().join("tool"));
    let rel = relative_to_cwd(d.path());
    assert!(rel.is_relative() && rel.join("tool").exists(), "{rel:?}");
    let mut p = policy(&["tool"], &[]);
    // The parser refuses relative directories; a policy edited in code may still hold one.
    p.commands.search_path = vec![rel];
    let e = p
        .resolve_entry(&AllowEntry::Name("tool".into()))
        .unwrap_err();
    assert_eq!(e.kind, ResolveErrorKind::NotFound, "{e}");
    p.commands.search_path.push(d.path().to_owned());
    let prog = p.resolve_entry(&AllowEntry::Name("tool".into())).unwrap();
    assert_eq!(prog.found_at, d.path().join("tool"));
}

#[test]
fn unresolved_entries_allow_nothing() {
    let p = policy(&["/nonexistent/tool", "/etc/passwd", "/"], &[]);
    let r = p.resolve_allowed();
    assert!(r.is_empty());
    let kinds: Vec<_> = r.errors().iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            ResolveErrorKind::NotFound,
            ResolveErrorKind::NotExecutable,
            ResolveErrorKind::NotRegularFile
        ]
    );
}
