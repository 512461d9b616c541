/*
 * test_sha256.c — SHA-256 against the FIPS 180-2 example messages (one
 * block, two blocks, one million 'a'), chunked updates against one-shot
 * digests, and HMAC-SHA256 against the RFC 4231 test cases (short key,
 * short text, key and data of 0xaa/0xdd, a key longer than a block).
 */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "engine/core/alloc.h"
#include "engine/core/sha256.h"

#include <string.h>

static const char *hex_of(const void *data, size_t len, char out[BR_SHA256_HEX_SIZE])
{
    uint8_t d[BR_SHA256_SIZE];
    br_sha256(data, len, d);
    return br_sha256_hex(d, out);
}

static const char *hmac_hex(const void *key, size_t key_len, const void *msg, size_t msg_len,
                            char out[BR_SHA256_HEX_SIZE])
{
    uint8_t d[BR_SHA256_SIZE];
    br_hmac_sha256(key, key_len, msg, msg_len, d);
    return br_sha256_hex(d, out);
}

static void test_sha256_fips_one_block_abc(void **state)
{
    (void)state;
    char hex[BR_SHA256_HEX_SIZE];
    assert_string_equal(hex_of("abc", 3, hex),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_sha256_empty_message(void **state)
{
    (void)state;
    char hex[BR_SHA256_HEX_SIZE];
    assert_string_equal(hex_of("", 0, hex),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_sha256_fips_two_blocks_448_bits(void **state)
{
    (void)state;
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char hex[BR_SHA256_HEX_SIZE];
    assert_string_equal(hex_of(m, strlen(m), hex),
                        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_fips_896_bits(void **state)
{
    (void)state;
    const char *m = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmno"
                    "pqklmnopqrlmnopqrsmnopqrstnopqrstu";
    char hex[BR_SHA256_HEX_SIZE];
    assert_string_equal(hex_of(m, strlen(m), hex),
                        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_sha256_fips_million_a_in_odd_chunks(void **state)
{
    (void)state;
    char chunk[997];
    memset(chunk, 'a', sizeof(chunk));
    br_sha256_ctx s;
    br_sha256_init(&s);
    size_t left = 1000000;
    while (left > 0) {
        size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
        br_sha256_update(&s, chunk, n);
        left -= n;
    }
    uint8_t d[BR_SHA256_SIZE];
    br_sha256_final(&s, d);
    char hex[BR_SHA256_HEX_SIZE];
    assert_string_equal(br_sha256_hex(d, hex),
                        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_sha256_chunked_updates_equal_one_shot(void **state)
{
    (void)state;
    unsigned char msg[300];
    for (size_t i = 0; i < sizeof(msg); i++) {
        msg[i] = (unsigned char)(i * 7 + 3);
    }
    /* Every length around the padding boundaries (55, 56, 63, 64, ...),
     * each fed one byte at a time. */
    for (size_t len = 0; len <= sizeof(msg); len++) {
        uint8_t one[BR_SHA256_SIZE];
        uint8_t bytewise[BR_SHA256_SIZE];
        br_sha256(msg, len, one);
        br_sha256_ctx s;
        br_sha256_init(&s);
        for (size_t i = 0; i < len; i++) {
            br_sha256_update(&s, msg + i, 1);
        }
        br_sha256_final(&s, bytewise);
        assert_memory_equal(one, bytewise, BR_SHA256_SIZE);
    }
}

static void test_hmac_sha256_rfc4231_case1(void **state)
{
    (void)state;
    unsigned char key[20];
    memset(key, 0x0b, sizeof(key));
    char hex[BR_SHA256_HEX_SIZE];
    assert_string_equal(hmac_hex(key, sizeof(key), "Hi There", 8, hex),
                        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void test_hmac_sha256_rfc4231_case2_short_key(void **state)
{
    (void)state;
    const char *msg = "what do ya want for nothing?";
    char hex[BR_SHA256_HEX_SIZE];
    assert_string_equal(hmac_hex("Jefe", 4, msg, strlen(msg), hex),
                        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_hmac_sha256_rfc4231_case3_and_4(void **state)
{
    (void)state;
    unsigned char key[20];
    unsigned char data[50];
    memset(key, 0xaa, sizeof(key));
    memset(data, 0xdd, sizeof(data));
    char hex[BR_SHA256_HEX_SIZE];
    assert_string_equal(hmac_hex(key, sizeof(key), data, sizeof(data), hex),
                        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    unsigned char key4[25];
    for (size_t i = 0; i < sizeof(key4); i++) {
        key4[i] = (unsigned char)(i + 1);
    }
    memset(data, 0xcd, sizeof(data));
    assert_string_equal(hmac_hex(key4, sizeof(key4), data, sizeof(data), hex),
                        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
}

static void test_hmac_sha256_rfc4231_key_longer_than_block(void **state)
{
    (void)state;
    unsigned char key[131];
    memset(key, 0xaa, sizeof(key));
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    const char *m7 = "This is a test using a larger than block-size key and a larger than "
                     "block-size data. The key needs to be hashed before being used by the HMAC "
                     "algorithm.";
    char hex[BR_SHA256_HEX_SIZE];
    assert_string_equal(hmac_hex(key, sizeof(key), m6, strlen(m6), hex),
                        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    assert_string_equal(hmac_hex(key, sizeof(key), m7, strlen(m7), hex),
                        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_fips_one_block_abc),
        cmocka_unit_test(test_sha256_empty_message),
        cmocka_unit_test(test_sha256_fips_two_blocks_448_bits),
        cmocka_unit_test(test_sha256_fips_896_bits),
        cmocka_unit_test(test_sha256_fips_million_a_in_odd_chunks),
        cmocka_unit_test(test_sha256_chunked_updates_equal_one_shot),
        cmocka_unit_test(test_hmac_sha256_rfc4231_case1),
        cmocka_unit_test(test_hmac_sha256_rfc4231_case2_short_key),
        cmocka_unit_test(test_hmac_sha256_rfc4231_case3_and_4),
        cmocka_unit_test(test_hmac_sha256_rfc4231_key_longer_than_block),
    };
    return cmocka_run_group_tests_name("sha256", tests, NULL, NULL);
}
