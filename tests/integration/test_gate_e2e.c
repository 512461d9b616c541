/*
 * test_gate_e2e.c — the error-budget policy and the release gate end to end
 * on the real binaries: burnrate-loadgen remote-writes an hour of healthy
 * history and then live traffic into burnrate, whose svc-0 SLO (99%, 1h
 * rolling period, evaluated every second) is then burnt down by one long
 * incident that fails 25% of svc-0's requests. svc-1 stays healthy.
 *
 * The budget falls through the default policy: healthy (> 50%), caution
 * (> 25%), critical (> 10%), exhausted. At each state the test checks
 *  - /api/v1/slos/{id}: the state, its numbers (window counts, budget
 *    remaining, consumed, seconds) and that they equal a count made here
 *    from the raw samples read back through /api/v1/export, for the same
 *    evaluation time; the expected state comes from that count and the
 *    policy's thresholds, not from how long the test has waited;
 *  - /api/v1/gate?service=svc-0: 200 allow in healthy and caution, 409 deny
 *    in critical and exhausted with a reason naming the state;
 *  - `burnrate gate`: exit 0 / 1, and the same decision with --output json;
 *  - min_remaining=60% (and --min-remaining 60%): allows above 60%, denies
 *    while still healthy below it.
 * Then the load generator stops: past max_data_age (5s here) the gate
 * answers 409 "no_data" for svc-1 (CLI exit 2) even with on_no_data=allow,
 * while exhausted svc-0 stays a policy "deny" (exit 1) that also names the
 * stale data. Last, burnrate is stopped and the CLI exits 2 (unreachable).
 *
 * Runs in about three minutes; loopback ports, a temp dir, children
 * stopped by PID. Needs BURNRATE_BIN and BURNRATE_LOADGEN.
 */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

#include "tests/helpers/peer.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>

#define SLO_ID         "svc-0-availability"
#define OBJECTIVE      0.99
#define PERIOD_MS      3600000LL
#define STEP_MS        1000LL
#define MAX_LAG_STEPS  3   /* newest loadgen steps the evaluator may not have seen yet */
#define STATE_WAIT_S   150 /* for one policy state to be reached */
#define MAX_RAW_SERIES 64

typedef struct env {
    const char *bin;
    const char *loadgen;
    char *dir;
    int port;
    peer br;
    peer lg;
    char base[64];
    double lg_started_ms; /* wall clock when the load generator started */
} env;

static env E;

static const char *SLO_FILE =
    "slos:\n"
    "  - service: svc-0\n"
    "    name: availability\n"
    "    objective: 99%\n"
    "    period: 1h\n"
    "    sli:\n"
    "      events:\n"
    "        bad: 'http_requests_total{service=\"svc-0\",code=~\"5..\"}'\n"
    "        total: 'http_requests_total{service=\"svc-0\"}'\n"
    "    alerting:\n"
    /* One ticket tier that cannot fire: it makes the 1h window explicit
     * and keeps page alerts (which deny on their own) out of the way, so
     * the policy state alone decides. */
    "      tiers:\n"
    "        - {name: ticket-1h, severity: ticket, long: 1h, short: 5m, factor: 1000, for: 0s}\n"
    "      budget_drop: false\n"
    "      exhaustion_within: false\n"
    "  - service: svc-1\n"
    "    name: availability\n"
    "    objective: 99%\n"
    "    period: 1h\n"
    "    sli:\n"
    "      events:\n"
    "        bad: 'http_requests_total{service=\"svc-1\",code=~\"5..\"}'\n"
    "        total: 'http_requests_total{service=\"svc-1\"}'\n"
    "    alerting:\n"
    "      tiers:\n"
    "        - {name: ticket-1h, severity: ticket, long: 1h, short: 5m, factor: 1000, for: 0s}\n"
    "      budget_drop: false\n"
    "      exhaustion_within: false\n";

/* ------------------------------------------------------------------------
 * HTTP and JSON helpers.
 * ---------------------------------------------------------------------- */

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* GET base+path; the parsed body (or NULL) and the status in *status. */
static cJSON *get(const char *path, long *status)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", E.base, path);
    tu_http_result r;
    *status = 0;
    cJSON *j = NULL;
    if (tu_http("GET", url, NULL, 0, NULL, &r) == 0) {
        *status = r.status;
        j = cJSON_Parse(r.body);
    }
    tu_http_free(&r);
    return j;
}

