// ui_test.mjs: drives burnrate's web UI in headless Chromium (Debian's
// /usr/bin/chromium through playwright-core from web/node_modules) against a
// running server, and checks what a person would see against the JSON API of
// the same server.
//
//   node tests/ui/ui_test.mjs --base-url http://127.0.0.1:PORT --out DIR
//        [--mode full|scale|smoke] [--chromium /usr/bin/chromium] [--slo ID]
//
// full   (burnrate fed live by the load generator): overview numbers equal
//        /api/v1/slos of the same evaluation, filters/search/sort and the
//        URL, the markup label value renders as text, keyboard navigation,
//        the SLO page (charts drawn from /history, alert table, windows,
//        budget minutes, policy, PromQL copy and link) equal to the JSON the
//        page was answered with and consistent with a fresh API read, the
//        query page; annotations POSTed to the SLO page's SLO show as chart
//        markers (title on focus) and in the Events list, a budget
//        adjustment active now as an overview badge, a hatched band and a
//        table row; screenshots in DIR, plus readme-overview.png and
//        readme-slo.png cut to README size.
// scale  (the fixture server's 1,000 SLOs): the overview shows every one
//        with the API's numbers (build and paint times printed), search and
//        escaping at that size, the markup SLO's page.
// smoke  (any burnrate): the embedded shell, uPlot and app.js load under the
//        server's CSP on every UI path.
// Every mode also fails on a page error, a console error, a dialog, or a
// request to another origin; full and scale also on a failed API request
// (listed with the API's error text). One line per check ("ok"/"not ok"), then "N passed, M
// failed"; exit status 1 when anything failed.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.resolve(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const args = process.argv.slice(2);
function arg(name, dflt) {
  const i = args.indexOf('--' + name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}
const BASE = (arg('base-url', process.env.BR_UI_BASE_URL || '') || '').replace(/\/$/, '');
const OUT = arg('out', process.env.BR_TEST_OUT || '');
const MODE = arg('mode', 'full');
const CHROMIUM = arg('chromium', process.env.CHROMIUM || '/usr/bin/chromium');
const SLO = arg('slo', ''); // full mode: the SLO page to check in detail and shoot for the README
const XSS = '<script>alert(1)</script>';
const TIMEOUT = 30000;
if (!BASE || !OUT) {
  console.error('usage: ui_test.mjs --base-url URL --out DIR [--mode full|smoke]');
  process.exit(2);
}
fs.mkdirSync(OUT, { recursive: true });

// ---------------------------------------------------------------- checks --

let passed = 0;
let failed = 0;
function ok(name) {
  passed++;
  console.log('ok ' + (passed + failed) + ' - ' + name);
}
function notOk(name, detail) {
  failed++;
  console.log('not ok ' + (passed + failed) + ' - ' + name + (detail ? ': ' + detail : ''));
}
function check(name, cond, detail) {
  if (cond) {
    ok(name);
  } else {
    notOk(name, detail);
  }
  return !!cond;
}
function equal(name, got, want) {
  return check(name, Object.is(got, want) || JSON.stringify(got) === JSON.stringify(want),
    'got ' + JSON.stringify(got) + ', want ' + JSON.stringify(want));
}
// Runs one behaviour; an exception fails it without stopping the others.
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    notOk(name, (e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : String(e)));
  }
}

async function apiPost(p, body) {
  const r = await fetch(BASE + p, { method: 'POST', body: JSON.stringify(body),
    headers: { Accept: 'application/json', 'Content-Type': 'application/json', 'X-Burnrate-Author': 'ui-test' } });
  const out = await r.json();
  if (out.status !== 'success') {
    throw new Error('POST ' + p + ': HTTP ' + r.status + ': ' + out.errorType + ': ' + out.error);
  }
  return out.data;
}

async function api(p) {
  const r = await fetch(BASE + p, { headers: { Accept: 'application/json' } });
  const body = await r.json();
  if (body.status !== 'success') {
    throw new Error(p + ': ' + body.errorType + ': ' + body.error);
  }
  return body.data;
}

// ------------------------------------------------- shown text vs numbers --

const NA = '—';
function decimals(text) {
  const m = /\.(\d+)/.exec(text);
  return m ? m[1].length : 0;
}
// "99.95%" against ratio 0.9995: equal within half a unit of the last digit.
function pctMatches(shown, ratio) {
  if (ratio === null || ratio === undefined) {
    return shown === NA;
  }
  const m = /^(-?\d+(?:\.\d+)?)%$/.exec(shown);
  if (!m) {
    return false;
  }
  return Math.abs(Number(m[1]) - ratio * 100) <= 0.5 * Math.pow(10, -decimals(m[1])) + 1e-9;
}
function burnMatches(shown, v) {
  if (v === null || v === undefined) {
    return shown === NA;
  }
  const m = /^(-?\d+(?:\.\d+)?)×$/.exec(shown);
  return !!m && Math.abs(Number(m[1]) - v) <= 0.5 * Math.pow(10, -decimals(m[1])) + 1e-9;
}
function minutesMatches(shown, seconds) {
  if (seconds === null || seconds === undefined) {
    return shown === NA;
  }
  const m = /^(-?\d+(?:\.\d+)?) min$/.exec(shown);
  return !!m && Math.abs(Number(m[1]) - seconds / 60) <= 0.05 + 1e-9;
}
// "1d 2h" against seconds: the UI shows the two largest units, so the
// shown value may be short by less than one of its smallest unit.
function durationMatches(shown, seconds) {
  if (seconds === null || seconds === undefined) {
    return shown === NA;
  }
  const m = /^(-?)((?:\d+[dhms] ?){1,2})$/.exec(shown);
  if (!m) {
    return false;
  }
  const size = { d: 86400, h: 3600, m: 60, s: 1 };
  let total = 0;
  let smallest = 1;
  for (const [, n, u] of m[2].matchAll(/(\d+)([dhms])/g)) {
    total += Number(n) * size[u];
    smallest = size[u];
  }
  const a = Math.round(Math.abs(seconds));
  return (m[1] === '-') === (seconds < 0 && a > 0) && a >= total && a - total < smallest;
}
// An alert's value or threshold as the alert table shows it, by kind.
function alertValueMatches(kind, shown, v) {
  if (kind === 'burn_rate') {
    return burnMatches(shown, v);
  }
  if (kind === 'budget_drop') {
    return pctMatches(shown, v);
  }
  if (kind === 'exhaustion') {
    return durationMatches(shown, v);
  }
  return numMatches(shown, v);
}
function numMatches(shown, v) {
  if (v === null || v === undefined) {
    return shown === NA;
  }
  const n = Number(shown);
  return Number.isFinite(n) && Math.abs(n - v) <= Math.max(1e-9, Math.abs(v) * 1e-5);
}

