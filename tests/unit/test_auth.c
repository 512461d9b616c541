/*
 * test_auth.c — api/auth.c: route groups, token files with rotation,
 * basic auth against bcrypt hashes made here with crypt_rn (cost 4, so
 * each verification takes about a millisecond), the verified-credential
 * cache, the constant-time compare and the admin switch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/auth.h"
#include "tests/helpers/testutil.h"

#include <crypt.h>

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp("auth");
    return dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(dir);
    free(dir);
    return 0;
}

/* A fresh bcrypt hash of password at cost 4 ("$2b$04$..."). */
static void make_hash(const char *password, char out[128])
{
    char salt[64];
    assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)));
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    const char *h = crypt_rn(password, salt, cd, (int)sizeof(*cd));
    assert_non_null(h);
    snprintf(out, 128, "%s", h);
    free(cd);
}

/* "Basic base64(user:password)" via curl-free encoding. */
static void basic_header(const char *user, const char *password, char *out, size_t size)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char plain[256];
    snprintf(plain, sizeof(plain), "%s:%s", user, password);
    size_t n = strlen(plain);
    size_t o = (size_t)snprintf(out, size, "Basic ");
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)plain[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t)(unsigned char)plain[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= (unsigned char)plain[i + 2];
        }
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    out[o] = '\0';
    assert_true(o < size);
}

static br_auth *auth_with_users(const char *users_yaml, br_err *err)
{
    char *path = tu_write_file(dir, "users.yml", users_yaml);
    br_auth_options o;
    memset(&o, 0, sizeof(o));
    o.groups[BR_AUTH_READ].users_file = path;
    br_auth *a = br_auth_new(&o, err);
    free(path);
    return a;
}

static void test_auth_paths_map_to_groups(void **state)
{
    (void)state;
    assert_int_equal(br_auth_group_for_path("/api/v1/write"), BR_AUTH_WRITE);
    assert_int_equal(br_auth_group_for_path("/api/v1/query"), BR_AUTH_READ);
    assert_int_equal(br_auth_group_for_path("/api/v1/slos/x"), BR_AUTH_READ);
    assert_int_equal(br_auth_group_for_path("/api/v1/gate"), BR_AUTH_READ);
    assert_int_equal(br_auth_group_for_path("/api/v1/rules"), BR_AUTH_READ);
    assert_int_equal(br_auth_group_for_path("/metrics"), BR_AUTH_READ);
    assert_int_equal(br_auth_group_for_path("/-/reload"), BR_AUTH_ADMIN);
    assert_int_equal(br_auth_group_for_path("/api/v1/admin/tsdb/snapshot"), BR_AUTH_ADMIN);
    assert_int_equal(br_auth_group_for_path("/-/healthy"), BR_AUTH_PROBE);
    assert_int_equal(br_auth_group_for_path("/-/ready"), BR_AUTH_PROBE);
    assert_int_equal(br_auth_group_for_path("/"), BR_AUTH_UI);
    assert_int_equal(br_auth_group_for_path("/slo/checkout"), BR_AUTH_UI);
    assert_int_equal(br_auth_group_for_path("/query"), BR_AUTH_UI);
    assert_int_equal(br_auth_group_for_path("/app.js"), BR_AUTH_UI);
    /* Neither a write-path prefix nor a suffix widens the write group. */
    assert_int_equal(br_auth_group_for_path("/api/v1/writex"), BR_AUTH_READ);
    assert_string_equal(br_auth_group_name(BR_AUTH_ADMIN), "admin");
}

static void test_auth_ct_equal_compares_whole_strings(void **state)
{
    (void)state;
    assert_true(br_auth_ct_equal("secret", 6, "secret", 6));
    assert_false(br_auth_ct_equal("secret", 6, "secreT", 6));
    assert_false(br_auth_ct_equal("secret", 6, "secre", 5));
    assert_false(br_auth_ct_equal("secre", 5, "secret", 6));
    /* A shorter string padded with what the compare pads with (NUL). */
    assert_false(br_auth_ct_equal("ab\0", 3, "ab", 2));
    assert_true(br_auth_ct_equal("", 0, "", 0));
}

static void test_auth_token_file_allows_every_listed_token_for_rotation(void **state)
{
    (void)state;
    char *path = tu_write_file(dir, "write.token",
                               "# rotated 2024-05-01\nold-token\n\n  new-token  \r\n");
    br_auth_options o;
    memset(&o, 0, sizeof(o));
    o.groups[BR_AUTH_WRITE].token_file = path;
    br_err err;
    br_err_clear(&err);
    br_auth *a = br_auth_new(&o, &err);
    assert_non_null(a);
    br_auth_verdict v;
    br_auth_check(a, "/api/v1/write", "Bearer old-token", &v);
    assert_int_equal(v.status, 0);
    br_auth_check(a, "/api/v1/write", "bearer new-token", &v);
    assert_int_equal(v.status, 0);
    br_auth_check(a, "/api/v1/write", "Bearer new-toke", &v);
    assert_int_equal(v.status, 401);
    assert_int_equal(v.result, BR_AUTH_INVALID);
    br_auth_check(a, "/api/v1/write", "Bearer # rotated 2024-05-01", &v);
    assert_int_equal(v.status, 401);
    br_auth_check(a, "/api/v1/write", NULL, &v);
    assert_int_equal(v.status, 401);
    assert_int_equal(v.result, BR_AUTH_MISSING);
    assert_true(v.offer_bearer);
    assert_false(v.offer_basic);
    assert_non_null(strstr(v.message, "/api/v1/write requires a bearer token"));
    /* Other groups stay open: only write has credentials. */
    br_auth_check(a, "/api/v1/query", NULL, &v);
    assert_int_equal(v.status, 0);
    br_auth_free(a);
    free(path);
}

