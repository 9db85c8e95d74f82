//! OS backends. The only place in the crate where `unsafe` is allowed.
//!
//! One backend is chosen at compile time and every backend exports the same names:
//! - `linux`: the complete backend (clone + pidfd + poll, sched_setaffinity, …);
//! - `unsupported`: every other target; each operation returns an `Unsupported` error that
//!   names the platform. Nothing is emulated.
#![allow(unsafe_code)]

#[cfg(target_os = "linux")]
pub(crate) mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux as imp;

#[cfg(not(target_os = "linux"))]
pub(crate) mod unsupported;
#[cfg(not(target_os = "linux"))]
pub(crate) use unsupported as imp;