function stateOf(s) {
  return s.state && s.state.name ? s.state.name : 'no data';
}
function alertWindows(slos) {
  const seen = new Map();
  for (const s of slos) {
    for (const w of s.windows || []) {
      if (w.period !== true && w.window_seconds !== (s.period && s.period.duration_seconds)) {
        seen.set(w.window, w.window_seconds);
      }
    }
  }
  return [...seen.keys()];
}
function burnOf(s, window) {
  const w = (s.windows || []).find((x) => x.window === window);
  return w ? w.burn_rate : null;
}
function matchesQuery(s, q) {
  const parts = [s.id, s.slo_id, s.service, s.name, s.description];
  for (const set of [s.labels || {}, s.group_labels || {}]) {
    for (const k of Object.keys(set)) {
      parts.push(k + '=' + set[k]);
    }
  }
  return parts.filter((p) => typeof p === 'string').join('\n').toLowerCase().includes(q.toLowerCase());
}

// Differences between the rendered overview rows and the API's SLOs.
function overviewDiffs(rows, slos) {
  const diffs = [];
  const byId = new Map(rows.map((r) => [r.id, r]));
  const windows = alertWindows(slos);
  for (const s of slos) {
    const r = byId.get(s.id);
    if (!r) {
      diffs.push(s.id + ': no row');
      continue;
    }
    const bad = (what, shown, want) => diffs.push(s.id + ' ' + what + ': shown ' + JSON.stringify(shown) +
      ', API ' + JSON.stringify(want));
    if (r.service !== s.service) {
      bad('service', r.service, s.service);
    }
    if (!r.name.startsWith(s.name)) {
      bad('name', r.name, s.name);
    }
    for (const [k, v] of Object.entries(s.group_labels || {})) {
      if (!r.name.includes(k + '=' + v)) {
        bad('group label', r.name, k + '=' + v);
      }
    }
    if (r.state !== stateOf(s)) {
      bad('state', r.state, stateOf(s));
    }
    if (!pctMatches(r.objective, s.objective)) {
      bad('objective', r.objective, s.objective);
    }
    if (!pctMatches(r.sli, s.sli)) {
      bad('sli', r.sli, s.sli);
    }
    if (!pctMatches(r.budget, s.budget ? s.budget.remaining : null)) {
      bad('budget', r.budget, s.budget && s.budget.remaining);
    }
    for (const w of windows) {
      if (!burnMatches(r['burn-' + w], burnOf(s, w))) {
        bad('burn ' + w, r['burn-' + w], burnOf(s, w));
      }
    }
    if (Number(r.firing) !== (s.firing || 0)) {
      bad('firing', r.firing, s.firing);
    }
  }
  if (rows.length !== slos.length) {
    diffs.push('rows: ' + rows.length + ', API SLOs: ' + slos.length);
  }
  return diffs;
}

// ------------------------------------------------------------------ page --

async function readRows(page) {
  return page.$$eval('#slo-table tbody tr', (trs) => trs.map((tr) => {
    const o = { id: tr.getAttribute('data-id') };
    for (const td of tr.cells) {
      o[td.getAttribute('data-col')] = td.textContent.trim();
    }
    return o;
  }));
}
async function shownCount(page) {
  return Number(await page.getAttribute('#shown', 'data-shown'));
}
async function gotoOverview(page, query) {
  await page.goto(BASE + '/' + (query || ''));
  await page.waitForSelector('main[data-loaded="true"]', { state: 'attached', timeout: TIMEOUT });
}
// Waits until the page shows the evaluation the API serves now, reloading
// when the server evaluated again in between (live data).
async function overviewInSync(page) {
  for (let i = 0; i < 6; i++) {
    const data = await api('/api/v1/slos');
    const shown = Number(await page.getAttribute('main', 'data-eval-time-ms'));
    if (shown === data.eval_time_ms) {
      return data;
    }
    await page.waitForTimeout(1000);
    if (i >= 1) {
      await page.reload();
      await page.waitForSelector('main[data-loaded="true"]', { state: 'attached', timeout: TIMEOUT });
    }
  }
  throw new Error('the page never showed the evaluation the API serves');
}

