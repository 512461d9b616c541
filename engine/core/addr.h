/*
 * addr.h — "HOST:PORT" parsing for listen addresses and URLs' authorities.
 * Accepts "host:port", "[v6]:port" and ":port" (host "" = all interfaces).
 */
#ifndef BR_CORE_ADDR_H
#define BR_CORE_ADDR_H

#include "err.h"

#include <stddef.h>

/* Returns 0 or BR_EINVAL with a message; host gets the host without
 * brackets. */
int br_split_hostport(const char *hostport, char *host, size_t host_size, int *port, br_err *err);

#endif
