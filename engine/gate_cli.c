/*
 * gate_cli.c — `burnrate gate`. See gate_cli.h for the flags and exit codes.
 *
 * Flow: parse flags, build <URL>/api/v1/gate?service=...&min_remaining=...
 * (values escaped by libcurl), read the bearer token file if given, GET with
 * one overall timeout (connect included), then br_gate_interpret() decides
 * the exit code from the status and the JSON body, and the result is
 * printed as text or JSON.
 *
 * The server validates the thresholds (one parser, one set of messages);
 * this side checks only what it needs itself (URL, timeout, output, the
 * service/slo choice) and maps a 400 answer to exit code 2 with the
 * server's message.
 */
#include "gate_cli.h"

#include "engine/core/alloc.h"
#include "engine/core/buf.h"
#include "engine/core/clock.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKEN_BYTES  4096
#define MAX_REASON_BYTES 1024
#define DEFAULT_TIMEOUT  (10 * 1000)
#define MAX_GATE_TAGS    12

typedef struct gate_flags {
    const char *url;
    const char *service;
    const char *slo;
    const char *min_remaining;
    const char *max_burn_rate;
    const char *allow_states;
    const char *on_no_data;
    const char *max_data_age;
    const char *token_file;
    int64_t timeout_ms;
    bool json;
    /* --annotate: the server records the decision as a `gate` annotation. */
    bool annotate;
    const char *title;
    const char *pipeline;
    const char *commit;
    const char *tags[MAX_GATE_TAGS];
    size_t n_tags;
} gate_flags;

/* ------------------------------------------------------------------------
 * Interpreting the answer.
 * ---------------------------------------------------------------------- */

/* The first bytes of a body, printable, for messages. */
static void snippet(const char *body, size_t len, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < size && i < 120; i++) {
        unsigned char c = (unsigned char)body[i];
        out[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    if (len > 120 && n + 4 < size) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static void set_decision(br_gate_answer *a, int code, const char *decision)
{
    a->exit_code = code;
    snprintf(a->decision, sizeof(a->decision), "%s", decision);
}

void br_gate_interpret(long http_status, const char *body, size_t len, br_gate_answer *out)
{
    memset(out, 0, sizeof(*out));
    out->http_status = http_status;
    set_decision(out, BR_GATE_EXIT_UNDECIDED, "error");
    cJSON *j = body != NULL ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *allow = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, "allow") : NULL;
    const char *decision = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "decision"));
    const char *error = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "error"));
    const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(j, "reasons");
    const cJSON *slos = cJSON_GetObjectItemCaseSensitive(j, "slos");
    if (cJSON_IsArray(slos)) {
        out->n_slos = (size_t)cJSON_GetArraySize(slos);
    }
    if (cJSON_IsArray(reasons)) {
        size_t n = (size_t)cJSON_GetArraySize(reasons);
        if (n > BR_GATE_MAX_REASONS) {
            n = BR_GATE_MAX_REASONS;
        }
        out->reasons = br_calloc(n + 1, sizeof(char *));
        const cJSON *r = reasons->child;
        for (size_t i = 0; r != NULL && i < n; r = r->next, i++) {
            if (cJSON_IsString(r)) {
                out->reasons[out->n_reasons++] =
                    br_strndup(r->valuestring, strnlen(r->valuestring, MAX_REASON_BYTES));
            }
        }
    }
    char snip[160];
    snippet(body != NULL ? body : "", body != NULL ? len : 0, snip, sizeof(snip));
    const char *detail = error != NULL ? error : snip;

    if (http_status == 200 || http_status == 409) {
        if (!cJSON_IsObject(j)) {
            snprintf(out->message, sizeof(out->message),
                     "bad answer: HTTP %ld but the body is not the gate's JSON: \"%s\"",
                     http_status, snip);
        } else if (http_status == 200 && cJSON_IsTrue(allow)) {
            set_decision(out, BR_GATE_EXIT_ALLOW, "allow");
        } else if (http_status == 409 && cJSON_IsFalse(allow)) {
            if (decision != NULL && strcmp(decision, "no_data") == 0) {
                set_decision(out, BR_GATE_EXIT_UNDECIDED, "no_data");
                snprintf(out->message, sizeof(out->message),
                         "the data needed to decide is missing or stale");
            } else {
                set_decision(out, BR_GATE_EXIT_DENY, "deny");
            }
        } else {
            snprintf(out->message, sizeof(out->message),
                     "bad answer: HTTP %ld with \"allow\" %s; the server contradicts itself",
                     http_status,
                     allow == NULL         ? "missing"
                     : cJSON_IsTrue(allow) ? "true"
                                           : "not true");
        }
    } else if (http_status == 503) {
        set_decision(out, BR_GATE_EXIT_UNDECIDED, "no_data");
        snprintf(out->message, sizeof(out->message), "the server cannot decide yet (HTTP 503): %s",
                 detail);
    } else if (http_status >= 500) {
        snprintf(out->message, sizeof(out->message), "server error (HTTP %ld): %s", http_status,
                 detail);
    } else if (http_status >= 400) {
        snprintf(out->message, sizeof(out->message),
                 "the server refused the request (HTTP %ld): %s", http_status, detail);
    } else {
        snprintf(out->message, sizeof(out->message), "unexpected HTTP status %ld: %s", http_status,
                 detail);
    }
    /* Error answers repeat their message as the only reason: print it once. */
    if (http_status != 200 && http_status != 409 && error != NULL) {
        size_t kept = 0;
        for (size_t i = 0; i < out->n_reasons; i++) {
            if (strncmp(out->reasons[i], error, MAX_REASON_BYTES) == 0) {
                br_free(out->reasons[i]);
            } else {
                out->reasons[kept++] = out->reasons[i];
            }
        }
        out->n_reasons = kept;
    }
    cJSON_Delete(j);
}

