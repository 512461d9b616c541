/*
 * test_crash_recovery.c — the durability promise, tested on the real
 * binaries: "while a load generator writes, kill -9 the server repeatedly;
 * after each restart every sample that was acknowledged with a 2xx is
 * present and nothing unacknowledged is invented. A corrupted WAL byte is
 * survived with a clear log line."
 *
 * Kill rounds (test_crash_kill9_during_ingest_loses_no_acked_sample). Each
 * round starts burnrate-loadgen in backfill mode on the next slice of
 * history (a "window": --now and --backfill chosen so windows never
 * overlap), 4 senders, one step per request, logging every 2xx to an ack
 * log. After a seeded random 50-1500 ms burnrate gets SIGKILL and is
 * restarted on the same data dir and port; the load generator keeps
 * retrying into the new process (so requests cut by the kill are resent:
 * partly stored ones must dedupe), and is stopped with SIGTERM a little
 * after its first acknowledgement past the restart. The window is then
 * checked through /api/v1/export against a --dump of the same run (values
 * depend only on the flags): every acknowledged sample present with the
 * same bits, every stored sample one that some request carried. Rounds run
 * in three phases (defaults; snapshot_interval 1s, so kills also land
 * during and after snapshots; fsync: always), and after each phase every
 * window so far is checked again in one export, so data lost by a later
 * replay is caught too.
 *
 * WAL damage (the other tests): after a load has been fully acknowledged,
 * one payload byte in the middle of the newest segment holding records is
 * flipped (after a clean stop, and after a kill -9 that leaves no shutdown
 * snapshot), or the newest segment is cut in the middle of a record (after
 * a kill -9). burnrate must start, log a warn line naming the problem and
 * the segment, serve every sample of the records before the damaged one
 * (found with our own reading of the segment files), invent nothing, and
 * accept and keep new writes across one more restart.
 *
 * Figures go to stderr. BR_CRASH_SEED=n replays another kill schedule;
 * BR_KEEP_TEST_DIR keeps the temp dir. Verification: crash_verify.h.
 */
/* cmocka needs these first, in this order. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
/* clang-format on */

#include "tests/helpers/peer.h"
#include "tests/integration/crash_verify.h"

#include <inttypes.h>
#include <stdint.h>
#include <sys/stat.h>

#define SERVICES     2
#define ENDPOINTS    4
#define N_SERIES     (SERVICES * ENDPOINTS * 21) /* loadgen: 7 codes + 12 le + sum + count */
#define STEP_MS      10000
#define LOADGEN_SEED 42
#define ROUND_SPAN   6000 /* steps per kill round: more than a round can send */
#define KILLS_WAL    10   /* rounds with the defaults: fsync interval, no snapshot yet */
#define KILLS_SNAP   10   /* then: snapshot_interval 1s, so kills also hit snapshots */
#define KILLS_ALWAYS 4    /* then: fsync always */
#define KILLS        (KILLS_WAL + KILLS_SNAP + KILLS_ALWAYS)
#define DUMP_MARGIN  8   /* steps dumped past the newest acknowledged one */
#define DAMAGE_SPAN  400 /* steps of the load before WAL damage */
#define MAX_SEGMENTS 4096

typedef struct env {
    char *dir;
    const char *bin;
    const char *loadgen;
    int port;
    int n_starts;
    int n_runs;
    peer br;
    char data[700];
    char wal[720];
    char log[800]; /* log of the running burnrate */
    uint64_t rng;
} env;

static env E;

/* ---- small helpers ------------------------------------------------------ */

static uint64_t rnd(void)
{
    uint64_t z = (E.rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    long n = 0;
    char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
        for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + got - p))) != NULL; p++) {
            n++;
        }
    }
    fclose(f);
    return n;
}

/* Lines of a log file that contain needle. */
static long count_matching(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    char line[2048];
    long n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        n += strstr(line, needle) != NULL;
    }
    fclose(f);
    return n;
}

/* Finds the last line of a log file containing every non-NULL needle;
 * copies it to out. */
