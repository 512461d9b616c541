/*
 * fuzz_config.c — libFuzzer target for burnrate's main YAML configuration
 * (engine/config.h: br_config_load, the file given with --config).
 *
 * Input: the whole file. br_config_load reads from a path, so each input
 * is written to a file in the process' scratch directory first.
 *
 * Checked: a failed load fills err with a message; a successful one leaves
 * the fields the server relies on within their documented ranges (listen
 * and data_dir set, positive intervals). br_config_free releases
 * everything either way (the leak checker sees what it misses). Secrets
 * (br_config_load_secrets) are not read: they name arbitrary files.
 */
#include "engine/config.h"
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
    snprintf(path, sizeof(path), "%s/burnrate.yml", fz_scratch_dir());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_write_file(path, data, size);
    br_config c;
    br_config_init(&c);
    br_err err;
    br_err_clear(&err);
    int rc = br_config_load(&c, path, &err);
    if (rc != 0) {
        FZ_CHECK(err.msg[0] != '\0', "failed load (%d) without a message", rc);
    } else {
        FZ_CHECK(c.listen != NULL && c.data_dir != NULL, "listen or data_dir unset");
        FZ_CHECK(c.evaluation_interval_ms > 0, "evaluation interval %lld",
                 (long long)c.evaluation_interval_ms);
        for (size_t i = 0; i < c.n_receivers; i++) {
            FZ_CHECK(c.receivers[i].name != NULL && c.receivers[i].url != NULL,
                     "receiver %zu without name or url", i);
        }
    }
    br_config_free(&c);
    return 0;
}
