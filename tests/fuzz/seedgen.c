/*
 * seedgen.c — writes the binary seed inputs of the fuzz targets, made by
 * burnrate's own writers so that they are real files in the current
 * formats:
 *
 *   fuzz_wal/          WAL segments of a head that took series, float
 *                      samples (a counter with a reset, a gauge with NaN
 *                      and a stale marker), native histograms (exponential
 *                      and custom buckets) and, after retention, tombstones
 *   fuzz_snapshot/     a snapshot of that head
 *   fuzz_chunk/        float and histogram chunk records, open and frozen
 *   fuzz_wal_record/   one payload of each record type, behind the
 *                      target's selector byte
 *   fuzz_alert_state/  segments of an alerting log with firing alerts
 *                      queued for the Alertmanager receiver "am" and
 *                      grouped for the webhook receiver "wh"
 *   fuzz_remote_write/ 1.0 and 2.0 bodies, snappy-compressed and plain,
 *                      behind the target's mode byte
 *
 * Usage: fuzz_seedgen OUTDIR; writes OUTDIR/<target>/seed-<name>, replacing
 * files of the same name. `scripts/fuzz.sh --seeds` runs it on the
 * repository's corpus after a format change. The text seeds (PromQL from
 * the peer test scripts, YAML from examples/ and tests/data/slos, gate
 * answers) and the load generator's bodies are plain files in the corpus,
 * added by hand (see the Fuzzing section of README.md). Single-threaded;
 * exits non-zero with a message when a writer fails.
 */
#include "api/remote_write_decode.h"
#include "api/remote_write_encode.h"
#include "engine/core/alloc.h"
#include "engine/core/buf.h"
#include "engine/core/clock.h"
#include "engine/core/log.h"
#include "rules/alert.h"
#include "storage/chunk.h"
#include "storage/head.h"
#include "storage/wal_record.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *out_dir;
static char scratch[4096]; /* mkdtemp'd; heads and logs are written here */

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "seedgen: %s: %s\n", what, msg);
    exit(1);
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        die(path, strerror(errno));
    }
}

static void write_seed(const char *target, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", out_dir, target);
    make_dir(path);
    snprintf(path, sizeof(path), "%s/%s/seed-%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        die(path, strerror(errno));
    }
}

/* Writes the byte `prefix` and then data as one seed. */
static void write_prefixed(const char *target, const char *name, unsigned char prefix,
                           const void *data, size_t len)
{
    unsigned char *p = br_malloc(len + 1);
    p[0] = prefix;
    memcpy(p + 1, data, len);
    write_seed(target, name, p, len + 1);
    br_free(p);
}

static void *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        die(path, strerror(errno));
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = br_malloc(n > 0 ? (size_t)n : 1);
    if (n > 0 && fread(p, 1, (size_t)n, f) != (size_t)n) {
        die(path, "short read");
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* Copies every file of dir longer than min_len bytes (temporary files
 * aside) into target as <prefix><name>. */
static void copy_files(const char *dir, size_t min_len, const char *target, const char *prefix)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        die(dir, strerror(errno));
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp") != NULL) {
            continue;
        }
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        size_t len = 0;
        void *p = read_file(path, &len);
        if (len > min_len) {
            char name[512];
            snprintf(name, sizeof(name), "%s%s", prefix, e->d_name);
            write_seed(target, name, p, len);
        }
        br_free(p);
    }
    closedir(d);
}