static bool log_find(const char *path, const char *a, const char *b, const char *c, char *out,
                     size_t size)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return false;
    }
    char line[2048];
    bool found = false;
    while (fgets(line, sizeof(line), f) != NULL) {
        if ((a == NULL || strstr(line, a)) && (b == NULL || strstr(line, b)) &&
            (c == NULL || strstr(line, c))) {
            snprintf(out, size, "%s", line);
            out[strcspn(out, "\n")] = '\0';
            found = true;
        }
    }
    fclose(f);
    return found;
}

/* duration_ms of the "WAL replay done" line in the log, -1 if absent. */
static long replay_ms(const char *log)
{
    char line[2048];
    long long v = -1;
    if (log_find(log, "WAL replay done", NULL, NULL, line, sizeof(line))) {
        const char *p = strstr(line, "duration_ms=");
        if (p != NULL) {
            v = strtoll(p + 12, NULL, 10);
        }
    }
    return (long)v;
}

/* Waits up to timeout_s for p to exit; returns its waitpid status, or -1
 * after killing it on timeout. */
static int wait_exit(peer *p, double timeout_s)
{
    double deadline = peer_now() + timeout_s;
    int status = 0;
    while (p->pid > 0) {
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            return status;
        }
        if (peer_now() > deadline) {
            peer_stop(p, SIGKILL, 10);
            return -1;
        }
        sleep_ms(10);
    }
    return -1;
}

/* ---- burnrate ------------------------------------------------------------ */

/* Starts burnrate on E.data and E.port (config may be NULL) with a fresh
 * log file, and waits for /-/ready. Returns the ms from exec to ready, or
 * -1 (the log is dumped). */
static double br_start(const char *config)
{
    snprintf(E.log, sizeof(E.log), "%s/burnrate-%03d.log", E.dir, ++E.n_starts);
    char listen[64];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", E.port);
    char *argv[12];
    int n = 0;
    argv[n++] = (char *)E.bin;
    argv[n++] = "serve";
    if (config != NULL) {
        argv[n++] = "--config";
        argv[n++] = (char *)config;
    }
    argv[n++] = "--listen";
    argv[n++] = listen;
    argv[n++] = "--data-dir";
    argv[n++] = E.data;
    argv[n] = NULL;
    double t0 = peer_now();
    if (peer_start(&E.br, E.log, argv) != 0) {
        return -1;
    }
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/-/ready", E.port);
    while (peer_now() < t0 + 60) {
        int status = 0;
        if (waitpid(E.br.pid, &status, WNOHANG) == E.br.pid) {
            E.br.pid = 0;
            fprintf(stderr, "burnrate exited during start-up (status %d)\n", status);
            peer_dump_log(&E.br);
            return -1;
        }
        tu_http_result r;
        if (tu_http("GET", url, NULL, 0, NULL, &r) == 0 && r.status == 200) {
            tu_http_free(&r);
            return (peer_now() - t0) * 1000;
        }
        tu_http_free(&r);
        sleep_ms(10);
    }
    peer_dump_log(&E.br);
    return -1;
}

/* ---- burnrate-loadgen ---------------------------------------------------- */

typedef struct lg_args {
    char *argv[48];
    char buf[48][512];
    int n;
} lg_args;

static void lg_add(lg_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void lg_add(lg_args *a, const char *fmt, ...)
{
    assert_true(a->n < 47);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->buf[a->n], sizeof(a->buf[0]), fmt, ap);
    va_end(ap);
    a->argv[a->n] = a->buf[a->n];
    a->n++;
    a->argv[a->n] = NULL;
}

/* The flags that fix the data: steps 0..n_steps-1 from run_start. */
static void lg_model(lg_args *a, int64_t run_start, int64_t n_steps)
{
    a->n = 0;
    lg_add(a, "%s", E.loadgen);
    lg_add(a, "--seed");
    lg_add(a, "%d", LOADGEN_SEED);
    lg_add(a, "--services");
    lg_add(a, "%d", SERVICES);
    lg_add(a, "--endpoints");
    lg_add(a, "%d", ENDPOINTS);
    lg_add(a, "--interval");
    lg_add(a, "%ds", STEP_MS / 1000);
    lg_add(a, "--now");
    lg_add(a, "%" PRId64, run_start + (n_steps - 1) * STEP_MS);
    lg_add(a, "--backfill");
    lg_add(a, "%" PRId64 "s", (n_steps - 1) * STEP_MS / 1000);
}

