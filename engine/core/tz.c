/*
 * tz.c — TZif reader, POSIX TZ rules and local-midnight search. See tz.h.
 *
 * TZif layout (RFC 8536), every integer big-endian:
 *   header, 44 bytes:
 *     0   magic "TZif"
 *     4   version: 0 (version 1), '2', '3' or '4'
 *     5   15 unused bytes
 *     20  six uint32 counts: isutcnt isstdcnt leapcnt timecnt typecnt charcnt
 *   data block:
 *     timecnt transition times, UTC seconds (int32 in the first block,
 *             int64 in the second), strictly ascending
 *     timecnt uint8 local time type of each transition (< typecnt)
 *     typecnt local time types, 6 bytes each: int32 utoff (seconds east
 *             of UTC), uint8 isdst (0/1), uint8 designation index (< charcnt)
 *     charcnt bytes of NUL-terminated designations ("CET\0CEST\0")
 *     leapcnt leap-second records (time + int32 correction)
 *     isstdcnt, isutcnt uint8 flags (each count is 0 or typecnt)
 *   version 2+: a second header and block with 64-bit times, then the
 *     footer "\n" <POSIX TZ string, possibly empty> "\n".
 *
 * A version 1 file is read from its only block. Later versions skip the
 * first block and read the 64-bit block and the footer. Checked: sizes
 * against the file length, 1 <= typecnt <= 256, charcnt >= 1, flag counts,
 * type indices, ascending times, utoff in [-89999, 93599], isdst 0/1;
 * leapcnt must be 0 (leap seconds are refused, BR_EUNSUPPORTED). A file
 * breaking any of these is BR_ECORRUPT.
 *
 * Offset at t (RFC 8536 section 3.2): before the first transition, type 0;
 * from a transition on, its type; from the last transition on (or always,
 * when there are none) the footer rule when the footer is not empty.
 *
 * Footer rule (POSIX TZ, with RFC 8536's extensions): std offset [dst
 * [offset] ,start[/time],end[/time]]. Names are 3+ letters or <[A-Za-z0-9+-]+>;
 * offsets are [+-]hh[:mm[:ss]] WEST of UTC (so "CET-1" is UTC+1), the DST
 * offset defaulting to one hour ahead of standard time. Dates are Jn (1-365,
 * February 29 never counted), n (0-365, counted) or Mm.w.d (day d, 0 =
 * Sunday, of week w, 5 = last, of month m); times are local wall clock in
 * the offset in force before the change, default 02:00, hours in
 * [-167, 167]. A DST name without a rule is refused (zic never writes one).
 *
 * Everything here is pure computation on an immutable br_tz, except the
 * file read in br_tz_load_dir; no global state besides reading $TZDIR.
 */
#include "tz.h"

#include "alloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY_S      86400
#define HEADER_LEN 44
#define MAX_TYPES  256
#define MAX_FOOTER 256
#define MIN_UTOFF  (-89999)
#define MAX_UTOFF  93599
/* Greater than any offset: local midnight lies within this of its UTC instant. */
#define OFFSET_SPAN 93600
#define MAX_YEAR    100000000LL
#define DEFAULT_DIR "/usr/share/zoneinfo"

typedef struct rule_date {
    char kind;      /* 'J': day 1-365 without Feb 29; 'D': day 0-365; 'M': month.week.day */
    int n;          /* J, D: the day; M: the month */
    int week;       /* M: 1-5, 5 = the last such weekday */
    int wday;       /* M: 0 = Sunday */
    int32_t time_s; /* local wall time of the change in seconds after 00:00 */
} rule_date;

typedef struct posix_rule {
    bool present; /* a non-empty footer */
    bool has_dst;
    int32_t std_off; /* seconds east of UTC */
    int32_t dst_off;
    rule_date start; /* to DST, in standard time */
    rule_date end;   /* back to standard time, in DST */
} posix_rule;

struct br_tz {
    char *name;
    size_t n_trans;
    int64_t *trans;      /* UTC seconds, strictly ascending */
    uint8_t *trans_type; /* index into type_off */
    size_t n_types;      /* >= 1 */
    int32_t *type_off;   /* seconds east of UTC */
    posix_rule rule;
};

/* ------------------------------------------------------------ calendar math */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if (a % b != 0 && ((a < 0) != (b < 0))) {
        q--;
    }
    return q;
}

