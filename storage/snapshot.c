/*
 * snapshot.c — periodic snapshots of the head, so a restart reads one file
 * and replays only the WAL written after it.
 *
 * File: <data dir>/snapshots/snapshot.NNNNNNNN, where NNNNNNNN (8 decimal
 * digits) is the first WAL segment that must be replayed after loading it.
 * All integers little-endian.
 *
 *   header   32 bytes: magic "BRSNAP\0\1" | u32 version (3) | u32 replay_from
 *                      | u64 next_id | i64 created_ms
 *            u32 CRC-32C of those 32 bytes
 *   records  u32 payload length | u32 CRC-32C of the payload | payload
 *     series payload: u8 1 | u64 ref | u32 n_labels | n × (u32 len, name,
 *                     u32 len, value) | i64 max_t | u64 last_bits
 *                     | u8 last_hist | u32 n_chunks | n × (u32 len, chunk)
 *                     | u32 n_hchunks | n × (u32 len, hchunk)
 *                     (chunk bytes as br_chunk_serialize/br_hchunk_serialize)
 *     end payload:    u8 2 | u64 number of series records
 *   Versions differ only in their chunk records: version 2 files may hold
 *   chunk record version 2 (merged chunks with regular timestamps), version
 *   3 files chunk record version 3 (merged chunks whose float fields are
 *   bit-pattern deltas; see chunk.c). All three versions load; an older
 *   build refuses a newer file as "unknown version" and replays the whole
 *   WAL instead.
 *
 * Writing (br_head_snapshot): cut the WAL (every record appended so far is
 * in a segment below S = replay_from), then copy each shard under its lock
 * into a buffer and write it out, then the end record; fsync, rename from
 * snapshot.tmp, fsync the directory. Commits run meanwhile: one that
 * appended its WAL record before the cut applied it under the shard lock
 * before we could copy that shard, so the snapshot holds it; anything the
 * snapshot holds beyond segment S is replayed again at load and judged a
 * duplicate (same timestamp, same value), so replay is idempotent.
 *
 * Retention of files: the two newest snapshots are kept, and WAL segments
 * below the older one's S are deleted. If the newest snapshot is corrupt
 * (any CRC, length, chunk validation or missing end record), loading falls
 * back to the older one and replays a longer WAL tail; if neither loads,
 * the whole remaining WAL is replayed and the problem is logged. A
 * snapshot is never trusted partly: a file loads completely or not at all.
 */
#include "head_int.h"

#include "engine/core/alloc.h"
#include "engine/core/buf.h"
#include "engine/core/clock.h"
#include "engine/core/crc32c.h"
#include "engine/core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAP_MAGIC       "BRSNAP\0\1"
#define SNAP_VERSION     3u
#define SNAP_HEADER      32
#define SNAP_MAX_RECORD  (1024u * 1024 * 1024)
#define SNAP_KEEP        2
#define REC_SERIES       1
#define REC_END          2

/* ---- little-endian helpers ------------------------------------------- */

static void put_u32(br_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    br_buf_append(b, x, 4);
}