/* Starts a sending run over [run_start, +span steps) with acks to ack. */
static int lg_send(peer *lg, int64_t run_start, int64_t span, const char *ack, char *log_out,
                   size_t log_size)
{
    lg_args a;
    lg_model(&a, run_start, span);
    lg_add(&a, "--url");
    lg_add(&a, "http://127.0.0.1:%d/api/v1/write", E.port);
    lg_add(&a, "--concurrency");
    lg_add(&a, "4");
    lg_add(&a, "--series-per-request");
    lg_add(&a, "21");
    lg_add(&a, "--steps-per-request");
    lg_add(&a, "1");
    lg_add(&a, "--max-retries");
    lg_add(&a, "1000");
    lg_add(&a, "--timeout");
    lg_add(&a, "10s");
    lg_add(&a, "--ack-log");
    lg_add(&a, "%s", ack);
    snprintf(log_out, log_size, "%s/loadgen-%03d.log", E.dir, ++E.n_runs);
    return peer_start(lg, log_out, a.argv);
}

/* Reads the loadgen's summary line ("requests=... 4xx=..."). */
static bool lg_summary(const char *log, char *line, size_t size, long long *n4xx)
{
    if (!log_find(log, "requests=", "samples_per_second=", NULL, line, size)) {
        return false;
    }
    return cv_field(line, "4xx", n4xx);
}

/* Dumps window w's first n_steps with the same model flags and loads the
 * values. Returns the samples loaded. */
static long lg_dump(cv_model *m, cv_window *w)
{
    char dump[800];
    snprintf(dump, sizeof(dump), "%s/dump-%03d", E.dir, ++E.n_runs);
    lg_args a;
    lg_model(&a, w->run_start, w->n_steps);
    lg_add(&a, "--series-per-request");
    lg_add(&a, "1000");
    lg_add(&a, "--steps-per-request");
    lg_add(&a, "64");
    lg_add(&a, "--dump");
    lg_add(&a, "%s", dump);
    char log[900];
    snprintf(log, sizeof(log), "%s.log", dump);
    peer p;
    assert_int_equal(peer_start(&p, log, a.argv), 0);
    int st = wait_exit(&p, 120);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        peer_dump_log(&p);
        fail_msg("loadgen --dump failed (status %d)", st);
    }
    char msg[512] = "";
    long n = cv_load_dump(m, w, dump, msg, sizeof(msg));
    if (n < 0) {
        fail_msg("reading the dump: %s", msg);
    }
    tu_rmtree(dump);
    unlink(log);
    return n;
}

/* ---- checking through /api/v1/export -------------------------------------- */

/* Exports everything (only == NULL) or one window, checks it against the
 * model and fails the test on any lost or invented sample. */
static void export_check(cv_model *m, const cv_window *only, const char *what, cv_report *rep)
{
    char url[512];
    int o = snprintf(url, sizeof(url),
                     "http://127.0.0.1:%d/api/v1/export?match[]=%%7B__name__%%3D~%%22.%%2B%%22%%7D",
                     E.port);
    if (only != NULL) {
        snprintf(url + o, sizeof(url) - (size_t)o, "&start=%.3f&end=%.3f",
                 (double)only->run_start / 1000.0,
                 (double)(only->run_start + (only->span - 1) * only->step_ms) / 1000.0);
    }
    tu_http_result r;
    assert_int_equal(tu_http("GET", url, NULL, 0, NULL, &r), 0);
    if (r.status != 200) {
        fail_msg("%s: export answered %ld: %.300s", what, r.status, r.body);
    }
    memset(rep, 0, sizeof(*rep));
    cv_reset_found(m);
    cv_check_export(m, r.body, rep);
    cv_count_missing(m, only, rep);
    tu_http_free(&r);
    if (rep->lost != 0 || rep->invented != 0) {
        cv_report_print(rep, what);
        peer_dump_log(&E.br);
        fail_msg("%s: %zu acknowledged samples lost, %zu samples invented", what, rep->lost,
                 rep->invented);
    }
}

