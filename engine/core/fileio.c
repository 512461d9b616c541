/*
 * fileio.c — see fileio.h.
 */
#include "fileio.h"

#include "engine/core/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int br_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            if (w == 0) {
                errno = EIO;
            }
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int br_read_secret_file(const char *path, const char *what, char **out, br_err *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return br_err_set(err, BR_EIO, "%s: cannot read %s: %s", what, path, strerror(errno));
    }
    char line[BR_SECRET_MAX];
    char *got = fgets(line, sizeof(line), f);
    fclose(f);
    size_t n = got ? strlen(line) : 0;
    while (n > 0 && strchr("\r\n \t", line[n - 1]) != NULL) {
        line[--n] = '\0';
    }
    const char *start = line;
    while (*start == ' ' || *start == '\t') {
        start++;
    }
    if (got == NULL || *start == '\0') {
        return br_err_set(err, BR_EINVAL, "%s: %s holds no secret (it is empty)", what, path);
    }
    br_free(*out);
    *out = br_strdup(start);
    memset(line, 0, sizeof(line));
    return 0;
}
