//! Sets of CPU ids (spec §1 `Set<CpuId>`), with the kernel's list syntax (`0-3,6`).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A CPU id as the kernel numbers CPUs: `0` is the first logical CPU (spec §1 `CpuId`).
pub type CpuId = usize;

/// A set of CPU ids (spec §1 `Set<CpuId>`): the argument of
/// [`ThreadCapability::set_thread_affinity`](crate::thread::ThreadCapability::set_thread_affinity)
/// and the result of
/// [`get_thread_affinity`](crate::thread::ThreadCapability::get_thread_affinity).
///
/// Kept sorted and without duplicates. A `CpuSet` is only a value: it may name CPUs that do not
/// exist; whether they exist, are online and are allowed to this process is checked when it is
/// applied (see [`NativeThreadCapability`](crate::thread::NativeThreadCapability)).
///
/// The text form is the kernel's CPU list syntax (`cpuset(7)` "List format", `taskset -c`):
/// comma-separated ids and inclusive ranges, e.g. `0`, `0,1`, `0-1`, `0-3,6`. The empty
/// string is the empty set. [`Display`](fmt::Display) prints the same syntax with ranges
/// merged (`{0, 1, 2, 5}` prints `0-2,5`); [`Debug`](fmt::Debug) prints `{0, 1, 2, 5}`.
///
/// # Examples
/// ```
/// use reml_process::thread::CpuSet;
/// let set: CpuSet = "0-2,5".parse().unwrap();
/// assert_eq!(set.iter().collect::<Vec<_>>(), vec![0, 1, 2, 5]);
/// assert_eq!(set.to_string(), "0-2,5");
/// assert!(set.is_subset(&"0-7".parse().unwrap()));
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct CpuSet(BTreeSet<CpuId>);

impl CpuSet {
    /// The largest CPU id the text form accepts (1 048 575). Larger ids can still be
    /// inserted with [`insert`](Self::insert); the limit only keeps a typo such as `0-99999999`
    /// from allocating a huge set.
    pub const PARSE_MAX_ID: CpuId = (1 << 20) - 1;

    /// The empty set.
    pub fn new() -> CpuSet {
        CpuSet(BTreeSet::new())
    }

    /// The set of the given CPU ids (duplicates are ignored).
    pub fn from_cpus(cpus: &[CpuId]) -> CpuSet {
        cpus.iter().copied().collect()
    }

    /// Adds `cpu`; returns whether it was not already present.
    pub fn insert(&mut self, cpu: CpuId) -> bool {
        self.0.insert(cpu)
    }

    /// Removes `cpu`; returns whether it was present.
    pub fn remove(&mut self, cpu: CpuId) -> bool {
        self.0.remove(&cpu)
    }

    /// Whether `cpu` is in the set.
    pub fn contains(&self, cpu: CpuId) -> bool {
        self.0.contains(&cpu)
    }

    /// The number of CPUs in the set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The CPU ids, ascending.
    pub fn iter(&self) -> impl Iterator<Item = CpuId> + '_ {
        self.0.iter().copied()
    }

    /// The largest CPU id, or `None` for the empty set.
    pub fn max_cpu(&self) -> Option<CpuId> {
        self.0.last().copied()
    }

    /// Whether every CPU of `self` is in `other` (`self ⊆ other`); a policy's `allowed_cpus`
    /// check is `requested.is_subset(&allowed)`.
    pub fn is_subset(&self, other: &CpuSet) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The CPUs of `self` that are not in `other` (`self \ other`), e.g. the CPUs a policy
    /// refuses.
    pub fn difference(&self, other: &CpuSet) -> CpuSet {
        CpuSet(self.0.difference(&other.0).copied().collect())
    }

    /// The CPUs in both sets (`self ∩ other`).
    pub fn intersection(&self, other: &CpuSet) -> CpuSet {
        CpuSet(self.0.intersection(&other.0).copied().collect())
    }

    /// The ids as a vector, ascending (the JSON shape `[0, 1]`).
    pub fn to_vec(&self) -> Vec<CpuId> {
        self.iter().collect()
    }

    /// Maximal runs of consecutive ids, as inclusive `(first, last)` pairs.
    fn runs(&self) -> Vec<(CpuId, CpuId)> {
        let mut runs: Vec<(CpuId, CpuId)> = Vec::new();
        for cpu in self.iter() {
            match runs.last_mut() {
                Some((_, last)) if last.checked_add(1) == Some(cpu) => *last = cpu,
                _ => runs.push((cpu, cpu)),
            }
        }
        runs
    }
}

