//! Effect tags and effect sets (spec §0, §1).
//!
//! Every operation of the plugin carries a set of effect tags. A capability is granted an
//! `effect_scope` (an [`EffectSet`]); the security layer refuses any call whose effects are
//! not all inside that scope, naming the missing effect.

use std::fmt;
use std::str::FromStr;

/// One effect tag of the Reml effect system that this plugin produces or checks.
///
/// The string forms (`"process"`, `"io.blocking"`, …) are the ones used in the policy file
/// (`docs/policy.md`, `[capability] effect_scope`) and in the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Effect {
    /// Creating, waiting for or signalling a process (`effect {process}`).
    Process,
    /// Creating, joining or configuring a thread (`effect {thread}`).
    Thread,
    /// Sending a signal (`effect {signal}`).
    Signal,
    /// Blocking the calling thread on I/O or on another task (`effect {io.blocking}`).
    IoBlocking,
    /// Touching hardware placement such as CPU affinity (`effect {hardware}`).
    Hardware,
    /// Buffering data in memory (output collection) or sharing memory (`effect {memory}`).
    Memory,
    /// Writing the audit log (`effect {audit}`).
    Audit,
    /// Security review and policy decisions (`effect {security}`).
    Security,
}

impl Effect {
    /// Every effect, in the order of their bit positions.
    pub const ALL: [Effect; 8] = [
        Effect::Process,
        Effect::Thread,
        Effect::Signal,
        Effect::IoBlocking,
        Effect::Hardware,
        Effect::Memory,
        Effect::Audit,
        Effect::Security,
    ];

    /// The tag as written in policies and audit records, e.g. `"io.blocking"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Effect::Process => "process",
            Effect::Thread => "thread",
            Effect::Signal => "signal",
            Effect::IoBlocking => "io.blocking",
            Effect::Hardware => "hardware",
            Effect::Memory => "memory",
            Effect::Audit => "audit",
            Effect::Security => "security",
        }
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when a string is not a known effect tag.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown effect tag `{0}` (known: process, thread, signal, io.blocking, hardware, memory, audit, security)")]
pub struct UnknownEffect(pub String);

impl FromStr for Effect {
    type Err = UnknownEffect;

    /// Parses the policy spelling of a tag (`"process"`, `"io.blocking"`, …); case-sensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Effect::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| UnknownEffect(s.to_owned()))
    }
}

/// A set of [`Effect`]s, stored as a bit set (copyable, allocation-free).
///
/// Used both for the effects an operation produces ([`crate::Operation::effects`]) and for the
/// `effect_scope` a capability is granted.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct EffectSet(u16);

impl EffectSet {
    /// The empty set.
    pub const EMPTY: EffectSet = EffectSet(0);
    /// Every effect this plugin knows.
    pub const ALL: EffectSet = EffectSet(0xff);

    /// Builds a set from a slice of effects (usable in `const` context).
    pub const fn of(effects: &[Effect]) -> EffectSet {
        let mut bits = 0;
        let mut i = 0;
        while i < effects.len() {
            bits |= effects[i].bit();
            i += 1;
        }
        EffectSet(bits)
    }

    /// Whether `effect` is in the set.
    pub const fn contains(self, effect: Effect) -> bool {
        self.0 & effect.bit() != 0
    }

    /// Whether every effect of `other` is in `self` (`self ⊇ other`).
    pub const fn is_superset(self, other: EffectSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union `self ∪ other`.
    pub const fn union(self, other: EffectSet) -> EffectSet {
        EffectSet(self.0 | other.0)
    }

    /// The effects in both sets (`self ∩ other`).
    pub const fn intersection(self, other: EffectSet) -> EffectSet {
        EffectSet(self.0 & other.0)
    }

    /// The effects of `self` that are not in `other` (`self \ other`).
    pub const fn difference(self, other: EffectSet) -> EffectSet {
        EffectSet(self.0 & !other.0)
    }

    /// This set with `effect` added.
    pub const fn with(self, effect: Effect) -> EffectSet {
        EffectSet(self.0 | effect.bit())
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The effects in the set, in [`Effect::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Effect> {
        Effect::ALL.into_iter().filter(move |e| self.contains(*e))
    }

    /// The tags as strings, sorted alphabetically (the order `describe --json` prints).
    pub fn to_sorted_strings(self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self.iter().map(Effect::as_str).collect();
        v.sort_unstable();
        v
    }
}

impl FromIterator<Effect> for EffectSet {
    fn from_iter<T: IntoIterator<Item = Effect>>(iter: T) -> Self {
        iter.into_iter().fold(EffectSet::EMPTY, EffectSet::with)
    }
}

impl fmt::Debug for EffectSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Effect::as_str))
            .finish()
    }
}

impl fmt::Display for EffectSet {
    /// Formats as `{process, signal}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, e) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(e.as_str())?;
        }
        f.write_str("}")
    }
}

