//! The orphan reaper: one library thread that reaps children whose handles were released (or
//! whose capability was dropped) while they were still running, so no zombie piles up.
//!
//! Started lazily on the first orphan. It waits on every orphan's pidfd with one `epoll`
//! instance; orphans without a pidfd (kernels before 5.2) are polled every 100 ms.
//!
//! Linux only (`epoll`, `eventfd`); the unsupported backend's twin adopts nothing, since no
//! child can be spawned there.

use std::os::fd::AsFd;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::sync::{Mutex, OnceLock};

use rustix::event::epoll;

use super::process as sys;

/// How often orphans without a pidfd are polled: 100 ms.
const POLL_INTERVAL: rustix::event::Timespec = rustix::event::Timespec {
    tv_sec: 0,
    tv_nsec: 100_000_000,
};

struct Reaper {
    tx: Mutex<Sender<Arc<sys::Spawned>>>,
    wake: rustix::fd::OwnedFd,
}

static REAPER: OnceLock<Option<Reaper>> = OnceLock::new();

/// Takes ownership of a child that nobody will wait for, and reaps it when it ends.
pub(crate) fn adopt(child: Arc<sys::Spawned>) {
    // Fast path: it may have ended already.
    if matches!(sys::try_reap(&child), Ok(Some(_)) | Err(_)) {
        return;
    }
    let reaper = REAPER.get_or_init(start);
    match reaper {
        Some(r) => {
            let sent = r.tx.lock().unwrap_or_else(|p| p.into_inner()).send(child);
            if sent.is_ok() {
                let _ = rustix::io::write(&r.wake, &1u64.to_ne_bytes());
            }
        }
        None => {
            // No reaper thread could be started: the child stays unreaped until this process
            // exits (the kernel then hands it to init). Nothing better is possible here.
        }
    }
}

fn start() -> Option<Reaper> {
    let wake = rustix::event::eventfd(
        0,
        rustix::event::EventfdFlags::CLOEXEC | rustix::event::EventfdFlags::NONBLOCK,
    )
    .ok()?;
    let wake_thread = wake.try_clone().ok()?;
    let (tx, rx) = channel();
    std::thread::Builder::new()
        .name("reml-reaper".into())
        .spawn(move || run(wake_thread, rx))
        .ok()?;
    Some(Reaper {
        tx: Mutex::new(tx),
        wake,
    })
}

fn run(wake: rustix::fd::OwnedFd, rx: Receiver<Arc<sys::Spawned>>) {
    let Ok(ep) = epoll::create(epoll::CreateFlags::CLOEXEC) else {
        return;
    };
    let _ = epoll::add(
        &ep,
        &wake,
        epoll::EventData::new_u64(u64::MAX),
        epoll::EventFlags::IN,
    );
    let mut orphans: Vec<Option<Arc<sys::Spawned>>> = Vec::new();
    let mut events = Vec::with_capacity(64);
    loop {
        while let Ok(child) = rx.try_recv() {
            let idx = orphans.iter().position(Option::is_none).unwrap_or_else(|| {
                orphans.push(None);
                orphans.len() - 1
            });
            if let Some(fd) = &child.pidfd {
                let _ = epoll::add(
                    &ep,
                    fd.as_fd(),
                    epoll::EventData::new_u64(idx as u64),
                    epoll::EventFlags::IN,
                );
            }
            orphans[idx] = Some(child);
        }
        // Reap whatever has ended (cheap WNOHANG per orphan).
        for slot in orphans.iter_mut() {
            let done = match slot {
                Some(child) => matches!(sys::try_reap(child), Ok(Some(_)) | Err(_)),
                None => false,
            };
            if done {
                if let Some(child) = slot.take() {
                    if let Some(fd) = &child.pidfd {
                        let _ = epoll::delete(&ep, fd);
                    }
                }
            }
        }
        let polling = orphans
            .iter()
            .any(|o| o.as_ref().is_some_and(|c| c.pidfd.is_none()));
        let timeout = polling.then_some(POLL_INTERVAL);
        events.clear();
        let _ = epoll::wait(
            &ep,
            rustix::buffer::spare_capacity(&mut events),
            timeout.as_ref(),
        );
        let mut buf = [0u8; 8];
        let _ = rustix::io::read(&wake, &mut buf);
    }
}
