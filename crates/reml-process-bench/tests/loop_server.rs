//! The bench's own loop server (`__child server`, used by the growth measures) answers the
//! protocol its driver relies on: K durations for `run METHOD K`, `ok` for `alloc`, the
//! number opened for `fds`, and a line starting with `error` for anything else.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

#[test]
fn the_bench_server_answers_each_request_on_one_line() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reml-process-bench"))
        .args(["__child", "server"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the bench server");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ask = |line: &str| {
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        let mut answer = String::new();
        stdout.read_line(&mut answer).unwrap();
        answer.trim_end().to_string()
    };
    for method in ["native", "std"] {
        let answer = ask(&format!("run {method} 3"));
        let times: Vec<u64> = answer
            .split(' ')
            .map(|t| t.parse().expect("a duration in ns"))
            .collect();
        assert_eq!(times.len(), 3, "{method}: {answer}");
        assert!(times.iter().all(|&t| t > 0), "{method}: {answer}");
    }
    assert_eq!(ask("alloc 1"), "ok");
    assert_eq!(ask("fds 5"), "ok 5");
    // The server still spawns with the descriptors and the heap it holds.
    assert_eq!(ask("run native 1").split(' ').count(), 1);
    assert!(ask("run fork 1").starts_with("error"));
    assert!(ask("nonsense").starts_with("error"));
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