static void rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                char child[4096];
                snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
                rmtree(child);
            }
        }
        if (d != NULL) {
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* ---- test data -------------------------------------------------------- */

static const br_span exp_spans[] = {{-1, 2}, {2, 3}};
static const double exp_counts_a[] = {1, 2, 3, 1, 1};
static const double exp_counts_b[] = {2, 4, 5, 1, 3};
static const br_span neg_spans[] = {{0, 1}};
static const double neg_counts[] = {1};
static const br_span custom_spans[] = {{0, 3}};
static const double custom_counts[] = {5, 3, 1};
static const double custom_bounds[] = {0.1, 0.5, 1.0};

static br_histogram exp_hist(const double *counts, double count, double sum)
{
    br_histogram h = {
        .schema = 0,
        .zero_threshold = 1e-128,
        .count = count,
        .sum = sum,
        .zero_count = 1,
        .n_pos_spans = 2,
        .n_neg_spans = 1,
        .n_pos = 5,
        .n_neg = 1,
        .pos_spans = exp_spans,
        .neg_spans = neg_spans,
        .pos_buckets = counts,
        .neg_buckets = neg_counts,
    };
    return h;
}

static br_histogram custom_hist(void)
{
    br_histogram h = {
        .schema = -53,
        .count = 9,
        .sum = 2.5,
        .n_pos_spans = 1,
        .n_pos = 3,
        .n_custom = 3,
        .pos_spans = custom_spans,
        .pos_buckets = custom_counts,
        .custom_values = custom_bounds,
    };
    return h;
}

/* ---- head: WAL and snapshot ------------------------------------------- */

static br_head *open_head(const char *dir, int64_t retention_ms)
{
    br_head_options o;
    memset(&o, 0, sizeof(o));
    o.dir = dir;
    o.fsync = BR_WAL_FSYNC_NEVER;
    o.wal_segment_bytes = 64 * 1024;
    o.retention_ms = retention_ms;
    br_head *h = NULL;
    br_err err;
    br_err_clear(&err);
    if (br_head_open(&o, &h, &err) != 0) {
        die("br_head_open", err.msg);
    }
    return h;
}

static void commit(br_head *h, const br_label *labels, size_t n_labels, const br_sample *s,
                   size_t ns, const br_histogram_sample *hs, size_t nh)
{
    br_series_input in = {
        .labels = labels,
        .n_labels = n_labels,
        .samples = s,
        .n_samples = ns,
        .histograms = hs,
        .n_histograms = nh,
    };
    br_commit_result res;
    memset(&res, 0, sizeof(res));
    br_err err;
    br_err_clear(&err);
    if (br_head_commit(h, &in, 1, &res, &err) != 0) {
        die("br_head_commit", err.msg);
    }
    if (br_commit_rejected(&res) != 0) {
        die("br_head_commit", res.first_rejection);
    }
}

static void head_seeds(void)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/head", scratch);
    rmtree(dir);
    int64_t now = br_now_ms();
    int64_t t0 = now - 10 * 60 * 1000;

    br_head *h = open_head(dir, 0);
    static const br_label counter[] = {
        {"__name__", "http_requests_total"}, {"code", "200"}, {"job", "api"}};
    br_sample s[12];
    double v = 10;
    for (int i = 0; i < 12; i++) {
        v = i == 7 ? 3 : v + 5 + i;
        s[i].t = t0 + i * 15000;
        s[i].v = v;
    }
    commit(h, counter, 3, s, 12, NULL, 0);

    static const br_label gauge[] = {{"__name__", "queue_depth"}, {"instance", "a:9100"}};
    br_sample g[6] = {{t0, 0.25},          {t0 + 15000, -1.5}, {t0 + 30000, NAN},
                      {t0 + 45000, 1e300}, {t0 + 60000, 7},    {t0 + 75000, br_stale_nan()}};
    commit(h, gauge, 2, g, 6, NULL, 0);

    static const br_label nh[] = {{"__name__", "rpc_duration_seconds"}, {"job", "api"}};
    br_histogram_sample hs[3] = {
        {t0, exp_hist(exp_counts_a, 9, 4.5)},
        {t0 + 15000, exp_hist(exp_counts_b, 16, 9.25)},
        {t0 + 30000, exp_hist(exp_counts_b, 16, 9.25)},
    };
    commit(h, nh, 2, NULL, 0, hs, 3);

    static const br_label ch[] = {{"__name__", "request_size_bytes"}, {"job", "web"}};
    br_histogram_sample cs[2] = {{t0, custom_hist()}, {t0 + 15000, custom_hist()}};
    commit(h, ch, 2, NULL, 0, cs, 2);

    static const br_label old[] = {{"__name__", "old_series"}, {"job", "gone"}};
    br_sample os[2] = {{now - 3 * 3600 * 1000, 1}, {now - 3 * 3600 * 1000 + 15000, 2}};
    commit(h, old, 2, os, 2, NULL, 0);

    br_err err;
    br_err_clear(&err);
    if (br_head_snapshot(h, &err) != 0) {
        die("br_head_snapshot", err.msg);
    }
    br_head_close(h);

    char sub[4200];
    snprintf(sub, sizeof(sub), "%s/snapshots", dir);
    copy_files(sub, 0, "fuzz_snapshot", "");

    /* Retention of one hour drops old_series: a tombstone record. */
    h = open_head(dir, 3600 * 1000);
    br_head_gc(h, now, 0);
    br_sample more[2] = {{now, 100}, {now + 15000, 101}};
    commit(h, counter, 3, more, 2, NULL, 0);
    br_head_close(h);

    /* Replay from scratch for the WAL seeds: drop the snapshots first. */
    rmtree(sub);
    snprintf(sub, sizeof(sub), "%s/wal", dir);
    copy_files(sub, 16, "fuzz_wal", "segment-");
    rmtree(dir);
}

