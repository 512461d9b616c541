/*
 * auth.h — who may call which HTTP route: route groups, bearer tokens and
 * basic-auth users, checked before any handler runs (api/server.c).
 *
 * Every path belongs to one group (br_auth_group_for_path):
 *   probe  /-/healthy, /-/ready                  always open (load balancers)
 *   write  /api/v1/write                         remote-write senders
 *   read   /metrics and the rest of /api/        Grafana, scrapers, the gate CLI
 *   admin  /-/reload, /-/quit, /api/v1/admin/...  off unless admin_enabled
 *   ui     /, /slo/..., /query, static assets    people with a browser
 * A group with neither tokens nor users is open; one with either requires
 * a valid `Authorization: Bearer <token>` or `Authorization: Basic ...`.
 *
 * Token files hold one token per line (blank lines and lines starting
 * with '#' are skipped), so a new token can be added before the old one
 * is removed. User files are Prometheus web.config.file style YAML:
 *   basic_auth_users:
 *     alice: $2y$10$...   (bcrypt, verified with libxcrypt's crypt_rn)
 * Tokens are compared as SHA-256 digests in constant time over every
 * configured token. A successful bcrypt verification is cached under an
 * HMAC-SHA256 (random per-process key) of group, user and password, so a
 * busy writer pays bcrypt once, not per request; failures are never
 * cached. An unknown user still costs one bcrypt so timing does not tell
 * which user names exist.
 *
 * Threads: br_auth_new/free on one thread; br_auth_check from any number
 * of HTTP threads at once (the cache has its own mutex). A br_auth is
 * immutable apart from its cache; a config reload builds a new one.
 */
#ifndef BR_API_AUTH_H
#define BR_API_AUTH_H

#include "engine/core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum br_auth_group {
    BR_AUTH_PROBE = 0,
    BR_AUTH_WRITE = 1,
    BR_AUTH_READ = 2,
    BR_AUTH_ADMIN = 3,
    BR_AUTH_UI = 4,
    BR_AUTH_N_GROUPS = 5,
} br_auth_group;

/* "probe", "write", "read", "admin", "ui". */
const char *br_auth_group_name(br_auth_group g);
/* The group of a request path (without query string; borrowed). */
br_auth_group br_auth_group_for_path(const char *path);

typedef struct br_auth_group_options {
    const char *token_file; /* borrowed; NULL = no tokens */
    const char *users_file; /* borrowed; NULL = no basic-auth users */
} br_auth_group_options;

typedef struct br_auth_options {
    br_auth_group_options groups[BR_AUTH_N_GROUPS]; /* [BR_AUTH_PROBE] is ignored */
    bool admin_enabled;  /* false: admin routes answer 403 */
    size_t cache_size;   /* verified-credential cache slots; 0 = 1024 */
} br_auth_options;

typedef struct br_auth br_auth;

/* Limits on what the files may hold. */
#define BR_AUTH_MAX_TOKENS     64
#define BR_AUTH_MAX_TOKEN_LEN  4096
#define BR_AUTH_MAX_USERS      1024
#define BR_AUTH_MAX_FILE_BYTES (256 * 1024)

/* Reads every file the options name. Returns new (free with br_auth_free),
 * or NULL with err naming the file (and line for YAML and bad hashes). */
br_auth *br_auth_new(const br_auth_options *o, br_err *err);
void br_auth_free(br_auth *a);

typedef enum br_auth_result {
    BR_AUTH_ALLOWED = 0,
    BR_AUTH_MISSING = 1,   /* no or unusable Authorization header: 401 */
    BR_AUTH_INVALID = 2,   /* wrong token, user or password: 401 */
    BR_AUTH_DISABLED = 3,  /* admin route while admin is off: 403 */
} br_auth_result;

typedef struct br_auth_verdict {
    br_auth_group group;
    br_auth_result result;
    int status;          /* 0 when allowed, else 401 or 403 */
    bool offer_bearer;   /* answer WWW-Authenticate: Bearer realm="burnrate" */
    bool offer_basic;    /* answer WWW-Authenticate: Basic realm="burnrate" */
    char message[256];   /* for the response body when refused */
} br_auth_verdict;

/* Decides one request. path and authorization (NULL when absent) are
 * borrowed. a may be NULL: everything but admin routes is then allowed. */
void br_auth_check(br_auth *a, const char *path, const char *authorization,
                   br_auth_verdict *out);

/* True when authorization (borrowed; NULL = none) holds valid credentials
 * of group g: one of its tokens, or one of its users with the right
 * password (then user, when not NULL, gets the user name; "" for a token).
 * For handlers that let several groups in and decide themselves (who may
 * change managed SLOs and annotations, and who did). */
bool br_auth_credentials_of(br_auth *a, br_auth_group g, const char *authorization, char *user,
                            size_t user_size);

/* True when the group needs credentials. */
bool br_auth_group_protected(const br_auth *a, br_auth_group g);

typedef struct br_auth_stats {
    uint64_t cache_hits;    /* basic-auth checks answered from the cache */
    uint64_t cache_misses;  /* basic-auth checks that ran bcrypt */
} br_auth_stats;
void br_auth_stats_get(br_auth *a, br_auth_stats *out);

/* Compares two byte strings in time that depends only on their lengths,
 * not on where they differ. Exposed for tests. */
bool br_auth_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len);

/* Checks the shape of a bcrypt hash ($2a$/$2b$/$2y$, cost 04..31, 53
 * characters of bcrypt base64). Exposed for config validation and tests. */
bool br_auth_bcrypt_hash_valid(const char *hash);

#endif