async function main() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const dialogs = [];
  const pageErrors = [];
  const consoleErrors = [];
  const foreign = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') {
      consoleErrors.push(m.text());
    }
  });
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(BASE + '/') && !u.startsWith('data:')) {
      foreign.push(u);
    }
  });
  // API answers the page got: failures with the API's own error text, and
  // the latest JSON of each SLO detail (what the SLO page shows).
  const apiFailures = [];
  page.on('response', async (r) => {
    const u = new URL(r.url());
    if (!u.pathname.startsWith('/api/')) {
      return;
    }
    let body = null;
    try {
      body = await r.json();
    } catch (e) {
      body = null;
    }
    if (r.status() >= 400) {
      apiFailures.push(r.status() + ' ' + decodeURIComponent(u.pathname) + u.search + ': ' +
        (body && body.error ? body.error : '(no JSON error)'));
      return;
    }
    const m = /^\/api\/v1\/slos\/(.+)$/.exec(u.pathname);
    if (m && !m[1].endsWith('/history') && body && body.status === 'success') {
      seenDetails.set(body.data.id, body.data);
    }
  });

  if (MODE === 'smoke') {
    await smoke(page, consoleErrors);
  } else if (MODE === 'scale') {
    await scale(page);
  } else {
    await full(page);
  }

  equal('no JavaScript dialog opened (no injected script ran)', dialogs, []);
  equal('no uncaught page errors', pageErrors, []);
  equal('nothing requested from another origin', foreign, []);
  if (MODE !== 'smoke') {
    equal('every API request of the UI succeeded', apiFailures, []);
  }
  // A failed API request also logs "Failed to load resource"; it is
  // reported above with the API's message, so it is not counted twice.
  const others = consoleErrors.filter((m) => !(apiFailures.length > 0 &&
    /^Failed to load resource: the server responded with a status of [45]\d\d/.test(m)));
  equal('no console errors (CSP violations, failed loads)', others, []);
  await browser.close();
}

// SLO detail JSON by id, as last answered to the page.
const seenDetails = new Map();

// ------------------------------------------------------------------ smoke --

async function smoke(page, consoleErrors) {
  for (const p of ['/', '/slo/' + encodeURIComponent('x{a="b"}'), '/query']) {
    await step('shell renders at ' + p, async () => {
      const resp = await page.goto(BASE + p);
      equal('HTTP status of ' + p, resp.status(), 200);
      await page.waitForFunction(() => document.querySelector('main') && document.querySelector('main').children.length > 0);
      equal('uPlot loaded at ' + p, await page.evaluate(() => typeof window.uPlot), 'function');
      check('page heading or status rendered at ' + p,
        await page.evaluate(() => document.querySelector('main h1, main .load, main .error') !== null));
    });
  }
  await step('query page runs PromQL on the server', async () => {
    await page.goto(BASE + '/query?' + new URLSearchParams({ expr: 'vector(1)', tab: 'table' }));
    await page.waitForSelector('#result[data-loaded="true"], #result[data-loaded="error"]', { state: 'attached' });
    equal('instant query answered', await page.getAttribute('#result', 'data-loaded'), 'true');
    equal('one result row for vector(1)', await page.$$eval('#query-table tbody tr', (t) => t.map((r) => r.cells[1].textContent)), ['1']);
    await page.click('.tabs button[data-tab="graph"]');
    await page.waitForSelector('#result[data-loaded="true"] figure canvas', { state: 'attached' });
    ok('range query drawn as a graph');
  });
  // A burnrate without SLO files answers the SLO API with 404 or 503 (no
  // evaluation yet); the pages show that, and it is the only console error
  // this mode accepts.
  for (let i = consoleErrors.length - 1; i >= 0; i--) {
    if (/Failed to load resource: the server responded with a status of (404|503)/.test(consoleErrors[i])) {
      consoleErrors.splice(i, 1);
    }
  }
  await page.screenshot({ path: path.join(OUT, 'smoke.png') });
}

// ------------------------------------------------------------------- full --

const MARKUP = /[<>]/;
function hasMarkup(s) {
  return [s.id, s.name, s.description].concat(Object.values(s.labels || {}),
    Object.values(s.group_labels || {})).some((v) => typeof v === 'string' && MARKUP.test(v));
}
function findXss(slos) {
  return slos.find((s) => Object.values(s.labels || {}).concat(Object.values(s.group_labels || {})).includes(XSS)) || null;
}
// Windows of an SLO without repeats, as the SLO page lists them: where the
// API lists a window twice, the one flagged `period` is shown.
function uniqueWindows(s) {
  const out = new Map();
  for (const w of s.windows || []) {
    const k = w.window + '/' + w.window_seconds;
    if (!out.has(k) || w.period === true) {
      out.set(k, w);
    }
  }
  return [...out.values()];
}