/* ---- chunk records ---------------------------------------------------- */

static void chunk_seed(const char *name, const br_sample *s, size_t n, bool freeze)
{
    br_chunk *c = br_chunk_new();
    br_err err;
    br_err_clear(&err);
    for (size_t i = 0; i < n; i++) {
        if (br_chunk_append(c, s[i].t, s[i].v, &err) != 0) {
            die("br_chunk_append", err.msg);
        }
    }
    if (freeze) {
        br_chunk_freeze(c);
    }
    br_buf b;
    br_buf_init(&b, 0);
    if (br_chunk_serialize(c, &b, &err) != 0) {
        die("br_chunk_serialize", err.msg);
    }
    write_seed("fuzz_chunk", name, b.data, b.len);
    br_buf_free(&b);
    br_chunk_free(c);
}

static void hchunk_seed(const char *name, const br_histogram_sample *s, size_t n, bool freeze)
{
    br_hchunk *c = br_hchunk_new();
    br_err err;
    br_err_clear(&err);
    for (size_t i = 0; i < n; i++) {
        if (br_hchunk_append(c, s[i].t, &s[i].h, &err) != 0) {
            die("br_hchunk_append", err.msg);
        }
    }
    if (freeze) {
        br_hchunk_freeze(c);
    }
    br_buf b;
    br_buf_init(&b, 0);
    if (br_hchunk_serialize(c, &b, &err) != 0) {
        die("br_hchunk_serialize", err.msg);
    }
    write_seed("fuzz_chunk", name, b.data, b.len);
    br_buf_free(&b);
    br_hchunk_free(c);
}

static void chunk_seeds(void)
{
    br_sample counter[40];
    double v = 0;
    for (int i = 0; i < 40; i++) {
        v = i == 25 ? 2 : v + (i % 3);
        counter[i].t = 1700000000000 + i * 15000 + (i % 4 == 3 ? 7 : 0);
        counter[i].v = v;
    }
    chunk_seed("float-counter-open", counter, 40, false);
    chunk_seed("float-counter-frozen", counter, 40, true);
    br_sample gauge[5] = {{1000, 0.5}, {2000, NAN}, {3000, -2.25}, {4500, 1e-300},
                          {6000, br_stale_nan()}};
    chunk_seed("float-gauge-stale", gauge, 5, false);
    chunk_seed("float-empty", NULL, 0, false);
    chunk_seed("float-one", gauge, 1, false);

    br_histogram_sample hs[4] = {
        {1000, exp_hist(exp_counts_a, 9, 4.5)},
        {2000, exp_hist(exp_counts_b, 16, 9.25)},
        {3000, custom_hist()},
        {4000, custom_hist()},
    };
    hchunk_seed("hist-exp-open", hs, 2, false);
    hchunk_seed("hist-exp-frozen", hs, 2, true);
    hchunk_seed("hist-layout-change", hs, 4, false);
    hchunk_seed("hist-empty", NULL, 0, false);
}

/* ---- WAL record payloads ---------------------------------------------- */

static void wal_record_seeds(void)
{
    br_err err;
    br_err_clear(&err);
    br_buf b;
    br_buf_init(&b, 0);
    static const br_label l1[] = {{"__name__", "up"}, {"job", "node"}};
    static const br_label l2[] = {{"__name__", "http_requests_total"}, {"code", "500"}};
    br_wal_series series[2] = {{1, 2, l1}, {65, 2, l2}};
    if (br_wal_encode_series(&b, series, 2, &err) != 0) {
        die("br_wal_encode_series", err.msg);
    }
    write_prefixed("fuzz_wal_record", "series", 0, b.data, b.len);

    br_buf_reset(&b);
    br_wal_sample samples[4] = {
        {1, 1700000000000, 1}, {1, 1700000015000, 0}, {65, 1700000000000, 12.5},
        {65, 1700000015000, br_stale_nan()}};
    if (br_wal_encode_samples(&b, samples, 4, &err) != 0) {
        die("br_wal_encode_samples", err.msg);
    }
    write_prefixed("fuzz_wal_record", "samples", 1, b.data, b.len);

    br_buf_reset(&b);
    br_wal_histogram hists[3] = {
        {3, 1700000000000, exp_hist(exp_counts_a, 9, 4.5)},
        {3, 1700000015000, exp_hist(exp_counts_b, 16, 9.25)},
        {4, 1700000000000, custom_hist()},
    };
    if (br_wal_encode_histograms(&b, hists, 3, &err) != 0) {
        die("br_wal_encode_histograms", err.msg);
    }
    write_prefixed("fuzz_wal_record", "histograms", 2, b.data, b.len);

    br_buf_reset(&b);
    uint64_t refs[3] = {1, 65, 1u << 20};
    if (br_wal_encode_tombstones(&b, refs, 3, &err) != 0) {
        die("br_wal_encode_tombstones", err.msg);
    }
    write_prefixed("fuzz_wal_record", "tombstones", 3, b.data, b.len);
    br_buf_free(&b);
}

