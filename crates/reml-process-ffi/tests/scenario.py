"""The C ABI scenario from Python ctypes (docs/c-abi.md).

Usage: python3 scenario.py LIBRARY POLICY AUDIT. Prints "leftover PID" then "ok"; raises on a
failure.
"""
import ctypes
import json
import sys
import threading

lib = ctypes.CDLL(sys.argv[1])
lib.reml_process_bridge_new.restype = ctypes.c_void_p
lib.reml_process_bridge_new.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
lib.reml_process_invoke.restype = ctypes.c_void_p
lib.reml_process_invoke.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
lib.reml_process_string_free.restype = None
lib.reml_process_string_free.argtypes = [ctypes.c_void_p]
lib.reml_process_bridge_free.restype = None
lib.reml_process_bridge_free.argtypes = [ctypes.c_void_p]


def take(ptr):
    assert ptr, "answer is never NULL"
    try:
        return json.loads(ctypes.string_at(ptr).decode())
    finally:
        lib.reml_process_string_free(ptr)


def invoke(bridge, entrypoint, payload):
    return take(lib.reml_process_invoke(bridge, entrypoint.encode(), json.dumps(payload).encode()))


def new(config):
    err = ctypes.c_void_p()
    b = lib.reml_process_bridge_new(None if config is None else json.dumps(config).encode(), ctypes.byref(err))
    if not b:
        raise RuntimeError(take(err.value))
    assert not err.value
    return b


assert take(lib.reml_process_invoke(None, None, None))["error"]["kind"] == "invalid_command"
err = ctypes.c_void_p()
assert not lib.reml_process_bridge_new(b"[", ctypes.byref(err))
assert take(err.value)["error"]["kind"] == "invalid_command"

none = new(None)
assert invoke(none, "process.spawn", {"program": "/bin/sh"})["error"]["kind"] == "permission_denied"
lib.reml_process_bridge_free(none)

b = new({"policies": [sys.argv[2]], "audit": sys.argv[3]})
assert invoke(b, "process.spawn", {"program": "/usr/bin/env"})["error"]["kind"] == "permission_denied"
a = invoke(b, "process.spawn", {"program": "/bin/sh", "args": ["-c", "cat; exit 4"],
                                "input": "ping", "stdout": "pipe"})
h = a["ok"]["handle"]
w = invoke(b, "process.wait", {"handle": h, "collect_output": True, "timeout_ms": 10000})["ok"]
assert w["exit_code"] == 4 and w["stdout"] == "ping" and w["cause"] == "exited", w
assert invoke(b, "process.release", {"handle": h}) == {"ok": {}}

h = invoke(b, "process.spawn", {"program": "/bin/sh", "args": ["-c", "sleep 30"]})["ok"]["handle"]
w = invoke(b, "process.wait", {"handle": h, "timeout_ms": 50})
assert w["error"]["kind"] == "timed_out", w
assert invoke(b, "process.kill", {"handle": h, "signal": "HUP"})["error"]["kind"] == "permission_denied"
assert invoke(b, "process.kill", {"handle": h, "signal": 15}) == {"ok": {}}
w = invoke(b, "process.wait", {"handle": h, "timeout_ms": 10000})["ok"]
assert w["signal"] == 15 and w["cause"] == "signaled", w
assert invoke(b, "process.release", {"handle": h}) == {"ok": {}}

errors = []


def describe_many():
    try:
        for _ in range(50):
            assert invoke(b, "capability.describe", {})["ok"]["id"] == "core.process"
    except Exception as e:  # noqa: BLE001 - reported below
        errors.append(e)


threads = [threading.Thread(target=describe_many) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert not errors, errors

print("leftover", invoke(b, "process.spawn", {"program": "/bin/sh", "args": ["-c", "sleep 60"]})["ok"]["pid"])
lib.reml_process_bridge_free(b)
print("ok")
