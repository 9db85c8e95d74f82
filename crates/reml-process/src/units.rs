//! Durations, byte sizes and deadlines as the command line, the policy file and every wait
//! use them (`docs/command.md` `--timeout`, `--kill-after`, `--max-output`; `docs/policy.md`
//! `max_wall_time`, `cpu_time`, `max_output_bytes`, `address_space`).
//!
//! The rule at the edges (`docs/command.md` "Input and output at the edges"):
//!
//! | input | result |
//! |---|---|
//! | too large to represent | saturates: [`Duration::MAX`] / [`u64::MAX`], no practical limit |
//! | positive but below the unit (`0.0000000001`) | the smallest limit, 1 ns, never "none" |
//! | `0` | zero (callers give it its meaning: for `--timeout`, no limit) |
//! | malformed text | an error quoting the text and the accepted forms |
//!
//! A time limit meets the clock only through [`Deadline`], which never overflows: a limit
//! beyond what an [`Instant`] can hold is [`Deadline::Never`].

use std::time::{Duration, Instant};

/// The accepted duration forms, for error messages.
pub const DURATION_FORMS: &str =
    "a number of seconds (`2`, `1.5`), or a number with a unit: `250ms`, `2s`, `1m`, `1h`, `1d`; `0` means no limit";

/// The accepted size forms, for error messages.
pub const SIZE_FORMS: &str =
    "a number of bytes (`1024`) or a number with a unit: `64KiB`, `16MiB`, `1GiB` (also `KB`, `MB`, `GB` = powers of 1000, and `K`, `M`, `G` = powers of 1024)";

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// [`Duration::MAX`] in nanoseconds.
const MAX_NANOS: u128 = u64::MAX as u128 * NANOS_PER_SEC + (NANOS_PER_SEC - 1);

/// Fraction digits read exactly; later ones only decide the rounding up. 20 digits times the
/// largest unit (a day, 8.64e13 ns) stays far inside `u128`.
const EXACT_FRACTION_DIGITS: usize = 20;

/// Parses a duration: `250ms`, `2s`, `1.5` (seconds), `1m`, `1h`, `1d`; decimals are allowed
/// with every unit (`0.5m`, `.5s`, `2.`); `us` and `ns` are accepted too, and spaces around
/// the number and the unit.
///
/// The value is computed exactly (no floating point) and **rounded up** to a whole
/// nanosecond, so a positive value is never zero (`0.0000000001` is 1 ns). A value above
/// [`Duration::MAX`] (about 584 billion years) saturates to it: no practical limit.
/// `0` (with or without unit) parses to `Duration::ZERO`; callers give it their meaning
/// (for `--timeout`, no limit). [`format_duration`] writes a form that parses back to the
/// same value.
///
/// # Errors
/// A message quoting the input and [`DURATION_FORMS`] when the text is empty, negative, not a
/// decimal number, or has an unknown unit.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || format!("invalid duration `{text}`: expected {DURATION_FORMS}");
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Err(bad());
    }
    let unit_nanos: u128 = match unit.trim() {
        "" | "s" | "sec" | "secs" => NANOS_PER_SEC,
        "ms" => 1_000_000,
        "us" | "µs" => 1_000,
        "ns" => 1,
        "m" | "min" => 60 * NANOS_PER_SEC,
        "h" => 3_600 * NANOS_PER_SEC,
        "d" => 86_400 * NANOS_PER_SEC,
        _ => return Err(bad()),
    };
    // The whole part: past 30 significant digits it is above MAX_NANOS whatever the unit.
    let int = int.trim_start_matches('0');
    let whole = if int.len() > 30 {
        MAX_NANOS + 1
    } else {
        // Only digits, at most 30 of them: fits (an empty string is zero).
        int.bytes()
            .fold(0u128, |n, d| n * 10 + u128::from(d - b'0'))
            .saturating_mul(unit_nanos)
    };
    let (exact, rest) = frac.split_at(frac.len().min(EXACT_FRACTION_DIGITS));
    let digits = exact
        .bytes()
        .fold(0u128, |n, d| n * 10 + u128::from(d - b'0'));
    let scaled = digits * unit_nanos;
    let denominator = 10u128.pow(exact.len() as u32);
    let mut part = scaled / denominator;
    if scaled % denominator != 0 || rest.bytes().any(|d| d != b'0') {
        part += 1;
    }
    Ok(duration_from_nanos(whole.saturating_add(part)))
}

