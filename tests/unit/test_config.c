/*
 * test_config.c — the main configuration: defaults, a full valid file,
 * flag overrides, and every kind of error reported with file:line:col.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/config.h"
#include "tests/helpers/testutil.h"

static char *dir;

static int setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp("config");
    return dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(dir);
    free(dir);
    return 0;
}

/* Loads text as a config file; returns the rc and fills err. */
static int load_text(const char *text, br_config *cfg, br_err *err)
{
    char *path = tu_write_file(dir, "burnrate.yml", text);
    br_config_init(cfg);
    br_err_clear(err);
    int rc = br_config_load(cfg, path, err);
    free(path);
    return rc;
}

static void test_config_defaults_when_file_is_empty(void **state)
{
    (void)state;
    br_config cfg;
    br_err err;
    assert_int_equal(load_text("", &cfg, &err), 0);
    assert_string_equal(cfg.listen, ":9099");
    assert_int_equal(cfg.evaluation_interval_ms, 30000);
    assert_int_equal(cfg.fsync_policy, BR_WAL_FSYNC_INTERVAL);
    assert_int_equal(cfg.limits.max_body_bytes, 32 * 1024 * 1024);
    br_config_free(&cfg);
}

static void test_config_full_file_is_read(void **state)
{
    (void)state;
    const char *text = "listen: 127.0.0.1:9100\n"
                       "log_level: debug\n"
                       "storage:\n"
                       "  data_dir: /var/lib/burnrate\n"
                       "  retention: 40d\n"
                       "  snapshot_interval: 10m\n"
                       "  wal:\n"
                       "    fsync: always\n"
                       "    segment_size: 16MiB\n"
                       "evaluation:\n"
                       "  interval: 15s\n"
                       "slos: [\"slos/*.yml\", \"more/*.yaml\"]\n"
                       "remote_write:\n"
                       "  tenant_header: X-Scope-OrgID\n"
                       "  tenant_label: cluster\n"
                       "limits:\n"
                       "  max_body_bytes: 1MiB\n"
                       "  max_labels_per_series: 30\n"
                       "auth:\n"
                       "  write_token_file: /etc/burnrate/write.token\n"
                       "receivers:\n"
                       "  - name: oncall\n"
                       "    type: alertmanager\n"
                       "    url: http://127.0.0.1:9093\n"
                       "  - name: hook\n"
                       "    type: webhook\n"
                       "    url: https://hooks.example/x\n"
                       "    hmac_secret_file: /etc/burnrate/hmac\n"
                       "    timeout: 5s\n";
    br_config cfg;
    br_err err;
    assert_int_equal(load_text(text, &cfg, &err), 0);
    assert_string_equal(cfg.listen, "127.0.0.1:9100");
    assert_int_equal(cfg.log_level, BR_LOG_DEBUG);
    assert_string_equal(cfg.data_dir, "/var/lib/burnrate");
    assert_int_equal(cfg.retention_ms, 40LL * 86400 * 1000);
    assert_int_equal(cfg.snapshot_interval_ms, 600000);
    assert_int_equal(cfg.fsync_policy, BR_WAL_FSYNC_ALWAYS);
    assert_int_equal(cfg.wal_segment_bytes, 16 * 1024 * 1024);
    assert_int_equal(cfg.evaluation_interval_ms, 15000);
    assert_int_equal(cfg.n_slo_globs, 2);
    assert_string_equal(cfg.slo_globs[1], "more/*.yaml");
    assert_string_equal(cfg.tenant_header, "X-Scope-OrgID");
    assert_string_equal(cfg.tenant_label, "cluster");
    assert_int_equal(cfg.limits.max_body_bytes, 1024 * 1024);
    assert_int_equal(cfg.limits.max_labels_per_series, 30);
    assert_string_equal(cfg.auth.write_token_file, "/etc/burnrate/write.token");
    assert_null(cfg.auth.read_token_file);
    assert_int_equal(cfg.n_receivers, 2);
    assert_int_equal(cfg.receivers[0].kind, BR_RECEIVER_ALERTMANAGER);
    assert_int_equal(cfg.receivers[1].timeout_ms, 5000);
    assert_string_equal(cfg.receivers[1].hmac_secret_file, "/etc/burnrate/hmac");
    br_config_free(&cfg);
}

