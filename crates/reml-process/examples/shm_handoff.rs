//! The shared-memory hand-off of spec §7, end to end:
//! the parent writes a request into shared memory, spawns a child that reads it from its
//! descriptor 3 and writes its answer into a second object at descriptor 4, waits, and reads
//! the answer back.
//!
//! Run: `cargo run -p reml-process --example shm_handoff`

use reml_process::{
    Command, Environment, NativeProcessCapability, ProcessCapability, SharedMemory, WaitOptions,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cap = NativeProcessCapability::new();
    let request = SharedMemory::create("request", 4096)?;
    let answer = SharedMemory::create("answer", 4096)?;
    request.write_at(0, b"hello from the parent\n")?;

    // The child sees the request as fd 3 and the answer as fd 4, and nothing else of ours.
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "read line <&3; echo \"child got: $line\" >&4"])
        .pass_fd(request.fd(), 3)
        .pass_fd(answer.fd(), 4);
    let child = cap.spawn_process(&cmd, &Environment::default())?;
    let status = cap.wait_with_options(child, &WaitOptions::default())?;
    cap.release_process(child)?;

    let reply = answer.read_at(0, 64)?;
    let reply = String::from_utf8_lossy(&reply);
    let reply = reply.trim_end_matches('\0');
    println!("child exited with {status}; answer: {reply}");
    assert_eq!(reply, "child got: hello from the parent\n");
    Ok(())
}
