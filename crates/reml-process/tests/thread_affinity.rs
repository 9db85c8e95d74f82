//! CPU affinity (spec §1 `set_thread_affinity`, §4), including an affinity to CPUs
//! the machine does not have.
#![cfg(target_os = "linux")]

use std::sync::{mpsc, Arc};

use reml_process::thread::{
    online_cpus, CpuSet, NativeThreadCapability, OsThreadState, ThreadCapability, ThreadHandle,
    ThreadOptions, ThreadStart,
};
use reml_process::ThreadErrorKind;

/// The CPUs that exist, read from sysfs here independently of the library.
fn possible_cpus() -> CpuSet {
    std::fs::read_to_string("/sys/devices/system/cpu/possible")
        .expect("sysfs is mounted")
        .trim()
        .parse()
        .unwrap()
}

/// The first CPU id that does not exist on this machine (2 on a 2-CPU machine).
fn first_absent_cpu() -> usize {
    possible_cpus().max_cpu().unwrap() + 1
}

/// A thread that waits for requests; each request makes it read its own affinity with
/// `sched_getaffinity` and send it back. Dropping the request sender ends it.
struct Probe {
    cap: Arc<NativeThreadCapability>,
    handle: ThreadHandle,
    ask: mpsc::Sender<()>,
    answer: mpsc::Receiver<CpuSet>,
}

impl Probe {
    fn start() -> Probe {
        let cap = Arc::new(NativeThreadCapability::new());
        let (ask, asked) = mpsc::channel::<()>();
        let (tell, answer) = mpsc::channel();
        let handle = cap
            .create_thread(
                ThreadStart::new(move |_| {
                    while asked.recv().is_ok() {
                        tell.send(OsThreadState::current()?.affinity).unwrap();
                    }
                    Ok(())
                }),
                ThreadOptions::default().with_name("affinity-probe"),
            )
            .unwrap();
        Probe {
            cap,
            handle,
            ask,
            answer,
        }
    }

    /// The affinity as the thread itself sees it.
    fn seen_by_thread(&self) -> CpuSet {
        self.ask.send(()).unwrap();
        self.answer.recv().unwrap()
    }

    fn finish(self) {
        drop(self.ask);
        self.cap
            .join_thread(self.handle, None)
            .unwrap()
            .result
            .unwrap();
        self.cap.release_thread(self.handle).unwrap();
    }
}

#[test]
fn set_affinity_is_applied_to_that_thread_and_read_back() {
    let p = Probe::start();
    let before = p.seen_by_thread();
    p.cap
        .set_thread_affinity(p.handle, &CpuSet::from([0]))
        .unwrap();
    assert_eq!(p.seen_by_thread(), CpuSet::from([0]));
    assert_eq!(
        p.cap.get_thread_affinity(p.handle).unwrap(),
        CpuSet::from([0])
    );
    // Only that thread: the calling thread's affinity is unchanged.
    assert_eq!(OsThreadState::current().unwrap().affinity, before);
    // And back to every online CPU.
    let all = online_cpus().unwrap();
    p.cap.set_thread_affinity(p.handle, &all).unwrap();
    assert_eq!(p.seen_by_thread(), all);
    p.finish();
}

/// Asserts `cpus` is refused with `InvalidAffinity` whose message contains every `needle`,
/// and that the thread's affinity did not change.
fn assert_refused(cpus: CpuSet, needles: &[&str]) -> String {
    let p = Probe::start();
    p.cap
        .set_thread_affinity(p.handle, &CpuSet::from([0]))
        .unwrap();
    let e = p.cap.set_thread_affinity(p.handle, &cpus).unwrap_err();
    assert_eq!(e.kind, ThreadErrorKind::InvalidAffinity, "{}", e.message);
    for n in needles {
        assert!(e.message.contains(n), "missing {n:?} in: {}", e.message);
    }
    assert_eq!(p.seen_by_thread(), CpuSet::from([0]), "affinity unchanged");
    p.finish();
    e.message
}

#[test]
fn absent_cpu_is_invalid_affinity_naming_it() {
    let absent = first_absent_cpu();
    let msg = assert_refused(
        CpuSet::from([absent]),
        &[&format!("CPU {absent} does not exist")],
    );
    assert!(
        msg.contains(&format!("this system's CPUs: {}", possible_cpus())),
        "{msg}"
    );
}

#[test]
fn mixed_set_names_only_the_absent_cpu() {
    let absent = first_absent_cpu();
    let msg = assert_refused(
        CpuSet::from([0, absent]),
        &[&format!("CPU {absent} does not exist")],
    );
    assert!(
        !msg.contains("CPU 0 "),
        "CPU 0 is fine and not blamed: {msg}"
    );
}

#[test]
fn cpu_past_the_kernel_mask_is_invalid_affinity_naming_it() {
    assert_refused(CpuSet::from([5000]), &["CPU 5000", "mask"]);
}

#[test]
fn empty_set_is_invalid_affinity() {
    assert_refused(CpuSet::new(), &["empty"]);
}

#[test]
fn several_bad_cpus_are_all_named() {
    let absent = first_absent_cpu();
    assert_refused(
        CpuSet::from([0, absent, 5000]),
        &[&format!("CPU {absent} does not exist"), "CPU 5000 is past"],
    );
}

#[test]
fn finished_thread_gives_a_clear_affinity_error() {
    let cap = NativeThreadCapability::new();
    let h = cap
        .create_thread(ThreadStart::new(|_| Ok(())), ThreadOptions::default())
        .unwrap();
    cap.join_thread(h, None).unwrap();
    for e in [
        cap.set_thread_affinity(h, &CpuSet::from([0])).unwrap_err(),
        cap.get_thread_affinity(h).unwrap_err(),
    ] {
        assert_eq!(e.kind, ThreadErrorKind::InvalidAffinity);
        assert!(e.message.contains("has finished"), "{}", e.message);
    }
    cap.release_thread(h).unwrap();
}

#[test]
fn a_thread_can_set_its_own_affinity_through_its_handle() {
    let cap = Arc::new(NativeThreadCapability::new());
    let inner = cap.clone();
    let h = cap
        .create_thread(
            ThreadStart::new(move |me| {
                inner.set_thread_affinity(me, &CpuSet::from([0]))?;
                let seen = OsThreadState::current()?.affinity;
                assert_eq!(seen, CpuSet::from([0]));
                Ok(())
            }),
            ThreadOptions::default(),
        )
        .unwrap();
    cap.join_thread(h, None).unwrap().result.unwrap();
    cap.release_thread(h).unwrap();
}

#[test]
fn online_cpus_match_each_cpus_own_online_flag() {
    // Independent witness: /sys/devices/system/cpu/cpuN/online per CPU (absent for a CPU
    // that cannot be taken offline, such as cpu0 on most machines: then it is online).
    let expected: CpuSet = possible_cpus()
        .iter()
        .filter(|n| {
            match std::fs::read_to_string(format!("/sys/devices/system/cpu/cpu{n}/online")) {
                Ok(flag) => flag.trim() == "1",
                Err(_) => std::path::Path::new(&format!("/sys/devices/system/cpu/cpu{n}")).exists(),
            }
        })
        .collect();
    assert_eq!(online_cpus().unwrap(), expected);
}
