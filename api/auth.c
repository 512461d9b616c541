/*
 * auth.c — route groups, bearer tokens, basic-auth users with bcrypt and
 * the cache of verified credentials. See auth.h for the rules.
 *
 * Request flow: server.c calls br_auth_check() once per request, before
 * the body is handed to a handler. The check maps the path to a group,
 * then parses the Authorization header:
 *   Bearer <token>  SHA-256 of the token compared with every configured
 *                   token's digest (no early exit), so neither length nor
 *                   the position of a difference shows in the timing.
 *   Basic <b64>     user:password; cache lookup keyed by
 *                   HMAC-SHA256(process key, group | user | NUL | password);
 *                   on a miss crypt_rn() against the user's hash and a
 *                   constant-time compare of the result; a match is stored.
 * The cache is direct-mapped (slot = first key bytes mod size): a
 * collision only evicts, so the worst case is one extra bcrypt.
 *
 * Invariants: a br_auth never changes after br_auth_new apart from the
 * cache slots and the hit/miss counters; `cache_mu` guards the slots.
 */
#include "auth.h"

#include "engine/core/alloc.h"
#include "engine/core/sha256.h"
#include "rules/yamldoc.h"

#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>

#define DEFAULT_CACHE_SLOTS 1024
#define MAX_HEADER_LEN      2048
#define BCRYPT_HASH_LEN     60

typedef struct user {
    char *name;
    char *hash; /* bcrypt, validated by br_auth_bcrypt_hash_valid */
} user;

typedef struct group_creds {
    uint8_t (*token_digests)[BR_SHA256_SIZE];
    size_t n_tokens;
    user *users;
    size_t n_users;
} group_creds;

typedef struct cache_slot {
    bool used;
    uint8_t key[BR_SHA256_SIZE];
} cache_slot;

struct br_auth {
    /* Immutable after br_auth_new. */
    group_creds groups[BR_AUTH_N_GROUPS];
    bool admin_enabled;
    uint8_t cache_secret[32];
    size_t cache_size;
    /* The cache, guarded by cache_mu. */
    pthread_mutex_t cache_mu;
    cache_slot *cache;
    /* Statistics. */
    _Atomic uint64_t hits;
    _Atomic uint64_t misses;
};

static const char *const group_names[BR_AUTH_N_GROUPS] = {"probe", "write", "read", "admin",
                                                          "ui"};

const char *br_auth_group_name(br_auth_group g)
{
    if ((unsigned)g >= BR_AUTH_N_GROUPS) {
        return "unknown";
    }
    return group_names[g];
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

br_auth_group br_auth_group_for_path(const char *path)
{
    if (strcmp(path, "/-/healthy") == 0 || strcmp(path, "/-/ready") == 0) {
        return BR_AUTH_PROBE;
    }
    if (strcmp(path, "/api/v1/write") == 0) {
        return BR_AUTH_WRITE;
    }
    if (has_prefix(path, "/-/") || has_prefix(path, "/api/v1/admin/")) {
        return BR_AUTH_ADMIN;
    }
    if (strcmp(path, "/metrics") == 0 || has_prefix(path, "/api/")) {
        return BR_AUTH_READ;
    }
    return BR_AUTH_UI;
}

bool br_auth_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
    const unsigned char *x = a;
    const unsigned char *y = b;
    /* Walk the longer string; positions past the shorter one compare with
     * zero and the length difference is folded in at the end. */
    size_t n = a_len > b_len ? a_len : b_len;
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char cx = i < a_len ? x[i] : 0;
        unsigned char cy = i < b_len ? y[i] : 0;
        diff |= (unsigned char)(cx ^ cy);
    }
    return (diff | (unsigned char)(a_len != b_len)) == 0;
}

static bool bcrypt_b64_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '/';
}

