//! Makes `cargo test --workspace` build the `rp-helper` binary into `target/<profile>/`.
//!
//! Cargo builds a package's binaries for that package's own integration tests only; without
//! this file `rp-helper` exists only as a test harness under `deps/`, and the tests of
//! `reml-process`, which spawn `target/<profile>/rp-helper`, fail on a fresh clone.

#[test]
fn rp_helper_is_built() {
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_rp-helper"));
    assert!(exe.is_file(), "{} missing", exe.display());
}