/* The member at a dotted path ("a.b.c") of nested objects, or NULL. */
static cJSON *item(const cJSON *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    const cJSON *cur = o;
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k != NULL && cur != NULL;
         k = strtok_r(NULL, ".", &save)) {
        cur = cJSON_GetObjectItemCaseSensitive(cur, k);
    }
    return (cJSON *)cur;
}

static double num(const cJSON *o, const char *path)
{
    const cJSON *v = item(o, path);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *path)
{
    const char *s = cJSON_GetStringValue(item(o, path));
    return s != NULL ? s : "";
}

/* True when some string of the array contains needle (and needle2 unless
 * it is NULL). */
static bool any_contains(const cJSON *arr, const char *needle, const char *needle2)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, arr)
    {
        const char *s = cJSON_GetStringValue(r);
        if (s != NULL && strstr(s, needle) != NULL &&
            (needle2 == NULL || strstr(s, needle2) != NULL)) {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------
 * Running `burnrate gate`.
 * ---------------------------------------------------------------------- */

typedef struct cli_result {
    int exit_code; /* -1 when it did not exit normally */
    char out[64 * 1024];
} cli_result;

/* Runs BURNRATE_BIN gate --url <base> --timeout 10s <args...>, stdout
 * captured, stderr appended to <dir>/cli.err. */
static void run_gate(cli_result *res, const char *a0, ...)
{
    char *argv[24];
    int n = 0;
    argv[n++] = (char *)E.bin;
    argv[n++] = "gate";
    argv[n++] = "--url";
    argv[n++] = E.base;
    argv[n++] = "--timeout";
    argv[n++] = "10s";
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a != NULL && n < 23; a = va_arg(ap, const char *)) {
        argv[n++] = (char *)a;
    }
    va_end(ap);
    argv[n] = NULL;

    memset(res, 0, sizeof(*res));
    res->exit_code = -1;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char errlog[1100];
    snprintf(errlog, sizeof(errlog), "%s/cli.err", E.dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 1);
        close(fds[1]);
        int fd = open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    for (;;) {
        ssize_t got = read(fds[0], res->out + len, sizeof(res->out) - 1 - len);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        len += (size_t)got;
        if (len == sizeof(res->out) - 1) {
            break;
        }
    }
    res->out[len] = '\0';
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status)) {
        res->exit_code = WEXITSTATUS(status);
    }
}

/* `burnrate gate` must exit with want; prints its output otherwise. */
static void expect_exit(const cli_result *r, int want)
{
    if (r->exit_code != want) {
        fprintf(stderr, "burnrate gate exited %d, want %d; stdout:\n%s\n", r->exit_code, want,
                r->out);
    }
    assert_int_equal(r->exit_code, want);
}

/* ------------------------------------------------------------------------
 * The raw data, counted by hand.
 * ---------------------------------------------------------------------- */

typedef struct raw_series {
    bool bad;
    size_t n;
    int64_t *t;
    double *v;
} raw_series;

/* Reads back every http_requests_total series of svc-0. */
static size_t read_raw(raw_series *out, size_t max)
{
    char url[512];
    snprintf(url, sizeof(url),
             "%s/api/v1/export?match[]=http_requests_total%%7Bservice%%3D%%22svc-0%%22%%7D",
             E.base);
    tu_http_result r;
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    size_t n = 0;
    char *line = r.body;
    while (line != NULL && *line != '\0' && n < max) {
        char *nl = strchr(line, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        cJSON *j = cJSON_Parse(line);
        if (j != NULL) {
            const char *code = str(j, "metric.code");
            const cJSON *vals = item(j, "values");
            const cJSON *ts = item(j, "timestamps");
            size_t k = (size_t)cJSON_GetArraySize(vals);
            raw_series *s = &out[n++];
            s->bad = code[0] == '5';
            s->n = k;
            s->t = calloc(k + 1, sizeof(int64_t));
            s->v = calloc(k + 1, sizeof(double));
            assert_non_null(s->t);
            assert_non_null(s->v);
            for (size_t i = 0; i < k; i++) {
                s->t[i] = (int64_t)cJSON_GetNumberValue(cJSON_GetArrayItem(ts, (int)i));
                /* Values are JSON strings, as Prometheus writes them. */
                const cJSON *v = cJSON_GetArrayItem(vals, (int)i);
                s->v[i] = cJSON_IsString(v) ? strtod(cJSON_GetStringValue(v), NULL)
                                            : cJSON_GetNumberValue(v);
            }
            cJSON_Delete(j);
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    tu_http_free(&r);
    return n;
}

static void free_raw(raw_series *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].t);
        free(s[i].v);
    }
}

