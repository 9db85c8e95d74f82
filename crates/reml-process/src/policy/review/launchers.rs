//! The programs that defeat an allow-list (shells, interpreters, launchers, tools that run
//! commands from their arguments), recognised by name: [`launcher_kind`].

/// Why a shell defeats an allow-list.
const SHELL: &str = "a shell: it runs any command given in its arguments or on its input";
/// Why an interpreter does.
const INTERPRETER: &str = "an interpreter: it runs whatever code its arguments or input give it";
/// Why a launcher does.
const LAUNCHER: &str = "a launcher: it runs another program named in its arguments";
/// Why a tool with a command option does.
const TOOL: &str = "a tool that runs arbitrary commands through its arguments";
/// Why a program named like the supervisor does.
const SUPERVISOR: &str = "named like the reml-process supervisor, which runs any program named in its arguments under a policy of its caller's choosing";

/// Programs that defeat an allow-list: the name, why ([`SHELL`], …), and how when it takes
/// particular arguments (empty when the kind says it all). Severity: warning, by name
/// (see [`launcher_kind`]). Picked by what runs a program or code *from its arguments or
/// input*, the way a child of an allowed program would be told to.
const LAUNCHERS: &[(&str, &str, &str)] = &[
    ("sh", SHELL, ""),
    ("bash", SHELL, ""),
    ("rbash", SHELL, ""),
    ("dash", SHELL, ""),
    ("ash", SHELL, ""),
    ("zsh", SHELL, ""),
    ("fish", SHELL, ""),
    ("ksh", SHELL, ""),
    ("mksh", SHELL, ""),
    ("pdksh", SHELL, ""),
    ("oksh", SHELL, ""),
    ("csh", SHELL, ""),
    ("tcsh", SHELL, ""),
    ("yash", SHELL, ""),
    ("posh", SHELL, ""),
    ("elvish", SHELL, ""),
    ("nu", SHELL, ""),
    ("xonsh", SHELL, ""),
    ("pwsh", SHELL, ""),
    ("powershell", SHELL, ""),
    (
        "busybox",
        SHELL,
        "`busybox sh -c CMD`, and every other applet by name",
    ),
    (
        "toybox",
        SHELL,
        "`toybox sh -c CMD`, and every other applet by name",
    ),
    ("python", INTERPRETER, ""),
    ("pypy", INTERPRETER, ""),
    ("perl", INTERPRETER, ""),
    ("raku", INTERPRETER, ""),
    ("rakudo", INTERPRETER, ""),
    ("ruby", INTERPRETER, ""),
    ("irb", INTERPRETER, ""),
    ("jruby", INTERPRETER, ""),
    ("node", INTERPRETER, ""),
    ("nodejs", INTERPRETER, ""),
    ("deno", INTERPRETER, ""),
    ("bun", INTERPRETER, ""),
    ("qjs", INTERPRETER, ""),
    ("php", INTERPRETER, ""),
    ("php-cgi", INTERPRETER, ""),
    ("lua", INTERPRETER, ""),
    ("luajit", INTERPRETER, ""),
    ("tclsh", INTERPRETER, ""),
    ("wish", INTERPRETER, ""),
    ("expect", INTERPRETER, ""),
    ("guile", INTERPRETER, ""),
    ("racket", INTERPRETER, ""),
    ("sbcl", INTERPRETER, ""),
    ("clisp", INTERPRETER, ""),
    ("ocaml", INTERPRETER, ""),
    ("ghci", INTERPRETER, ""),
    ("runghc", INTERPRETER, ""),
    ("r", INTERPRETER, ""),
    ("rscript", INTERPRETER, ""),
    ("julia", INTERPRETER, ""),
    ("octave", INTERPRETER, ""),
    ("erl", INTERPRETER, ""),
    ("escript", INTERPRETER, ""),
    ("elixir", INTERPRETER, ""),
    ("iex", INTERPRETER, ""),
    ("swipl", INTERPRETER, ""),
    ("gforth", INTERPRETER, ""),
    ("java", INTERPRETER, ""),
    ("jshell", INTERPRETER, ""),
    ("groovy", INTERPRETER, ""),
    ("scala", INTERPRETER, ""),
    ("kotlin", INTERPRETER, ""),
    ("clojure", INTERPRETER, ""),
    ("bb", INTERPRETER, ""),
    ("dotnet", INTERPRETER, ""),
    ("mono", INTERPRETER, ""),
    ("awk", INTERPRETER, "`system(CMD)`, `print | CMD`"),
    ("gawk", INTERPRETER, "`system(CMD)`, `print | CMD`"),
    ("mawk", INTERPRETER, "`system(CMD)`, `print | CMD`"),
    ("nawk", INTERPRETER, "`system(CMD)`, `print | CMD`"),
    ("reml-process", SUPERVISOR, "`reml-process run -- PROGRAM`"),
    ("env", LAUNCHER, ""),
    ("xargs", LAUNCHER, ""),
    ("nohup", LAUNCHER, ""),
    ("sudo", LAUNCHER, ""),
    ("sudoedit", LAUNCHER, ""),
    ("su", LAUNCHER, "`-c CMD`"),
    ("doas", LAUNCHER, ""),
    ("pkexec", LAUNCHER, ""),
    ("runuser", LAUNCHER, ""),
    ("sg", LAUNCHER, "`sg GROUP CMD`"),
    ("newgrp", LAUNCHER, "a shell on its input"),
    ("setsid", LAUNCHER, ""),
    ("setpriv", LAUNCHER, ""),
    ("setarch", LAUNCHER, ""),
    ("linux32", LAUNCHER, ""),
    ("linux64", LAUNCHER, ""),
    ("capsh", LAUNCHER, "`capsh -- -c CMD`"),
    ("runcon", LAUNCHER, ""),
    ("nice", LAUNCHER, ""),
    ("ionice", LAUNCHER, ""),
    ("chrt", LAUNCHER, ""),
    ("taskset", LAUNCHER, ""),
    ("numactl", LAUNCHER, ""),
    ("prlimit", LAUNCHER, ""),
    ("cpulimit", LAUNCHER, ""),
    ("trickle", LAUNCHER, ""),
    ("cgexec", LAUNCHER, ""),
    ("timeout", LAUNCHER, ""),
    ("stdbuf", LAUNCHER, ""),
    ("unbuffer", LAUNCHER, ""),
    ("chroot", LAUNCHER, ""),
    ("unshare", LAUNCHER, ""),
    ("nsenter", LAUNCHER, ""),
    ("firejail", LAUNCHER, ""),
    ("bwrap", LAUNCHER, ""),
    ("proot", LAUNCHER, ""),
    ("fakeroot", LAUNCHER, ""),
    ("fakechroot", LAUNCHER, ""),
    ("eatmydata", LAUNCHER, ""),
    ("faketime", LAUNCHER, ""),
    ("torsocks", LAUNCHER, ""),
    ("proxychains", LAUNCHER, ""),
    ("flock", LAUNCHER, ""),
    ("script", LAUNCHER, "`-c CMD`"),
    ("screen", LAUNCHER, ""),
    ("tmux", LAUNCHER, "`new-session CMD`"),
    ("watch", LAUNCHER, ""),
    ("time", LAUNCHER, ""),
    ("hyperfine", LAUNCHER, ""),
    ("chronic", LAUNCHER, ""),
    ("ifne", LAUNCHER, ""),
    ("entr", LAUNCHER, ""),
    ("rlwrap", LAUNCHER, ""),
    ("parallel", LAUNCHER, ""),
    ("run-parts", LAUNCHER, ""),
    ("start-stop-daemon", LAUNCHER, ""),
    ("daemonize", LAUNCHER, ""),
    ("chpst", LAUNCHER, ""),
    ("softlimit", LAUNCHER, ""),
    ("setuidgid", LAUNCHER, ""),
    ("envdir", LAUNCHER, ""),
    ("envuidgid", LAUNCHER, ""),
    ("dbus-run-session", LAUNCHER, ""),
    ("dbus-launch", LAUNCHER, "`--exit-with-session PROGRAM`"),
    ("ssh-agent", LAUNCHER, "`ssh-agent PROGRAM`"),
    ("catchsegv", LAUNCHER, ""),
    ("strace", LAUNCHER, ""),
    ("ltrace", LAUNCHER, ""),
    ("uftrace", LAUNCHER, ""),
    ("valgrind", LAUNCHER, ""),
    (
        "perf",
        LAUNCHER,
        "`perf record -- PROGRAM`, `perf stat PROGRAM`",
    ),
    ("rr", LAUNCHER, "`rr record PROGRAM`"),
    ("gdb", LAUNCHER, "`--args PROGRAM`, `-ex 'shell CMD'`"),
    ("gdbserver", LAUNCHER, ""),
    ("lldb", LAUNCHER, "`-- PROGRAM`, `-o 'platform shell CMD'`"),
    ("systemd-run", LAUNCHER, ""),
    ("systemd-nspawn", LAUNCHER, ""),
    ("systemd-inhibit", LAUNCHER, ""),
    ("systemd-cat", LAUNCHER, ""),
    ("at", LAUNCHER, "commands on its input, run later"),
    ("batch", LAUNCHER, "commands on its input, run later"),
    ("docker", LAUNCHER, "`docker run IMAGE CMD`"),
    ("podman", LAUNCHER, "`podman run IMAGE CMD`"),
    ("find", TOOL, "`-exec CMD`, `-execdir CMD`, `-ok CMD`"),
    (
        "make",
        TOOL,
        "the recipes of its makefile, `-f FILE`, `--eval`",
    ),
    (
        "gmake",
        TOOL,
        "the recipes of its makefile, `-f FILE`, `--eval`",
    ),
    ("cmake", TOOL, "`-P SCRIPT`, `-E` commands"),
    ("ninja", TOOL, "the rules of `-f FILE`"),
    (
        "sed",
        TOOL,
        "GNU sed's `e` command and `s///e` flag run commands; `w FILE` writes any file",
    ),
    (
        "tar",
        TOOL,
        "`--to-command=CMD`, `-I CMD`, `--checkpoint-action=exec=CMD`, `--rsh-command=CMD`",
    ),
    ("rsync", TOOL, "`-e CMD`, `--rsync-path=CMD`"),
    (
        "git",
        TOOL,
        "`-c core.pager=CMD`, `-c alias.X='!CMD'`, `-c core.sshCommand=CMD`, `--upload-pack=CMD`",
    ),
    (
        "ssh",
        TOOL,
        "`-o ProxyCommand=CMD`, `-o LocalCommand=CMD`, a remote command",
    ),
    ("scp", TOOL, "`-S PROGRAM`, `-o ProxyCommand=CMD`"),
    (
        "sftp",
        TOOL,
        "`-S PROGRAM`, `-D PROGRAM`, `-o ProxyCommand=CMD`",
    ),
    ("zip", TOOL, "`-TT CMD`"),
    ("split", TOOL, "`--filter=CMD`"),
    ("sort", TOOL, "`--compress-program=PROGRAM`"),
    ("socat", TOOL, "`EXEC:CMD` and `SYSTEM:CMD` addresses"),
    ("nc", TOOL, "`-e PROGRAM`, `-c CMD`"),
    ("ncat", TOOL, "`-e PROGRAM`, `-c CMD`"),
    ("netcat", TOOL, "`-e PROGRAM`, `-c CMD`"),
    ("tcpdump", TOOL, "`-z PROGRAM`"),
    (
        "ip",
        TOOL,
        "`ip netns exec NAME PROGRAM`, `ip vrf exec NAME PROGRAM`",
    ),
    ("dc", TOOL, "`!CMD`"),
    ("m4", TOOL, "`syscmd(CMD)`, `esyscmd(CMD)`"),
    ("gnuplot", TOOL, "`system \"CMD\"`, `!CMD`"),
    ("sqlite3", TOOL, "`.shell CMD`, `.system CMD`"),
    ("psql", TOOL, "`\\! CMD`"),
    ("mysql", TOOL, "`\\! CMD`, `system CMD`"),
    ("cargo", TOOL, "`cargo run`, build scripts"),
    ("go", TOOL, "`go run`, `go generate`, `-toolexec=CMD`"),
    ("npm", TOOL, "package scripts, `npm exec`"),
    ("npx", TOOL, "`npx PROGRAM`"),
    ("pip", TOOL, "`pip install` runs a package's build code"),
    ("vi", TOOL, "`-c '!CMD'`, `:!CMD`"),
    ("vim", TOOL, "`-c '!CMD'`, `:!CMD`"),
    ("nvim", TOOL, "`-c '!CMD'`, `:!CMD`"),
    ("view", TOOL, "`-c '!CMD'`, `:!CMD`"),
    ("vimdiff", TOOL, "`-c '!CMD'`, `:!CMD`"),
    ("ed", TOOL, "`!CMD`"),
    ("ex", TOOL, "`!CMD`"),
    ("emacs", TOOL, "`--eval EXPR`, `-l FILE`"),
    ("nano", TOOL, "its execute-command key (^T)"),
    ("less", TOOL, "`+!CMD`, `!CMD`, `LESSOPEN`"),
    ("more", TOOL, "`!CMD`"),
    ("man", TOOL, "`-P PAGER`, `--html=BROWSER`"),
];