/* ---- fixtures ------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    memset(&E, 0, sizeof(E));
    E.bin = getenv("BURNRATE_BIN");
    E.loadgen = getenv("BURNRATE_LOADGEN");
    E.dir = tu_mkdtemp("crash");
    if (E.bin == NULL || E.loadgen == NULL || E.dir == NULL || access(E.bin, X_OK) != 0 ||
        access(E.loadgen, X_OK) != 0) {
        fprintf(stderr, "needs BURNRATE_BIN and BURNRATE_LOADGEN (executables)\n");
        if (E.dir != NULL) {
            tu_rmtree(E.dir);
            free(E.dir);
            E.dir = NULL;
        }
        return -1;
    }
    E.port = peer_free_port();
    snprintf(E.data, sizeof(E.data), "%s/data", E.dir);
    snprintf(E.wal, sizeof(E.wal), "%s/wal", E.data);
    const char *seed = getenv("BR_CRASH_SEED");
    E.rng = seed != NULL ? strtoull(seed, NULL, 10) : 20261127;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    peer_stop(&E.br, SIGKILL, 10);
    if (getenv("BR_KEEP_TEST_DIR") == NULL) {
        tu_rmtree(E.dir);
    } else {
        fprintf(stderr, "kept %s\n", E.dir);
    }
    free(E.dir);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_spread(const char *what, double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    fprintf(stderr, "%s: min %.0f, median %.0f, max %.0f ms\n", what, v[0], v[n / 2], v[n - 1]);
}

/* ---- kill -9 rounds ------------------------------------------------------- */

/* Phase of round r: 0 defaults, 1 frequent snapshots, 2 fsync always. */
static int phase_of(int r)
{
    return r < KILLS_WAL ? 0 : r < KILLS_WAL + KILLS_SNAP ? 1 : 2;
}