/// The operations of the plugin, each with the effects it produces (spec §1, §3, §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `spawn_process`: `{process}`; `{process, memory}` when descriptors are passed (spec §7).
    SpawnProcess {
        /// Whether extra descriptors are handed to the child.
        passes_fds: bool,
    },
    /// `kill_process` / `kill_process_group`: `{process, signal}`.
    KillProcess,
    /// `wait_process`: `{process, io.blocking}`.
    WaitProcess,
    /// `wait_with_options`: `{process, io.blocking}`, plus `memory` when output is collected.
    WaitWithOptions {
        /// Whether `collect_output` is set.
        collect_output: bool,
    },
    /// `release_process`: `{process}`.
    ReleaseProcess,
    /// `create_thread`: `{thread}`.
    CreateThread,
    /// `join_thread`: `{thread, io.blocking}`.
    JoinThread,
    /// `set_thread_affinity` / `get_thread_affinity`: `{thread, hardware}`.
    SetThreadAffinity,
    /// `release_thread`: `{thread}`.
    ReleaseThread,
}

impl Operation {
    /// The effect tags the operation carries (spec §1's table).
    pub const fn effects(self) -> EffectSet {
        use Effect::*;
        match self {
            Operation::SpawnProcess { passes_fds: false } => EffectSet::of(&[Process]),
            Operation::SpawnProcess { passes_fds: true } => EffectSet::of(&[Process, Memory]),
            Operation::KillProcess => EffectSet::of(&[Process, Signal]),
            Operation::WaitProcess => EffectSet::of(&[Process, IoBlocking]),
            Operation::WaitWithOptions {
                collect_output: false,
            } => EffectSet::of(&[Process, IoBlocking]),
            Operation::WaitWithOptions {
                collect_output: true,
            } => EffectSet::of(&[Process, IoBlocking, Memory]),
            Operation::ReleaseProcess => EffectSet::of(&[Process]),
            Operation::CreateThread => EffectSet::of(&[Thread]),
            Operation::JoinThread => EffectSet::of(&[Thread, IoBlocking]),
            Operation::SetThreadAffinity => EffectSet::of(&[Thread, Hardware]),
            Operation::ReleaseThread => EffectSet::of(&[Thread]),
        }
    }

    /// The spec's name of the operation, e.g. `"spawn_process"`.
    pub const fn name(self) -> &'static str {
        match self {
            Operation::SpawnProcess { .. } => "spawn_process",
            Operation::KillProcess => "kill_process",
            Operation::WaitProcess => "wait_process",
            Operation::WaitWithOptions { .. } => "wait_with_options",
            Operation::ReleaseProcess => "release_process",
            Operation::CreateThread => "create_thread",
            Operation::JoinThread => "join_thread",
            Operation::SetThreadAffinity => "set_thread_affinity",
            Operation::ReleaseThread => "release_thread",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_every_tag() {
        for e in Effect::ALL {
            assert_eq!(e.as_str().parse::<Effect>().unwrap(), e);
        }
        assert!("Process".parse::<Effect>().is_err());
        assert!("io".parse::<Effect>().is_err());
    }

    #[test]
    fn set_algebra() {
        let scope = EffectSet::of(&[Effect::Process, Effect::Signal]);
        assert!(scope.is_superset(Operation::KillProcess.effects()));
        assert!(!scope.is_superset(Operation::WaitProcess.effects()));
        assert_eq!(
            Operation::WaitProcess.effects().difference(scope),
            EffectSet::of(&[Effect::IoBlocking])
        );
        assert_eq!(scope.to_string(), "{process, signal}");
        assert_eq!(EffectSet::ALL.iter().count(), 8);
    }
}
