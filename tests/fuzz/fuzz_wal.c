/*
 * fuzz_wal.c — libFuzzer target for the head's WAL at start-up: segment
 * framing, recovery (storage/wal.c), record decoding (wal_record.c) and
 * replay into the head (replay in head.c), through br_head_open.
 *
 * Input: the image of one WAL segment file (16-byte header, then records;
 * layout at the top of storage/wal.c). Before writing it as <data>/wal/
 * 00000001, the harness sets the header's segment number and recomputes
 * the header CRC and the CRC of every record that fits (fz_fix_wal_segment),
 * so mutations reach the payload decoders and the head instead of dying at
 * a checksum; a record that does not fit stays as a torn or corrupt tail.
 * The seeds are real segments written by the head (tests/fuzz/seedgen.c).
 *
 * Checked (tests/fuzz/fuzz_head.h): whatever the segment holds, open either
 * fails with a message or yields a head whose series read back in order,
 * which a snapshot restores exactly, and which accepts a new commit.
 */
#include "engine/core/alloc.h"
#include "tests/fuzz/fuzz_head.h"
#include "tests/fuzz/fuzz_util.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char data_dir[4200];
static char wal_dir[4300];
static char seg_path[4400];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fz_quiet_logs();
    snprintf(data_dir, sizeof(data_dir), "%s/data", fz_scratch_dir());
    snprintf(wal_dir, sizeof(wal_dir), "%s/wal", data_dir);
    snprintf(seg_path, sizeof(seg_path), "%s/00000001", wal_dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *img = br_malloc(size ? size : 1);
    memcpy(img, data, size);
    fz_fix_wal_segment(img, size, 1);
    fz_rmtree(data_dir);
    fz_mkdir(data_dir);
    fz_mkdir(wal_dir);
    fz_write_file(seg_path, img, size);
    br_free(img);
    fz_head_check(data_dir);
    fz_rmtree(data_dir);
    return 0;
}