static void put_u64(br_buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* A bounds-checked reader over one record payload. */
typedef struct reader {
    const unsigned char *p;
    const unsigned char *end;
    bool bad;
} reader;

static const unsigned char *take(reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const unsigned char *at = r->p;
    r->p += n;
    return at;
}

static uint32_t read_u32(reader *r)
{
    const unsigned char *p = take(r, 4);
    return p ? get_u32(p) : 0;
}

static uint64_t read_u64(reader *r)
{
    const unsigned char *p = take(r, 8);
    return p ? get_u64(p) : 0;
}

/* ---- writing ----------------------------------------------------------- */

static void encode_series(const head_series *s, br_buf *rec, br_err *err, int *rc)
{
    br_buf_putc(rec, REC_SERIES);
    put_u64(rec, s->ref);
    size_t n = br_labels_count(s->labels);
    put_u32(rec, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const br_label *l = br_labels_at(s->labels, i);
        size_t nl = strlen(l->name);
        size_t vl = strlen(l->value);
        put_u32(rec, (uint32_t)nl);
        br_buf_append(rec, l->name, nl);
        put_u32(rec, (uint32_t)vl);
        br_buf_append(rec, l->value, vl);
    }
    put_u64(rec, (uint64_t)s->max_t);
    put_u64(rec, s->last_bits);
    br_buf_putc(rec, s->last_hist ? 1 : 0);
    put_u32(rec, s->n_chunks);
    br_buf one;
    br_buf_init(&one, 0);
    for (uint32_t i = 0; i < s->n_chunks && *rc == 0; i++) {
        br_buf_reset(&one);
        *rc = br_chunk_serialize(s->chunks[i], &one, err);
        put_u32(rec, (uint32_t)one.len);
        br_buf_append(rec, one.data, one.len);
    }
    put_u32(rec, s->n_hchunks);
    for (uint32_t i = 0; i < s->n_hchunks && *rc == 0; i++) {
        br_buf_reset(&one);
        *rc = br_hchunk_serialize(s->hchunks[i], &one, err);
        put_u32(rec, (uint32_t)one.len);
        br_buf_append(rec, one.data, one.len);
    }
    br_buf_free(&one);
}

/* Appends a framed record holding payload to out. */
static void frame(br_buf *out, const br_buf *payload)
{
    put_u32(out, (uint32_t)payload->len);
    put_u32(out, br_crc32c(0, payload->data, payload->len));
    br_buf_append(out, payload->data, payload->len);
}

static int write_all(int fd, const void *data, size_t len, const char *path, br_err *err)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return br_err_set(err, BR_EIO, "writing %s: %s", path, strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir(const char *dir, br_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return br_err_set(err, BR_EIO, "opening %s: %s", dir, strerror(errno));
    }
    int rc = fsync(fd) == 0 ? 0 : br_err_set(err, BR_EIO, "fsync %s: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

/* Lists snapshot files as their segment numbers, newest first. */
static size_t list_snapshots(const char *dir, uint32_t *segs, size_t max)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return 0;
    }
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        unsigned seg = 0;
        char tail = 0;
        if (strncmp(e->d_name, "snapshot.", 9) == 0 && strlen(e->d_name) == 17 &&
            sscanf(e->d_name + 9, "%8u%c", &seg, &tail) == 1 && n < max) {
            segs[n++] = seg;
        }
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) {
        uint32_t x = segs[i];
        size_t j = i;
        while (j > 0 && segs[j - 1] < x) {
            segs[j] = segs[j - 1];
            j--;
        }
        segs[j] = x;
    }
    return n;
}

static int write_snapshot(br_head *h, br_err *err)
{
    uint32_t seg = 0;
    int rc = br_wal_cut(h->wal, &seg, err);
    if (rc != 0) {
        return rc;
    }
    br_wal_stats wst;
    br_wal_get_stats(h->wal, &wst);
    uint64_t wal_mark = wst.bytes_appended; /* everything before it is in this snapshot */
    uint64_t file_bytes = 0;
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s/snapshot.tmp", h->snap_dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return br_err_set(err, BR_EIO, "creating %s: %s", tmp, strerror(errno));
    }
    br_buf out;
    br_buf_init(&out, 0);
    br_buf_append(&out, SNAP_MAGIC, 8);
    put_u32(&out, SNAP_VERSION);
    put_u32(&out, seg);
    put_u64(&out, atomic_load(&h->next_id));
    put_u64(&out, (uint64_t)br_now_ms());
    put_u32(&out, br_crc32c(0, out.data, SNAP_HEADER));
    br_buf rec;
    br_buf_init(&rec, 0);
    uint64_t count = 0;
    for (size_t i = 0; i < HEAD_SHARDS && rc == 0; i++) {
        head_shard *sh = &h->shards[i];
        pthread_mutex_lock(&sh->mu);
        for (size_t b = 0; b < sh->n_buckets && rc == 0; b++) {
            for (head_series *s = sh->by_hash[b]; s != NULL && rc == 0; s = s->next_hash) {
                br_buf_reset(&rec);
                encode_series(s, &rec, err, &rc);
                frame(&out, &rec);
                count++;
            }
        }
        pthread_mutex_unlock(&sh->mu);
        if (rc == 0) {
            rc = write_all(fd, out.data, out.len, tmp, err);
            file_bytes += out.len;
        }
        br_buf_reset(&out);
    }
    if (rc == 0) {
        br_buf_reset(&rec);
        br_buf_putc(&rec, REC_END);
        put_u64(&rec, count);
        frame(&out, &rec);
        rc = write_all(fd, out.data, out.len, tmp, err);
        file_bytes += out.len;
    }
    if (rc == 0 && fsync(fd) != 0) {
        rc = br_err_set(err, BR_EIO, "fsync %s: %s", tmp, strerror(errno));
    }
    close(fd);
    br_buf_free(&out);
    br_buf_free(&rec);
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    char final[1100];
    snprintf(final, sizeof(final), "%s/snapshot.%08u", h->snap_dir, seg);
    if (rename(tmp, final) != 0) {
        rc = br_err_set(err, BR_EIO, "renaming %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return rc;
    }
    rc = fsync_dir(h->snap_dir, err);
    if (rc != 0) {
        return rc;
    }
    atomic_store(&h->snap_wal_mark, wal_mark);
    atomic_store(&h->wal_replayed_bytes, 0);
    atomic_store(&h->snap_file_bytes, file_bytes);
    /* Keep the newest SNAP_KEEP snapshots; the WAL only from the oldest kept. */
    uint32_t segs[64];
    size_t n = list_snapshots(h->snap_dir, segs, 64);
    for (size_t i = SNAP_KEEP; i < n; i++) {
        char old[1100];
        snprintf(old, sizeof(old), "%s/snapshot.%08u", h->snap_dir, segs[i]);
        unlink(old);
    }
    uint32_t keep_from = n >= SNAP_KEEP ? segs[SNAP_KEEP - 1] : segs[n - 1];
    if (n >= SNAP_KEEP) {
        rc = br_wal_truncate_before(h->wal, keep_from, err);
    }
    br_log_info("snapshot written", "series=%llu replay_from_segment=%u",
                (unsigned long long)count, seg);
    return rc;
}

