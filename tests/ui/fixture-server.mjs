// fixture-server.mjs: serves web/ and fixture JSON shaped like the budget API
// (the contract in the budget API's JSON shapes) so the UI can be developed
// and tested without burnrate.
//
//   node tests/ui/fixture-server.mjs [--port 0] [--host 127.0.0.1] [--count 1000]
//
// Prints one line "listening http://HOST:PORT" on stdout once it accepts
// connections; runs until SIGTERM/SIGINT. Static paths mirror burnrate's
// admin API: /, /slo/<id> and /query answer index.html; /<file> answers
// web/<file>; /vendor/<pkg>/<file> answers web/node_modules/<pkg>/(dist/)<file>.
//
// The data is generated from a fixed seed, so every run serves the same
// SLOs: `count` instances across 40 services, every policy state, stale and
// no-data instances, grouped instances, and one instance whose label values
// and name carry markup (<script>alert(1)</script>) to test escaping.
// /api/v1/query and /api/v1/query_range answer every expression with a
// small deterministic vector/matrix; GET /api/v1/annotations, two events
// (one titled with markup) for any SLO.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.resolve(here, '../../web');

const args = process.argv.slice(2);
function arg(name, dflt) {
  const i = args.indexOf('--' + name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}
const port = Number(arg('port', '0'));
const host = arg('host', '127.0.0.1');
const count = Math.max(1, Number(arg('count', '1000')));

// ------------------------------------------------------------- fixtures --

// mulberry32: a tiny seeded PRNG, so the fixture is the same on every run.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const XSS = '<script>alert(1)</script>';
const NOW_MS = Math.floor(Date.now() / 60000) * 60000;
const SERVICES = ['checkout', 'payments', 'search', 'catalog', 'cart', 'auth', 'profile', 'inventory',
  'shipping', 'pricing', 'reviews', 'recommendations', 'notifications', 'gateway', 'billing', 'ledger',
  'orders', 'returns', 'media', 'cdn-edge', 'api', 'web', 'mobile-bff', 'graphql', 'ingest', 'export',
  'reports', 'analytics', 'email', 'sms', 'push', 'maps', 'geo', 'tax', 'fraud', 'risk', 'kyc',
  'wallet', 'loyalty', 'support'];
const NAMES = ['availability', 'latency-p99', 'errors', 'freshness', 'throughput', 'correctness'];
const TEAMS = ['payments', 'core', 'growth', 'platform', 'data'];
const POLICY = [
  { name: 'healthy', above: 0.5, allow_deploy: true, actions: [] },
  { name: 'caution', above: 0.2, allow_deploy: true, actions: ['review recent changes'] },
  { name: 'critical', above: 0, allow_deploy: false, actions: ['freeze feature deploys', 'page the owning team'] },
  { name: 'exhausted', above: null, allow_deploy: false, actions: ['freeze all deploys except fixes', 'postmortem required'] },
];
const TIERS = [
  { name: 'page-fast', severity: 'page', long_window: '1h', short_window: '5m', factor: 14.4, for: '2m' },
  { name: 'page-slow', severity: 'page', long_window: '6h', short_window: '30m', factor: 6, for: '15m' },
  { name: 'ticket', severity: 'ticket', long_window: '3d', short_window: '6h', factor: 1, for: '1h' },
];
const WINDOW_SECONDS = { '5m': 300, '30m': 1800, '1h': 3600, '6h': 21600, '3d': 259200 };

function iso(ms) {
  return new Date(ms).toISOString();
}

function stateFor(remaining) {
  if (remaining === null) {
    return null;
  }
  for (const p of POLICY) {
    if (p.above === null || remaining > p.above) {
      return p;
    }
  }
  return POLICY[POLICY.length - 1];
}

function instanceId(sloId, groups) {
  const keys = Object.keys(groups).sort();
  if (keys.length === 0) {
    return sloId;
  }
  return sloId + '{' + keys.map((k) => k + '=' + JSON.stringify(groups[k])).join(',') + '}';
}

function round(v, digits) {
  const f = Math.pow(10, digits);
  return Math.round(v * f) / f;
}

function makeSlo(i, rnd) {
  const service = SERVICES[i % SERVICES.length];
  const name = NAMES[Math.floor(i / SERVICES.length) % NAMES.length];
  const variant = Math.floor(i / (SERVICES.length * NAMES.length));
  const sloId = service + '-' + name + (variant > 0 ? '-' + variant : '');
  const groups = {};
  if (i % 7 === 3) {
    groups.route = '/' + ['pay', 'cart', 'login', 'search'][i % 4];
  }
  const labels = { team: TEAMS[i % TEAMS.length], tier: i % 3 === 0 ? '1' : '2' };
  let displayName = name;
  let description = 'Share of good ' + name + ' events for ' + service + '.';
  if (i === 5) {
    // Markup everywhere a user can put text: label values, the name, the
    // description. All of it must render as text.
    groups.route = XSS;
    labels.owner = XSS;
    displayName = name + ' <img src=x onerror=alert(2)>';
    description = 'Escaping check: ' + XSS;
  }
  const objective = [0.99, 0.995, 0.999, 0.9995, 0.9999][i % 5];
  const calendar = i % 11 === 0;
  const periodSec = calendar ? 30 * 86400 : [30 * 86400, 28 * 86400, 7 * 86400][i % 3];
  const noData = i % 97 === 13;
  const stale = !noData && i % 53 === 7;
  // Budget remaining spread over every state, a few below zero.
  let remaining = noData ? null : round(1.15 - rnd() * 1.3, 4);
  if (remaining !== null && remaining > 1) {
    remaining = 1;
  }
  const budgetTotal = (1 - objective) * periodSec;
  const consumed = remaining === null ? null : round(1 - remaining, 4);
  const errorRatioPeriod = consumed === null ? null : consumed * (1 - objective);
  const sli = errorRatioPeriod === null ? null : round(1 - errorRatioPeriod, 7);
  const state = stateFor(remaining);
  const startMs = calendar ? NOW_MS - 12 * 86400000 : NOW_MS - periodSec * 1000;
  const endMs = calendar ? startMs + periodSec * 1000 : NOW_MS;

  const windows = [];
  const burnBy = {};
  for (const w of ['5m', '30m', '1h', '6h', '3d']) {
    const total = noData ? 0 : Math.round(1000 + rnd() * 100000);
    const hot = state && (state.name === 'critical' || state.name === 'exhausted');
    const burn = noData ? null : round(rnd() * (hot ? 30 : 2.5), 3);
    const er = burn === null ? null : burn * (1 - objective);
    burnBy[w] = burn;
    windows.push({ window: w, window_seconds: WINDOW_SECONDS[w], error_ratio: er, burn_rate: burn,
      bad: er === null ? 0 : Math.round(er * total), total: total });
  }
  windows.push({ window: fmtPeriodWindow(periodSec), window_seconds: periodSec, error_ratio: errorRatioPeriod,
    burn_rate: consumed, bad: 0, total: 0 });

  const alerts = [];
  let firing = 0;
  for (const t of TIERS) {
    const lv = burnBy[t.long_window];
    const sv = burnBy[t.short_window];
    const cond = lv !== null && sv !== null && lv >= t.factor && sv >= t.factor;
    const st = cond ? (i % 2 === 0 ? 'firing' : 'pending') : 'inactive';
    if (st === 'firing') {
      firing++;
    }
    alerts.push({ alertname: 'SLOBurnRate', kind: 'burn_rate', tier: t.name, severity: t.severity, state: st,
      active_since: st === 'inactive' ? null : iso(NOW_MS - 600000), long_window: t.long_window,
      short_window: t.short_window, factor: t.factor, long_value: lv, short_value: sv, threshold: t.factor });
  }
  const age = noData ? null : stale ? 1800 + (i % 100) : round(5 + rnd() * 40, 1);
  return {
    id: instanceId(sloId, groups), slo_id: sloId, service: service, name: displayName,
    description: description, labels: labels, group_labels: groups,
    format: ['burnrate', 'sloth', 'pyrra', 'openslo'][i % 4], source: 'slos/' + service + '.yml:' + (1 + (i % 40) * 12),
    sli_kind: 'events', budgeting: 'occurrences', objective: objective,
    period: { kind: calendar ? 'calendar' : 'rolling', duration_seconds: periodSec, calendar: calendar ? 'month' : null,
      start_time: iso(startMs), end_time: iso(endMs), start_ms: startMs, end_ms: endMs },
    sli: sli,
    budget: { total_seconds: round(budgetTotal, 3), remaining: remaining, consumed: consumed,
      remaining_seconds: remaining === null ? null : round(remaining * budgetTotal, 3),
      consumed_last_hour: noData ? null : round(rnd() * 0.02, 5),
      exhaustion_eta_seconds: remaining === null || burnBy['1h'] === null || burnBy['1h'] < 1e-9 ? null
        : remaining <= 0 ? 0 : Math.round(remaining * periodSec / burnBy['1h']) },
    state: state ? { name: state.name, allow_deploy: state.allow_deploy, actions: state.actions,
      since: iso(NOW_MS - 3600000 * (1 + (i % 48))), previous: i % 3 === 0 ? 'healthy' : null }
      : { name: null, allow_deploy: false, actions: [], since: null, previous: null },
    windows: windows, alerts: alerts, firing: firing,
    last_sample_time: age === null ? null : iso(NOW_MS - age * 1000), data_age_seconds: age,
    stale: stale, no_data: noData, error: i % 211 === 17 ? 'query failed: upstream timeout' : null,
  };
}

function fmtPeriodWindow(sec) {
  return sec % 86400 === 0 ? sec / 86400 + 'd' : sec + 's';
}

function makeFixture(n) {
  const rnd = prng(20240501);
  const slos = [];
  for (let i = 0; i < n; i++) {
    slos.push(makeSlo(i, rnd));
  }
  slos.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return slos;
}

const SLOS = makeFixture(count);
const BY_ID = new Map(SLOS.map((s) => [s.id, s]));

function detailOf(s) {
  const queries = {};
  const sel = '{slo_id=' + JSON.stringify(s.slo_id) + '}';
  for (const w of s.windows) {
    queries['sli_' + w.window] = 'sum(rate(http_requests_total{service=' + JSON.stringify(s.service) +
      ',code=~"5.."}[' + w.window + ']))\n/\nsum(rate(http_requests_total{service=' + JSON.stringify(s.service) +
      '}[' + w.window + ']))';
  }
  queries.budget_remaining = 'slo:budget_remaining' + sel;
  return Object.assign({}, s, {
    policy: POLICY,
    queries: queries,
    alert_tiers: TIERS,
  });
}

// History: budget remaining falls from 1 to the current value over the
// period with some wobble; ideal only for calendar periods.
function historyOf(s, startMs, endMs, stepSec) {
  const points = [];
  const rnd = prng(s.id.length * 7919 + Math.round(s.objective * 1e4));
  const pStart = s.period.start_ms;
  const pLen = s.period.end_ms - pStart;
  const final = s.budget.remaining;
  for (let t = startMs; t <= endMs; t += stepSec * 1000) {
    if (final === null) {
      points.push({ t_ms: t, budget_remaining: null, error_ratio: null, burn_rate_1h: null });
      continue;
    }
    const f = Math.min(1, Math.max(0, (t - pStart) / Math.max(1, NOW_MS - pStart)));
    const br = round(Math.min(1, 1 - (1 - final) * f + (rnd() - 0.5) * 0.02 * f), 5);
    const burn = round(Math.max(0, (1 - final) * pLen / (NOW_MS - pStart + 1) * (0.5 + rnd())), 4);
    points.push({ t_ms: t, budget_remaining: br, error_ratio: (1 - br) * (1 - s.objective) * f, burn_rate_1h: burn });
  }
  const ideal = s.period.kind === 'calendar'
    ? [{ t_ms: s.period.start_ms, budget_remaining: 1 }, { t_ms: s.period.end_ms, budget_remaining: 0 }]
    : null;
  return { id: s.id, objective: s.objective, start_ms: startMs, end_ms: endMs, step_seconds: stepSec, points, ideal };
}

// ---------------------------------------------------------------- server --

function sendJSON(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(body);
}

function ok(res, data) {
  sendJSON(res, 200, { status: 'success', data: data });
}

function fail(res, status, type, msg) {
  sendJSON(res, status, { status: 'error', errorType: type, error: msg });
}

// Prometheus time parameter: unix seconds (float) or RFC 3339.
function parseTimeParam(v, dflt) {
  if (v === null || v === '') {
    return dflt;
  }
  const n = Number(v);
  if (Number.isFinite(n)) {
    return n * 1000;
  }
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : NaN;
}

function matchesFilters(s, q) {
  if (q.get('service') && s.service !== q.get('service')) {
    return false;
  }
  if (q.get('state') && (s.state.name || 'none') !== q.get('state')) {
    return false;
  }
  const label = q.get('label');
  if (label) {
    const eq = label.indexOf('=');
    const k = label.slice(0, eq);
    const v = label.slice(eq + 1);
    if (s.labels[k] !== v && s.group_labels[k] !== v) {
      return false;
    }
  }
  const text = q.get('q');
  if (text) {
    const hay = [s.id, s.service, s.name, s.description].concat(
      Object.entries(s.labels).map(([k, v]) => k + '=' + v),
      Object.entries(s.group_labels).map(([k, v]) => k + '=' + v)).join('\n').toLowerCase();
    if (!hay.includes(text.toLowerCase())) {
      return false;
    }
  }
  return true;
}

function api(req, res, url) {
  const q = url.searchParams;
  const p = url.pathname;
  if (p === '/api/v1/slos') {
    return ok(res, { eval_time: iso(NOW_MS), eval_time_ms: NOW_MS, interval_seconds: 30,
      eval_duration_seconds: 0.012, slos: SLOS.filter((s) => matchesFilters(s, q)) });
  }
  if (p === '/api/v1/services') {
    const by = new Map();
    for (const s of SLOS) {
      const e = by.get(s.service) || { service: s.service, slos: 0, worst_state: 'healthy',
        min_budget_remaining: null, firing: 0, allow_deploy: true };
      e.slos++;
      e.firing += s.firing;
      by.set(s.service, e);
    }
    return ok(res, { services: Array.from(by.values()) });
  }
  if (p === '/api/v1/annotations' && req.method === 'GET') {
    // Two events for every SLO, one with markup in its title (escaping),
    // filtered to [start, end] like the API.
    const end = parseTimeParam(q.get('end'), NOW_MS);
    const start = parseTimeParam(q.get('start'), 0);
    const slo = q.get('slo') || '';
    const all = [
      { id: 1, slo: '', kind: 'deploy', time: (NOW_MS - 2 * 3600e3) / 1000, time_ms: NOW_MS - 2 * 3600e3,
        title: 'Deploy ' + '<script>alert(3)</script>', text: '', tags: ['release'], author: 'fixture',
        created: NOW_MS / 1000 },
      { id: 2, slo: slo, kind: 'incident', time: (NOW_MS - 5 * 3600e3) / 1000, time_ms: NOW_MS - 5 * 3600e3,
        end: (NOW_MS - 4 * 3600e3) / 1000, end_ms: NOW_MS - 4 * 3600e3, title: 'Fixture incident', text: 'a range',
        tags: [], author: 'fixture', created: NOW_MS / 1000 },
    ];
    return ok(res, all.filter((a) => (a.end_ms || a.time_ms) >= start && a.time_ms <= end));
  }
  const m = /^\/api\/v1\/slos\/(.+?)(\/history)?$/.exec(p);
  if (m) {
    let id;
    try {
      id = decodeURIComponent(m[1]);
    } catch (e) {
      return fail(res, 400, 'bad_data', 'bad id encoding');
    }
    const s = BY_ID.get(id);
    if (!s) {
      return fail(res, 404, 'not_found', 'no SLO ' + JSON.stringify(id));
    }
    if (!m[2]) {
      return ok(res, detailOf(s));
    }
    // Defaults as the API's: the period so far.
    const end = parseTimeParam(q.get('end'), NOW_MS);
    const start = parseTimeParam(q.get('start'), Math.min(s.period.start_ms, end));
    if (!Number.isFinite(start) || !Number.isFinite(end) || end < start) {
      return fail(res, 400, 'bad_data', 'invalid start/end');
    }
    const step = q.get('step') ? Number(q.get('step')) : Math.max(1, Math.ceil((end - start) / 1000 / 300));
    if ((end - start) / 1000 / step > 11000) {
      return fail(res, 400, 'bad_data', 'exceeded maximum resolution of 11,000 points');
    }
    return ok(res, historyOf(s, Math.floor(start), Math.floor(end), step));
  }
  if (p === '/api/v1/query' || p === '/api/v1/query_range') {
    const expr = q.get('query') || '';
    if (expr.trim() === '') {
      return fail(res, 400, 'bad_data', 'invalid parameter "query": empty expression');
    }
    const series = [0, 1, 2].map((k) => ({ __name__: 'fixture_value', instance: 'host-' + k, expr_len: String(expr.length) }));
    if (p === '/api/v1/query') {
      const t = NOW_MS / 1000;
      return ok(res, { resultType: 'vector', result: series.map((metric, k) => ({ metric, value: [t, String(0.25 * (k + 1))] })) });
    }
    const start = Number(q.get('start'));
    const end = Number(q.get('end'));
    const step = Number(q.get('step'));
    if (!Number.isFinite(start) || !Number.isFinite(end) || !(step > 0) || (end - start) / step > 11000) {
      return fail(res, 400, 'bad_data', 'invalid range');
    }
    return ok(res, { resultType: 'matrix', result: series.map((metric, k) => {
      const values = [];
      for (let t = start; t <= end; t += step) {
        values.push([t, String(round(Math.sin(t / 600 + k) + k * 1.5, 4))]);
      }
      return { metric, values };
    }) });
  }
  return fail(res, 404, 'not_found', 'unknown API path ' + p);
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '': 'text/plain; charset=utf-8' };

function sendFile(res, file) {
  fs.readFile(file, (err, data) => {
    if (err) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('404 page not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
      'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
    res.end(data);
  });
}

function staticPath(p) {
  if (p === '/' || p === '/query' || p.startsWith('/slo/')) {
    return path.join(webDir, 'index.html');
  }
  const v = /^\/vendor\/([a-z0-9._-]+)\/([A-Za-z0-9._-]+)$/.exec(p);
  if (v) {
    const base = path.join(webDir, 'node_modules', v[1]);
    const inDist = path.join(base, 'dist', v[2]);
    return fs.existsSync(inDist) ? inDist : path.join(base, v[2]);
  }
  if (/^\/[A-Za-z0-9._-]+\.(html|js|css|svg)$/.test(p)) {
    return path.join(webDir, p.slice(1));
  }
  return null;
}

const server = http.createServer((req, res) => {
  let url;
  try {
    url = new URL(req.url, 'http://' + host);
  } catch (e) {
    res.writeHead(400);
    res.end();
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' });
    res.end();
    return;
  }
  if (url.pathname.startsWith('/api/')) {
    api(req, res, url);
    return;
  }
  const file = staticPath(url.pathname);
  if (file === null) {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('404 page not found\n');
    return;
  }
  sendFile(res, file);
});

server.listen(port, host, () => {
  const a = server.address();
  process.stdout.write('listening http://' + host + ':' + a.port + '\n');
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