bool br_auth_bcrypt_hash_valid(const char *h)
{
    if (h == NULL || strlen(h) != BCRYPT_HASH_LEN) {
        return false;
    }
    if (h[0] != '$' || h[1] != '2' || (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') ||
        h[3] != '$') {
        return false;
    }
    if (h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9' || h[6] != '$') {
        return false;
    }
    int cost = (h[4] - '0') * 10 + (h[5] - '0');
    if (cost < 4 || cost > 31) {
        return false;
    }
    for (size_t i = 7; i < BCRYPT_HASH_LEN; i++) {
        if (!bcrypt_b64_char(h[i])) {
            return false;
        }
    }
    return true;
}

/* ---- loading ------------------------------------------------------------ */

/* Reads a whole small file into a new NUL-terminated string. */
static int read_small_file(const char *path, const char *what, char **out, br_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return br_err_set(err, BR_EIO, "%s: cannot read %s: %s", what, path, strerror(errno));
    }
    char *buf = br_malloc(BR_AUTH_MAX_FILE_BYTES + 1);
    size_t n = fread(buf, 1, BR_AUTH_MAX_FILE_BYTES + 1, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) {
        br_free(buf);
        return br_err_set(err, BR_EIO, "%s: cannot read %s", what, path);
    }
    if (n > BR_AUTH_MAX_FILE_BYTES) {
        br_free(buf);
        return br_err_set(err, BR_ELIMIT, "%s: %s is larger than %d bytes", what, path,
                          BR_AUTH_MAX_FILE_BYTES);
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

static int load_tokens(group_creds *g, const char *path, const char *group, br_err *err)
{
    char what[64];
    snprintf(what, sizeof(what), "auth.%s_token_file", group);
    char *text = NULL;
    int rc = read_small_file(path, what, &text, err);
    if (rc != 0) {
        return rc;
    }
    g->token_digests = br_calloc(BR_AUTH_MAX_TOKENS, sizeof(*g->token_digests));
    int line_no = 0;
    char *p = text;
    while (rc == 0 && p != NULL && *p != '\0') {
        line_no++;
        char *nl = strchr(p, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        char *line = p;
        p = nl ? nl + 1 : NULL;
        while (*line == ' ' || *line == '\t') {
            line++;
        }
        size_t len = strlen(line);
        while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
                           line[len - 1] == '\t')) {
            line[--len] = '\0';
        }
        if (len == 0 || line[0] == '#') {
            continue;
        }
        if (len > BR_AUTH_MAX_TOKEN_LEN) {
            rc = br_err_setpos(err, BR_ELIMIT, path, line_no, 0,
                               "%s: token longer than %d bytes", what, BR_AUTH_MAX_TOKEN_LEN);
            break;
        }
        if (g->n_tokens >= BR_AUTH_MAX_TOKENS) {
            rc = br_err_setpos(err, BR_ELIMIT, path, line_no, 0, "%s: more than %d tokens",
                               what, BR_AUTH_MAX_TOKENS);
            break;
        }
        br_sha256(line, len, g->token_digests[g->n_tokens]);
        g->n_tokens++;
    }
    br_free(text);
    if (rc == 0 && g->n_tokens == 0) {
        rc = br_err_set(err, BR_EINVAL, "%s: %s holds no token", what, path);
    }
    return rc;
}

static int load_users(group_creds *g, const char *path, const char *group, br_err *err)
{
    static const char *const keys[] = {"basic_auth_users", "tls_server_config",
                                       "http_server_config", NULL};
    char what[64];
    snprintf(what, sizeof(what), "auth.%s_users_file", group);
    struct stat st;
    if (stat(path, &st) != 0) {
        return br_err_set(err, BR_EIO, "%s: cannot read %s: %s", what, path, strerror(errno));
    }
    if (st.st_size > BR_AUTH_MAX_FILE_BYTES) {
        return br_err_set(err, BR_ELIMIT, "%s: %s is larger than %d bytes", what, path,
                          BR_AUTH_MAX_FILE_BYTES);
    }
    br_yaml_doc doc;
    int rc = br_yaml_load_file(&doc, path, err);
    if (rc != 0) {
        return rc;
    }
    br_yaml_node *root = br_yaml_root(&doc);
    br_yaml_node *users = NULL;
    if (root == NULL) {
        rc = br_err_set(err, BR_EINVAL, "%s: %s is empty; it needs \"basic_auth_users\"", what,
                        path);
    }
    if (rc == 0) {
        rc = br_yaml_expect_map(&doc, root, "the top level", err);
    }
    if (rc == 0) {
        rc = br_yaml_check_keys(&doc, root, "a users file", keys, err);
    }
    if (rc == 0) {
        users = br_yaml_map_get(&doc, root, "basic_auth_users");
        if (users == NULL) {
            rc = br_yaml_error(&doc, root, err, BR_EINVAL,
                               "%s needs a \"basic_auth_users\" mapping of user: bcrypt hash",
                               what);
        }
    }
    if (rc == 0) {
        rc = br_yaml_expect_map(&doc, users, "basic_auth_users", err);
    }
    size_t n = rc == 0 ? br_yaml_map_size(users) : 0;
    if (rc == 0 && n == 0) {
        rc = br_yaml_error(&doc, users, err, BR_EINVAL, "\"basic_auth_users\" names no user");
    }
    if (rc == 0 && n > BR_AUTH_MAX_USERS) {
        rc = br_yaml_error(&doc, users, err, BR_ELIMIT, "more than %d users in %s",
                           BR_AUTH_MAX_USERS, what);
    }
    if (rc == 0) {
        g->users = br_calloc(n, sizeof(*g->users));
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        br_yaml_node *kn = NULL;
        br_yaml_node *vn = NULL;
        const char *name = br_yaml_map_key(&doc, users, i, &kn, &vn);
        if (name == NULL || name[0] == '\0' || strchr(name, ':') != NULL) {
            rc = br_yaml_error(&doc, kn, err, BR_EINVAL,
                               "user names must be non-empty and hold no ':'");
            break;
        }
        const char *hash = NULL;
        rc = br_yaml_get_string(&doc, vn, "basic_auth_users value", &hash, err);
        if (rc != 0) {
            break;
        }
        if (!br_auth_bcrypt_hash_valid(hash)) {
            rc = br_yaml_error(&doc, vn, err, BR_EINVAL,
                               "user \"%s\": not a bcrypt hash (want $2y$, $2b$ or $2a$, a cost "
                               "of 04-31 and 60 characters, e.g. from htpasswd -nbBC 10)",
                               name);
            break;
        }
        for (size_t j = 0; j < g->n_users; j++) {
            if (strcmp(g->users[j].name, name) == 0) {
                rc = br_yaml_error(&doc, kn, err, BR_EINVAL, "user \"%s\" appears twice", name);
                break;
            }
        }
        if (rc != 0) {
            break;
        }
        g->users[i].name = br_strdup(name);
        g->users[i].hash = br_strdup(hash);
        g->n_users = i + 1;
    }
    br_yaml_free(&doc);
    return rc;
}

static void free_group(group_creds *g)
{
    br_free(g->token_digests);
    for (size_t i = 0; i < g->n_users; i++) {
        br_free(g->users[i].name);
        br_free(g->users[i].hash);
    }
    br_free(g->users);
    memset(g, 0, sizeof(*g));
}

br_auth *br_auth_new(const br_auth_options *o, br_err *err)
{
    br_auth *a = br_calloc(1, sizeof(*a));
    a->admin_enabled = o->admin_enabled;
    a->cache_size = o->cache_size ? o->cache_size : DEFAULT_CACHE_SLOTS;
    a->cache = br_calloc(a->cache_size, sizeof(*a->cache));
    pthread_mutex_init(&a->cache_mu, NULL);
    if (getrandom(a->cache_secret, sizeof(a->cache_secret), 0) != (ssize_t)sizeof(a->cache_secret)) {
        br_auth_free(a);
        br_err_set(err, BR_EIO, "auth: cannot read random bytes for the credential cache: %s",
                   strerror(errno));
        return NULL;
    }
    for (int g = BR_AUTH_WRITE; g < BR_AUTH_N_GROUPS; g++) {
        const br_auth_group_options *go = &o->groups[g];
        int rc = 0;
        if (go->token_file != NULL) {
            rc = load_tokens(&a->groups[g], go->token_file, group_names[g], err);
        }
        if (rc == 0 && go->users_file != NULL) {
            rc = load_users(&a->groups[g], go->users_file, group_names[g], err);
        }
        if (rc != 0) {
            br_auth_free(a);
            return NULL;
        }
    }
    return a;
}

void br_auth_free(br_auth *a)
{
    if (a == NULL) {
        return;
    }
    for (int g = 0; g < BR_AUTH_N_GROUPS; g++) {
        free_group(&a->groups[g]);
    }
    br_free(a->cache);
    pthread_mutex_destroy(&a->cache_mu);
    br_free(a);
}

bool br_auth_group_protected(const br_auth *a, br_auth_group g)
{
    if (a == NULL || (unsigned)g >= BR_AUTH_N_GROUPS) {
        return false;
    }
    return a->groups[g].n_tokens > 0 || a->groups[g].n_users > 0;
}

void br_auth_stats_get(br_auth *a, br_auth_stats *out)
{
    out->cache_hits = atomic_load(&a->hits);
    out->cache_misses = atomic_load(&a->misses);
}

/* ---- checking ----------------------------------------------------------- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

/* Decodes standard base64 (padding optional) into out; returns the length
 * or -1 when the input is not base64 or does not fit. */
static long b64_decode(const char *in, char *out, size_t out_size)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    size_t i = 0;
    for (; in[i] != '\0' && in[i] != '='; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0) {
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= out_size) {
                return -1;
            }
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    for (; in[i] == '='; i++) {
    }
    if (in[i] != '\0') {
        return -1;
    }
    out[o] = '\0';
    return (long)o;
}

