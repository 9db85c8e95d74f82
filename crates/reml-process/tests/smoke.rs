mod common;
use reml_process::*;
#[test]
fn smoke() {
    let cap = NativeProcessCapability::new();
    let mut cmd = Command::new(common::helper());
    cmd.args(["echo", "hi"]).stdout(StdioSpec::Pipe);
    let h = cap.spawn_process(&cmd, &Environment::default()).unwrap();
    let st = cap.wait_with_options(h, &WaitOptions::default().collecting()).unwrap();
    assert_eq!(st.code(), 0);
    let o = cap.take_output(h).unwrap(); println!("{o:?}"); assert_eq!(o.stdout, b"hi\n");
    let h = cap.spawn_process(Command::new("sh").args(["-c", "exit 3"]), &Environment::default()).unwrap();
    assert_eq!(cap.wait_process(h, None).unwrap().code(), 3);
    let h = cap.spawn_process(Command::new("sh").args(["-c", "kill -9 $$"]), &Environment::default()).unwrap();
    let e = cap.wait_process(h, None).unwrap_err();
    assert_eq!((e.kind, e.code), (ProcessErrorKind::TerminatedBySignal, Some(9)));
    let e = cap.spawn_process(&Command::new("/nonexistent/x"), &Environment::default()).unwrap_err();
    println!("{e:?}");
}
