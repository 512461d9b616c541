/*
 * policy_state.h — the error-budget policy state of every SLO instance,
 * kept across restarts.
 *
 * The evaluator works out each instance's policy state (e.g. "normal",
 * "freeze") every tick and says since when it holds. Without a record, a
 * restart would report every state as beginning at start-up. The store
 * keeps one row per instance in <dir>/policy.state, replaced whole
 * (temp file, fsync, rename, fsync of the directory) whenever a state
 * changes, so a crash leaves the previous or the new file, never a mix.
 *
 * File format (text, one row per line, fields separated by one TAB):
 *   line 1:  "burnrate-policy-state 1"
 *   rows:    <since, ms since the epoch> TAB <state> TAB <previous state>
 *            TAB <instance id>
 * A state is the policy state's name, or "-" for none (no data). Bytes
 * below 0x20, 0x7f and '%' in names and ids are written as %XX (two
 * upper-case hex digits), and so is a name that is "-" itself. A row that does not parse is skipped with a
 * warning; an unknown first line makes the whole file ignored.
 *
 * Ownership: the store owns its rows; br_policy_store_take hands one row to
 * the caller (free it with br_policy_saved_free). Threads: one user at a
 * time (the evaluator's tick thread).
 */
#ifndef BR_RULES_POLICY_STATE_H
#define BR_RULES_POLICY_STATE_H

#include "engine/core/err.h"

#include <stddef.h>
#include <stdint.h>

typedef struct br_policy_saved {
    char *instance_id;
    char *state;      /* NULL = none (no data) */
    char *prev_state; /* NULL = none */
    int64_t since_ms;
} br_policy_saved;

typedef struct br_policy_store br_policy_store;

/*
 * Opens the store in dir (borrowed; created if missing) and reads
 * <dir>/policy.state when it exists. BR_EIO when the directory cannot be
 * created or the file exists but cannot be read.
 */
int br_policy_store_open(const char *dir, br_policy_store **out, br_err *err);

/* Rows read at open that nobody took yet. */
size_t br_policy_store_pending(const br_policy_store *s);

/*
 * The row read at open for instance_id, removed from the store and handed
 * to the caller (NULL when there is none). Each row is handed out once:
 * instances that appear later in the process's life start fresh.
 */
br_policy_saved *br_policy_store_take(br_policy_store *s, const char *instance_id);

/* Replaces the file by these rows (borrowed). BR_EIO naming the file. */
int br_policy_store_save(br_policy_store *s, const br_policy_saved *rows, size_t n, br_err *err);

void br_policy_saved_free(br_policy_saved *row);
void br_policy_store_free(br_policy_store *s);

#endif