int br_head_snapshot(br_head *h, br_err *err)
{
    if (h->snap_dir == NULL || h->wal == NULL) {
        return 0;
    }
    pthread_mutex_lock(&h->snap_mu);
    int64_t start = br_mono_ns();
    int rc = write_snapshot(h, err);
    h->snapshot_ms = (br_mono_ns() - start) / 1000000;
    if (rc == 0) {
        h->snapshots_written++;
    } else {
        h->snapshots_failed++;
        br_log_error("snapshot failed; the WAL is kept", "err=\"%s\"", err ? err->msg : "");
    }
    pthread_mutex_unlock(&h->snap_mu);
    return rc;
}

uint64_t br_head_wal_since_snapshot(br_head *h)
{
    if (h->snap_dir == NULL || h->wal == NULL) {
        return 0;
    }
    br_wal_stats wst;
    br_wal_get_stats(h->wal, &wst);
    uint64_t mark = atomic_load(&h->snap_wal_mark);
    uint64_t since = wst.bytes_appended > mark ? wst.bytes_appended - mark : 0;
    return since + atomic_load(&h->wal_replayed_bytes);
}

bool br_head_snapshot_due(br_head *h, uint64_t min_bytes)
{
    if (min_bytes == 0) {
        return false;
    }
    uint64_t limit = atomic_load(&h->snap_file_bytes);
    if (limit < min_bytes) {
        limit = min_bytes;
    }
    return br_head_wal_since_snapshot(h) >= limit;
}

/* ---- loading ----------------------------------------------------------- */

typedef struct loaded {
    head_series **series;
    size_t n;
    size_t cap;
} loaded;

static void loaded_free(br_head *h, loaded *l)
{
    for (size_t i = 0; i < l->n; i++) {
        head_series_free(h, l->series[i]);
    }
    br_free(l->series);
    memset(l, 0, sizeof(*l));
}

