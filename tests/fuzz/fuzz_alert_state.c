/*
 * fuzz_alert_state.c — libFuzzer target for the alerting state log read at
 * start-up: the notifier's WAL records (queued notifications, webhook
 * groups, checkpoints; rules/notifier.c "Log" section) and the alert-state
 * blobs inside them (rules/alert.c), through br_alerting_open.
 *
 * Input: the image of one segment of <data>/alerting (WAL framing as in
 * storage/wal.c). The harness recomputes its CRCs (fz_fix_wal_segment) so
 * mutations reach the record decoders. The seeds are real logs written by
 * br_alerting (tests/fuzz/seedgen.c) with the two receivers configured
 * here, "wh" (webhook) and "am" (Alertmanager).
 *
 * The notifier runs in manual mode with a fixed clock and a transport that
 * answers 200 without any network.
 *
 * Checked: open fails with a message or restores a state that survives a
 * close and reopen unchanged (every alert's fingerprint, labels,
 * annotations, state, times and value; queued notifications and groups
 * per receiver); then one delivery round and one evaluation tick run on
 * the restored state.
 */
#include "engine/core/hash.h"
#include "rules/alert.h"
#include "rules/notifier.h"
#include "engine/core/alloc.h"
#include "tests/fuzz/fuzz_util.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NOW_MS INT64_C(1900000000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char data_dir[4200];
static char log_dir[4300];
static char seg_path[4400];
static br_receiver_config receivers[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_quiet_logs();
    snprintf(data_dir, sizeof(data_dir), "%s/data", fz_scratch_dir());
    snprintf(log_dir, sizeof(log_dir), "%s/alerting", data_dir);
    snprintf(seg_path, sizeof(seg_path), "%s/00000001", log_dir);
    receivers[0].name = "wh";
    receivers[0].kind = BR_RECEIVER_WEBHOOK;
    receivers[0].url = "http://127.0.0.1:1/hook";
    receivers[0].timeout_ms = 1000;
    receivers[0].group_wait_ms = 30 * 1000;
    receivers[0].group_interval_ms = 5 * 60 * 1000;
    receivers[0].repeat_interval_ms = 4 * 3600 * 1000;
    receivers[1].name = "am";
    receivers[1].kind = BR_RECEIVER_ALERTMANAGER;
    receivers[1].url = "http://127.0.0.1:1";
    receivers[1].timeout_ms = 1000;
    return 0;
}

static int64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return NOW_MS;
}

static int ok_transport(void *ctx, const br_notify_request *req, long *status)
{
    (void)ctx;
    FZ_CHECK(req->body != NULL || req->body_len == 0, "request without a body");
    *status = 200;
    return 0;
}

static br_alerting *open_alerting(void)
{
    br_alerting_options o;
    memset(&o, 0, sizeof(o));
    o.data_dir = data_dir;
    o.notifier.receivers = receivers;
    o.notifier.n_receivers = 2;
    o.notifier.manual = true;
    o.notifier.clock = fixed_clock;
    o.notifier.transport = ok_transport;
    o.notifier.seed = 7;
    o.notifier.fsync = BR_WAL_FSYNC_NEVER;
    br_err err;
    br_err_clear(&err);
    br_alerting *a = br_alerting_open(&o, &err);
    FZ_CHECK(a != NULL || err.msg[0] != '\0', "open failed without a message");
    return a;
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    return br_fnv1a64(h, p, n);
}

static uint64_t mix_str(uint64_t h, const char *s)
{
    return s != NULL ? mix(h, s, strlen(s) + 1) : mix(h, "\xff", 1);
}

static int digest_alert(const br_alert_view *v, void *ctx)
{
    uint64_t *h = ctx;
    *h = mix(*h, &v->fingerprint, sizeof(v->fingerprint));
    for (size_t i = 0; i < v->n_labels; i++) {
        *h = mix_str(*h, v->labels[i].key);
        *h = mix_str(*h, v->labels[i].value);
    }
    for (size_t i = 0; i < v->n_annotations; i++) {
        *h = mix_str(*h, v->annotations[i].key);
        *h = mix_str(*h, v->annotations[i].value);
    }
    int64_t times[5] = {v->active_since_ms, v->fired_at_ms, v->resolved_at_ms,
                        v->keep_firing_since_ms, v->last_sent_ms};
    *h = mix(*h, times, sizeof(times));
    *h = mix(*h, &v->state, sizeof(v->state));
    *h = mix(*h, &v->value, sizeof(v->value));
    *h = mix_str(*h, v->generator_url);
    return 0;
}

typedef struct digest {
    uint64_t alerts;
    size_t queued[2];
    size_t groups[2];
} digest;

static void digest_of(br_alerting *a, digest *d)
{
    memset(d, 0, sizeof(*d));
    d->alerts = 1469598103934665603ull;
    br_alerting_foreach(a, digest_alert, &d->alerts);
    for (size_t i = 0; i < 2; i++) {
        br_notifier_stats st;
        memset(&st, 0, sizeof(st));
        FZ_CHECK(br_notifier_get_stats(br_alerting_notifier(a), i, &st) == 0, "stats %zu", i);
        d->queued[i] = st.queued;
        d->groups[i] = st.groups;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *img = br_malloc(size ? size : 1);
    memcpy(img, data, size);
    fz_fix_wal_segment(img, size, 1);
    fz_rmtree(data_dir);
    fz_mkdir(data_dir);
    fz_mkdir(log_dir);
    fz_write_file(seg_path, img, size);
    br_free(img);

    br_alerting *a = open_alerting();
    if (a != NULL) {
        digest before;
        digest_of(a, &before);
        FZ_CHECK(br_alerting_close(a, NULL) == 0, "close failed");
        a = open_alerting();
        FZ_CHECK(a != NULL, "reopening a state this build wrote failed");
        digest after;
        digest_of(a, &after);
        FZ_CHECK(memcmp(&before, &after, sizeof(before)) == 0,
                 "state differs after close and reopen: alerts %016llx/%016llx, queued "
                 "%zu,%zu/%zu,%zu, groups %zu,%zu/%zu,%zu",
                 (unsigned long long)before.alerts, (unsigned long long)after.alerts,
                 before.queued[0], before.queued[1], after.queued[0], after.queued[1],
                 before.groups[0], before.groups[1], after.groups[0], after.groups[1]);

        br_err err;
        br_err_clear(&err);
        (void)br_notifier_run(br_alerting_notifier(a), &err);
        static const br_kv labels[] = {{"severity", "page"}, {"sloth_id", "svc-slo"}};
        br_alert_input in = {
            .alertname = "FuzzAlert",
            .labels = labels,
            .n_labels = 2,
            .condition = true,
            .value = 2.0,
        };
        br_alert_result res;
        (void)br_alerting_update(a, NOW_MS, &in, 1, &res, &err);
        (void)br_notifier_run(br_alerting_notifier(a), &err);
        br_alerting_close(a, NULL);
    }
    fz_rmtree(data_dir);
    return 0;
}
