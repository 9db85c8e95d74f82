//! Time limits of `reml-process run` (`docs/command.md` `--timeout`, `--signal`, `--kill-after`,
//! `--no-new-group`; a grandchild holding the output pipe, a child
//! ignoring `TERM`): 124, the whole group ended, TERM then KILL.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// "Well under" the 30–100 s the children would otherwise take; not a performance bound.
const WELL_UNDER: Duration = Duration::from_secs(20);

#[test]
fn timeout_forms_all_expire_with_124() {
    let h = helper_str();
    for (form, at_least_ms) in [
        ("250ms", 250.0),
        ("1", 1000.0),
        ("0.5", 500.0),
        ("0.2s", 200.0),
    ] {
        let start = Instant::now();
        let out = run(&["--json", "--timeout", form, "--", &h, "sleep", "30"])
            .output()
            .unwrap();
        assert!(start.elapsed() < WELL_UNDER, "{form}");
        assert_eq!(code(&out), 124, "--timeout {form}");
        let j = one_json(&out);
        assert_eq!(field(&j, "timed_out"), true);
        assert_eq!(field(&j, "cause"), "timed_out");
        assert_eq!(field(&j, "signal"), 15, "default signal TERM");
        assert!(field(&j, "exit_code").is_null());
        assert!(field(&j, "error").is_null());
        let ms = field(&j, "duration_ms").as_f64().unwrap();
        assert!(ms >= at_least_ms, "--timeout {form} ended after {ms} ms");
    }
}