// Live data changes every evaluation, and the overview re-reads the API on
// its own: expectations are taken from the latest answer the page got, and
// a check is retried for a moment while a new answer is being drawn.
let latestOverview = null;
async function settle(name, fn) {
  let last = null;
  for (let i = 0; i < 15; i++) {
    last = await fn();
    if (JSON.stringify(last[0]) === JSON.stringify(last[1])) {
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return equal(name, last[0], last[1]);
}
function currentSlos() {
  return latestOverview ? latestOverview.slos : [];
}

// The overview against an API read of the same evaluation; returns that read.
async function checkOverview(page, label) {
  await gotoOverview(page);
  const data = await overviewInSync(page);
  const rows = await readRows(page);
  const diffs = overviewDiffs(rows, data.slos);
  check('overview shows every SLO with the API\'s numbers (' + data.slos.length + ' rows' + label + ')',
    diffs.length === 0, diffs.slice(0, 8).join('; ') + (diffs.length > 8 ? ' … ' + diffs.length + ' in all' : ''));
  const t = await page.$eval('#slo-table', (e) => Object.assign({}, e.dataset));
  console.log('# overview with ' + data.slos.length + ' SLOs: rows built in ' + t.buildMs + ' ms, sorted and inserted in ' +
    t.viewMs + ' ms; API answered at ' + (t.fetchedMs || '?') + ' ms, painted at ' + (t.paintedMs || '?') + ' ms after navigation');
  return data;
}

async function checkXssRendering(page, slos) {
  const xssSlo = findXss(slos);
  await step('label values render as text', async () => {
    check('the API has an SLO with the label value ' + XSS, xssSlo !== null,
      'no SLO label value equals ' + XSS + '; the load generator must send one');
    if (!xssSlo) {
      return;
    }
    await page.fill('#f-q', XSS);
    await settle('search "' + XSS + '" shows the matching SLOs', async () =>
      [await shownCount(page), currentSlos().filter((s) => matchesQuery(s, XSS)).length]);
    check('URL carries q', new URL(page.url()).searchParams.get('q') === XSS, page.url());
    const text = await page.$eval('#slo-table tbody', (tb) => tb.textContent);
    check('the markup is shown as text in the table', text.includes(XSS));
    equal('no <script> element was created inside the page body',
      await page.evaluate(() => document.querySelectorAll('main script, main img').length), 0);
    await page.fill('#f-q', '');
  });
  return xssSlo;
}

async function checkXssSloPage(page, xssSlo) {
  await step('SLO page of the markup-labelled SLO', async () => {
    if (!xssSlo) {
      throw new Error('no SLO with the markup label value');
    }
    await page.goto(BASE + '/slo/' + encodeURIComponent(xssSlo.id));
    await page.waitForSelector('main[data-loaded="true"] .slo-id');
    equal('id shown as text', await page.textContent('.slo-id'), xssSlo.id);
    check('heading shows the label value as text', (await page.textContent('.slo-head h1')).includes(XSS));
    equal('no script or img element in the page body', await page.evaluate(() => document.querySelectorAll('main script, main img').length), 0);
    await page.waitForSelector('section.charts[data-loaded="true"]', { state: 'attached' });
    equal('its charts loaded without errors', await page.getAttribute('section.charts', 'data-errors'), '0');
    const hist = await api('/api/v1/slos/' + encodeURIComponent(xssSlo.id) + '/history');
    equal('its burn-down draws the ideal line when the API gives one',
      await page.getAttribute('figure[data-chart="burndown"]', 'data-ideal'), String(Array.isArray(hist.ideal) && hist.ideal.length > 0));
    await page.screenshot({ path: path.join(OUT, 'slo-markup-' + MODE + '.png') });
  });
}

// One SLO page against the JSON it was answered with and a fresh API
// read; saves shot.png (and readme-slo.png when readme). Returns the JSON.
async function checkSloPage(page, target, shot, readme) {
  await page.goto(BASE + '/slo/' + encodeURIComponent(target.id));
  await page.waitForSelector('section.charts[data-loaded="true"]', { state: 'attached' });
  const detail = seenDetails.get(target.id);
  if (!detail) {
    throw new Error('the page never received /api/v1/slos/' + target.id);
  }
  // The JSON the page shows is the API's own: stable fields equal a fresh read.
  const fresh = await api('/api/v1/slos/' + encodeURIComponent(target.id));
  const ident = (d) => ({ id: d.id, service: d.service, name: d.name, objective: d.objective,
    total: d.budget.total_seconds, period: d.period.kind, policy: d.policy,
    alerts: d.alerts.map((a) => [a.alertname, a.kind, a.tier, a.severity, a.long_window, a.short_window, a.factor]) });
  equal('the page\'s SLO JSON agrees with a fresh API read', ident(detail), ident(fresh));

  const errors = await page.getAttribute('section.charts', 'data-errors');
  const errText = await page.$$eval('section.charts .chart-error', (es) => es.map((e) => e.textContent));
  check('charts loaded without errors', errors === '0', errText.join('; '));
  for (const c of ['burndown', 'sli', 'burnrate']) {
    check('chart ' + c + ' has a canvas', (await page.$$('figure[data-chart="' + c + '"] canvas')).length > 0);
    check('chart ' + c + ' has points', Number(await page.getAttribute('figure[data-chart="' + c + '"]', 'data-points')) > 0);
  }
  const hist = await api('/api/v1/slos/' + encodeURIComponent(target.id) + '/history');
  check('the period history has budget values', hist.points.some((p) => p.budget_remaining !== null));
  equal('burn-down draws the ideal line when the API gives one',
    await page.getAttribute('figure[data-chart="burndown"]', 'data-ideal'), String(Array.isArray(hist.ideal) && hist.ideal.length > 0));

  const alertRows = await page.$$eval('#alert-table tbody tr', (trs) => trs.map((tr) => ({
    name: tr.cells[0].textContent, windows: tr.cells[2].textContent, factor: tr.cells[3].textContent,
    long: tr.cells[4].textContent, short: tr.cells[5].textContent, threshold: tr.cells[6].textContent,
    state: tr.cells[7].textContent.trim() })));
  equal('alert table has one row per alert', alertRows.length, detail.alerts.length);
  const diffs = [];
  detail.alerts.forEach((a, i) => {
    const r = alertRows[i] || {};
    const vm = (shown, v) => alertValueMatches(a.kind, shown, v);
    if (!(r.name || '').startsWith(a.alertname)) diffs.push(i + ' name ' + r.name);
    if (r.windows !== (a.short_window ? a.long_window + ' + ' + a.short_window : a.long_window)) diffs.push(i + ' windows ' + r.windows);
    if (a.kind === 'burn_rate' ? !burnMatches(r.factor, a.factor) : r.factor !== NA) diffs.push(i + ' factor ' + r.factor + ' vs ' + a.factor);
    if (!vm(r.long, a.long_value)) diffs.push(i + ' long ' + r.long + ' vs ' + a.long_value);
    if (!vm(r.short, a.short_value)) diffs.push(i + ' short ' + r.short + ' vs ' + a.short_value);
    if (!vm(r.threshold, a.threshold)) diffs.push(i + ' threshold ' + r.threshold + ' vs ' + a.threshold);
    if (r.state !== a.state) diffs.push(i + ' state ' + r.state + ' vs ' + a.state);
  });
  check('alert table values and states equal the API\'s', diffs.length === 0, diffs.join('; '));

  const winRows = await page.$$eval('#window-table tbody tr', (trs) => trs.map((tr) => ({
    window: tr.getAttribute('data-window'), ratio: tr.cells[1].textContent, burn: tr.cells[2].textContent })));
  const wantWindows = uniqueWindows(detail);
  equal('windows table lists each window once', winRows.map((r) => r.window), wantWindows.map((w) => w.window));
  const ratioMatches = (shown, v) => (shown === '<0.001%' ? v > 0 && v < 1e-5 : pctMatches(shown, v));
  const wdiffs = wantWindows.filter((w, i) => !burnMatches((winRows[i] || {}).burn, w.burn_rate) ||
    !ratioMatches((winRows[i] || {}).ratio, w.error_ratio)).map((w) => w.window);
  equal('window error ratios and burn rates equal the API\'s', wdiffs, []);

  const b = detail.budget;
  const allowed = await page.textContent('[data-card="budget"] [data-k="allowed"]');
  const used = await page.textContent('[data-card="budget"] [data-k="used"]');
  check('budget allowed in minutes', minutesMatches(allowed, b.total_seconds), allowed + ' vs ' + b.total_seconds + ' s');
  check('budget used in minutes', minutesMatches(used, b.consumed === null ? null : b.consumed * b.total_seconds),
    used + ' vs ' + b.consumed + ' of ' + b.total_seconds + ' s');
  check('budget remaining shown', pctMatches(await page.textContent('[data-card="budget"] .num'), b.remaining));
  check('SLI card', pctMatches(await page.textContent('[data-card="sli"] .card-value'), detail.sli));
  const deploy = await page.textContent('[data-k="deploy"]');
  equal('policy says whether deploys are allowed', deploy,
    detail.state.name === null ? 'undecided (no data)' : detail.state.allow_deploy ? 'allowed' : 'blocked');
  equal('policy actions listed', await page.$$eval('ul.actions li', (lis) => lis.map((l) => l.textContent)),
    detail.state.actions || []);

  const shownQueries = await page.$$eval('dl.queries code.promql', (cs) => cs.map((c) => c.textContent));
  equal('every query behind the numbers is shown', shownQueries, Object.keys(detail.queries).sort().map((k) => detail.queries[k]));
  await page.screenshot({ path: path.join(OUT, shot + '.png'), fullPage: true });
  console.log('# screenshot ' + path.join(OUT, shot + '.png') + ' (' + target.id + ')');
  if (!readme) {
    return detail;
  }
  // README size: heading, cards, charts and the alert table.
  const box = await page.$eval('section[aria-labelledby="h-alerts"]', (e) => {
    const r = e.getBoundingClientRect();
    return { bottom: r.bottom + window.scrollY };
  });
  await page.screenshot({ path: path.join(OUT, 'readme-slo.png'), fullPage: true,
    clip: { x: 0, y: 0, width: 1440, height: Math.min(2200, Math.ceil(box.bottom) + 12) } });
  return detail;
}

// Annotations POSTed for target (returned, as stored) before its page is
// checked, so the README's SLO shot shows markers too: a deploy (a point),
// an incident (a range) and a gate decision, all within the last hour.
async function postAnnotations(target) {
  const now = Date.now() / 1000;
  const posted = [];
  posted.push(await apiPost('/api/v1/annotations', { slo: target.slo_id || target.id, kind: 'deploy',
    time: now - 50 * 60, title: 'Deploy checkout v2.4.1', text: 'Rolled out by the pipeline', tags: ['release'] }));
  posted.push(await apiPost('/api/v1/annotations', { slo: target.slo_id || target.id, kind: 'incident',
    time: now - 40 * 60, end: now - 20 * 60, title: 'INC-1042 elevated 5xx', tags: ['sev2'] }));
  posted.push(await apiPost('/api/v1/annotations', { slo: '{service="' + target.service + '"}', kind: 'gate',
    time: now - 10 * 60, title: 'gate deny: ' + target.service + ' <b>not bold</b>' }));
  return posted;
}

// The SLO page (already shown) against the annotations posted for it.
async function checkAnnotations(page, target, posted) {
  await step('annotations on the SLO page', async () => {
    await page.waitForSelector('#events[data-events]', { state: 'attached' });
    const listed = await page.$$eval('#event-table tbody tr', (trs) => trs.map((tr) => ({
      id: Number(tr.dataset.annotation), kind: tr.dataset.kind,
      text: [...tr.cells].map((c) => c.textContent.trim()),
    })));
    const fromApi = await api('/api/v1/annotations?' + new URLSearchParams({ slo: target.id, limit: '500' }));
    for (const a of posted) {
      const row = listed.find((r) => r.id === a.id);
      check('Events lists ' + a.kind + ' annotation ' + a.id, !!row, JSON.stringify(listed.slice(0, 5)));
      if (!row) {
        continue;
      }
      equal('Events row kind of ' + a.id, row.kind, a.kind);
      check('Events row shows title, kind and author of ' + a.id,
        row.text[1].endsWith(a.kind) && row.text[2].startsWith(a.title) && row.text[3] === a.author,
        JSON.stringify(row.text));
      check('the author records the X-Burnrate-Author name', a.author.startsWith('ui-test'), a.author);
      check('the API answers annotation ' + a.id + ' for the SLO', fromApi.some((x) => x.id === a.id));
      for (const chartName of ['burndown', 'sli', 'burnrate']) {
        const sel = 'figure[data-chart="' + chartName + '"] .mark[data-annotation="' + a.id + '"]';
        const mark = await page.$(sel);
        check(chartName + ' chart has a marker for ' + a.id, mark !== null);
        if (mark && chartName === 'sli') {
          equal('marker kind class of ' + a.id, await mark.evaluate((e) => e.dataset.kind), a.kind);
          check('marker of ' + a.id + ' names its title for screen readers',
            (await mark.getAttribute('aria-label')).includes(a.title));
          equal('marker flag letter of ' + a.id, await mark.$eval('.mark-flag', (f) => f.textContent),
            { deploy: 'D', incident: 'I', gate: 'G', note: 'N' }[a.kind]);
        }
      }
    }
    const incident = posted.find((a) => a.kind === 'incident');
    check('a range annotation is a band wider than a line', await page.$eval(
      'figure[data-chart="sli"] .mark[data-annotation="' + incident.id + '"]',
      (e) => e.classList.contains('range') && e.getBoundingClientRect().width > 4));
    // Events newest first, as text.
    const times = await page.$$eval('#event-table tbody tr', (trs) => trs.map((tr) => tr.cells[0].textContent));
    check('Events are newest first', times.every((t, i) => i === 0 || times[i - 1] >= t), JSON.stringify(times));
    equal('markup in a title is text, not an element',
      await page.evaluate(() => document.querySelectorAll('#events b, .marks b').length), 0);
    // Over 6h the markers stand apart (for the shot); they are placed again.
    await page.click('.ranges button[data-range="6h"]');
    await page.waitForSelector('section.charts[data-loaded="true"][data-range="6h"]', { state: 'attached' });
    const after = Number(await page.getAttribute('figure[data-chart="sli"]', 'data-marks'));
    check('markers on the SLI chart after the range change', after >= posted.length, String(after));
    // Keyboard: Tab reaches a marker, and its title shows while focused.
    const deploy = posted.find((a) => a.kind === 'deploy');
    const sel = 'figure[data-chart="sli"] .mark[data-annotation="' + deploy.id + '"]';
    await page.focus(sel);
    const tip = await page.$eval(sel + ' .mark-tip', (t) => ({ shown: getComputedStyle(t).display !== 'none', text: t.textContent }));
    check('a focused marker shows its title', tip.shown && tip.text.includes(deploy.title), JSON.stringify(tip));
    await page.locator(sel).scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(OUT, 'slo-annotations.png'), fullPage: true });
    console.log('# screenshot ' + path.join(OUT, 'slo-annotations.png') + ' (' + target.id + ')');
    // README size: the charts with their markers (one showing its title)
    // and the Events list under them.
    const box = await page.$eval('section.charts', (e) => {
      const r = e.getBoundingClientRect();
      return { top: r.top + window.scrollY, bottom: r.bottom + window.scrollY };
    });
    await page.screenshot({ path: path.join(OUT, 'readme-events.png'), fullPage: true,
      clip: { x: 0, y: Math.max(0, Math.floor(box.top) - 8), width: 1440,
        height: Math.min(1800, Math.ceil(box.bottom - box.top) + 16) } });
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
  });
}

