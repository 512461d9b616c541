/*
 * numfmt.h — number formatting shared by every text output (the Prometheus
 * JSON API, the text exposition format, logs).
 *
 * br_format_float() writes the shortest decimal that reads back to the same
 * double, the way Prometheus (Go's strconv 'f' with precision -1, switching
 * to exponent form when |v| < 1e-6 or |v| >= 1e21) does: "0.005", "1e-07",
 * "1.5e+21", "NaN", "+Inf", "-Inf". Buffers of BR_FLOAT_BUF bytes always fit.
 */
#ifndef BR_CORE_NUMFMT_H
#define BR_CORE_NUMFMT_H

#include <stddef.h>

#define BR_FLOAT_BUF 40

/* Returns out. */
const char *br_format_float(double v, char *out, size_t size);

#endif