static void cache_key(const br_auth *a, br_auth_group g, const char *user_name,
                      const char *password, size_t password_len, uint8_t out[BR_SHA256_SIZE])
{
    size_t ul = strlen(user_name);
    size_t len = 1 + ul + 1 + password_len;
    char *msg = br_malloc(len);
    msg[0] = (char)g;
    memcpy(msg + 1, user_name, ul);
    msg[1 + ul] = '\0';
    memcpy(msg + 2 + ul, password, password_len);
    br_hmac_sha256(a->cache_secret, sizeof(a->cache_secret), msg, len, out);
    memset(msg, 0, len);
    br_free(msg);
}

static size_t cache_index(const br_auth *a, const uint8_t key[BR_SHA256_SIZE])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | key[i];
    }
    return (size_t)(v % a->cache_size);
}

static bool cache_lookup(br_auth *a, const uint8_t key[BR_SHA256_SIZE])
{
    size_t i = cache_index(a, key);
    pthread_mutex_lock(&a->cache_mu);
    bool hit = a->cache[i].used &&
               br_auth_ct_equal(a->cache[i].key, BR_SHA256_SIZE, key, BR_SHA256_SIZE);
    pthread_mutex_unlock(&a->cache_mu);
    return hit;
}

static void cache_store(br_auth *a, const uint8_t key[BR_SHA256_SIZE])
{
    size_t i = cache_index(a, key);
    pthread_mutex_lock(&a->cache_mu);
    a->cache[i].used = true;
    memcpy(a->cache[i].key, key, BR_SHA256_SIZE);
    pthread_mutex_unlock(&a->cache_mu);
}