static bool leap_year(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar: count
 * in 400-year cycles of 146097 days, with years starting in March so that
 * the leap day is the last day of a year. */
static int64_t days_from_date(int64_t y, int m, int d)
{
    int64_t yy = m <= 2 ? y - 1 : y;
    int64_t cycle = floor_div(yy, 400);
    int64_t year_of_cycle = yy - cycle * 400;    /* 0..399 */
    int64_t march_month = m > 2 ? m - 3 : m + 9; /* 0 = March */
    int64_t day_of_year = (153 * march_month + 2) / 5 + d - 1;
    int64_t day_of_cycle =
        year_of_cycle * 365 + year_of_cycle / 4 - year_of_cycle / 100 + day_of_year;
    /* 719468 days from 0000-03-01 to 1970-01-01. */
    return cycle * 146097 + day_of_cycle - 719468;
}

/* The Gregorian year containing day z (days since 1970-01-01). */
static int64_t year_of_day(int64_t z)
{
    int64_t shifted = z + 719468;
    int64_t cycle = floor_div(shifted, 146097);
    int64_t day_of_cycle = shifted - cycle * 146097;
    int64_t year_of_cycle =
        (day_of_cycle - day_of_cycle / 1460 + day_of_cycle / 36524 - day_of_cycle / 146096) / 365;
    int64_t day_of_year =
        day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
    int64_t march_month = (5 * day_of_year + 2) / 153;
    int64_t y = year_of_cycle + cycle * 400;
    return march_month >= 10 ? y + 1 : y; /* January and February */
}

/* ------------------------------------------------------------ POSIX rule */

/* Day (since the epoch) on which date rule r falls in year y. */
static int64_t rule_day(const rule_date *r, int64_t y)
{
    int64_t jan1 = days_from_date(y, 1, 1);
    if (r->kind == 'J') {
        return jan1 + r->n - 1 + (leap_year(y) && r->n >= 60 ? 1 : 0);
    }
    if (r->kind == 'D') {
        return jan1 + r->n;
    }
    int64_t first = days_from_date(y, r->n, 1);
    /* 1970-01-01 was a Thursday (4). */
    int64_t first_wday = first + 4 - 7 * floor_div(first + 4, 7);
    int64_t day = first + (r->wday - first_wday + 7) % 7 + 7 * (r->week - 1);
    int64_t after = first + month_days(y, r->n);
    while (day >= after) {
        day -= 7;
    }
    return day;
}

typedef struct change {
    int64_t t; /* UTC seconds */
    bool to_dst;
} change;

/* Year y's two changes in time order. */
static void year_changes(const posix_rule *r, int64_t y, change out[2])
{
    int64_t s = rule_day(&r->start, y) * DAY_S + r->start.time_s - r->std_off;
    int64_t e = rule_day(&r->end, y) * DAY_S + r->end.time_s - r->dst_off;
    if (s <= e) {
        out[0] = (change){s, true};
        out[1] = (change){e, false};
    } else {
        out[0] = (change){e, false};
        out[1] = (change){s, true};
    }
}

static int32_t rule_offset(const posix_rule *r, int64_t t)
{
    if (!r->has_dst) {
        return r->std_off;
    }
    /* The latest change at or before t; a later year's change wins a tie
     * (DST all year: one year's end is the next one's start). Changes can
     * be a week off their year (hours up to 167), hence the margin. */
    int64_t y = year_of_day(floor_div(t, DAY_S));
    bool found = false;
    bool dst = false;
    int64_t best = 0;
    for (int64_t yy = y - 2; yy <= y + 1; yy++) {
        change ch[2];
        year_changes(r, yy, ch);
        for (int k = 0; k < 2; k++) {
            if (ch[k].t <= t && (!found || ch[k].t >= best)) {
                found = true;
                best = ch[k].t;
                dst = ch[k].to_dst;
            }
        }
    }
    return dst ? r->dst_off : r->std_off;
}

/* The first change strictly after t, or INT64_MAX. */
static int64_t rule_next(const posix_rule *r, int64_t t)
{
    if (!r->has_dst) {
        return INT64_MAX;
    }
    int64_t y = year_of_day(floor_div(t, DAY_S));
    int64_t best = INT64_MAX;
    for (int64_t yy = y - 1; yy <= y + 2; yy++) {
        change ch[2];
        year_changes(r, yy, ch);
        for (int k = 0; k < 2; k++) {
            if (ch[k].t > t && ch[k].t < best) {
                best = ch[k].t;
            }
        }
    }
    return best;
}

typedef struct pcur {
    const char *s;
    size_t n;
    size_t i;
} pcur;

static char peek(const pcur *c)
{
    return c->i < c->n ? c->s[c->i] : '\0';
}

/* Up to max_digits decimal digits (at least one). */
static bool p_number(pcur *c, int max_digits, int *out)
{
    int v = 0;
    int k = 0;
    while (k < max_digits && isdigit((unsigned char)peek(c))) {
        v = v * 10 + (peek(c) - '0');
        c->i++;
        k++;
    }
    *out = v;
    return k > 0;
}

static bool p_name(pcur *c)
{
    size_t from;
    if (peek(c) == '<') {
        c->i++;
        from = c->i;
        while (isalnum((unsigned char)peek(c)) || peek(c) == '+' || peek(c) == '-') {
            c->i++;
        }
        if (c->i - from < 3 || peek(c) != '>') {
            return false;
        }
        c->i++;
        return true;
    }
    from = c->i;
    while (isalpha((unsigned char)peek(c))) {
        c->i++;
    }
    return c->i - from >= 3;
}

/* [+-]hh[:mm[:ss]] with hh <= max_hours, as signed seconds. */
static bool p_hms(pcur *c, int max_hours, int32_t *out)
{
    int sign = 1;
    if (peek(c) == '+' || peek(c) == '-') {
        sign = peek(c) == '-' ? -1 : 1;
        c->i++;
    }
    int h = 0;
    int m = 0;
    int s = 0;
    if (!p_number(c, 3, &h) || h > max_hours) {
        return false;
    }
    if (peek(c) == ':') {
        c->i++;
        if (!p_number(c, 2, &m) || m > 59) {
            return false;
        }
        if (peek(c) == ':') {
            c->i++;
            if (!p_number(c, 2, &s) || s > 59) {
                return false;
            }
        }
    }
    *out = (int32_t)(sign * (h * 3600 + m * 60 + s));
    return true;
}

static bool p_date(pcur *c, rule_date *d)
{
    memset(d, 0, sizeof(*d));
    if (peek(c) == 'J') {
        c->i++;
        d->kind = 'J';
        if (!p_number(c, 3, &d->n) || d->n < 1 || d->n > 365) {
            return false;
        }
    } else if (peek(c) == 'M') {
        c->i++;
        d->kind = 'M';
        if (!p_number(c, 2, &d->n) || d->n < 1 || d->n > 12 || peek(c) != '.') {
            return false;
        }
        c->i++;
        if (!p_number(c, 1, &d->week) || d->week < 1 || d->week > 5 || peek(c) != '.') {
            return false;
        }
        c->i++;
        if (!p_number(c, 1, &d->wday) || d->wday > 6) {
            return false;
        }
    } else {
        d->kind = 'D';
        if (!p_number(c, 3, &d->n) || d->n > 365) {
            return false;
        }
    }
    d->time_s = 2 * 3600;
    if (peek(c) == '/') {
        c->i++;
        return p_hms(c, 167, &d->time_s);
    }
    return true;
}

static bool offset_ok(int32_t off)
{
    return off >= MIN_UTOFF && off <= MAX_UTOFF;
}

/* Parses a non-empty footer string of n bytes. */
static bool parse_rule(const char *s, size_t n, posix_rule *r)
{
    pcur c = {s, n, 0};
    int32_t west = 0;
    memset(r, 0, sizeof(*r));
    r->present = true;
    if (!p_name(&c) || !p_hms(&c, 24, &west)) {
        return false;
    }
    r->std_off = -west;
    r->dst_off = r->std_off;
    if (c.i == n) {
        return true;
    }
    if (!p_name(&c)) {
        return false;
    }
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    char ch = peek(&c);
    if (ch == '+' || ch == '-' || isdigit((unsigned char)ch)) {
        if (!p_hms(&c, 24, &west)) {
            return false;
        }
        r->dst_off = -west;
    }
    if (peek(&c) != ',') {
        return false;
    }
    c.i++;
    if (!p_date(&c, &r->start) || peek(&c) != ',') {
        return false;
    }
    c.i++;
    if (!p_date(&c, &r->end) || c.i != n) {
        return false;
    }
    return offset_ok(r->std_off) && offset_ok(r->dst_off);
}

/* ------------------------------------------------------------ TZif */

typedef struct tzif_counts {
    uint32_t isut;
    uint32_t isstd;
    uint32_t leap;
    uint32_t time;
    uint32_t type;
    uint32_t chars;
} tzif_counts;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t be64(const unsigned char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static int corrupt(br_err *err, const char *name, const char *what)
{
    return br_err_set(err, BR_ECORRUPT, "time zone \"%s\": invalid TZif data: %s", name, what);
}

static int read_header(const unsigned char *p, size_t avail, const char *name, tzif_counts *c,
                       br_err *err)
{
    if (avail < HEADER_LEN || memcmp(p, "TZif", 4) != 0) {
        return corrupt(err, name, "no TZif header");
    }
    c->isut = be32(p + 20);
    c->isstd = be32(p + 24);
    c->leap = be32(p + 28);
    c->time = be32(p + 32);
    c->type = be32(p + 36);
    c->chars = be32(p + 40);
    return 0;
}

static uint64_t block_len(const tzif_counts *c, unsigned time_size)
{
    return (uint64_t)c->time * time_size + c->time + (uint64_t)c->type * 6 + c->chars +
           (uint64_t)c->leap * (time_size + 4) + c->isstd + c->isut;
}

/* Reads one data block of avail bytes or more into tz. */
static int read_block(const unsigned char *p, size_t avail, const tzif_counts *c,
                      unsigned time_size, br_tz *tz, br_err *err)
{
    const char *name = tz->name;
    if (block_len(c, time_size) > avail) {
        return corrupt(err, name, "data block runs past the end of the file");
    }
    if (c->type < 1 || c->type > MAX_TYPES || c->chars < 1 ||
        (c->isstd != 0 && c->isstd != c->type) || (c->isut != 0 && c->isut != c->type)) {
        return corrupt(err, name, "inconsistent counts in the header");
    }
    if (c->leap != 0) {
        return br_err_set(err, BR_EUNSUPPORTED,
                          "time zone \"%s\": leap-second zones are not supported", name);
    }
    tz->n_trans = c->time;
    tz->n_types = c->type;
    tz->trans = br_malloc(sizeof(int64_t) * (c->time + 1));
    tz->trans_type = br_malloc(c->time + 1);
    tz->type_off = br_malloc(sizeof(int32_t) * c->type);
    for (uint32_t i = 0; i < c->time; i++) {
        const unsigned char *q = p + (size_t)i * time_size;
        tz->trans[i] = time_size == 8 ? (int64_t)be64(q) : (int64_t)(int32_t)be32(q);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1]) {
            return corrupt(err, name, "transition times are not ascending");
        }
    }
    p += (size_t)c->time * time_size;
    for (uint32_t i = 0; i < c->time; i++) {
        if (p[i] >= c->type) {
            return corrupt(err, name, "transition refers to a missing time type");
        }
        tz->trans_type[i] = p[i];
    }
    p += c->time;
    for (uint32_t i = 0; i < c->type; i++) {
        const unsigned char *q = p + (size_t)i * 6;
        int32_t off = (int32_t)be32(q);
        if (!offset_ok(off) || q[4] > 1 || q[5] >= c->chars) {
            return corrupt(err, name, "time type out of range");
        }
        tz->type_off[i] = off;
    }
    return 0;
}