static void test_auth_token_file_without_tokens_is_an_error(void **state)
{
    (void)state;
    char *path = tu_write_file(dir, "empty.token", "# nothing yet\n\n");
    br_auth_options o;
    memset(&o, 0, sizeof(o));
    o.groups[BR_AUTH_READ].token_file = path;
    br_err err;
    br_err_clear(&err);
    assert_null(br_auth_new(&o, &err));
    assert_non_null(strstr(err.msg, "auth.read_token_file"));
    assert_non_null(strstr(err.msg, "holds no token"));
    free(path);
}

static void test_auth_missing_token_file_names_the_key_and_file(void **state)
{
    (void)state;
    br_auth_options o;
    memset(&o, 0, sizeof(o));
    o.groups[BR_AUTH_UI].token_file = "/nonexistent/ui.token";
    br_err err;
    br_err_clear(&err);
    assert_null(br_auth_new(&o, &err));
    assert_int_equal(err.code, BR_EIO);
    assert_non_null(strstr(err.msg, "auth.ui_token_file: cannot read /nonexistent/ui.token"));
}

static void test_auth_basic_accepts_good_password_and_refuses_bad(void **state)
{
    (void)state;
    char hash[128];
    make_hash("hunter2", hash);
    char yaml[512];
    snprintf(yaml, sizeof(yaml), "basic_auth_users:\n  alice: %s\n", hash);
    br_err err;
    br_err_clear(&err);
    br_auth *a = auth_with_users(yaml, &err);
    assert_non_null(a);
    char hdr[256];
    br_auth_verdict v;
    basic_header("alice", "hunter2", hdr, sizeof(hdr));
    br_auth_check(a, "/api/v1/query", hdr, &v);
    assert_int_equal(v.status, 0);
    basic_header("alice", "hunter3", hdr, sizeof(hdr));
    br_auth_check(a, "/api/v1/query", hdr, &v);
    assert_int_equal(v.status, 401);
    assert_int_equal(v.result, BR_AUTH_INVALID);
    assert_true(v.offer_basic);
    assert_false(v.offer_bearer);
    basic_header("bob", "hunter2", hdr, sizeof(hdr));
    br_auth_check(a, "/api/v1/query", hdr, &v);
    assert_int_equal(v.status, 401);
    /* Not base64, no colon, a bearer where only basic is configured. */
    br_auth_check(a, "/api/v1/query", "Basic !!!", &v);
    assert_int_equal(v.status, 401);
    br_auth_check(a, "/api/v1/query", "Basic YWxpY2U=", &v);
    assert_int_equal(v.status, 401);
    br_auth_check(a, "/api/v1/query", "Bearer hunter2", &v);
    assert_int_equal(v.status, 401);
    br_auth_free(a);
}

static void test_auth_basic_cache_hits_after_first_success_only(void **state)
{
    (void)state;
    char hash[128];
    make_hash("s3cret", hash);
    char yaml[512];
    snprintf(yaml, sizeof(yaml), "basic_auth_users:\n  writer: '%s'\n", hash);
    br_err err;
    br_err_clear(&err);
    br_auth *a = auth_with_users(yaml, &err);
    assert_non_null(a);
    char good[256];
    char bad[256];
    basic_header("writer", "s3cret", good, sizeof(good));
    basic_header("writer", "wrong", bad, sizeof(bad));
    br_auth_verdict v;
    br_auth_stats st;

    br_auth_check(a, "/metrics", bad, &v);
    br_auth_check(a, "/metrics", bad, &v);
    assert_int_equal(v.status, 401);
    br_auth_stats_get(a, &st);
    assert_int_equal(st.cache_hits, 0);
    assert_int_equal(st.cache_misses, 2); /* failures are never cached */

    br_auth_check(a, "/metrics", good, &v);
    assert_int_equal(v.status, 0);
    br_auth_stats_get(a, &st);
    assert_int_equal(st.cache_misses, 3);
    assert_int_equal(st.cache_hits, 0);
    for (int i = 0; i < 5; i++) {
        br_auth_check(a, "/metrics", good, &v);
        assert_int_equal(v.status, 0);
    }
    br_auth_stats_get(a, &st);
    assert_int_equal(st.cache_hits, 5);
    assert_int_equal(st.cache_misses, 3);
    /* The cached success does not leak to another password. */
    br_auth_check(a, "/metrics", bad, &v);
    assert_int_equal(v.status, 401);
    br_auth_free(a);
}

