/*
 * fuzz_gate.c — libFuzzer target for the JSON burnrate reads: the release
 * gate's answer (engine/gate_cli.h: br_gate_interpret), parsed by
 * `burnrate gate` from a server that may be misconfigured, a proxy's error
 * page, or hostile. burnrate parses no other JSON: its HTTP API reads query
 * parameters and protobuf, and its own state files are binary (see
 * fuzz_alert_state.c, fuzz_wal.c, fuzz_snapshot.c).
 *
 * Input: one byte selecting the HTTP status (an index into a table of the
 * statuses the interpreter distinguishes, and a few it does not), then the
 * body.
 *
 * Checked: the exit code is 0, 1 or 2 and agrees with the decision text;
 * allow only with HTTP 200 and deny only with 409; at most
 * BR_GATE_MAX_REASONS reasons, each a string; strings are terminated.
 */
#include "engine/gate_cli.h"
#include "tests/fuzz/fuzz_util.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const long statuses[] = {200, 409, 503, 500, 400, 401, 404, 302, 0, 204, 429, 599, -1};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    long status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
    br_gate_answer a;
    br_gate_interpret(status, (const char *)data + 1, size - 1, &a);
    FZ_CHECK(memchr(a.decision, 0, sizeof(a.decision)) != NULL, "decision not terminated");
    FZ_CHECK(memchr(a.message, 0, sizeof(a.message)) != NULL, "message not terminated");
    switch (a.exit_code) {
    case BR_GATE_EXIT_ALLOW:
        FZ_CHECK(status == 200 && strcmp(a.decision, "allow") == 0, "allow with %ld/%s", status,
                 a.decision);
        break;
    case BR_GATE_EXIT_DENY:
        FZ_CHECK(status == 409 && strcmp(a.decision, "deny") == 0, "deny with %ld/%s", status,
                 a.decision);
        break;
    case BR_GATE_EXIT_UNDECIDED:
        FZ_CHECK(strcmp(a.decision, "error") == 0 || strcmp(a.decision, "no_data") == 0,
                 "undecided with decision %s", a.decision);
        break;
    default:
        FZ_CHECK(0, "exit code %d", a.exit_code);
    }
    FZ_CHECK(a.n_reasons <= BR_GATE_MAX_REASONS, "%zu reasons", a.n_reasons);
    for (size_t i = 0; i < a.n_reasons; i++) {
        FZ_CHECK(a.reasons[i] != NULL, "reason %zu is NULL", i);
    }
    br_gate_answer_free(&a);
    return 0;
}
