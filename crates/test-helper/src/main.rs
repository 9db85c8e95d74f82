//! `rp-helper`: small programs the test suite spawns, so tests do not depend on what a
//! machine happens to have. One subcommand per behaviour:
//!
//! | subcommand | does |
//! |---|---|
//! | `exit N` | exits with code N |
//! | `sleep SECS` | sleeps (decimal seconds) then exits 0 |
//! | `fds` | prints its open descriptor numbers, space-separated |
//! | `sigstate` | prints `blocked=HEX ignored=HEX` from /proc/self/status (note: the Rust runtime ignores SIGPIPE at start) |
//! | `cat` | copies stdin to stdout |
//! | `out N [err]` | writes N bytes of `x` to stdout (or stderr), then exits 0 |
//! | `ids` | prints `pid=P pgid=G sid=S ppid=Q` |
//! | `env` | prints the environment, one `K=V` a line |
//! | `pwd` | prints the working directory |
//! | `kill-self SIG` | sends itself signal SIG (number) |
//! | `rlimit NAME` | prints `soft hard` of RLIMIT_NAME (cpu, as, nofile, core) |
//! | `ignore-term SECS` | ignores SIGTERM, prints `ready`, sleeps |
//! | `tree N SECS` | forks N grandchildren that sleep SECS, prints their pids, sleeps SECS |
//! | `setsid-child SECS` | forks a child that calls setsid() and sleeps; prints its pid; sleeps |
//! | `double-fork SECS` | daemon style: forks a child that forks a grandchild and exits at once; the grandchild calls setsid(), prints its pid, moves its stdio to /dev/null and sleeps SECS; the original process reaps the child and sleeps SECS |
//! | `fg` | prints `foreground` when its process group is the foreground group of the terminal on stdin, `background` when not, `no-tty` without one |
//! | `spin` | burns CPU forever |
//! | `echo ARGS…` | prints its arguments joined by spaces |
//! | `read-fd N LEN` | prints LEN bytes read at offset 0 of descriptor N (`pread`) |
//! | `pidns -- PROG ARGS…` | runs PROG as pid 2 of a new pid namespace with its own /proc, so its process group and session (ours) have no number there: `getpgrp()` and `getsid(0)` return 0, as under a CI runner's or a container's pid namespace. Without the privilege for a pid namespace it makes a user namespace too; when neither can be made but our own group is already invisible, PROG runs directly; otherwise it exits 97. Exits with PROG's code, or 128+N when PROG died of signal N |
//! | `with-rlimits NAME=SOFT:HARD,… -- PROG ARGS…` | sets its own limits (`cpu`, `as`, `nofile`, `core`; a number or `unlimited`) with `setrlimit`, then execs PROG, which inherits them: a host with lower limits |
//! | `no-userns -- PROG ARGS…` | enters a new user namespace (our uid and gid mapped to 0 inside) whose limit of further user namespaces is 0 (`/proc/sys/user/max_user_namespaces`), then execs PROG: a host where user namespaces are switched off. Exits 97 when the namespace cannot be made |
//! | `hidden-proc -- PROG ARGS…` | enters a new mount namespace (with a user namespace when not root) and mounts an empty tmpfs over `/proc/sys`, then execs PROG: a host whose `/proc` is partly hidden, as in many containers, where a new user namespace may not mount a procfs. Exits 97 when that cannot be set up |
//! | `with-signals IGN BLOCK -- PROG ARGS…` | sets the comma-separated signal numbers IGN to "ignore" and blocks BLOCK (`-` for none), then execs PROG |
//! | `default-signals -- PROG ARGS…` | puts every signal back to its default disposition and unblocks all, then execs PROG: a caller that ignores nothing, whatever the test run itself inherited (a background job of a non-interactive shell ignores `INT` and `QUIT`) |