void br_gate_answer_free(br_gate_answer *a)
{
    for (size_t i = 0; i < a->n_reasons; i++) {
        br_free(a->reasons[i]);
    }
    br_free(a->reasons);
    a->reasons = NULL;
    a->n_reasons = 0;
}

/* ------------------------------------------------------------------------
 * Flags.
 * ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "Usage: burnrate gate --url URL (--service NAME | --slo ID) [flags]\n"
               "\n"
               "Asks burnrate's error-budget policy whether a deploy may go ahead.\n"
               "Exit codes: 0 allow, 1 deny (reasons printed), 2 cannot decide\n"
               "(unreachable, timeout, server error, no or stale data, bad answer, usage).\n"
               "\n"
               "  --url URL               burnrate's base URL, e.g. http://burnrate:9099\n"
               "  --service NAME          check every SLO of this service\n"
               "  --slo ID                check one SLO (instance id or definition id)\n"
               "  --min-remaining R       deny below this budget remaining (25%% or 0.25)\n"
               "  --max-burn-rate N       deny when the 1h burn rate is above N\n"
               "  --allow-states A,B      policy states that may deploy (default: the policy's)\n"
               "  --on-no-data deny|allow what an SLO without traffic means (default deny)\n"
               "  --max-data-age D        deny when the newest sample is older (default 10m)\n"
               "  --timeout D             whole request, connect included (default 10s)\n"
               "  --token-file F          bearer token for burnrate's read routes\n"
               "  --output text|json      text (default) or one JSON object\n"
               "  --annotate              record the decision as a `gate` annotation\n"
               "  --title T               the annotation's title (default: the decision)\n"
               "  --tag T                 an annotation tag (repeatable)\n"
               "  --pipeline P            pipeline name or URL, recorded with the decision\n"
               "  --commit C              commit being deployed, recorded with the decision\n");
}

/* "10s", "1m30s" or plain seconds ("2.5"). */
static int parse_timeout(const char *s, int64_t *out)
{
    if (br_parse_duration(s, out) == 0) {
        return *out > 0 ? 0 : -1;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v <= 0 || v > 86400) {
        return -1;
    }
    *out = (int64_t)(v * 1000.0);
    return *out > 0 ? 0 : -1;
}

