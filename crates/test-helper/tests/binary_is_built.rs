//! The other crates' tests spawn `target/<profile>/rp-helper`. Cargo builds a package's binary
//! for `cargo test` only when that package has an integration test, so this file is what makes
//! `cargo test --workspace` build `rp-helper` on a fresh clone (without it, only an earlier
//! `cargo build` would have left one there).

#[test]
fn rp_helper_binary_is_built() {
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_rp-helper"));
    assert!(exe.is_file(), "{}", exe.display());
}
