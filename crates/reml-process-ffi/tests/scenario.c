/* The C ABI scenario (docs/c-abi.md): NULL safety, denial without a policy, then with a
 * policy and an audit log: spawn, wait with collection, kill, release, a process left held
 * for reml_process_bridge_free, and calls from several threads.
 * Usage: scenario POLICY AUDIT. Prints "leftover PID" and "ok"; exits 1 naming a failure. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reml_process.h"

static int failures = 0;

static void expect(int cond, const char *what, const char *answer) {
    if (!cond) {
        fprintf(stderr, "FAIL: %s: %s\n", what, answer ? answer : "(null)");
        failures++;
    }
}

/* Invokes, checks the answer contains `needle`, returns it (caller frees). */
static char *call(reml_process_bridge *b, const char *ep, const char *payload, const char *needle) {
    char *a = reml_process_invoke(b, ep, payload);
    expect(a != NULL, "answer is never NULL", a);
    if (a && needle) expect(strstr(a, needle) != NULL, needle, a);
    return a;
}

static long number_after(const char *a, const char *key) {
    const char *p = a ? strstr(a, key) : NULL;
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static void *describe_many(void *arg) {
    reml_process_bridge *b = arg;
    for (int i = 0; i < 50; i++) {
        char *a = call(b, "capability.describe", "{}", "\"core.process\"");
        reml_process_string_free(a);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: scenario POLICY AUDIT\n"); return 2; }
    char *err = (char *)1;

    /* NULL everywhere: no crash, an error answer. */
    char *a = reml_process_invoke(NULL, NULL, NULL);
    expect(a && strstr(a, "invalid_command"), "NULL bridge answers an error", a);
    reml_process_string_free(a);
    reml_process_string_free(NULL);
    reml_process_bridge_free(NULL);
    expect(reml_process_bridge_new("{bad", NULL) == NULL, "malformed config is NULL", NULL);
    expect(reml_process_bridge_new("{bad", &err) == NULL, "malformed config is NULL", NULL);
    expect(err != NULL && strstr(err, "invalid_command"), "error_json set", err);
    reml_process_string_free(err);

    /* No policy: every spawn denied. */
    reml_process_bridge *none = reml_process_bridge_new(NULL, &err);
    expect(none != NULL && err == NULL, "bridge without config", err);
    a = call(none, "process.spawn", "{\"program\": \"/bin/sh\"}", "permission_denied");
    reml_process_string_free(a);
    a = call(none, NULL, "{}", "invalid_command");
    reml_process_string_free(a);
    a = call(none, "process.wait", NULL, "invalid_command");
    reml_process_string_free(a);
    reml_process_bridge_free(none);

    char config[4096];
    snprintf(config, sizeof config, "{\"policies\": [\"%s\"], \"audit\": \"%s\"}", argv[1], argv[2]);
    reml_process_bridge *b = reml_process_bridge_new(config, &err);
    expect(b != NULL, "bridge with policy", err);
    if (!b) return 1;

    a = call(b, "process.spawn", "{\"program\": \"/usr/bin/env\"}", "permission_denied");
    reml_process_string_free(a);

    a = call(b, "process.spawn",
             "{\"program\": \"/bin/sh\", \"args\": [\"-c\", \"cat; exit 4\"], \"input\": \"ping\", \"stdout\": \"pipe\"}",
             "\"handle\":");
    long h = number_after(a, "\"handle\":");
    reml_process_string_free(a);
    char payload[256];
    snprintf(payload, sizeof payload, "{\"handle\": %ld, \"collect_output\": true, \"timeout_ms\": 10000}", h);
    a = call(b, "process.wait", payload, "\"exit_code\":4");
    expect(a && strstr(a, "\"stdout\":\"ping\""), "collected stdout", a);
    expect(a && strstr(a, "\"cause\":\"exited\""), "cause", a);
    reml_process_string_free(a);
    snprintf(payload, sizeof payload, "{\"handle\": %ld}", h);
    a = call(b, "process.release", payload, "{\"ok\":{}}");
    reml_process_string_free(a);

    a = call(b, "process.spawn", "{\"program\": \"/bin/sh\", \"args\": [\"-c\", \"sleep 30\"]}", "\"handle\":");
    h = number_after(a, "\"handle\":");
    reml_process_string_free(a);
    snprintf(payload, sizeof payload, "{\"handle\": %ld, \"signal\": \"HUP\"}", h);
    a = call(b, "process.kill", payload, "permission_denied");
    reml_process_string_free(a);
    snprintf(payload, sizeof payload, "{\"handle\": %ld, \"signal\": \"TERM\"}", h);
    a = call(b, "process.kill", payload, "{\"ok\":{}}");
    reml_process_string_free(a);
    snprintf(payload, sizeof payload, "{\"handle\": %ld, \"timeout_ms\": 10000}", h);
    a = call(b, "process.wait", payload, "\"signal\":15");
    reml_process_string_free(a);
    snprintf(payload, sizeof payload, "{\"handle\": %ld}", h);
    a = call(b, "process.release", payload, "{\"ok\":{}}");
    reml_process_string_free(a);

    pthread_t threads[4];
    for (int i = 0; i < 4; i++) pthread_create(&threads[i], NULL, describe_many, b);
    for (int i = 0; i < 4; i++) pthread_join(threads[i], NULL);

    /* Left held: reml_process_bridge_free must end it. */
    a = call(b, "process.spawn", "{\"program\": \"/bin/sh\", \"args\": [\"-c\", \"sleep 60\"]}", "\"pid\":");
    printf("leftover %ld\n", number_after(a, "\"pid\":"));
    reml_process_string_free(a);
    reml_process_bridge_free(b);

    if (failures) return 1;
    printf("ok\n");
    return 0;
}
