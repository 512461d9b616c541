/*
 * app.js — burnrate's web UI: a single page, no framework, no build step.
 *
 * Data flow: the browser loads index.html (for every UI path), this file and
 * uPlot, all embedded in the binary. Pages read the JSON API of the same
 * origin (/api/v1/slos, /api/v1/slos/<id>, .../history, /api/v1/annotations,
 * /api/v1/query and /api/v1/query_range; shapes in the budget API contract)
 * and re-read it every evaluation interval while the tab is visible.
 *
 * Events on the SLO page's charts: annotations (deploy, incident, note,
 * gate) in the charts' range are vertical markers (a range annotation is a
 * shaded band), focusable, with the title on hover and focus, and listed
 * as text under the charts; budget adjustments (periods excluded from the
 * budget) are hatched bands labelled with their category. Markers are DOM
 * elements over uPlot's plotting area, placed again after every redraw.
 *
 * Pages (history routing; the server answers these paths with index.html):
 *   /            overview: every SLO instance, sortable, filterable; the URL
 *                carries service, state, label, q, firing, sort and dir
 *   /slo/<id>    one SLO instance (id URL-encoded); ?range=1h|6h|1d|7d|period
 *   /query       PromQL: ?expr=&tab=table|graph&range=
 *
 * Rules kept throughout:
 *   - Data from the API reaches the DOM only as text (textContent, attribute
 *     values, URL components through encodeURIComponent). No innerHTML.
 *   - The overview builds its rows once per API response; sorting and
 *     filtering only move or drop existing rows, and one set of listeners on
 *     the table body serves every row (event delegation).
 *   - State is never shown by colour alone: each badge carries its name.
 *   - Nothing is fetched from another origin.
 * Everything runs on the browser's main thread; a page's timers, requests and
 * charts are released when the user navigates away (see `page`).
 */