/* Runs bcrypt; true when password matches hash. */
static bool bcrypt_matches(const char *password, const char *hash)
{
    struct crypt_data *cd = br_calloc(1, sizeof(*cd));
    const char *out = crypt_rn(password, hash, cd, (int)sizeof(*cd));
    bool ok = out != NULL && out[0] != '*' &&
              br_auth_ct_equal(out, strlen(out), hash, strlen(hash));
    memset(cd, 0, sizeof(*cd));
    br_free(cd);
    return ok;
}

static bool check_basic(br_auth *a, br_auth_group g, const char *b64, char *user_out,
                        size_t user_size)
{
    const group_creds *gc = &a->groups[g];
    if (gc->n_users == 0) {
        return false;
    }
    char decoded[MAX_HEADER_LEN];
    long n = b64_decode(b64, decoded, sizeof(decoded));
    if (n < 0) {
        return false;
    }
    char *colon = memchr(decoded, ':', (size_t)n);
    if (colon == NULL) {
        return false;
    }
    *colon = '\0';
    const char *name = decoded;
    const char *password = colon + 1;
    size_t password_len = (size_t)n - (size_t)(password - decoded);
    if (strlen(password) != password_len) {
        return false; /* a NUL inside the password: crypt would cut it */
    }
    const user *u = NULL;
    for (size_t i = 0; i < gc->n_users; i++) {
        if (strcmp(gc->users[i].name, name) == 0) {
            u = &gc->users[i];
        }
    }
    uint8_t key[BR_SHA256_SIZE];
    cache_key(a, g, name, password, password_len, key);
    if (u != NULL && cache_lookup(a, key)) {
        atomic_fetch_add(&a->hits, 1);
        if (user_out != NULL && user_size > 0) {
            snprintf(user_out, user_size, "%s", name);
        }
        memset(decoded, 0, sizeof(decoded));
        return true;
    }
    atomic_fetch_add(&a->misses, 1);
    /* An unknown user costs the same bcrypt as a known one. */
    bool ok = bcrypt_matches(password, u != NULL ? u->hash : gc->users[0].hash) && u != NULL;
    if (ok) {
        cache_store(a, key);
    }
    if (ok && user_out != NULL && user_size > 0) {
        snprintf(user_out, user_size, "%s", name);
    }
    memset(decoded, 0, sizeof(decoded));
    return ok;
}