/* Counter increments whose later sample lies in (from, to], resets
 * counted as a restart from zero. */
static void count(const raw_series *s, size_t n, int64_t from, int64_t to, double *bad,
                  double *total)
{
    *bad = 0;
    *total = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 1; k < s[i].n; k++) {
            if (s[i].t[k] <= from || s[i].t[k] > to) {
                continue;
            }
            double d = s[i].v[k] >= s[i].v[k - 1] ? s[i].v[k] - s[i].v[k - 1] : s[i].v[k];
            *total += d;
            if (s[i].bad) {
                *bad += d;
            }
        }
    }
}

/* The policy state the "policy" array of an SLO detail gives for budget
 * remaining r: the first state whose bound ("above", null = none) r
 * exceeds. */
static const char *state_for(const cJSON *detail, double r)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, item(detail, "policy"))
    {
        const cJSON *above = item(p, "above");
        if (!cJSON_IsNumber(above) || r > above->valuedouble) {
            return str(p, "name");
        }
    }
    return "";
}

/* Checks the detail's numbers against the raw samples: the evaluation at
 * period.end_ms must have counted exactly the samples in (end - 1h, end],
 * less at most MAX_LAG_STEPS newest steps that had not arrived when it
 * ran (one request carries a whole step, so a step is seen whole or not
 * at all). Then the state must be the one the count and the policy give.
 * Returns the budget remaining computed here. */
static double check_numbers_against_raw(const cJSON *detail)
{
    int64_t end = (int64_t)num(detail, "period.end_ms");
    int64_t start = (int64_t)num(detail, "period.start_ms");
    assert_int_equal(end - start, PERIOD_MS);
    const cJSON *period = NULL;
    const cJSON *w;
    cJSON_ArrayForEach(w, item(detail, "windows"))
    {
        if (cJSON_IsTrue(item(w, "period"))) {
            period = w;
        }
    }
    assert_non_null(period);
    double got_bad = num(period, "bad");
    double got_total = num(period, "total");

    raw_series *raw = calloc(MAX_RAW_SERIES, sizeof(raw_series));
    assert_non_null(raw);
    size_t n = read_raw(raw, MAX_RAW_SERIES);
    assert_true(n >= 7);
    int64_t newest = end / STEP_MS * STEP_MS;
    int lag = -1;
    double bad = 0;
    double total = 0;
    for (int k = 0; k <= MAX_LAG_STEPS && lag < 0; k++) {
        count(raw, n, start, newest - k * STEP_MS, &bad, &total);
        if (bad == got_bad && total == got_total) {
            lag = k;
        } else {
            fprintf(stderr, "  raw count up to %d step(s) before %lld: bad %.0f of %.0f\n", k,
                    (long long)end, bad, total);
        }
    }
    free_raw(raw, n);
    free(raw);
    if (lag < 0) {
        fprintf(stderr, "evaluation at %lld counted bad %.0f of %.0f; no raw count matches\n",
                (long long)end, got_bad, got_total);
    }
    assert_true(lag >= 0);

    double want = 1.0 - (bad / total) / (1.0 - OBJECTIVE);
    double remaining = num(detail, "budget.remaining");
    fprintf(stderr,
            "  evaluation at %lld: bad %.0f of %.0f (newest %d step(s) not yet seen), budget "
            "remaining %.6f (by hand %.6f), state %s\n",
            (long long)end, bad, total, lag, remaining, want, str(detail, "state.name"));
    assert_true(fabs(remaining - want) < 1e-9);
    assert_true(fabs(num(detail, "budget.consumed") - (1.0 - want)) < 1e-9);
    double budget_s = (1.0 - OBJECTIVE) * (double)PERIOD_MS / 1000.0; /* 36 s */
    assert_true(fabs(num(detail, "budget.total_seconds") - budget_s) < 1e-9);
    assert_true(fabs(num(detail, "budget.remaining_seconds") - want * budget_s) < 1e-6);
    assert_true(fabs(num(detail, "sli") - (1.0 - bad / total)) < 1e-12);
    assert_string_equal(str(detail, "state.name"), state_for(detail, want));
    return want;
}

