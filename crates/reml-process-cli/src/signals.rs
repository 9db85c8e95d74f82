//! Signal set-up of `run` (contract.md §1, "a well-mannered supervisor"): forwarding the
//! signals it receives to its child, and a default `SIGCHLD`.
//!
//! # `SIGCHLD`
//! A `SIGCHLD` disposition of "ignore" (or `SA_NOCLDWAIT`) inherited from our parent makes
//! the kernel reap our child by itself, even though the library creates it with exit signal
//! 0 (observed on Linux 6.18): the wait then fails with `ECHILD` and the exit status is
//! lost. `run` never needs that disposition, so [`install`] puts `SIGCHLD` back to its
//! default first; the child gets default dispositions from the library anyway.
//!
//! # Forwarding
//!
//! `HUP`, `INT`, `QUIT`, `TERM`, `ALRM`, `USR1` and `USR2` sent to `run` while its child runs
//! are passed on — to the child's whole process group when it leads one (the default), to the
//! child alone under `--no-new-group` — and `run` then exits with the child's status as usual
//! (143 for a forwarded `TERM` that ends it). Without this, `run` would die of the signal and
//! leave its child running in its own group: Ctrl-C at a terminal, `kill RUN_PID`, or an
//! outer `timeout`/`run` would orphan the job.
//!
//! # Mechanism
//! [`install`] blocks the signals in the calling thread, which must be the main thread before
//! any other thread exists, so every thread the process creates later inherits the mask; one
//! dedicated thread takes them with `sigwait(3)`, so no code runs in signal context. The
//! library's spawn gives the child an empty mask and default dispositions, so the child does
//! not inherit the block. Signals go through the capability (`kill_process` /
//! `kill_process_group` on the handle), so a reaped or released child is never confused with
//! another process: a signal for a handle that is gone is dropped.
//!
//! A signal that arrives before the child exists is kept and sent as soon as it does. One
//! that arrives after the child has ended (while `run` prints its report) ends `run` itself
//! by that signal, as it would without forwarding.
//!
//! A signal `run` inherited as ignored (`nohup`, or `INT`/`QUIT` of a background job in a
//! non-interactive shell) is left alone: it is neither forwarded nor taken from its ignored
//! state, so the convention that such a job survives the terminal's signals still holds.
//!
//! # References
//! `pthread_sigmask(3)`, `sigwait(3)`, coreutils `timeout` (which forwards the same way).
#![allow(unsafe_code)]

use std::sync::{Arc, Mutex, MutexGuard};

use reml_process::{ProcessCapability, ProcessHandle, Signal};

/// The signals `run` forwards to its child (contract.md §1).
pub const FORWARDED: [Signal; 7] = [
    Signal::HUP,
    Signal::INT,
    Signal::QUIT,
    Signal::TERM,
    Signal::ALRM,
    Signal::USR1,
    Signal::USR2,
];

enum State {
    /// No child yet: signals received so far, to send when it exists.
    Before(Vec<Signal>),
    /// The child runs (or has ended but is not released yet).
    Running(Arc<dyn ProcessCapability>, ProcessHandle),
    /// The child is gone; a signal now ends `run` itself.
    After,
}

struct Shared {
    group: bool,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn send(&self, cap: &dyn ProcessCapability, handle: ProcessHandle, signal: Signal) {
        // Errors mean the child is gone (or its handle released): nothing left to signal.
        let _ = if self.group {
            cap.kill_process_group(handle, signal)
        } else {
            cap.kill_process(handle, signal)
        };
    }
}

/// The forwarding set up by [`install`]; tell it when the child starts and when it is gone.
pub struct Forwarder {
    shared: Arc<Shared>,
}

impl Forwarder {
    /// The child exists: forward to `handle` (of `cap`) from now on, and send what arrived
    /// before.
    pub fn started(&self, cap: Arc<dyn ProcessCapability>, handle: ProcessHandle) {
        let mut state = self.shared.lock();
        let running = State::Running(Arc::clone(&cap), handle);
        if let State::Before(pending) = std::mem::replace(&mut *state, running) {
            for signal in pending {
                self.shared.send(&*cap, handle, signal);
            }
        }
    }

