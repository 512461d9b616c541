/*
 * test_openapi.c — api/openapi.yaml against the routes the server really
 * registers.
 *
 * Every API module's register function is called on one br_http_server
 * that is never started; br_http_server_routes() then lists what a client
 * could reach. The document (parsed with libyaml through rules/yamldoc.h)
 * must describe exactly those paths and methods, and every $ref in it must
 * resolve. So that a module added to the process cannot slip past, the test
 * also reads engine/app.c and requires each br_*_register( call there to be
 * one this test makes. The UI's static-file routes (handler name
 * "/static") are left out on purpose: they follow web/'s files; "/" stands
 * for them in the document.
 */
/* cmocka.h needs these first, in this order. */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "api/admin_api.h"
#include "api/annotations.h"
#include "api/budget_api.h"
#include "api/query_api.h"
#include "api/remote_write.h"
#include "api/rules_api.h"
#include "api/slo_api.h"
#include "api/server.h"
#include "api/status_api.h"
#include "engine/core/buf.h"
#include "rules/slo_status.h"
#include "rules/yamldoc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 128
#define MAX_PATHS  128

/* The register functions this test calls, as engine/app.c spells them. */
static const char *const registered_modules[] = {
    "br_admin_api_register",  "br_remote_write_api_register", "br_query_api_register",
    "br_status_api_register", "br_budget_api_register",       "br_rules_api_register",
    "br_slo_api_register",    "br_annotations_api_register",
};

static const struct {
    const char *key;
    unsigned bit;
} method_keys[] = {
    {"get", BR_HTTP_GET},   {"post", BR_HTTP_POST},
    {"put", BR_HTTP_PUT},   {"delete", BR_HTTP_DELETE},
    {"head", BR_HTTP_HEAD}, {"patch", 0},
    {"options", 0},         {"trace", 0},
};

typedef struct doc_path {
    const char *path;
    unsigned methods;
    br_yaml_node *node;
} doc_path;

static char source_dir[1024];
static br_yaml_doc doc;
static doc_path paths[MAX_PATHS];
static size_t n_paths;
static br_http_server *srv;
static br_http_route_info routes[MAX_ROUTES];
static size_t n_routes;

static br_admin_api admin;
static br_query_api query;
static br_status_info status;
static br_budget_api budget;
static br_slo_source slo_source;
static br_annotations_api annotations_api;

/* The source tree: BR_SOURCE_DIR (ctest sets it), else this file's
 * compile-time location. */
static void find_source_dir(void)
{
    const char *env = getenv("BR_SOURCE_DIR");
    if (env != NULL && env[0] != '\0') {
        snprintf(source_dir, sizeof(source_dir), "%s", env);
        return;
    }
    snprintf(source_dir, sizeof(source_dir), "%s", __FILE__);
    char *cut = strstr(source_dir, "/tests/unit/");
    if (cut != NULL) {
        *cut = '\0';
    }
}

static unsigned method_bit(const char *key)
{
    for (size_t i = 0; i < sizeof(method_keys) / sizeof(method_keys[0]); i++) {
        if (strcmp(method_keys[i].key, key) == 0) {
            return method_keys[i].bit ? method_keys[i].bit : 1u << 15;
        }
    }
    return 0;
}

static void methods_text(unsigned m, char *out, size_t size)
{
    static const char *const names[] = {"GET", "POST", "PUT", "DELETE", "HEAD"};
    size_t off = 0;
    out[0] = '\0';
    for (int i = 0; i < 5; i++) {
        if (m & (1u << i)) {
            off += (size_t)snprintf(out + off, size - off, "%s%s", off ? "," : "", names[i]);
        }
    }
    if (m & (1u << 15)) {
        snprintf(out + off, size - off, "%sother", off ? "," : "");
    }
}

