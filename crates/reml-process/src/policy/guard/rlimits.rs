//! The resource limits a child of the policy guard gets: the command's and the policy's
//! merged (`docs/policy.md`, `[limits]`).

use crate::command::{Resource, Rlimit};

/// The limits a child gets: per resource, the stricter of the command's and the policy's
/// (`None` = unlimited), where a value the **policy** chose is a ceiling and never more than
/// `host_hard` of that resource (the hard limit the child inherits, `None` = unlimited).
///
/// So a policy limit the host cannot grant (`open_files = 100000` under a hard limit of
/// 4096, or above the kernel's `nr_open`) gives the host's limit instead of a spawn that
/// fails at `setrlimit`, and a policy never raises a limit, for root neither. A value the
/// **command** asked for itself (and that is stricter than the policy's) is applied as
/// asked: when the OS refuses it, the spawn fails naming the limit — the caller asked
/// explicitly.
pub(super) fn merge_rlimits(
    command: &[Rlimit],
    policy: &[Rlimit],
    host_hard: impl Fn(Resource) -> Option<u64>,
) -> Vec<Rlimit> {
    // `a` stricter than or as strict as `b` (`None` is unlimited).
    let le = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(x), Some(y)) => x <= y,
    };
    let min = |a: Option<u64>, b: Option<u64>| if le(a, b) { a } else { b };
    let mut out: Vec<Rlimit> = command.to_vec();
    for p in policy {
        let host = host_hard(p.resource);
        let ceiling_hard = min(p.hard, host);
        let ceiling_soft = min(p.soft, ceiling_hard);
        match out.iter_mut().find(|r| r.resource == p.resource) {
            Some(r) => {
                if !le(r.hard, p.hard) {
                    r.hard = ceiling_hard;
                }
                if !le(r.soft, p.soft) {
                    r.soft = ceiling_soft;
                }
                r.soft = min(r.soft, r.hard);
            }
            None => out.push(Rlimit {
                resource: p.resource,
                soft: ceiling_soft,
                hard: ceiling_hard,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(resource: Resource, soft: Option<u64>, hard: Option<u64>) -> Rlimit {
        Rlimit {
            resource,
            soft,
            hard,
        }
    }

    /// A host whose hard RLIMIT_NOFILE is 4096 and every other limit unlimited.
    fn host(r: Resource) -> Option<u64> {
        (r == Resource::OpenFiles).then_some(4096)
    }

    #[test]
    fn a_policy_limit_above_the_host_gives_the_host_limit() {
        let policy = [
            lim(Resource::OpenFiles, Some(100_000), Some(100_000)),
            lim(Resource::CpuTime, Some(60), Some(61)),
        ];
        assert_eq!(
            merge_rlimits(&[], &policy, host),
            [
                lim(Resource::OpenFiles, Some(4096), Some(4096)),
                lim(Resource::CpuTime, Some(60), Some(61)),
            ]
        );
        // Below the host: exactly the policy's.
        let below = [lim(Resource::OpenFiles, Some(100), Some(100))];
        assert_eq!(merge_rlimits(&[], &below, host), below);
    }

    #[test]
    fn the_command_and_the_policy_give_the_stricter() {
        let policy = [lim(Resource::OpenFiles, Some(100_000), Some(100_000))];
        // The command stricter than the host: its own values.
        let cmd = [lim(Resource::OpenFiles, Some(10), Some(20))];
        assert_eq!(merge_rlimits(&cmd, &policy, host), cmd);
        // The command unlimited: the policy's ceiling, within the host.
        let cmd = [lim(Resource::OpenFiles, None, None)];
        assert_eq!(
            merge_rlimits(&cmd, &policy, host),
            [lim(Resource::OpenFiles, Some(4096), Some(4096))]
        );
        // The command above the host but below the policy: what the caller asked for
        // (the OS may refuse it; the caller asked explicitly).
        let cmd = [lim(Resource::OpenFiles, Some(50_000), Some(50_000))];
        assert_eq!(merge_rlimits(&cmd, &policy, host), cmd);
        // The command's soft above the policy's clamped hard: lowered to it.
        let policy = [lim(Resource::OpenFiles, Some(8), Some(8))];
        let cmd = [lim(Resource::OpenFiles, Some(10), None)];
        assert_eq!(
            merge_rlimits(&cmd, &policy, host),
            [lim(Resource::OpenFiles, Some(8), Some(8))]
        );
        // Limits of other resources pass through.
        let cmd = [lim(Resource::FileSize, Some(1), Some(2))];
        assert_eq!(merge_rlimits(&cmd, &[], host), cmd);
    }
}