/* Each case: config text, expected line, column, and a fragment of the message. */
static const struct {
    const char *text;
    int line;
    int col;
    const char *fragment;
} error_cases[] = {
    {"listen: :9099\nlistn: x\n", 2, 1, "unknown key \"listn\" in the top level"},
    {"storage:\n  retention: 1.5d\n", 2, 14, "\"storage.retention\" must be a duration"},
    {"storage:\n  wal:\n    fsync: sometimes\n", 3, 12, "must be always, interval or never"},
    {"evaluation: 30s\n", 1, 13, "\"evaluation\" must be a mapping"},
    {"limits:\n  max_labels_per_series: many\n", 2, 26, "must be an integer"},
    {"limits:\n  max_labels_per_series: 0\n", 2, 26, "must be between"},
    {"slos: slos/*.yml\n", 1, 7, "\"slos\" must be a list"},
    {"receivers:\n  - name: a\n    type: pager\n    url: http://x\n", 3, 11,
     "must be webhook or alertmanager"},
    {"receivers:\n  - name: a\n    type: webhook\n", 2, 5, "needs a \"url\""},
    {"receivers:\n  - name: a\n    type: webhook\n    url: ftp://x\n", 4, 10,
     "must start with http://"},
    {"listen: nonsense\n", 1, 9, "must be HOST:PORT"},
    {"log_level: loud\n", 1, 12, "debug, info, warn or error"},
    {"storage:\n  data_dir: a\n  data_dir: b\n", 3, 3, "duplicate key \"data_dir\""},
    {"storage: [1, 2\n", 2, 1, "YAML syntax error"},
    {"remote_write:\n  tenant_label: __x\n", 2, 17, "reserved"},
    {"receivers:\n  - name: a\n    type: alertmanager\n    url: http://x\n    group_wait: 10s\n", 5,
     17, "\"group_wait\" applies to webhook receivers only"},
    {"receivers:\n  - name: a\n    type: webhook\n    url: http://x\n"
     "    group_by: [alertname, 1x]\n",
     5, 27, "\"group_by\" entries must be label names, got \"1x\""},
    {"receivers:\n  - name: a\n    type: webhook\n    url: http://x\n    group_by: [a, \"...\"]\n",
     5, 19, "must be the only entry"},
    {"receivers:\n  - name: a\n    type: webhook\n    url: http://x\n    match: severity\n", 5, 12,
     "\"match\" must be a mapping"},
    {"receivers:\n  - name: a\n    type: webhook\n    url: http://x\n"
     "    match: {sev-erity: page}\n",
     5, 13, "\"match\" keys must be label names"},
    {"receivers:\n  - name: a\n    type: webhook\n    url: http://x\n    group_interval: 0s\n", 5,
     21, "group_interval"},
};

static void test_config_errors_carry_file_line_col(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        br_config cfg;
        br_err err;
        int rc = load_text(error_cases[i].text, &cfg, &err);
        if (rc == 0 || err.line != error_cases[i].line || err.col != error_cases[i].col ||
            strstr(err.msg, error_cases[i].fragment) == NULL) {
            print_error("case %zu: rc=%d at %d:%d msg=%s\n", i, rc, err.line, err.col, err.msg);
            fail();
        }
        assert_non_null(strstr(err.file, "burnrate.yml"));
        br_config_free(&cfg);
    }
}

static void test_config_receiver_routing_and_grouping_are_read(void **state)
{
    (void)state;
    const char *text = "receivers:\n"
                       "  - name: pager\n"
                       "    type: webhook\n"
                       "    url: http://127.0.0.1:9000/hook\n"
                       "    match: {severity: page, team: checkout}\n"
                       "    group_by: [alertname, service]\n"
                       "    group_wait: 0s\n"
                       "    group_interval: 1m\n"
                       "    repeat_interval: 2h\n"
                       "  - name: all\n"
                       "    type: webhook\n"
                       "    url: http://127.0.0.1:9000/all\n"
                       "    group_by: [\"...\"]\n"
                       "  - name: am\n"
                       "    type: alertmanager\n"
                       "    url: http://127.0.0.1:9093\n"
                       "    match: {severity: ticket}\n";
    br_config cfg;
    br_err err;
    assert_int_equal(load_text(text, &cfg, &err), 0);
    assert_int_equal(cfg.n_receivers, 3);
    const br_receiver_config *p = &cfg.receivers[0];
    assert_int_equal(p->n_match, 2);
    assert_string_equal(p->match[0].name, "severity");
    assert_string_equal(p->match[0].value, "page");
    assert_string_equal(p->match[1].name, "team");
    assert_string_equal(p->match[1].value, "checkout");
    assert_int_equal(p->n_group_by, 2);
    assert_string_equal(p->group_by[1], "service");
    assert_int_equal(p->group_wait_ms, 0);
    assert_int_equal(p->group_interval_ms, 60000);
    assert_int_equal(p->repeat_interval_ms, 2 * 3600 * 1000);
    assert_int_equal(cfg.receivers[1].n_match, 0);
    assert_int_equal(cfg.receivers[1].n_group_by, 1);
    assert_string_equal(cfg.receivers[1].group_by[0], "...");
    assert_int_equal(cfg.receivers[2].kind, BR_RECEIVER_ALERTMANAGER);
    assert_string_equal(cfg.receivers[2].match[0].value, "ticket");
    br_config_free(&cfg);
}

