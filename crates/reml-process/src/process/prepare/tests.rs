//! Unit tests of `prepare`.

use super::*;

fn sorted_strings(p: &PreparedCommand) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = p.envp.strings().map(<[u8]>::to_vec).collect();
    v.sort();
    v
}

/// `from_environment` gives the variables `new` gives with the map of `resolve` then a
/// `retain`, and the same map when a layer asks for it.
#[test]
fn the_block_from_environ_is_the_resolved_map() {
    let mut base = Environment::default();
    base.set("RP_BASE_SET", "b").remove("HOME");
    let mut cleared_base = Environment::empty();
    cleared_base.set("ONLY", "1");
    let mut cmd = Command::new("/bin/true");
    cmd.env("RP_CMD_SET", "c")
        .env("RP_BASE_SET", "over")
        .env_remove("PATH");
    let mut cleared_cmd = Command::new("/bin/true");
    cleared_cmd.env_clear();
    cleared_cmd.env("X", "y");
    let keep = |k: &OsStr| k != "USER" && k != "RP_CMD_SET";
    for b in [&Environment::default(), &base, &cleared_base] {
        for c in [&Command::new("/bin/true"), &cmd, &cleared_cmd] {
            for filter in [None, Some(&keep as &dyn Fn(&OsStr) -> bool)] {
                let mut map = b.resolve(&c.env);
                if let Some(f) = filter {
                    map.retain(|k, _| f(k));
                }
                let eager = PreparedCommand::new(c, map.clone()).unwrap();
                let lazy = PreparedCommand::from_environment(c, b, filter).unwrap();
                assert!(lazy.env.get().is_none());
                assert_eq!(sorted_strings(&lazy), sorted_strings(&eager));
                assert_eq!(lazy.env(), &map);
                assert_eq!(lazy.program(), eager.program());
            }
        }
    }
}

#[test]
fn narrowing_the_block_without_a_map() {
    let mut cmd = Command::new("/bin/true");
    cmd.env("RP_A", "1").env("RP_B", "2");
    let mut p = PreparedCommand::from_environment(&cmd, &Environment::empty(), None).unwrap();
    let mut seen = Vec::new();
    p.retain_env(|k| {
        seen.push(k.to_os_string());
        k != "RP_A"
    });
    assert_eq!(seen, ["RP_A", "RP_B"], "keep is asked once per variable");
    assert!(p.env.get().is_none());
    assert_eq!(sorted_strings(&p), [b"RP_B=2".to_vec()]);
    p.remove_env(OsStr::new("RP_B"));
    assert_eq!(p.envp.len(), 0);
    assert!(p.env().is_empty());
}

#[test]
fn a_bare_name_is_found_in_the_blocks_path() {
    let dir = std::env::temp_dir().join(format!("rp-prep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new("sh");
    cmd.env("PATH", &dir);
    let err = PreparedCommand::from_environment(&cmd, &Environment::default(), None)
        .err()
        .unwrap();
    assert!(
        err.message.contains(&*dir.to_string_lossy()),
        "{}",
        err.message
    );
    cmd.env("PATH", "/usr/bin:/bin");
    let p = PreparedCommand::from_environment(&cmd, &Environment::default(), None).unwrap();
    assert!(p.program().ends_with("sh"));
    let _ = std::fs::remove_dir(&dir);
}

#[test]
fn a_bad_value_set_is_refused_as_by_new() {
    let mut cmd = Command::new("/bin/true");
    cmd.env("RP_NUL", OsStr::from_bytes(b"a\0b"));
    let lazy = PreparedCommand::from_environment(&cmd, &Environment::default(), None);
    let eager = PreparedCommand::new(&cmd, Environment::default().resolve(&cmd.env));
    assert_eq!(lazy.err().unwrap().message, eager.err().unwrap().message);
}

#[test]
fn env_key_check_names_the_first_fault() {
    let msg = |k: &[u8]| {
        check_env_key(OsStr::from_bytes(k))
            .err()
            .map(|e| e.message)
            .unwrap_or_default()
    };
    assert!(check_env_key(OsStr::new("PATH")).is_ok());
    assert!(check_env_key(OsStr::new("_x1")).is_ok());
    assert!(msg(b"").contains("empty environment variable name"));
    assert!(msg(b"A=B").ends_with("contains `=`"), "{}", msg(b"A=B"));
    assert!(msg(b"=A").ends_with("contains `=`"));
    assert!(msg(b"A\0B").ends_with("contains a NUL byte"));
    // Both: NUL is named, wherever it is.
    assert!(msg(b"A=B\0").ends_with("contains a NUL byte"));
    assert!(msg(b"\0A=B").ends_with("contains a NUL byte"));
}