// The overview badge, band and adjustment table for SLOs with an
// adjustment active now (the test's SLO file has one).
async function checkAdjustments(page) {
  await step('budget adjustments in the overview and on the SLO page', async () => {
    await gotoOverview(page);
    const data = await overviewInSync(page);
    const active = data.slos.filter((s) => (s.adjustments || []).some((a) => a.state === 'active')).map((s) => s.id).sort();
    check('the API has an SLO with an adjustment active now', active.length > 0,
      'no SLO lists an active adjustment; the test SLO file has one');
    const badged = (await page.$$eval('#slo-table tbody tr', (trs) => trs
      .filter((tr) => tr.querySelector('[data-adjustment="active"]') !== null)
      .map((tr) => tr.dataset.id))).sort();
    equal('overview badges exactly the SLOs with an active adjustment', badged, active);
    if (active.length === 0) {
      return;
    }
    const id = active.find((x) => x.startsWith('svc-3-availability-by-route')) || active[0];
    const badge = await page.evaluate((x) => {
      const tr = [...document.querySelectorAll('#slo-table tbody tr')].find((r) => r.dataset.id === x);
      const b = tr.querySelector('[data-adjustment="active"]');
      return { text: b.textContent, title: b.title };
    }, id);
    const s = data.slos.find((x) => x.id === id);
    const adj = s.adjustments.find((a) => a.state === 'active');
    check('the badge names the category', badge.text.includes(adj.category.replace(/_/g, ' ')), badge.text);
    check('the badge title names the adjustment', badge.title.includes(adj.name), badge.title);

    await page.goto(BASE + '/slo/' + encodeURIComponent(id) + '?range=1d');
    await page.waitForSelector('section.charts[data-loaded="true"]', { state: 'attached' });
    await page.waitForSelector('#adjustment-table');
    const rows = await page.$$eval('#adjustment-table tbody tr', (trs) => trs.map((tr) => ({
      name: tr.dataset.adjustment, state: tr.dataset.state, text: [...tr.cells].map((c) => c.textContent) })));
    const row = rows.find((r) => r.name === adj.name);
    check('adjustment table lists ' + adj.name, !!row, JSON.stringify(rows));
    if (row) {
      equal('adjustment state shown', row.state, 'active');
      equal('adjustment category shown as text', row.text[1], adj.category.replace(/_/g, ' '));
    }
    for (const chartName of ['burndown', 'sli', 'burnrate']) {
      const labels = await page.$$eval('figure[data-chart="' + chartName + '"] .adj-band', (bs) => bs.map((b) => ({
        name: b.dataset.adjustment, label: b.textContent, width: b.getBoundingClientRect().width })));
      const band = labels.find((b) => b.name === adj.name);
      check(chartName + ' chart shades the adjustment', !!band && band.width > 2, JSON.stringify(labels));
      if (band) {
        check(chartName + ' band carries its category as text', band.label.startsWith(adj.category.replace(/_/g, ' ')), band.label);
      }
    }
    check('the SLO page header shows the active badge', (await page.$('.slo-head [data-adjustment="active"]')) !== null);
    await page.locator('#adjustment-table').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(OUT, 'slo-adjustment.png'), fullPage: true });
    console.log('# screenshot ' + path.join(OUT, 'slo-adjustment.png') + ' (' + id + ')');
  });
}

