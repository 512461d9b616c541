/*
 * main.c — the burnrate command line.
 *
 *   burnrate serve [--config FILE] [--listen ADDR:PORT] [--data-dir DIR]
 *                  [--slos GLOB]... [--log.level LEVEL]
 *                  [--shard-index I --shard-count N]
 *   burnrate check FILE...        validate configuration and SLO files (any
 *                                 format), exit 1 on error
 *   burnrate gate --url URL (--service X | --slo ID) [...]
 *                                 ask the error-budget policy whether a deploy
 *                                 may go ahead: exit 0 allow, 1 deny, 2 cannot
 *                                 decide (engine/gate_cli.h)
 *   burnrate generate --slos GLOB [--slos GLOB]... [--out FILE]
 *                                 print Prometheus rules equivalent to the SLOs
 *   burnrate --version | --help
 *
 * The command line is a public interface: scripts depend on these names,
 * flags and exit codes (0 ok, 1 failure, 2 usage error), so they only grow.
 */
#include "engine/app.h"
#include "engine/config.h"
#include "engine/core/err.h"
#include "engine/core/log.h"
#include "engine/gate_cli.h"
#include "rules/generate.h"
#include "rules/slo.h"
#include "rules/yamldoc.h"
#include "engine/core/buf.h"
#include "engine/promql/ast.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SLO_FLAGS 64

static void usage(FILE *out)
{
    fprintf(out,
            "burnrate %s — SLO evaluation and alerting engine\n"
            "\n"
            "Usage:\n"
            "  burnrate serve [flags]     run the engine\n"
            "  burnrate check FILE...     validate configuration or SLO files and exit\n"
            "  burnrate gate --url URL (--service NAME | --slo ID) [flags]\n"
            "                             may this deploy now? exit 0 allow, 1 deny,\n"
            "                             2 cannot decide; `burnrate gate --help` for flags\n"
            "  burnrate generate [flags]  print Prometheus rules equivalent to SLO files\n"
            "  burnrate --version         print the version\n"
            "  burnrate --help            print this help\n"
            "\n"
            "serve flags (each overrides the config file):\n"
            "  --config FILE          main configuration (YAML); see examples/burnrate.yml\n"
            "  --listen ADDR:PORT     HTTP listen address (default :9099)\n"
            "  --data-dir DIR         WAL and snapshots (default ./data)\n"
            "  --slos GLOB            SLO files; repeatable; replaces the config's list\n"
            "  --log.level LEVEL      debug, info, warn or error (default info)\n"
            "  --shard-index I        with --shard-count N: evaluate only the SLOs whose id\n"
            "  --shard-count N        hashes to shard I of N (0 <= I < N); every instance\n"
            "                         still lists every SLO (config: sharding)\n"
            "\n"
            "generate flags:\n"
            "  --slos GLOB            SLO files (any supported format); repeatable, required\n"
            "  --out FILE             write the rules there (replaced atomically) instead of\n"
            "                         standard output\n"
            "  The output is a Prometheus rules file (recording rules with Sloth's names and\n"
            "  labels, multi-window burn-rate alerts, budget escalation alerts) that\n"
            "  `promtool check rules` accepts. Exit status 0, or 1 with the error on stderr.\n"
            "\n"
            "Signals: SIGTERM/SIGINT stop gracefully; SIGHUP reloads the configuration.\n",
            BR_VERSION);
}

