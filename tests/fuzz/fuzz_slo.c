/*
 * fuzz_slo.c — libFuzzer target for the SLO file loaders (rules/slo.h:
 * br_slo_load_file with format detection; burnrate's own format, Sloth,
 * Pyrra and OpenSLO, several YAML documents per file), followed by rule
 * generation (rules/generate.h), which consumes what the loaders accepted
 * (`burnrate generate`, /api/v1/rules).
 *
 * Input: the whole file, written to the scratch directory (the loader
 * reads from a path). Time zones named in calendar periods are read from
 * the system's zoneinfo, as in production.
 *
 * Checked: a failed load fills err with a message; every definition of a
 * loaded set has an id, a service, a name, an objective strictly between 0
 * and 1, a positive period, and at most four alert tiers; and each id is
 * found again by br_slo_set_find.
 */
#include "engine/core/buf.h"
#include "rules/generate.h"
#include "rules/slo.h"
#include "tests/fuzz/fuzz_util.h"

#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char path[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_quiet_logs();
    snprintf(path, sizeof(path), "%s/slos.yml", fz_scratch_dir());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_write_file(path, data, size);
    br_slo_set *set = br_slo_set_new();
    br_err err;
    br_err_clear(&err);
    int rc = br_slo_load_file(set, path, &err);
    if (rc != 0) {
        FZ_CHECK(err.msg[0] != '\0', "failed load (%d) without a message", rc);
    } else {
        size_t n = br_slo_set_len(set);
        for (size_t i = 0; i < n; i++) {
            const br_slo_def *d = br_slo_set_get(set, i);
            FZ_CHECK(d->id != NULL && d->service != NULL && d->name != NULL,
                     "definition %zu without id, service or name", i);
            FZ_CHECK(d->objective > 0 && d->objective < 1, "%s: objective %g", d->id,
                     d->objective);
            FZ_CHECK(d->period.duration_ms > 0, "%s: period %lld ms", d->id,
                     (long long)d->period.duration_ms);
            FZ_CHECK(d->alerting.n_tiers <= 4, "%s: %zu tiers", d->id, d->alerting.n_tiers);
            FZ_CHECK(br_slo_set_find(set, d->id) == d, "%s: not found by id", d->id);
        }
        br_buf rules;
        br_buf_init(&rules, 64u * 1024 * 1024);
        br_err gerr;
        br_err_clear(&gerr);
        (void)br_generate_rules(set, &rules, &gerr);
        br_buf_free(&rules);
    }
    br_slo_set_unref(set);
    return 0;
}