static int setup(void **state)
{
    (void)state;
    find_source_dir();
    char file[1200];
    snprintf(file, sizeof(file), "%s/api/openapi.yaml", source_dir);
    br_err err;
    br_err_clear(&err);
    if (br_yaml_load_file(&doc, file, &err) != 0) {
        fprintf(stderr, "cannot load %s: %s\n", file, err.msg);
        return -1;
    }
    br_yaml_node *root = br_yaml_root(&doc);
    br_yaml_node *pm = root ? br_yaml_map_get(&doc, root, "paths") : NULL;
    for (size_t i = 0; pm != NULL && i < br_yaml_map_size(pm) && n_paths < MAX_PATHS; i++) {
        br_yaml_node *k = NULL;
        br_yaml_node *v = NULL;
        const char *key = br_yaml_map_key(&doc, pm, i, &k, &v);
        doc_path *p = &paths[n_paths++];
        p->path = key;
        p->node = v;
        p->methods = 0;
        for (size_t j = 0; br_yaml_is_map(v) && j < br_yaml_map_size(v); j++) {
            br_yaml_node *mk = NULL;
            br_yaml_node *mv = NULL;
            const char *m = br_yaml_map_key(&doc, v, j, &mk, &mv);
            p->methods |= m ? method_bit(m) : 0;
        }
    }

    br_http_options o;
    memset(&o, 0, sizeof(o));
    o.listen = "127.0.0.1:0";
    srv = br_http_server_new(&o, &err);
    if (srv == NULL) {
        return -1;
    }
    /* The same calls as engine/app.c; contexts are only stored, never
     * used, since the server is not started. */
    br_admin_api_register(srv, &admin);
    br_remote_write_api_register(NULL, srv, 0);
    br_query_api_register(srv, &query);
    br_status_api_register(srv, &status);
    br_slo_api_register(srv, NULL);
    br_annotations_api_register(srv, &annotations_api);
    br_budget_api_register(srv, &budget);
    br_rules_api_register(srv, &slo_source);
    n_routes = br_http_server_routes(srv, routes, MAX_ROUTES);
    return n_routes <= MAX_ROUTES ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    br_http_server_free(srv);
    br_yaml_free(&doc);
    return 0;
}

/* The UI's files and its client-side pages (/slo/<id>, /query, handler
 * name "/ui") are the UI, not an API: "/" stands for all of them. */
static bool is_static(const br_http_route_info *r)
{
    return strcmp(r->name, "/static") == 0 || strcmp(r->name, "/ui") == 0;
}

static bool route_serves(const br_http_route_info *r, const char *path)
{
    if (!r->prefix) {
        return strcmp(r->path, path) == 0;
    }
    size_t n = strlen(r->path);
    return strncmp(path, r->path, n) == 0 && path[n] != '\0';
}

/* Registered methods without the HEAD that GET implies. */
static unsigned route_methods(const br_http_route_info *r)
{
    return r->methods & (unsigned)~BR_HTTP_HEAD;
}

/* ------------------------------------------------------------------------
 * The document on its own.
 * ---------------------------------------------------------------------- */

static void test_openapi_declares_version_3_info_and_paths(void **state)
{
    (void)state;
    br_yaml_node *root = br_yaml_root(&doc);
    const char *v = br_yaml_scalar(br_yaml_map_get(&doc, root, "openapi"));
    assert_non_null(v);
    assert_int_equal(strncmp(v, "3.0.", 4), 0);
    br_yaml_node *info = br_yaml_map_get(&doc, root, "info");
    assert_non_null(br_yaml_scalar(br_yaml_map_get(&doc, info, "title")));
    assert_non_null(br_yaml_scalar(br_yaml_map_get(&doc, info, "version")));
    assert_true(n_paths >= 20);
}

/* Resolves a local JSON pointer ("#/components/schemas/X"); NULL if absent. */
static br_yaml_node *resolve_ref(const char *ref)
{
    if (strncmp(ref, "#/", 2) != 0) {
        return NULL;
    }
    br_yaml_node *n = br_yaml_root(&doc);
    const char *p = ref + 2;
    while (n != NULL && *p != '\0') {
        char seg[256];
        size_t k = 0;
        while (*p != '\0' && *p != '/' && k + 1 < sizeof(seg)) {
            if (p[0] == '~' && p[1] == '1') {
                seg[k++] = '/';
                p += 2;
            } else if (p[0] == '~' && p[1] == '0') {
                seg[k++] = '~';
                p += 2;
            } else {
                seg[k++] = *p++;
            }
        }
        seg[k] = '\0';
        if (*p == '/') {
            p++;
        }
        n = br_yaml_is_map(n) ? br_yaml_map_get(&doc, n, seg) : NULL;
    }
    return n;
}

/* Counts $refs under n and appends the unresolved ones to bad. */
static size_t check_refs(br_yaml_node *n, br_buf *bad, int depth)
{
    size_t count = 0;
    if (n == NULL || depth > 64) {
        return 0;
    }
    if (br_yaml_is_map(n)) {
        for (size_t i = 0; i < br_yaml_map_size(n); i++) {
            br_yaml_node *k = NULL;
            br_yaml_node *v = NULL;
            const char *key = br_yaml_map_key(&doc, n, i, &k, &v);
            if (key != NULL && strcmp(key, "$ref") == 0) {
                count++;
                const char *target = br_yaml_scalar(v);
                if (target == NULL || resolve_ref(target) == NULL) {
                    br_buf_printf(bad, " %s", target ? target : "(not a string)");
                }
            } else {
                count += check_refs(v, bad, depth + 1);
            }
        }
    } else if (br_yaml_is_seq(n)) {
        for (size_t i = 0; i < br_yaml_seq_size(n); i++) {
            count += check_refs(br_yaml_seq_item(&doc, n, i), bad, depth + 1);
        }
    }
    return count;
}