static void test_crash_kill9_during_ingest_loses_no_acked_sample(void **state)
{
    (void)state;
    static const char *const phase_name[3] = {"interval", "snapshots", "always"};
    fprintf(stderr, "kill schedule seed %" PRIu64 " (BR_CRASH_SEED)\n", E.rng);
    char *configs[3] = {
        NULL,
        tu_write_file(E.dir, "snapshots.yml", "storage:\n  snapshot_interval: 1s\n"),
        tu_write_file(E.dir, "fsync-always.yml", "storage:\n  wal:\n    fsync: always\n"),
    };
    assert_non_null(configs[1]);
    assert_non_null(configs[2]);
    int64_t base = wall_ms() - (int64_t)(KILLS + 2) * ROUND_SPAN * STEP_MS;
    base -= base % STEP_MS;
    cv_model m;
    cv_model_init(&m, N_SERIES);
    double restart[KILLS];
    double replay[KILLS];
    long acked_requests = 0;
    long acked_samples = 0;
    long retried = 0;
    long snapshots = 0;
    long torn = 0;
    long corrupt = 0;
    long errors = 0;
    int under_load = 0;
    assert_true(br_start(configs[phase_of(0)]) >= 0);
    for (int r = 0; r < KILLS; r++) {
        int64_t run_start = base + (int64_t)r * ROUND_SPAN * STEP_MS;
        char ack[800];
        char lg_log[800];
        snprintf(ack, sizeof(ack), "%s/acks-%03d.log", E.dir, r);
        peer lg;
        assert_int_equal(lg_send(&lg, run_start, ROUND_SPAN, ack, lg_log, sizeof(lg_log)), 0);

        long delay = 50 + (long)(rnd() % 1451);
        sleep_ms(delay);
        int st = 0;
        bool running = waitpid(lg.pid, &st, WNOHANG) == 0;
        if (!running) {
            lg.pid = 0;
        }
        under_load += running;
        peer_stop(&E.br, SIGKILL, 10);
        long acks_at_kill = count_lines(ack);
        long snaps = count_matching(E.log, "snapshot written");
        snapshots += snaps;

        /* The restart ending round r serves round r + 1. */
        restart[r] = br_start(r + 1 < KILLS ? configs[phase_of(r + 1)] : NULL);
        if (restart[r] < 0) {
            peer_stop(&lg, SIGKILL, 10);
            fail_msg("round %d: burnrate did not come back after kill -9", r);
        }
        replay[r] = (double)replay_ms(E.log);

        /* Let the load generator resend into the new process, then stop it. */
        double deadline = peer_now() + 60;
        while (lg.pid > 0 && count_lines(ack) <= acks_at_kill) {
            if (waitpid(lg.pid, &st, WNOHANG) == lg.pid) {
                lg.pid = 0;
                break;
            }
            if (peer_now() > deadline) {
                peer_stop(&lg, SIGKILL, 10);
                fail_msg("round %d: no request acknowledged within 60 s of the restart", r);
            }
            sleep_ms(5);
        }
        sleep_ms(50 + (long)(rnd() % 251));
        peer_stop(&lg, SIGTERM, 30);
        torn += count_matching(E.log, "WAL torn tail");
        corrupt += count_matching(E.log, "WAL corruption");
        errors += count_matching(E.log, "level=error");
        char summary[2048];
        long long n4xx = -1;
        if (!lg_summary(lg_log, summary, sizeof(summary), &n4xx) || n4xx != 0) {
            peer dump = {.pid = 0};
            snprintf(dump.log_path, sizeof(dump.log_path), "%s", lg_log);
            peer_dump_log(&dump);
            fail_msg("round %d: the load generator ended without a summary or got client errors "
                     "(a 4xx means burnrate refused a resent sample)",
                     r);
        }

        /* Expected data: dump as far as anything can have been sent. */
        cv_acks sum;
        char msg[512] = "";
        assert_int_equal(cv_read_acks(ack, NULL, &sum, msg, sizeof(msg)), 0);
        int64_t n_steps = sum.max_step + 1 + DUMP_MARGIN;
        cv_window *w = cv_window_add(&m, run_start, STEP_MS, ROUND_SPAN, n_steps);
        lg_dump(&m, w);
        if (cv_read_acks(ack, w, &sum, msg, sizeof(msg)) != 0) {
            fail_msg("round %d: %s", r, msg);
        }
        acked_requests += sum.requests;
        acked_samples += sum.samples;
        retried += sum.retried;

        char what[64];
        snprintf(what, sizeof(what), "round %d", r);
        cv_report rep;
        export_check(&m, w, what, &rep);
        fprintf(stderr,
                "round %2d (%-9s): kill after %4ld ms%s, %2ld snapshots before it, %5ld acks "
                "before it, %5ld in all (%ld resent), restart %4.0f ms (replay %4.0f ms), "
                "%zu of %zu stored samples needed, all there\n",
                r, phase_name[phase_of(r)], delay, running ? "" : " (load had ended)", snaps,
                acks_at_kill, sum.requests, sum.retried, restart[r], replay[r], rep.needed,
                rep.samples);
        if (r + 1 == KILLS || phase_of(r + 1) != phase_of(r)) {
            /* Everything so far, again: a later replay must not lose older data. */
            export_check(&m, NULL, "check of every round so far", &rep);
            fprintf(stderr,
                    "after round %d: all %zu acknowledged samples of %zu rounds "
                    "verified in one export of %zu samples\n",
                    r, rep.needed, m.n_w, rep.samples);
            assert_int_equal((long)rep.needed, acked_samples);
        }
    }
    int st = peer_stop(&E.br, SIGTERM, 60);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    fprintf(stderr,
            "kills: %d (%d while the load generator was running): %d with defaults, "
            "%d with 1 s snapshots (%ld snapshots written before the kills), %d with fsync "
            "always\n",
            KILLS, under_load, KILLS_WAL, KILLS_SNAP, snapshots, KILLS_ALWAYS);
    fprintf(stderr,
            "acknowledged: %ld requests (%ld only after a resend), %ld samples, all "
            "verified; 0 lost, 0 invented\n",
            acked_requests, retried, acked_samples);
    fprintf(stderr,
            "start-up log after the kills: %ld torn tails, %ld corruption warnings, %ld "
            "error lines\n",
            torn, corrupt, errors);
    print_spread("restart (exec to /-/ready)", restart, KILLS);
    print_spread("replay (\"WAL replay done\" duration_ms)", replay, KILLS);
    assert_true(acked_requests > 0);
    cv_model_free(&m);
    free(configs[1]);
    free(configs[2]);
}

