/*
 * evaluator.h — the SLO evaluator: turns a br_slo_set and the stored SLI
 * series into budget state, every evaluation interval.
 *
 * One tick (br_evaluator_tick) evaluates every SLO definition: finds its
 * instances (one per grouping value set), computes the SLI over every
 * window it needs (Sloth's 5m 30m 1h 2h 6h 1d 3d, the alert tiers'
 * windows, the budget-drop window and the period), burn rates, budget
 * consumed and remaining, the error-budget policy state and the alert
 * conditions; writes recorded series back through `append` (Sloth's names
 * and labels, plus burnrate_slo_* series); and publishes an immutable
 * br_slo_snapshot that the API, gate and UI read.
 *
 * Exactness: counter sources are counted from raw samples (see
 * br_head_series_window_aggs: reset-corrected increments whose later
 * sample lies in the window), so a 30d window is the ratio of the sums over
 * those 30 days, never an average of short ratios. Incremental: each SLO
 * keeps running sums per window, settled up to `settle` before now; a tick
 * adds what entered each window and subtracts what left it, so its cost
 * does not grow with the window length. A full recount (from chunk
 * summaries, O(chunks)) happens on the first tick, after a reload, when
 * ticks were missed, and every `resync` to pick up late samples.
 * PromQL-template sources (Sloth queries that are not a plain
 * sum(rate(selector)), raw error ratios, thresholds) are evaluated with
 * the PromQL engine instead.
 *
 * Replay: when an SLO is added, or changed so that its counts differ,
 * its recorded series for the past are recomputed from stored data and
 * written with their past timestamps, oldest first: every `replay.step`
 * (default max(interval, 1m), on multiples of the step) after the newest
 * sample already recorded for the SLO, at most `replay.max` back (default
 * the period) and not before its first SLI sample. The values are those a
 * run-all-along evaluator would have recorded then (recorded series only:
 * no ALERTS, no notifications). It runs on the evaluator thread, a
 * bounded amount per tick (replay_max_steps, replay_budget_ms); until it
 * catches up the live ticks withhold that SLO's recorded series, because
 * the store refuses samples older than a series' newest. Progress is
 * br_slo_status.replay_progress. `replay: false` turns it off. Details
 * in evaluator.c, section "replay".
 *
 * Threads: br_evaluator_start runs one ticking thread; br_evaluator_tick
 * may be called directly instead (tests, one-shot tools) but never
 * concurrently with itself. br_evaluator_set_slos and the br_slo_source
 * functions may be called from any thread.
 */
#ifndef BR_RULES_EVALUATOR_H
#define BR_RULES_EVALUATOR_H

#include "engine/core/err.h"
#include "engine/promql/backend.h"
#include "engine/promql/eval.h"
#include "rules/alert.h"
#include "rules/slo.h"
#include "rules/slo_status.h"
#include "storage/head.h"

#include <stdint.h>

typedef struct br_evaluator br_evaluator;

/* Writes recorded series (into the store, or a remote backend later).
 * Called from the evaluator thread only. */
typedef int (*br_evaluator_append_fn)(void *ctx, const br_series_input *in, size_t n,
                                      br_err *err);


typedef struct br_evaluator_options {
    br_queryable backend;          /* where SLI series are read (copied) */
    br_promql_options promql;      /* for PromQL-template sources */
    int64_t interval_ms;           /* tick period; default 30s */
    int64_t settle_ms;             /* data newer than this is re-read every tick; default 60s */
    int64_t resync_ms;             /* full recount period per SLO; default 1h */
    br_evaluator_append_fn append; /* NULL = no recorded series */
    void *append_ctx;
    const char *external_url;      /* for generatorURL links; NULL = none */
    /* Alert lifecycle and notifications (borrowed; NULL = none). With it,
     * each tick hands one input per alert rule of each SLO instance (the
     * rules `generate` writes: burn-rate alerts per severity, budget drop,
     * exhaustion) to br_alerting_update and shows the states it returns;
     * without it the evaluator applies each tier's `for` itself and sends
     * nothing. */
    struct br_alerting *alerting;
    int64_t (*now_ms)(void);       /* clock; NULL = wall clock */
    /* Sharding: only SLOs with br_slo_shard(id, shard_count) == shard_index
     * are evaluated (recorded, alerted); the others are listed in the
     * snapshot as no data. shard_count 0 or 1 = every SLO. */
    uint32_t shard_index;
    uint32_t shard_count;
    /* Replay (below): the most replay steps, and about the most time,
     * one tick spends on replaying SLOs (at least one step per tick).
     * 0 = 10000 steps, a quarter of interval_ms. */
    uint32_t replay_max_steps;
    int64_t replay_budget_ms;
    /* Where each instance's error-budget policy state is kept across
     * restarts (borrowed; NULL = states and their "since" begin anew at
     * start-up). Written after every tick in which a state changed. */
    struct br_policy_store *policy_store;
} br_evaluator_options;

/*
 * The shard (0..count-1) that owns the SLO with this id (borrowed, the
 * definition's id). Stable across versions, processes and machines: this
 * function is part of the deployment contract (several instances must
 * agree), so it must never change. It is Lamping and Veach's jump
 * consistent hash of key = br_hash64(id bytes without the NUL, seed 0)
 * (engine/core/hash.h; little-endian reading of 8-byte blocks): start with
 * b = -1, j = 0; while j < count: b = j, key = key * 2862933555777941757
 * + 1 (mod 2^64), j = floor((b + 1) * 2^31 / ((key >> 33) + 1)); return b.
 * Growing count from n to n+1 moves only about 1/(n+1) of the SLOs.
 * count 0 is treated as 1. tests/unit/test_rw_out.c pins ids to shards.
 */
uint32_t br_slo_shard(const char *id, uint32_t count);

/* Returns a new evaluator (free with br_evaluator_free) or NULL with err. */
br_evaluator *br_evaluator_new(const br_evaluator_options *opts, br_err *err);
/* Stops the thread if running and frees everything. NULL is allowed. */
void br_evaluator_free(br_evaluator *e);

/* Replaces the SLO set (takes a new reference; the caller keeps its own).
 * Running sums of unchanged definitions are kept; changed or new ones are
 * recounted at the next tick. */
void br_evaluator_set_slos(br_evaluator *e, br_slo_set *set);

/* One evaluation at now_ms. Returns 0, or the first error (the snapshot is
 * still published; failing SLOs carry their error). */
int br_evaluator_tick(br_evaluator *e, int64_t now_ms, br_err *err);

/* Starts / stops the ticking thread. */
int br_evaluator_start(br_evaluator *e, br_err *err);
void br_evaluator_stop(br_evaluator *e);

/* The latest snapshot (reference taken; unref it) or NULL before the first tick. */
br_slo_snapshot *br_evaluator_snapshot(br_evaluator *e);

/* The br_slo_source view of e (snapshot + history), for the HTTP layer. */
void br_evaluator_source(br_evaluator *e, br_slo_source *out);

/* Sloth's fixed SLI windows, recorded for every SLO. */
extern const int64_t br_sloth_windows_ms[7];

#endif