static int cmd_serve(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"config", required_argument, NULL, 'c'},   {"listen", required_argument, NULL, 'l'},
        {"data-dir", required_argument, NULL, 'd'}, {"slos", required_argument, NULL, 's'},
        {"log.level", required_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
        {"shard-index", required_argument, NULL, 'I'},
        {"shard-count", required_argument, NULL, 'N'},
        {NULL, 0, NULL, 0},
    };
    const char *slos[MAX_SLO_FLAGS];
    bool have_index = false;
    bool have_count = false;
    br_app_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.flags.slo_globs = slos;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            opts.config_file = optarg;
            break;
        case 'l':
            opts.flags.listen = optarg;
            break;
        case 'd':
            opts.flags.data_dir = optarg;
            break;
        case 's':
            if (opts.flags.n_slo_globs >= MAX_SLO_FLAGS) {
                fprintf(stderr, "burnrate serve: at most %d --slos flags\n", MAX_SLO_FLAGS);
                return 2;
            }
            slos[opts.flags.n_slo_globs++] = optarg;
            break;
        case 'v':
            opts.flags.log_level = optarg;
            break;
        case 'I':
        case 'N': {
            char *end = NULL;
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || v < 0 || v > 1024) {
                fprintf(stderr, "burnrate serve: --%s must be an integer 0..1024, got \"%s\"\n",
                        c == 'I' ? "shard-index" : "shard-count", optarg);
                return 2;
            }
            if (c == 'I') {
                opts.flags.shard_index = v;
                have_index = true;
            } else {
                opts.flags.shard_count = v;
                have_count = true;
            }
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (have_index != have_count) {
        fprintf(stderr, "burnrate serve: --shard-index and --shard-count go together\n");
        return 2;
    }
    opts.flags.has_shard = have_index;
    if (optind < argc) {
        fprintf(stderr, "burnrate serve: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    /* Remote-write requests allocate and free decode arenas of a few MiB;
     * left to its defaults glibc maps and unmaps them every time, and the
     * page faults cost about a third of the ingest CPU (BENCHMARKS.md).
     * Keep such blocks in the heap instead. */
    mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    br_app_block_signals();
    br_err err;
    br_err_clear(&err);
    br_app *app = br_app_start(&opts, &err);
    if (app == NULL) {
        char msg[600];
        br_log_error("cannot start", "err=\"%s\"", br_err_format(&err, msg, sizeof(msg)));
        return 1;
    }
    br_app_wait(app);
    br_app_stop(app);
    return 0;
}

/* True when path holds SLO definitions rather than the main config: a
 * document with apiVersion/kind/version (Sloth, Pyrra, OpenSLO) or whose
 * `slos:` list holds mappings (the main config's holds file globs). */
static bool is_slo_file(const char *path)
{
    br_yaml_doc *docs = NULL;
    size_t n = 0;
    br_err err;
    br_err_clear(&err);
    if (br_yaml_load_all_file(path, &docs, &n, &err) != 0) {
        return false;
    }
    bool slo = false;
    for (size_t i = 0; i < n && !slo; i++) {
        br_yaml_node *root = br_yaml_root(&docs[i]);
        if (root == NULL) {
            continue;
        }
        if (br_yaml_is_seq(root)) {
            slo = true; /* OpenSLO objects as a list */
            continue;
        }
        if (!br_yaml_is_map(root)) {
            continue;
        }
        if (br_yaml_map_get(&docs[i], root, "apiVersion") != NULL ||
            br_yaml_map_get(&docs[i], root, "version") != NULL ||
            br_yaml_map_get(&docs[i], root, "kind") != NULL) {
            slo = true;
            continue;
        }
        br_yaml_node *slos = br_yaml_map_get(&docs[i], root, "slos");
        if (slos != NULL && br_yaml_is_seq(slos) && br_yaml_seq_size(slos) > 0 &&
            br_yaml_is_map(br_yaml_seq_item(&docs[i], slos, 0))) {
            slo = true;
        }
    }
    br_yaml_free_all(docs, n);
    return slo;
}

static void print_slo_summary(const br_slo_set *set)
{
    for (size_t i = 0; i < br_slo_set_len(set); i++) {
        const br_slo_def *d = br_slo_set_get(set, i);
        br_buf period;
        br_buf_init(&period, 0);
        br_promql_print_duration(d->period.duration_ms, &period);
        printf("  %-40s %-8s objective %.6g%%, %s %s, %s, alerts %zu tiers\n", d->id,
               br_slo_format_name(d->format), d->objective * 100.0,
               d->period.kind == BR_PERIOD_CALENDAR ? "calendar" : "rolling",
               br_buf_str(&period), br_budgeting_name(d->budgeting), d->alerting.n_tiers);
        br_buf_free(&period);
    }
}

/* `burnrate check FILE...`: each file is validated as what it is, a main
 * configuration (then the SLO files it names are loaded too) or an SLO
 * file of any supported format. */
static int cmd_check(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "burnrate check: give at least one file to validate\n");
        return 2;
    }
    int failures = 0;
    /* SLO files named together form one set, as a config's globs do: ids
     * must be unique across them and composites may name SLOs of any. */
    br_slo_set *together = br_slo_set_new();
    size_t n_slo_files = 0;
    for (int i = 1; i < argc; i++) {
        br_err err;
        br_err_clear(&err);
        char msg[600];
        if (is_slo_file(argv[i])) {
            br_slo_set *set = br_slo_set_new();
            if (br_slo_load_file(set, argv[i], &err) != 0) {
                fprintf(stderr, "FAILED: %s\n", br_err_format(&err, msg, sizeof(msg)));
                failures++;
            } else {
                printf("OK: %s defines %zu SLO(s)\n", argv[i], br_slo_set_len(set));
                print_slo_summary(set);
                n_slo_files++;
                if (br_slo_load_file(together, argv[i], &err) != 0) {
                    fprintf(stderr, "FAILED: %s\n", br_err_format(&err, msg, sizeof(msg)));
                    failures++;
                }
            }
            br_slo_set_unref(set);
            continue;
        }
        br_config cfg;
        br_config_init(&cfg);
        /* The files the config names (tokens, users, TLS, receivers) are
         * read and checked as serve would. */
        if (br_config_load(&cfg, argv[i], &err) != 0 || br_config_load_secrets(&cfg, &err) != 0) {
            fprintf(stderr, "FAILED: %s\n", br_err_format(&err, msg, sizeof(msg)));
            failures++;
            br_config_free(&cfg);
            continue;
        }
        br_slo_set *set = br_slo_load_globs((const char *const *)cfg.slo_globs, cfg.n_slo_globs,
                                            &err);
        if (set != NULL && cfg.limits.max_slos > 0 &&
            br_slo_set_len(set) > (size_t)cfg.limits.max_slos) {
            br_err_set(&err, BR_ELIMIT, "%zu SLO definitions, more than limits.max_slos (%lld)",
                       br_slo_set_len(set), (long long)cfg.limits.max_slos);
            br_slo_set_unref(set);
            set = NULL;
        }
        if (set == NULL) {
            fprintf(stderr, "FAILED: %s: %s\n", argv[i], br_err_format(&err, msg, sizeof(msg)));
            failures++;
        } else {
            printf("OK: %s is a valid burnrate configuration; its SLO files define %zu SLO(s)\n",
                   argv[i], br_slo_set_len(set));
            print_slo_summary(set);
            br_slo_set_unref(set);
        }
        br_config_free(&cfg);
    }
    if (n_slo_files > 0 && failures == 0) {
        br_err err;
        br_err_clear(&err);
        char msg[600];
        if (br_slo_set_check_composites(together, &err) != 0) {
            fprintf(stderr, "FAILED: %s\n", br_err_format(&err, msg, sizeof(msg)));
            failures++;
        }
    }
    br_slo_set_unref(together);
    return failures ? 1 : 0;
}

