//! Durations and byte sizes as written in the command line and the policy file
//! (`contract.md` §1 `--timeout`, `--max-output`; §2 `max_wall_time`, `max_output_bytes`).

use std::time::Duration;

/// The accepted duration forms, for error messages.
pub const DURATION_FORMS: &str =
    "a number of seconds (`2`, `1.5`), or a number with a unit: `250ms`, `2s`, `1m`, `1h`, `1d`; `0` means no limit";

/// The accepted size forms, for error messages.
pub const SIZE_FORMS: &str =
    "a number of bytes (`1024`) or a number with a unit: `64KiB`, `16MiB`, `1GiB` (also `KB`, `MB`, `GB` = powers of 1000, and `K`, `M`, `G` = powers of 1024)";

/// Parses a duration: `250ms`, `2s`, `1.5` (seconds), `1m`, `1h`, `1d`; decimals are allowed
/// with every unit (`0.5m`); `us` and `ns` are accepted too.
///
/// `0` (with or without unit) parses to `Duration::ZERO`; callers give it their meaning
/// (for `--timeout`, no limit).
///
/// # Errors
/// A message quoting the input and [`DURATION_FORMS`] when the text is empty, negative, not a
/// number, has an unknown unit, or is too large for a `Duration`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || format!("invalid duration `{text}`: expected {DURATION_FORMS}");
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() || num.starts_with('.') && num.len() == 1 || num.matches('.').count() > 1 {
        return Err(bad());
    }
    let value: f64 = num.parse().map_err(|_| bad())?;
    let scale = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return Err(bad()),
    };
    let secs = value * scale;
    if !secs.is_finite() || secs < 0.0 {
        return Err(bad());
    }
    Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

/// Parses a byte size: `1024`, `64KiB`, `16MiB`, `1GiB`, `1TiB`; `K`/`M`/`G`/`T` are the
/// binary units too; `KB`/`MB`/`GB`/`TB` are decimal. Case-insensitive units; no decimals.
///
/// # Errors
/// A message quoting the input and [`SIZE_FORMS`] when the text is empty, not a whole number,
/// has an unknown unit, or overflows `u64`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let bad = || format!("invalid size `{text}`: expected {SIZE_FORMS}");
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(bad());
    }
    let value: u64 = num.parse().map_err(|_| bad())?;
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
    value.checked_mul(mult).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ("0.5m", Duration::from_secs(30)),
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
        ] {
            let e = parse_duration(s).unwrap_err();
            assert!(e.contains("250ms"), "{s}: {e}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64KiB").unwrap(), 65536);
        assert_eq!(parse_size("16MiB").unwrap(), 16 << 20);
        assert_eq!(parse_size("16mib").unwrap(), 16 << 20);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_size("2MB").unwrap(), 2_000_000);
        for s in [
            "",
            "-1",
            "1.5MiB",
            "12XB",
            "99999999999999999999",
            "999999999TiB",
        ] {
            assert!(parse_size(s).is_err(), "{s}");
        }
    }
}