static void test_openapi_every_ref_resolves(void **state)
{
    (void)state;
    br_buf bad;
    br_buf_init(&bad, 0);
    size_t refs = check_refs(br_yaml_root(&doc), &bad, 0);
    if (bad.len > 0) {
        fail_msg("unresolved $ref:%s", br_buf_str(&bad));
    }
    assert_true(refs > 50);
    br_buf_free(&bad);
}

static br_yaml_node *deref(br_yaml_node *n)
{
    br_yaml_node *r = br_yaml_is_map(n) ? br_yaml_map_get(&doc, n, "$ref") : NULL;
    return r != NULL ? resolve_ref(br_yaml_scalar(r)) : n;
}

/* Whether a parameter list declares name as a required path parameter. */
static bool declares_path_param(br_yaml_node *params, const char *name)
{
    for (size_t i = 0; br_yaml_is_seq(params) && i < br_yaml_seq_size(params); i++) {
        br_yaml_node *p = deref(br_yaml_seq_item(&doc, params, i));
        const char *n = br_yaml_scalar(br_yaml_map_get(&doc, p, "name"));
        const char *in = br_yaml_scalar(br_yaml_map_get(&doc, p, "in"));
        const char *req = br_yaml_scalar(br_yaml_map_get(&doc, p, "required"));
        if (n && in && req && strcmp(n, name) == 0 && strcmp(in, "path") == 0 &&
            strcmp(req, "true") == 0) {
            return true;
        }
    }
    return false;
}

static void test_openapi_operations_have_responses_and_path_parameters(void **state)
{
    (void)state;
    br_buf bad;
    br_buf_init(&bad, 0);
    size_t ops = 0;
    for (size_t i = 0; i < n_paths; i++) {
        br_yaml_node *item = paths[i].node;
        br_yaml_node *shared = br_yaml_map_get(&doc, item, "parameters");
        for (size_t j = 0; j < br_yaml_map_size(item); j++) {
            br_yaml_node *k = NULL;
            br_yaml_node *op = NULL;
            const char *m = br_yaml_map_key(&doc, item, j, &k, &op);
            if (m == NULL || method_bit(m) == 0) {
                continue;
            }
            ops++;
            br_yaml_node *resp = br_yaml_map_get(&doc, op, "responses");
            if (!br_yaml_is_map(resp) || br_yaml_map_size(resp) == 0) {
                br_buf_printf(&bad, " %s %s: no responses;", m, paths[i].path);
            }
            for (size_t r = 0; br_yaml_is_map(resp) && r < br_yaml_map_size(resp); r++) {
                br_yaml_node *rk = NULL;
                br_yaml_node *rv = NULL;
                const char *code = br_yaml_map_key(&doc, resp, r, &rk, &rv);
                bool ok = code != NULL &&
                          (strcmp(code, "default") == 0 ||
                           (strlen(code) == 3 && isdigit((unsigned char)code[0]) &&
                            isdigit((unsigned char)code[1]) && isdigit((unsigned char)code[2])));
                br_yaml_node *resolved = deref(rv);
                if (!ok || br_yaml_map_get(&doc, resolved, "description") == NULL) {
                    br_buf_printf(&bad, " %s %s: response %s;", m, paths[i].path,
                                  code ? code : "?");
                }
            }
            br_yaml_node *params = br_yaml_map_get(&doc, op, "parameters");
            for (const char *p = strchr(paths[i].path, '{'); p != NULL; p = strchr(p + 1, '{')) {
                const char *e = strchr(p, '}');
                assert_non_null(e);
                char name[128];
                snprintf(name, sizeof(name), "%.*s", (int)(e - p - 1), p + 1);
                if (!declares_path_param(params, name) && !declares_path_param(shared, name)) {
                    br_buf_printf(&bad, " %s %s: path parameter %s undeclared;", m, paths[i].path,
                                  name);
                }
            }
        }
    }
    if (bad.len > 0) {
        fail_msg("%s", br_buf_str(&bad));
    }
    assert_true(ops >= 35);
    br_buf_free(&bad);
}

/* ------------------------------------------------------------------------
 * The document against the server.
 * ---------------------------------------------------------------------- */