/* Returns 0, or 2 after printing a usage error. */
static int parse_flags(int argc, char **argv, gate_flags *f, FILE *errout, bool *help)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},
        {"service", required_argument, NULL, 's'},
        {"slo", required_argument, NULL, 'o'},
        {"min-remaining", required_argument, NULL, 'm'},
        {"max-burn-rate", required_argument, NULL, 'b'},
        {"allow-states", required_argument, NULL, 'a'},
        {"on-no-data", required_argument, NULL, 'n'},
        {"max-data-age", required_argument, NULL, 'g'},
        {"timeout", required_argument, NULL, 't'},
        {"token-file", required_argument, NULL, 'k'},
        {"output", required_argument, NULL, 'O'},
        {"annotate", no_argument, NULL, 'A'},
        {"title", required_argument, NULL, 'T'},
        {"tag", required_argument, NULL, 'G'},
        {"pipeline", required_argument, NULL, 'P'},
        {"commit", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(f, 0, sizeof(*f));
    f->timeout_ms = DEFAULT_TIMEOUT;
    *help = false;
    optind = 0; /* full re-initialisation: the function may run more than once */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            f->url = optarg;
            break;
        case 's':
            f->service = optarg;
            break;
        case 'o':
            f->slo = optarg;
            break;
        case 'm':
            f->min_remaining = optarg;
            break;
        case 'b':
            f->max_burn_rate = optarg;
            break;
        case 'a':
            f->allow_states = optarg;
            break;
        case 'n':
            if (strcmp(optarg, "deny") != 0 && strcmp(optarg, "allow") != 0) {
                fprintf(errout, "burnrate gate: --on-no-data must be deny or allow, not \"%s\"\n",
                        optarg);
                return BR_GATE_EXIT_UNDECIDED;
            }
            f->on_no_data = optarg;
            break;
        case 'g':
            f->max_data_age = optarg;
            break;
        case 't':
            if (parse_timeout(optarg, &f->timeout_ms) != 0) {
                fprintf(errout,
                        "burnrate gate: --timeout \"%s\" is not a positive duration (10s, 1m, "
                        "2.5)\n",
                        optarg);
                return BR_GATE_EXIT_UNDECIDED;
            }
            break;
        case 'k':
            f->token_file = optarg;
            break;
        case 'O':
            if (strcmp(optarg, "json") == 0) {
                f->json = true;
            } else if (strcmp(optarg, "text") != 0) {
                fprintf(errout, "burnrate gate: --output must be text or json, not \"%s\"\n",
                        optarg);
                return BR_GATE_EXIT_UNDECIDED;
            }
            break;
        case 'A':
            f->annotate = true;
            break;
        case 'T':
            f->title = optarg;
            break;
        case 'P':
            f->pipeline = optarg;
            break;
        case 'C':
            f->commit = optarg;
            break;
        case 'G':
            if (f->n_tags == MAX_GATE_TAGS) {
                fprintf(errout, "burnrate gate: at most %d --tag flags\n", MAX_GATE_TAGS);
                return BR_GATE_EXIT_UNDECIDED;
            }
            f->tags[f->n_tags++] = optarg;
            break;
        case 'h':
            *help = true;
            return 0;
        case ':':
            fprintf(errout, "burnrate gate: flag %s needs a value\n", argv[optind - 1]);
            return BR_GATE_EXIT_UNDECIDED;
        default:
            fprintf(errout, "burnrate gate: unknown flag \"%s\"\n", argv[optind - 1]);
            usage(errout);
            return BR_GATE_EXIT_UNDECIDED;
        }
    }
    if (optind < argc) {
        fprintf(errout, "burnrate gate: unexpected argument \"%s\"\n", argv[optind]);
        return BR_GATE_EXIT_UNDECIDED;
    }
    if (f->url == NULL) {
        fprintf(errout, "burnrate gate: --url is required (burnrate's base URL)\n");
        return BR_GATE_EXIT_UNDECIDED;
    }
    if (strncmp(f->url, "http://", 7) != 0 && strncmp(f->url, "https://", 8) != 0) {
        fprintf(errout, "burnrate gate: --url \"%s\" must start with http:// or https://\n",
                f->url);
        return BR_GATE_EXIT_UNDECIDED;
    }
    if ((f->service == NULL) == (f->slo == NULL)) {
        fprintf(errout, "burnrate gate: give exactly one of --service and --slo\n");
        return BR_GATE_EXIT_UNDECIDED;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * The request.
 * ---------------------------------------------------------------------- */

static void add_query(br_buf *url, CURL *c, bool *first, const char *name, const char *value)
{
    if (value == NULL) {
        return;
    }
    char *esc = curl_easy_escape(c, value, 0);
    br_buf_printf(url, "%c%s=%s", *first ? '?' : '&', name, esc ? esc : "");
    curl_free(esc);
    *first = false;
}

static void build_url(br_buf *url, CURL *c, const gate_flags *f)
{
    size_t len = strlen(f->url);
    while (len > 0 && f->url[len - 1] == '/') {
        len--;
    }
    br_buf_append(url, f->url, len);
    static const char path[] = "/api/v1/gate";
    size_t pl = sizeof(path) - 1;
    if (len < pl || strncmp(f->url + len - pl, path, pl) != 0) {
        br_buf_puts(url, path);
    }
    bool first = true;
    add_query(url, c, &first, "service", f->service);
    add_query(url, c, &first, "slo", f->slo);
    add_query(url, c, &first, "min_remaining", f->min_remaining);
    add_query(url, c, &first, "max_burn_rate", f->max_burn_rate);
    add_query(url, c, &first, "allow_states", f->allow_states);
    add_query(url, c, &first, "on_no_data", f->on_no_data);
    add_query(url, c, &first, "max_data_age", f->max_data_age);
    if (f->annotate) {
        add_query(url, c, &first, "record", "true");
        add_query(url, c, &first, "title", f->title);
        add_query(url, c, &first, "pipeline", f->pipeline);
        add_query(url, c, &first, "commit", f->commit);
        for (size_t i = 0; i < f->n_tags; i++) {
            add_query(url, c, &first, "tag", f->tags[i]);
        }
    }
}

/* Reads the token (trimmed) into out; returns 0 or -1 with msg filled. */
static int read_token(const char *path, char *out, size_t size, char *msg, size_t msg_size)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(msg, msg_size, "cannot read --token-file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(out, 1, size - 1, fp);
    bool more = fgetc(fp) != EOF;
    fclose(fp);
    if (more) {
        snprintf(msg, msg_size, "--token-file %s is larger than %d bytes", path,
                 MAX_TOKEN_BYTES - 1);
        return -1;
    }
    out[n] = '\0';
    while (n > 0 &&
           (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ' || out[n - 1] == '\t')) {
        out[--n] = '\0';
    }
    if (n == 0 || strpbrk(out, "\r\n") != NULL) {
        snprintf(msg, msg_size, "--token-file %s must hold one non-empty line", path);
        return -1;
    }
    return 0;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    br_buf *b = ud;
    size_t add = size * n;
    if (br_buf_append(b, p, add) != 0) {
        return 0; /* over the cap: libcurl aborts with CURLE_WRITE_ERROR */
    }
    return add;
}

/* ------------------------------------------------------------------------
 * Output.
 * ---------------------------------------------------------------------- */

static void print_text(FILE *out, const gate_flags *f, const br_gate_answer *a)
{
    const char *kind = f->service ? "service" : "SLO";
    const char *what = f->service ? f->service : f->slo;
    switch (a->exit_code) {
    case BR_GATE_EXIT_ALLOW:
        fprintf(out, "ALLOW: %s %s may deploy (%zu SLO%s checked)\n", kind, what, a->n_slos,
                a->n_slos == 1 ? "" : "s");
        break;
    case BR_GATE_EXIT_DENY:
        fprintf(out, "DENY: %s %s may not deploy now\n", kind, what);
        if (a->n_reasons == 0) {
            fprintf(out, "  - (the server gave no reason)\n");
        }
        break;
    default:
        fprintf(out, "CANNOT DECIDE: %s %s: %s\n", kind, what, a->message);
        break;
    }
    for (size_t i = 0; i < a->n_reasons; i++) {
        fprintf(out, "  - %s\n", a->reasons[i]);
    }
}

static void print_json(FILE *out, const char *url, const br_gate_answer *a, const char *body,
                       size_t len)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "exit_code", a->exit_code);
    cJSON_AddStringToObject(o, "decision", a->decision);
    cJSON_AddBoolToObject(o, "allow", a->exit_code == BR_GATE_EXIT_ALLOW);
    if (a->http_status > 0) {
        cJSON_AddNumberToObject(o, "http_status", (double)a->http_status);
    } else {
        cJSON_AddNullToObject(o, "http_status");
    }
    cJSON_AddStringToObject(o, "url", url);
    if (a->message[0] != '\0') {
        cJSON_AddStringToObject(o, "message", a->message);
    } else {
        cJSON_AddNullToObject(o, "message");
    }
    cJSON *rs = cJSON_AddArrayToObject(o, "reasons");
    for (size_t i = 0; i < a->n_reasons; i++) {
        cJSON_AddItemToArray(rs, cJSON_CreateString(a->reasons[i]));
    }
    cJSON *answer = body != NULL ? cJSON_ParseWithLength(body, len) : NULL;
    if (answer != NULL) {
        cJSON_AddItemToObject(o, "answer", answer);
    } else {
        cJSON_AddNullToObject(o, "answer");
    }
    char *text = cJSON_PrintUnformatted(o);
    if (text != NULL) {
        fprintf(out, "%s\n", text);
        cJSON_free(text);
    }
    cJSON_Delete(o);
}