    /// The child has ended and its handle is released: stop forwarding.
    pub fn finished(&self) {
        *self.shared.lock() = State::After;
    }
}

/// Restores the default `SIGCHLD`, blocks [`FORWARDED`] in the calling thread and starts
/// the thread that forwards them to the child, to its process group when `group` is true.
///
/// Call it from the main thread before any other thread exists, so before building the
/// capability (a thread started earlier does not block these signals, and one delivered to it
/// would end the process).
///
/// # Errors
/// The OS error of `pthread_sigmask` or of creating the thread; the mask is restored then.
pub fn install(group: bool) -> std::io::Result<Forwarder> {
    default_sigchld();
    let set = signal_set();
    let mut old = empty_set();
    // SAFETY: `set` and `old` are initialised sigset_t values that live across the call.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old) };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc));
    }
    let shared = Arc::new(Shared {
        group,
        state: Mutex::new(State::Before(Vec::new())),
    });
    let worker = Arc::clone(&shared);
    let spawned = std::thread::Builder::new()
        .name("rp-signals".into())
        .spawn(move || forward_loop(&worker, set));
    if let Err(e) = spawned {
        // SAFETY: restores the mask saved above; `old` is an initialised sigset_t.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
        return Err(e);
    }
    Ok(Forwarder { shared })
}

fn forward_loop(shared: &Shared, set: libc::sigset_t) {
    loop {
        let mut number: libc::c_int = 0;
        // SAFETY: `set` is an initialised sigset_t whose signals are blocked in every thread
        // (blocked in main before this thread was created, and inherited); `number` is a
        // valid out pointer.
        if unsafe { libc::sigwait(&set, &mut number) } != 0 {
            continue;
        }
        let Ok(signal) = Signal::new(number) else {
            continue;
        };
        let mut state = shared.lock();
        match &mut *state {
            State::Before(pending) => pending.push(signal),
            State::Running(cap, handle) => {
                let (cap, handle) = (Arc::clone(cap), *handle);
                drop(state);
                shared.send(&*cap, handle, signal);
            }
            State::After => die_of(number),
        }
    }
}

/// Ends the process by `number` with its default action (all forwarded signals terminate).
fn die_of(number: libc::c_int) -> ! {
    let mut one = empty_set();
    // SAFETY: restoring the default disposition of a catchable signal, unblocking it in this
    // thread only, then raising it on this thread: the default action ends the process.
    unsafe {
        libc::signal(number, libc::SIG_DFL);
        libc::sigaddset(&mut one, number);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &one, std::ptr::null_mut());
        libc::raise(number);
    }
    // Only reached if the signal did not end us (it cannot for these signals).
    std::process::exit(128 + number);
}

/// Puts `SIGCHLD` back to its default disposition (no `SIG_IGN`, no `SA_NOCLDWAIT`), so the
/// kernel keeps our child's exit status for our wait.
fn default_sigchld() {
    // SAFETY: a query into a zeroed, plain-data sigaction, then installing SIG_DFL; neither
    // has memory-safety preconditions.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut old) == 0
            && (old.sa_sigaction == libc::SIG_IGN || old.sa_flags & libc::SA_NOCLDWAIT != 0)
        {
            libc::signal(libc::SIGCHLD, libc::SIG_DFL);
        }
    }
}

fn empty_set() -> libc::sigset_t {
    // SAFETY: sigemptyset fully initialises the set it is given; zeroed memory is a valid
    // starting value for the plain-data sigset_t.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        set
    }
}

/// [`FORWARDED`] minus the signals whose disposition is "ignore".
fn signal_set() -> libc::sigset_t {
    let mut set = empty_set();
    for signal in FORWARDED {
        // SAFETY: a query only (null new action) into a zeroed, plain-data sigaction that
        // the call fills; `set` is initialised and every number in FORWARDED is valid.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal.number(), std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
            {
                continue;
            }
            libc::sigaddset(&mut set, signal.number());
        }
    }
    set
}
