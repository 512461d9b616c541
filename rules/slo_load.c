/*
 * slo_load.c — loading SLO files by glob, with format detection.
 *
 * Format detection, per YAML document of a file:
 *   apiVersion sloth.slok.dev/v1 (PrometheusServiceLevel), or
 *   `version: prometheus/v1`                 -> Sloth
 *   apiVersion pyrra.dev/v1alpha1            -> Pyrra
 *   apiVersion openslo/v1 (any kind), or a   -> OpenSLO (all documents of
 *   list whose first item has one               the file together, since
 *                                               they reference each other)
 *   no apiVersion/kind                       -> burnrate's own format
 * A set is built completely or not at all: the first error stops loading
 * and the partial set is dropped, so a bad reload keeps the old SLOs.
 */
#include "slo.h"

#include "engine/core/alloc.h"

#include <glob.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ loading */

static const char *doc_string(br_yaml_doc *doc, br_yaml_node *root, const char *key)
{
    if (root == NULL || !br_yaml_is_map(root)) {
        return NULL;
    }
    return br_yaml_scalar(br_yaml_map_get(doc, root, key));
}

int br_slo_load_file(br_slo_set *s, const char *path, br_err *err)
{
    br_yaml_doc *docs = NULL;
    size_t n = 0;
    int rc = br_yaml_load_all_file(path, &docs, &n, err);
    if (rc != 0) {
        return rc;
    }
    /* OpenSLO objects are collected across the file's documents. */
    br_yaml_doc *openslo = br_calloc(n ? n : 1, sizeof(*openslo));
    size_t n_openslo = 0;
    bool *taken = br_calloc(n ? n : 1, sizeof(bool));
    for (size_t i = 0; i < n && rc == 0; i++) {
        br_yaml_node *root = br_yaml_root(&docs[i]);
        if (root == NULL) {
            continue;
        }
        if (br_yaml_is_seq(root)) {
            /* OpenSLO allows a list of objects per document. */
            br_yaml_node *first = br_yaml_seq_size(root) > 0
                                      ? br_yaml_seq_item(&docs[i], root, 0)
                                      : NULL;
            const char *fapi = doc_string(&docs[i], first, "apiVersion");
            if (fapi != NULL && strncmp(fapi, "openslo/", 8) == 0) {
                openslo[n_openslo++] = docs[i];
                taken[i] = true;
                continue;
            }
        }
        if (!br_yaml_is_map(root)) {
            rc = br_yaml_error(&docs[i], root, err, BR_EINVAL,
                               "an SLO document must be a mapping (or, for OpenSLO, a list of "
                               "openslo/v1 objects)");
            break;
        }
        const char *api = doc_string(&docs[i], root, "apiVersion");
        const char *kind = doc_string(&docs[i], root, "kind");
        const char *version = doc_string(&docs[i], root, "version");
        if (api != NULL && strncmp(api, "openslo/", 8) == 0) {
            openslo[n_openslo++] = docs[i];
            taken[i] = true;
        } else if (api != NULL && strncmp(api, "pyrra.dev/", 10) == 0) {
            rc = br_slo_load_pyrra(s, &docs[i], root, err);
        } else if ((api != NULL && strncmp(api, "sloth.slok.dev/", 15) == 0) ||
                   (version != NULL && strcmp(version, "prometheus/v1") == 0)) {
            rc = br_slo_load_sloth(s, &docs[i], root, err);
        } else if (api != NULL || kind != NULL) {
            rc = br_yaml_error(&docs[i], root, err, BR_EUNSUPPORTED,
                               "unsupported SLO document (apiVersion %s, kind %s); expected "
                               "burnrate's format, sloth.slok.dev/v1, prometheus/v1, "
                               "pyrra.dev/v1alpha1 or openslo/v1",
                               api ? api : "none", kind ? kind : "none");
        } else {
            rc = br_slo_load_native(s, &docs[i], root, err);
        }
    }
    if (rc == 0 && n_openslo > 0) {
        rc = br_slo_load_openslo(s, openslo, n_openslo, err);
    }
    for (size_t i = 0; i < n; i++) {
        if (!taken[i]) {
            br_yaml_free(&docs[i]);
        }
    }
    for (size_t i = 0; i < n_openslo; i++) {
        br_yaml_free(&openslo[i]);
    }
    br_free(taken);
    br_free(openslo);
    br_free(docs);
    return rc;
}

br_slo_set *br_slo_load_globs(const char *const *globs, size_t n, br_err *err)
{
    br_slo_set *s = br_slo_set_new();
    for (size_t i = 0; i < n; i++) {
        glob_t g;
        memset(&g, 0, sizeof(g));
        int grc = glob(globs[i], GLOB_ERR, NULL, &g);
        if (grc == GLOB_NOMATCH) {
            globfree(&g);
            br_err_set(err, BR_ENOTFOUND, "SLO files: no file matches \"%s\"", globs[i]);
            br_slo_set_unref(s);
            return NULL;
        }
        if (grc != 0) {
            globfree(&g);
            br_err_set(err, BR_EIO, "SLO files: cannot expand \"%s\"", globs[i]);
            br_slo_set_unref(s);
            return NULL;
        }
        for (size_t j = 0; j < g.gl_pathc; j++) {
            if (br_slo_load_file(s, g.gl_pathv[j], err) != 0) {
                globfree(&g);
                br_slo_set_unref(s);
                return NULL;
            }
        }
        globfree(&g);
    }
    /* Composites may name SLOs of any file: checked once all are loaded. */
    if (br_slo_set_check_composites(s, err) != 0) {
        br_slo_set_unref(s);
        return NULL;
    }
    return s;
}

