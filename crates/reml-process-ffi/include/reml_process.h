/* reml_process.h: the C ABI of core.process (docs/c-abi.md).
 *
 * One protocol for every host: a JSON payload in, a JSON answer out
 * ({"ok": {...}} or {"error": {"kind", "message", "code"}}), entrypoints
 * capability.describe, process.spawn, process.wait, process.kill, process.release.
 *
 * Every function is safe to call from any thread and with any pointer argument NULL;
 * a panic never crosses the boundary. Link with -lreml_process_ffi.
 */
#ifndef REML_PROCESS_H
#define REML_PROCESS_H

#ifdef __cplusplus
extern "C" {
#endif

/* An opaque bridge: the full stack (policy, then native, with audit) and the processes it holds. */
typedef struct reml_process_bridge reml_process_bridge;

/* config_json: {"policies": ["/path/a.toml", ...], "audit": "/path/log.jsonl" | null}
   (NULL or "" is {}: no policy, so every spawn is denied).
   NULL on failure, with *error_json (if error_json is not NULL) set to an error object
   to free with reml_process_string_free; on success *error_json is set to NULL. */
reml_process_bridge *reml_process_bridge_new(const char *config_json, char **error_json);

/* Returns a NUL-terminated JSON answer, never NULL; free it with reml_process_string_free.
   A NULL bridge, entrypoint or payload_json answers an invalid_command error
   (a NULL payload_json is {}). */
char *reml_process_invoke(reml_process_bridge *bridge, const char *entrypoint, const char *payload_json);

/* Frees a string returned by this library; NULL does nothing. */
void reml_process_string_free(char *s);

/* Ends every process still held (TERM, grace, KILL), records it, frees the bridge; NULL does nothing. */
void reml_process_bridge_free(reml_process_bridge *bridge);

#ifdef __cplusplus
}
#endif

#endif /* REML_PROCESS_H */