/* ------------------------------------------------------------------------
 * Waiting for a state, and the gate checks.
 * ---------------------------------------------------------------------- */

/* Polls /api/v1/slos/svc-0-availability until its state is `state` and
 * its budget remaining is below `below` (NaN: any). Returns the detail
 * (cJSON_Delete it). */
static cJSON *wait_for_state(const char *state, double below)
{
    double deadline = peer_now() + STATE_WAIT_S;
    const char *last = "";
    double last_rem = NAN;
    char last_buf[32] = "";
    while (peer_now() < deadline) {
        long status = 0;
        cJSON *j = get("/api/v1/slos/" SLO_ID, &status);
        cJSON *d = item(j, "data");
        if (status == 200 && d != NULL) {
            last = str(d, "state.name");
            snprintf(last_buf, sizeof(last_buf), "%s", last);
            last_rem = num(d, "budget.remaining");
            if (strcmp(last, state) == 0 && (isnan(below) || last_rem < below)) {
                cJSON *out = cJSON_DetachItemFromObject(j, "data");
                cJSON_Delete(j);
                fprintf(stderr, "state %s reached %.1f s after the load generator started\n", state,
                        (wall_ms() - E.lg_started_ms) / 1000.0);
                return out;
            }
        }
        cJSON_Delete(j);
        usleep(200 * 1000);
    }
    fprintf(stderr, "state %s never reached; last %s, remaining %f\n", state, last_buf, last_rem);
    peer_dump_log(&E.br);
    fail();
    return NULL;
}

/* GET /api/v1/gate?<query>: asserts the HTTP status and the shape of a
 * decision, and that the one svc-0 SLO it judged is in `state`. */
static cJSON *gate_http(const char *query, long want_status, const char *want_decision)
{
    char path[512];
    snprintf(path, sizeof(path), "/api/v1/gate?%s", query);
    long status = 0;
    cJSON *j = get(path, &status);
    assert_non_null(j);
    if (status != want_status || strcmp(str(j, "decision"), want_decision) != 0) {
        char *text = cJSON_Print(j);
        fprintf(stderr, "gate %s: HTTP %ld, want %ld %s:\n%s\n", query, status, want_status,
                want_decision, text);
        cJSON_free(text);
    }
    assert_int_equal(status, want_status);
    assert_string_equal(str(j, "decision"), want_decision);
    assert_true(cJSON_IsBool(item(j, "allow")));
    assert_int_equal(cJSON_IsTrue(item(j, "allow")), want_status == 200);
    assert_int_equal(cJSON_GetArraySize(item(j, "slos")), 1);
    if (want_status == 200) {
        assert_int_equal(cJSON_GetArraySize(item(j, "reasons")), 0);
    } else {
        assert_true(cJSON_GetArraySize(item(j, "reasons")) >= 1);
    }
    return j;
}

