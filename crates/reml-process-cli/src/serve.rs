//! `reml-process serve [--policy FILE]... [--audit PATH]` (`docs/serve.md`): the invoke
//! protocol of `reml_process::bridge` over standard input and output.

use std::io::BufRead;
use std::path::PathBuf;

use clap::Args;
use reml_process::bridge::Bridge;
use reml_process::Signal;

use crate::exit::{error_line, EXIT_OWN_FAILURE};

/// Options of `serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Policy for every spawn; repeatable: each further file narrows the ones before.
    /// Without one every spawn is denied.
    #[arg(long, value_name = "FILE")]
    pub policy: Vec<PathBuf>,
    /// Append the audit log to PATH (`-` = standard error).
    #[arg(long, value_name = "PATH")]
    pub audit: Option<PathBuf>,
}

/// Runs `serve`: one request `{"id", "entrypoint", "payload"}` a line on stdin, one answer
/// `{"id", "ok" | "error"}` a line on stdout, in order. Empty lines are skipped. At end of
/// input (or a read error) every process still held is ended (TERM, grace, KILL, the tree)
/// and recorded. Returns 0, or 125 when the bridge cannot be made (bad policy, audit log).
pub fn main(args: ServeArgs) -> i32 {
    // Every spawn is made from this thread, which lives as long as `serve`: a held child
    // gets KILL if `serve` is killed before it can end it (`docs/serve.md`).
    let bridge = match Bridge::new(&args.policy, args.audit.as_deref()) {
        Ok(b) => b.with_parent_death_signal(Signal::KILL),
        Err(e) => {
            error_line(e.message);
            return EXIT_OWN_FAILURE;
        }
    };
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                error_line(format_args!("standard input: {e}"));
                break;
            }
        }
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let mut answer = bridge.serve_line(text);
        answer.push(b'\n');
        crate::output::stdout(&answer);
    }
    // Ends every held process, recorded, before we exit.
    drop(bridge);
    0
}