/* ---- WAL damage ----------------------------------------------------------- */

/* Sends window [run_start, +span) to completion; every request must be
 * acknowledged. Adds the window to the model with its acks as needed. */
static cv_window *load_window(cv_model *m, int64_t run_start, int64_t span, long *acked_samples)
{
    char ack[800];
    char lg_log[800];
    snprintf(ack, sizeof(ack), "%s/acks-%03d.log", E.dir, E.n_runs + 1);
    peer lg;
    assert_int_equal(lg_send(&lg, run_start, span, ack, lg_log, sizeof(lg_log)), 0);
    int st = wait_exit(&lg, 120);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        peer_dump_log(&lg);
        fail_msg("the load generator did not get every request acknowledged (status %d)", st);
    }
    cv_window *w = cv_window_add(m, run_start, STEP_MS, span, span);
    lg_dump(m, w);
    cv_acks sum;
    char msg[512] = "";
    if (cv_read_acks(ack, w, &sum, msg, sizeof(msg)) != 0) {
        fail_msg("%s", msg);
    }
    assert_int_equal(sum.samples, (long)N_SERIES * span);
    *acked_samples = sum.samples;
    return w;
}

/* The newest segment that holds at least 3 records: its number, image and
 * records (free both with br_free). */
static uint32_t newest_segment(unsigned char **img, size_t *len, cv_wal_rec **recs, size_t *n)
{
    static uint32_t segs[MAX_SEGMENTS];
    size_t ns = cv_wal_segments(E.wal, segs, MAX_SEGMENTS);
    for (size_t i = ns; i-- > 0;) {
        char path[900];
        snprintf(path, sizeof(path), "%s/%08u", E.wal, segs[i]);
        assert_int_equal(cv_read_file(path, 1u << 30, img, len), 0);
        *n = cv_wal_records(*img, *len, recs);
        if (*n >= 3) {
            return segs[i];
        }
        br_free(*img);
        br_free(*recs);
    }
    fail_msg("no WAL segment with at least 3 records in %s", E.wal);
    return 0;
}

/*
 * Marks as needed every sample of the records that precede record `cut` of
 * segment `damaged` (all of earlier segments); counts the rest.
 */
static void needed_before(cv_model *m, uint32_t damaged, size_t cut, cv_wal_apply *before,
                          cv_wal_apply *after)
{
    static uint32_t segs[MAX_SEGMENTS];
    size_t ns = cv_wal_segments(E.wal, segs, MAX_SEGMENTS);
    cv_refmap refs;
    memset(&refs, 0, sizeof(refs));
    memset(before, 0, sizeof(*before));
    memset(after, 0, sizeof(*after));
    /* Forget what the acks said: only the WAL's order decides here. */
    for (size_t i = 0; i < m->n_w; i++) {
        memset(m->w[i].need, 0, (size_t)m->w[i].n_series * (size_t)m->w[i].n_steps);
        m->w[i].n_need = 0;
    }
    for (size_t i = 0; i < ns; i++) {
        char path[900];
        snprintf(path, sizeof(path), "%s/%08u", E.wal, segs[i]);
        unsigned char *img = NULL;
        size_t len = 0;
        cv_wal_rec *recs = NULL;
        assert_int_equal(cv_read_file(path, 1u << 30, &img, &len), 0);
        size_t n = cv_wal_records(img, len, &recs);
        for (size_t k = 0; k < n; k++) {
            bool is_before = segs[i] < damaged || (segs[i] == damaged && k < cut);
            char msg[512] = "";
            if (cv_wal_apply_record(m, &refs, &recs[k], img, is_before, is_before ? before : after,
                                    msg, sizeof(msg)) != 0) {
                fail_msg("segment %08u: %s", segs[i], msg);
            }
        }
        br_free(img);
        br_free(recs);
    }
    cv_refmap_free(&refs);
}