impl FromIterator<CpuId> for CpuSet {
    fn from_iter<T: IntoIterator<Item = CpuId>>(iter: T) -> Self {
        CpuSet(iter.into_iter().collect())
    }
}

impl<const N: usize> From<[CpuId; N]> for CpuSet {
    fn from(cpus: [CpuId; N]) -> Self {
        cpus.into_iter().collect()
    }
}

impl fmt::Display for CpuSet {
    /// The kernel's list format, ranges merged: `0-2,5`; the empty set prints nothing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (first, last)) in self.runs().into_iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if first == last {
                write!(f, "{first}")?;
            } else {
                write!(f, "{first}-{last}")?;
            }
        }
        Ok(())
    }
}

impl serde::Serialize for CpuSet {
    /// Serialises as the kernel's list format, ranges merged (`"0-3,8"`), as
    /// [`Display`](fmt::Display) prints it.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Debug for CpuSet {
    /// `{0, 2}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// The error of parsing a [`CpuSet`] from text: the input and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid CPU list `{input}`: {reason} (expected ids and ranges such as `0`, `0,1`, `0-3,6`)"
)]
pub struct ParseCpuSetError {
    /// The text that was parsed.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for CpuSet {
    type Err = ParseCpuSetError;

    /// Parses the kernel's list format: `0`, `0,1`, `0-1`, `0-3,6`; spaces around items are
    /// allowed; the empty (or all-blank) string is the empty set.
    ///
    /// # Errors
    /// A [`ParseCpuSetError`] for an empty item (`0,,1`), a non-number, a reversed range
    /// (`3-1`) or an id above [`CpuSet::PARSE_MAX_ID`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| ParseCpuSetError {
            input: s.to_owned(),
            reason,
        };
        let mut set = CpuSet::new();
        if s.trim().is_empty() {
            return Ok(set);
        }
        let id = |t: &str| -> Result<CpuId, ParseCpuSetError> {
            let t = t.trim();
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(format!("`{t}` is not a CPU id")));
            }
            match t.parse::<CpuId>() {
                Ok(n) if n <= CpuSet::PARSE_MAX_ID => Ok(n),
                _ => Err(err(format!(
                    "CPU id {t} is above the largest accepted id {}",
                    CpuSet::PARSE_MAX_ID
                ))),
            }
        };
        for item in s.split(',') {
            match item.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (id(a)?, id(b)?);
                    if a > b {
                        return Err(err(format!("range {a}-{b} is reversed")));
                    }
                    set.0.extend(a..=b);
                }
                None => {
                    set.insert(id(item)?);
                }
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_round_trip() {
        for (text, ids, printed) in [
            ("0", vec![0], "0"),
            ("0,1", vec![0, 1], "0-1"),
            ("0-1", vec![0, 1], "0-1"),
            (" 0-2 , 5 ", vec![0, 1, 2, 5], "0-2,5"),
            ("5000", vec![5000], "5000"),
            ("", vec![], ""),
            ("3,1,3", vec![1, 3], "1,3"),
        ] {
            let set: CpuSet = text.parse().unwrap();
            assert_eq!(set.to_vec(), ids, "{text}");
            assert_eq!(set.to_string(), printed, "{text}");
            assert_eq!(printed.parse::<CpuSet>().unwrap(), set);
        }
    }

    #[test]
    fn parse_rejects_bad_lists() {
        for text in ["a", "0,,1", "3-1", "-1", "1-", "0-99999999", "1.5", "0 1"] {
            let e = text.parse::<CpuSet>().unwrap_err();
            assert_eq!(e.input, text);
            assert!(e.to_string().contains("invalid CPU list"), "{e}");
        }
    }

    #[test]
    fn set_algebra_and_debug() {
        let a = CpuSet::from([0, 2]);
        let b = CpuSet::from_cpus(&[0, 1]);
        assert!(!a.is_subset(&b));
        assert_eq!(a.difference(&b), CpuSet::from([2]));
        assert_eq!(a.intersection(&b), CpuSet::from([0]));
        assert_eq!(format!("{a:?}"), "{0, 2}");
        assert_eq!(a.max_cpu(), Some(2));
    }
}
