/*
 * slo_api.c — API-managed SLO definitions and their audit log. See
 * slo_api.h for the routes, the storage layout and the guarantees.
 *
 * Change protocol (PUT), under `mu`:
 *   1. the id is checked ([A-Za-z0-9_.:-], not "audit") and must not be
 *      defined by a configured file (409 naming the file);
 *   2. the body goes to <dir>/.<id>.tmp, fsync'ed, and is loaded from there
 *      into a scratch set with the file loaders; errors become 400 with the
 *      position, and the document must define exactly the SLO {id};
 *   3. the previous document (if any) is kept in memory, the temp file is
 *      renamed over <dir>/<id>.yaml and the directory fsync'ed;
 *   4. apply() rebuilds the running set; on failure the previous document
 *      is put back (or the new one removed) and the answer is 409/500;
 *   5. the audit line is appended and synced, then the answer is sent.
 * DELETE does 3-5 with the document removed.
 *
 * audit.log is JSON lines; a torn last line (crash mid-append) is skipped
 * when read.
 */
#include "slo_api.h"

#include "engine/core/alloc.h"
#include "engine/core/fileio.h"
#include "engine/core/buf.h"
#include "engine/core/clock.h"
#include "engine/core/log.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLOS_PREFIX       "/api/v1/slos/"
#define DEFINITION_SUFFIX "/definition"

struct br_slo_api {
    br_slo_api_options opts; /* immutable after new; dir points at `dir` */
    char *dir;
    char *audit_path;
    pthread_mutex_t mu;      /* serialises changes and audit appends */
    int audit_fd;
};

/* ------------------------------------------------------------ files */

static bool id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > BR_SLO_API_MAX_ID || id[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return -1;
    }
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int write_synced(const char *path, const char *data, size_t len, br_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return br_err_set(err, BR_EIO, "cannot create %s: %s", path, strerror(errno));
    }
    int rc = 0;
    if (br_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        rc = br_err_set(err, BR_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    close(fd);
    return rc;
}

/* Reads a whole file (at most max bytes) into a new NUL-terminated
 * buffer; NULL when absent or unreadable. */
static char *read_file(const char *path, size_t max, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    br_buf b;
    br_buf_init(&b, max);
    char chunk[8192];
    size_t n;
    bool ok = true;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (br_buf_append(&b, chunk, n) != 0) {
            ok = false;
            break;
        }
    }
    fclose(f);
    if (!ok) {
        br_buf_free(&b);
        return NULL;
    }
    br_buf_putc(&b, '\0');
    size_t len = 0;
    char *s = br_buf_take(&b, &len);
    if (len_out != NULL) {
        *len_out = len > 0 ? len - 1 : 0;
    }
    return s;
}

static char *path_for(const br_slo_api *api, const char *prefix, const char *id,
                      const char *suffix)
{
    size_t n = strlen(api->dir) + strlen(prefix) + strlen(id) + strlen(suffix) + 2;
    char *p = br_malloc(n);
    snprintf(p, n, "%s/%s%s%s", api->dir, prefix, id, suffix);
    return p;
}

/* Loads path into a scratch set and returns the one id it defines (copied
 * into out); errors name `shown` instead of path. */
static int load_one(const char *path, const char *shown, char *out, size_t size, br_err *err)
{
    br_slo_set *s = br_slo_set_new();
    int rc = br_slo_load_file(s, path, err);
    if (rc != 0) {
        snprintf(err->file, sizeof(err->file), "%s", shown);
    } else if (br_slo_set_len(s) != 1) {
        rc = br_err_set(err, BR_EINVAL, "%s: the document defines %zu SLOs; exactly one is needed",
                        shown, br_slo_set_len(s));
    } else {
        snprintf(out, size, "%s", br_slo_set_get(s, 0)->id);
    }
    br_slo_set_unref(s);
    return rc;
}

int br_slo_api_load_dir(const char *dir, br_slo_set *s, br_err *err)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return errno == ENOENT ? 0 : br_err_set(err, BR_EIO, "cannot read %s: %s", dir,
                                                strerror(errno));
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 6 || strcmp(e->d_name + l - 5, ".yaml") != 0) {
            continue;
        }
        names = br_realloc(names, (n + 1) * sizeof(*names));
        names[n++] = br_strdup(e->d_name);
    }
    closedir(d);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        size_t pl = strlen(dir) + strlen(names[i]) + 2;
        char *path = br_malloc(pl);
        snprintf(path, pl, "%s/%s", dir, names[i]);
        char id[BR_SLO_API_MAX_ID + 1];
        if (rc == 0) {
            rc = load_one(path, path, id, sizeof(id), err);
            if (rc == 0 && br_slo_set_find(s, id) != NULL) {
                br_log_warn("API-managed SLO is now defined by a file; the file wins",
                            "id=%s stored=%s", id, path);
            } else if (rc == 0) {
                rc = br_slo_load_file(s, path, err);
            }
        }
        br_free(path);
        br_free(names[i]);
    }
    br_free(names);
    return rc;
}