(function () {
  'use strict';

  const STATES = ['healthy', 'caution', 'critical', 'exhausted'];
  // Worst first: the default order of the overview.
  const STATE_RANK = { exhausted: 0, critical: 1, caution: 2, healthy: 3 };
    const RANGES = [
    ['1h', 3600],
    ['6h', 6 * 3600],
    ['1d', 86400],
    ['7d', 7 * 86400],
    ['period', 0],
  ];
  // Okabe–Ito: distinguishable with the common colour-vision deficiencies.
  const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000',
    '#F0E442'];
  const COLOR = { budget: '#0072B2', ideal: '#6E6E6E', sli: '#009E73', objective: '#6E6E6E',
    burn: '#D55E00', threshold: '#E69F00', neutral: '#6E6E6E' };
  // Annotation kinds: a colour (style.css), a letter on the marker and a
  // line style, so the kind is never told by colour alone.
  const KINDS = { deploy: 'D', incident: 'I', note: 'N', gate: 'G' };
  const MAX_ANNOTATIONS = 500;
  const NA = '—';
  const MAX_QUERY_ROWS = 1000;
  const MAX_GRAPH_SERIES = 20;

  // ---------------------------------------------------------------- DOM --

  // el('a', {href, class, text, dataset: {...}}, child, [children], 'text')
  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    if (props) {
      for (const key of Object.keys(props)) {
        const v = props[key];
        if (v === undefined || v === null || v === false) {
          continue;
        }
        if (key === 'text') {
          e.textContent = String(v);
        } else if (key === 'class') {
          e.className = v;
        } else if (key === 'dataset') {
          for (const d of Object.keys(v)) {
            e.setAttribute('data-' + d.replace(/[A-Z]/g, (m) => '-' + m.toLowerCase()), String(v[d]));
          }
        } else if (key.startsWith('on') && typeof v === 'function') {
          e.addEventListener(key.slice(2), v);
        } else {
          e.setAttribute(key, v === true ? '' : String(v));
        }
      }
    }
    appendAll(e, children);
    return e;
  }

  function appendAll(parent, children) {
    for (const c of children) {
      if (c === null || c === undefined || c === false) {
        continue;
      }
      if (Array.isArray(c)) {
        appendAll(parent, c);
      } else if (c instanceof Node) {
        parent.appendChild(c);
      } else {
        parent.appendChild(document.createTextNode(String(c)));
      }
    }
  }

  // Replaces parent's children; skips null/false children (the DOM's own
  // replaceChildren would print them as "null").
  function fill(parent, ...children) {
    parent.replaceChildren();
    appendAll(parent, children);
    return parent;
  }

  function sloHref(id) {
    return '/slo/' + encodeURIComponent(id);
  }

  function queryHref(expr) {
    return '/query?' + new URLSearchParams({ expr: expr, tab: 'table' }).toString();
  }

  // ---------------------------------------------------------- formatting --

  function isNum(v) {
    return typeof v === 'number' && Number.isFinite(v);
  }

  // Decimals needed to print ratio r as an exact percentage (0.999 -> 1).
  function pctDecimals(r) {
    for (let d = 0; d <= 5; d++) {
      const scaled = r * 100 * Math.pow(10, d);
      if (Math.abs(scaled - Math.round(scaled)) < 1e-6) {
        return d;
      }
    }
    return 5;
  }

  function fmtPct(r, digits) {
    return isNum(r) ? (r * 100).toFixed(digits) + '%' : NA;
  }

  function fmtObjective(o) {
    return isNum(o) ? fmtPct(o, pctDecimals(o)) : NA;
  }

  // One digit more than the objective shows, at least two: 99.9% -> 99.95%.
  function fmtSli(sli, objective) {
    const d = isNum(objective) ? Math.max(2, pctDecimals(objective) + 1) : 3;
    return fmtPct(sli, d);
  }

  // An error ratio as a percentage with three significant digits
  // (0.000437 -> "0.0437%"), "<0.001%" below that.
  function fmtErrorRatio(v) {
    if (!isNum(v)) {
      return NA;
    }
    const p = v * 100;
    if (p !== 0 && Math.abs(p) < 0.001) {
      return '<0.001%';
    }
    return String(Number(p.toPrecision(3))) + '%';
  }

  function fmtBudget(r) {
    return fmtPct(r, 1);
  }

  function fmtBurn(b) {
    if (!isNum(b)) {
      return NA;
    }
    const a = Math.abs(b);
    return (a >= 100 ? b.toFixed(0) : a >= 10 ? b.toFixed(1) : b.toFixed(2)) + '×';
  }

  function fmtNum(v) {
    if (!isNum(v)) {
      return NA;
    }
    if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) {
      return v.toExponential(3);
    }
    return String(Number(v.toPrecision(6)));
  }

  function fmtCount(v) {
    return isNum(v) ? String(Math.round(v)) : NA;
  }

  // 2592000 -> "30d", 5400 -> "1h 30m", 45 -> "45s": the two largest units.
  function fmtDuration(sec) {
    if (!isNum(sec)) {
      return NA;
    }
    let s = Math.round(Math.abs(sec));
    const parts = [];
    for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]]) {
      if (s >= size || (unit === 's' && parts.length === 0)) {
        parts.push(Math.floor(s / size) + unit);
        s %= size;
      }
      if (parts.length === 2) {
        break;
      }
    }
    return (sec < 0 ? '-' : '') + parts.join(' ');
  }

  function fmtMinutes(sec) {
    return isNum(sec) ? (sec / 60).toFixed(1) + ' min' : NA;
  }

  function pad2(n) {
    return String(n).padStart(2, '0');
  }

  // Local time, "2024-05-01 13:04:05".
  function fmtTime(ms) {
    if (!isNum(ms)) {
      return NA;
    }
    const d = new Date(ms);
    return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()) + ' ' +
      pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
  }

  function parseTime(rfc) {
    if (typeof rfc !== 'string' || rfc === '') {
      return null;
    }
    const t = Date.parse(rfc);
    return Number.isFinite(t) ? t : null;
  }

  function fmtPeriod(p) {
    if (!p) {
      return NA;
    }
    if (p.kind === 'calendar' && p.calendar) {
      // "calendar month", "calendar 2 weeks from 2026-01-04"
      const unit = p.calendar_count > 1 ? p.calendar_count + ' ' + p.calendar + 's' : p.calendar;
      return 'calendar ' + unit + (p.calendar_start ? ' from ' + p.calendar_start : '');
    }
    return fmtDuration(p.duration_seconds) + (p.kind === 'calendar' ? ' calendar' : ' rolling');
  }

  function labelPairs(obj) {
    return obj ? Object.keys(obj).sort().map((k) => [k, String(obj[k])]) : [];
  }

  function labelText(pairs) {
    return pairs.map(([k, v]) => k + '=' + JSON.stringify(v)).join(', ');
  }

  function stateName(s) {
    return s && s.state && STATES.includes(s.state.name) ? s.state.name : null;
  }

  // A state badge: the state's word, a mark before it (CSS) and its colour.
  function stateBadge(name, extraTitle) {
    return el('span', { class: 'badge marked state-' + (name || 'none'), title: extraTitle || null,
      'data-state': name || 'none', text: name || 'no data' });
  }

  function budgetBar(remaining, state) {
    const bar = el('span', { class: 'bar state-' + (state || 'none'), 'aria-hidden': 'true' });
    bar.style.setProperty('--fill', (isNum(remaining) ? Math.max(0, Math.min(1, remaining)) * 100 : 0).toFixed(1) + '%');
    return el('span', { class: 'budget-cell' }, bar, el('span', { class: 'num', text: fmtBudget(remaining) }));
  }

  // "outside_business_hours" -> "outside business hours".
  function categoryText(c) {
    return typeof c === 'string' && c !== '' ? c.replace(/_/g, ' ') : 'adjustment';
  }

  // The adjustments of an SLO summary that cover the evaluation time.
  function activeAdjustments(s) {
    return Array.isArray(s.adjustments) ? s.adjustments.filter((a) => a && a.state === 'active') : [];
  }

  // A badge saying that events are being excluded from the budget now.
  function adjustmentBadge(active) {
    const cats = Array.from(new Set(active.map((a) => categoryText(a.category))));
    return el('span', { class: 'badge adj-active marked-adj', dataset: { adjustment: 'active' },
      title: 'budget adjustment active now (' + active.map((a) => a.name).join(', ') +
        '): its events are excluded from the error budget',
      text: cats.join(', ') });
  }

  function kindName(k) {
    return Object.prototype.hasOwnProperty.call(KINDS, k) ? k : 'note';
  }

  // A kind as a coloured badge with its letter and its word.
  function kindBadge(k) {
    const kind = kindName(k);
    return el('span', { class: 'kind kind-' + kind, dataset: { kind: kind } },
      el('span', { class: 'kind-mark', 'aria-hidden': 'true', text: KINDS[kind] }), ' ' + kind);
  }

  // One line about an annotation, for tooltips and screen readers.
  function annotationSummary(a) {
    const start = fmtTime(a.time_ms);
    const span = isNum(a.end_ms) && a.end_ms > a.time_ms ? start + ' to ' + fmtTime(a.end_ms) : start;
    return kindName(a.kind) + ' · ' + span + ' · ' + (a.title || '(no title)') +
      (a.author ? ' · by ' + a.author : '');
  }

  // The excluded intervals of an SLO's adjustments known from the API: the
  // latest occurrence (still open when active) and, when its length is
  // known, the next one. Times in ms.
  function adjustmentBands(d, nowMs) {
    const out = [];
    for (const a of Array.isArray(d.adjustments) ? d.adjustments : []) {
      const ls = parseTime(a.last_start);
      const le = parseTime(a.last_end);
      if (ls !== null) {
        out.push({ name: a.name, category: a.category, start: ls,
          end: le !== null ? le : nowMs, active: a.state === 'active', upcoming: false });
      }
      const ns = parseTime(a.next_start);
      if (ns !== null && ls !== null && le !== null && le > ls) {
        out.push({ name: a.name, category: a.category, start: ns, end: ns + (le - ls),
          active: false, upcoming: true });
      }
    }
    return out;
  }

  // ----------------------------------------------------------------- API --

  async function getJSON(path, signal) {
    const r = await fetch(path, { signal: signal, headers: { Accept: 'application/json' } });
    let body;
    try {
      body = await r.json();
    } catch (e) {
      throw new Error(path + ': HTTP ' + r.status + ', not JSON');
    }
    if (!body || body.status !== 'success') {
      const kind = body && body.errorType ? body.errorType : 'error';
      const msg = body && body.error ? body.error : 'HTTP ' + r.status;
      throw new Error(kind + ': ' + msg);
    }
    return body.data;
  }

  function errorBox(err) {
    return el('div', { class: 'error', role: 'alert' }, el('strong', { text: 'Error: ' }),
      err && err.message ? err.message : String(err));
  }

  function setTopStatus(text) {
    const s = document.getElementById('top-status');
    if (s) {
      s.textContent = text;
    }
  }

  // -------------------------------------------------------------- router --

  // The current page's resources, released by leavePage().
  let page = null;

  function leavePage() {
    if (page === null) {
      return;
    }
    page.abort.abort();
    for (const t of page.timers) {
      clearTimeout(t);
    }
    for (const fn of page.cleanups) {
      try {
        fn();
      } catch (e) {
        // A failing cleanup must not stop the next page from rendering.
      }
    }
    page = null;
  }

  function newPage(name) {
    leavePage();
    page = { name: name, abort: new AbortController(), timers: [], cleanups: [] };
    return page;
  }

  function navigate(url, replace) {
    if (replace) {
      history.replaceState(null, '', url);
    } else {
      history.pushState(null, '', url);
    }
    render();
    window.scrollTo(0, 0);
  }

  // Replaces the query string without re-rendering (filters, tabs).
  function setSearch(params) {
    const s = params.toString();
    const url = location.pathname + (s ? '?' + s : '');
    if (url !== location.pathname + location.search) {
      history.replaceState(null, '', url);
    }
  }

  function currentRoute() {
    const p = location.pathname;
    if (p === '/' || p === '/index.html') {
      return { page: 'overview' };
    }
    if (p === '/query') {
      return { page: 'query' };
    }
    if (p.startsWith('/slo/') && p.length > 5) {
      try {
        return { page: 'slo', id: decodeURIComponent(p.slice(5)) };
      } catch (e) {
        return { page: 'notfound' };
      }
    }
    return { page: 'notfound' };
  }

  function render() {
    const main = document.getElementById('main');
    const route = currentRoute();
    const pg = newPage(route.page);
    main.replaceChildren();
    for (const k of Object.keys(main.dataset)) {
      delete main.dataset[k];
    }
    for (const a of document.querySelectorAll('header nav a')) {
      if (a.dataset.page === route.page || (route.page === 'slo' && a.dataset.page === 'overview')) {
        a.setAttribute('aria-current', 'page');
      } else {
        a.removeAttribute('aria-current');
      }
    }
    if (route.page === 'overview') {
      document.title = 'SLOs · burnrate';
      renderOverview(main, pg);
    } else if (route.page === 'slo') {
      document.title = route.id + ' · burnrate';
      renderSlo(main, pg, route.id);
    } else if (route.page === 'query') {
      document.title = 'Query · burnrate';
      renderQuery(main, pg);
    } else {
      document.title = 'Not found · burnrate';
      main.appendChild(el('h1', { text: 'Page not found' }));
      main.appendChild(el('p', {}, 'No page at ', el('code', { text: location.pathname }), '. ',
        el('a', { href: '/', 'data-nav': true, text: 'Back to the SLO overview' })));
    }
  }

  // Same-origin links marked data-nav, and any link to a UI path, navigate
  // without reloading; modified clicks (new tab) keep the browser's way.
  document.addEventListener('click', (ev) => {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey ||
      ev.altKey) {
      return;
    }
    const a = ev.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download') || a.origin !== location.origin) {
      return;
    }
    const p = a.pathname;
    if (p === '/' || p === '/query' || p.startsWith('/slo/')) {
      ev.preventDefault();
      navigate(a.pathname + a.search, false);
    }
  });
  window.addEventListener('popstate', render);

  // Re-runs fn every evaluation interval while the page is shown and the
  // tab visible.
  function every(pg, seconds, fn) {
    const ms = Math.max(5, isNum(seconds) && seconds > 0 ? seconds : 30) * 1000;
    const tick = () => {
      if (page !== pg) {
        return;
      }
      if (document.visibilityState === 'visible') {
        fn();
      }
      pg.timers.push(setTimeout(tick, ms));
    };
    pg.timers.push(setTimeout(tick, ms));
  }

  // ------------------------------------------------------------ overview --

  // Column definitions. `sort` returns a number or string (null sorts last);
  // `cell(s, td)` fills the cell. Cells are built for 1,000+ rows at once, so
  // they set text and classes directly and create as few elements as they
  // can (marks and bars are CSS; see style.css).
  function overviewColumns(windows) {
    const cols = [
      { key: 'state', label: 'State', sort: (s) => {
        const n = stateName(s);
        return n ? STATE_RANK[n] : 4;
      }, cell: (s, td) => {
        const n = stateName(s);
        const st = s.state || {};
        const b = document.createElement('span');
        b.className = 'badge marked state-' + (n || 'none');
        b.textContent = n || 'no data';
        b.title = n ? (st.allow_deploy ? 'deploys allowed' : 'deploys blocked') +
          (st.since ? ' · since ' + st.since : '') : 'no data in the period';
        td.appendChild(b);
      } },
      { key: 'service', label: 'Service', sort: (s) => s.service || '', cell: (s, td) => {
        td.textContent = s.service || NA;
      } },
      { key: 'name', label: 'SLO', sort: (s) => (s.name || '') + '\u0000' + s.id, cell: (s, td) => {
        const a = document.createElement('a');
        a.href = sloHref(s.id);
        a.tabIndex = -1;
        a.className = 'slo-name';
        a.textContent = s.name || s.slo_id || s.id;
        td.appendChild(a);
        for (const [k, v] of labelPairs(s.group_labels)) {
          const c = document.createElement('span');
          c.className = 'chip';
          c.textContent = k + '=' + v;
          c.title = k + '=' + v; // the whole value when the chip is cut short
          td.append(' ', c);
        }
        const active = activeAdjustments(s);
        if (active.length > 0) {
          td.append(' ', adjustmentBadge(active));
        }
        if (s.error) {
          const w = document.createElement('span');
          w.className = 'warn-mark';
          w.title = 'evaluation error: ' + s.error;
          w.textContent = '⚠ error';
          td.append(' ', w);
        }
      } },
      { key: 'objective', label: 'Objective', num: true, sort: (s) => s.objective, cell: (s, td) => {
        td.textContent = fmtObjective(s.objective);
      } },
      { key: 'period', label: 'Period', sort: (s) => s.period ? s.period.duration_seconds : null,
        cell: (s, td) => {
          td.textContent = fmtPeriod(s.period);
        } },
      { key: 'sli', label: 'SLI', num: true, sort: (s) => s.sli, cell: (s, td) => {
        td.textContent = fmtSli(s.sli, s.objective);
      } },
      { key: 'budget', label: 'Budget left', sort: (s) => s.budget ? s.budget.remaining : null,
        cell: (s, td) => {
          const r = s.budget ? s.budget.remaining : null;
          const bar = document.createElement('span');
          bar.className = 'bar state-' + (stateName(s) || 'none');
          bar.setAttribute('aria-hidden', 'true');
          bar.style.setProperty('--fill', (isNum(r) ? Math.max(0, Math.min(1, r)) * 100 : 0).toFixed(1) + '%');
          const num = document.createElement('span');
          num.className = 'num';
          num.textContent = fmtBudget(r);
          td.className = 'budget-cell';
          td.append(bar, num);
        } },
    ];
    for (const w of windows) {
      cols.push({ key: 'burn-' + w.window, label: 'Burn ' + w.window, num: true, window: w.window,
        title: 'Sort by the burn rate over the last ' + w.window +
          ' (1× spends the budget exactly over the period)',
        sort: (s) => burnOf(s, w.window), cell: (s, td) => {
          const b = burnOf(s, w.window);
          const hot = alertFactorFor(s, w.window);
          td.textContent = fmtBurn(b);
          if (isNum(b) && isNum(hot) && b >= hot) {
            td.className = 'num burn-alert';
            td.title = 'at or above an alert factor (' + fmtBurn(hot) + ')';
          } else if (isNum(b) && b > 1) {
            td.className = 'num burn-high';
          }
        } });
    }
    cols.push(
      { key: 'firing', label: 'Firing', num: true, sort: (s) => s.firing || 0, cell: (s, td) => {
        const n = s.firing || 0;
        if (n === 0) {
          td.textContent = '0';
          td.className = 'num muted';
          return;
        }
        const names = (s.alerts || []).filter((a) => a.state === 'firing').map((a) => a.alertname +
          (a.tier ? ' ' + a.tier : ''));
        const b = document.createElement('span');
        b.className = 'badge marked firing';
        b.title = names.join(', ');
        b.textContent = String(n);
        td.appendChild(b);
      } },
      { key: 'freshness', label: 'Data', sort: (s) => s.no_data ? Infinity : s.data_age_seconds,
        cell: (s, td) => {
          if (s.no_data) {
            td.textContent = 'no data';
            td.className = 'muted';
            return;
          }
          const age = isNum(s.data_age_seconds) ? fmtDuration(s.data_age_seconds) + ' ago' : NA;
          if (s.stale) {
            td.textContent = '⚠ stale · ' + age;
            td.className = 'stale';
            td.title = 'no recent samples';
            return;
          }
          td.textContent = age;
        } });
    return cols;
  }

  // How an alert's values and threshold read, by alert kind: burn rates as
  // factors, budget drops as shares of the budget, exhaustion as time left.
  function alertValueFormat(kind) {
    if (kind === 'burn_rate') {
      return fmtBurn;
    }
    if (kind === 'budget_drop') {
      return (v) => fmtPct(v, 1);
    }
    if (kind === 'exhaustion') {
      return fmtDuration;
    }
    return fmtNum;
  }

  // The SLO's windows without repeats: the API may list the period's window
  // both as a plain window and flagged `period`; the flagged one is kept.
  function uniqueWindows(s) {
    const out = [];
    const at = new Map();
    for (const w of s.windows || []) {
      const key = w.window + '/' + w.window_seconds;
      if (!at.has(key)) {
        at.set(key, out.length);
        out.push(w);
      } else if (w.period) {
        out[at.get(key)] = w;
      }
    }
    return out;
  }

  function isPeriodWindow(s, w) {
    return w.period === true || (!!s.period && w.window_seconds === s.period.duration_seconds);
  }

  function burnOf(s, window) {
    for (const w of s.windows || []) {
      if (w.window === window) {
        return w.burn_rate;
      }
    }
    return null;
  }

  // The smallest burn-rate factor an alert compares this window against.
  function alertFactorFor(s, window) {
    let f = null;
    for (const a of s.alerts || []) {
      if (a.kind === 'burn_rate' && (a.long_window === window || a.short_window === window) &&
        isNum(a.factor) && (f === null || a.factor < f)) {
        f = a.factor;
      }
    }
    return f;
  }

  // The alert windows across all SLOs (the period window left out), shortest first.
  function alertWindows(slos) {
    const seen = new Map();
    for (const s of slos) {
      for (const w of s.windows || []) {
        if (isPeriodWindow(s, w) || seen.has(w.window)) {
          continue;
        }
        seen.set(w.window, w.window_seconds);
      }
    }
    return Array.from(seen, ([window, seconds]) => ({ window: window, seconds: seconds }))
      .sort((a, b) => a.seconds - b.seconds);
  }

  function searchText(s) {
    const parts = [s.id, s.slo_id, s.service, s.name, s.description];
    for (const [k, v] of labelPairs(s.labels).concat(labelPairs(s.group_labels))) {
      parts.push(k + '=' + v);
    }
    return parts.filter((p) => typeof p === 'string').join('\n').toLowerCase();
  }

  function hasLabel(s, pair) {
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    const v = eq < 0 ? null : pair.slice(eq + 1);
    for (const set of [s.labels, s.group_labels]) {
      if (set && Object.prototype.hasOwnProperty.call(set, k) && (v === null || String(set[k]) === v)) {
        return true;
      }
    }
    return false;
  }

  function renderOverview(main, pg) {
    const params = new URLSearchParams(location.search);
    const view = {
      service: params.get('service') || '',
      state: params.get('state') || '',
      label: params.get('label') || '',
      q: params.get('q') || '',
      firing: params.get('firing') === '1',
      sort: params.get('sort') || 'state',
      dir: params.get('dir') === 'desc' ? 'desc' : 'asc',
    };
    let slos = [];
    let columns = [];
    let rows = new Map(); // id -> <tr>
    let searchIndex = new Map(); // id -> lowercased text
    let roving = null; // id of the row that takes the table's Tab stop

    const serviceSel = el('select', { id: 'f-service', name: 'service' });
    const stateSel = el('select', { id: 'f-state', name: 'state' },
      el('option', { value: '', text: 'any state' }),
      STATES.map((s) => el('option', { value: s, text: s })),
      el('option', { value: 'none', text: 'no data' }));
    const labelList = el('datalist', { id: 'f-label-values' });
    const labelIn = el('input', { id: 'f-label', name: 'label', type: 'text', list: 'f-label-values',
      placeholder: 'key=value', autocomplete: 'off', spellcheck: 'false' });
    const searchIn = el('input', { id: 'f-q', name: 'q', type: 'search', placeholder: 'id, name, label…',
      autocomplete: 'off', spellcheck: 'false' });
    const firingCb = el('input', { id: 'f-firing', name: 'firing', type: 'checkbox' });
    const clearBtn = el('button', { type: 'button', class: 'secondary', text: 'Clear filters' });
    const shown = el('p', { class: 'shown', id: 'shown', 'aria-live': 'polite' });
    const summary = el('div', { class: 'summary', id: 'summary' });
    const thead = el('thead');
    const tbody = el('tbody');
    const table = el('table', { class: 'slos', id: 'slo-table', 'aria-describedby': 'shown' },
      el('caption', { class: 'visually-hidden', text: 'SLO instances. Arrow keys move between rows; Enter opens the SLO page.' }),
      thead, tbody);
    const status = el('div', { class: 'load', text: 'Loading SLOs…' });

    main.append(
      el('div', { class: 'page-head' }, el('h1', { text: 'Service level objectives' }), summary),
      el('form', { class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault() },
        el('label', {}, 'Service ', serviceSel),
        el('label', {}, 'State ', stateSel),
        el('label', {}, 'Label ', labelIn, labelList),
        el('label', { class: 'grow' }, 'Search ', searchIn),
        el('label', { class: 'check' }, firingCb, ' firing only'),
        clearBtn),
      shown, status, el('div', { class: 'table-wrap' }, table));

    function syncControls() {
      serviceSel.value = view.service;
      stateSel.value = view.state;
      labelIn.value = view.label;
      searchIn.value = view.q;
      firingCb.checked = view.firing;
    }

    function syncUrl() {
      const p = new URLSearchParams();
      for (const k of ['service', 'state', 'label', 'q']) {
        if (view[k]) {
          p.set(k, view[k]);
        }
      }
      if (view.firing) {
        p.set('firing', '1');
      }
      if (view.sort !== 'state' || view.dir !== 'asc') {
        p.set('sort', view.sort);
        p.set('dir', view.dir);
      }
      setSearch(p);
    }

    function matches(s) {
      if (view.service && s.service !== view.service) {
        return false;
      }
      if (view.state) {
        const n = stateName(s);
        if (view.state === 'none' ? n !== null : n !== view.state) {
          return false;
        }
      }
      if (view.firing && !(s.firing > 0)) {
        return false;
      }
      if (view.label && !hasLabel(s, view.label.trim())) {
        return false;
      }
      if (view.q && !searchIndex.get(s.id).includes(view.q.trim().toLowerCase())) {
        return false;
      }
      return true;
    }

    function compare(col) {
      const sign = view.dir === 'desc' ? -1 : 1;
      return (a, b) => {
        const va = col.sort(a);
        const vb = col.sort(b);
        const na = va === null || va === undefined || (typeof va === 'number' && Number.isNaN(va));
        const nb = vb === null || vb === undefined || (typeof vb === 'number' && Number.isNaN(vb));
        if (na !== nb) {
          return na ? 1 : -1; // no data last, whichever the direction
        }
        if (!na && va !== vb) {
          if (typeof va === 'string') {
            return sign * va.localeCompare(vb);
          }
          return sign * (va < vb ? -1 : 1);
        }
        // Ties: lowest budget first, then id.
        const ba = a.budget && isNum(a.budget.remaining) ? a.budget.remaining : Infinity;
        const bb = b.budget && isNum(b.budget.remaining) ? b.budget.remaining : Infinity;
        if (ba !== bb) {
          return ba < bb ? -1 : 1;
        }
        return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
      };
    }

    // Two header rows when there are burn-rate columns: "Burn rate" spans
    // them, each window heads its own column below it.
    function buildHead() {
      const burnCols = columns.filter((c) => c.window);
      const top = el('tr');
      const second = el('tr');
      let spanned = false;
      for (const c of columns) {
        const th = el('th', { scope: 'col', class: c.num ? 'num' : null, 'data-col': c.key },
          el('button', { type: 'button', class: 'sort', title: c.title || 'Sort by ' + c.label,
            'data-sort': c.key }, c.window ? c.window : c.label,
          el('span', { class: 'arrow', 'aria-hidden': 'true' })));
        if (c.window) {
          if (!spanned) {
            top.appendChild(el('th', { scope: 'colgroup', colspan: String(burnCols.length), class: 'group',
              text: 'Burn rate' }));
            spanned = true;
          }
          second.appendChild(th);
        } else {
          if (burnCols.length > 0) {
            th.setAttribute('rowspan', '2');
          }
          top.appendChild(th);
        }
      }
      fill(thead, top, burnCols.length > 0 ? second : null);
    }

    function buildRows() {
      const t0 = performance.now();
      rows = new Map();
      searchIndex = new Map();
      // One prototype row, cloned per SLO: cheaper than creating each cell.
      const proto = document.createElement('tr');
      proto.tabIndex = -1;
      proto.className = 'slo-row';
      for (const c of columns) {
        const td = document.createElement('td');
        td.setAttribute('data-col', c.key);
        if (c.num) {
          td.className = 'num';
        }
        proto.appendChild(td);
      }
      for (const s of slos) {
        const tr = proto.cloneNode(true);
        tr.setAttribute('data-id', s.id);
        let td = tr.firstElementChild;
        for (const c of columns) {
          c.cell(s, td);
          td = td.nextElementSibling;
        }
        rows.set(s.id, tr);
        searchIndex.set(s.id, searchText(s));
      }
      table.dataset.buildMs = (performance.now() - t0).toFixed(1);
    }

    function applyView() {
      const t0 = performance.now();
      const col = columns.find((c) => c.key === view.sort) || columns[0];
      const list = slos.filter(matches).sort(compare(col));
      const focusedId = document.activeElement && document.activeElement.dataset
        ? document.activeElement.dataset.id : null;
      fill(tbody, ...list.map((s) => rows.get(s.id)));
      // Roving tab stop: one row is in the Tab order (the last one used, else
      // the first); arrows move between rows, Tab leaves the table.
      if (!list.some((s) => s.id === roving)) {
        roving = list.length ? list[0].id : null;
      }
      for (const s of list) {
        rows.get(s.id).tabIndex = s.id === roving ? 0 : -1;
      }
      if (focusedId && rows.has(focusedId) && rows.get(focusedId).isConnected) {
        rows.get(focusedId).focus({ preventScroll: true });
      }
      for (const th of thead.querySelectorAll('th[data-col]')) {
        const on = th.dataset.col === col.key;
        if (on) {
          th.setAttribute('aria-sort', view.dir === 'asc' ? 'ascending' : 'descending');
        } else {
          th.removeAttribute('aria-sort');
        }
        th.querySelector('.arrow').textContent = on ? (view.dir === 'asc' ? ' ▲' : ' ▼') : '';
      }
      shown.textContent = 'Showing ' + list.length + ' of ' + slos.length + ' SLOs';
      shown.dataset.shown = String(list.length);
      table.dataset.viewMs = (performance.now() - t0).toFixed(1);
      syncUrl();
    }

    function buildSummary(data) {
      const counts = { none: 0 };
      for (const n of STATES) {
        counts[n] = 0;
      }
      let firing = 0;
      for (const s of slos) {
        counts[stateName(s) || 'none']++;
        firing += s.firing || 0;
      }
      const items = STATES.concat(['none']).map((n) => el('button', {
        type: 'button', class: 'count', dataset: { filterState: n },
        title: 'Show only ' + (n === 'none' ? 'SLOs without data' : n + ' SLOs'),
      }, stateBadge(n === 'none' ? null : n), ' ', el('span', { class: 'n', text: counts[n] })));
      const evalMs = isNum(data.eval_time_ms) ? data.eval_time_ms : parseTime(data.eval_time);
      fill(summary, ...items,
        el('span', { class: 'count firing-total' }, el('span', { class: 'n', text: firing }), ' firing'),
        el('span', { class: 'evaluated', title: data.eval_time || '' },
          'evaluated ', fmtTime(evalMs),
          isNum(data.eval_duration_seconds) ? ' in ' + (data.eval_duration_seconds * 1000).toFixed(0) + ' ms' : ''));
      main.dataset.evalTimeMs = String(evalMs);
    }

    function fillServiceOptions() {
      const services = Array.from(new Set(slos.map((s) => s.service).filter(Boolean))).sort();
      if (view.service && !services.includes(view.service)) {
        services.push(view.service);
      }
      fill(serviceSel, el('option', { value: '', text: 'all services' }),
        services.map((s) => el('option', { value: s, text: s })));
      const pairs = new Set();
      for (const s of slos) {
        for (const [k, v] of labelPairs(s.labels).concat(labelPairs(s.group_labels))) {
          if (pairs.size < 500) {
            pairs.add(k + '=' + v);
          }
        }
      }
      fill(labelList, ...Array.from(pairs).sort().map((p) => el('option', { value: p })));
    }

    async function load(first) {
      try {
        const data = await getJSON('/api/v1/slos', pg.abort.signal);
        if (page !== pg) {
          return;
        }
        performance.mark('br-slos-fetched');
        slos = Array.isArray(data.slos) ? data.slos : [];
        const t0 = performance.now();
        columns = overviewColumns(alertWindows(slos));
        buildHead();
        buildRows();
        fillServiceOptions();
        syncControls();
        buildSummary(data);
        applyView();
        table.dataset.renderMs = (performance.now() - t0).toFixed(1);
        performance.mark('br-slos-rendered');
        // Two frames later the table has been laid out and painted.
        requestAnimationFrame(() => requestAnimationFrame(() => {
          table.dataset.paintedMs = performance.now().toFixed(0);
          table.dataset.fetchedMs = performance.getEntriesByName('br-slos-fetched').pop().startTime.toFixed(0);
        }));
        status.replaceChildren();
        status.hidden = true;
        if (slos.length === 0) {
          status.hidden = false;
          fill(status, el('p', { text: 'No SLOs are configured yet. Add SLO files to the configuration and reload.' }));
        }
        setTopStatus('updated ' + fmtTime(Date.now()));
        main.dataset.loaded = 'true';
        if (first) {
          every(pg, data.interval_seconds, () => load(false));
        }
      } catch (err) {
        if (err.name === 'AbortError') {
          return;
        }
        status.hidden = false;
        fill(status, errorBox(err));
        if (first) {
          every(pg, 30, () => load(false));
        }
      }
    }

    // Filters.
    const onFilter = () => {
      view.service = serviceSel.value;
      view.state = stateSel.value;
      view.label = labelIn.value;
      view.q = searchIn.value;
      view.firing = firingCb.checked;
      applyView();
    };
    serviceSel.addEventListener('change', onFilter);
    stateSel.addEventListener('change', onFilter);
    labelIn.addEventListener('input', onFilter);
    searchIn.addEventListener('input', onFilter);
    firingCb.addEventListener('change', onFilter);
    clearBtn.addEventListener('click', () => {
      view.service = view.state = view.label = view.q = '';
      view.firing = false;
      syncControls();
      applyView();
    });
    summary.addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-filter-state]');
      if (b) {
        view.state = view.state === b.dataset.filterState ? '' : b.dataset.filterState;
        syncControls();
        applyView();
      }
    });

    // Sorting: one listener on the header row.
    thead.addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-sort]');
      if (!b) {
        return;
      }
      if (view.sort === b.dataset.sort) {
        view.dir = view.dir === 'asc' ? 'desc' : 'asc';
      } else {
        view.sort = b.dataset.sort;
        view.dir = 'asc';
      }
      applyView();
    });

    // Rows: one click and one keydown listener for all of them.
    tbody.addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr[data-id]');
      if (!tr || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) {
        return;
      }
      ev.preventDefault();
      navigate(sloHref(tr.dataset.id), false);
    });
    tbody.addEventListener('keydown', (ev) => {
      const tr = ev.target.closest('tr[data-id]');
      if (!tr) {
        return;
      }
      let next = null;
      if (ev.key === 'Enter') {
        ev.preventDefault();
        navigate(sloHref(tr.dataset.id), false);
        return;
      } else if (ev.key === 'ArrowDown' || ev.key === 'j') {
        next = tr.nextElementSibling;
      } else if (ev.key === 'ArrowUp' || ev.key === 'k') {
        next = tr.previousElementSibling;
      } else if (ev.key === 'Home') {
        next = tbody.firstElementChild;
      } else if (ev.key === 'End') {
        next = tbody.lastElementChild;
      }
      if (next) {
        ev.preventDefault();
        next.focus();
      }
    });
    tbody.addEventListener('focusin', (ev) => {
      const tr = ev.target.closest('tr[data-id]');
      if (tr && tr.dataset.id !== roving) {
        const old = roving !== null ? rows.get(roving) : null;
        if (old) {
          old.tabIndex = -1;
        }
        tr.tabIndex = 0;
        roving = tr.dataset.id;
      }
    });

    syncControls();
    load(true);
  }

  // -------------------------------------------------------------- charts --

  // A uPlot chart in `fig`, resized with its container and destroyed when
  // the page is left. Returns an object whose set(data) replaces the data
  // and marks({events, bands}) the annotation markers and adjustment bands.
  function chart(pg, fig, spec) {
    const box = el('div', { class: 'plot' });
    fig.appendChild(box);
    if (typeof window.uPlot !== 'function') {
      box.appendChild(el('p', { class: 'muted', text: 'The chart library did not load.' }));
      return { set: () => {}, show: () => {}, marks: () => {} };
    }
    let u = null;
    let marks = { events: [], bands: [] };
    let bounds = [null, null]; // requested x span, seconds
    let layer = null; // markers over the plotting area; elements kept by key
    const placed = new Map();
    const place = (plot) => {
      if (layer === null) {
        layer = el('div', { class: 'marks' });
        plot.over.appendChild(layer);
      }
      placeMarks(plot, layer, placed, marks, fig);
    };
    const height = spec.height || 220;
    const make = (data) => {
      const fmt = spec.format;
      // Canvas needs a real colour: take the page's text colour (dark mode).
      const ink = getComputedStyle(document.body).color || '#1b1b1b';
      const opts = {
        width: Math.max(300, box.clientWidth || fig.clientWidth || 600),
        height: height,
        // x: the data's span, widened to the requested span (set), so a
        // marker near either end is inside the chart.
        scales: { x: { time: true, range: (self, min, max) => [
          isNum(bounds[0]) && (!isNum(min) || bounds[0] < min) ? bounds[0] : min,
          isNum(bounds[1]) && (!isNum(max) || bounds[1] > max) ? bounds[1] : max] },
        y: spec.yRange ? { range: spec.yRange } : {} },
        axes: [
          { stroke: ink, grid: { stroke: 'rgba(128,128,128,0.2)' }, ticks: { stroke: 'rgba(128,128,128,0.4)' } },
          { stroke: ink, size: 84, ticks: { stroke: 'rgba(128,128,128,0.4)' }, grid: { stroke: 'rgba(128,128,128,0.2)' },
            values: (self, ticks) => {
              // As many decimals as the tick spacing needs, so labels differ.
              const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 1;
              const dec = step > 0 ? Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9))) : 0;
              return ticks.map((v) => (spec.tick ? spec.tick(v, dec) : fmt(v)));
            } },
        ],
        series: [{ label: 'time', value: (self, v) => (v === null || v === undefined ? NA : fmtTime(v * 1000)) }]
          .concat(spec.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: s.width || 2,
            dash: s.dash,
            spanGaps: !!s.spanGaps,
            points: { show: false },
            value: (self, v) => (v === null || v === undefined ? NA : fmt(v)),
          }))),
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
        hooks: { draw: [place] },
      };
      u = new window.uPlot(opts, data, box);
      fig.dataset.series = String(spec.series.length);
    };
    const ro = new ResizeObserver(() => {
      if (u && box.clientWidth > 0 && Math.abs(u.width - box.clientWidth) > 2) {
        u.setSize({ width: Math.max(300, box.clientWidth), height: height });
      }
    });
    ro.observe(box);
    pg.cleanups.push(() => {
      ro.disconnect();
      if (u) {
        u.destroy();
      }
    });
    return {
      // data: uPlot columns; span: [start, end] in seconds the data was
      // asked for (optional).
      set: (data, span) => {
        bounds = Array.isArray(span) ? span : [null, null];
        fig.dataset.points = String(data[0].length);
        if (u) {
          u.setData(data);
        } else {
          make(data);
        }
      },
      // Shows or hides series i (1-based, as uPlot counts) with its legend.
      show: (i, on) => {
        if (u && u.series[i] && u.series[i].show !== on) {
          u.setSeries(i, { show: on });
        }
      },
      marks: (m) => {
        marks = m;
        if (u) {
          place(u);
        }
      },
    };
  }

  // Places marks.bands (adjustments) and marks.events (annotations) that
  // fall in the chart's x range over its plotting area. Elements are kept
  // by key across redraws, so a focused marker keeps the focus when the
  // data refreshes. The figure's data-marks and data-bands count what is
  // drawn.
  function placeMarks(u, layer, placed, marks, fig) {
    const min = u.scales.x.min;
    const max = u.scales.x.max;
    const width = u.over.clientWidth;
    const seen = new Set();
    let nEvents = 0;
    let nBands = 0;
    if (!isNum(min) || !isNum(max) || max <= min) {
      layer.replaceChildren();
      placed.clear();
      return;
    }
    const pos = (ms) => u.valToPos(Math.max(min, Math.min(max, ms / 1000)), 'x');
    const take = (key, make) => {
      seen.add(key);
      let e = placed.get(key);
      if (!e) {
        e = make();
        placed.set(key, e);
        layer.appendChild(e);
      }
      return e;
    };
    for (const b of marks.bands) {
      if (b.end / 1000 < min || b.start / 1000 > max) {
        continue;
      }
      const key = 'b:' + b.name + ':' + b.start;
      const label = categoryText(b.category) + (b.upcoming ? ' (next)' : '');
      const tip = categoryText(b.category) + ' “' + b.name + '” ' + fmtTime(b.start) + ' to ' +
        fmtTime(b.end) + (b.active ? ' (active)' : b.upcoming ? ' (upcoming)' : '') +
        ': excluded from the budget';
      const e = take(key, () => el('div', { class: 'adj-band', dataset: { adjustment: b.name,
        category: b.category || '' } }, el('span', { class: 'adj-label' })));
      e.classList.toggle('upcoming', b.upcoming);
      e.firstChild.textContent = label;
      e.firstChild.title = tip;
      e.style.left = pos(b.start).toFixed(1) + 'px';
      e.style.width = Math.max(2, pos(b.end) - pos(b.start)).toFixed(1) + 'px';
      nBands++;
    }
    for (const a of marks.events) {
      const end = isNum(a.end_ms) && a.end_ms > a.time_ms ? a.end_ms : null;
      if ((end !== null ? end : a.time_ms) / 1000 < min || a.time_ms / 1000 > max) {
        continue;
      }
      const kind = kindName(a.kind);
      const key = 'a:' + a.id;
      const summary = annotationSummary(a);
      const e = take(key, () => el('span', { class: 'mark', tabindex: '0', role: 'img',
        dataset: { annotation: a.id } },
      el('span', { class: 'mark-flag', 'aria-hidden': 'true' }),
      el('span', { class: 'mark-tip', 'aria-hidden': 'true' })));
      e.className = 'mark kind-' + kind + (end !== null ? ' range' : '');
      e.dataset.kind = kind;
      e.setAttribute('aria-label', summary);
      e.querySelector('.mark-flag').textContent = KINDS[kind];
      e.querySelector('.mark-tip').textContent = summary;
      const x0 = pos(a.time_ms);
      e.style.left = x0.toFixed(1) + 'px';
      e.style.width = end !== null ? Math.max(2, pos(end) - x0).toFixed(1) + 'px' : '';
      e.classList.toggle('flip', x0 > width * 0.6);
      nEvents++;
    }
    for (const [key, e] of placed) {
      if (!seen.has(key)) {
        e.remove();
        placed.delete(key);
      }
    }
    fig.dataset.marks = String(nEvents);
    fig.dataset.bands = String(nBands);
  }

  function figure(name, title, description) {
    return el('figure', { class: 'chart', dataset: { chart: name }, 'aria-label': title + '. ' + description },
      el('figcaption', {}, el('strong', { text: title }), ' ', el('span', { class: 'muted', text: description })));
  }

  // Points of a history response as uPlot columns [xs(seconds), ys].
  function historyColumn(points, pick) {
    const xs = [];
    const ys = [];
    for (const p of points || []) {
      if (!isNum(p.t_ms)) {
        continue;
      }
      xs.push(p.t_ms / 1000);
      const v = pick(p);
      ys.push(isNum(v) ? v : null);
    }
    return [xs, ys];
  }

  function constantLike(xs, v) {
    return xs.map(() => v);
  }

  // The span a history response covers, in seconds, for chart().set.
  function historySpan(h) {
    return h && isNum(h.start_ms) && isNum(h.end_ms) ? [h.start_ms / 1000, h.end_ms / 1000] : null;
  }

  // ------------------------------------------------------------ SLO page --

  function renderSlo(main, pg, id) {
    const params = new URLSearchParams(location.search);
    let range = params.get('range') || '1d';
    if (!RANGES.some(([r]) => r === range)) {
      range = '1d';
    }
    let detail = null;

    const head = el('div', { class: 'slo-head' });
    const cards = el('div', { class: 'cards' });
    const policy = el('section', { class: 'panel', 'aria-labelledby': 'h-policy' });
    const alertsSec = el('section', { class: 'panel', 'aria-labelledby': 'h-alerts' });
    const windowsSec = el('section', { class: 'panel', 'aria-labelledby': 'h-windows' });
    const queriesSec = el('section', { class: 'panel', 'aria-labelledby': 'h-queries' });
    const status = el('div', { class: 'load', text: 'Loading…' });

    const burnFig = figure('burndown', 'Error budget burn-down',
      'budget remaining over the period; dashed: the ideal even spend (calendar periods)');
    const sliFig = figure('sli', 'SLI', 'over the period ending at each point, with the objective');
    const burnRateFig = figure('burnrate', 'Burn rate (1h)', '1× spends the budget exactly over the period');
    const rangeBar = el('div', { class: 'ranges', role: 'group', 'aria-label': 'Chart range' },
      RANGES.map(([r]) => el('button', { type: 'button', class: 'range', dataset: { range: r },
        'aria-pressed': String(r === range), text: r })));
    const eventsBox = el('div', { class: 'events', id: 'events', 'aria-labelledby': 'h-events',
      role: 'region' });
    const chartsSec = el('section', { class: 'panel charts', 'aria-labelledby': 'h-charts' },
      el('h2', { id: 'h-charts', text: 'Charts' }), burnFig,
      el('div', { class: 'range-row' }, el('span', { text: 'SLI and burn rate over ' }), rangeBar),
      sliFig, burnRateFig, eventsBox);
    let annotations = []; // in the charts' range, oldest first
    let annotationError = null;

    main.append(
      el('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
        el('a', { href: '/', text: 'SLOs' }), ' › ', el('span', { class: 'crumb-id', text: id })),
      status, head, cards, chartsSec, alertsSec, policy, windowsSec, queriesSec);
    for (const s of [head, cards, chartsSec, alertsSec, policy, windowsSec, queriesSec]) {
      s.hidden = true;
    }

    const burnChart = chart(pg, burnFig, {
      format: (v) => v.toFixed(1) + '%',
      tick: (v, d) => v.toFixed(d) + '%',
      // Always the whole budget (0–100%), more when it went below zero.
      yRange: (self, min, max) => [Math.min(0, min), Math.max(100, max)],
      series: [
        { label: 'budget remaining', color: COLOR.budget, width: 2 },
        { label: 'ideal', color: COLOR.ideal, width: 1.5, dash: [6, 4], spanGaps: true },
      ],
    });
    let sliChart = null;
    const burnRateChart = chart(pg, burnRateFig, {
      format: (v) => fmtBurn(v),
      tick: (v, d) => v.toFixed(d) + '×',
      series: [
        { label: 'burn rate 1h', color: COLOR.burn, width: 2 },
        { label: '1× (even spend)', color: COLOR.neutral, width: 1, dash: [4, 4] },
        { label: 'fastest alert factor', color: COLOR.threshold, width: 1.5, dash: [8, 4] },
      ],
    });

    function update(d) {
      detail = d;
      document.title = (d.service ? d.service + ' / ' : '') + (d.name || d.id) + ' · burnrate';
      const st = stateName(d);
      const groups = labelPairs(d.group_labels);
      fill(head,
        el('h1', {}, el('span', { class: 'muted svc', text: d.service || '' }), d.service ? ' / ' : '',
          el('span', { class: 'slo-title', text: d.name || d.slo_id || d.id }),
          groups.map(([k, v]) => [' ', el('span', { class: 'chip', text: k + '=' + v })]),
          ' ', stateBadge(st),
          activeAdjustments(d).length > 0 ? [' ', adjustmentBadge(activeAdjustments(d))] : null),
        d.description ? el('p', { class: 'desc', text: d.description }) : null,
        el('p', { class: 'meta' },
          el('span', {}, 'id ', el('code', { class: 'slo-id', text: d.id })),
          d.source ? el('span', {}, ' · defined in ', el('code', { text: d.source })) : null,
          d.format ? el('span', { text: ' · ' + d.format + ' format' }) : null,
          d.sli_kind ? el('span', { text: ' · ' + d.sli_kind + ' SLI' }) : null,
          d.budgeting ? el('span', { text: ' · ' + d.budgeting + ' budgeting' }) : null,
          labelPairs(d.labels).map(([k, v]) => [' ', el('span', { class: 'chip', text: k + '=' + v })])),
        d.error ? el('div', { class: 'error', role: 'alert' }, el('strong', { text: 'Evaluation error: ' }), d.error) : null);

      const b = d.budget || {};
      const total = b.total_seconds;
      const used = isNum(b.consumed) && isNum(total) ? b.consumed * total : null;
      const left = isNum(b.remaining_seconds) ? b.remaining_seconds : null;
      const eta = b.exhaustion_eta_seconds;
      fill(cards,
        card('Objective', fmtObjective(d.objective), fmtPeriod(d.period), 'objective'),
        card('SLI', fmtSli(d.sli, d.objective), 'over the ' + fmtPeriod(d.period) + ' period', 'sli'),
        el('div', { class: 'card wide', dataset: { card: 'budget' } },
          el('div', { class: 'card-label', text: 'Error budget left' }),
          el('div', { class: 'card-value' }, budgetBar(b.remaining, st)),
          el('div', { class: 'card-sub budget-minutes' },
            el('span', { dataset: { k: 'allowed' }, text: fmtMinutes(total) }), ' allowed, ',
            el('span', { dataset: { k: 'used' }, text: fmtMinutes(used) }), ' used',
            isNum(left) ? [', ', el('span', { dataset: { k: 'left' }, text: fmtMinutes(left) }), ' left'] : null)),
        card('Exhaustion', eta === null || eta === undefined ? 'not burning'
          : eta <= 0 ? 'exhausted' : 'in ' + fmtDuration(eta), 'at the last hour\'s burn rate', 'eta'),
        card('Spent last hour', fmtPct(b.consumed_last_hour, 2), 'of the budget', 'last-hour'),
        card('Data', d.no_data ? 'no data' : isNum(d.data_age_seconds) ? fmtDuration(d.data_age_seconds) + ' ago' : NA,
          d.stale ? '⚠ stale: no recent samples' : d.last_sample_time ? 'newest sample ' + fmtTime(parseTime(d.last_sample_time)) : '',
          'freshness'));

      renderAlerts(d);
      renderPolicy(d, st);
      renderWindows(d);
      renderQueries(d);
      for (const s of [head, cards, chartsSec, alertsSec, policy, windowsSec, queriesSec]) {
        s.hidden = false;
      }
      main.dataset.loaded = 'true';
    }

    function card(label, value, sub, key) {
      return el('div', { class: 'card', dataset: { card: key } }, el('div', { class: 'card-label', text: label }),
        el('div', { class: 'card-value', text: value }), el('div', { class: 'card-sub', text: sub || '' }));
    }

    function renderAlerts(d) {
      const alerts = d.alerts || [];
      const rowsEls = alerts.map((a) => {
        const isBurn = a.kind === 'burn_rate';
        const v = alertValueFormat(a.kind);
        return el('tr', { dataset: { alert: a.alertname + '/' + (a.tier || ''), kind: a.kind || '' } },
          el('td', {}, el('span', { class: 'alertname', text: a.alertname }),
            a.tier ? el('span', { class: 'muted', text: ' ' + a.tier }) : null),
          el('td', { text: a.severity || NA }),
          el('td', { dataset: { col: 'windows' }, text: a.short_window ? a.long_window + ' + ' + a.short_window : (a.long_window || NA) }),
          el('td', { class: 'num', dataset: { col: 'factor' }, text: isBurn ? fmtBurn(a.factor) : NA }),
          el('td', { class: 'num', dataset: { col: 'long' }, text: v(a.long_value) }),
          el('td', { class: 'num', dataset: { col: 'short' }, text: v(a.short_value) }),
          el('td', { class: 'num', dataset: { col: 'threshold' }, text: v(a.threshold) }),
          el('td', { dataset: { col: 'state' } }, el('span', { class: 'badge marked alert-' + (a.state || 'inactive'),
            text: a.state || 'inactive' })),
          el('td', { text: a.active_since ? fmtTime(parseTime(a.active_since)) : NA }));
      });
      fill(alertsSec, el('h2', { id: 'h-alerts', text: 'Multi-window alerts' }),
        alerts.length === 0 ? el('p', { class: 'muted', text: 'No alerts are defined for this SLO.' })
          : el('div', { class: 'table-wrap' }, el('table', { class: 'grid alerts', id: 'alert-table' },
            el('thead', {}, el('tr', {}, ['Alert', 'Severity', 'Windows (long + short)', 'Factor', 'Long', 'Short',
              'Threshold', 'State', 'Active since'].map((t, i) => el('th', { scope: 'col', class: i >= 3 && i <= 6 ? 'num' : null, text: t })))),
            el('tbody', {}, rowsEls))),
        el('p', { class: 'muted small', text: 'A burn-rate alert fires when both windows burn faster than the factor; the short window makes it stop soon after the burning stops. ' +
          'A budget-drop alert compares the share of the budget spent in its window with its threshold; an exhaustion alert, the time left at the last hour\'s burn rate.' }));
    }

    function renderPolicy(d, st) {
      const state = d.state || {};
      const pol = Array.isArray(d.policy) ? d.policy : [];
      const actions = Array.isArray(state.actions) ? state.actions : [];
      fill(policy, el('h2', { id: 'h-policy', text: 'Error budget policy' }),
        el('p', { class: 'policy-now' }, 'Now ', stateBadge(st),
          state.since ? ' since ' + fmtTime(parseTime(state.since)) : '',
          state.previous ? ' (was ' + state.previous + ')' : '', ' · deploys ',
          el('strong', { class: state.allow_deploy === false ? 'deny' : 'allow', dataset: { k: 'deploy' },
            text: st === null ? 'undecided (no data)' : state.allow_deploy === false ? 'blocked' : 'allowed' })),
        actions.length ? el('ul', { class: 'actions' }, actions.map((a) => el('li', { text: a }))) : null,
        pol.length ? el('div', { class: 'table-wrap' }, el('table', { class: 'grid policy' },
          el('thead', {}, el('tr', {}, ['State', 'When budget left is', 'Deploys', 'Actions'].map((t) => el('th', { scope: 'col', text: t })))),
          el('tbody', {}, pol.map((p) => el('tr', { class: p.name === st ? 'current' : null, 'aria-current': p.name === st ? 'true' : null },
            el('td', {}, stateBadge(STATES.includes(p.name) ? p.name : null), p.name === st ? el('span', { class: 'small', text: ' (current)' }) : null),
            el('td', { text: isNum(p.above) ? 'above ' + fmtPct(p.above, pctDecimals(p.above)) : 'anything lower' }),
            el('td', { text: p.allow_deploy ? 'allowed' : 'blocked' }),
            el('td', { text: Array.isArray(p.actions) && p.actions.length ? p.actions.join('; ') : NA })))))) : null);
    }

    function queryFor(d, window) {
      const q = d.queries || {};
      return q['sli_' + window] || null;
    }

    function queryButtons(expr) {
      return [el('button', { type: 'button', class: 'copy small-btn', dataset: { copy: expr }, text: 'Copy' }),
        ' ', el('a', { class: 'small-btn', href: queryHref(expr), text: 'Query' })];
    }

    function renderWindows(d) {
      const ws = uniqueWindows(d);
      fill(windowsSec, el('h2', { id: 'h-windows', text: 'Windows' }),
        el('div', { class: 'table-wrap' }, el('table', { class: 'grid windows', id: 'window-table' },
          el('thead', {}, el('tr', {}, ['Window', 'Error ratio', 'Burn rate', 'Bad / total', 'PromQL'].map((t, i) =>
            el('th', { scope: 'col', class: i >= 1 && i <= 3 ? 'num' : null, text: t })))),
          el('tbody', {}, ws.map((w) => {
            const period = isPeriodWindow(d, w);
            const expr = (period && (d.queries || {}).sli_period) || queryFor(d, w.window);
            return el('tr', { dataset: { window: w.window, period: String(period) } },
              el('td', { title: w.window }, period ? 'period ' : null,
                period && d.period && d.period.kind === 'calendar' ? fmtDuration(w.window_seconds) + ' so far' : w.window),
              el('td', { class: 'num', text: fmtErrorRatio(w.error_ratio) }),
              el('td', { class: 'num', text: fmtBurn(w.burn_rate) }),
              el('td', { class: 'num', text: fmtCount(w.bad) + ' / ' + fmtCount(w.total) }),
              el('td', {}, expr ? queryButtons(expr) : el('span', { class: 'muted', text: NA })));
          })))));
    }

    function renderQueries(d) {
      const q = d.queries || {};
      const keys = Object.keys(q).sort();
      fill(queriesSec, el('h2', { id: 'h-queries', text: 'PromQL behind the numbers' }),
        keys.length === 0 ? el('p', { class: 'muted', text: 'The API gave no queries for this SLO.' })
          : el('dl', { class: 'queries' }, keys.map((k) => [
            el('dt', {}, el('code', { text: k }), ' ', queryButtons(q[k])),
            el('dd', {}, el('pre', {}, el('code', { class: 'promql', text: q[k] })))])));
    }

    async function loadHistory() {
      if (!detail) {
        return;
      }
      const end = isNum(detail.period && detail.period.end_ms) && detail.period.kind === 'rolling'
        ? detail.period.end_ms / 1000 : Date.now() / 1000;
      const base = '/api/v1/slos/' + encodeURIComponent(detail.id) + '/history';
      const seconds = (RANGES.find(([r]) => r === range) || [null, 0])[1];
      const periodReq = getJSON(base, pg.abort.signal);
      const rangeReq = seconds > 0
        ? getJSON(base + '?' + new URLSearchParams({ start: (end - seconds).toFixed(3), end: end.toFixed(3) }),
          pg.abort.signal)
        : periodReq;
      // Annotations over everything the charts show: the period (the
      // burn-down, to its end for calendar periods) and the chosen range.
      const p = detail.period || {};
      let from = seconds > 0 ? end - seconds : end - (p.duration_seconds || 0);
      if (isNum(p.start_ms)) {
        from = Math.min(from, p.start_ms / 1000);
      }
      const to = isNum(p.end_ms) ? Math.max(end, p.end_ms / 1000) : end;
      const annReq = getJSON('/api/v1/annotations?' + new URLSearchParams({ slo: detail.id,
        start: from.toFixed(3), end: to.toFixed(3), limit: String(MAX_ANNOTATIONS) }), pg.abort.signal);
      // The requests succeed or fail on their own: a failed period history
      // leaves the SLI and burn-rate charts drawn, and the reverse; failed
      // annotations leave every chart drawn, without markers.
      const [pr, rr, ar] = await Promise.allSettled([periodReq, rangeReq, annReq]);
      if (page !== pg) {
        return;
      }
      let errors = 0;
      for (const r of [pr, rr, ar]) {
        if (r.status === 'rejected' && r.reason && r.reason.name === 'AbortError') {
          return;
        }
      }
      if (pr.status === 'fulfilled') {
        chartError(burnFig, null);
        drawBurnDown(pr.value);
      } else {
        errors++;
        chartError(burnFig, pr.reason);
      }
      if (rr.status === 'fulfilled') {
        chartError(sliFig, null);
        chartError(burnRateFig, null);
        drawRange(rr.value);
      } else {
        errors++;
        chartError(sliFig, rr.reason);
        chartError(burnRateFig, rr.reason);
      }
      if (ar.status === 'fulfilled') {
        annotations = Array.isArray(ar.value) ? ar.value.filter((a) => a && isNum(a.time_ms)) : [];
        annotationError = null;
      } else {
        annotations = [];
        annotationError = ar.reason;
      }
      applyMarks();
      renderEvents(from * 1000, to * 1000);
      chartsSec.dataset.range = range;
      chartsSec.dataset.errors = String(errors);
      chartsSec.dataset.loaded = 'true';
    }

    // The same annotations and adjustment bands on every chart; each shows
    // those in its own x range.
    function applyMarks() {
      const m = { events: annotations, bands: detail ? adjustmentBands(detail, Date.now()) : [] };
      for (const c of [burnChart, sliChart, burnRateChart]) {
        if (c) {
          c.marks(m);
        }
      }
    }

    // Under the charts, as text: the annotations (newest first) and the
    // SLO's budget adjustments.
    function renderEvents(fromMs, toMs) {
      const list = annotations.slice().reverse();
      const adj = detail && Array.isArray(detail.adjustments) ? detail.adjustments : [];
      const when = (rfc) => (parseTime(rfc) === null ? NA : fmtTime(parseTime(rfc)));
      fill(eventsBox,
        el('h3', { id: 'h-events', text: 'Events' }),
        el('p', { class: 'muted small' }, 'Annotations for this SLO from ', fmtTime(fromMs), ' to ', fmtTime(toMs),
          ': markers on the charts (', Object.keys(KINDS).map((k, i) => [i ? ', ' : '', kindBadge(k)]),
          '); a range is a shaded band. Hatched bands are budget adjustments.'),
        annotationError ? el('p', { class: 'error', role: 'status' }, el('strong', { text: 'Annotations unavailable: ' }),
          annotationError.message || String(annotationError)) : null,
        list.length === 0 && !annotationError
          ? el('p', { class: 'muted', id: 'no-events', text: 'No annotations in this range.' }) : null,
        list.length > 0 ? el('div', { class: 'table-wrap' }, el('table', { class: 'grid events', id: 'event-table' },
          el('caption', { class: 'visually-hidden', text: 'Annotations, newest first' }),
          el('thead', {}, el('tr', {}, ['Time', 'Kind', 'Title', 'Author', 'Tags'].map((t) => el('th', { scope: 'col', text: t })))),
          el('tbody', {}, list.map((a) => el('tr', { dataset: { annotation: a.id, kind: kindName(a.kind) } },
            el('td', { class: 'when' }, fmtTime(a.time_ms),
              isNum(a.end_ms) && a.end_ms > a.time_ms ? [' to ', fmtTime(a.end_ms)] : null),
            el('td', {}, kindBadge(a.kind)),
            el('td', {}, el('span', { class: 'ev-title', text: a.title || '(no title)' }),
              a.text ? el('div', { class: 'muted small ev-text', text: a.text }) : null),
            el('td', { class: 'ev-author', text: a.author || NA }),
            el('td', {}, (Array.isArray(a.tags) ? a.tags : []).map((t) => [el('span', { class: 'chip', text: t }), ' '])))))))
          : null,
        adj.length > 0 ? [
          el('h3', { id: 'h-adjustments', text: 'Budget adjustments' }),
          el('p', { class: 'muted small', text: 'Events in these periods are excluded from every window and the budget.' }),
          el('div', { class: 'table-wrap' }, el('table', { class: 'grid adjustments', id: 'adjustment-table' },
            el('thead', {}, el('tr', {}, ['Name', 'Category', 'State', 'Latest', 'Next start', 'Excluded this period',
              'Budget restored'].map((t, i) => el('th', { scope: 'col', class: i >= 5 ? 'num' : null, text: t })))),
            el('tbody', {}, adj.map((a) => el('tr', { dataset: { adjustment: a.name, state: a.state || '' } },
              el('td', { text: a.name }),
              el('td', { text: categoryText(a.category) }),
              el('td', {}, a.state === 'active' ? el('span', { class: 'badge adj-active marked-adj', text: 'active' })
                : el('span', { text: a.state || NA })),
              el('td', { text: a.last_start ? when(a.last_start) + ' to ' + when(a.last_end) : NA }),
              el('td', { text: when(a.next_start) }),
              el('td', { class: 'num', text: fmtDuration(a.excluded_seconds) }),
              el('td', { class: 'num', text: isNum(a.budget_restored) ? fmtPct(a.budget_restored, 2) : NA }))))))]
          : null);
      eventsBox.dataset.events = String(list.length);
      eventsBox.dataset.adjustments = String(adj.length);
    }

    // Shows err (or removes the message when err is null) in a figure.
    function chartError(fig, err) {
      const old = fig.querySelector('.chart-error');
      if (old) {
        old.remove();
      }
      if (err) {
        fig.insertBefore(el('p', { class: 'error chart-error', role: 'alert' },
          el('strong', { text: 'History unavailable: ' }), err.message || String(err)),
        fig.querySelector('.plot'));
      }
    }

    // Burn-down: budget remaining and the ideal line, aligned on time.
    function drawBurnDown(ph) {
      const budget = historyColumn(ph.points, (p) => (isNum(p.budget_remaining) ? p.budget_remaining * 100 : null));
      const ideal = Array.isArray(ph.ideal) && ph.ideal.length
        ? historyColumn(ph.ideal, (p) => (isNum(p.budget_remaining) ? p.budget_remaining * 100 : null))
        : [[], []];
      burnChart.set(window.uPlot ? window.uPlot.join([budget, ideal]) : [budget[0], budget[1], budget[1]],
        historySpan(ph));
      const hasIdeal = Array.isArray(ph.ideal) && ph.ideal.length > 0;
      burnChart.show(2, hasIdeal); // rolling periods have no ideal line
      burnFig.dataset.ideal = String(hasIdeal);
    }

    // SLI and burn rate over the selected range.
    function drawRange(rh) {
      const sli = historyColumn(rh.points, (p) => (isNum(p.error_ratio) ? (1 - p.error_ratio) * 100 : null));
      const objective = detail.objective * 100;
      if (sliChart === null) {
        const lo = Math.min(objective - 3 * (100 - objective), ...sli[1].filter(isNum));
        sliChart = chart(pg, sliFig, {
          format: (v) => v.toFixed(Math.max(2, pctDecimals(detail.objective) + 1)) + '%',
          tick: (v, d) => v.toFixed(d) + '%',
          yRange: (self, min, max) => [Math.max(0, Math.min(lo, min)), Math.min(100, Math.max(100, max))],
          series: [
            { label: 'SLI', color: COLOR.sli, width: 2 },
            { label: 'objective', color: COLOR.objective, width: 1.5, dash: [6, 4] },
          ],
        });
      }
      sliChart.set([sli[0], sli[1], constantLike(sli[0], objective)], historySpan(rh));
      const burn = historyColumn(rh.points, (p) => p.burn_rate_1h);
      let fastest = null;
      for (const a of detail.alerts || []) {
        if (a.kind === 'burn_rate' && isNum(a.factor) && (fastest === null || a.factor > fastest)) {
          fastest = a.factor;
        }
      }
      burnRateChart.set([burn[0], burn[1], constantLike(burn[0], 1), constantLike(burn[0], fastest)],
        historySpan(rh));
    }

    async function load(first) {
      try {
        const d = await getJSON('/api/v1/slos/' + encodeURIComponent(id), pg.abort.signal);
        if (page !== pg) {
          return;
        }
        status.hidden = true;
        update(d);
        setTopStatus('updated ' + fmtTime(Date.now()));
        await loadHistory();
        if (first) {
          every(pg, 30, () => load(false));
        }
      } catch (err) {
        if (err.name === 'AbortError') {
          return;
        }
        status.hidden = false;
        fill(status, errorBox(err),
          el('p', {}, el('a', { href: '/', text: 'Back to the SLO overview' })));
      }
    }

    rangeBar.addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-range]');
      if (!b || b.dataset.range === range) {
        return;
      }
      range = b.dataset.range;
      for (const x of rangeBar.querySelectorAll('button')) {
        x.setAttribute('aria-pressed', String(x.dataset.range === range));
      }
      const p = new URLSearchParams(location.search);
      p.set('range', range);
      setSearch(p);
      chartsSec.dataset.loaded = 'false';
      loadHistory().catch((err) => {
        if (err.name !== 'AbortError') {
          chartsSec.appendChild(errorBox(err));
        }
      });
    });
    main.addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-copy]');
      if (b) {
        copyText(b.dataset.copy, b);
      }
    });

    load(true);
  }

  function copyText(text, button) {
    const done = (ok) => {
      const old = 'Copy';
      button.textContent = ok ? 'Copied' : 'Copy failed';
      setTimeout(() => {
        button.textContent = old;
      }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(() => done(true), () => done(fallbackCopy(text)));
    } else {
      done(fallbackCopy(text));
    }
  }

  // Clipboard for plain-http origins: select a hidden textarea and copy.
  function fallbackCopy(text) {
    const ta = el('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true' });
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch (e) {
      ok = false;
    }
    ta.remove();
    return ok;
  }

  // ---------------------------------------------------------- query page --

  function seriesLabel(metric) {
    const m = metric || {};
    const name = m.__name__ || '';
    const rest = labelPairs(m).filter(([k]) => k !== '__name__');
    return name + (rest.length || !name ? '{' + labelText(rest) + '}' : '');
  }

  function renderQuery(main, pg) {
    const params = new URLSearchParams(location.search);
    let tab = params.get('tab') === 'graph' ? 'graph' : 'table';
    let range = params.get('range') || '1h';
    if (!RANGES.some(([r]) => r === range) || range === 'period') {
      range = '1h';
    }
    const input = el('textarea', { id: 'expr', name: 'expr', rows: '3', spellcheck: 'false',
      autocomplete: 'off', 'aria-label': 'PromQL expression', placeholder: 'e.g. sum(rate(http_requests_total[5m]))' });
    input.value = params.get('expr') || '';
    const tabs = el('div', { class: 'tabs', role: 'group', 'aria-label': 'Result view' },
      ['table', 'graph'].map((t) => el('button', { type: 'button', class: 'tab', dataset: { tab: t },
        'aria-pressed': String(t === tab), text: t === 'table' ? 'Table' : 'Graph' })));
    const rangeSel = el('select', { id: 'q-range', 'aria-label': 'Graph range' },
      RANGES.filter(([r]) => r !== 'period').map(([r]) => el('option', { value: r, text: 'last ' + r })));
    rangeSel.value = range;
    const out = el('div', { class: 'result', id: 'result', 'aria-live': 'polite' });
    const form = el('form', { class: 'query-form' },
      el('label', { for: 'expr', class: 'visually-hidden', text: 'PromQL expression' }), input,
      el('div', { class: 'query-actions' }, el('button', { type: 'submit', text: 'Execute' }), tabs,
        el('label', {}, 'Graph range ', rangeSel),
        el('span', { class: 'muted small', text: 'Enter runs, Shift+Enter adds a line' })));
    main.append(el('h1', { text: 'Query' }), form, out);

    let graph = null; // the drawn range graph, destroyed before the next one
    pg.cleanups.push(() => {
      if (graph) {
        graph.destroy();
        graph = null;
      }
    });

    async function run() {
      const expr = input.value.trim();
      const p = new URLSearchParams();
      if (expr) {
        p.set('expr', expr);
      }
      p.set('tab', tab);
      if (tab === 'graph') {
        p.set('range', range);
      }
      setSearch(p);
      if (!expr) {
        fill(out, el('p', { class: 'muted', text: 'Enter a PromQL expression.' }));
        return;
      }
      fill(out, el('p', { class: 'muted', text: 'Running…' }));
      out.dataset.loaded = 'false';
      try {
        if (tab === 'table') {
          const data = await getJSON('/api/v1/query?' + new URLSearchParams({ query: expr }), pg.abort.signal);
          if (page === pg) {
            fill(out, instantTable(data));
          }
        } else {
          const seconds = RANGES.find(([r]) => r === range)[1];
          const end = Math.floor(Date.now() / 1000);
          const step = Math.max(1, Math.round(seconds / 300));
          const data = await getJSON('/api/v1/query_range?' + new URLSearchParams({
            query: expr, start: String(end - seconds), end: String(end), step: String(step) }), pg.abort.signal);
          if (page === pg) {
            rangeGraph(data, end - seconds, end, step);
          }
        }
        out.dataset.loaded = 'true';
      } catch (err) {
        if (err.name !== 'AbortError') {
          fill(out, errorBox(err));
          out.dataset.loaded = 'error';
        }
      }
    }

    function instantTable(data) {
      const t = data.resultType;
      const res = data.result;
      const rowsEls = [];
      let total = 0;
      if (t === 'scalar' || t === 'string') {
        total = 1;
        rowsEls.push(el('tr', {}, el('td', { text: t }), el('td', { class: 'num', text: String(res[1]) })));
      } else if (Array.isArray(res)) {
        total = res.length;
        for (const s of res.slice(0, MAX_QUERY_ROWS)) {
          let v;
          if (s.value) {
            v = String(s.value[1]);
          } else if (s.histogram) {
            v = 'histogram: count ' + s.histogram[1].count + ', sum ' + s.histogram[1].sum;
          } else if (s.values) {
            v = s.values.slice(-10).map((x) => x[1] + ' @' + x[0]).join('\n') +
              (s.values.length > 10 ? '\n(' + s.values.length + ' samples, last 10 shown)' : '');
          } else {
            v = NA;
          }
          rowsEls.push(el('tr', {}, el('td', {}, el('code', { text: seriesLabel(s.metric) })),
            el('td', { class: 'num pre', text: v })));
        }
      }
      return el('div', {},
        el('p', { class: 'muted small', dataset: { resultType: t, count: total },
          text: total + ' result' + (total === 1 ? '' : 's') + ' (' + t + ')' +
            (total > MAX_QUERY_ROWS ? ', first ' + MAX_QUERY_ROWS + ' shown' : '') }),
        el('div', { class: 'table-wrap' }, el('table', { class: 'grid query-table', id: 'query-table' },
          el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Series' }), el('th', { scope: 'col', class: 'num', text: 'Value' }))),
          el('tbody', {}, rowsEls))));
    }

    function rangeGraph(data, start, end, step) {
      const res = data.resultType === 'matrix' && Array.isArray(data.result) ? data.result : [];
      const shownSeries = res.slice(0, MAX_GRAPH_SERIES);
      const xs = [];
      for (let t = start; t <= end; t += step) {
        xs.push(t);
      }
      const index = new Map(xs.map((x, i) => [x, i]));
      const cols = shownSeries.map((s) => {
        const ys = new Array(xs.length).fill(null);
        for (const [t, v] of s.values || []) {
          const i = index.get(Math.round(t));
          const n = Number(v);
          if (i !== undefined) {
            ys[i] = Number.isFinite(n) ? n : null;
          }
        }
        return ys;
      });
      const fig = figure('query', 'Result', res.length + ' series' +
        (res.length > MAX_GRAPH_SERIES ? ', first ' + MAX_GRAPH_SERIES + ' drawn' : ''));
      fill(out, fig);
      if (graph) {
        graph.destroy();
        graph = null;
      }
      const sub = { cleanups: [] };
      const c = chart(sub, fig, {
        format: (v) => fmtNum(v),
        series: shownSeries.map((s, i) => ({ label: seriesLabel(s.metric), color: PALETTE[i % PALETTE.length], width: 1.5 })),
      });
      graph = { destroy: () => sub.cleanups.forEach((f) => f()) };
      if (shownSeries.length === 0) {
        fig.appendChild(el('p', { class: 'muted', text: 'No series in this range.' }));
        return;
      }
      c.set([xs].concat(cols));
    }

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      run();
    });
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey) {
        ev.preventDefault();
        run();
      }
    });
    tabs.addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-tab]');
      if (!b) {
        return;
      }
      tab = b.dataset.tab;
      for (const x of tabs.querySelectorAll('button')) {
        x.setAttribute('aria-pressed', String(x.dataset.tab === tab));
      }
      run();
    });
    rangeSel.addEventListener('change', () => {
      range = rangeSel.value;
      if (tab === 'graph') {
        run();
      }
    });
    if (input.value.trim()) {
      run();
    } else {
      input.focus();
    }
  }

  // ---------------------------------------------------------------- start --

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', render);
  } else {
    render();
  }
})();