static void test_auth_users_file_rejects_bad_hash_with_line(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    assert_null(auth_with_users("basic_auth_users:\n  alice: plaintext-password\n", &err));
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.msg, "user \"alice\": not a bcrypt hash"));
    assert_non_null(strstr(err.file, "users.yml"));
}

static void test_auth_users_file_rejects_unknown_keys(void **state)
{
    (void)state;
    br_err err;
    br_err_clear(&err);
    assert_null(auth_with_users("basic_auth_user:\n  alice: x\n", &err));
    assert_int_equal(err.line, 1);
    assert_non_null(strstr(err.msg, "basic_auth_user"));
}

static void test_auth_bcrypt_hash_shape_is_checked(void **state)
{
    (void)state;
    char hash[128];
    make_hash("x", hash);
    assert_true(br_auth_bcrypt_hash_valid(hash));
    hash[2] = 'y';
    assert_true(br_auth_bcrypt_hash_valid(hash));
    hash[2] = 'x';
    assert_false(br_auth_bcrypt_hash_valid(hash));
    assert_false(br_auth_bcrypt_hash_valid("$2y$03$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0"));
    assert_false(br_auth_bcrypt_hash_valid("$2y$10$short"));
    assert_false(br_auth_bcrypt_hash_valid("$6$salt$hash"));
}

static void test_auth_admin_routes_refused_unless_enabled(void **state)
{
    (void)state;
    br_auth_options o;
    memset(&o, 0, sizeof(o));
    br_err err;
    br_err_clear(&err);
    br_auth *a = br_auth_new(&o, &err);
    assert_non_null(a);
    br_auth_verdict v;
    br_auth_check(a, "/-/reload", NULL, &v);
    assert_int_equal(v.status, 403);
    assert_int_equal(v.result, BR_AUTH_DISABLED);
    assert_non_null(strstr(v.message, "admin: {enabled: true}"));
    br_auth_check(NULL, "/-/reload", NULL, &v);
    assert_int_equal(v.status, 403);
    br_auth_free(a);

    o.admin_enabled = true;
    char *path = tu_write_file(dir, "admin.token", "adm\n");
    o.groups[BR_AUTH_ADMIN].token_file = path;
    a = br_auth_new(&o, &err);
    assert_non_null(a);
    br_auth_check(a, "/-/reload", NULL, &v);
    assert_int_equal(v.status, 401);
    br_auth_check(a, "/-/reload", "Bearer adm", &v);
    assert_int_equal(v.status, 0);
    /* Probes never need credentials. */
    br_auth_check(a, "/-/healthy", NULL, &v);
    assert_int_equal(v.status, 0);
    br_auth_free(a);
    free(path);
}

static void test_auth_group_with_tokens_and_users_accepts_both(void **state)
{
    (void)state;
    char hash[128];
    make_hash("pw", hash);
    char yaml[512];
    snprintf(yaml, sizeof(yaml), "basic_auth_users:\n  carol: %s\n", hash);
    char *users = tu_write_file(dir, "ui-users.yml", yaml);
    char *tokens = tu_write_file(dir, "ui.token", "tok\n");
    br_auth_options o;
    memset(&o, 0, sizeof(o));
    o.groups[BR_AUTH_UI].users_file = users;
    o.groups[BR_AUTH_UI].token_file = tokens;
    br_err err;
    br_err_clear(&err);
    br_auth *a = br_auth_new(&o, &err);
    assert_non_null(a);
    char hdr[256];
    basic_header("carol", "pw", hdr, sizeof(hdr));
    br_auth_verdict v;
    br_auth_check(a, "/slo/x", hdr, &v);
    assert_int_equal(v.status, 0);
    br_auth_check(a, "/slo/x", "Bearer tok", &v);
    assert_int_equal(v.status, 0);
    br_auth_check(a, "/slo/x", "Digest x", &v);
    assert_int_equal(v.status, 401);
    assert_true(v.offer_basic);
    assert_true(v.offer_bearer);
    assert_non_null(strstr(v.message, "a bearer token or basic auth"));
    br_auth_free(a);
    free(users);
    free(tokens);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_paths_map_to_groups),
        cmocka_unit_test(test_auth_ct_equal_compares_whole_strings),
        cmocka_unit_test(test_auth_token_file_allows_every_listed_token_for_rotation),
        cmocka_unit_test(test_auth_token_file_without_tokens_is_an_error),
        cmocka_unit_test(test_auth_missing_token_file_names_the_key_and_file),
        cmocka_unit_test(test_auth_basic_accepts_good_password_and_refuses_bad),
        cmocka_unit_test(test_auth_basic_cache_hits_after_first_success_only),
        cmocka_unit_test(test_auth_users_file_rejects_bad_hash_with_line),
        cmocka_unit_test(test_auth_users_file_rejects_unknown_keys),
        cmocka_unit_test(test_auth_bcrypt_hash_shape_is_checked),
        cmocka_unit_test(test_auth_admin_routes_refused_unless_enabled),
        cmocka_unit_test(test_auth_group_with_tokens_and_users_accepts_both),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