/* ------------------------------------------------------------ audit */

static int audit_append(br_slo_api *api, const char *action, const char *id,
                        const br_http_request *req, br_err *err)
{
    char who[160] = "anonymous";
    if (api->opts.actor.who != NULL) {
        api->opts.actor.who(api->opts.actor.ctx, req, who, sizeof(who));
    }
    const char *author = br_http_header(req, "X-Burnrate-Author");
    int64_t now = br_now_ms();
    char ts[64];
    br_format_rfc3339_ms(now, ts, sizeof(ts));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "time", ts);
    cJSON_AddNumberToObject(o, "time_ms", (double)now);
    cJSON_AddStringToObject(o, "action", action);
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "who", who);
    if (author != NULL && author[0] != '\0') {
        char a[128];
        snprintf(a, sizeof(a), "%s", author);
        cJSON_AddStringToObject(o, "author", a);
    }
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    size_t len = strlen(line);
    line[len] = '\n'; /* replaces the NUL; written by length */
    int rc = 0;
    if (br_write_all(api->audit_fd, line, len + 1) != 0 || fdatasync(api->audit_fd) != 0) {
        rc = br_err_set(err, BR_EIO, "cannot append to %s: %s", api->audit_path, strerror(errno));
    }
    line[len] = '\0';
    cJSON_free(line);
    br_log_info("SLO definition changed over the API", "action=%s id=%s who=\"%s\" author=\"%s\"",
                action, id, who, author ? author : "");
    return rc;
}

/* ------------------------------------------------------------ handlers */

static void respond(br_http_response *resp, int status, cJSON *root)
{
    char *text = cJSON_PrintUnformatted(root);
    resp->status = status;
    resp->content_type = "application/json";
    br_buf_reset(&resp->body);
    br_buf_puts(&resp->body, text);
    cJSON_free(text);
    cJSON_Delete(root);
}

static void respond_err(br_http_response *resp, int status, const char *type, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
static void respond_err(br_http_response *resp, int status, const char *type, const char *fmt,
                        ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "error");
    cJSON_AddStringToObject(o, "errorType", type);
    cJSON_AddStringToObject(o, "error", msg);
    respond(resp, status, o);
}

static void respond_ok(br_http_response *resp, int status, const char *id, const char *action)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "success");
    cJSON *d = cJSON_AddObjectToObject(o, "data");
    cJSON_AddStringToObject(d, "id", id);
    cJSON_AddStringToObject(d, "action", action);
    respond(resp, status, o);
}

/* Extracts {id} from /api/v1/slos/{id}[suffix] into the arena. */
static const char *path_id(br_http_request *req, const char *suffix)
{
    const char *rest = req->path + strlen(SLOS_PREFIX);
    size_t len = strlen(rest);
    size_t sl = strlen(suffix);
    if (len < sl || strcmp(rest + len - sl, suffix) != 0) {
        return NULL;
    }
    return br_arena_strndup(req->arena, rest, len - sl);
}

/* Common checks for PUT and DELETE; answers and returns false on failure. */
static bool change_allowed(br_slo_api *api, br_http_request *req, br_http_response *resp,
                           const char *id)
{
    if (api->opts.actor.may_change != NULL &&
        !api->opts.actor.may_change(api->opts.actor.ctx, req)) {
        respond_err(resp, 403, "forbidden", "changing SLO definitions needs the admin credentials");
        return false;
    }
    if (id == NULL || !id_valid(id) || strcmp(id, "audit") == 0) {
        respond_err(resp, 400, "bad_data",
                    "invalid SLO id \"%s\": use 1-%d characters of [A-Za-z0-9_.:-], not "
                    "\"audit\"",
                    id ? id : "", BR_SLO_API_MAX_ID);
        return false;
    }
    char file[512];
    if (api->opts.file_owner != NULL &&
        api->opts.file_owner(api->opts.ctx, id, file, sizeof(file))) {
        respond_err(resp, 409, "conflict",
                    "SLO %s is defined in the file %s; change it there (the API manages only "
                    "SLOs it created)",
                    id, file);
        return false;
    }
    return true;
}

