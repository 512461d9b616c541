/*
 * wal.c — write-ahead log: segment files, record framing, group commit and
 * recovery. The head appends one record per remote-write commit and syncs it
 * before the 2xx; start-up replays the log. API and thread rules: wal.h.
 *
 * Format. A directory of segment files named by 8-digit zero-padded decimal
 * sequence numbers ("00000001"); other names are ignored. Integers are
 * little-endian. A segment is a 16-byte header, then records; a record never
 * spans segments, so whole old segments can be deleted.
 *   header  0 magic "BRWL" | 4 u8 version = 1 | 5 three zero bytes |
 *           8 u32 segment number (= file name) | 12 u32 CRC32C of bytes 0..11
 *   record  0 u32 payload length n (<= BR_WAL_MAX_RECORD, fits the segment) |
 *           4 u32 CRC32C over bytes 0..3, then byte 8, then the payload |
 *           8 u8 type (1..255) | 9 n payload bytes
 *
 * Recovery. br_wal_replay only reads and reports; br_wal_open repairs; both
 * apply these rules, so either order yields the same records. The log is the
 * newest run of consecutive segment numbers: older segments behind a gap are
 * reported and ignored (open renames them "<name>.corrupt"). Records are read
 * up to the first bad one (short or bad segment header, incomplete frame,
 * length over the limit, type 0, CRC mismatch). It is a torn tail when it is
 * in the last segment and is incomplete, or ends at end of file, or only zero
 * bytes follow it; otherwise it is corruption. Either way the log ends there:
 * open truncates that segment at the last good record (a segment with no
 * valid header is deleted if torn, renamed "<name>.corrupt" if corrupt, and
 * replaced by a header-only segment), renames every later segment to
 * "<name>.corrupt" and replaces it by a header-only one (so numbers stay
 * contiguous and are never reused: a snapshot's from_segment stays valid),
 * fsyncs the directory, logs one warn line (segment, offset, bytes dropped)
 * and counts it in the stats. None of this is fatal; only a newer format
 * version (BR_EUNSUPPORTED) or a failing read (BR_EIO) stops open. Open reads
 * every segment to check it, then starts a new one (highest number + 1), so a
 * repaired file is never appended to.
 *
 * Group commit and locking: see the comment above struct br_wal.
 */
#include "wal.h"

#include "engine/core/alloc.h"
#include "engine/core/crc32c.h"
#include "engine/core/log.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEG_HEADER_SIZE   16u
#define REC_FRAME_SIZE    9u
#define SEG_VERSION       1u
#define SEG_NAME_DIGITS   8
#define SEG_MAX_NUMBER    99999999u
#define MAX_SEGMENT_FILES (1u << 20) /* directory entries we accept as segments */
#define READ_CHUNK        (1u << 20)
#define FLUSH_BYTES       (1u << 20)  /* an append writes pending bytes past this */
#define SPARE_KEEP_BYTES  (8u << 20)  /* larger idle buffers are released */
#define PENDING_MAX       (16u << 20) /* appenders wait for I/O past this */
#define WAL_MAGIC         0x4c415742u /* "BWAL": set while the handle is live */

static const unsigned char seg_magic[4] = {'B', 'R', 'W', 'L'};

/*
 * Group commit. Appenders frame a record (CRC computed outside the lock),
 * copy it into `pend` under `mu` and get an LSN. Bytes reach the file only
 * through the one I/O owner: a thread that finds `io_busy` false sets it,
 * swaps `pend` with the empty `spare`, releases `mu`, calls write(2) (and
 * fdatasync) on the current segment, retakes `mu`, publishes written/synced
 * LSNs, clears `io_busy` and broadcasts `io_done`. A syncer whose LSN is not
 * covered yet waits on `io_done` while another thread owns I/O, then finds
 * its record written by that owner or becomes the next owner and writes all
 * that piled up in one go. No mutex is held during I/O: `io_busy` is the
 * owner token and it alone guards `fd` and `spare`. Rotation (segment full,
 * or br_wal_cut) is done by an owner: under `mu` it moves appends on to the
 * next segment number, then without `mu` it writes, fdatasyncs and closes
 * the old file and creates the new one while appenders keep filling `pend`
 * for the new segment. An append that finds 1 MiB pending writes it itself;
 * one that would push it past 16 MiB while I/O is busy waits (backpressure).
 * Any write, fdatasync or create error sets `failed`: appends and syncs then
 * fail fast with BR_EIO until the WAL is closed and reopened.
 */
typedef struct bytebuf {
    unsigned char *data;
    size_t len;
    size_t cap;
} bytebuf;

struct br_wal {
    /* Immutable after br_wal_open. */
    uint32_t magic; /* WAL_MAGIC; checked by asserts to catch use after close */
    char *dir;
    int dir_fd; /* holds the flock */
    br_wal_options opts;
    br_wal_io io;
    uint32_t max_record;

    /* Flush thread (interval policy). stop is guarded by mu. */
    pthread_t flusher;
    bool has_flusher;
    bool stop;
    pthread_cond_t stop_cond; /* monotonic clock */

    /* Serialises br_wal_truncate_before calls (held while unlinking). */
    pthread_mutex_t trunc_mu;

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t io_done;
    bool io_busy; /* I/O owner token; the owner alone touches fd and spare */
    bool failed;
    char fail_msg[BR_ERR_MSG_SIZE];
    int fd;           /* current segment, -1 after a failed rotation */
    uint32_t cur_seg; /* segment new appends go to */
    uint32_t seg_off; /* logical size of cur_seg, pending bytes included */
    uint64_t appended_lsn;
    uint64_t written_lsn; /* everything up to here went through write(2) */
    uint64_t synced_lsn;  /* everything up to here was fdatasync'ed */
    bytebuf pend;         /* framed records of cur_seg not yet written */
    bytebuf spare;
    br_wal_stats st;
};