static bool check_bearer(const br_auth *a, br_auth_group g, const char *token)
{
    const group_creds *gc = &a->groups[g];
    size_t len = strlen(token);
    while (len > 0 && (token[len - 1] == ' ' || token[len - 1] == '\t')) {
        len--;
    }
    uint8_t digest[BR_SHA256_SIZE];
    br_sha256(token, len, digest);
    bool ok = false;
    for (size_t i = 0; i < gc->n_tokens; i++) {
        ok |= br_auth_ct_equal(digest, sizeof(digest), gc->token_digests[i], BR_SHA256_SIZE);
    }
    return ok && len > 0;
}

static void refuse(br_auth_verdict *out, br_auth_result r, int status, const char *fmt,
                   const char *a1, const char *a2)
{
    out->result = r;
    out->status = status;
    snprintf(out->message, sizeof(out->message), fmt, a1, a2);
}

void br_auth_check(br_auth *a, const char *path, const char *authorization,
                   br_auth_verdict *out)
{
    memset(out, 0, sizeof(*out));
    out->group = br_auth_group_for_path(path);
    const char *gname = group_names[out->group];
    if (out->group == BR_AUTH_ADMIN && (a == NULL || !a->admin_enabled)) {
        refuse(out, BR_AUTH_DISABLED, 403,
               "admin endpoints are disabled: %s needs \"admin: {enabled: true}\" in the "
               "configuration (SIGHUP reloads without it)%s",
               path, "");
        return;
    }
    if (!br_auth_group_protected(a, out->group)) {
        return;
    }
    const group_creds *gc = &a->groups[out->group];
    out->offer_bearer = gc->n_tokens > 0;
    out->offer_basic = gc->n_users > 0;
    const char *what = out->offer_bearer && out->offer_basic ? "a bearer token or basic auth"
                       : out->offer_bearer                   ? "a bearer token"
                                                             : "basic auth";
    if (authorization == NULL || strlen(authorization) >= MAX_HEADER_LEN) {
        refuse(out, BR_AUTH_MISSING, 401, "unauthorized: %s requires %s", path, what);
        return;
    }
    bool ok = false;
    bool known_scheme = true;
    if (strncasecmp(authorization, "Bearer ", 7) == 0) {
        const char *t = authorization + 7;
        while (*t == ' ') {
            t++;
        }
        ok = check_bearer(a, out->group, t);
    } else if (strncasecmp(authorization, "Basic ", 6) == 0) {
        const char *t = authorization + 6;
        while (*t == ' ') {
            t++;
        }
        ok = check_basic(a, out->group, t, NULL, 0);
    } else {
        known_scheme = false;
    }
    if (ok) {
        return;
    }
    if (!known_scheme) {
        refuse(out, BR_AUTH_MISSING, 401,
               "unauthorized: %s requires %s (Authorization scheme not Bearer or Basic)", path,
               what);
        return;
    }
    refuse(out, BR_AUTH_INVALID, 401, "unauthorized: wrong credentials for %s (%s group)", path,
           gname);
}

bool br_auth_credentials_of(br_auth *a, br_auth_group g, const char *authorization, char *user_out,
                            size_t user_size)
{
    if (user_out != NULL && user_size > 0) {
        user_out[0] = '\0';
    }
    if (a == NULL || g <= BR_AUTH_PROBE || g >= BR_AUTH_N_GROUPS || authorization == NULL ||
        strlen(authorization) >= MAX_HEADER_LEN) {
        return false;
    }
    if (strncasecmp(authorization, "Bearer ", 7) == 0) {
        const char *t = authorization + 7;
        while (*t == ' ') {
            t++;
        }
        return a->groups[g].n_tokens > 0 && check_bearer(a, g, t);
    }
    if (strncasecmp(authorization, "Basic ", 6) == 0) {
        const char *t = authorization + 6;
        while (*t == ' ') {
            t++;
        }
        return check_basic(a, g, t, user_out, user_size);
    }
    return false;
}
