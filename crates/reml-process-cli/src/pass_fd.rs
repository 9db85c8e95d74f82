//! The `--pass-fd SRC:DST` form of `run` (`docs/command.md`).

/// Parses `SRC:DST`, two descriptor numbers (`0`‥`i32::MAX`, spaces around each allowed):
/// our descriptor SRC becomes the child's DST.
///
/// # Errors
/// A message naming the option and the expected form when there is no `:`, a side is not a
/// number, is negative, or does not fit a descriptor number.
pub fn parse_pass_fd(spec: &str) -> Result<(i32, i32), String> {
    let bad = || format!("--pass-fd {spec}: expected SRC:DST, two descriptor numbers (e.g. 3:3)");
    let (a, b) = spec.split_once(':').ok_or_else(bad)?;
    let src: i32 = a.trim().parse().map_err(|_| bad())?;
    let dst: i32 = b.trim().parse().map_err(|_| bad())?;
    if src < 0 || dst < 0 {
        return Err(bad());
    }
    Ok((src, dst))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn forms() {
        assert_eq!(parse_pass_fd("7:3"), Ok((7, 3)));
        assert_eq!(parse_pass_fd(" 0 : 2 "), Ok((0, 2)));
        for bad in [
            "",
            "3",
            "3:",
            ":3",
            "-1:3",
            "3:-1",
            "a:b",
            "3:3:3",
            "99999999999:3",
        ] {
            let e = parse_pass_fd(bad).unwrap_err();
            assert!(
                e.contains("--pass-fd") && e.contains("SRC:DST"),
                "{bad}: {e}"
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,24}") {
            let _ = parse_pass_fd(&s);
        }

        #[test]
        fn round_trips(src in 0..=i32::MAX, dst in 0..=i32::MAX) {
            prop_assert_eq!(parse_pass_fd(&format!("{src}:{dst}")), Ok((src, dst)));
        }

        #[test]
        fn negative_numbers_are_refused(src in i32::MIN..0, dst in any::<i32>()) {
            let forward = format!("{src}:{dst}");
            let backward = format!("{dst}:{src}");
            prop_assert!(parse_pass_fd(&forward).is_err());
            prop_assert!(parse_pass_fd(&backward).is_err());
        }
    }
}