static void test_openapi_documents_every_registered_route(void **state)
{
    (void)state;
    br_buf bad;
    br_buf_init(&bad, 0);
    size_t checked = 0;
    for (size_t r = 0; r < n_routes && r < MAX_ROUTES; r++) {
        const br_http_route_info *rt = &routes[r];
        if (is_static(rt)) {
            continue;
        }
        checked++;
        size_t documented = 0;
        for (size_t i = 0; i < n_paths; i++) {
            if (!route_serves(rt, paths[i].path)) {
                continue;
            }
            documented++;
            /* Several routes may serve one path with different methods (a
             * GET prefix and a PUT/DELETE template): the document lists
             * their union. */
            unsigned all = 0;
            for (size_t o = 0; o < n_routes && o < MAX_ROUTES; o++) {
                if (!is_static(&routes[o]) && route_serves(&routes[o], paths[i].path)) {
                    all |= route_methods(&routes[o]);
                }
            }
            if (paths[i].methods != all) {
                char want[64];
                char got[64];
                methods_text(all, want, sizeof(want));
                methods_text(paths[i].methods, got, sizeof(got));
                br_buf_printf(&bad, " %s: registered %s, documented %s;", paths[i].path, want, got);
            }
        }
        if (documented == 0) {
            br_buf_printf(&bad, " %s%s: not documented;", rt->path, rt->prefix ? "*" : "");
        }
    }
    if (bad.len > 0) {
        fail_msg("%s", br_buf_str(&bad));
    }
    assert_true(checked >= 20);
    br_buf_free(&bad);
}

static void test_openapi_documents_only_registered_paths(void **state)
{
    (void)state;
    br_buf bad;
    br_buf_init(&bad, 0);
    for (size_t i = 0; i < n_paths; i++) {
        bool served = false;
        for (size_t r = 0; r < n_routes && r < MAX_ROUTES; r++) {
            served = served || (!is_static(&routes[r]) && route_serves(&routes[r], paths[i].path));
        }
        if (!served) {
            br_buf_printf(&bad, " %s;", paths[i].path);
        }
    }
    if (bad.len > 0) {
        fail_msg("documented but not registered:%s", br_buf_str(&bad));
    }
    br_buf_free(&bad);
}

static void test_openapi_budget_routes_are_among_those_checked(void **state)
{
    (void)state;
    static const char *const want[] = {"/api/v1/slos", "/api/v1/slos/{id}",
                                       "/api/v1/slos/{id}/history", "/api/v1/services",
                                       "/api/v1/gate"};
    for (size_t w = 0; w < 5; w++) {
        bool served = false;
        bool documented = false;
        for (size_t r = 0; r < n_routes; r++) {
            served = served || route_serves(&routes[r], want[w]);
        }
        for (size_t i = 0; i < n_paths; i++) {
            documented = documented || strcmp(paths[i].path, want[w]) == 0;
        }
        if (!served || !documented) {
            fail_msg("%s: served %d documented %d", want[w], served, documented);
        }
    }
}

/* Every br_*_register( call in engine/app.c is one this test makes, so a
 * module wired into the process is also checked here. */
static void test_openapi_covers_every_module_the_process_registers(void **state)
{
    (void)state;
    char file[1200];
    snprintf(file, sizeof(file), "%s/engine/app.c", source_dir);
    FILE *f = fopen(file, "r");
    assert_non_null(f);
    br_buf text;
    br_buf_init(&text, 4 * 1024 * 1024);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        assert_int_equal(br_buf_append(&text, chunk, n), 0);
    }
    fclose(f);
    br_buf missing;
    br_buf_init(&missing, 0);
    size_t calls = 0;
    const char *s = br_buf_str(&text);
    for (const char *p = strstr(s, "_register("); p != NULL; p = strstr(p + 1, "_register(")) {
        const char *b = p;
        while (b > s && (isalnum((unsigned char)b[-1]) || b[-1] == '_')) {
            b--;
        }
        if (strncmp(b, "br_", 3) != 0) {
            continue;
        }
        size_t len = (size_t)(p - b) + strlen("_register");
        calls++;
        bool known = false;
        for (size_t i = 0; i < sizeof(registered_modules) / sizeof(registered_modules[0]); i++) {
            known = known || (strlen(registered_modules[i]) == len &&
                              strncmp(registered_modules[i], b, len) == 0);
        }
        if (!known) {
            br_buf_printf(&missing, " %.*s", (int)len, b);
        }
    }
    if (missing.len > 0) {
        fail_msg("engine/app.c registers modules this test does not (add them to setup() and "
                 "document their paths in api/openapi.yaml):%s",
                 br_buf_str(&missing));
    }
    assert_true(calls >= 4);
    br_buf_free(&missing);
    br_buf_free(&text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openapi_declares_version_3_info_and_paths),
        cmocka_unit_test(test_openapi_every_ref_resolves),
        cmocka_unit_test(test_openapi_operations_have_responses_and_path_parameters),
        cmocka_unit_test(test_openapi_documents_every_registered_route),
        cmocka_unit_test(test_openapi_documents_only_registered_paths),
        cmocka_unit_test(test_openapi_budget_routes_are_among_those_checked),
        cmocka_unit_test(test_openapi_covers_every_module_the_process_registers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
