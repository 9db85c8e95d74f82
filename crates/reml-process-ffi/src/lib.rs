//! The C ABI of `core.process` (`docs/c-abi.md`): the invoke protocol of
//! [`reml_process::bridge::Bridge`] behind four functions, declared in
//! `include/reml_process.h`.
//!
//! - [`reml_process_bridge_new`] makes a bridge from a JSON configuration
//!   (`{"policies": [...], "audit": PATH | null}`);
//! - [`reml_process_invoke`] answers one call as a NUL-terminated JSON string, never NULL;
//! - [`reml_process_string_free`] frees such a string;
//! - [`reml_process_bridge_free`] ends every process still held (TERM, grace, KILL, the
//!   tree), records it, and frees the bridge.
//!
//! Every function catches panics (none crosses the boundary), accepts NULL for every pointer
//! argument without undefined behaviour, and may be called from any thread (the bridge is
//! `Send + Sync`; only `reml_process_bridge_free` must not race with other calls on the same
//! bridge, as with any `free`).
//!
//! This crate is the one place outside the library's `sys` module with `unsafe`: reading the
//! host's C strings and owning the pointers handed across the boundary. Each block says why
//! it is sound.

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use reml_process::bridge::{error_json, Bridge};
use reml_process::ProcessError;

/// The opaque bridge of the C ABI (`reml_process_bridge` in the header).
pub struct RemlProcessBridge {
    bridge: Bridge,
}

/// `{"error": {...}}` for `e`, as a C string we own.
fn error_string(e: &ProcessError) -> *mut c_char {
    to_c(
        serde_json::json!({ "error": error_json(e) })
            .to_string()
            .into_bytes(),
    )
}

/// `bytes` (JSON, which never holds a NUL byte: serde escapes it) as a C string we own.
fn to_c(bytes: Vec<u8>) -> *mut c_char {
    match CString::new(bytes) {
        Ok(s) => s.into_raw(),
        Err(_) => CString::new(
            r#"{"error":{"kind":"unsupported","message":"answer held a NUL byte","code":null}}"#,
        )
        .map_or(std::ptr::null_mut(), CString::into_raw),
    }
}

/// The UTF-8 text of `p`, `Ok(None)` for NULL.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for the call (the header's
/// contract for every `const char *` argument).
unsafe fn text<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>, ProcessError> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: not NULL, and the caller guarantees a NUL-terminated string alive for the call.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str()
        .map(Some)
        .map_err(|_| ProcessError::invalid(format!("{what}: not UTF-8")))
}

fn internal() -> ProcessError {
    ProcessError::unsupported("internal error: the call panicked (a bug in reml-process)")
}

/// Makes a bridge from `config_json`: `{"policies": ["/path/a.toml", ...], "audit":
/// "/path/log.jsonl" | null}` (NULL or an empty string: no policy, every spawn denied).
///
/// Returns NULL on failure, with `*error_json` (when `error_json` is not NULL) set to an
/// error object `{"error": {"kind", "message", "code"}}` to free with
/// [`reml_process_string_free`]; on success `*error_json` is set to NULL.
///
/// # Safety
/// `config_json` is NULL or a NUL-terminated string; `error_json` is NULL or points to a
/// writable `char *`.
#[no_mangle]
pub unsafe extern "C" fn reml_process_bridge_new(
    config_json: *const c_char,
    error_json: *mut *mut c_char,
) -> *mut RemlProcessBridge {
    let made = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the header's contract for `config_json`.
        let config = unsafe { text(config_json, "config_json") }?;
        match config.map(str::trim) {
            None | Some("") => Bridge::from_config_json("{}"),
            Some(c) => Bridge::from_config_json(c),
        }
    }))
    .unwrap_or_else(|_| Err(internal()));
    let (bridge, error) = match made {
        Ok(b) => (
            Box::into_raw(Box::new(RemlProcessBridge { bridge: b })),
            std::ptr::null_mut(),
        ),
        Err(e) => (std::ptr::null_mut(), error_string(&e)),
    };
    if error_json.is_null() {
        if !error.is_null() {
            // SAFETY: `error` came from `CString::into_raw` just above and was not handed out.
            drop(unsafe { CString::from_raw(error) });
        }
    } else {
        // SAFETY: not NULL, and the caller guarantees it points to a writable `char *`.
        unsafe { *error_json = error };
    }
    bridge
}

/// Answers one call of the invoke protocol (`docs/bridge.md`): `entrypoint` with the JSON
/// object `payload_json` (NULL is `{}`). Returns a NUL-terminated JSON answer, never NULL
/// (except if memory for the answer itself cannot be had); free it with
/// [`reml_process_string_free`]. A NULL bridge or entrypoint answers an `invalid_command`
/// error.
///
/// # Safety
/// `bridge` is NULL or a live bridge from [`reml_process_bridge_new`];
/// `entrypoint` and `payload_json` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn reml_process_invoke(
    bridge: *mut RemlProcessBridge,
    entrypoint: *const c_char,
    payload_json: *const c_char,
) -> *mut c_char {
    let answer = catch_unwind(AssertUnwindSafe(|| {
        if bridge.is_null() {
            return error_string(&ProcessError::invalid("bridge: NULL"));
        }
        // SAFETY: not NULL, and the caller guarantees a live bridge; only shared access is
        // taken (the bridge is Sync), so calls from several threads may overlap.
        let bridge = unsafe { &(*bridge).bridge };
        // SAFETY: the header's contract for both strings.
        let (ep, payload) = match unsafe {
            (
                text(entrypoint, "entrypoint"),
                text(payload_json, "payload_json"),
            )
        } {
            (Ok(Some(ep)), Ok(p)) => (ep, p.unwrap_or("{}")),
            (Ok(None), _) => return error_string(&ProcessError::invalid("entrypoint: NULL")),
            (Err(e), _) | (_, Err(e)) => return error_string(&e),
        };
        to_c(bridge.invoke(ep, payload.as_bytes()))
    }));
    answer.unwrap_or_else(|_| error_string(&internal()))
}

/// Frees a string returned by this library; NULL does nothing.
///
/// # Safety
/// `s` is NULL or a string returned by [`reml_process_invoke`] or set by
/// [`reml_process_bridge_new`], not freed before.
#[no_mangle]
pub unsafe extern "C" fn reml_process_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller guarantees `s` came from `CString::into_raw` here, once.
        drop(unsafe { CString::from_raw(s) });
    }));
}

/// Ends every process the bridge still holds (TERM to its tree, a 2 s grace, KILL), records
/// it in the audit log, and frees the bridge; NULL does nothing.
///
/// # Safety
/// `bridge` is NULL or a bridge from [`reml_process_bridge_new`], not freed before, and no
/// other call on it is running or will run.
#[no_mangle]
pub unsafe extern "C" fn reml_process_bridge_free(bridge: *mut RemlProcessBridge) {
    if bridge.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller guarantees `bridge` came from `Box::into_raw` here, once, and
        // that nothing else uses it any more.
        drop(unsafe { Box::from_raw(bridge) });
    }));
}
