/*
 * app.h — the burnrate process: builds everything from the configuration,
 * runs until SIGTERM/SIGINT, reloads on SIGHUP or POST /-/reload.
 *
 * Start-up order: load and validate the config (refuse to start on any
 * error), open storage (WAL replay), register HTTP routes, start listening,
 * mark ready. Shutdown order is the reverse: mark not ready, stop the HTTP
 * server (waits for running requests), flush and close storage.
 *
 * The current configuration is shared by HTTP threads and reloads, so it is
 * reference counted: br_app_config_get() returns a reference that the caller
 * releases with br_app_config_put(); a reload swaps in a new one only when
 * it loaded cleanly.
 */
#ifndef BR_ENGINE_APP_H
#define BR_ENGINE_APP_H

#include "engine/config.h"
#include "engine/core/err.h"

typedef struct br_app br_app;

typedef struct br_app_options {
    const char *config_file;  /* NULL = defaults only */
    br_config_flags flags;    /* command-line overrides, re-applied on reload */
} br_app_options;

/* Loads the configuration exactly as `serve` would (file, then flags) into
 * out (br_config_free it). Used by serve, reload and `check`. */
int br_app_load_config(const br_app_options *opts, br_config *out, br_err *err);

/* Builds and starts the process. Returns NULL and fills err on failure. */
br_app *br_app_start(const br_app_options *opts, br_err *err);
/* Blocks until SIGTERM or SIGINT, handling SIGHUP reloads meanwhile.
 * The caller must have blocked those signals in every thread first
 * (br_app_block_signals, before br_app_start). */
void br_app_wait(br_app *app);
void br_app_block_signals(void);
/* Reloads the configuration; on error the old one stays. */
int br_app_reload(br_app *app, br_err *err);
/* Stops and frees everything. */
void br_app_stop(br_app *app);
/* The bound HTTP port. */
int br_app_port(const br_app *app);
/* The store (borrowed; valid until br_app_stop), for tests and embedding. */
struct br_head *br_app_head(const br_app *app);
/* The remote-write receiver (borrowed; valid until br_app_stop), for tests. */
struct br_remote_write_api *br_app_remote_write(const br_app *app);

#endif