/// A duration of `nanos` nanoseconds, saturating at [`Duration::MAX`].
fn duration_from_nanos(nanos: u128) -> Duration {
    if nanos > MAX_NANOS {
        return Duration::MAX;
    }
    // Both fit: nanos <= MAX_NANOS, so the seconds are at most u64::MAX.
    let secs = u64::try_from(nanos / NANOS_PER_SEC).unwrap_or(u64::MAX);
    let sub = u32::try_from(nanos % NANOS_PER_SEC).unwrap_or(0);
    Duration::new(secs, sub)
}

/// Writes `d` in a form [`parse_duration`] reads back to exactly `d`: `0`, `2s`, `1.5s`,
/// `0.000000001s` (seconds, with as many decimals as needed, at most nine).
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0".to_owned();
    }
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        return format!("{}s", d.as_secs());
    }
    let frac = format!("{nanos:09}");
    format!("{}.{}s", d.as_secs(), frac.trim_end_matches('0'))
}

/// Parses a byte size: `1024`, `64KiB`, `16MiB`, `1GiB`, `1TiB`; `K`/`M`/`G`/`T` are the
/// binary units too; `KB`/`MB`/`GB`/`TB` are decimal. Case-insensitive units, spaces
/// allowed around the number and the unit; no decimals.
///
/// A size above [`u64::MAX`] bytes (16 EiB) saturates to it: no practical limit.
/// [`format_size`] writes a form that parses back to the same value.
///
/// # Errors
/// A message quoting the input and [`SIZE_FORMS`] when the text is empty, not a whole number,
/// or has an unknown unit.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let bad = || format!("invalid size `{text}`: expected {SIZE_FORMS}");
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(bad());
    }
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return Err(bad()),
    };
    // Only digits: parsing fails only by overflow, which saturates like the product.
    let value: u64 = num.parse().unwrap_or(u64::MAX);
    Ok(value.saturating_mul(mult))
}

