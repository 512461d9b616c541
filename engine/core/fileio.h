/*
 * fileio.h — small file helpers shared by the modules that persist state
 * (annotations, API-managed SLOs) or read secrets named by the
 * configuration (auth tokens, receiver, backend and remote-write
 * credentials).
 *
 * Secrets: the first line of a file, surrounding blanks and the line end
 * removed, at most BR_SECRET_MAX - 1 bytes; the stack copy is wiped after
 * use. Any thread may call these; they keep no state.
 */
#ifndef BR_CORE_FILEIO_H
#define BR_CORE_FILEIO_H

#include "engine/core/err.h"

#include <stddef.h>

#define BR_SECRET_MAX 4096

/* Writes all n bytes of p to fd, retrying short writes and EINTR. Returns 0,
 * or -1 with errno set (EIO when write returned 0). */
int br_write_all(int fd, const void *p, size_t n);

/* Replaces the file at path (borrowed) by n bytes of data, crash-safely:
 * writes "<path>.tmp", fsyncs it, renames it over path and fsyncs the
 * directory, so path holds either the old or the new contents, whole.
 * BR_EIO naming the file and the failing step; the temp file is removed
 * on failure. */
int br_write_file_atomic(const char *path, const void *data, size_t n, br_err *err);

/* Reads the secret in path (borrowed) into *out (new, free with br_free;
 * a previous *out is freed). Errors name `what` (e.g. "auth.write_token_file"
 * or "receiver \"oncall\": bearer_token_file") and the path: BR_EIO when the
 * file cannot be read, BR_EINVAL when it holds no secret. */
int br_read_secret_file(const char *path, const char *what, char **out, br_err *err);

#endif
