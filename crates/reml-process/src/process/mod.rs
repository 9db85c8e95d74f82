//! The process concepts: what a child is asked to be ([`command`]), the checks before it
//! exists ([`prepare`]), the native backend that spawns it ([`native`]), how it is waited for
//! ([`wait`], [`waitset`], `async_wait`), how it ended ([`status`]), its tree ([`tree`]),
//! the terminal ([`jobcontrol`]), supervision ([`supervise`]), shared memory ([`shm`]) and
//! the run templates that do it all in one call ([`run`], also reachable as
//! `reml_process::outcome`). Each module is re-exported at the crate root under its own name
//! (`reml_process::command`, …), so those paths stay as they were.

#[cfg(feature = "tokio")]
pub mod async_wait;
pub mod command;
pub(crate) mod files;
pub mod jobcontrol;
pub mod native;
pub mod prepare;
pub mod run;
pub mod sandbox;
pub mod shm;
pub mod status;
pub mod supervise;
pub mod tree;
pub mod wait;
pub mod waitset;
