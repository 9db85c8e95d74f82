//! `reml-process completions SHELL` and `reml-process man` are generated from the command's
//! own definitions: every option `run --help` lists appears in both, and each output is
//! well-formed for its consumer.

mod common;

use common::*;

/// The long options `reml-process run --help` lists.
fn run_options() -> Vec<String> {
    let out = reml().args(["run", "--help"]).output().unwrap();
    assert_eq!(code(&out), 0);
    let help = String::from_utf8(out.stdout).unwrap();
    let opts: Vec<String> = help
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.trim_end_matches(',').to_owned())
        .filter(|w| w != "--help")
        .collect();
    assert!(opts.len() >= 15, "{opts:?}");
    opts
}

#[test]
fn completions_name_every_option_for_every_shell() {
    let opts = run_options();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = reml().args(["completions", shell]).output().unwrap();
        assert_eq!(code(&out), 0, "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        for o in &opts {
            let bare = o.trim_start_matches('-');
            assert!(text.contains(bare), "{shell} completion lacks {o}");
        }
    }
    let out = reml().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(code(&out), 125);
    assert!(one_error_line(&out).contains("tcsh"));
}

#[test]
fn the_bash_completion_is_valid_bash() {
    if !have("bash") {
        skip(
            "the_bash_completion_is_valid_bash",
            "no bash on this machine",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reml-process.bash");
    let out = reml().args(["completions", "bash"]).output().unwrap();
    std::fs::write(&file, &out.stdout).unwrap();
    let status = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success(), "bash -n rejects the completion script");
}

#[test]
fn the_man_page_documents_every_subcommand_option_and_exit_status() {
    let out = reml().arg("man").output().unwrap();
    assert_eq!(code(&out), 0);
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.contains("\n.TH reml-process 1"),
        "a roff page: {}",
        &page[..page.len().min(80)]
    );
    for section in [
        "REML\\-PROCESS RUN",
        "REML\\-PROCESS VERIFY",
        "REML\\-PROCESS DESCRIBE",
        "REML\\-PROCESS AUDIT VERIFY",
        "EXIT STATUS",
    ] {
        assert!(page.contains(section), "section {section} missing");
    }
    for o in run_options() {
        let roff = o.replace('-', "\\-");
        assert!(page.contains(&roff), "the man page lacks {o}");
    }
    for status in ["124", "125", "126", "127", "128+N"] {
        assert!(
            page.contains(&format!("\\fB{status}\\fR")),
            "exit status {status}"
        );
    }
    // A flag shows no value name; an option shows its own.
    assert!(
        page.contains("\\fB\\-\\-collect\\fR\n"),
        "a flag takes no value"
    );
    assert!(page.contains("\\fB\\-\\-timeout\\fR \\fIDUR\\fR"));
    if have("man") {
        let mut child = std::process::Command::new("man")
            .args(["-l", "-"])
            .env("MANWIDTH", "80")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(page.as_bytes())
            .unwrap();
        let rendered = child.wait_with_output().unwrap();
        assert!(rendered.status.success());
        let text = String::from_utf8_lossy(&rendered.stdout);
        assert!(text.contains("--kill-after"), "{text}");
        assert!(
            rendered.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&rendered.stderr)
        );
    }
}