/* Puts back `old` (or removes the document when old is NULL). */
static void restore(br_slo_api *api, const char *final_path, const char *old, size_t old_len)
{
    br_err tmp;
    br_err_clear(&tmp);
    if (old != NULL) {
        (void)write_synced(final_path, old, old_len, &tmp);
    } else {
        (void)unlink(final_path);
    }
    (void)sync_dir(api->dir);
}

static int apply_or_rollback(br_slo_api *api, const char *final_path, const char *old,
                             size_t old_len, br_http_response *resp)
{
    br_err err;
    br_err_clear(&err);
    if (api->opts.apply == NULL || api->opts.apply(api->opts.ctx, &err) == 0) {
        return 0;
    }
    restore(api, final_path, old, old_len);
    br_err again;
    br_err_clear(&again);
    if (api->opts.apply != NULL) {
        (void)api->opts.apply(api->opts.ctx, &again);
    }
    char msg[600];
    respond_err(resp, err.code == BR_EIO ? 500 : 409, "conflict",
                "the change was rolled back: the SLO set did not load with it: %s",
                br_err_format(&err, msg, sizeof(msg)));
    return -1;
}

static void handle_put(br_slo_api *api, br_http_request *req, br_http_response *resp,
                       const char *id)
{
    if (req->body_len == 0) {
        respond_err(resp, 400, "bad_data", "the body must hold one SLO document (YAML or JSON)");
        return;
    }
    char *tmp = path_for(api, ".", id, ".tmp");
    char *final_path = path_for(api, "", id, ".yaml");
    br_err err;
    br_err_clear(&err);
    char got[BR_SLO_API_MAX_ID + 1] = "";
    int rc = write_synced(tmp, req->body, req->body_len, &err);
    if (rc != 0) {
        respond_err(resp, 500, "internal", "%s", err.msg);
    } else if (load_one(tmp, "body", got, sizeof(got), &err) != 0) {
        char msg[600];
        respond_err(resp, 400, "bad_data", "%s", br_err_format(&err, msg, sizeof(msg)));
        rc = -1;
    } else if (strcmp(got, id) != 0) {
        respond_err(resp, 400, "bad_data",
                    "the document defines the SLO %s, but the URL names %s (the id is "
                    "\"<service>-<name>\")",
                    got, id);
        rc = -1;
    }
    if (rc != 0) {
        (void)unlink(tmp);
        br_free(tmp);
        br_free(final_path);
        return;
    }
    size_t old_len = 0;
    char *old = read_file(final_path, BR_SLO_API_MAX_BODY + 1, &old_len);
    if (rename(tmp, final_path) != 0 || sync_dir(api->dir) != 0) {
        respond_err(resp, 500, "internal", "cannot store %s: %s", final_path, strerror(errno));
        (void)unlink(tmp);
    } else if (apply_or_rollback(api, final_path, old, old_len, resp) == 0) {
        const char *action = old != NULL ? "replace" : "create";
        if (audit_append(api, action, id, req, &err) != 0) {
            br_log_error("SLO change applied but not audited", "id=%s err=\"%s\"", id, err.msg);
        }
        respond_ok(resp, old != NULL ? 200 : 201, id, action);
    }
    br_free(old);
    br_free(tmp);
    br_free(final_path);
}

static void handle_delete(br_slo_api *api, br_http_request *req, br_http_response *resp,
                          const char *id)
{
    char *final_path = path_for(api, "", id, ".yaml");
    size_t old_len = 0;
    char *old = read_file(final_path, BR_SLO_API_MAX_BODY + 1, &old_len);
    br_err err;
    br_err_clear(&err);
    if (old == NULL) {
        respond_err(resp, 404, "not_found", "no API-managed SLO with id %s", id);
    } else if (unlink(final_path) != 0 || sync_dir(api->dir) != 0) {
        respond_err(resp, 500, "internal", "cannot remove %s: %s", final_path, strerror(errno));
    } else if (apply_or_rollback(api, final_path, old, old_len, resp) == 0) {
        if (audit_append(api, "delete", id, req, &err) != 0) {
            br_log_error("SLO change applied but not audited", "id=%s err=\"%s\"", id, err.msg);
        }
        respond_ok(resp, 200, id, "delete");
    }
    br_free(old);
    br_free(final_path);
}

static int handle_change(void *ctx, br_http_request *req, br_http_response *resp)
{
    br_slo_api *api = ctx;
    const char *id = path_id(req, "");
    if (!change_allowed(api, req, resp, id)) {
        return 0;
    }
    pthread_mutex_lock(&api->mu);
    if (strcmp(req->method, "PUT") == 0) {
        handle_put(api, req, resp, id);
    } else {
        handle_delete(api, req, resp, id);
    }
    pthread_mutex_unlock(&api->mu);
    return 0;
}

