/*
 * gate_cli.h — `burnrate gate`: asks a running burnrate whether a service
 * (or one SLO) may deploy now, for release pipelines.
 *
 *   burnrate gate --url URL (--service X | --slo ID) [--min-remaining 25%]
 *                 [--max-burn-rate N] [--allow-states a,b] [--on-no-data deny|allow]
 *                 [--max-data-age 10m] [--timeout 10s] [--token-file F]
 *                 [--output text|json] [--annotate [--title T] [--tag T]...
 *                 [--pipeline P] [--commit C]]
 *
 * With --annotate the request carries record=true (and the title, tags,
 * pipeline and commit), and the server stores the decision as a `gate`
 * annotation on the SLO or service (api/annotations.h).
 *
 * It sends one GET to <URL>/api/v1/gate (libcurl) and maps the answer to an
 * exit code a pipeline can branch on:
 *   0  allow     HTTP 200 with "allow": true
 *   1  deny      HTTP 409 with "allow": false; the reasons are printed
 *   2  cannot decide: unreachable, timeout, HTTP 5xx or 503, "no_data"
 *      (missing or stale data), a refused request (400, 401, 404), an
 *      answer that is not the gate's JSON, or a usage error
 * The decision and reasons go to stdout (text, or one JSON object with
 * --output json); usage errors go to stderr. The answer body is capped at
 * BR_GATE_MAX_BODY bytes and the token file at 4 KiB.
 *
 * Thread use: one call at a time (getopt state); called from main().
 */
#ifndef BR_ENGINE_GATE_CLI_H
#define BR_ENGINE_GATE_CLI_H

#include <stddef.h>
#include <stdio.h>

enum {
    BR_GATE_EXIT_ALLOW = 0,
    BR_GATE_EXIT_DENY = 1,
    BR_GATE_EXIT_UNDECIDED = 2,
};

#define BR_GATE_MAX_BODY    (4u * 1024 * 1024)
#define BR_GATE_MAX_REASONS 256

/* What an answer from /api/v1/gate means. */
typedef struct br_gate_answer {
    int exit_code;     /* BR_GATE_EXIT_* */
    long http_status;  /* 0 when there was no answer */
    char decision[16]; /* "allow", "deny", "no_data" or "error" */
    char message[512]; /* why it cannot decide; "" for allow and deny */
    char **reasons;    /* owned; free with br_gate_answer_free */
    size_t n_reasons;
    size_t n_slos; /* SLO instances the server checked */
} br_gate_answer;

/* Interprets an HTTP status and body (borrowed, need not be terminated)
 * into out. Never fails: anything unexpected is exit code 2 with a
 * message. Free out with br_gate_answer_free. */
void br_gate_interpret(long http_status, const char *body, size_t len, br_gate_answer *out);
void br_gate_answer_free(br_gate_answer *a);

/* Runs the subcommand; argv[0] is "gate". Writes to out and errout
 * (borrowed). Returns the exit code. */
int br_gate_cli_main(int argc, char **argv, FILE *out, FILE *errout);

#endif
