/*
 * buf.c — capped growable buffer. See buf.h.
 */
#include "buf.h"

#include "alloc.h"
#include "err.h"

#include <stdio.h>
#include <string.h>

void br_buf_init(br_buf *b, size_t max_len)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max_len = max_len;
}

void br_buf_free(br_buf *b)
{
    br_free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void br_buf_reset(br_buf *b)
{
    b->len = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}

int br_buf_reserve(br_buf *b, size_t n)
{
    if (b->max_len != 0 && (n > b->max_len || b->len > b->max_len - n)) {
        return BR_ELIMIT;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        cap *= 2;
    }
    b->data = br_realloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int br_buf_append(br_buf *b, const void *data, size_t len)
{
    int rc = br_buf_reserve(b, len);
    if (rc != 0) {
        return rc;
    }
    if (len > 0) {
        memcpy(b->data + b->len, data, len);
    }
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int br_buf_puts(br_buf *b, const char *s)
{
    return br_buf_append(b, s, strlen(s));
}

int br_buf_putc(br_buf *b, char c)
{
    return br_buf_append(b, &c, 1);
}

int br_buf_vprintf(br_buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0) {
        return BR_EINVAL;
    }
    int rc = br_buf_reserve(b, (size_t)n);
    if (rc != 0) {
        return rc;
    }
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int br_buf_printf(br_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = br_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *br_buf_take(br_buf *b, size_t *len)
{
    if (b->data == NULL) {
        (void)br_buf_reserve(b, 0);
        if (b->data == NULL) {
            b->data = br_malloc(1);
        }
        b->data[0] = '\0';
    }
    char *p = b->data;
    if (len != NULL) {
        *len = b->len;
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

const char *br_buf_str(const br_buf *b)
{
    return b->data ? b->data : "";
}