/* The gate for svc-0 at a policy state: HTTP, text CLI and JSON CLI. */
static void check_gate_in_state(const char *state, bool allow)
{
    cJSON *j = gate_http("service=svc-0", allow ? 200 : 409, allow ? "allow" : "deny");
    const cJSON *s = cJSON_GetArrayItem(item(j, "slos"), 0);
    assert_string_equal(str(s, "id"), SLO_ID);
    assert_string_equal(str(s, "state"), state);
    assert_int_equal(cJSON_IsTrue(item(s, "allow_deploy")), allow);
    assert_true(cJSON_IsFalse(item(s, "stale")));
    assert_true(cJSON_IsFalse(item(s, "no_data")));
    assert_true(isfinite(num(s, "budget_remaining")));
    assert_true(isfinite(num(s, "burn_rate_1h")));
    assert_string_equal(str(j, "criteria.on_no_data"), "deny");
    if (!allow) {
        char quoted[64];
        snprintf(quoted, sizeof(quoted), "\"%s\"", state);
        assert_true(any_contains(item(j, "reasons"), SLO_ID, "does not allow deploys"));
        assert_true(any_contains(item(j, "reasons"), "policy state", quoted));
    }
    cJSON_Delete(j);

    cli_result r;
    run_gate(&r, "--service", "svc-0", NULL);
    expect_exit(&r, allow ? 0 : 1);
    if (allow) {
        assert_non_null(strstr(r.out, "ALLOW: service svc-0 may deploy (1 SLO checked)"));
    } else {
        char quoted[64];
        snprintf(quoted, sizeof(quoted), "policy state \"%s\"", state);
        assert_non_null(strstr(r.out, "DENY: service svc-0 may not deploy now"));
        assert_non_null(strstr(r.out, quoted));
    }

    run_gate(&r, "--service", "svc-0", "--output", "json", NULL);
    expect_exit(&r, allow ? 0 : 1);
    cJSON *o = cJSON_Parse(r.out);
    assert_non_null(o);
    assert_int_equal((int)num(o, "exit_code"), allow ? 0 : 1);
    assert_string_equal(str(o, "decision"), allow ? "allow" : "deny");
    assert_int_equal(cJSON_IsTrue(item(o, "allow")), allow);
    assert_int_equal((int)num(o, "http_status"), allow ? 200 : 409);
    assert_true(cJSON_IsNull(item(o, "message")));
    assert_int_equal(cJSON_GetArraySize(item(o, "reasons")), allow ? 0 : 1);
    const cJSON *as = cJSON_GetArrayItem(item(o, "answer.slos"), 0);
    assert_string_equal(str(as, "state"), state);
    cJSON_Delete(o);
}

/* min_remaining=60% over HTTP and the CLI: allows when the budget
 * remaining is above 60%, denies (naming the minimum) when below. */
static void check_min_remaining_60(bool above)
{
    cJSON *j =
        gate_http("service=svc-0&min_remaining=60%25", above ? 200 : 409, above ? "allow" : "deny");
    assert_true(fabs(num(j, "criteria.min_remaining") - 0.6) < 1e-12);
    const cJSON *s = cJSON_GetArrayItem(item(j, "slos"), 0);
    assert_string_equal(str(s, "state"), "healthy");
    assert_true(cJSON_IsTrue(item(s, "allow_deploy")));
    if (!above) {
        assert_int_equal(cJSON_GetArraySize(item(j, "reasons")), 1);
        assert_true(any_contains(item(j, "reasons"), "is below the minimum 60.0%", NULL));
    }
    cJSON_Delete(j);

    cli_result r;
    run_gate(&r, "--service", "svc-0", "--min-remaining", "60%", NULL);
    expect_exit(&r, above ? 0 : 1);
    if (!above) {
        assert_non_null(strstr(r.out, "is below the minimum 60.0%"));
    }
}