#[test]
fn timeout_zero_means_no_limit() {
    let h = helper_str();
    let out = run(&["--json", "--timeout", "0", "--", &h, "sleep", "0.3"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    let j = one_json(&out);
    assert_eq!(field(&j, "timed_out"), false);
    assert_eq!(field(&j, "cause"), "exited");
}

#[test]
fn a_child_that_ends_in_time_is_not_timed_out() {
    let h = helper_str();
    let out = run(&["--json", "--timeout", "30", "--", &h, "exit", "4"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 4);
    let j = one_json(&out);
    assert_eq!(field(&j, "timed_out"), false);
    assert_eq!(field(&j, "exit_code"), 4);
}

#[test]
fn signal_accepts_name_sig_name_and_number() {
    let h = helper_str();
    // HUP, not INT: a test run started in the background of a non-interactive shell has INT
    // ignored, and the child rightly inherits that, so INT would not end it.
    for form in ["HUP", "SIGHUP", "1", "hup"] {
        let out = run(&[
            "--json",
            "--timeout",
            "0.2",
            "--signal",
            form,
            "--",
            &h,
            "sleep",
            "30",
        ])
        .output()
        .unwrap();
        assert_eq!(code(&out), 124, "--signal {form}");
        let j = one_json(&out);
        assert_eq!(field(&j, "signal"), 1, "--signal {form}");
        assert_eq!(field(&j, "cause"), "timed_out");
    }
    let out = run(&[
        "--json",
        "--timeout",
        "0.2",
        "--signal",
        "KILL",
        "--",
        &h,
        "sleep",
        "30",
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), 124);
    assert_eq!(field(&one_json(&out), "signal"), 9);
}

#[test]
fn kill_after_ends_a_child_that_ignores_term() {
    let start = Instant::now();
    let out = run(&[
        "--json",
        "--timeout",
        "1",
        "--kill-after",
        "1",
        "--",
        "sh",
        "-c",
        r#"trap "" TERM; sleep 30"#,
    ])
    .output()
    .unwrap();
    let took = start.elapsed();
    assert!(took < WELL_UNDER, "took {took:?}");
    assert_eq!(code(&out), 124);
    let j = one_json(&out);
    assert_eq!(field(&j, "signal"), 9, "the final status says KILL");
    assert_eq!(field(&j, "timed_out"), true);
    assert_eq!(field(&j, "cause"), "timed_out");
    let ms = field(&j, "duration_ms").as_f64().unwrap();
    assert!(
        ms >= 2000.0,
        "TERM at 1 s, KILL after a 1 s grace, ended at {ms} ms"
    );
    // The `sleep 30` (it ignores TERM as well) went with the group.
    group_ends(field(&j, "pid").as_i64().unwrap() as i32);
}

#[test]
fn kill_after_is_not_waited_when_term_suffices() {
    let h = helper_str();
    let start = Instant::now();
    let out = run(&[
        "--json",
        "--timeout",
        "0.2",
        "--kill-after",
        "60",
        "--",
        &h,
        "sleep",
        "60",
    ])
    .output()
    .unwrap();
    assert!(start.elapsed() < WELL_UNDER);
    assert_eq!(code(&out), 124);
    assert_eq!(field(&one_json(&out), "signal"), 15);
}

#[test]
fn kill_after_with_the_helper_ignoring_term() {
    let h = helper_str();
    let out = run(&[
        "--json",
        "--timeout",
        "0.3",
        "--kill-after",
        "0.3",
        "--",
        &h,
        "ignore-term",
        "30",
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), 124);
    let j = one_json(&out);
    assert_eq!(field(&j, "stdout"), "ready\n");
    assert_eq!(field(&j, "signal"), 9);
}

#[test]
fn grandchild_holding_the_pipe_times_out_with_partial_output() {
    let start = Instant::now();
    let out = run(&[
        "--collect",
        "--timeout",
        "1",
        "--",
        "sh",
        "-c",
        "echo hi; sleep 100 & sleep 100",
    ])
    .output()
    .unwrap();
    assert!(start.elapsed() < WELL_UNDER, "took {:?}", start.elapsed());
    assert_eq!(code(&out), 124);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
}

#[test]
fn the_whole_group_is_ended_on_expiry() {
    let mut cleanup = Cleanup::default();
    let start = Instant::now();
    let out = run(&[
        "--json",
        "--timeout",
        "1",
        "--",
        "sh",
        "-c",
        "echo hi; sleep 100 & echo $!; sleep 100",
    ])
    .output()
    .unwrap();
    assert!(start.elapsed() < WELL_UNDER);
    assert_eq!(code(&out), 124);
    let j = one_json(&out);
    let pgid = field(&j, "pid").as_i64().unwrap() as i32;
    cleanup.groups.push(pgid);
    let stdout = field(&j, "stdout").as_str().unwrap().to_owned();
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("hi"), "{stdout:?}");
    let grandchild: i32 = lines
        .next()
        .and_then(|l| l.parse().ok())
        .expect("pid of the sleep");
    cleanup.pids.push(grandchild);
    assert_gone(&[grandchild]);
    group_ends(pgid);
}

#[test]
fn shell_exits_at_once_while_a_grandchild_holds_the_pipe() {
    let mut cleanup = Cleanup::default();
    let start = Instant::now();
    let out = run(&["--json", "--", "sh", "-c", "sleep 100 & echo hi"])
        .output()
        .unwrap();
    let took = start.elapsed();
    let j = one_json(&out);
    // The `sleep 100` is not ours to end (no time limit expired): clean it up ourselves.
    let pgid = field(&j, "pid").as_i64().unwrap() as i32;
    cleanup.groups.push(pgid);
    assert!(
        took < WELL_UNDER,
        "bounded linger, never 100 s: took {took:?}"
    );
    assert_eq!(code(&out), 0);
    assert_eq!(field(&j, "stdout"), "hi\n");
    assert_eq!(field(&j, "cause"), "exited");
    assert_eq!(field(&j, "timed_out"), false);
}

#[test]
fn grandchild_holding_the_pipe_with_collect_prints_hi_and_exits_0() {
    let start = Instant::now();
    // The background sleep prints its own pid first so the test can end it.
    let out = run(&[
        "--collect",
        "--",
        "sh",
        "-c",
        "sleep 100 & echo $!; echo hi",
    ])
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let pid: Option<i32> = lines.next().and_then(|l| l.parse().ok());
    let _cleanup = Cleanup {
        pids: pid.into_iter().collect(),
        groups: vec![],
    };
    assert!(start.elapsed() < WELL_UNDER);
    assert_eq!(code(&out), 0);
    assert!(pid.is_some(), "{text:?}");
    assert_eq!(lines.next(), Some("hi"));
}

#[test]
fn a_stopped_child_still_gets_term_because_cont_follows() {
    for extra in [&[][..], &["--no-new-group"][..]] {
        let mut args = vec!["--json", "--timeout", "0.3", "--kill-after", "30"];
        args.extend_from_slice(extra);
        args.extend(["--", "sh", "-c", "kill -STOP $$"]);
        let start = Instant::now();
        let out = run(&args).output().unwrap();
        assert!(start.elapsed() < WELL_UNDER, "{extra:?}");
        assert_eq!(code(&out), 124, "{extra:?}");
        let j = one_json(&out);
        // Without CONT the TERM would stay pending and only KILL (after 30 s) would end it.
        assert_eq!(field(&j, "signal"), 15, "{extra:?}");
    }
}

#[test]
fn the_child_leads_a_new_process_group_by_default() {
    let h = helper_str();
    let out = run(&["--", &h, "ids"]).output().unwrap();
    assert_eq!(code(&out), 0);
    let ids = parse_ids(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(ids["pgid"], ids["pid"], "{ids:?}");
}

#[test]
fn no_new_group_keeps_the_child_in_our_group() {
    let h = helper_str();
    let out = run(&["--no-new-group", "--", &h, "ids"]).output().unwrap();
    assert_eq!(code(&out), 0);
    let ids = parse_ids(&String::from_utf8_lossy(&out.stdout));
    assert_ne!(ids["pgid"], ids["pid"], "{ids:?}");
    // reml-process was started in the test's group; the child stays in it.
    assert_eq!(ids["pgid"], own_pgrp(), "{ids:?}");
}

#[test]
fn no_new_group_ends_the_childs_tree_but_not_our_group() {
    let mut cleanup = Cleanup::default();
    let out = run(&[
        "--json",
        "--no-new-group",
        "--timeout",
        "0.3",
        "--",
        "sh",
        "-c",
        "sleep 100 & echo $!; wait",
    ])
    .output()
    .unwrap();
    let j = one_json(&out);
    let stdout = field(&j, "stdout").as_str().unwrap().to_owned();
    let grandchild: Option<i32> = stdout.lines().next().and_then(|l| l.parse().ok());
    cleanup.pids.extend(grandchild);
    assert_eq!(code(&out), 124);
    assert_eq!(field(&j, "signal"), 15);
    let grandchild = grandchild.expect("the background sleep printed its pid");
    // The child shares our group, so no group signal is sent (it would hit this test); the
    // whole tree of the timed-out job is still ended, its background sleep included.
    assert_gone(&[grandchild]);
}

fn parse_ids(text: &str) -> std::collections::HashMap<String, i32> {
    text.split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}
