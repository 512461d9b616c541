/*
 * fileio.c — see fileio.h.
 */
#include "fileio.h"

#include "engine/core/alloc.h"

#include <errno.h>
#include <fcntl.h>
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

int br_write_file_atomic(const char *path, const void *data, size_t n, br_err *err)
{
    size_t plen = strlen(path);
    char *tmp = br_malloc(plen + 5);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    const char *step = "create";
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0;
    if (ok) {
        step = "write";
        ok = br_write_all(fd, data, n) == 0;
    }
    if (ok) {
        step = "fsync";
        ok = fsync(fd) == 0;
    }
    if (fd >= 0 && close(fd) != 0 && ok) {
        step = "close";
        ok = 0;
    }
    if (ok) {
        step = "rename";
        ok = rename(tmp, path) == 0;
    }
    if (ok) {
        /* The directory entry: fsync the directory that holds path. */
        step = "fsync the directory of";
        const char *slash = strrchr(path, '/');
        char *dir = slash == NULL ? br_strdup(".") : br_strndup(path, (size_t)(slash - path));
        if (dir[0] == '\0') {
            br_free(dir);
            dir = br_strdup("/");
        }
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ok = dfd >= 0 && fsync(dfd) == 0;
        if (dfd >= 0) {
            close(dfd);
        }
        br_free(dir);
    }
    if (!ok) {
        int e = errno;
        (void)unlink(tmp);
        br_free(tmp);
        return br_err_set(err, BR_EIO, "cannot %s %s: %s", step, path, strerror(e));
    }
    br_free(tmp);
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
