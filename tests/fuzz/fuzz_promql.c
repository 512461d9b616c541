/*
 * fuzz_promql.c — libFuzzer target for the PromQL parser and printer
 * (engine/promql/parser.h, ast.h).
 *
 * Input: one mode byte, then the query text (may hold NUL bytes).
 *   bits 0-2  BR_PROMQL_PARSE_* flags for br_promql_parse_ex (the
 *             experimental syntax: duration expressions, anchored/smoothed,
 *             fill modifiers)
 *   bit 3     also run br_promql_parse_duration on the text (NUL-cut), the
 *             reader of the HTTP API's step=/timeout= parameters
 *
 * Checked: a failed parse fills err with a message and a position and
 * leaves *out NULL; a successful parse prints (br_promql_print), the
 * printed text parses again with the same flags, and printing that second
 * tree gives the very same text (the printer is canonical and its output
 * is valid PromQL).
 */
#include "engine/core/arena.h"
#include "engine/core/buf.h"
#include "engine/promql/ast.h"
#include "engine/promql/parser.h"
#include "tests/fuzz/fuzz_util.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_quiet_logs();
    return 0;
}

/* Parses text with flags; on success prints the tree into out. Returns the
 * parse result. */
static int parse_print(const char *text, size_t len, unsigned flags, br_buf *out, br_err *err)
{
    br_arena arena;
    br_arena_init(&arena, 16 * 1024, 256u * 1024 * 1024);
    br_promql_node *root = NULL;
    int rc = br_promql_parse_ex(text, len, flags, &arena, &root, err);
    if (rc == 0) {
        FZ_CHECK(root != NULL, "parse returned 0 without a tree");
        int prc = br_promql_print(root, out);
        FZ_CHECK(prc == 0, "printing failed with %d", prc);
        br_promql_ast_free(root);
    } else {
        FZ_CHECK(root == NULL, "failed parse left a tree");
        FZ_CHECK(err->code == rc && err->msg[0] != '\0', "failed parse without a message");
    }
    br_arena_free(&arena);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    unsigned flags = data[0] & BR_PROMQL_PARSE_EXPERIMENTAL;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    if (data[0] & 8u) {
        char s[256];
        size_t n = strnlen(text, len < sizeof(s) - 1 ? len : sizeof(s) - 1);
        memcpy(s, text, n);
        s[n] = '\0';
        int64_t ms = 0;
        br_err derr;
        br_err_clear(&derr);
        (void)br_promql_parse_duration(s, &ms, &derr);
    }

    br_buf first;
    br_buf_init(&first, 0);
    br_err err;
    br_err_clear(&err);
    if (parse_print(text, len, flags, &first, &err) == 0) {
        br_buf second;
        br_buf_init(&second, 0);
        br_err err2;
        br_err_clear(&err2);
        int rc = parse_print(first.data, first.len, flags, &second, &err2);
        FZ_CHECK(rc == 0, "printed query does not parse again:\n  input:   %.*s\n  printed: %s\n  "
                          "error:   %s",
                 (int)len, text, br_buf_str(&first), err2.msg);
        FZ_CHECK(first.len == second.len && memcmp(first.data, second.data, first.len) == 0,
                 "print is not stable:\n  input:  %.*s\n  first:  %s\n  second: %s", (int)len,
                 text, br_buf_str(&first), br_buf_str(&second));
        br_buf_free(&second);
    }
    br_buf_free(&first);
    return 0;
}