/* ---- alerting log ----------------------------------------------------- */

typedef struct alert_ctx {
    int64_t now;
    long status;
} alert_ctx;

static int64_t alert_clock(void *ctx)
{
    return ((alert_ctx *)ctx)->now;
}

static int alert_transport(void *ctx, const br_notify_request *req, long *status)
{
    (void)req;
    *status = ((alert_ctx *)ctx)->status;
    return 0;
}

static br_alerting *open_alerting(const char *dir, alert_ctx *ctx, br_receiver_config *rcv)
{
    br_alerting_options o;
    memset(&o, 0, sizeof(o));
    o.data_dir = dir;
    o.notifier.receivers = rcv;
    o.notifier.n_receivers = 2;
    o.notifier.manual = true;
    o.notifier.clock = alert_clock;
    o.notifier.clock_ctx = ctx;
    o.notifier.transport = alert_transport;
    o.notifier.transport_ctx = ctx;
    o.notifier.seed = 7;
    o.notifier.fsync = BR_WAL_FSYNC_NEVER;
    o.notifier.external_url = "http://burnrate.example:9099";
    br_err err;
    br_err_clear(&err);
    br_alerting *a = br_alerting_open(&o, &err);
    if (a == NULL) {
        die("br_alerting_open", err.msg);
    }
    return a;
}

static void alert_seeds(void)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/alerting", scratch);
    rmtree(dir);
    br_receiver_config rcv[2];
    memset(rcv, 0, sizeof(rcv));
    rcv[0].name = "wh";
    rcv[0].kind = BR_RECEIVER_WEBHOOK;
    rcv[0].url = "http://127.0.0.1:1/hook";
    rcv[0].timeout_ms = 1000;
    rcv[0].group_wait_ms = 30 * 1000;
    rcv[0].group_interval_ms = 5 * 60 * 1000;
    rcv[0].repeat_interval_ms = 4 * 3600 * 1000;
    rcv[1].name = "am";
    rcv[1].kind = BR_RECEIVER_ALERTMANAGER;
    rcv[1].url = "http://127.0.0.1:1";
    rcv[1].timeout_ms = 1000;

    alert_ctx ctx = {.now = 1700000000000, .status = 500};
    br_alerting *a = open_alerting(dir, &ctx, rcv);
    static const br_kv page[] = {{"severity", "page"}, {"sloth_id", "checkout-availability"},
                                 {"sloth_service", "checkout"}};
    static const br_kv ticket[] = {{"severity", "ticket"},
                                   {"sloth_id", "checkout-availability"}};
    static const br_kv ann[] = {{"summary", "checkout is burning its error budget"},
                                {"runbook_url", "https://runbooks.example/checkout"}};
    br_alert_input in[2] = {
        {.alertname = "CheckoutHighErrorRate",
         .labels = page,
         .n_labels = 3,
         .annotations = ann,
         .n_annotations = 2,
         .condition = true,
         .value = 14.4,
         .generator_url = "http://burnrate.example:9099/slos/checkout-availability"},
        {.alertname = "CheckoutHighErrorRate",
         .labels = ticket,
         .n_labels = 2,
         .annotations = ann,
         .n_annotations = 1,
         .condition = true,
         .value = 3,
         .for_ms = 60 * 1000},
    };
    br_alert_result res[2];
    br_err err;
    br_err_clear(&err);
    for (int tick = 0; tick < 4; tick++) {
        if (br_alerting_update(a, ctx.now, in, 2, res, &err) != 0) {
            die("br_alerting_update", err.msg);
        }
        (void)br_notifier_run(br_alerting_notifier(a), &err);
        ctx.now += 30 * 1000;
    }
    br_alerting_close(a, NULL);

    char sub[4200];
    snprintf(sub, sizeof(sub), "%s/alerting", dir);
    copy_files(sub, 16, "fuzz_alert_state", "queued-");

    /* Deliveries succeed, one alert resolves. */
    ctx.status = 200;
    a = open_alerting(dir, &ctx, rcv);
    in[1].condition = false;
    for (int tick = 0; tick < 12; tick++) {
        if (br_alerting_update(a, ctx.now, in, 2, res, &err) != 0) {
            die("br_alerting_update", err.msg);
        }
        (void)br_notifier_run(br_alerting_notifier(a), &err);
        ctx.now += 30 * 1000;
    }
    br_alerting_close(a, NULL);
    copy_files(sub, 16, "fuzz_alert_state", "delivered-");
    rmtree(dir);
}