/* ------------------------------------------------------------------------
 * Fixture.
 * ---------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    E.bin = getenv("BURNRATE_BIN");
    E.loadgen = getenv("BURNRATE_LOADGEN");
    if (E.bin == NULL || E.loadgen == NULL) {
        fprintf(stderr, "needs BURNRATE_BIN and BURNRATE_LOADGEN\n");
        return -1;
    }
    E.dir = tu_mkdtemp("gate-e2e");
    if (E.dir == NULL) {
        return -1;
    }
    E.port = peer_free_port();
    snprintf(E.base, sizeof(E.base), "http://127.0.0.1:%d", E.port);
    char *slos = tu_write_file(E.dir, "slos.yml", SLO_FILE);
    char cfg_text[2048];
    snprintf(cfg_text, sizeof(cfg_text),
             "evaluation:\n  interval: 1s\nstorage:\n  data_dir: %s/data\nslos:\n  - %s\n", E.dir,
             slos);
    char *cfg = tu_write_file(E.dir, "burnrate.yml", cfg_text);
    char listen[64];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", E.port);
    char log[1024];
    snprintf(log, sizeof(log), "%s/burnrate.log", E.dir);
    char *argv[] = {(char *)E.bin, "serve", "--config", cfg, "--listen", listen, NULL};
    int rc = peer_start(&E.br, log, argv);
    free(slos);
    free(cfg);
    if (rc != 0) {
        return -1;
    }
    char ready[128];
    snprintf(ready, sizeof(ready), "%s/-/ready", E.base);
    if (!peer_wait_http(&E.br, ready, 30)) {
        peer_dump_log(&E.br);
        return -1;
    }

    /* An hour of history, then live steps every second. The incident
     * starts 20 s into the live phase and fails 25% of svc-0's requests
     * until the test is over: about 0.6% of the budget per second. */
    char url[128];
    snprintf(url, sizeof(url), "%s/api/v1/write", E.base);
    char lglog[1024];
    snprintf(lglog, sizeof(lglog), "%s/loadgen.log", E.dir);
    /* clang-format off */
    char *lgv[] = {(char *)E.loadgen, "--url", url, "--services", "2", "--endpoints", "2",
                   "--interval", "1s", "--backfill", "1h", "--live",
                   "--incident", "1h20s:30m:0.25", "--incident-service", "0",
                   "--concurrency", "1", "--seed", "11", "--quiet", NULL};
    /* clang-format on */
    E.lg_started_ms = wall_ms();
    if (peer_start(&E.lg, lglog, lgv) != 0) {
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (E.lg.pid > 0) {
        peer_stop(&E.lg, SIGTERM, 10);
    }
    if (E.br.pid > 0) {
        peer_stop(&E.br, SIGTERM, 20);
    }
    if (getenv("BR_KEEP_TEST_DIR") == NULL) {
        tu_rmtree(E.dir);
    } else {
        fprintf(stderr, "kept %s\n", E.dir);
    }
    free(E.dir);
    return 0;
}

/* ------------------------------------------------------------------------
 * The tests, in the order the budget burns.
 * ---------------------------------------------------------------------- */

static void test_gate_allows_while_healthy_and_numbers_match_raw_data(void **state)
{
    (void)state;
    /* Wait until the backfill is in (live samples are arriving), and one
     * more tick so the evaluation has recounted it all. */
    double deadline = peer_now() + 60;
    bool live = false;
    while (!live && peer_now() < deadline) {
        long status = 0;
        cJSON *j = get("/api/v1/slos/" SLO_ID, &status);
        const char *ls = str(j, "data.last_sample_time");
        live = status == 200 && ls[0] != '\0' && num(j, "data.data_age_seconds") < 3.0 &&
               num(j, "data.period.end_ms") > E.lg_started_ms + 2000;
        cJSON_Delete(j);
        usleep(200 * 1000);
    }
    assert_true(live);
    usleep(1500 * 1000);

    cJSON *d = wait_for_state("healthy", NAN);
    /* The policy is the default one. */
    static const char *names[] = {"healthy", "caution", "critical", "exhausted"};
    static const double above[] = {0.5, 0.25, 0.1, NAN};
    assert_int_equal(cJSON_GetArraySize(item(d, "policy")), 4);
    for (int i = 0; i < 4; i++) {
        const cJSON *p = cJSON_GetArrayItem(item(d, "policy"), i);
        assert_string_equal(str(p, "name"), names[i]);
        if (isnan(above[i])) {
            assert_true(cJSON_IsNull(item(p, "above")));
        } else {
            assert_true(fabs(num(p, "above") - above[i]) < 1e-12);
        }
        assert_int_equal(cJSON_IsTrue(item(p, "allow_deploy")), i < 2);
    }
    assert_true(fabs(num(d, "objective") - OBJECTIVE) < 1e-12);
    assert_true(cJSON_IsFalse(item(d, "stale")));
    assert_true(cJSON_IsTrue(item(d, "state.allow_deploy")));
    double remaining = num(d, "budget.remaining");
    assert_true(remaining > 0.6);

    check_gate_in_state("healthy", true);
    check_min_remaining_60(true);
    double want = check_numbers_against_raw(d);
    assert_true(want > 0.6);
    cJSON_Delete(d);
}

static void test_gate_min_remaining_denies_while_healthy_below_it(void **state)
{
    (void)state;
    cJSON *d = wait_for_state("healthy", 0.6);
    check_min_remaining_60(false);
    /* The plain gate still allows: the policy state is healthy. */
    check_gate_in_state("healthy", true);
    double want = check_numbers_against_raw(d);
    assert_true(want > 0.5 && want < 0.6);
    cJSON_Delete(d);
}