static br_tz *tz_new(const char *name)
{
    br_tz *tz = br_calloc(1, sizeof(*tz));
    tz->name = br_strdup(name);
    return tz;
}

int br_tz_parse(const char *name, const unsigned char *data, size_t len, br_tz **out, br_err *err)
{
    *out = NULL;
    tzif_counts c;
    int rc = read_header(data, len, name, &c, err);
    if (rc != 0) {
        return rc;
    }
    unsigned char version = data[4];
    if (version != 0 && (version < '2' || version > '9')) {
        return corrupt(err, name, "unknown version");
    }
    br_tz *tz = tz_new(name);
    size_t off = HEADER_LEN;
    if (version == 0) {
        rc = read_block(data + off, len - off, &c, 4, tz, err);
    } else {
        uint64_t v1 = block_len(&c, 4);
        if (v1 > len - off) {
            rc = corrupt(err, name, "version 1 block runs past the end of the file");
        } else {
            off += (size_t)v1;
            rc = read_header(data + off, len - off, name, &c, err);
        }
        if (rc == 0) {
            off += HEADER_LEN;
            rc = read_block(data + off, len - off, &c, 8, tz, err);
        }
        if (rc == 0) {
            off += (size_t)block_len(&c, 8);
            const unsigned char *f = data + off;
            size_t avail = len - off;
            const unsigned char *nl =
                avail > 1 ? memchr(f + 1, '\n', avail - 1 < MAX_FOOTER ? avail - 1 : MAX_FOOTER)
                          : NULL;
            if (avail < 2 || f[0] != '\n' || nl == NULL) {
                rc = corrupt(err, name, "missing or overlong footer");
            } else {
                size_t n = (size_t)(nl - f) - 1;
                if (n > 0 && (memchr(f + 1, '\0', n) != NULL ||
                              !parse_rule((const char *)f + 1, n, &tz->rule))) {
                    rc = br_err_set(err, BR_ECORRUPT,
                                    "time zone \"%s\": unsupported footer rule \"%.*s\"", name,
                                    (int)(n < 64 ? n : 64), (const char *)f + 1);
                }
            }
        }
    }
    if (rc != 0) {
        br_tz_free(tz);
        return rc;
    }
    *out = tz;
    return 0;
}

