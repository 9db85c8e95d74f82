//! Every duration form `docs/command.md` lists under **Durations** (`--timeout`,
//! `--kill-after`, the policy's durations) parses to the value it says, and forms it does not
//! list are refused with the message naming the accepted ones. The list in the docs and
//! `units::parse_duration` must agree: a form added to one and not the other fails here.

use std::time::Duration;

use reml_process::units::parse_duration;

const NS: u64 = 1;
const US: u64 = 1_000;
const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;

/// (text, nanoseconds): each bullet of the docs' list, in its order.
const DOCUMENTED: &[(&str, u64)] = &[
    // The number: digits, at most one `.`, a digit on at least one side; seconds by default.
    ("2", 2 * S),
    ("1.5", 1_500 * MS),
    (".5", 500 * MS),
    ("2.", 2 * S),
    ("007", 7 * S),
    ("0.5m", 30 * S),
    ("1.5h", 5_400 * S),
    ("2.5ms", 2_500 * US),
    // Every unit.
    ("7ns", 7 * NS),
    ("7us", 7 * US),
    ("7\u{b5}s", 7 * US),
    ("7ms", 7 * MS),
    ("7s", 7 * S),
    ("7sec", 7 * S),
    ("7secs", 7 * S),
    ("7m", 420 * S),
    ("7min", 420 * S),
    ("7h", 7 * 3_600 * S),
    ("7d", 7 * 86_400 * S),
    // Whitespace around the value and between the number and the unit.
    (" 3 s ", 3 * S),
    ("1 s", S),
    ("2 min", 120 * S),
    ("1\ts", S),
    // Exact, rounded up to a whole nanosecond; zero in any unit.
    ("0.0000000001", NS),
    ("1.5ns", 2 * NS),
    ("0", 0),
    ("0s", 0),
    ("0.0ms", 0),
];

#[test]
fn every_documented_form_parses_to_its_value() {
    for (text, nanos) in DOCUMENTED {
        assert_eq!(
            parse_duration(text),
            Ok(Duration::from_nanos(*nanos)),
            "{text:?}"
        );
    }
}

#[test]
fn the_documented_largest_value_and_what_saturates_to_it() {
    let largest = Duration::new(u64::MAX, 999_999_999);
    assert_eq!(
        parse_duration("18446744073709551615.999999999s"),
        Ok(largest)
    );
    assert_eq!(largest, Duration::MAX);
    let sixty_nines = "9".repeat(60);
    for text in [
        "18446744073709551616",
        sixty_nines.as_str(),
        "99999999999999999999d",
        "18446744073709551615.9999999999",
    ] {
        assert_eq!(parse_duration(text), Ok(Duration::MAX), "{text}");
    }
}

#[test]
fn forms_the_docs_do_not_list_are_refused_naming_the_accepted_ones() {
    for text in [
        "1S",
        "1MS",
        "1 mins",
        "1hr",
        "1 hours",
        "1w",
        "1\u{3bc}s",
        "1 .5",
        "1 2",
        "1m s",
        "1e5",
        "-1",
        "+1",
        "1_000",
        "1,5",
        "10x",
        "1ms5",
        ".",
        "",
        "s",
    ] {
        let e = parse_duration(text).expect_err(text);
        assert!(
            e.starts_with(&format!("invalid duration `{text}`: expected "))
                && e.contains("`250ms`, `2s`, `1m`, `1h`, `1d`"),
            "{text:?}: {e}"
        );
    }
}