/* Writes text to path through a temporary file renamed over it, so a
 * Prometheus watching the file never reads half of it. */
static int write_file_atomically(const char *path, const char *text, size_t len)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        fprintf(stderr, "burnrate generate: output path too long\n");
        return -1;
    }
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        fprintf(stderr, "burnrate generate: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    bool ok = fwrite(text, 1, len, f) == len;
    ok = fflush(f) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "burnrate generate: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int cmd_generate(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"slos", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *globs[MAX_SLO_FLAGS];
    size_t n_globs = 0;
    const char *out_path = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (n_globs >= MAX_SLO_FLAGS) {
                fprintf(stderr, "burnrate generate: at most %d --slos flags\n", MAX_SLO_FLAGS);
                return 2;
            }
            globs[n_globs++] = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "burnrate generate: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (n_globs == 0) {
        fprintf(stderr, "burnrate generate: give the SLO files with --slos FILE_OR_GLOB\n");
        return 2;
    }
    br_err err;
    br_err_clear(&err);
    char msg[600];
    br_slo_set *set = br_slo_load_globs(globs, n_globs, &err);
    if (set == NULL) {
        fprintf(stderr, "burnrate generate: %s\n", br_err_format(&err, msg, sizeof(msg)));
        return 1;
    }
    br_buf out;
    br_buf_init(&out, 0);
    int rc = br_generate_rules(set, &out, &err);
    br_slo_set_unref(set);
    if (rc != 0) {
        fprintf(stderr, "burnrate generate: %s\n", br_err_format(&err, msg, sizeof(msg)));
        br_buf_free(&out);
        return 1;
    }
    int status = 0;
    if (out_path != NULL) {
        status = write_file_atomically(out_path, br_buf_str(&out), out.len) == 0 ? 0 : 1;
    } else if (fwrite(br_buf_str(&out), 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        fprintf(stderr, "burnrate generate: cannot write to standard output\n");
        status = 1;
    }
    br_buf_free(&out);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("burnrate %s\n", BR_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "serve") == 0) {
        return cmd_serve(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "check") == 0) {
        return cmd_check(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "gate") == 0) {
        return br_gate_cli_main(argc - 1, argv + 1, stdout, stderr);
    }
    if (strcmp(cmd, "generate") == 0) {
        return cmd_generate(argc - 1, argv + 1);
    }
    fprintf(stderr, "burnrate: unknown command \"%s\"\n\n", cmd);
    usage(stderr);
    return 2;
}
