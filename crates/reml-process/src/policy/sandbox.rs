//! The `[sandbox]` table (`docs/sandbox.md`): what `isolation_level = "sandboxed"` and
//! `"full_isolation"` confine a child to.

use std::path::PathBuf;

use serde::Deserialize;

use super::de::{AbsDir, List};

/// `[sandbox]`: the filesystem and network a confined child may use (`docs/sandbox.md`).
///
/// Applies only when `capability.isolation_level` is `sandboxed` or `full_isolation`. An
/// absent key grants nothing: `read` and `write` absent are empty lists, `network` absent is
/// `false`. Paths are absolute; a path that does not exist grants nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SandboxSection {
    /// `read`: files and trees readable and executable by the child (`None`: not given).
    pub read: Option<Vec<PathBuf>>,
    /// `write`: files and trees readable and writable by the child (`None`: not given).
    pub write: Option<Vec<PathBuf>>,
    /// `network`: `true` lets the child bind and connect TCP sockets (`None`: not given,
    /// which is `false`).
    pub network: Option<bool>,
}

impl SandboxSection {
    /// The paths the child may read and execute (empty when not given).
    pub fn read_paths(&self) -> &[PathBuf] {
        self.read.as_deref().unwrap_or(&[])
    }

    /// The paths the child may write (empty when not given).
    pub fn write_paths(&self) -> &[PathBuf] {
        self.write.as_deref().unwrap_or(&[])
    }

    /// Whether TCP bind and connect are allowed (`false` when not given).
    pub fn network_allowed(&self) -> bool {
        self.network.unwrap_or(false)
    }

    /// Narrowing (`docs/policy.md`): path lists are intersected (a path lies in the result
    /// when it lies under an entry of each), a list given by one side only is kept, and
    /// `network = false` wins.
    pub(super) fn narrow(&self, other: &SandboxSection) -> SandboxSection {
        let paths = |a: &Option<Vec<PathBuf>>, b: &Option<Vec<PathBuf>>| match (a, b) {
            (None, None) => None,
            (Some(x), None) | (None, Some(x)) => Some(x.clone()),
            (Some(x), Some(y)) => Some(super::narrow::intersect_cwd(x, y)),
        };
        SandboxSection {
            read: paths(&self.read, &other.read),
            write: paths(&self.write, &other.write),
            network: match (self.network, other.network) {
                (None, None) => None,
                (Some(x), None) | (None, Some(x)) => Some(x),
                (Some(x), Some(y)) => Some(x && y),
            },
        }
    }
}

/// `[sandbox]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSandbox {
    pub read: Option<List<AbsDir, false>>,
    pub write: Option<List<AbsDir, false>>,
    pub network: Option<bool>,
}

impl RawSandbox {
    pub(super) fn into_section(self) -> SandboxSection {
        let list =
            |l: Option<List<AbsDir, false>>| l.map(|v| v.0.into_iter().map(|d| d.0).collect());
        SandboxSection {
            read: list(self.read),
            write: list(self.write),
            network: self.network,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(read: Option<&[&str]>, network: Option<bool>) -> SandboxSection {
        SandboxSection {
            read: read.map(|r| r.iter().map(PathBuf::from).collect()),
            write: None,
            network,
        }
    }

    #[test]
    fn narrowing_intersects_paths_and_network_false_wins() {
        let a = s(Some(&["/usr", "/etc"]), Some(true));
        let b = s(Some(&["/usr/lib", "/var"]), Some(false));
        let n = a.narrow(&b);
        assert_eq!(n.read_paths(), &[PathBuf::from("/usr/lib")]);
        assert!(!n.network_allowed());
        assert_eq!(n, b.narrow(&a));
        let only = a.narrow(&s(None, None));
        assert_eq!(only.read_paths().len(), 2);
        assert_eq!(only.network, Some(true));
        assert!(!SandboxSection::default().network_allowed());
    }
}