/* ------------------------------------------------------------------------
 * Entry point.
 * ---------------------------------------------------------------------- */

int br_gate_cli_main(int argc, char **argv, FILE *out, FILE *errout)
{
    gate_flags f;
    bool help = false;
    int rc = parse_flags(argc, argv, &f, errout, &help);
    if (rc != 0) {
        return rc;
    }
    if (help) {
        usage(out);
        return 0;
    }
    cJSON_Hooks hooks = {br_malloc, br_free};
    cJSON_InitHooks(&hooks);

    br_gate_answer a;
    memset(&a, 0, sizeof(a));
    set_decision(&a, BR_GATE_EXIT_UNDECIDED, "error");
    char auth[MAX_TOKEN_BYTES + 32];
    auth[0] = '\0';
    if (f.token_file != NULL) {
        char token[MAX_TOKEN_BYTES];
        if (read_token(f.token_file, token, sizeof(token), a.message, sizeof(a.message)) != 0) {
            fprintf(errout, "burnrate gate: %s\n", a.message);
            return BR_GATE_EXIT_UNDECIDED;
        }
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(errout, "burnrate gate: cannot initialise libcurl\n");
        return BR_GATE_EXIT_UNDECIDED;
    }
    CURL *c = curl_easy_init();
    if (c == NULL) {
        curl_global_cleanup();
        fprintf(errout, "burnrate gate: cannot initialise libcurl\n");
        return BR_GATE_EXIT_UNDECIDED;
    }
    br_buf url;
    br_buf_init(&url, 0);
    build_url(&url, c, &f);
    br_buf body;
    br_buf_init(&body, BR_GATE_MAX_BODY);
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    if (auth[0] != '\0') {
        headers = curl_slist_append(headers, auth);
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    char ua[64];
    snprintf(ua, sizeof(ua), "burnrate-gate/%s", BR_VERSION);
    curl_easy_setopt(c, CURLOPT_URL, br_buf_str(&url));
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)f.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)f.timeout_ms);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, ua);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    CURLcode cc = curl_easy_perform(c);
    char tbuf[32];
    if (cc == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        br_gate_interpret(status, br_buf_str(&body), body.len, &a);
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(a.message, sizeof(a.message), "no answer from %s within %s", br_buf_str(&url),
                 br_format_duration(f.timeout_ms, tbuf, sizeof(tbuf)));
    } else if (cc == CURLE_WRITE_ERROR) {
        snprintf(a.message, sizeof(a.message), "the answer from %s is larger than %u bytes",
                 br_buf_str(&url), BR_GATE_MAX_BODY);
    } else {
        snprintf(a.message, sizeof(a.message), "cannot reach %s: %s", br_buf_str(&url),
                 errbuf[0] ? errbuf : curl_easy_strerror(cc));
    }
    if (f.json) {
        print_json(out, br_buf_str(&url), &a, cc == CURLE_OK ? br_buf_str(&body) : NULL, body.len);
    } else {
        print_text(out, &f, &a);
    }
    fflush(out);
    rc = a.exit_code;
    br_gate_answer_free(&a);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    br_buf_free(&body);
    br_buf_free(&url);
    return rc;
}