static int handle_definition(void *ctx, br_http_request *req, br_http_response *resp)
{
    br_slo_api *api = ctx;
    const char *id = path_id(req, DEFINITION_SUFFIX);
    if (id == NULL || !id_valid(id)) {
        respond_err(resp, 400, "bad_data", "invalid SLO id");
        return 0;
    }
    char *path = path_for(api, "", id, ".yaml");
    size_t len = 0;
    pthread_mutex_lock(&api->mu);
    char *doc = read_file(path, BR_SLO_API_MAX_BODY + 1, &len);
    pthread_mutex_unlock(&api->mu);
    br_free(path);
    if (doc == NULL) {
        char file[512];
        if (api->opts.file_owner != NULL &&
            api->opts.file_owner(api->opts.ctx, id, file, sizeof(file))) {
            respond_err(resp, 404, "not_found",
                        "SLO %s is defined in the file %s, not over the API", id, file);
        } else {
            respond_err(resp, 404, "not_found", "no API-managed SLO with id %s", id);
        }
        return 0;
    }
    resp->status = 200;
    resp->content_type = "application/yaml; charset=utf-8";
    br_buf_reset(&resp->body);
    br_buf_append(&resp->body, doc, len);
    br_free(doc);
    return 0;
}

static int handle_audit(void *ctx, br_http_request *req, br_http_response *resp)
{
    br_slo_api *api = ctx;
    long limit = 1000;
    const char *ls = br_http_param_get(req, "limit");
    if (ls != NULL) {
        char *end = NULL;
        limit = strtol(ls, &end, 10);
        if (end == ls || *end != '\0' || limit < 1 || limit > 100000) {
            respond_err(resp, 400, "bad_data", "limit must be an integer from 1 to 100000");
            return 0;
        }
    }
    size_t len = 0;
    pthread_mutex_lock(&api->mu);
    char *text = read_file(api->audit_path, BR_SLO_API_MAX_AUDIT, &len);
    pthread_mutex_unlock(&api->mu);
    cJSON *entries = cJSON_CreateArray();
    size_t n = 0;
    for (char *line = text; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        if (nl == NULL) {
            break; /* a torn last line */
        }
        *nl = '\0';
        cJSON *e = cJSON_Parse(line);
        if (e != NULL) {
            cJSON_AddItemToArray(entries, e);
            n++;
        }
        line = nl + 1;
    }
    while (n > (size_t)limit) {
        cJSON_DeleteItemFromArray(entries, 0);
        n--;
    }
    br_free(text);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "success");
    cJSON_AddItemToObject(o, "data", entries);
    respond(resp, 200, o);
    return 0;
}

/* ------------------------------------------------------------ lifecycle */

br_slo_api *br_slo_api_new(const br_slo_api_options *opts, br_err *err)
{
    if (mkdir(opts->dir, 0755) != 0 && errno != EEXIST) {
        br_err_set(err, BR_EIO, "cannot create %s: %s", opts->dir, strerror(errno));
        return NULL;
    }
    br_slo_api *api = br_calloc(1, sizeof(*api));
    api->opts = *opts;
    api->dir = br_strdup(opts->dir);
    api->opts.dir = api->dir;
    size_t pl = strlen(api->dir) + sizeof("/audit.log");
    api->audit_path = br_malloc(pl);
    snprintf(api->audit_path, pl, "%s/audit.log", api->dir);
    api->audit_fd = open(api->audit_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (api->audit_fd < 0) {
        br_err_set(err, BR_EIO, "cannot open %s: %s", api->audit_path, strerror(errno));
        br_free(api->audit_path);
        br_free(api->dir);
        br_free(api);
        return NULL;
    }
    pthread_mutex_init(&api->mu, NULL);
    return api;
}

void br_slo_api_free(br_slo_api *api)
{
    if (api == NULL) {
        return;
    }
    close(api->audit_fd);
    pthread_mutex_destroy(&api->mu);
    br_free(api->audit_path);
    br_free(api->dir);
    br_free(api);
}

void br_slo_api_register(br_http_server *srv, br_slo_api *api)
{
    br_http_route(srv, BR_HTTP_GET, "/api/v1/slos/audit", "/api/v1/slos/audit", 0, handle_audit,
                  api);
    br_http_route(srv, BR_HTTP_PUT | BR_HTTP_DELETE, "/api/v1/slos/{id}", "/api/v1/slos/{id}",
                  BR_SLO_API_MAX_BODY, handle_change, api);
    br_http_route(srv, BR_HTTP_GET, "/api/v1/slos/{id}/definition",
                  "/api/v1/slos/{id}/definition", 0, handle_definition, api);
}
