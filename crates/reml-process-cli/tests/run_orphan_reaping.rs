//! Zombies do not pile up while a job runs (`docs/command.md`): `reml-process run` is child
//! subreaper, so the orphans of its job become its children; it reaps them as they end
//! instead of leaving them `<defunct>` until it exits.

mod common;

use common::*;

/// The job leaves six short-lived orphans behind (each `( sleep & )` subshell exits at
/// once, so its `sleep` is reparented to `run`), then lists the states of `run`'s children
/// twice: while the orphans still sleep (proof that they were adopted), and after they have
/// ended (none may be a zombie).
#[test]
fn orphans_of_a_running_job_are_reaped_as_they_end() {
    let script = "for i in 1 2 3 4 5 6; do ( sleep 0.5 & ); done; \
                  sleep 0.2; \
                  for p in $(cat /proc/$PPID/task/*/children); do \
                    [ $p = $$ ] || echo \"early $p $(cut -d')' -f2 /proc/$p/stat)\"; \
                  done; \
                  sleep 1.5; \
                  for p in $(cat /proc/$PPID/task/*/children); do \
                    [ $p = $$ ] || echo \"late $p $(cut -d')' -f2 /proc/$p/stat)\"; \
                  done; \
                  echo done";
    let out = run(&["--", "sh", "-c", script]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.ends_with("done\n"), "{text}");
    // ` S 1234 ...` after the name: the state is the first field.
    let states = |which: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with(which))
            .filter_map(|l| l.split_whitespace().nth(2).map(str::to_owned))
            .collect()
    };
    let early = states("early ");
    assert!(
        early.len() >= 6,
        "the six orphans were adopted by run while they slept: {text}"
    );
    let late = states("late ");
    assert!(
        late.iter().all(|s| s != "Z"),
        "no zombie among run's children after the orphans ended: {text}"
    );
    assert!(late.is_empty(), "every ended orphan was reaped: {text}");
}

/// The reported shape, as given: `ps` prints no `Z` line.
#[test]
fn no_zombie_shows_in_ps_while_the_job_runs() {
    if which("ps").is_none() {
        skip("no_zombie_shows_in_ps_while_the_job_runs", "no `ps` here");
        return;
    }
    let out = run(&[
        "--",
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6; do ( sleep 0.05 & ); done; sleep 1; ps -o stat= --ppid $PPID",
    ])
    .output()
    .unwrap();
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.is_empty(), "ps listed at least the job's shell");
    assert!(
        text.lines().all(|l| !l.trim_start().starts_with('Z')),
        "a zombie among run's children: {text}"
    );
}