/* ---- remote-write bodies ---------------------------------------------- */

static void rw_seeds(void)
{
    static const br_label l1[] = {{"__name__", "http_requests_total"},
                                  {"code", "200"},
                                  {"instance", "10.0.0.1:8080"},
                                  {"job", "api"}};
    static const br_label l2[] = {{"__name__", "rpc_duration_seconds"}, {"job", "api"}};
    static const br_label l3[] = {{"__name__", "request_size_bytes"}, {"job", "web"}};
    br_sample s1[3] = {{1700000000000, 10}, {1700000015000, 12}, {1700000030000, br_stale_nan()}};
    br_histogram_sample h2[2] = {
        {1700000000000, exp_hist(exp_counts_a, 9, 4.5)},
        {1700000015000, exp_hist(exp_counts_b, 16, 9.25)},
    };
    h2[1].h.is_float = true;
    br_histogram_sample h3[1] = {{1700000000000, custom_hist()}};
    br_rw_series series[3] = {
        {.labels = (br_label *)l1, .n_labels = 4, .samples = s1, .n_samples = 3},
        {.labels = (br_label *)l2, .n_labels = 2, .histograms = h2, .n_histograms = 2},
        {.labels = (br_label *)l3, .n_labels = 2, .histograms = h3, .n_histograms = 1},
    };
    br_err err;
    br_err_clear(&err);
    br_buf b;
    br_buf_init(&b, 0);
    for (int version = 1; version <= 2; version++) {
        char name[64];
        br_buf_reset(&b);
        if (br_rw_encode(version, series, 3, &b, &err) != 0) {
            die("br_rw_encode", err.msg);
        }
        snprintf(name, sizeof(name), "encoder-v%d-snappy", version);
        write_prefixed("fuzz_remote_write", name, (unsigned char)(version - 1), b.data, b.len);
        br_buf_reset(&b);
        if (br_rw_encode_proto(version, series, 3, &b, &err) != 0) {
            die("br_rw_encode_proto", err.msg);
        }
        snprintf(name, sizeof(name), "encoder-v%d-plain", version);
        write_prefixed("fuzz_remote_write", name, (unsigned char)(2 | (version - 1)), b.data,
                       b.len);
        snprintf(name, sizeof(name), "encoder-v%d-plain-tight-tenant", version);
        write_prefixed("fuzz_remote_write", name, (unsigned char)(2 | 4 | 8 | (version - 1)),
                       b.data, b.len);
        /* Mode 16: the Content-Type travels in the input. */
        const char *ct = br_rw_content_type(version);
        size_t ctl = strlen(ct);
        unsigned char *p = br_malloc(ctl + 1 + b.len);
        memcpy(p, ct, ctl);
        p[ctl] = 0;
        memcpy(p + ctl + 1, b.data, b.len);
        snprintf(name, sizeof(name), "encoder-v%d-plain-content-type", version);
        write_prefixed("fuzz_remote_write", name, (unsigned char)(16 | 2), p, ctl + 1 + b.len);
        br_free(p);
    }
    br_buf_free(&b);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seedgen OUTDIR\n");
        return 2;
    }
    out_dir = argv[1];
    make_dir(out_dir);
    br_log_set_level(BR_LOG_ERROR);
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof(scratch), "%s/br-seedgen-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(scratch) == NULL) {
        die(scratch, strerror(errno));
    }
    head_seeds();
    chunk_seeds();
    wal_record_seeds();
    alert_seeds();
    rw_seeds();
    rmtree(scratch);
    return 0;
}
