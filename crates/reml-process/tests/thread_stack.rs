//! Stack sizes (spec §4 `ThreadOptions.stack_size`): rounded up to the platform
//! minimum and the page size; an impossible size is `CreationFailed`, never an abort or panic.
#![cfg(target_os = "linux")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use reml_process::thread::{NativeThreadCapability, ThreadCapability, ThreadOptions, ThreadStart};
use reml_process::ThreadErrorKind;

/// The page size, from the kernel's auxiliary vector as `getconf PAGESIZE` would say;
/// read here independently of the library.
fn page_size() -> usize {
    rustix::param::page_size()
}

fn create_with_stack(
    bytes: usize,
) -> (
    NativeThreadCapability,
    Result<usize, reml_process::ThreadError>,
    bool,
) {
    let cap = NativeThreadCapability::new();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let result = cap
        .create_thread(
            ThreadStart::new(move |_| {
                flag.store(true, Ordering::SeqCst);
                Ok(())
            }),
            ThreadOptions::default().with_stack_size(bytes),
        )
        .map(|h| {
            let size = cap.thread_info(h).unwrap().stack_size.unwrap();
            cap.join_thread(h, None).unwrap().result.unwrap();
            cap.release_thread(h).unwrap();
            size
        });
    let ran = ran.load(Ordering::SeqCst);
    (cap, result, ran)
}

#[test]
fn tiny_stack_is_rounded_up_to_the_minimum() {
    let (_, size, ran) = create_with_stack(1);
    let size = size.expect("a 1-byte request is rounded up, not refused");
    assert!(ran);
    assert!(size >= 16 * 1024, "at least PTHREAD_STACK_MIN: {size}");
    assert_eq!(size % page_size(), 0);
}

#[test]
fn odd_stack_size_is_rounded_up_to_a_page_multiple() {
    let requested = 256 * 1024 + 1;
    let (_, size, ran) = create_with_stack(requested);
    let size = size.unwrap();
    assert!(ran);
    assert_eq!(size % page_size(), 0);
    assert!(size >= requested && size < requested + page_size());
}

#[test]
fn a_thread_really_gets_a_large_stack() {
    // 64 MiB of stack, then use 32 MiB of it: with the default 2 MiB this would overflow
    // the stack and abort the test process.
    let cap = NativeThreadCapability::new();
    let h = cap
        .create_thread(
            ThreadStart::new(|_| {
                let mut big = [0u8; 32 << 20];
                big[0] = 1;
                big[(32 << 20) - 1] = 2;
                std::hint::black_box(&mut big);
                Ok(())
            }),
            ThreadOptions::default().with_stack_size(64 << 20),
        )
        .unwrap();
    cap.join_thread(h, None).unwrap().result.unwrap();
    cap.release_thread(h).unwrap();
}

#[test]
fn size_that_overflows_when_rounded_is_creation_failed() {
    let (cap, size, ran) = create_with_stack(usize::MAX);
    let e = size.unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::CreationFailed);
    assert!(e.message.contains(&usize::MAX.to_string()), "{}", e.message);
    assert!(!ran, "no thread, no start function");
    assert!(cap.outstanding_threads().is_empty());
}

#[test]
fn size_the_system_cannot_map_is_creation_failed_with_errno() {
    // 1 PiB: page-aligned and within isize, but beyond any address space / overcommit.
    let (cap, size, ran) = create_with_stack(1 << 50);
    let e = size.unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::CreationFailed);
    assert!(e.message.contains("errno"), "{}", e.message);
    assert!(!ran);
    assert!(cap.outstanding_threads().is_empty(), "the slot was freed");
    assert_eq!(cap.running_threads(), 0);
}