/* ------------------------------------------------------------ names, files */

/* "UTC", "Z", or +HH, +HHMM, +HH:MM (hours <= 14), as seconds east. */
static bool fixed_offset(const char *name, int32_t *out)
{
    if (strcmp(name, "UTC") == 0 || strcmp(name, "utc") == 0 || strcmp(name, "Z") == 0) {
        *out = 0;
        return true;
    }
    if (name[0] != '+' && name[0] != '-') {
        return false;
    }
    int digits[4];
    int nd = 0;
    const char *q = name + 1;
    for (; *q != '\0' && nd < 4; q++) {
        if (*q == ':' && nd == 2) {
            continue;
        }
        if (!isdigit((unsigned char)*q)) {
            return false;
        }
        digits[nd++] = *q - '0';
    }
    if (*q != '\0' || (nd != 2 && nd != 4)) {
        return false;
    }
    int hours = digits[0] * 10 + digits[1];
    int minutes = nd == 4 ? digits[2] * 10 + digits[3] : 0;
    if (hours > 14 || minutes > 59) {
        return false;
    }
    int32_t off = (int32_t)(hours * 3600 + minutes * 60);
    *out = name[0] == '-' ? -off : off;
    return true;
}

/* A relative path of [A-Za-z0-9_+-.] components, none empty or starting
 * with '.', so it cannot leave the zoneinfo directory. */
