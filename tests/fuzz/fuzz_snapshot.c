/*
 * fuzz_snapshot.c — libFuzzer target for head snapshots at start-up
 * (storage/snapshot.c: the snapshot file, its series records and the chunk
 * records inside them), through br_head_open.
 *
 * Input: the image of one snapshot file (layout at the top of
 * storage/snapshot.c: a 32-byte header and its CRC, then records of u32
 * length, u32 CRC, payload). The harness recomputes the header CRC and the
 * CRC of every record that fits, and names the file after the header's
 * replay_from segment (set to 1 when it is 0 or has more than 8 digits), so
 * mutations reach the record decoders instead of dying at a checksum. The
 * seeds are real snapshots written by the head (tests/fuzz/seedgen.c).
 *
 * Checked (tests/fuzz/fuzz_head.h): a snapshot loads completely or is
 * ignored; the head opened on it reads back in order, snapshots and
 * restores exactly, and accepts a new commit.
 */
#include "engine/core/alloc.h"
#include "tests/fuzz/fuzz_head.h"
#include "tests/fuzz/fuzz_util.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define HEADER 32u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char data_dir[4200];
static char snap_dir[4300];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_quiet_logs();
    snprintf(data_dir, sizeof(data_dir), "%s/data", fz_scratch_dir());
    snprintf(snap_dir, sizeof(snap_dir), "%s/snapshots", data_dir);
    return 0;
}

/* Recomputes the CRCs of a snapshot image; returns the segment number the
 * file must be named after. */
static uint32_t fix_snapshot(unsigned char *p, size_t len)
{
    if (len < HEADER + 4) {
        return 1;
    }
    uint32_t seg = fz_get_u32(p + 12);
    if (seg == 0 || seg > 99999999u) {
        seg = 1;
        fz_put_u32(p + 12, seg);
    }
    fz_put_u32(p + HEADER, br_crc32c(0, p, HEADER));
    size_t off = HEADER + 4;
    while (len - off >= 8) {
        uint32_t n = fz_get_u32(p + off);
        if (n > len - off - 8) {
            break;
        }
        fz_put_u32(p + off + 4, br_crc32c(0, p + off + 8, n));
        off += 8 + (size_t)n;
    }
    return seg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *img = br_malloc(size ? size : 1);
    memcpy(img, data, size);
    uint32_t seg = fix_snapshot(img, size);
    fz_rmtree(data_dir);
    fz_mkdir(data_dir);
    fz_mkdir(snap_dir);
    char path[4400];
    snprintf(path, sizeof(path), "%s/snapshot.%08u", snap_dir, seg);
    fz_write_file(path, img, size);
    br_free(img);
    fz_head_check(data_dir);
    fz_rmtree(data_dir);
    return 0;
}
