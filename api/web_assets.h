/*
 * web_assets.h — the UI's files, embedded at build time (scripts/embed.cmake
 * generates the table from web/). The table ends with a NULL path.
 */
#ifndef BR_API_WEB_ASSETS_H
#define BR_API_WEB_ASSETS_H

#include <stddef.h>

typedef struct br_web_asset {
    const char *path;          /* URL path, e.g. "/index.html" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
} br_web_asset;

extern const br_web_asset br_web_assets[];

#endif