static bool valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > BR_TZ_MAX_NAME) {
        return false;
    }
    bool at_start = true;
    for (const char *q = name; *q != '\0'; q++) {
        unsigned char c = (unsigned char)*q;
        if (c == '/') {
            if (at_start) {
                return false;
            }
            at_start = true;
            continue;
        }
        if (at_start && c == '.') {
            return false;
        }
        if (!(isalnum(c) || c == '_' || c == '+' || c == '-' || c == '.')) {
            return false;
        }
        at_start = false;
    }
    return !at_start;
}

static int read_zone_file(const char *path, const char *name, unsigned char **data, size_t *len,
                          br_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR || e == ELOOP) {
            return br_err_set(err, BR_ENOTFOUND, "unknown time zone \"%s\" (no file %s)", name,
                              path);
        }
        return br_err_set(err, BR_EIO, "time zone \"%s\": open %s: %s", name, path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return br_err_set(err, BR_ENOTFOUND, "unknown time zone \"%s\" (%s is not a zone file)",
                          name, path);
    }
    if (st.st_size > BR_TZ_MAX_FILE) {
        close(fd);
        return br_err_set(err, BR_ETOOLARGE,
                          "time zone \"%s\": %s is %lld bytes, more than the %d allowed", name,
                          path, (long long)st.st_size, BR_TZ_MAX_FILE);
    }
    size_t cap = (size_t)st.st_size;
    unsigned char *buf = br_malloc(cap + 1);
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            int e = errno;
            close(fd);
            br_free(buf);
            return br_err_set(err, BR_EIO, "time zone \"%s\": read %s: %s", name, path,
                              strerror(e));
        }
        if (r == 0) {
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    *data = buf;
    *len = got;
    return 0;
}

