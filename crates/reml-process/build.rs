//! Chooses the OS backend at build time (see `src/sys/mod.rs`).
//!
//! Sets the cfg `reml_linux` when the target is Linux and the crate is not built with
//! `--cfg reml_force_unsupported`. Every Linux-only piece of the crate is gated on
//! `reml_linux`; everything else gets the `Unsupported` paths. The forcing cfg lets the
//! non-Linux paths be compiled and tested on a Linux machine:
//!
//! ```text
//! RUSTFLAGS="--cfg reml_force_unsupported" cargo check -p reml-process --lib
//! ```

fn main() {
    println!("cargo::rustc-check-cfg=cfg(reml_linux)");
    println!("cargo::rerun-if-changed=build.rs");
    // Cargo passes the target's cfgs, RUSTFLAGS' `--cfg`s included, as CARGO_CFG_*.
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let forced = std::env::var_os("CARGO_CFG_REML_FORCE_UNSUPPORTED").is_some();
    if linux && !forced {
        println!("cargo::rustc-cfg=reml_linux");
    }
}