static void test_gate_allows_in_caution(void **state)
{
    (void)state;
    cJSON *d = wait_for_state("caution", NAN);
    assert_string_equal(str(d, "state.previous"), "healthy");
    assert_true(cJSON_IsTrue(item(d, "state.allow_deploy")));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(item(d, "state.actions"), 0)),
                        "reduce_deployment_frequency");
    check_gate_in_state("caution", true);

    /* allow_states narrows what may deploy: caution is not in it. */
    cJSON *j = gate_http("service=svc-0&allow_states=healthy", 409, "deny");
    assert_true(any_contains(item(j, "reasons"), "\"caution\"", "is not in allow_states"));
    cJSON_Delete(j);
    cli_result r;
    run_gate(&r, "--service", "svc-0", "--allow-states", "healthy", NULL);
    expect_exit(&r, 1);

    double want = check_numbers_against_raw(d);
    assert_true(want > 0.25 && want <= 0.5);
    cJSON_Delete(d);
}

static void test_gate_denies_in_critical(void **state)
{
    (void)state;
    cJSON *d = wait_for_state("critical", NAN);
    assert_string_equal(str(d, "state.previous"), "caution");
    assert_true(cJSON_IsFalse(item(d, "state.allow_deploy")));
    check_gate_in_state("critical", false);

    /* The same SLO asked for by id, and the other service still allowed. */
    cJSON *j = gate_http("slo=" SLO_ID, 409, "deny");
    cJSON_Delete(j);
    j = gate_http("service=svc-1", 200, "allow");
    assert_string_equal(str(cJSON_GetArrayItem(item(j, "slos"), 0), "state"), "healthy");
    cJSON_Delete(j);

    /* The roll-up agrees. */
    long status = 0;
    j = get("/api/v1/services", &status);
    assert_int_equal(status, 200);
    const cJSON *svc;
    int seen = 0;
    cJSON_ArrayForEach(svc, item(j, "data.services"))
    {
        if (strcmp(str(svc, "service"), "svc-0") == 0) {
            seen++;
            assert_true(cJSON_IsFalse(item(svc, "allow_deploy")));
            const char *worst = str(svc, "worst_state");
            assert_true(strcmp(worst, "critical") == 0 || strcmp(worst, "exhausted") == 0);
        } else if (strcmp(str(svc, "service"), "svc-1") == 0) {
            seen++;
            assert_true(cJSON_IsTrue(item(svc, "allow_deploy")));
        }
    }
    assert_int_equal(seen, 2);
    cJSON_Delete(j);

    double want = check_numbers_against_raw(d);
    assert_true(want > 0.1 && want <= 0.25);
    cJSON_Delete(d);
}

static void test_gate_denies_when_exhausted(void **state)
{
    (void)state;
    cJSON *d = wait_for_state("exhausted", NAN);
    assert_string_equal(str(d, "state.previous"), "critical");
    assert_true(cJSON_IsFalse(item(d, "state.allow_deploy")));
    check_gate_in_state("exhausted", false);
    double want = check_numbers_against_raw(d);
    assert_true(want <= 0.1);
    cJSON_Delete(d);
}