static void test_config_receiver_grouping_defaults(void **state)
{
    (void)state;
    br_config cfg;
    br_err err;
    assert_int_equal(
        load_text("receivers:\n  - {name: h, type: webhook, url: \"http://x/\"}\n", &cfg, &err), 0);
    const br_receiver_config *r = &cfg.receivers[0];
    assert_int_equal(r->timeout_ms, 10000);
    assert_int_equal(r->n_match, 0);
    assert_int_equal(r->n_group_by, 2);
    assert_string_equal(r->group_by[0], "alertname");
    assert_string_equal(r->group_by[1], "sloth_id");
    assert_int_equal(r->group_wait_ms, 30000);
    assert_int_equal(r->group_interval_ms, 300000);
    assert_int_equal(r->repeat_interval_ms, 4 * 3600 * 1000);
    br_config_free(&cfg);
}

static void test_config_missing_file_is_an_error(void **state)
{
    (void)state;
    br_config cfg;
    br_config_init(&cfg);
    br_err err;
    br_err_clear(&err);
    assert_int_equal(br_config_load(&cfg, "/nonexistent/burnrate.yml", &err), BR_EIO);
    assert_non_null(strstr(err.msg, "cannot open"));
    br_config_free(&cfg);
}

static void test_config_flags_override_file(void **state)
{
    (void)state;
    br_config cfg;
    br_err err;
    assert_int_equal(load_text("listen: :1\nslos: [a.yml]\n", &cfg, &err), 0);
    const char *globs[] = {"x/*.yml", "y/*.yml"};
    br_config_flags f = {.listen = "127.0.0.1:0", .data_dir = "/tmp/d", .log_level = "warn",
                         .slo_globs = globs, .n_slo_globs = 2};
    assert_int_equal(br_config_apply_flags(&cfg, &f, &err), 0);
    assert_string_equal(cfg.listen, "127.0.0.1:0");
    assert_string_equal(cfg.data_dir, "/tmp/d");
    assert_int_equal(cfg.log_level, BR_LOG_WARN);
    assert_int_equal(cfg.n_slo_globs, 2);
    assert_string_equal(cfg.slo_globs[0], "x/*.yml");
    br_config_flags bad = {.listen = "9099"};
    assert_int_equal(br_config_apply_flags(&cfg, &bad, &err), BR_EINVAL);
    assert_non_null(strstr(err.msg, "--listen"));
    br_config_free(&cfg);
}

static void test_config_example_file_is_valid(void **state)
{
    (void)state;
    const char *src = getenv("BR_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof(path), "%s/examples/burnrate.yml", src);
    br_config cfg;
    br_config_init(&cfg);
    br_err err;
    br_err_clear(&err);
    int rc = br_config_load(&cfg, path, &err);
    if (rc != 0) {
        print_error("%s:%d:%d: %s\n", err.file, err.line, err.col, err.msg);
    }
    assert_int_equal(rc, 0);
    br_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults_when_file_is_empty),
        cmocka_unit_test(test_config_full_file_is_read),
        cmocka_unit_test(test_config_errors_carry_file_line_col),
        cmocka_unit_test(test_config_receiver_routing_and_grouping_are_read),
        cmocka_unit_test(test_config_receiver_grouping_defaults),
        cmocka_unit_test(test_config_missing_file_is_an_error),
        cmocka_unit_test(test_config_flags_override_file),
        cmocka_unit_test(test_config_example_file_is_valid),
    };
    return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
