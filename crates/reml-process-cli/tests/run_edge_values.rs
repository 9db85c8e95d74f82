//! Durations and sizes at the edges, end to end (`docs/command.md` "Input and output at the
//! edges"): a value too large to represent saturates (no practical limit), a positive value
//! too small is the smallest limit, only malformed text is an error — never a panic, never
//! a hang.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::*;

/// "Well under" what the children would otherwise take; not a performance bound.
const WELL_UNDER: Duration = Duration::from_secs(20);

/// Larger than any `Instant` can reach from now (`Instant + Duration` used to panic on it).
const HUGE: &str = "9223372036854775807";

fn no_panic(out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "no panic: {err}"
    );
}

fn temp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("run-edge-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_time_limit_too_large_to_represent_is_no_limit() {
    let h = helper_str();
    for timeout in [
        HUGE,
        "18446744073709551616",
        "99999999999999999999999999999999d",
    ] {
        let out = run(&["--json", "--timeout", timeout, "--", &h, "exit", "3"])
            .output()
            .unwrap();
        no_panic(&out);
        assert_eq!(code(&out), 3, "--timeout {timeout}");
        let j = one_json(&out);
        assert_eq!(field(&j, "timed_out"), false);
        assert_eq!(field(&j, "cause"), "exited");
    }
}

#[test]
fn a_grace_too_large_to_represent_waits_for_a_child_that_ignores_term() {
    // TERM at 0.2 s is ignored; the grace saturates, so no KILL comes and `run` waits for the
    // child to end on its own after about 3 s. Used to panic inside a scoped thread and then
    // hang for good, ignoring TERM, with the child unreaped.
    let start = Instant::now();
    let out = run(&[
        "--json",
        "--timeout",
        "0.2",
        "--kill-after",
        HUGE,
        "--",
        "sh",
        "-c",
        r#"trap "" TERM; sleep 3"#,
    ])
    .output()
    .unwrap();
    let took = start.elapsed();
    no_panic(&out);
    assert!(took < WELL_UNDER, "took {took:?}");
    assert_eq!(code(&out), 124);
    let j = one_json(&out);
    assert_eq!(field(&j, "timed_out"), true);
    assert_eq!(field(&j, "cause"), "timed_out");
    assert_eq!(field(&j, "exit_code"), 0, "it ended on its own");
    assert!(field(&j, "signal").is_null(), "no KILL was sent");
    let ms = field(&j, "duration_ms").as_f64().unwrap();
    assert!(ms >= 2500.0, "the child's own 3 s, ended at {ms} ms");
}

#[test]
fn a_positive_time_limit_too_small_to_represent_is_the_smallest_limit() {
    // `0.0000000001` used to round to zero, which means "no limit".
    let h = helper_str();
    let start = Instant::now();
    let out = run(&[
        "--json",
        "--timeout",
        "0.0000000001",
        "--",
        &h,
        "sleep",
        "30",
    ])
    .output()
    .unwrap();
    no_panic(&out);
    assert!(start.elapsed() < WELL_UNDER, "took {:?}", start.elapsed());
    assert_eq!(code(&out), 124);
    assert_eq!(field(&one_json(&out), "cause"), "timed_out");
}

#[test]
fn a_size_too_large_to_represent_saturates() {
    let h = helper_str();
    let out = run(&[
        "--collect",
        "--max-output",
        "99999999999999999999TiB",
        "--",
        &h,
        "echo",
        "all of it",
    ])
    .output()
    .unwrap();
    no_panic(&out);
    assert_eq!(code(&out), 0);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "all of it\n");
}

#[test]
fn malformed_durations_and_sizes_are_still_refused_with_one_line() {
    let h = helper_str();
    for args in [
        ["--timeout", "1e400"],
        ["--kill-after", "-1"],
        ["--timeout", "1.2.3"],
        ["--max-output", "1.5MiB"],
    ] {
        let mut all = args.to_vec();
        all.extend(["--", &h, "exit", "0"]);
        let out = run(&all).output().unwrap();
        assert_eq!(code(&out), 125, "{args:?}");
        let line = one_error_line(&out);
        assert!(line.contains(args[0]), "{line}");
    }
}

/// The duration forms `docs/command.md` lists (units, whitespace, decimals, the largest value)
/// are taken by `--timeout` and `--kill-after` (their values: `tests/duration_forms.rs` of
/// the library); a child that exits at once keeps its status under each.
#[test]
fn every_documented_duration_form_is_accepted_by_timeout_and_kill_after() {
    let h = helper_str();
    for form in [
        "100",
        "100.",
        ".5d",
        "007",
        "1.5h",
        "100s",
        "100 s",
        " 100 s ",
        "100\ts",
        "100sec",
        "100 secs",
        "5m",
        "5 min",
        "100000ms",
        "100000000us",
        "100000000\u{b5}s",
        "100000000000ns",
        "1d",
        "18446744073709551615.999999999s",
        "0",
    ] {
        let out = run(&["--json", "--timeout", form, "--kill-after", form, "--"])
            .args([&h, "exit", "3"])
            .output()
            .unwrap();
        no_panic(&out);
        assert_eq!(
            code(&out),
            3,
            "--timeout {form:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(field(&one_json(&out), "cause"), "exited", "{form:?}");
    }
}

/// A form the docs do not list is refused before anything runs: 125, one line quoting it and
/// naming the accepted forms.
#[test]
fn an_undocumented_duration_form_is_refused_with_the_accepted_forms() {
    let h = helper_str();
    for (option, form) in [
        ("--timeout", "1S"),
        ("--timeout", "1 mins"),
        ("--timeout", "2hr"),
        ("--timeout", "1\u{3bc}s"),
        ("--timeout", "1 .5"),
        ("--kill-after", "+1"),
        ("--kill-after", "1_000"),
    ] {
        let out = run(&[option, form, "--"])
            .args([&h, "echo", "ran"])
            .output()
            .unwrap();
        assert_eq!(code(&out), 125, "{option} {form:?}");
        assert!(out.stdout.is_empty(), "{option} {form:?}: nothing ran");
        let line = one_error_line(&out);
        assert_eq!(
            line,
            format!(
                "reml-process: {option}: invalid duration `{form}`: expected a number of seconds (`2`, `1.5`), or a number with a unit: `250ms`, `2s`, `1m`, `1h`, `1d`; `0` means no limit"
            )
        );
    }
}

#[test]
fn a_policy_with_a_huge_max_wall_time_passes_verify_and_runs() {
    // It passed `verify` and then every run panicked computing the deadline.
    let d = temp();
    let h = helper_str();
    let policy = write(
        d.path(),
        "huge.toml",
        &format!(
            "[capability]\neffect_scope = [\"process\", \"signal\", \"io.blocking\", \"memory\"]\n\
             [commands]\nallow = [\"{h}\"]\n\
             [limits]\nmax_wall_time = \"{HUGE}\"\ncpu_time = \"{HUGE}d\"\n\
             max_output_bytes = \"99999999999999999999\"\n"
        ),
    );
    let out = reml().arg("verify").arg(&policy).output().unwrap();
    no_panic(&out);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let out = reml()
        .args(["run", "--json", "--policy"])
        .arg(&policy)
        .args(["--", &h, "echo", "ran"])
        .output()
        .unwrap();
    no_panic(&out);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let j = one_json(&out);
    assert_eq!(field(&j, "stdout"), "ran\n");
    assert_eq!(field(&j, "cause"), "exited");
}