/// What [`launcher_kind`] knows of a program that defeats an allow-list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Launcher {
    /// The listed name it matched (`python` for `python3.11`; `ld.so` for the loader).
    pub name: &'static str,
    /// Why, e.g. `a shell: it runs any command given in its arguments or on its input`.
    pub why: &'static str,
    /// How, when it takes particular arguments (`` `-exec CMD`, `-execdir CMD` ``); empty
    /// when [`why`](Self::why) says it all.
    pub how: &'static str,
}

/// Why `name` (a file name, no directory) is a shell, interpreter, launcher or
/// command-running tool, or `None`.
///
/// Matches a listed name exactly or followed by a version suffix of digits and dots
/// (`python3.11`, `lua5.4`, `ksh93`, `perl5.36.0`), case-insensitively; also the dynamic
/// loader (`ld-linux*.so*`, `ld-musl-*`, `ld.so*`), which runs any binary given as its
/// argument. The list is a heuristic by name (see the module caveats); the supervisor itself
/// is recognised by identity too ([`supervisor`](crate::policy::supervisor)).
pub fn launcher_kind(name: &str) -> Option<Launcher> {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("ld-linux") || lower.starts_with("ld-musl-") || lower.starts_with("ld.so")
    {
        return Some(Launcher {
            name: "ld.so",
            why: "the dynamic loader: it runs any program given as its argument",
            how: "",
        });
    }
    LAUNCHERS.iter().find_map(|&(n, why, how)| {
        let rest = lower.strip_prefix(n)?;
        rest.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.')
            .then_some(Launcher { name: n, why, how })
    })
}