use std::io::{Read, Write};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    match a(0) {
        "exit" => std::process::exit(a(1).parse().unwrap_or(0)),
        "sleep" => sleep(a(1)),
        "fds" => {
            let mut fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
                .expect("read /proc/self/fd")
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect();
            fds.sort();
            // One of them is the directory descriptor read_dir used; it is closed now.
            fds.retain(|fd| std::fs::read_link(format!("/proc/self/fd/{fd}")).is_ok());
            let s: Vec<String> = fds.iter().map(|f| f.to_string()).collect();
            println!("{}", s.join(" "));
        }
        "sigstate" => {
            let status = std::fs::read_to_string("/proc/self/status").expect("status");
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(|v| v.trim().to_owned())
                    .unwrap_or_default()
            };
            println!("blocked={} ignored={}", field("SigBlk:"), field("SigIgn:"));
        }
        "cat" => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).expect("read stdin");
            std::io::stdout().write_all(&buf).expect("write stdout");
        }
        "out" => {
            let n: usize = a(1).parse().unwrap_or(0);
            let chunk = vec![b'x'; 64 * 1024];
            let mut left = n;
            let mut sink: Box<dyn Write> = if a(2) == "err" {
                Box::new(std::io::stderr())
            } else {
                Box::new(std::io::stdout())
            };
            while left > 0 {
                let k = left.min(chunk.len());
                sink.write_all(&chunk[..k]).expect("write");
                left -= k;
            }
        }
        "ids" => {
            // SAFETY: getpid/getpgid/getsid/getppid have no preconditions.
            let (pid, pgid, sid, ppid) = unsafe {
                (
                    libc::getpid(),
                    libc::getpgid(0),
                    libc::getsid(0),
                    libc::getppid(),
                )
            };
            println!("pid={pid} pgid={pgid} sid={sid} ppid={ppid}");
        }
        "env" => {
            for (k, v) in std::env::vars_os() {
                println!("{}={}", k.to_string_lossy(), v.to_string_lossy());
            }
        }
        "pwd" => println!("{}", std::env::current_dir().unwrap().display()),
        "kill-self" => {
            let sig: i32 = a(1).parse().unwrap_or(9);
            // SAFETY: raising a signal on ourselves.
            unsafe {
                libc::kill(libc::getpid(), sig);
            }
            sleep("5");
            std::process::exit(99);
        }
        "rlimit" => {
            let res = rlimit_resource(a(1));
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: valid out pointer.
            unsafe { libc::getrlimit(res, &mut lim) };
            let show = |v: libc::rlim_t| {
                if v == libc::RLIM_INFINITY {
                    "unlimited".to_owned()
                } else {
                    v.to_string()
                }
            };
            println!("{} {}", show(lim.rlim_cur), show(lim.rlim_max));
        }
        "ignore-term" => {
            // SAFETY: setting a disposition.
            unsafe {
                libc::signal(libc::SIGTERM, libc::SIG_IGN);
            }
            println!("ready");
            let _ = std::io::stdout().flush();
            sleep(a(1));
        }
        "tree" => {
            let n: usize = a(1).parse().unwrap_or(1);
            let mut pids = Vec::new();
            for _ in 0..n {
                // SAFETY: fork in a single-threaded helper; the child only sleeps and exits.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    sleep(a(2));
                    std::process::exit(0);
                }
                pids.push(pid.to_string());
            }
            println!("{}", pids.join(" "));
            let _ = std::io::stdout().flush();
            sleep(a(2));
        }
        "setsid-child" => {
            // SAFETY: as above.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                // SAFETY: setsid in the child.
                unsafe { libc::setsid() };
                sleep(a(1));
                std::process::exit(0);
            }
            println!("{pid}");
            let _ = std::io::stdout().flush();
            sleep(a(1));
        }
        "double-fork" => {
            // SAFETY: fork in a single-threaded helper; each child only makes system calls,
            // prints with std (no lock is held across fork: we are single-threaded) and exits.
            let child = unsafe { libc::fork() };
            if child == 0 {
                // SAFETY: as above.
                let grandchild = unsafe { libc::fork() };
                if grandchild == 0 {
                    // SAFETY: setsid/getpid/open/dup2 in the grandchild, plain values only.
                    unsafe {
                        libc::setsid();
                        println!("{}", libc::getpid());
                        let _ = std::io::stdout().flush();
                        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                        for fd in 0..3 {
                            libc::dup2(null, fd);
                        }
                    }
                    sleep(a(1));
                    std::process::exit(0);
                }
                // SAFETY: _exit without running destructors, as a daemonizing parent does.
                unsafe { libc::_exit(0) };
            }
            // SAFETY: waiting for our own child with a valid status pointer.
            unsafe {
                let mut status = 0;
                libc::waitpid(child, &mut status, 0);
            }
            sleep(a(1));
        }
        "fg" => {
            // SAFETY: isatty/tcgetpgrp/getpgrp on descriptor 0; no memory is passed.
            let answer = unsafe {
                if libc::isatty(0) == 0 {
                    "no-tty"
                } else if libc::tcgetpgrp(0) == libc::getpgrp() {
                    "foreground"
                } else {
                    "background"
                }
            };
            println!("{answer}");
        }
        "spin" => {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        "echo" => println!("{}", args[1..].join(" ")),
        "read-fd" => {
            let fd: i32 = a(1).parse().expect("fd number");
            let len: usize = a(2).parse().expect("length");
            let mut buf = vec![0u8; len];
            // SAFETY: pread into a live buffer of `len` bytes.
            let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), len, 0) };
            if n < 0 {
                eprintln!(
                    "rp-helper: read fd {fd}: {}",
                    std::io::Error::last_os_error()
                );
                std::process::exit(1);
            }
            buf.truncate(n as usize);
            std::io::stdout().write_all(&buf).expect("write");
        }
        "with-signals" => {
            let list =
                |s: &str| -> Vec<i32> { s.split(',').filter_map(|x| x.parse().ok()).collect() };
            assert_eq!(a(3), "--", "usage: with-signals IGN BLOCK -- PROG ARGS");
            // SAFETY: single-threaded helper changing its own dispositions and mask before
            // exec; the sigset is initialised by sigemptyset.
            unsafe {
                for sig in list(a(1)) {
                    libc::signal(sig, libc::SIG_IGN);
                }
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                for sig in list(a(2)) {
                    libc::sigaddset(&mut set, sig);
                }
                libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            }
            // std's exec would reset the mask; execvp keeps it, as a careless host would.
            exec_or_127(&args[4..]);
        }
        "default-signals" => {
            assert_eq!(a(1), "--", "usage: default-signals -- PROG ARGS");
            // SAFETY: single-threaded helper changing its own dispositions and mask before
            // exec; `signal` fails harmlessly (EINVAL) for KILL, STOP and the numbers glibc
            // keeps for itself; the sigset is initialised by sigemptyset.
            unsafe {
                for sig in 1..=libc::SIGRTMAX() {
                    libc::signal(sig, libc::SIG_DFL);
                }
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            }
            exec_or_127(&args[2..]);
        }
        "with-rlimits" => {
            assert_eq!(
                a(2),
                "--",
                "usage: with-rlimits NAME=SOFT:HARD,… -- PROG ARGS"
            );
            for spec in a(1).split(',') {
                let (name, values) = spec.split_once('=').expect("NAME=SOFT:HARD");
                let (soft, hard) = values.split_once(':').expect("SOFT:HARD");
                let value = |v: &str| {
                    if v == "unlimited" {
                        libc::RLIM_INFINITY
                    } else {
                        v.parse().expect("a number or `unlimited`")
                    }
                };
                let lim = libc::rlimit {
                    rlim_cur: value(soft),
                    rlim_max: value(hard),
                };
                // SAFETY: setrlimit on ourselves with an initialised struct.
                if unsafe { libc::setrlimit(rlimit_resource(name), &lim) } != 0 {
                    eprintln!(
                        "rp-helper: setrlimit {spec}: {}",
                        std::io::Error::last_os_error()
                    );
                    std::process::exit(97);
                }
            }
            // Limits survive exec (std's exec does not touch them).
            let err = std::os::unix::process::CommandExt::exec(
                std::process::Command::new(&args[3]).args(&args[4..]),
            );
            eprintln!("rp-helper: exec {}: {err}", args[3]);
            std::process::exit(127);
        }
        "pidns" => {
            assert_eq!(a(1), "--", "usage: pidns -- PROG ARGS");
            // SAFETY: unshare(2) takes flags only; this helper is single-threaded, as
            // CLONE_NEWNS requires.
            let made = unsafe { libc::unshare(libc::CLONE_NEWPID | libc::CLONE_NEWNS) } == 0
                || unshare_in_user_namespace();
            if !made {
                let err = std::io::Error::last_os_error();
                if test_helper::own_pgrp() == 0 {
                    exit_like(
                        std::process::Command::new(&args[2])
                            .args(&args[3..])
                            .status(),
                    );
                }
                eprintln!("rp-helper: pidns: unshare: {err}");
                std::process::exit(97);
            }
            // The next child is pid 1 of the new namespace: it mounts its /proc and runs PROG.
            let me = std::env::current_exe().expect("current_exe");
            exit_like(
                std::process::Command::new(me)
                    .arg("pidns-init")
                    .args(&args[1..])
                    .status(),
            );
        }
        "no-userns" => {
            assert_eq!(a(1), "--", "usage: no-userns -- PROG ARGS");
            // SAFETY: unshare(2) takes flags only; this helper is single-threaded, as
            // CLONE_NEWUSER requires.
            let (uid, gid, made) = unsafe {
                let (uid, gid) = (libc::getuid(), libc::getgid());
                (uid, gid, libc::unshare(libc::CLONE_NEWUSER) == 0)
            };
            let ready = made
                && std::fs::write("/proc/self/setgroups", "deny").is_ok()
                && std::fs::write("/proc/self/uid_map", format!("0 {uid} 1")).is_ok()
                && std::fs::write("/proc/self/gid_map", format!("0 {gid} 1")).is_ok()
                && std::fs::write("/proc/sys/user/max_user_namespaces", "0").is_ok();
            if !ready {
                eprintln!("rp-helper: no-userns: {}", std::io::Error::last_os_error());
                std::process::exit(97);
            }
            exec(&args[2..]);
        }
        "hidden-proc" => {
            assert_eq!(a(1), "--", "usage: hidden-proc -- PROG ARGS");
            // SAFETY: unshare(2) takes flags only (single-threaded helper); mount(2) with
            // NUL-terminated literals, after making our copy of the mounts private so
            // nothing reaches the host.
            let ready = unsafe {
                let root = libc::getuid() == 0;
                let (uid, gid) = (libc::getuid(), libc::getgid());
                let flags = if root {
                    libc::CLONE_NEWNS
                } else {
                    libc::CLONE_NEWNS | libc::CLONE_NEWUSER
                };
                libc::unshare(flags) == 0
                    && (root
                        || (std::fs::write("/proc/self/setgroups", "deny").is_ok()
                            && std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1"))
                                .is_ok()
                            && std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1"))
                                .is_ok()))
                    && libc::mount(
                        std::ptr::null(),
                        c"/".as_ptr(),
                        std::ptr::null(),
                        libc::MS_REC | libc::MS_PRIVATE,
                        std::ptr::null(),
                    ) == 0
                    && libc::mount(
                        c"none".as_ptr(),
                        c"/proc/sys".as_ptr(),
                        c"tmpfs".as_ptr(),
                        0,
                        std::ptr::null(),
                    ) == 0
            };
            if !ready {
                eprintln!(
                    "rp-helper: hidden-proc: {}",
                    std::io::Error::last_os_error()
                );
                std::process::exit(97);
            }
            exec(&args[2..]);
        }
        "pidns-init" => {
            // SAFETY: mount(2) with NUL-terminated literals; the namespace's mounts are made
            // private first so the new /proc does not propagate to the host's.
            unsafe {
                let none = std::ptr::null::<libc::c_char>();
                if libc::mount(
                    none,
                    c"/".as_ptr(),
                    none,
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) != 0
                    || libc::mount(
                        c"proc".as_ptr(),
                        c"/proc".as_ptr(),
                        c"proc".as_ptr(),
                        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                        std::ptr::null(),
                    ) != 0
                {
                    eprintln!(
                        "rp-helper: pidns: mount /proc: {}",
                        std::io::Error::last_os_error()
                    );
                    std::process::exit(97);
                }
            }
            #[allow(
                clippy::zombie_processes,
                reason = "reaped below by waitpid(-1), which as pid 1 also reaps every orphan"
            )]
            let child = std::process::Command::new(&args[2])
                .args(&args[3..])
                .spawn()
                .expect("spawn the program");
            // As pid 1 we adopt every orphan of the namespace: reap them all until PROG ends.
            loop {
                let mut status = 0;
                // SAFETY: waitpid(2) writes the status into a local.
                let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
                if pid == child.id() as i32 {
                    if libc::WIFEXITED(status) {
                        std::process::exit(libc::WEXITSTATUS(status));
                    }
                    std::process::exit(128 + libc::WTERMSIG(status));
                }
                if pid < 0 {
                    std::process::exit(97);
                }
            }
        }
        other => {
            eprintln!("rp-helper: unknown subcommand `{other}`");
            std::process::exit(2);
        }
    }
}

