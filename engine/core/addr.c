/*
 * addr.c — see addr.h.
 */
#include "addr.h"

#include <stdlib.h>
#include <string.h>

int br_split_hostport(const char *hostport, char *host, size_t host_size, int *port, br_err *err)
{
    const char *colon = strrchr(hostport, ':');
    if (colon == NULL) {
        return br_err_set(err, BR_EINVAL, "address \"%s\" must be HOST:PORT or :PORT", hostport);
    }
    size_t hlen = (size_t)(colon - hostport);
    const char *h = hostport;
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    } else if (memchr(h, ':', hlen) != NULL) {
        return br_err_set(err, BR_EINVAL, "IPv6 host in \"%s\" must be in brackets", hostport);
    }
    if (hlen >= host_size) {
        return br_err_set(err, BR_EINVAL, "host in \"%s\" is too long", hostport);
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || p < 0 || p > 65535) {
        return br_err_set(err, BR_EINVAL, "port in \"%s\" must be a number from 0 to 65535",
                          hostport);
    }
    *port = (int)p;
    return 0;
}