static void test_gate_cannot_decide_on_stale_data(void **state)
{
    (void)state;
    /* Traffic stops; evaluation goes on. */
    assert_true(E.lg.pid > 0);
    peer_stop(&E.lg, SIGTERM, 10);
    E.lg.pid = 0;
    double stopped = peer_now();

    /* Right after the stop the data is still fresh for svc-1. */
    cJSON *j = gate_http("service=svc-1&max_data_age=5s", 200, "allow");
    cJSON_Delete(j);

    usleep(7 * 1000 * 1000);
    assert_true(peer_now() - stopped >= 7.0);

    /* svc-1 (healthy) has stale data only: "no_data", cannot decide. */
    j = gate_http("service=svc-1&max_data_age=5s", 409, "no_data");
    const cJSON *s = cJSON_GetArrayItem(item(j, "slos"), 0);
    assert_string_equal(str(s, "state"), "healthy");
    assert_true(cJSON_IsTrue(item(s, "stale")));
    assert_true(any_contains(item(j, "reasons"), "data is stale", "max_data_age 5s"));
    assert_true(fabs(num(j, "criteria.max_data_age_seconds") - 5.0) < 1e-9);
    cJSON_Delete(j);

    /* on_no_data=allow excuses an SLO without traffic, never stale data. */
    j = gate_http("service=svc-1&max_data_age=5s&on_no_data=allow", 409, "no_data");
    assert_string_equal(str(j, "criteria.on_no_data"), "allow");
    assert_true(any_contains(item(j, "reasons"), "data is stale", NULL));
    cJSON_Delete(j);

    cli_result r;
    run_gate(&r, "--service", "svc-1", "--max-data-age", "5s", NULL);
    expect_exit(&r, 2);
    assert_non_null(strstr(r.out, "CANNOT DECIDE: service svc-1"));
    assert_non_null(strstr(r.out, "data is stale"));
    run_gate(&r, "--service", "svc-1", "--max-data-age", "5s", "--on-no-data", "allow", NULL);
    expect_exit(&r, 2);
    run_gate(&r, "--service", "svc-1", "--max-data-age", "5s", "--output", "json", NULL);
    expect_exit(&r, 2);
    cJSON *o = cJSON_Parse(r.out);
    assert_non_null(o);
    assert_int_equal((int)num(o, "exit_code"), 2);
    assert_string_equal(str(o, "decision"), "no_data");
    assert_int_equal((int)num(o, "http_status"), 409);
    assert_string_equal(str(o, "message"), "the data needed to decide is missing or stale");
    assert_true(any_contains(item(o, "reasons"), "data is stale", NULL));
    cJSON_Delete(o);

    /* svc-0 is exhausted as well as stale: the policy's "deny" wins (the
     * last known state forbids deploys), and the stale data is named. */
    j = gate_http("service=svc-0&max_data_age=5s", 409, "deny");
    assert_true(any_contains(item(j, "reasons"), "data is stale", NULL));
    assert_true(any_contains(item(j, "reasons"), "policy state", "\"exhausted\""));
    cJSON_Delete(j);
    run_gate(&r, "--service", "svc-0", "--max-data-age", "5s", NULL);
    expect_exit(&r, 1);

    /* Without max_data_age the default (10m) still calls the data fresh. */
    j = gate_http("service=svc-1", 200, "allow");
    cJSON_Delete(j);
    long status = 0;
    j = get("/api/v1/slos/" SLO_ID, &status);
    assert_int_equal(status, 200);
    assert_true(num(j, "data.data_age_seconds") >= 5.0);
    cJSON_Delete(j);
}

static void test_gate_cli_cannot_decide_when_server_is_unreachable(void **state)
{
    (void)state;
    int st = peer_stop(&E.br, SIGTERM, 20);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);

    cli_result r;
    run_gate(&r, "--service", "svc-0", NULL);
    expect_exit(&r, 2);
    assert_non_null(strstr(r.out, "CANNOT DECIDE: service svc-0: cannot reach"));

    run_gate(&r, "--service", "svc-0", "--output", "json", NULL);
    expect_exit(&r, 2);
    cJSON *o = cJSON_Parse(r.out);
    assert_non_null(o);
    assert_int_equal((int)num(o, "exit_code"), 2);
    assert_string_equal(str(o, "decision"), "error");
    assert_true(cJSON_IsFalse(item(o, "allow")));
    assert_true(cJSON_IsNull(item(o, "http_status")));
    assert_true(cJSON_IsNull(item(o, "answer")));
    assert_non_null(strstr(str(o, "message"), "cannot reach"));
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gate_allows_while_healthy_and_numbers_match_raw_data),
        cmocka_unit_test(test_gate_min_remaining_denies_while_healthy_below_it),
        cmocka_unit_test(test_gate_allows_in_caution),
        cmocka_unit_test(test_gate_denies_in_critical),
        cmocka_unit_test(test_gate_denies_when_exhausted),
        cmocka_unit_test(test_gate_cannot_decide_on_stale_data),
        cmocka_unit_test(test_gate_cli_cannot_decide_when_server_is_unreachable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
