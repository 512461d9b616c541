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
#include "api/auth.h"
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
    assert_int_equal(cfg.snapshot_wal_bytes, 256LL * 1024 * 1024);
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
                       "  snapshot_wal_size: 128MiB\n"
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
    assert_int_equal(cfg.snapshot_wal_bytes, 128LL * 1024 * 1024);
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
    {"auth:\n  write_user_file: x\n", 2, 3, "unknown key \"write_user_file\" in auth"},
    {"admin:\n  enabled: sure\n", 2, 12, "admin.enabled"},
    {"admin: true\n", 1, 8, "\"admin\" must be a mapping"},
    {"tls:\n  cert_file: a.pem\n", 2, 3, "needs both \"cert_file\" and \"key_file\""},
    {"tls:\n  cert_file: a.pem\n  key_file: k.pem\n  min_version: TLS11\n", 4, 16,
     "must be TLS12 or TLS13"},
    {"tls:\n  client_ca_file: ca.pem\n", 2, 3, "needs \"cert_file\" and \"key_file\""},
    {"limits:\n  max_connections: 0\n", 2, 20, "must be between"},
    {"limits:\n  connection_timeout: 100ms\n", 2, 23, "at least 1s"},
    {"limits:\n  max_header_bytes: 1KiB\n", 2, 21, "between 4KiB and 16MiB"},
    {"limits:\n  write_rate_limit: -5\n", 2, 21, "samples per second"},
    {"limits:\n  max_slos: 0\n", 2, 13, "must be between"},
    {"receivers:\n  - name: a\n    type: webhook\n    url: https://x\n    tls: {ca_file: c, "
     "verify: no}\n",
     5, 23, "unknown key \"verify\""},
    {"receivers:\n  - name: a\n    type: webhook\n    url: https://x\n"
     "    tls: {cert_file: c.pem}\n",
     5, 10, "needs both \"cert_file\" and \"key_file\""},
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

static void test_config_security_keys_are_read(void **state)
{
    (void)state;
    const char *text = "auth:\n"
                       "  write_token_file: /t/w\n"
                       "  ui_token_file: /t/ui\n"
                       "  read_users_file: /t/users.yml\n"
                       "  admin_users_file: /t/admins.yml\n"
                       "admin:\n"
                       "  enabled: true\n"
                       "tls:\n"
                       "  cert_file: /t/cert.pem\n"
                       "  key_file: /t/key.pem\n"
                       "  client_ca_file: /t/ca.pem\n"
                       "  min_version: TLS13\n"
                       "limits:\n"
                       "  max_connections: 200\n"
                       "  max_connections_per_ip: 20\n"
                       "  connection_timeout: 30s\n"
                       "  max_header_bytes: 16KiB\n"
                       "  write_rate_limit: 2500.5\n"
                       "  write_rate_burst: 10000\n"
                       "  max_slos: 50\n"
                       "receivers:\n"
                       "  - name: hook\n"
                       "    type: webhook\n"
                       "    url: https://hooks.example/x\n"
                       "    tls:\n"
                       "      ca_file: /t/hook-ca.pem\n"
                       "      cert_file: /t/c.pem\n"
                       "      key_file: /t/k.pem\n"
                       "      insecure_skip_verify: true\n";
    br_config cfg;
    br_err err;
    assert_int_equal(load_text(text, &cfg, &err), 0);
    assert_string_equal(cfg.auth.write_token_file, "/t/w");
    assert_string_equal(cfg.auth.ui_token_file, "/t/ui");
    assert_string_equal(cfg.auth.read_users_file, "/t/users.yml");
    assert_string_equal(cfg.auth.admin_users_file, "/t/admins.yml");
    assert_null(cfg.auth.write_users_file);
    assert_true(cfg.auth.admin_enabled);
    assert_null(cfg.auth.checker); /* built by br_config_load_secrets only */
    assert_string_equal(cfg.tls.cert_file, "/t/cert.pem");
    assert_string_equal(cfg.tls.key_file, "/t/key.pem");
    assert_string_equal(cfg.tls.client_ca_file, "/t/ca.pem");
    assert_int_equal(cfg.tls.min_version, 13);
    assert_int_equal(cfg.limits.max_connections, 200);
    assert_int_equal(cfg.limits.max_connections_per_ip, 20);
    assert_int_equal(cfg.limits.connection_timeout_ms, 30000);
    assert_int_equal(cfg.limits.max_header_bytes, 16 * 1024);
    assert_true(cfg.limits.write_rate_limit > 2500.4 && cfg.limits.write_rate_limit < 2500.6);
    assert_int_equal(cfg.limits.write_rate_burst, 10000);
    assert_int_equal(cfg.limits.max_slos, 50);
    assert_string_equal(cfg.receivers[0].tls.ca_file, "/t/hook-ca.pem");
    assert_string_equal(cfg.receivers[0].tls.cert_file, "/t/c.pem");
    assert_string_equal(cfg.receivers[0].tls.key_file, "/t/k.pem");
    assert_true(cfg.receivers[0].tls.insecure_skip_verify);
    br_config_free(&cfg);
}