/* Before damaging it: the WAL on disk must hold exactly the acknowledged
 * samples (each request was sent once), all of known series. */
static void check_wal_holds(const cv_wal_apply *before, const cv_wal_apply *after, long acked)
{
    size_t held = before->samples + after->samples;
    if (held != (size_t)acked || before->unknown_ref + after->unknown_ref != 0 ||
        before->outside + after->outside != 0) {
        fail_msg("the WAL holds %zu samples (%zu of unknown series, %zu outside the data sent) "
                 "but %ld were acknowledged",
                 held, before->unknown_ref + after->unknown_ref, before->outside + after->outside,
                 acked);
    }
}

/* Common tail of the damage tests: restart, look for the warn line, check
 * the data before the damage, then new writes across one more restart. */
static void check_after_damage(cv_model *m, uint32_t seg, const char *kind, size_t before_samples,
                               size_t after_samples)
{
    double ms = br_start(NULL);
    if (ms < 0) {
        fail_msg("burnrate did not start after the WAL %s", kind);
    }
    char segname[16];
    snprintf(segname, sizeof(segname), "%08u", seg);
    char line[2048];
    if (!log_find(E.log, "level=warn", kind, segname, line, sizeof(line))) {
        peer_dump_log(&E.br);
        fail_msg("no warn line naming the %s of segment %s", kind, segname);
    }
    fprintf(stderr, "start-up after the damage: ready in %.0f ms; log: %s\n", ms, line);
    char replay_line[2048];
    if (log_find(E.log, "WAL replay done", NULL, NULL, replay_line, sizeof(replay_line))) {
        fprintf(stderr, "log: %s\n", replay_line);
    }
    cv_report rep;
    export_check(m, NULL, "after the damage", &rep);
    fprintf(stderr,
            "served %zu samples: all %zu from records before the damaged one, none "
            "invented; %zu samples were in the damaged record or after it\n",
            rep.samples, before_samples, after_samples);
    assert_int_equal(rep.needed, before_samples);

    /* New writes are accepted, and survive a clean restart with the repaired
     * log (which must then replay without complaint). */
    int64_t later = m->w[m->n_w - 1].run_start + 2 * DAMAGE_SPAN * STEP_MS;
    long acked = 0;
    load_window(m, later, DAMAGE_SPAN / 2, &acked);
    export_check(m, NULL, "new writes after the damage", &rep);
    int st = peer_stop(&E.br, SIGTERM, 60);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(br_start(NULL) >= 0);
    if (log_find(E.log, "level=warn", "WAL", NULL, line, sizeof(line))) {
        fail_msg("the repaired WAL still draws a warning: %s", line);
    }
    export_check(m, NULL, "after one more restart", &rep);
    fprintf(stderr,
            "%ld new samples acknowledged after the damage; after another restart "
            "%zu samples served, all verified\n",
            acked, rep.samples);
}

/* Loads a window, stops burnrate (cleanly or with SIGKILL), flips one
 * payload byte in the middle of the newest segment that holds records and
 * checks the restart. */
