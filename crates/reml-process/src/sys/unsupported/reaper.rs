//! The orphan reaper of the platforms without a backend: no child can be spawned there, so
//! there is never an orphan to adopt (the Linux backend's reaper thread has no twin here).

use std::sync::Arc;

use super::process::Spawned;

/// Where there is no backend no child exists, so nothing is ever adopted.
pub(crate) fn adopt(child: Arc<Spawned>) {
    drop(child);
}