int br_tz_load_dir(const char *dir, const char *name, br_tz **out, br_err *err)
{
    *out = NULL;
    if (name == NULL) {
        return br_err_set(err, BR_EINVAL, "time zone name missing");
    }
    int32_t fixed = 0;
    if (fixed_offset(name, &fixed)) {
        br_tz *tz = tz_new(name);
        tz->n_types = 1;
        tz->type_off = br_malloc(sizeof(int32_t));
        tz->type_off[0] = fixed;
        *out = tz;
        return 0;
    }
    if (!valid_name(name)) {
        return br_err_set(err, BR_EINVAL,
                          "invalid time zone name \"%.64s\": want UTC, an offset like +02:00 or "
                          "an IANA name like Europe/Paris",
                          name);
    }
    char path[4096];
    int w = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (w < 0 || (size_t)w >= sizeof(path)) {
        return br_err_set(err, BR_EINVAL, "time zone \"%s\": zoneinfo path too long", name);
    }
    unsigned char *data = NULL;
    size_t len = 0;
    int rc = read_zone_file(path, name, &data, &len, err);
    if (rc != 0) {
        return rc;
    }
    rc = br_tz_parse(name, data, len, out, err);
    br_free(data);
    return rc;
}

int br_tz_load(const char *name, br_tz **out, br_err *err)
{
    const char *dir = getenv("TZDIR");
    if (dir == NULL || dir[0] == '\0') {
        dir = DEFAULT_DIR;
    }
    return br_tz_load_dir(dir, name, out, err);
}

void br_tz_free(br_tz *tz)
{
    if (tz == NULL) {
        return;
    }
    br_free(tz->name);
    br_free(tz->trans);
    br_free(tz->trans_type);
    br_free(tz->type_off);
    br_free(tz);
}

const char *br_tz_name(const br_tz *tz)
{
    return tz->name;
}

/* ------------------------------------------------------------ queries */

/* Index of the last transition at or before t, or -1. */
static ptrdiff_t last_transition(const br_tz *tz, int64_t t)
{
    size_t lo = 0;
    size_t hi = tz->n_trans;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return (ptrdiff_t)lo - 1;
}

static int32_t offset_s(const br_tz *tz, int64_t t)
{
    ptrdiff_t i = last_transition(tz, t);
    if (tz->rule.present && (size_t)(i + 1) == tz->n_trans) {
        return rule_offset(&tz->rule, t);
    }
    if (i < 0) {
        return tz->type_off[0];
    }
    return tz->type_off[tz->trans_type[i]];
}

/* The first instant after t at which the offset may change, or INT64_MAX. */
static int64_t next_change(const br_tz *tz, int64_t t)
{
    ptrdiff_t i = last_transition(tz, t);
    if ((size_t)(i + 1) < tz->n_trans) {
        return tz->trans[i + 1];
    }
    return tz->rule.present ? rule_next(&tz->rule, t) : INT64_MAX;
}

int32_t br_tz_offset_at(const br_tz *tz, int64_t utc_ms)
{
    return offset_s(tz, floor_div(utc_ms, 1000));
}

int64_t br_tz_local_midnight_to_utc(const br_tz *tz, int64_t y, int m, int d)
{
    y = y < -MAX_YEAR ? -MAX_YEAR : y > MAX_YEAR ? MAX_YEAR : y;
    m = m < 1 ? 1 : m > 12 ? 12 : m;
    d = d < 1 ? 1 : d > 31 ? 31 : d;
    int64_t local = days_from_date(y, m, d) * DAY_S;
    /* Walk the spans of constant offset from well before the answer: the
     * first span in which local time reaches `local` holds it, at
     * local - offset, or at the span's start when the clock jumped over
     * it. Local time before OFFSET_SPAN ahead is below `local`. */
    int64_t s = local - OFFSET_SPAN;
    for (int i = 0; i < 64; i++) {
        int64_t u = local - offset_s(tz, s);
        int64_t e = next_change(tz, s);
        if (u < s) {
            return s * 1000;
        }
        if (u < e) {
            return u * 1000;
        }
        s = e;
    }
    /* More than 64 changes in 52 hours: not a real zone; fall back. */
    return (local - offset_s(tz, local)) * 1000;
}
