/*
 * rules_api.h — Prometheus' /api/v1/rules and /api/v1/alerts over
 * burnrate's SLOs, so Grafana's alert views (and anything else that reads
 * a Prometheus server's rules) show burnrate's rules and alerts.
 *
 * The rules are the ones `burnrate generate` prints (rules/generate.h,
 * built by the same code from the latest snapshot's SLO set): per SLO the
 * groups sloth-slo-sli-recordings-<id>, sloth-slo-meta-recordings-<id> and
 * sloth-slo-alerts-<id>. Alerting rules carry the evaluator's state from
 * the snapshot (rules/slo_status.h): each SLO instance whose alert
 * conditions of that rule (kind and severity; the tiers of a burn-rate rule
 * combined) are pending or firing is one alert. JSON shapes are
 * Prometheus' (web/api/v1/api.go RuleDiscovery, RuleGroup, AlertingRule,
 * RecordingRule, Alert):
 *   /api/v1/rules   type=alert|record, rule_name[], rule_group[], file[],
 *                   match[] (on the rules' labels), exclude_alerts;
 *                   {"groups":[...]}; group_limit pagination is not
 *                   offered (all groups in one answer)
 *   /api/v1/alerts  {"alerts":[...]}: every pending and firing alert
 * Before the evaluator's first tick both answer with empty lists.
 * GET and POST are accepted (Grafana may POST to GET-only paths).
 *
 * Threads: handlers run on the HTTP pool and only read the snapshot they
 * took a reference on; per-request memory comes from the request arena.
 */
#ifndef BR_API_RULES_API_H
#define BR_API_RULES_API_H

#include "api/server.h"
#include "rules/slo_status.h"

/* Registers both routes on srv (borrowed). src is borrowed and must
 * outlive the server. */
void br_rules_api_register(br_http_server *srv, const br_slo_source *src);

#endif