/* ---------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------- */

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t record_crc(const unsigned char *frame, const void *payload, size_t len)
{
    uint32_t crc = br_crc32c(0, frame, 4);
    crc = br_crc32c(crc, frame + 8, 1);
    return br_crc32c(crc, payload, len);
}

static void seg_name(uint32_t seg, char *out, size_t size)
{
    snprintf(out, size, "%0*u", SEG_NAME_DIGITS, seg);
}

static uint64_t make_lsn(uint32_t seg, uint32_t off)
{
    return (uint64_t)seg << 32 | off;
}

static void header_bytes(uint32_t seg, unsigned char out[SEG_HEADER_SIZE])
{
    memset(out, 0, SEG_HEADER_SIZE);
    memcpy(out, seg_magic, sizeof(seg_magic));
    out[4] = SEG_VERSION;
    put_le32(out + 8, seg);
    put_le32(out + 12, br_crc32c(0, out, 12));
}

static void bytebuf_append(bytebuf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64 * 1024;
        while (cap < b->len + n) {
            cap *= 2;
        }
        b->data = br_realloc(b->data, cap);
        b->cap = cap;
    }
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
}

static ssize_t sys_write(void *ctx, int fd, const void *buf, size_t len)
{
    (void)ctx;
    return write(fd, buf, len);
}

static int sys_fdatasync(void *ctx, int fd)
{
    (void)ctx;
    return fdatasync(fd);
}

/* Writes all of p, retrying short writes and EINTR. Returns 0 or fills msg
 * and returns -1. */
