//! Thread names (spec §4 `ThreadOptions.name`), including names longer than Linux's
//! 15 bytes.
//!
//! Documented outcome: the OS name is the longest prefix of at most 15 bytes that ends on a
//! character boundary; the handle keeps the full name. NUL and empty names are errors.
#![cfg(target_os = "linux")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use reml_process::thread::{
    NativeThreadCapability, OsThreadState, ThreadCapability, ThreadOptions, ThreadStart,
};
use reml_process::ThreadErrorKind;

/// What the thread itself saw: the kernel's name (from /proc/self/task/TID/comm) and Rust's.
fn names_seen_by_thread(name: &str) -> (String, Option<String>, reml_process::ThreadInfo) {
    let cap = NativeThreadCapability::new();
    let (tx, rx) = mpsc::channel();
    let h = cap
        .create_thread(
            ThreadStart::new(move |_| {
                let os = OsThreadState::current()?;
                let rust = std::thread::current().name().map(str::to_owned);
                tx.send((os.name, rust)).unwrap();
                Ok(())
            }),
            ThreadOptions::default().with_name(name),
        )
        .unwrap();
    let info = cap.thread_info(h).unwrap();
    cap.join_thread(h, None).unwrap().result.unwrap();
    cap.release_thread(h).unwrap();
    let (os, rust) = rx.recv().unwrap();
    (os, rust, info)
}

#[test]
fn long_name_is_truncated_to_15_bytes_and_the_handle_keeps_it_whole() {
    let (os, rust, info) = names_seen_by_thread("worker-thread-0001");
    assert_eq!(os, "worker-thread-0", "the kernel holds the 15-byte prefix");
    assert_eq!(info.os_name.as_deref(), Some("worker-thread-0"));
    assert_eq!(info.name.as_deref(), Some("worker-thread-0001"));
    assert_eq!(rust.as_deref(), Some("worker-thread-0001"));
}

#[test]
fn multibyte_name_is_cut_at_a_character_boundary() {
    // 5 three-byte characters = 15 bytes; the sixth would make 18.
    let (os, _, info) = names_seen_by_thread("日本語名前だ");
    assert_eq!(os, "日本語名前");
    assert!(os.len() <= 15);
    assert_eq!(info.name.as_deref(), Some("日本語名前だ"));
    // 14 ASCII bytes + 'é' (2 bytes) = 16: the whole 'é' is dropped, never half of it.
    let (os, _, _) = names_seen_by_thread("abcdefghijklmné");
    assert_eq!(os, "abcdefghijklmn");
}

#[test]
fn short_name_is_kept_exactly() {
    let (os, rust, info) = names_seen_by_thread("io-7");
    assert_eq!(os, "io-7");
    assert_eq!(rust.as_deref(), Some("io-7"));
    assert_eq!(info.os_name.as_deref(), Some("io-7"));
}

#[test]
fn nul_in_name_is_creation_failed_and_nothing_runs() {
    let cap = NativeThreadCapability::new();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let e = cap
        .create_thread(
            ThreadStart::new(move |_| {
                flag.store(true, Ordering::SeqCst);
                Ok(())
            }),
            ThreadOptions::default().with_name("a\0b"),
        )
        .unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::CreationFailed);
    assert!(e.message.contains("NUL"), "{}", e.message);
    assert!(!ran.load(Ordering::SeqCst));
    assert!(cap.outstanding_threads().is_empty(), "no slot kept");
    assert_eq!(cap.running_threads(), 0);
}

#[test]
fn empty_name_is_creation_failed() {
    let cap = NativeThreadCapability::new();
    let e = cap
        .create_thread(
            ThreadStart::new(|_| Ok(())),
            ThreadOptions::default().with_name(""),
        )
        .unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::CreationFailed);
    assert!(e.message.contains("empty"), "{}", e.message);
}