/// Without the privilege for a pid namespace (`EPERM`: no `CAP_SYS_ADMIN`), a user namespace
/// gives it: new user, pid and mount namespaces in one call, our uid and gid mapped to 0
/// inside. `false` (errno set) when that is refused too.
fn unshare_in_user_namespace() -> bool {
    // SAFETY: getuid/getgid have no preconditions; unshare(2) takes flags only and this
    // helper is single-threaded, as CLONE_NEWUSER requires.
    let (uid, gid, made) = unsafe {
        let (uid, gid) = (libc::getuid(), libc::getgid());
        let flags = libc::CLONE_NEWUSER | libc::CLONE_NEWPID | libc::CLONE_NEWNS;
        (uid, gid, libc::unshare(flags) == 0)
    };
    made && std::fs::write("/proc/self/setgroups", "deny").is_ok()
        && std::fs::write("/proc/self/uid_map", format!("0 {uid} 1")).is_ok()
        && std::fs::write("/proc/self/gid_map", format!("0 {gid} 1")).is_ok()
}

/// Replaces this process with `argv[0]` and its arguments; exits 97 when exec fails.
fn exec(argv: &[String]) -> ! {
    use std::os::unix::process::CommandExt;
    let err = std::process::Command::new(&argv[0]).args(&argv[1..]).exec();
    eprintln!("rp-helper: exec {}: {err}", argv[0]);
    std::process::exit(97)
}