/* Decodes one series payload into a new, unlinked head_series. */
static head_series *decode_series(br_head *h, reader *r, br_err *err)
{
    br_series_ref ref = read_u64(r);
    uint32_t nl = read_u32(r);
    if (r->bad || nl > 4096) {
        br_err_set(err, BR_ECORRUPT, "bad label count");
        return NULL;
    }
    br_label *labels = br_calloc(nl ? nl : 1, sizeof(*labels));
    char **owned = br_calloc(2 * (nl ? nl : 1), sizeof(char *));
    head_series *s = NULL;
    bool ok = true;
    for (uint32_t i = 0; i < nl && ok; i++) {
        for (int k = 0; k < 2 && ok; k++) {
            uint32_t len = read_u32(r);
            const unsigned char *p = take(r, len);
            if (p == NULL || memchr(p, 0, len) != NULL) {
                ok = false;
                break;
            }
            owned[2 * i + (uint32_t)k] = br_strndup((const char *)p, len);
        }
        if (ok) {
            labels[i].name = owned[2 * i];
            labels[i].value = owned[2 * i + 1];
            if (i > 0 && strcmp(labels[i - 1].name, labels[i].name) >= 0) {
                ok = false;
            }
        }
    }
    if (ok) {
        s = br_calloc(1, sizeof(*s));
        s->ref = ref;
        s->hash = br_labels_hash_raw(labels, nl);
        s->labels = br_labels_new(h->symtab, labels, nl);
        s->max_t = (int64_t)read_u64(r);
        s->last_bits = read_u64(r);
        const unsigned char *lh = take(r, 1);
        s->last_hist = lh != NULL && *lh != 0;
        uint32_t nc = read_u32(r);
        if (r->bad || nc > 1u << 24) {
            ok = false;
        }
        for (uint32_t i = 0; ok && i < nc; i++) {
            uint32_t len = read_u32(r);
            const unsigned char *p = take(r, len);
            br_chunk *c = NULL;
            size_t used = 0;
            if (p == NULL || br_chunk_deserialize(p, len, &used, &c, err) != 0 || used != len) {
                br_chunk_free(c);
                ok = false;
                break;
            }
            if (s->n_chunks == s->cap_chunks) {
                s->cap_chunks = s->cap_chunks ? s->cap_chunks * 2 : 4;
                s->chunks = br_realloc(s->chunks, s->cap_chunks * sizeof(*s->chunks));
            }
            s->chunks[s->n_chunks++] = c;
        }
        uint32_t nh = ok ? read_u32(r) : 0;
        if (r->bad || nh > 1u << 24) {
            ok = false;
        }
        for (uint32_t i = 0; ok && i < nh; i++) {
            uint32_t len = read_u32(r);
            const unsigned char *p = take(r, len);
            br_hchunk *c = NULL;
            size_t used = 0;
            if (p == NULL || br_hchunk_deserialize(p, len, &used, &c, err) != 0 || used != len) {
                br_hchunk_free(c);
                ok = false;
                break;
            }
            if (s->n_hchunks == s->cap_hchunks) {
                s->cap_hchunks = s->cap_hchunks ? s->cap_hchunks * 2 : 2;
                s->hchunks = br_realloc(s->hchunks, s->cap_hchunks * sizeof(*s->hchunks));
            }
            s->hchunks[s->n_hchunks++] = c;
        }
        if (r->p != r->end) {
            ok = false;
        }
    }
    for (uint32_t i = 0; i < 2 * nl; i++) {
        br_free(owned[i]);
    }
    br_free(owned);
    br_free(labels);
    if (!ok) {
        if (s != NULL) {
            head_series_free(h, s);
        }
        if (err != NULL && err->code == 0) {
            br_err_set(err, BR_ECORRUPT, "malformed series record");
        }
        return NULL;
    }
    return s;
}