static void test_config_security_defaults(void **state)
{
    (void)state;
    br_config cfg;
    br_config_init(&cfg);
    assert_false(cfg.auth.admin_enabled);
    assert_null(cfg.tls.cert_file);
    assert_int_equal(cfg.tls.min_version, 12);
    assert_int_equal(cfg.limits.max_connections, 1024);
    assert_int_equal(cfg.limits.max_connections_per_ip, 0);
    assert_int_equal(cfg.limits.connection_timeout_ms, 120000);
    assert_true(cfg.limits.write_rate_limit == 0);
    assert_int_equal(cfg.limits.max_slos, 10000);
    br_config_free(&cfg);
}

/* br_config_load_secrets: the files the config names must be readable and
 * well formed; errors name the key, the file and (YAML) the line. */
static void test_config_secrets_errors_name_key_and_file(void **state)
{
    (void)state;
    char text[1024];
    br_config cfg;
    br_err err;

    snprintf(text, sizeof(text), "auth:\n  read_users_file: %s/users.yml\n", dir);
    free(tu_write_file(dir, "users.yml", "basic_auth_users:\n  bob: not-a-hash\n"));
    assert_int_equal(load_text(text, &cfg, &err), 0);
    assert_int_not_equal(br_config_load_secrets(&cfg, &err), 0);
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.file, "users.yml"));
    assert_non_null(strstr(err.msg, "not a bcrypt hash"));
    br_config_free(&cfg);

    assert_int_equal(load_text("auth:\n  ui_token_file: /nonexistent/ui.token\n", &cfg, &err), 0);
    br_err_clear(&err);
    assert_int_not_equal(br_config_load_secrets(&cfg, &err), 0);
    assert_non_null(strstr(err.msg, "auth.ui_token_file: cannot read /nonexistent/ui.token"));
    br_config_free(&cfg);

    snprintf(text, sizeof(text), "tls:\n  cert_file: %s/cert.pem\n  key_file: %s/key.pem\n", dir,
             dir);
    free(tu_write_file(dir, "cert.pem", "this is not PEM\n"));
    free(tu_write_file(dir, "key.pem", "-----BEGIN PRIVATE KEY-----\n"));
    assert_int_equal(load_text(text, &cfg, &err), 0);
    br_err_clear(&err);
    assert_int_not_equal(br_config_load_secrets(&cfg, &err), 0);
    assert_non_null(strstr(err.msg, "tls.cert_file"));
    assert_non_null(strstr(err.msg, "is not PEM"));
    br_config_free(&cfg);

    assert_int_equal(load_text("receivers:\n  - name: hook\n    type: webhook\n"
                               "    url: https://x\n    tls: {ca_file: /nonexistent/ca.pem}\n",
                               &cfg, &err),
                     0);
    br_err_clear(&err);
    assert_int_not_equal(br_config_load_secrets(&cfg, &err), 0);
    assert_non_null(strstr(err.msg, "receiver \"hook\": tls.ca_file: cannot read"));
    br_config_free(&cfg);
}

static void test_config_secrets_build_the_auth_checker(void **state)
{
    (void)state;
    char text[1024];
    snprintf(text, sizeof(text),
             "admin: {enabled: true}\nauth:\n  write_token_file: %s/w.token\n", dir);
    free(tu_write_file(dir, "w.token", "old\nnew\n"));
    br_config cfg;
    br_err err;
    assert_int_equal(load_text(text, &cfg, &err), 0);
    assert_int_equal(br_config_load_secrets(&cfg, &err), 0);
    assert_non_null(cfg.auth.checker);
    br_auth_verdict v;
    br_auth_check(cfg.auth.checker, "/api/v1/write", "Bearer new", &v);
    assert_int_equal(v.status, 0);
    br_auth_check(cfg.auth.checker, "/api/v1/write", "Bearer other", &v);
    assert_int_equal(v.status, 401);
    br_auth_check(cfg.auth.checker, "/-/reload", NULL, &v);
    assert_int_equal(v.status, 0); /* enabled, and no admin credentials configured */
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
        cmocka_unit_test(test_config_security_keys_are_read),
        cmocka_unit_test(test_config_security_defaults),
        cmocka_unit_test(test_config_secrets_errors_name_key_and_file),
        cmocka_unit_test(test_config_secrets_build_the_auth_checker),
    };
    return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