static int write_all(const br_wal_io *io, int fd, uint32_t seg, const void *p, size_t n, char *msg,
                     size_t msg_size)
{
    const unsigned char *c = p;
    while (n > 0) {
        ssize_t k = io->write(io->ctx, fd, c, n);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            snprintf(msg, msg_size, "write to WAL segment %0*u failed: %s", SEG_NAME_DIGITS, seg,
                     k < 0 ? strerror(errno) : "wrote 0 bytes");
            return -1;
        }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

static int datasync(const br_wal_io *io, int fd, uint32_t seg, char *msg, size_t msg_size)
{
    if (io->fdatasync(io->ctx, fd) != 0) {
        snprintf(msg, msg_size, "fdatasync of WAL segment %0*u failed: %s", SEG_NAME_DIGITS, seg,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* Creates segment file seg with its header. Returns the fd or -1 (msg). */
static int create_segment(const br_wal_io *io, int dir_fd, uint32_t seg, bool sync, char *msg,
                          size_t msg_size)
{
    char name[16];
    seg_name(seg, name, sizeof(name));
    int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(msg, msg_size, "create WAL segment %s failed: %s", name, strerror(errno));
        return -1;
    }
    unsigned char hdr[SEG_HEADER_SIZE];
    header_bytes(seg, hdr);
    if (write_all(io, fd, seg, hdr, sizeof(hdr), msg, msg_size) != 0 ||
        (sync && datasync(io, fd, seg, msg, msg_size) != 0)) {
        close(fd);
        return -1;
    }
    if (sync && fsync(dir_fd) != 0) {
        snprintf(msg, msg_size, "fsync of the WAL directory failed: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* ---------------------------------------------------------------------------
 * Failure state and the I/O owner (all with mu held)
 * ------------------------------------------------------------------------- */

static void set_failed(br_wal *w, const char *msg)
{
    if (w->failed) {
        return;
    }
    w->failed = true;
    snprintf(w->fail_msg, sizeof(w->fail_msg), "%s", msg);
    char q[BR_ERR_MSG_SIZE + 8];
    br_log_error("WAL failed; appends are refused until it is reopened", "err=%s",
                 br_log_quote(msg, q, sizeof(q)));
}

static int fail_err(const br_wal *w, br_err *err)
{
    return br_err_set(err, BR_EIO, "%s", w->fail_msg);
}

static bytebuf take_pending(br_wal *w)
{
    bytebuf batch = w->pend;
    w->pend = w->spare;
    w->spare = (bytebuf){0};
    return batch;
}

static void give_back_spare(br_wal *w, bytebuf batch)
{
    if (batch.cap > SPARE_KEEP_BYTES) {
        br_free(batch.data);
        batch = (bytebuf){0};
    }
    batch.len = 0;
    w->spare = batch;
}

/*
 * Makes every record up to `want` written (and fdatasync'ed when need_sync),
 * either by waiting for the current I/O owner or by becoming it. Called and
 * returns with mu held; releases it during I/O. Returns 0 or BR_EIO.
 */
static int flush_locked(br_wal *w, uint64_t want, bool need_sync, br_err *err)
{
    for (;;) {
        if (w->failed) {
            return fail_err(w, err);
        }
        if (w->written_lsn >= want && (!need_sync || w->synced_lsn >= want)) {
            return 0;
        }
        if (!w->io_busy) {
            break;
        }
        pthread_cond_wait(&w->io_done, &w->mu);
    }
    w->io_busy = true;
    bytebuf batch = take_pending(w);
    uint64_t target = w->appended_lsn;
    int fd = w->fd;
    uint32_t seg = w->cur_seg;
    pthread_mutex_unlock(&w->mu);

    char msg[BR_ERR_MSG_SIZE];
    int rc = 0;
    if (batch.len > 0) {
        rc = write_all(&w->io, fd, seg, batch.data, batch.len, msg, sizeof(msg));
    }
    if (rc == 0 && need_sync) {
        rc = datasync(&w->io, fd, seg, msg, sizeof(msg));
    }

    pthread_mutex_lock(&w->mu);
    if (batch.len > 0) {
        w->st.writes++;
    }
    if (need_sync) {
        w->st.syncs++;
    }
    give_back_spare(w, batch);
    if (rc != 0) {
        set_failed(w, msg);
    } else {
        w->written_lsn = target;
        if (need_sync) {
            w->synced_lsn = target;
        }
    }
    w->io_busy = false;
    pthread_cond_broadcast(&w->io_done);
    return w->failed ? fail_err(w, err) : 0;
}

/*
 * Moves appends on to the next segment and finishes the current one. Called
 * with mu held and io_busy false; returns with mu held. Returns 0 or BR_EIO.
 */
static int rotate_locked(br_wal *w, br_err *err)
{
    if (w->cur_seg >= SEG_MAX_NUMBER) {
        set_failed(w, "WAL segment numbers exhausted");
        return fail_err(w, err);
    }
    bool sync = w->opts.fsync != BR_WAL_FSYNC_NEVER;
    w->io_busy = true;
    bytebuf batch = take_pending(w);
    uint64_t target = w->appended_lsn;
    int old_fd = w->fd;
    uint32_t old_seg = w->cur_seg;
    uint32_t new_seg = old_seg + 1;
    w->cur_seg = new_seg;
    w->seg_off = SEG_HEADER_SIZE;
    w->fd = -1;
    w->st.last_segment = new_seg;
    w->st.segments++;
    w->st.bytes += SEG_HEADER_SIZE;
    pthread_mutex_unlock(&w->mu);

    char msg[BR_ERR_MSG_SIZE];
    int rc = 0;
    int new_fd = -1;
    uint64_t nsync = 0;
    if (batch.len > 0) {
        rc = write_all(&w->io, old_fd, old_seg, batch.data, batch.len, msg, sizeof(msg));
    }
    if (rc == 0 && sync) {
        nsync++;
        rc = datasync(&w->io, old_fd, old_seg, msg, sizeof(msg));
    }
    close(old_fd);
    if (rc == 0) {
        new_fd = create_segment(&w->io, w->dir_fd, new_seg, sync, msg, sizeof(msg));
        rc = new_fd < 0 ? -1 : 0;
        nsync += sync && rc == 0 ? 1 : 0;
    }

    pthread_mutex_lock(&w->mu);
    if (batch.len > 0) {
        w->st.writes++;
    }
    w->st.syncs += nsync;
    give_back_spare(w, batch);
    if (rc != 0) {
        set_failed(w, msg);
    } else {
        w->fd = new_fd;
        w->written_lsn = target;
        if (sync) {
            w->synced_lsn = target;
        }
    }
    w->io_busy = false;
    pthread_cond_broadcast(&w->io_done);
    return w->failed ? fail_err(w, err) : 0;
}

/* ---------------------------------------------------------------------------
 * Public write path
 * ------------------------------------------------------------------------- */

int br_wal_fsync_policy_parse(const char *s, br_wal_fsync_policy *out)
{
    if (strcmp(s, "always") == 0) {
        *out = BR_WAL_FSYNC_ALWAYS;
    } else if (strcmp(s, "interval") == 0) {
        *out = BR_WAL_FSYNC_INTERVAL;
    } else if (strcmp(s, "never") == 0) {
        *out = BR_WAL_FSYNC_NEVER;
    } else {
        return BR_EINVAL;
    }
    return 0;
}

int br_wal_append(br_wal *w, uint8_t type, const void *payload, size_t len, uint64_t *lsn,
                  br_err *err)
{
    assert(w != NULL && w->magic == WAL_MAGIC);
    if (type == 0) {
        return br_err_set(err, BR_EINVAL, "WAL record type 0 is reserved");
    }
    if (len > w->max_record) {
        return br_err_set(err, BR_ETOOLARGE,
                          "WAL record of %zu bytes exceeds the limit of %u bytes", len,
                          w->max_record);
    }
    if (len > 0 && payload == NULL) {
        return br_err_set(err, BR_EINVAL, "WAL record payload is NULL");
    }
    unsigned char frame[REC_FRAME_SIZE];
    put_le32(frame, (uint32_t)len);
    frame[8] = type;
    put_le32(frame + 4, record_crc(frame, payload, len));
    uint32_t need = REC_FRAME_SIZE + (uint32_t)len;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (w->failed) {
            int rc = fail_err(w, err);
            pthread_mutex_unlock(&w->mu);
            return rc;
        }
        bool full = w->pend.len > 0 && w->pend.len + need > PENDING_MAX;
        if (full && w->io_busy) {
            pthread_cond_wait(&w->io_done, &w->mu);
            continue;
        }
        if ((uint64_t)w->seg_off + need <= w->opts.segment_size) {
            break;
        }
        if (w->io_busy) {
            pthread_cond_wait(&w->io_done, &w->mu);
            continue;
        }
        int rc = rotate_locked(w, err);
        if (rc != 0) {
            pthread_mutex_unlock(&w->mu);
            return rc;
        }
    }
    bytebuf_append(&w->pend, frame, sizeof(frame));
    bytebuf_append(&w->pend, payload, len);
    w->seg_off += need;
    uint64_t mine = make_lsn(w->cur_seg, w->seg_off);
    w->appended_lsn = mine;
    w->st.records++;
    w->st.bytes += need;
    w->st.bytes_appended += need;
    int rc = 0;
    if (w->pend.len >= FLUSH_BYTES && !w->io_busy) {
        rc = flush_locked(w, mine, false, err);
    }
    pthread_mutex_unlock(&w->mu);
    if (rc == 0 && lsn != NULL) {
        *lsn = mine;
    }
    return rc;
}

int br_wal_sync(br_wal *w, uint64_t lsn, br_err *err)
{
    assert(w != NULL && w->magic == WAL_MAGIC);
    if (lsn == 0) {
        return 0;
    }
    pthread_mutex_lock(&w->mu);
    int rc;
    if (lsn > w->appended_lsn) {
        rc = br_err_set(err, BR_EINVAL, "WAL sync: lsn %u:%u was never appended",
                        BR_WAL_LSN_SEGMENT(lsn), BR_WAL_LSN_OFFSET(lsn));
    } else {
        rc = flush_locked(w, lsn, w->opts.fsync == BR_WAL_FSYNC_ALWAYS, err);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

int br_wal_cut(br_wal *w, uint32_t *new_segment, br_err *err)
{
    assert(w != NULL && w->magic == WAL_MAGIC);
    pthread_mutex_lock(&w->mu);
    int rc = 0;
    for (;;) {
        if (w->failed) {
            rc = fail_err(w, err);
            break;
        }
        if (!w->io_busy) {
            rc = rotate_locked(w, err);
            break;
        }
        pthread_cond_wait(&w->io_done, &w->mu);
    }
    uint32_t seg = w->cur_seg;
    pthread_mutex_unlock(&w->mu);
    if (rc == 0 && new_segment != NULL) {
        *new_segment = seg;
    }
    return rc;
}

int br_wal_truncate_before(br_wal *w, uint32_t segment, br_err *err)
{
    assert(w != NULL && w->magic == WAL_MAGIC);
    pthread_mutex_lock(&w->trunc_mu);
    pthread_mutex_lock(&w->mu);
    uint32_t cur = w->cur_seg;
    uint32_t first = w->st.first_segment;
    pthread_mutex_unlock(&w->mu);
    if (segment > cur) {
        pthread_mutex_unlock(&w->trunc_mu);
        return br_err_set(err, BR_EINVAL,
                          "WAL truncate: segment %u is beyond the current segment %u", segment,
                          cur);
    }
    int rc = 0;
    uint64_t freed = 0;
    uint64_t removed = 0;
    uint32_t s = first;
    for (; s < segment; s++) {
        char name[16];
        seg_name(s, name, sizeof(name));
        struct stat sb;
        uint64_t size = fstatat(w->dir_fd, name, &sb, 0) == 0 ? (uint64_t)sb.st_size : 0;
        if (unlinkat(w->dir_fd, name, 0) != 0 && errno != ENOENT) {
            rc = br_err_set(err, BR_EIO, "delete WAL segment %s failed: %s", name, strerror(errno));
            break;
        }
        freed += size;
        removed++;
    }
    if (removed > 0 && fsync(w->dir_fd) != 0 && rc == 0) {
        rc = br_err_set(err, BR_EIO, "fsync of the WAL directory failed: %s", strerror(errno));
    }
    pthread_mutex_lock(&w->mu);
    if (s > w->st.first_segment) {
        w->st.first_segment = s;
    }
    w->st.segments -= removed;
    w->st.bytes -= freed;
    pthread_mutex_unlock(&w->mu);
    pthread_mutex_unlock(&w->trunc_mu);
    return rc;
}

void br_wal_get_stats(br_wal *w, br_wal_stats *out)
{
    assert(w != NULL && w->magic == WAL_MAGIC);
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    pthread_mutex_unlock(&w->mu);
}

/* The interval policy's flush thread: every fsync_interval_ms, write and
 * fdatasync whatever is not yet on disk. */
static void *flusher_main(void *arg)
{
    br_wal *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        uint64_t ns = (uint64_t)deadline.tv_nsec + (uint64_t)w->opts.fsync_interval_ms * 1000000u;
        deadline.tv_sec += (time_t)(ns / 1000000000u);
        deadline.tv_nsec = (long)(ns % 1000000000u);
        int r = 0;
        while (!w->stop && r != ETIMEDOUT) {
            r = pthread_cond_timedwait(&w->stop_cond, &w->mu, &deadline);
        }
        if (w->stop) {
            break;
        }
        if (!w->failed && w->synced_lsn < w->appended_lsn) {
            br_err e;
            br_err_clear(&e);
            (void)flush_locked(w, w->appended_lsn, true, &e); /* failure is logged */
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Reading segments (replay and repair)
 * ------------------------------------------------------------------------- */

typedef struct seg_entry {
    uint32_t no;
    uint64_t size;
} seg_entry;

static int cmp_seg(const void *a, const void *b)
{
    uint32_t x = ((const seg_entry *)a)->no;
    uint32_t y = ((const seg_entry *)b)->no;
    return x < y ? -1 : x > y;
}

static bool parse_seg_name(const char *name, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < SEG_NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return false;
        }
        v = v * 10 + (uint32_t)(name[i] - '0');
    }
    if (name[SEG_NAME_DIGITS] != '\0' || v == 0) {
        return false;
    }
    *out = v;
    return true;
}

/* Lists the segment files of dir_fd, sorted. *out is new (free with br_free). */
static int list_segments(int dir_fd, const char *dir, seg_entry **out, size_t *n, br_err *err)
{
    *out = NULL;
    *n = 0;
    int fd = dup(dir_fd);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (d == NULL) {
        if (fd >= 0) {
            close(fd);
        }
        return br_err_set(err, BR_EIO, "list WAL directory %s: %s", dir, strerror(errno));
    }
    rewinddir(d);
    seg_entry *arr = NULL;
    size_t len = 0;
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint32_t no;
        if (!parse_seg_name(de->d_name, &no)) {
            continue;
        }
        struct stat sb;
        if (fstatat(dir_fd, de->d_name, &sb, 0) != 0) {
            rc = br_err_set(err, BR_EIO, "stat WAL segment %s/%s: %s", dir, de->d_name,
                            strerror(errno));
            break;
        }
        if (!S_ISREG(sb.st_mode)) {
            continue;
        }
        if (len == MAX_SEGMENT_FILES) {
            rc = br_err_set(err, BR_ELIMIT, "WAL directory %s holds more than %u segments", dir,
                            MAX_SEGMENT_FILES);
            break;
        }
        if (len == cap) {
            cap = cap ? cap * 2 : 16;
            arr = br_realloc(arr, cap * sizeof(*arr));
        }
        arr[len].no = no;
        arr[len].size = (uint64_t)sb.st_size;
        len++;
    }
    closedir(d);
    if (rc != 0) {
        br_free(arr);
        return rc;
    }
    if (len > 1) {
        qsort(arr, len, sizeof(*arr), cmp_seg);
    }
    *out = arr;
    *n = len;
    return 0;
}

/* A buffered window over one segment file. */
typedef struct seg_reader {
    int fd;
    uint64_t size;
    unsigned char *buf;
    size_t cap;
    uint64_t buf_off;
    size_t buf_len;
} seg_reader;

/* Returns n bytes at off (off + n <= size), or NULL on a read error. */
static const unsigned char *read_at(seg_reader *r, uint64_t off, size_t n)
{
    if (off >= r->buf_off && off + n <= r->buf_off + r->buf_len) {
        return r->buf + (off - r->buf_off);
    }
    size_t want = n > READ_CHUNK ? n : READ_CHUNK;
    if (want > r->size - off) {
        want = (size_t)(r->size - off);
    }
    if (want > r->cap) {
        r->buf = br_realloc(r->buf, want);
        r->cap = want;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t k = pread(r->fd, r->buf + got, want - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0) {
            return NULL;
        }
        if (k == 0) {
            break;
        }
        got += (size_t)k;
    }
    r->buf_off = off;
    r->buf_len = got;
    if (got < n) {
        errno = EIO; /* the file shrank under us */
        return NULL;
    }
    return r->buf;
}

/* Whether bytes [off, size) are all zero; -1 on a read error. */
static int zeros_to_end(seg_reader *r, uint64_t off)
{
    while (off < r->size) {
        size_t n = r->size - off > READ_CHUNK ? READ_CHUNK : (size_t)(r->size - off);
        const unsigned char *p = read_at(r, off, n);
        if (p == NULL) {
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (p[i] != 0) {
                return 0;
            }
        }
        off += n;
    }
    return 1;
}

/* What scanning the log found. */
typedef struct scan_result {
    size_t start;       /* index of the first segment of the log (after any gap) */
    uint64_t gap_bytes; /* bytes in segments before start */
    bool bad;           /* a bad record ends the log */
    size_t bad_index;   /* its segment, as an index into the list */
    uint64_t bad_off;   /* keep [0, bad_off) of that segment; < header size: none */
    bool torn;
    char reason[96];
    uint64_t dropped; /* bytes from bad_off on, later segments included */
    uint64_t records;
    uint64_t good_bytes;
    uint64_t segments_read;
    uint32_t last_read;
} scan_result;

typedef struct replay_sink {
    br_wal_replay_fn fn;
    void *ctx;
} replay_sink;

/*
 * Reads one segment, delivering its good records to sink (may be NULL).
 * Sets res->bad and friends at the first bad record. Returns 0, the
 * callback's code, BR_EUNSUPPORTED or BR_EIO.
 */
static int scan_segment(int dir_fd, const char *dir, const seg_entry *seg, bool is_last,
                        const replay_sink *sink, scan_result *res, br_err *err)
{
    char name[16];
    seg_name(seg->no, name, sizeof(name));
    seg_reader r = {.fd = -1};
    r.fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (r.fd < 0) {
        return br_err_set(err, BR_EIO, "open WAL segment %s/%s: %s", dir, name, strerror(errno));
    }
    struct stat sb;
    if (fstat(r.fd, &sb) != 0) {
        int e = errno;
        close(r.fd);
        return br_err_set(err, BR_EIO, "stat WAL segment %s/%s: %s", dir, name, strerror(e));
    }
    r.size = (uint64_t)sb.st_size;

    int rc = 0;
    bool read_err = false;
    uint64_t off = 0;
    bool bad = false;
    bool incomplete = false;
    uint64_t bad_end = 0;
    const char *reason = NULL;
    const unsigned char *p = NULL;
    if (r.size < SEG_HEADER_SIZE) {
        bad = true;
        incomplete = true;
        reason = "segment shorter than its header";
    } else if ((p = read_at(&r, 0, SEG_HEADER_SIZE)) == NULL) {
        read_err = true;
    } else if (memcmp(p, seg_magic, 4) != 0 || get_le32(p + 12) != br_crc32c(0, p, 12) ||
               get_le32(p + 8) != seg->no) {
        bad = true;
        bad_end = SEG_HEADER_SIZE;
        reason = "bad segment header";
    } else if (p[4] != SEG_VERSION) {
        unsigned version = p[4];
        close(r.fd);
        br_free(r.buf);
        return br_err_set(err, BR_EUNSUPPORTED,
                          "WAL segment %s/%s has format version %u; this build reads version %u",
                          dir, name, version, SEG_VERSION);
    } else {
        off = SEG_HEADER_SIZE;
    }
    while (!read_err && !bad && off < r.size) {
        if (r.size - off < REC_FRAME_SIZE) {
            bad = incomplete = true;
            reason = "incomplete record frame";
            break;
        }
        p = read_at(&r, off, REC_FRAME_SIZE);
        if (p == NULL) {
            read_err = true;
            break;
        }
        uint32_t len = get_le32(p);
        uint8_t type = p[8];
        if (len > BR_WAL_MAX_RECORD) {
            bad = true;
            reason = "record length above the limit";
            incomplete = len > r.size - off - REC_FRAME_SIZE;
            break;
        }
        if (len > r.size - off - REC_FRAME_SIZE) {
            bad = incomplete = true;
            reason = "record runs past the end of the segment";
            break;
        }
        p = read_at(&r, off, REC_FRAME_SIZE + len);
        if (p == NULL) {
            read_err = true;
            break;
        }
        bad_end = off + REC_FRAME_SIZE + len;
        if (type == 0) {
            bad = true;
            reason = "record type 0";
            break;
        }
        if (get_le32(p + 4) != record_crc(p, p + REC_FRAME_SIZE, len)) {
            bad = true;
            reason = "record CRC mismatch";
            break;
        }
        if (sink != NULL) {
            rc = sink->fn(type, p + REC_FRAME_SIZE, len, sink->ctx);
            if (rc != 0) {
                br_err_set(err, rc, "WAL replay callback returned %s at segment %s offset %llu",
                           br_err_name(rc), name, (unsigned long long)off);
                break;
            }
        }
        off += REC_FRAME_SIZE + len;
        res->records++;
        res->good_bytes += REC_FRAME_SIZE + len;
    }
    if (read_err) {
        rc = br_err_set(err, BR_EIO, "read WAL segment %s/%s: %s", dir, name, strerror(errno));
    }
    if (rc == 0 && bad) {
        bool torn = false;
        if (is_last) {
            int z = zeros_to_end(&r, off);
            if (z < 0) {
                rc = br_err_set(err, BR_EIO, "read WAL segment %s/%s: %s", dir, name,
                                strerror(errno));
            }
            torn = incomplete || bad_end == r.size || z == 1;
        }
        res->bad = true;
        res->bad_off = off;
        res->torn = torn;
        res->dropped += r.size - off;
        snprintf(res->reason, sizeof(res->reason), "%s", reason);
    }
    res->segments_read++;
    res->last_read = seg->no;
    if (off >= SEG_HEADER_SIZE) {
        res->good_bytes += SEG_HEADER_SIZE;
    }
    close(r.fd);
    br_free(r.buf);
    return rc;
}

/*
 * Applies the recovery rules to the listed segments numbered from `from`
 * and up, delivering good records to sink (may be NULL). Fills *res.
 */
static int scan_log(int dir_fd, const char *dir, const seg_entry *segs, size_t n, uint32_t from,
                    const replay_sink *sink, scan_result *res, br_err *err)
{
    memset(res, 0, sizeof(*res));
    if (n == 0) {
        return 0;
    }
    size_t start = n - 1;
    while (start > 0 && segs[start - 1].no + 1 == segs[start].no) {
        start--;
    }
    res->start = start;
    for (size_t i = 0; i < start; i++) {
        res->gap_bytes += segs[i].size;
    }
    size_t i = start;
    while (i < n && segs[i].no < from) {
        i++;
    }
    for (; i < n; i++) {
        int rc = scan_segment(dir_fd, dir, &segs[i], i == n - 1, sink, res, err);
        if (rc != 0) {
            return rc;
        }
        if (res->bad) {
            res->bad_index = i;
            for (size_t j = i + 1; j < n; j++) {
                res->dropped += segs[j].size;
            }
            break;
        }
    }
    return 0;
}

static void log_problem(const char *dir, const char *action, const seg_entry *seg,
                        size_t later_segments, const scan_result *res)
{
    char qdir[PATH_MAX + 8];
    char qreason[128];
    br_log_quote(dir, qdir, sizeof(qdir));
    br_log_quote(res->reason, qreason, sizeof(qreason));
    br_log_warn(res->torn ? "WAL torn tail" : "WAL corruption",
                "dir=%s segment=%0*u offset=%llu reason=%s dropped_bytes=%llu "
                "later_segments_dropped=%zu action=\"%s\"",
                qdir, SEG_NAME_DIGITS, seg->no, (unsigned long long)res->bad_off, qreason,
                (unsigned long long)res->dropped, later_segments, action);
}

static void log_gap(const char *dir, const char *action, const seg_entry *segs, size_t start,
                    uint64_t bytes)
{
    char qdir[PATH_MAX + 8];
    br_log_quote(dir, qdir, sizeof(qdir));
    br_log_warn("WAL segment numbers have a gap; older segments are not part of the log",
                "dir=%s missing_segment=%0*u ignored_segments=%zu ignored_bytes=%llu action=\"%s\"",
                qdir, SEG_NAME_DIGITS, segs[start - 1].no + 1, start, (unsigned long long)bytes,
                action);
}

static int open_dir_fd(const char *dir, int *out, br_err *err)
{
    *out = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*out < 0) {
        if (errno == ENOENT) {
            return BR_ENOTFOUND;
        }
        return br_err_set(err, BR_EIO, "open WAL directory %s: %s", dir, strerror(errno));
    }
    return 0;
}

int br_wal_replay(const char *dir, uint32_t from_segment, br_wal_replay_fn fn, void *ctx,
                  br_wal_stats *stats, br_err *err)
{
    br_wal_stats local;
    if (stats == NULL) {
        stats = &local;
    }
    memset(stats, 0, sizeof(*stats));
    int dir_fd;
    int rc = open_dir_fd(dir, &dir_fd, err);
    if (rc == BR_ENOTFOUND) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    seg_entry *segs;
    size_t n;
    rc = list_segments(dir_fd, dir, &segs, &n, err);
    if (rc != 0) {
        close(dir_fd);
        return rc;
    }
    scan_result res;
    replay_sink sink = {fn, ctx};
    rc = scan_log(dir_fd, dir, segs, n, from_segment, fn ? &sink : NULL, &res, err);
    if (rc == 0) {
        if (res.start > 0 && from_segment <= segs[res.start - 1].no) {
            log_gap(dir, "replay skips them", segs, res.start, res.gap_bytes);
            stats->corrupt_records++;
            stats->bytes_dropped += res.gap_bytes;
        } else if (n > 0 && from_segment > 0 && from_segment < segs[res.start].no) {
            char qdir[PATH_MAX + 8];
            br_log_warn("WAL segments missing before the log starts",
                        "dir=%s from_segment=%0*u first_segment=%0*u",
                        br_log_quote(dir, qdir, sizeof(qdir)), SEG_NAME_DIGITS, from_segment,
                        SEG_NAME_DIGITS, segs[res.start].no);
        }
        if (res.bad) {
            log_problem(dir, "replay stops here", &segs[res.bad_index], n - res.bad_index - 1,
                        &res);
            if (res.torn) {
                stats->torn_tails++;
            } else {
                stats->corrupt_records++;
            }
            stats->bytes_dropped += res.dropped;
        }
        stats->segments = res.segments_read;
        stats->records = res.records;
        stats->bytes = res.good_bytes;
        stats->last_segment = res.last_read;
        for (size_t i = res.start; i < n; i++) {
            if (segs[i].no >= from_segment) {
                stats->first_segment = segs[i].no;
                break;
            }
        }
    }
    br_free(segs);
    close(dir_fd);
    return rc;
}

/* ---------------------------------------------------------------------------
 * Open and close
 * ------------------------------------------------------------------------- */

static int mkdir_p(const char *dir, br_err *err)
{
    size_t len = strlen(dir);
    if (len == 0 || len >= PATH_MAX) {
        return br_err_set(err, BR_EINVAL, "WAL directory path is empty or too long");
    }
    char path[PATH_MAX];
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0') {
            continue;
        }
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            return br_err_set(err, BR_EIO, "create WAL directory %s: %s", path, strerror(errno));
        }
        path[i] = saved;
    }
    return 0;
}

/* Renames segment file no to "<name>.corrupt" (or deletes it when
 * `delete`), then puts an empty segment (header only) in its place, so the
 * numbering stays contiguous and no number is ever reused for new data. */
static int replace_segment(br_wal *w, uint32_t no, bool delete, br_err *err)
{
    char name[16];
    char aside[32];
    seg_name(no, name, sizeof(name));
    snprintf(aside, sizeof(aside), "%s.corrupt", name);
    int r = delete ? unlinkat(w->dir_fd, name, 0) : renameat(w->dir_fd, name, w->dir_fd, aside);
    if (r != 0) {
        return br_err_set(err, BR_EIO, "%s WAL segment %s/%s: %s", delete ? "delete" : "move aside",
                          w->dir, name, strerror(errno));
    }
    char msg[BR_ERR_MSG_SIZE];
    int fd = create_segment(&w->io, w->dir_fd, no, true, msg, sizeof(msg));
    if (fd < 0) {
        return br_err_set(err, BR_EIO, "%s", msg);
    }
    w->st.syncs++;
    close(fd);
    return 0;
}

/* Moves segment file no to "<name>.corrupt" for good (segments before a gap). */
static int move_aside(int dir_fd, const char *dir, uint32_t no, br_err *err)
{
    char name[16];
    char aside[32];
    seg_name(no, name, sizeof(name));
    snprintf(aside, sizeof(aside), "%s.corrupt", name);
    if (renameat(dir_fd, name, dir_fd, aside) != 0) {
        return br_err_set(err, BR_EIO, "move WAL segment %s/%s aside: %s", dir, name,
                          strerror(errno));
    }
    return 0;
}

/* Repairs the log as the top comment says. On return segs[0..*segs_n) are
 * the segments of the log with their sizes after repair. */
static int repair(br_wal *w, seg_entry *segs, size_t *segs_n, br_err *err)
{
    size_t n = *segs_n;
    scan_result res;
    int rc = scan_log(w->dir_fd, w->dir, segs, n, 0, NULL, &res, err);
    if (rc != 0) {
        return rc;
    }
    bool changed = false;
    if (res.start > 0) {
        log_gap(w->dir, "moved aside as .corrupt", segs, res.start, res.gap_bytes);
        for (size_t i = 0; i < res.start && rc == 0; i++) {
            rc = move_aside(w->dir_fd, w->dir, segs[i].no, err);
        }
        w->st.corrupt_records++;
        w->st.bytes_dropped += res.gap_bytes;
        changed = true;
    }
    if (rc == 0 && res.bad) {
        seg_entry *bad = &segs[res.bad_index];
        const char *action;
        if (res.bad_off >= SEG_HEADER_SIZE) {
            action = "segment truncated at the last good record";
            char name[16];
            seg_name(bad->no, name, sizeof(name));
            int fd = openat(w->dir_fd, name, O_WRONLY | O_CLOEXEC);
            if (fd < 0 || ftruncate(fd, (off_t)res.bad_off) != 0 || fdatasync(fd) != 0) {
                rc = br_err_set(err, BR_EIO, "truncate WAL segment %s/%s: %s", w->dir, name,
                                strerror(errno));
            }
            if (fd >= 0) {
                close(fd);
            }
            bad->size = res.bad_off;
        } else {
            action = res.torn ? "segment deleted and replaced by an empty one"
                              : "segment renamed .corrupt and replaced by an empty one";
            rc = replace_segment(w, bad->no, res.torn, err);
            bad->size = SEG_HEADER_SIZE;
        }
        for (size_t j = res.bad_index + 1; j < n && rc == 0; j++) {
            rc = replace_segment(w, segs[j].no, false, err);
            segs[j].size = SEG_HEADER_SIZE;
        }
        char full_action[160];
        snprintf(full_action, sizeof(full_action), "%s%s", action,
                 res.bad_index + 1 < n
                     ? "; later segments renamed .corrupt and replaced by empty ones"
                     : "");
        log_problem(w->dir, full_action, bad, n - res.bad_index - 1, &res);
        if (res.torn) {
            w->st.torn_tails++;
        } else {
            w->st.corrupt_records++;
        }
        w->st.bytes_dropped += res.dropped;
        changed = true;
    }
    if (rc == 0 && changed && fsync(w->dir_fd) != 0) {
        rc = br_err_set(err, BR_EIO, "fsync of the WAL directory %s: %s", w->dir, strerror(errno));
    }
    if (rc != 0) {
        return rc;
    }
    if (res.start > 0) {
        memmove(segs, segs + res.start, (n - res.start) * sizeof(*segs));
    }
    *segs_n = n - res.start;
    return 0;
}

static int check_options(const br_wal_options *in, br_wal_options *out, br_err *err)
{
    br_wal_options o = {0};
    if (in != NULL) {
        o = *in;
    }
    if (o.segment_size == 0) {
        o.segment_size = BR_WAL_DEFAULT_SEGMENT_SIZE;
    }
    if (o.fsync_interval_ms == 0) {
        o.fsync_interval_ms = BR_WAL_DEFAULT_INTERVAL_MS;
    }
    if (o.segment_size < BR_WAL_MIN_SEGMENT_SIZE || o.segment_size > BR_WAL_MAX_SEGMENT_SIZE) {
        return br_err_set(err, BR_EINVAL, "WAL segment size %u is outside %u..%u bytes",
                          o.segment_size, BR_WAL_MIN_SEGMENT_SIZE, BR_WAL_MAX_SEGMENT_SIZE);
    }
    if (o.fsync != BR_WAL_FSYNC_INTERVAL && o.fsync != BR_WAL_FSYNC_ALWAYS &&
        o.fsync != BR_WAL_FSYNC_NEVER) {
        return br_err_set(err, BR_EINVAL, "WAL fsync policy %d is unknown", (int)o.fsync);
    }
    if (o.fsync_interval_ms > 3600u * 1000u) {
        return br_err_set(err, BR_EINVAL, "WAL fsync interval %u ms is above one hour",
                          o.fsync_interval_ms);
    }
    *out = o;
    return 0;
}

static void wal_free(br_wal *w)
{
    w->magic = 0;
    if (w->fd >= 0) {
        close(w->fd);
    }
    if (w->dir_fd >= 0) {
        close(w->dir_fd); /* releases the flock */
    }
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->trunc_mu);
    pthread_cond_destroy(&w->io_done);
    pthread_cond_destroy(&w->stop_cond);
    br_free(w->pend.data);
    br_free(w->spare.data);
    br_free(w->dir);
    br_free(w);
}

int br_wal_open(const char *dir, const br_wal_options *opts, br_wal **out, br_err *err)
{
    *out = NULL;
    br_wal_options o;
    int rc = check_options(opts, &o, err);
    if (rc == 0) {
        rc = mkdir_p(dir, err);
    }
    if (rc != 0) {
        return rc;
    }
    br_wal *w = br_calloc(1, sizeof(*w));
    w->magic = WAL_MAGIC;
    w->dir = br_strdup(dir);
    w->opts = o;
    w->io.write = o.io && o.io->write ? o.io->write : sys_write;
    w->io.fdatasync = o.io && o.io->fdatasync ? o.io->fdatasync : sys_fdatasync;
    w->io.ctx = o.io ? o.io->ctx : NULL;
    uint32_t room = o.segment_size - SEG_HEADER_SIZE - REC_FRAME_SIZE;
    w->max_record = room < BR_WAL_MAX_RECORD ? room : BR_WAL_MAX_RECORD;
    w->fd = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->trunc_mu, NULL);
    pthread_cond_init(&w->io_done, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->stop_cond, &ca);
    pthread_condattr_destroy(&ca);

    rc = open_dir_fd(dir, &w->dir_fd, err);
    if (rc == BR_ENOTFOUND) {
        rc = br_err_set(err, BR_EIO, "open WAL directory %s: %s", dir, strerror(ENOENT));
    }
    if (rc == 0 && flock(w->dir_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK
                 ? br_err_set(err, BR_EBUSY, "WAL directory %s is already open", dir)
                 : br_err_set(err, BR_EIO, "lock WAL directory %s: %s", dir, strerror(errno));
    }
    seg_entry *segs = NULL;
    size_t n = 0;
    if (rc == 0) {
        rc = list_segments(w->dir_fd, dir, &segs, &n, err);
    }
    if (rc == 0) {
        rc = repair(w, segs, &n, err);
    }
    if (rc == 0) {
        uint32_t next = n > 0 ? segs[n - 1].no + 1 : 1;
        if (next > SEG_MAX_NUMBER) {
            rc = br_err_set(err, BR_EIO, "WAL segment numbers exhausted in %s", dir);
        } else {
            char msg[BR_ERR_MSG_SIZE];
            w->fd = create_segment(&w->io, w->dir_fd, next, true, msg, sizeof(msg));
            if (w->fd < 0) {
                rc = br_err_set(err, BR_EIO, "%s", msg);
            }
        }
        if (rc == 0) {
            w->cur_seg = next;
            w->seg_off = SEG_HEADER_SIZE;
            w->appended_lsn = w->written_lsn = w->synced_lsn = make_lsn(next, SEG_HEADER_SIZE);
            w->st.first_segment = n > 0 ? segs[0].no : next;
            w->st.last_segment = next;
            w->st.segments = n + 1;
            w->st.bytes = SEG_HEADER_SIZE;
            for (size_t i = 0; i < n; i++) {
                w->st.bytes += segs[i].size;
            }
            w->st.syncs++;
        }
    }
    br_free(segs);
    if (rc == 0 && o.fsync == BR_WAL_FSYNC_INTERVAL) {
        if (pthread_create(&w->flusher, NULL, flusher_main, w) != 0) {
            rc = br_err_set(err, BR_EIO, "start the WAL flush thread: %s", strerror(errno));
        } else {
            w->has_flusher = true;
        }
    }
    if (rc != 0) {
        wal_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

int br_wal_close(br_wal *w, br_err *err)
{
    if (w == NULL) {
        return 0;
    }
    assert(w->magic == WAL_MAGIC);
    if (w->has_flusher) {
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_signal(&w->stop_cond);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->flusher, NULL);
    }
    pthread_mutex_lock(&w->mu);
    int rc = flush_locked(w, w->appended_lsn, true, err);
    pthread_mutex_unlock(&w->mu);
    wal_free(w);
    return rc;
}