/// Writes `bytes` in a form [`parse_size`] reads back to exactly `bytes`: with the largest
/// binary unit that divides it (`16MiB`, `1536KiB`), else as a number of bytes.
pub fn format_size(bytes: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes != 0 && bytes % (1u64 << shift) == 0 {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// The end of a time limit: an instant, or none at all.
///
/// Built only by saturating constructors, so a limit too large for an [`Instant`] (a
/// `Duration::MAX` timeout, a policy's `max_wall_time = "9223372036854775807"`) is
/// [`Never`](Deadline::Never) instead of an overflow panic. Ordered: every instant comes
/// before `Never`, so [`min`](Ord::min) picks the earlier limit.
///
/// # Example
/// ```
/// use std::time::Duration;
/// use reml_process::units::Deadline;
/// assert_eq!(Deadline::after(Duration::MAX), Deadline::Never);
/// let soon = Deadline::after(Duration::from_secs(1));
/// assert!(soon < Deadline::Never);
/// assert!(soon.remaining().unwrap() <= Duration::from_secs(1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Deadline {
    /// The limit ends at this instant.
    At(Instant),
    /// No limit (none was given, or it was too far to represent).
    Never,
}

impl Deadline {
    /// `timeout` from now; [`Never`](Deadline::Never) when that is past what an `Instant`
    /// can hold.
    pub fn after(timeout: Duration) -> Deadline {
        Deadline::after_from(Instant::now(), timeout)
    }

    /// `timeout` from `start`; [`Never`](Deadline::Never) when that is past what an
    /// `Instant` can hold.
    pub fn after_from(start: Instant, timeout: Duration) -> Deadline {
        start
            .checked_add(timeout)
            .map_or(Deadline::Never, Deadline::At)
    }

    /// The deadline of an optional limit from `start`: `None` is no limit.
    pub fn within(start: Instant, timeout: Option<Duration>) -> Deadline {
        timeout.map_or(Deadline::Never, |t| Deadline::after_from(start, t))
    }

    /// The instant, or `None` for [`Never`](Deadline::Never).
    pub fn instant(self) -> Option<Instant> {
        match self {
            Deadline::At(i) => Some(i),
            Deadline::Never => None,
        }
    }

    /// Whether there is no limit.
    pub fn is_never(self) -> bool {
        self == Deadline::Never
    }

    /// Whether the deadline is at or before `now`.
    pub fn passed_at(self, now: Instant) -> bool {
        matches!(self, Deadline::At(d) if d <= now)
    }

    /// Whether the deadline is at or before the current instant.
    pub fn has_passed(self) -> bool {
        self.passed_at(Instant::now())
    }

    /// The time left from `now` (zero once passed); `None` for
    /// [`Never`](Deadline::Never).
    pub fn remaining_from(self, now: Instant) -> Option<Duration> {
        self.instant().map(|d| d.saturating_duration_since(now))
    }

    /// The time left from the current instant (zero once passed); `None` for
    /// [`Never`](Deadline::Never).
    pub fn remaining(self) -> Option<Duration> {
        self.remaining_from(Instant::now())
    }

    /// The time left from `now` as a `poll`/`epoll_wait` timeout: `None` (block) for
    /// [`Never`](Deadline::Never), the seconds clamped to what a `timespec` holds.
    pub(crate) fn timespec_from(self, now: Instant) -> Option<rustix::event::Timespec> {
        self.remaining_from(now).map(timespec)
    }
}

/// `d` as a `timespec`, its seconds clamped to `i64::MAX` (never a negative, "infinite"
/// timeout from a wrapped cast).
pub(crate) fn timespec(d: Duration) -> rustix::event::Timespec {
    rustix::event::Timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        // Below 10^9: fits an i64, and the c_long of 32-bit BSDs.
        tv_nsec: d.subsec_nanos() as _,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn durations() {
        let ok = [
            ("250ms", Duration::from_millis(250)),
            ("2s", Duration::from_secs(2)),
            ("1.5", Duration::from_millis(1500)),
            ("2", Duration::from_secs(2)),
            ("1m", Duration::from_secs(60)),
            ("1h", Duration::from_secs(3600)),
            ("1d", Duration::from_secs(86400)),
            ("0", Duration::ZERO),
            ("0.0", Duration::ZERO),
            ("0ns", Duration::ZERO),
            ("0.5m", Duration::from_secs(30)),
            (".5", Duration::from_millis(500)),
            ("2.", Duration::from_secs(2)),
            (" 3 s ", Duration::from_secs(3)),
            ("1.000000001", Duration::new(1, 1)),
            ("7us", Duration::from_micros(7)),
        ];
        for (s, d) in ok {
            assert_eq!(parse_duration(s).unwrap(), d, "{s}");
        }
        for s in [
            "",
            "abc",
            "-1",
            "1x",
            "1.2.3",
            ".",
            "1e9999",
            "s",
            "1 fortnight",
            "+1",
            "1 2",
        ] {
            let e = parse_duration(s).unwrap_err();
            assert!(e.contains("250ms"), "{s}: {e}");
        }
    }

    #[test]
    fn a_duration_too_large_saturates() {
        // Each of these used to be an error or, once parsed, an overflow panic downstream.
        for s in [
            "18446744073709551616",
            "99999999999999999999999999999999999999999999999999",
            "9223372036854775807d",
            "18446744073709551615.9999999999",
        ] {
            assert_eq!(parse_duration(s).unwrap(), Duration::MAX, "{s}");
        }
        assert_eq!(
            parse_duration("18446744073709551615.999999999").unwrap(),
            Duration::MAX
        );
        assert_eq!(
            parse_duration("18446744073709551615").unwrap(),
            Duration::from_secs(u64::MAX)
        );
        // Representable as a Duration (the overflow it caused was in `Instant + Duration`,
        // which `Deadline` saturates).
        assert_eq!(
            parse_duration("9223372036854775807").unwrap(),
            Duration::from_secs(i64::MAX as u64)
        );
    }

    #[test]
    fn a_positive_duration_too_small_is_one_nanosecond() {
        // `0.0000000001` used to parse to zero, which `--timeout` reads as "no limit".
        for s in ["0.0000000001", "0.1ns", "0.000000000000000000000000000001"] {
            assert_eq!(parse_duration(s).unwrap(), Duration::from_nanos(1), "{s}");
        }
        assert!(parse_duration("1e-9").is_err(), "exponents are not a form");
        assert_eq!(parse_duration("1.5ns").unwrap(), Duration::from_nanos(2));
        assert_eq!(
            parse_duration("0.0000000000000000000000000s").unwrap(),
            Duration::ZERO
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64KiB").unwrap(), 65536);
        assert_eq!(parse_size("16MiB").unwrap(), 16 << 20);
        assert_eq!(parse_size("16mib").unwrap(), 16 << 20);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_size("2MB").unwrap(), 2_000_000);
        assert_eq!(parse_size(" 1 k ").unwrap(), 1024);
        for s in ["", "-1", "1.5MiB", "12XB", "KiB", "0x10"] {
            assert!(parse_size(s).is_err(), "{s}");
        }
    }

    #[test]
    fn a_size_too_large_saturates() {
        for s in [
            "99999999999999999999",
            "999999999TiB",
            "18446744073709551615",
        ] {
            assert_eq!(parse_size(s).unwrap(), u64::MAX, "{s}");
        }
        assert!(parse_size("1PiB").is_err(), "PiB is not a unit");
    }

    #[test]
    fn deadlines_never_overflow() {
        let now = Instant::now();
        assert_eq!(Deadline::after(Duration::MAX), Deadline::Never);
        assert_eq!(Deadline::within(now, None), Deadline::Never);
        assert_eq!(Deadline::within(now, Some(Duration::MAX)), Deadline::Never);
        let d = Deadline::after_from(now, Duration::from_secs(1));
        assert_eq!(d.instant(), Some(now + Duration::from_secs(1)));
        assert!(d < Deadline::Never && d.min(Deadline::Never) == d);
        assert!(!d.passed_at(now) && d.passed_at(now + Duration::from_secs(1)));
        assert_eq!(d.remaining_from(now), Some(Duration::from_secs(1)));
        assert_eq!(
            d.remaining_from(now + Duration::from_secs(5)),
            Some(Duration::ZERO)
        );
        assert_eq!(Deadline::Never.remaining(), None);
        assert!(!Deadline::Never.has_passed());
        let t = timespec(Duration::MAX);
        assert_eq!((t.tv_sec, t.tv_nsec), (i64::MAX, 999_999_999));
        let far = Deadline::after(Duration::from_secs(i64::MAX as u64 / 2));
        if let Some(t) = far.timespec_from(now) {
            assert!(
                t.tv_sec > 0,
                "a far deadline is a long wait, never a negative one"
            );
        }
    }

    proptest! {
        #[test]
        fn parse_duration_never_panics(s in "\\PC*") {
            let _ = parse_duration(&s);
        }

        #[test]
        fn parse_duration_never_panics_on_number_like_text(
            s in "[0-9.]{0,60}[ ]?(|s|ms|us|µs|ns|m|min|h|d|x)"
        ) {
            let _ = parse_duration(&s);
        }

        #[test]
        fn durations_round_trip(secs in any::<u64>(), nanos in 0u32..1_000_000_000) {
            let d = Duration::new(secs, nanos);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        #[test]
        fn whole_units_are_exact(n in 0u64..1_000_000_000, unit in 0usize..7) {
            let (suffix, nanos): (&str, u128) =
                [("ns", 1), ("us", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000),
                 ("m", 60_000_000_000), ("h", 3_600_000_000_000), ("d", 86_400_000_000_000)][unit];
            let want = duration_from_nanos(u128::from(n) * nanos);
            prop_assert_eq!(parse_duration(&format!("{n}{suffix}")), Ok(want));
        }

        #[test]
        fn a_positive_duration_is_never_zero(
            zeros in 0usize..40, digit in 1u8..10, unit in "(|s|ms|us|ns|m|h|d)"
        ) {
            let s = format!("0.{}{digit}{unit}", "0".repeat(zeros));
            let d = parse_duration(&s).unwrap();
            prop_assert!(!d.is_zero(), "{} parsed to zero", s);
        }

        #[test]
        fn parse_size_never_panics(s in "\\PC*") {
            let _ = parse_size(&s);
        }

        #[test]
        fn parse_size_saturates_or_is_exact(n in any::<u64>(), unit in 0usize..9) {
            let (suffix, mult): (&str, u64) = [("", 1), ("KiB", 1 << 10), ("MiB", 1 << 20),
                ("GiB", 1 << 30), ("TiB", 1 << 40), ("KB", 1_000), ("MB", 1_000_000),
                ("GB", 1_000_000_000), ("TB", 1_000_000_000_000)][unit];
            prop_assert_eq!(parse_size(&format!("{n}{suffix}")), Ok(n.saturating_mul(mult)));
        }

        #[test]
        fn sizes_round_trip(n in any::<u64>(), shift in 0u32..64) {
            for v in [n, n >> shift << shift] {
                prop_assert_eq!(parse_size(&format_size(v)), Ok(v));
            }
        }

        #[test]
        fn deadlines_from_any_duration(secs in any::<u64>(), nanos in 0u32..1_000_000_000) {
            let now = Instant::now();
            let d = Deadline::after_from(now, Duration::new(secs, nanos));
            if let Some(left) = d.remaining_from(now) {
                prop_assert_eq!(left, Duration::new(secs, nanos));
                let t = d.timespec_from(now).unwrap();
                prop_assert!(t.tv_sec >= 0);
            }
        }
    }
}