/* Reads one whole snapshot file into l. Returns 0 or BR_ECORRUPT/BR_EIO. */
static int read_snapshot(br_head *h, const char *path, uint32_t expect_seg, loaded *l,
                         uint64_t *next_id, br_err *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return br_err_set(err, BR_EIO, "opening %s: %s", path, strerror(errno));
    }
    unsigned char hdr[SNAP_HEADER + 4];
    int rc = 0;
    if (fread(hdr, 1, sizeof(hdr), f) != sizeof(hdr) || memcmp(hdr, SNAP_MAGIC, 8) != 0 ||
        get_u32(hdr + SNAP_HEADER) != br_crc32c(0, hdr, SNAP_HEADER)) {
        rc = br_err_set(err, BR_ECORRUPT, "bad header");
    } else if (get_u32(hdr + 8) < 1 || get_u32(hdr + 8) > SNAP_VERSION) {
        rc = br_err_set(err, BR_ECORRUPT, "unknown version %u (this build reads 1 to %u)",
                        get_u32(hdr + 8), SNAP_VERSION);
    } else if (get_u32(hdr + 12) != expect_seg) {
        rc = br_err_set(err, BR_ECORRUPT, "header names segment %u", get_u32(hdr + 12));
    }
    *next_id = get_u64(hdr + 16);
    /* Record lengths are checked against what the file still holds before
     * anything is allocated, so a corrupt length cannot make a restart
     * allocate up to SNAP_MAX_RECORD for nothing. */
    struct stat st;
    uint64_t left = 0;
    if (rc == 0 && fstat(fileno(f), &st) == 0 && st.st_size > (off_t)sizeof(hdr)) {
        left = (uint64_t)st.st_size - sizeof(hdr);
    }
    unsigned char *payload = NULL;
    size_t payload_cap = 0;
    bool ended = false;
    while (rc == 0 && !ended) {
        unsigned char fr[8];
        if (fread(fr, 1, 8, f) != 8) {
            rc = br_err_set(err, BR_ECORRUPT, "truncated (no end record)");
            break;
        }
        left = left >= 8 ? left - 8 : 0;
        uint32_t len = get_u32(fr);
        if (len == 0 || len > SNAP_MAX_RECORD) {
            rc = br_err_set(err, BR_ECORRUPT, "impossible record length %u", len);
            break;
        }
        if (len > left) {
            rc = br_err_set(err, BR_ECORRUPT, "truncated record");
            break;
        }
        left -= len;
        if (len > payload_cap) {
            payload = br_realloc(payload, len);
            payload_cap = len;
        }
        if (fread(payload, 1, len, f) != len) {
            rc = br_err_set(err, BR_ECORRUPT, "truncated record");
            break;
        }
        if (br_crc32c(0, payload, len) != get_u32(fr + 4)) {
            rc = br_err_set(err, BR_ECORRUPT, "record CRC mismatch after %zu series", l->n);
            break;
        }
        reader r = {.p = payload + 1, .end = payload + len};
        if (payload[0] == REC_END) {
            uint64_t count = read_u64(&r);
            if (r.bad || count != l->n) {
                rc = br_err_set(err, BR_ECORRUPT, "end record counts %llu series, file has %zu",
                                (unsigned long long)count, l->n);
            }
            ended = true;
            break;
        }
        if (payload[0] != REC_SERIES) {
            rc = br_err_set(err, BR_ECORRUPT, "unknown record kind %u", payload[0]);
            break;
        }
        head_series *s = decode_series(h, &r, err);
        if (s == NULL) {
            rc = BR_ECORRUPT;
            break;
        }
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 1024;
            l->series = br_realloc(l->series, l->cap * sizeof(*l->series));
        }
        l->series[l->n++] = s;
    }
    br_free(payload);
    fclose(f);
    return rc;
}

int head_snapshot_load(br_head *h, uint32_t *replay_from, br_err *err)
{
    (void)err;
    *replay_from = 0;
    uint32_t segs[64];
    size_t n = list_snapshots(h->snap_dir, segs, 64);
    for (size_t i = 0; i < n; i++) {
        char path[1100];
        snprintf(path, sizeof(path), "%s/snapshot.%08u", h->snap_dir, segs[i]);
        int64_t start = br_mono_ns();
        loaded l;
        memset(&l, 0, sizeof(l));
        uint64_t next_id = 0;
        br_err lerr;
        br_err_clear(&lerr);
        if (read_snapshot(h, path, segs[i], &l, &next_id, &lerr) != 0) {
            br_log_warn("ignoring unusable snapshot; falling back to an older one or the WAL",
                        "file=%s err=\"%s\"", path, lerr.msg);
            loaded_free(h, &l);
            continue;
        }
        for (size_t k = 0; k < l.n; k++) {
            head_series *s = l.series[k];
            head_shard *sh = &h->shards[s->ref & HEAD_SHARD_MASK];
            pthread_mutex_lock(&sh->mu);
            head_series_link(h, sh, s);
            pthread_mutex_unlock(&sh->mu);
            uint64_t id = (s->ref >> HEAD_SHARD_BITS) + 1;
            if (id > next_id) {
                next_id = id;
            }
        }
        br_free(l.series);
        if (next_id > atomic_load(&h->next_id)) {
            atomic_store(&h->next_id, next_id);
        }
        h->snapshot_load_ms = (br_mono_ns() - start) / 1000000;
        h->snapshot_series_loaded = l.n;
        struct stat st;
        if (stat(path, &st) == 0) {
            atomic_store(&h->snap_file_bytes, (uint64_t)st.st_size);
        }
        *replay_from = segs[i];
        br_log_info("snapshot loaded", "file=%s series=%zu duration_ms=%lld", path, l.n,
                    (long long)h->snapshot_load_ms);
        return 0;
    }
    return 0;
}
