/*
 * buf.h — a growable byte buffer with a hard cap (curl's dynbuf "toobig").
 *
 * Every buffer filled from the network or a file is given a cap at init;
 * growing past it fails with BR_ELIMIT and leaves the contents unchanged, so
 * input size never drives memory. The data is always NUL-terminated (the
 * terminator is not counted in len), so text can be used as a C string.
 * The buffer owns its memory; br_buf_free releases it; br_buf_take hands it
 * to the caller (free with br_free).
 */
#ifndef BR_CORE_BUF_H
#define BR_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct br_buf {
    char *data;     /* NULL until the first append */
    size_t len;
    size_t cap;     /* allocated bytes, including the terminator */
    size_t max_len; /* hard cap on len; 0 = unlimited */
} br_buf;

void br_buf_init(br_buf *b, size_t max_len);
void br_buf_free(br_buf *b);
void br_buf_reset(br_buf *b);

/* Returns 0 or BR_ELIMIT. */
int br_buf_append(br_buf *b, const void *data, size_t len);
int br_buf_puts(br_buf *b, const char *s);
int br_buf_putc(br_buf *b, char c);
int br_buf_printf(br_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int br_buf_vprintf(br_buf *b, const char *fmt, va_list ap);
/* Makes room for n more bytes; returns 0 or BR_ELIMIT. */
int br_buf_reserve(br_buf *b, size_t n);

/* Returns the data (never NULL, "" when empty) and resets the buffer; the
 * caller owns the result. */
char *br_buf_take(br_buf *b, size_t *len);

/* Returns the contents as a C string, "" when empty; view valid until the
 * next change. */
const char *br_buf_str(const br_buf *b);

#endif