static void flip_byte_test(bool clean_stop)
{
    cv_model m;
    cv_model_init(&m, N_SERIES);
    int64_t base = wall_ms() - 4LL * DAMAGE_SPAN * STEP_MS;
    base -= base % STEP_MS;
    assert_true(br_start(NULL) >= 0);
    long acked = 0;
    load_window(&m, base, DAMAGE_SPAN, &acked);
    if (clean_stop) {
        int st = peer_stop(&E.br, SIGTERM, 60);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    } else {
        peer_stop(&E.br, SIGKILL, 10);
    }

    unsigned char *img = NULL;
    size_t len = 0;
    cv_wal_rec *recs = NULL;
    size_t n = 0;
    uint32_t seg = newest_segment(&img, &len, &recs, &n);
    /* The record holding the middle byte; never the last one (damage there
     * reads as a torn tail, which is another test). */
    size_t k = 0;
    while (k + 1 < n && recs[k + 1].off <= len / 2) {
        k++;
    }
    if (k + 1 >= n) {
        k = n / 2;
    }
    if (recs[k].len == 0) {
        k++;
    }
    size_t first = recs[k].off + CV_WAL_FRAME;
    size_t pos = len / 2 < first ? first : len / 2;
    if (pos >= first + recs[k].len) {
        pos = first + recs[k].len - 1;
    }
    cv_wal_apply before;
    cv_wal_apply after;
    needed_before(&m, seg, k, &before, &after);
    check_wal_holds(&before, &after, acked);
    assert_true(before.samples > 0);
    char path[900];
    snprintf(path, sizeof(path), "%s/%08u", E.wal, seg);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    unsigned char b = (unsigned char)(img[pos] ^ 0xff);
    assert_int_equal(pwrite(fd, &b, 1, (off_t)pos), 1);
    close(fd);
    fprintf(stderr,
            "%s; flipped byte %zu of %zu in segment %08u: payload of record %zu of %zu "
            "(%s, %u bytes)\n",
            clean_stop ? "clean stop" : "kill -9", pos, len, seg, k + 1, n,
            br_wal_record_type_name(recs[k].type), recs[k].len);
    br_free(img);
    br_free(recs);

    check_after_damage(&m, seg, "corrupt", before.samples, after.samples);
    cv_model_free(&m);
}

/* After a clean stop (the shutdown snapshot holds everything, so only the
 * warning and the repair are at stake). */
static void test_crash_flipped_wal_byte_after_clean_stop_is_survived_with_warning(void **state)
{
    (void)state;
    flip_byte_test(true);
}

/* After kill -9 (no shutdown snapshot: the WAL is all there is, and the
 * records before the flipped byte must come back). */
static void test_crash_flipped_wal_byte_after_kill9_keeps_records_before_it(void **state)
{
    (void)state;
    flip_byte_test(false);
}

static void test_crash_torn_wal_tail_is_truncated_with_warning(void **state)
{
    (void)state;
    cv_model m;
    cv_model_init(&m, N_SERIES);
    int64_t base = wall_ms() - 4LL * DAMAGE_SPAN * STEP_MS;
    base -= base % STEP_MS;
    assert_true(br_start(NULL) >= 0);
    long acked = 0;
    load_window(&m, base, DAMAGE_SPAN, &acked);
    peer_stop(&E.br, SIGKILL, 10);

    unsigned char *img = NULL;
    size_t len = 0;
    cv_wal_rec *recs = NULL;
    size_t n = 0;
    uint32_t seg = newest_segment(&img, &len, &recs, &n);
    static uint32_t segs[MAX_SEGMENTS];
    size_t ns = cv_wal_segments(E.wal, segs, MAX_SEGMENTS);
    assert_int_equal(segs[ns - 1], seg); /* a torn tail is in the last segment */
    size_t k = 0;
    while (k + 1 < n && recs[k + 1].off <= len / 2) {
        k++;
    }
    size_t cut = recs[k].off + (CV_WAL_FRAME + recs[k].len) / 2;
    cv_wal_apply before;
    cv_wal_apply after;
    needed_before(&m, seg, k, &before, &after);
    check_wal_holds(&before, &after, acked);
    char path[900];
    snprintf(path, sizeof(path), "%s/%08u", E.wal, seg);
    assert_int_equal(truncate(path, (off_t)cut), 0);
    fprintf(stderr,
            "cut segment %08u from %zu to %zu bytes: inside record %zu of %zu "
            "(%s, %u bytes)\n",
            seg, len, cut, k + 1, n, br_wal_record_type_name(recs[k].type), recs[k].len);
    br_free(img);
    br_free(recs);

    check_after_damage(&m, seg, "torn", before.samples, after.samples);
    cv_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_crash_kill9_during_ingest_loses_no_acked_sample, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_crash_flipped_wal_byte_after_clean_stop_is_survived_with_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_crash_flipped_wal_byte_after_kill9_keeps_records_before_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_torn_wal_tail_is_truncated_with_warning, setup,
                                        teardown),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests_name("crash_recovery", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