/// Exits the way a finished child did: its code, or 128+N for death by signal N.
fn exit_like(status: std::io::Result<std::process::ExitStatus>) -> ! {
    use std::os::unix::process::ExitStatusExt;
    let status = status.expect("run the program");
    std::process::exit(
        status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
    )
}

fn sleep(secs: &str) {
    let s: f64 = secs.parse().unwrap_or(0.0);
    std::thread::sleep(Duration::from_secs_f64(s));
}

/// The type of an `RLIMIT_*` number (glibc has its own).
#[cfg(target_env = "gnu")]
type RlimitResource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
type RlimitResource = libc::c_int;

/// The `RLIMIT_*` number of a short name (`cpu`, `as`, `nofile`, `core`).
fn rlimit_resource(name: &str) -> RlimitResource {
    match name {
        "cpu" => libc::RLIMIT_CPU,
        "as" => libc::RLIMIT_AS,
        "nofile" => libc::RLIMIT_NOFILE,
        "core" => libc::RLIMIT_CORE,
        other => panic!("unknown rlimit {other}"),
    }
}

/// `execvp(argv[0], argv)`, keeping this process's signal mask and dispositions (std's exec
/// would reset the mask); exits 127 with a message when the exec fails.
fn exec_or_127(argv: &[String]) -> ! {
    let c: Vec<std::ffi::CString> = argv
        .iter()
        .map(|s| std::ffi::CString::new(s.as_str()).unwrap())
        .collect();
    let mut ptrs: Vec<*const libc::c_char> = c.iter().map(|s| s.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: NUL-terminated strings and a NULL-terminated array that outlive the call.
    unsafe { libc::execvp(ptrs[0], ptrs.as_ptr()) };
    eprintln!(
        "rp-helper: exec {}: {}",
        argv.first().map(String::as_str).unwrap_or(""),
        std::io::Error::last_os_error()
    );
    std::process::exit(127);
}