async function scale(page) {
  let data = null;
  await step('overview matches /api/v1/slos', async () => {
    data = await checkOverview(page, '');
    latestOverview = data;
    await page.screenshot({ path: path.join(OUT, 'overview-scale.png') });
  });
  if (data === null) {
    return;
  }
  const xssSlo = await checkXssRendering(page, data.slos);
  await checkXssSloPage(page, xssSlo);
}

async function full(page) {
  page.on('response', async (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/v1/slos' && u.search === '' && r.status() === 200) {
      try {
        latestOverview = (await r.json()).data;
      } catch (e) {
        // The page navigated away before the body was read.
      }
    }
  });
  let data = null;

  await step('overview matches /api/v1/slos', async () => {
    data = await checkOverview(page, ', live');
    await page.screenshot({ path: path.join(OUT, 'overview.png') });
    // README size: the top of the page, where the table starts.
    await page.screenshot({ path: path.join(OUT, 'readme-overview.png'), clip: { x: 0, y: 0, width: 1440, height: 760 } });
    console.log('# screenshot ' + path.join(OUT, 'overview.png'));
  });
  if (data === null) {
    return;
  }
  if (latestOverview === null) {
    latestOverview = data;
  }
  check('live data has firing alerts', data.slos.some((s) => s.firing > 0),
    'no SLO has a firing alert; the load generator\'s incident should page');

  await step('filter by service and state', async () => {
    const counts = new Map();
    for (const s of data.slos) {
      counts.set(s.service, (counts.get(s.service) || 0) + 1);
    }
    const svc = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0];
    await page.selectOption('#f-service', svc);
    await settle('service filter shows the service\'s SLOs', async () =>
      [await shownCount(page), currentSlos().filter((s) => s.service === svc).length]);
    const apiCount = (await api('/api/v1/slos?service=' + encodeURIComponent(svc))).slos.length;
    equal('service filter count equals the API\'s ?service=', await shownCount(page), apiCount);
    const services = await page.$$eval('#slo-table tbody td[data-col="service"]', (tds) => [...new Set(tds.map((t) => t.textContent))]);
    equal('every shown row has the service', services, [svc]);
    check('URL carries service', new URL(page.url()).searchParams.get('service') === svc, page.url());

    await page.selectOption('#f-service', '');
    const state = ['exhausted', 'critical', 'caution', 'healthy'].find((n) => data.slos.some((s) => stateOf(s) === n));
    await page.selectOption('#f-state', state);
    await settle('state filter shows only ' + state, async () =>
      [await shownCount(page), currentSlos().filter((s) => stateOf(s) === state).length]);
    const states = await page.$$eval('#slo-table tbody td[data-col="state"]', (tds) => [...new Set(tds.map((t) => t.textContent))]);
    equal('every shown row is ' + state, states, [state]);
    check('URL carries state', new URL(page.url()).searchParams.get('state') === state, page.url());
    const apiState = (await api('/api/v1/slos?state=' + state)).slos.map((s) => s.id).sort();
    await settle('state filter shows the API\'s ?state= SLOs', async () =>
      [(await readRows(page)).map((r) => r.id).sort(), apiState]);

    // The URL restores the view.
    await page.goto(page.url());
    await page.waitForSelector('main[data-loaded="true"]', { state: 'attached' });
    equal('reloading the URL keeps the state filter', await page.inputValue('#f-state'), state);
    await settle('reloading the URL keeps the count', async () =>
      [await shownCount(page), currentSlos().filter((s) => stateOf(s) === state).length]);
    await page.click('text=Clear filters');
    await settle('clearing filters shows everything', async () => [await shownCount(page), currentSlos().length]);
  });

  await step('filter by label', async () => {
    const withLabel = data.slos.find((s) => Object.keys(s.labels || {}).length > 0);
    const k = Object.keys(withLabel.labels).sort()[0];
    const v = withLabel.labels[k];
    const pair = k + '=' + v;
    await page.fill('#f-label', pair);
    await settle('label filter ' + pair, async () => [await shownCount(page),
      currentSlos().filter((s) => (s.labels || {})[k] === v || (s.group_labels || {})[k] === v).length]);
    const apiCount = (await api('/api/v1/slos?label=' + encodeURIComponent(pair))).slos.length;
    equal('label filter count equals the API\'s ?label=', await shownCount(page), apiCount);
    await page.fill('#f-label', '');
  });

  const xssSlo = await checkXssRendering(page, data.slos);

  await step('sort by budget', async () => {
    await page.click('th[data-col="budget"] button');
    equal('budget header says ascending', await page.getAttribute('th[data-col="budget"]', 'aria-sort'), 'ascending');
    const order = async (dir) => {
      const rows = await readRows(page);
      const byId = new Map(currentSlos().map((s) => [s.id, s]));
      const vals = rows.map((r) => (byId.get(r.id) && byId.get(r.id).budget ? byId.get(r.id).budget.remaining : null));
      const firstNull = vals.indexOf(null);
      const numbers = firstNull < 0 ? vals : vals.slice(0, firstNull);
      const sorted = numbers.every((x, i) => i === 0 || (dir > 0 ? numbers[i - 1] <= x : numbers[i - 1] >= x));
      const nullsLast = firstNull < 0 || vals.slice(firstNull).every((x) => x === null);
      return [sorted && nullsLast && rows.length === currentSlos().length, true];
    };
    await settle('rows ascend by budget remaining, no data last', () => order(1));
    await page.click('th[data-col="budget"] button');
    equal('second click sorts descending', await page.getAttribute('th[data-col="budget"]', 'aria-sort'), 'descending');
    await settle('rows descend by budget remaining, no data last', () => order(-1));
    check('URL carries the sort', new URL(page.url()).searchParams.get('sort') === 'budget' &&
      new URL(page.url()).searchParams.get('dir') === 'desc', page.url());
  });

  await step('keyboard: Tab to a row, arrows, Enter opens it', async () => {
    await gotoOverview(page);
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    let onRow = false;
    for (let i = 0; i < 80 && !onRow; i++) {
      await page.keyboard.press('Tab');
      onRow = await page.evaluate(() => document.activeElement && document.activeElement.matches('tr.slo-row'));
    }
    check('Tab reaches a table row', onRow);
    const first = await page.evaluate(() => document.activeElement.getAttribute('data-id'));
    await page.keyboard.press('ArrowDown');
    const second = await page.evaluate(() => document.activeElement.getAttribute('data-id'));
    const expectSecond = await page.$eval('#slo-table tbody tr:nth-child(2)', (tr) => tr.getAttribute('data-id'));
    equal('ArrowDown moves to the next row', second, expectSecond);
    check('the next row differs from the first', second !== first);
    await page.keyboard.press('Enter');
    await page.waitForSelector('main[data-loaded="true"] .slo-id');
    equal('Enter opens that SLO\'s page', decodeURIComponent(new URL(page.url()).pathname.slice(5)), second);
    equal('the SLO page shows its id', await page.textContent('.slo-id'), second);
    await page.waitForSelector('section.charts[data-loaded="true"]', { state: 'attached' });
  });

  // The SLO pages: the one asked for with --slo (the README's), else a
  // clean (markup-free) one with firing alerts; and one with a calendar
  // period (so the burn-down has its ideal line) and firing alerts.
  const clean = data.slos.filter((s) => !hasMarkup(s));
  const calendar = clean.find((s) => s.firing > 0 && s.period && s.period.kind === 'calendar') || null;
  const target = (SLO && data.slos.find((s) => s.id === SLO)) || calendar ||
    clean.find((s) => s.firing > 0) || clean[0] || data.slos[0];
  check('the SLO asked for with --slo exists', !SLO || target.id === SLO, SLO);
  if (calendar && calendar.id !== target.id) {
    await step('calendar SLO page matches /api/v1/slos/{id}', async () => {
      await checkSloPage(page, calendar, 'slo-calendar', false);
    });
  }
  let posted = [];
  await step('annotations can be POSTed for the SLO', async () => {
    posted = await postAnnotations(target);
    equal('three annotations stored', posted.length, 3);
  });
  let detail = null;
  await step('SLO page matches /api/v1/slos/{id}', async () => {
    detail = await checkSloPage(page, target, 'slo', true);
  });
  if (posted.length > 0) {
    await checkAnnotations(page, target, posted);
  }
  await checkAdjustments(page);
  await step('back to the SLO page', async () => {
    await page.goto(BASE + '/slo/' + encodeURIComponent(target.id));
    await page.waitForSelector('section.charts[data-loaded="true"]', { state: 'attached' });
  });

  await step('SLO page range selector', async () => {
    const [r] = await Promise.all([
      page.waitForRequest((q) => q.url().includes('/history?')),
      page.click('.ranges button[data-range="1h"]'),
    ]);
    const u = new URL(r.url());
    const span = Number(u.searchParams.get('end')) - Number(u.searchParams.get('start'));
    check('1h asks /history for one hour', Math.abs(span - 3600) < 1, 'span ' + span);
    await page.waitForSelector('section.charts[data-loaded="true"][data-range="1h"]', { state: 'attached' });
    equal('URL carries the range', new URL(page.url()).searchParams.get('range'), '1h');
    check('SLI chart redrawn with points', Number(await page.getAttribute('figure[data-chart="sli"]', 'data-points')) > 0);
    equal('no chart error after the range change', await page.getAttribute('section.charts', 'data-errors'), '0');
  });

  await step('PromQL copy and query link', async () => {
    if (!detail) {
      throw new Error('no SLO detail');
    }
    const firstKey = Object.keys(detail.queries).sort()[0];
    const expr = detail.queries[firstKey];
    const dt = page.locator('dl.queries dt').first();
    await dt.locator('button.copy').click();
    await page.waitForFunction(() => [...document.querySelectorAll('button.copy')].some((b) => b.textContent === 'Copied'));
    equal('Copy puts the query on the clipboard', await page.evaluate(() => navigator.clipboard.readText()), expr);
    await dt.locator('a', { hasText: 'Query' }).click();
    await page.waitForSelector('#result[data-loaded="true"]', { state: 'attached' });
    equal('the query page opens with the expression', await page.inputValue('#expr'), expr);
    const res = await api('/api/v1/query?query=' + encodeURIComponent(expr));
    const n = Array.isArray(res.result) ? res.result.length : 1;
    equal('query table has one row per result', await page.$$eval('#query-table tbody tr', (t) => t.length), Math.min(n, 1000));
    check('the query has a result on live data', n > 0);
    await page.click('.tabs button[data-tab="graph"]');
    await page.waitForSelector('#result[data-loaded="true"] figure canvas', { state: 'attached' });
    equal('URL carries the graph tab', new URL(page.url()).searchParams.get('tab'), 'graph');
    await page.screenshot({ path: path.join(OUT, 'query.png') });
  });

  await checkXssSloPage(page, xssSlo);
}

main().catch((e) => {
  notOk('test driver', e && e.stack ? e.stack : String(e));
}).finally(() => {
  console.log(passed + ' passed, ' + failed + ' failed');
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
});
