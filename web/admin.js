// yun admin console: tenants, their keys, usage over time and the live
// engine state, over the admin HTTP API (src/yun/serve/admin_api.h).
//
// The admin key lives in sessionStorage only (never localStorage, never a
// URL) and is sent as "Authorization: Bearer KEY". A new key's secret is
// shown once in the DOM and wiped from it on dismissal; no JS state keeps it.
// No build step, no framework, no external assets.
'use strict';

const $ = (id) => document.getElementById(id);
const KEY_SLOT = 'yun.admin.key';
const POLL_MS = 2000;
const SVG_NS = 'http://www.w3.org/2000/svg';

const state = {
  tenants: [],          // as GET /admin/v1/tenants returns them
  selected: null,       // the tenant id whose keys are shown
  pollTimer: null,
  polling: false,
  chart: null,          // the rows the chart shows, to redraw on resize
};

// ---- small DOM helpers ----------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function showError(id, message) {
  const p = $(id);
  p.textContent = message || '';
  p.hidden = !message;
}

const fmtInt = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));

function compact(n) {
  if (n >= 1e9) return `${+(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${+(n / 1e3).toFixed(1)}k`;
  return String(n);
}

function fmtTime(unixSeconds) {
  if (!unixSeconds) return '–';
  return new Date(unixSeconds * 1000).toISOString().replace('T', ' ').slice(0, 16);
}

// ---- the API ---------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    const e = body && body.error ? body.error : {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.param = e.param || '';
    this.code = e.code || '';
    this.type = e.type || '';
  }
}

function adminKey() { return sessionStorage.getItem(KEY_SLOT) || ''; }

// fetch with the admin key; JSON in and out (raw: the Response itself).
async function api(method, path, body, { raw = false, key = adminKey() } = {}) {
  const headers = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let r;
  try {
    r = await fetch(path, {
      method, headers, cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, { error: { message: `the server cannot be reached (${e.message})` } });
  }
  if (r.ok && raw) return r;
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  if (!r.ok) {
    const err = new ApiError(r.status, json);
    if (r.status === 401 || r.status === 403) authFailed(err);
    throw err;
  }
  return json;
}

function authMessage(err) {
  if (err.status === 401) return `The admin key was not accepted (401): ${err.message}`;
  if (err.status === 403) {
    return `This key may not use the admin API (403): ${err.message}. Use an admin-scoped key.`;
  }
  if (err.status === 404) {
    return 'This server has no admin API: start yun serve with --state-dir DIR (or --db URL).';
  }
  return `Cannot sign in: ${err.message}`;
}

// A 401/403 anywhere: forget the key, back to the sign-in form, say why.
function authFailed(err) {
  signOut();
  showError('auth-error', authMessage(err));
}

// ---- sign in / out ---------------------------------------------------------

async function signIn(key) {
  showError('auth-error', '');
  $('sign-in').disabled = true;
  try {
    // One authenticated call proves the key; its answer fills the state panel.
    const s = await api('GET', '/admin/v1/state', undefined, { key });
    sessionStorage.setItem(KEY_SLOT, key);
    $('admin-key').value = '';
    $('login').hidden = true;
    $('console').hidden = false;
    $('sign-out').hidden = false;
    renderState(s);
    startPolling();
    await loadTenants();
    await loadUsage();
  } catch (err) {
    sessionStorage.removeItem(KEY_SLOT);
    showError('auth-error', authMessage(err));
  } finally {
    $('sign-in').disabled = false;
  }
}

function signOut() {
  sessionStorage.removeItem(KEY_SLOT);
  stopPolling();
  dismissNewKey();
  state.tenants = [];
  state.selected = null;
  $('console').hidden = true;
  $('login').hidden = false;
  $('sign-out').hidden = true;
  setConn('');
  $('admin-key').focus();
}

function setConn(text, bad = false) {
  const c = $('conn');
  c.textContent = text;
  c.classList.toggle('bad', bad);
}

// ---- live state ------------------------------------------------------------

function renderState(s) {
  const e = s.engine || {};
  const l = s.ledger || {};
  $('st-running').textContent = fmtInt(e.running);
  $('st-waiting').textContent = fmtInt(e.waiting);
  const kv = Number(e.kv_cache_usage);
  $('st-kv').textContent = Number.isFinite(kv) ? `${(kv * 100).toFixed(1)} %` : '–';
  $('st-committed').textContent = fmtInt(l.committed);
  $('st-pending').textContent = fmtInt(l.pending);
  $('st-healthy').textContent = l.healthy ? 'healthy' : 'failing';
  $('st-healthy').className = l.healthy ? 'ok' : 'bad';
  $('st-available').textContent = s.available ? 'available' : 'unavailable';
  $('st-available').className = s.available ? 'ok' : 'bad';
  $('st-tenants').textContent = fmtInt(s.tenants);
  const reason = s.reason || (!l.healthy && l.last_error) || '';
  showError('st-reason', reason);
  $('state-updated').textContent = `updated ${new Date().toLocaleTimeString('en-GB')}`;
  setConn('connected');
}

async function pollState() {
  if (state.polling || !adminKey()) return;
  state.polling = true;
  try {
    renderState(await api('GET', '/admin/v1/state'));
  } catch (err) {
    if (err.status !== 401 && err.status !== 403) setConn(`state: ${err.message}`, true);
  } finally {
    state.polling = false;
  }
}

function startPolling() {
  stopPolling();
  state.pollTimer = setInterval(pollState, POLL_MS);
}

function stopPolling() {
  if (state.pollTimer) clearInterval(state.pollTimer);
  state.pollTimer = null;
}

// ---- tenants ---------------------------------------------------------------

function limitsSummary(l = {}) {
  const parts = [];
  if (l.requests_per_minute != null) parts.push(`${compact(l.requests_per_minute)} req/min`);
  if (l.tokens_per_minute != null) parts.push(`${compact(l.tokens_per_minute)} tok/min`);
  if (l.max_concurrent != null) parts.push(`${compact(l.max_concurrent)} concurrent`);
  if (l.token_budget != null) {
    parts.push(`${compact(l.token_budget)} tok${l.budget_period === 'total' ? ' total' : `/${l.budget_period}`}`);
  }
  if (l.max_tokens != null) parts.push(`max ${compact(l.max_tokens)} tok/request`);
  return parts.length ? parts.join(' · ') : 'unlimited';
}

function tenantName(id) {
  const t = state.tenants.find((x) => x.id === id);
  return t ? t.name : id;
}

async function loadTenants() {
  try {
    const j = await api('GET', '/admin/v1/tenants');
    state.tenants = j.data || [];
    showError('tenants-error', '');
  } catch (err) {
    showError('tenants-error', `Cannot list tenants: ${err.message}`);
    return;
  }
  renderTenants();
  fillTenantFilter();
}

function renderTenants() {
  const body = $('tenants-body');
  body.replaceChildren();
  if (!state.tenants.length) {
    body.append(el('tr', {}, el('td', { colspan: 7, class: 'empty', text: 'No tenants yet.' })));
  }
  for (const t of state.tenants) {
    const selected = t.id === state.selected;
    const tr = el('tr', { 'data-testid': `tenant-row-${t.name}`, class: selected ? 'selected' : '' },
      el('td', { class: 'name', text: t.name }),
      el('td', { class: 'mono', text: t.id }),
      el('td', {}, el('span', { class: `pill ${t.status}`, text: t.status })),
      el('td', { class: 'limits', text: limitsSummary(t.limits) }),
      el('td', { class: 'num', text: String(t.weight) }),
      el('td', { text: t.models && t.models.length ? t.models.join(', ') : 'all' }),
      el('td', { class: 'row-actions' }, el('button', {
        type: 'button', 'data-testid': `tenant-keys-${t.name}`,
        'aria-pressed': selected ? 'true' : 'false',
        'aria-label': `Keys of ${t.name}`,
        onclick: () => selectTenant(t.id),
      }, 'Keys'),
      // The admin tenant holds the console's own key: no suspending it here.
      t.name === 'admin' ? '' : el('button', {
        type: 'button', class: t.status === 'active' ? 'danger' : '',
        'data-testid': `tenant-toggle-${t.name}`,
        'aria-label': `${t.status === 'active' ? 'Suspend' : 'Activate'} ${t.name}`,
        onclick: () => toggleTenant(t),
      }, t.status === 'active' ? 'Suspend' : 'Activate')));
    body.append(tr);
  }
}

function fillTenantFilter() {
  const sel = $('u-tenant');
  const keep = sel.value;
  sel.replaceChildren(el('option', { value: '', text: 'all tenants' }));
  for (const t of state.tenants) sel.append(el('option', { value: t.id, text: t.name }));
  sel.value = state.tenants.some((t) => t.id === keep) ? keep : '';
}

async function toggleTenant(t) {
  const status = t.status === 'active' ? 'suspended' : 'active';
  if (status === 'suspended' &&
      !confirm(`Suspend ${t.name}? Its keys are refused until it is activated again.`)) return;
  try {
    await api('PATCH', `/admin/v1/tenants/${encodeURIComponent(t.id)}`, { status });
    showError('tenants-error', '');
  } catch (err) {
    if (err.status !== 401 && err.status !== 403) showError('tenants-error', `${t.name} not changed: ${err.message}`);
    return;
  }
  await loadTenants();
}

const LIMIT_FIELDS = ['requests_per_minute', 'tokens_per_minute', 'max_concurrent',
  'token_budget', 'max_tokens'];
const FORM_FIELDS = ['name', ...LIMIT_FIELDS, 'budget_period', 'weight', 'models'];

// The form -> the API's tenant object. Numbers the page cannot read are
// sent as typed, so the API's own validation names the field.
function tenantFromForm(form) {
  const v = (n) => form.elements[n].value.trim();
  const num = (s) => (s !== '' && Number.isFinite(Number(s)) ? Number(s) : s);
  const spec = { name: v('name'), limits: {} };
  for (const f of LIMIT_FIELDS) if (v(f) !== '') spec.limits[f] = num(v(f));
  if (v('token_budget') !== '') spec.limits.budget_period = v('budget_period');
  if (v('weight') !== '') spec.weight = num(v('weight'));
  const models = v('models').split(',').map((m) => m.trim()).filter(Boolean);
  if (models.length) spec.models = models;
  return spec;
}

// The field an API error is about: its param, else the first field its
// message names ("limits.max_tokens must be >= 1").
function errorField(err) {
  const param = (err.param || '').replace(/^limits\./, '');
  if (FORM_FIELDS.includes(param)) return param;
  const m = err.message.match(new RegExp(`\\b(?:limits\\.)?(${FORM_FIELDS.join('|')})\\b`));
  return m ? m[1] : '';
}

function clearFieldErrors(form) {
  for (const s of form.querySelectorAll('.field-error')) s.textContent = '';
  for (const i of form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
  showError('tenant-form-error', '');
}

async function createTenant(ev) {
  ev.preventDefault();
  const form = ev.target;
  clearFieldErrors(form);
  $('tenant-form-msg').textContent = '';
  const spec = tenantFromForm(form);
  if (!spec.name) {
    form.querySelector('[data-field="name"]').textContent = 'A name is required.';
    form.elements.name.setAttribute('aria-invalid', 'true');
    form.elements.name.focus();
    return;
  }
  $('tenant-submit').disabled = true;
  try {
    const t = await api('POST', '/admin/v1/tenants', spec);
    form.reset();
    $('tenant-form-msg').textContent = `Created ${t.name} (${t.id}).`;
    state.selected = t.id;
    await loadTenants();
    await selectTenant(t.id);
  } catch (err) {
    if (err.status === 401 || err.status === 403) return;
    const field = errorField(err);
    const slot = field && form.querySelector(`[data-field="${field}"]`);
    if (slot) {
      slot.textContent = err.message;
      form.elements[field].setAttribute('aria-invalid', 'true');
      form.elements[field].focus();
    }
    showError('tenant-form-error', `Tenant not created: ${err.message}`);
  } finally {
    $('tenant-submit').disabled = false;
  }
}

// ---- keys ------------------------------------------------------------------

async function selectTenant(id) {
  state.selected = id;
  renderTenants();
  $('keys-tenant').textContent = `of ${tenantName(id)}`;
  $('key-create').disabled = false;
  $('keys-refresh').disabled = false;
  await loadKeys();
}

async function loadKeys() {
  const id = state.selected;
  if (!id) return;
  let keys;
  try {
    keys = (await api('GET', `/admin/v1/tenants/${encodeURIComponent(id)}/keys`)).data || [];
    showError('keys-error', '');
  } catch (err) {
    showError('keys-error', `Cannot list keys: ${err.message}`);
    return;
  }
  if (id !== state.selected) return;  // another tenant was picked meanwhile
  const body = $('keys-body');
  body.replaceChildren();
  if (!keys.length) {
    body.append(el('tr', {}, el('td', { colspan: 7, class: 'empty', text: 'No keys.' })));
  }
  for (const k of keys) {
    const active = k.status === 'active';
    body.append(el('tr', { 'data-testid': `key-row-${k.id}`, class: active ? '' : 'revoked' },
      el('td', { class: 'mono', text: k.id }),
      el('td', { text: k.name || '–' }),
      el('td', { class: 'mono', text: `${k.prefix}…` }),
      el('td', { text: k.scope }),
      el('td', {}, el('span', { class: `pill ${k.status}`, 'data-testid': `key-status-${k.id}`, text: k.status })),
      el('td', { class: 'date', text: fmtTime(k.created_at) }),
      el('td', {}, active ? el('button', {
        type: 'button', class: 'danger', 'data-testid': `key-revoke-${k.id}`,
        'aria-label': `Revoke key ${k.id}`, onclick: () => revokeKey(k),
      }, 'Revoke') : '')));
  }
}

async function createKey(ev) {
  ev.preventDefault();
  if (!state.selected) return;
  showError('keys-error', '');
  const body = { scope: $('k-scope').value };
  const name = $('k-name').value.trim();
  if (name) body.name = name;
  $('key-create').disabled = true;
  try {
    const made = await api('POST', `/admin/v1/tenants/${encodeURIComponent(state.selected)}/keys`, body);
    $('k-name').value = '';
    showNewKey(made.key);
    await loadKeys();
  } catch (err) {
    if (err.status !== 401 && err.status !== 403) showError('keys-error', `Key not created: ${err.message}`);
  } finally {
    $('key-create').disabled = false;
  }
}

// The secret goes into the DOM only; nothing else holds it.
function showNewKey(secret) {
  $('new-key-secret').textContent = secret;
  $('new-key-copied').textContent = '';
  $('new-key').hidden = false;
  $('new-key-copy').focus();
}

function dismissNewKey() {
  $('new-key-secret').textContent = '';
  $('new-key-copied').textContent = '';
  $('new-key').hidden = true;
}

async function copyNewKey() {
  const code = $('new-key-secret');
  const text = code.textContent;
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    // No clipboard API (or no permission): select the text and copy that.
    const range = document.createRange();
    range.selectNodeContents(code);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    try { ok = document.execCommand('copy'); } catch { ok = false; }
  }
  $('new-key-copied').textContent = ok ? 'Copied.' : 'Select the key and copy it by hand.';
}

async function revokeKey(k) {
  if (!confirm(`Revoke key ${k.id} (${k.prefix}…)? Requests with it get 401 from then on.`)) return;
  try {
    await api('DELETE', `/admin/v1/keys/${encodeURIComponent(k.id)}`);
  } catch (err) {
    if (err.status !== 401 && err.status !== 403) showError('keys-error', `Not revoked: ${err.message}`);
    return;
  }
  await loadKeys();
}

// ---- usage -----------------------------------------------------------------

function usageQuery(format) {
  const p = new URLSearchParams({ group_by: $('u-group').value });
  if ($('u-tenant').value) p.set('tenant', $('u-tenant').value);
  if (format) p.set('format', format);
  return `/admin/v1/usage?${p}`;
}

async function loadUsage(ev) {
  if (ev) ev.preventDefault();
  const group = $('u-group').value;
  let rows;
  try {
    rows = (await api('GET', usageQuery())).data || [];
    showError('usage-error', '');
  } catch (err) {
    if (err.status !== 401 && err.status !== 403) showError('usage-error', `Cannot read usage: ${err.message}`);
    return;
  }
  const periodKey = group === 'hour' ? 'hour' : 'date';
  rows.sort((a, b) => (a[periodKey] || '').localeCompare(b[periodKey] || '') ||
    tenantName(a.tenant).localeCompare(tenantName(b.tenant)) || a.model.localeCompare(b.model));
  $('u-period-col').textContent = group === 'hour' ? 'Hour (UTC)' : 'Date (UTC)';
  const body = $('usage-body');
  body.replaceChildren();
  if (!rows.length) {
    body.append(el('tr', {}, el('td', { colspan: 8, class: 'empty', text: 'No usage recorded.' })));
  }
  for (const r of rows) {
    const name = tenantName(r.tenant);
    body.append(el('tr', { 'data-testid': `usage-row-${name}`, 'data-tenant': name },
      el('td', { text: name }),
      el('td', { text: r.model }),
      el('td', { class: 'mono', text: r[periodKey] || '' }),
      el('td', { class: 'num', 'data-col': 'requests', text: fmtInt(r.requests) }),
      el('td', { class: 'num', 'data-col': 'prompt_tokens', text: fmtInt(r.prompt_tokens) }),
      el('td', { class: 'num', 'data-col': 'cached_prompt_tokens', text: fmtInt(r.cached_prompt_tokens) }),
      el('td', { class: 'num', 'data-col': 'completion_tokens', text: fmtInt(r.completion_tokens) }),
      el('td', { class: 'num', 'data-col': 'total_tokens', text: fmtInt(r.total_tokens) })));
  }
  drawChart(rows, periodKey);
}

// Upper ends of "nice" axes: 1, 2, 5 x 10^n (at least 4: whole ticks).
function niceMax(v) {
  if (v <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// Every period from the first to the last ("2026-12-01" or "2026-12-01T13"),
// so a quiet day shows as a gap; only the given ones past 400 periods.
function periodRange(periods, periodKey) {
  if (periods.length < 2) return periods;
  const step = periodKey === 'hour' ? 3600e3 : 86400e3;
  const toMs = (p) => Date.parse(periodKey === 'hour' ? `${p}:00:00Z` : `${p}T00:00:00Z`);
  const first = toMs(periods[0]);
  const last = toMs(periods[periods.length - 1]);
  if (!Number.isFinite(first) || !Number.isFinite(last) || (last - first) / step > 400) return periods;
  const out = [];
  for (let t = first; t <= last; t += step) {
    const iso = new Date(t).toISOString();
    out.push(periodKey === 'hour' ? iso.slice(0, 13) : iso.slice(0, 10));
  }
  return out;
}

// Stacked bars per period (prompt below, completion above), summed over
// the rows shown (every model, every tenant the filter lets through).
function drawChart(rows, periodKey) {
  state.chart = { rows, periodKey };
  const byPeriod = new Map();
  for (const r of rows) {
    const k = r[periodKey] || '';
    const b = byPeriod.get(k) || { prompt: 0, completion: 0 };
    b.prompt += r.prompt_tokens;
    b.completion += r.completion_tokens;
    byPeriod.set(k, b);
  }
  const periods = periodRange([...byPeriod.keys()].sort(), periodKey);
  const box = $('usage-chart');
  const W = Math.max(360, Math.floor(box.clientWidth || 720)), H = 240, L = 56, R = 12, T = 12, B = 36;
  const plotW = W - L - R, plotH = H - T - B;
  const who = $('u-tenant').value ? tenantName($('u-tenant').value) : 'all tenants';
  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', class: 'chart-svg',
    'aria-label': `Prompt and completion tokens per ${periodKey === 'hour' ? 'hour' : 'day'}, ${who}`,
  });
  const y0 = T + plotH;
  root.append(svg('line', { x1: L, x2: W - R, y1: y0, y2: y0, class: 'axis' }));
  if (!periods.length) {
    root.append(svg('text', { x: L + plotW / 2, y: T + plotH / 2, 'text-anchor': 'middle', class: 'none' },
      'No usage in this range'));
    box.replaceChildren(root);
    return;
  }
  const zero = { prompt: 0, completion: 0 };
  const at = (p) => byPeriod.get(p) || zero;
  const max = niceMax(Math.max(...periods.map((p) => at(p).prompt + at(p).completion)));
  const y = (v) => y0 - (v / max) * plotH;
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    if (i) root.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'gridline' }));
    root.append(svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, compact(Math.round(v))));
  }
  const slot = plotW / periods.length;
  const barW = Math.max(2, Math.min(48, slot * 0.7));
  const labelEvery = Math.ceil(periods.length / Math.max(1, Math.floor(plotW / 70)));
  periods.forEach((p, i) => {
    const x = L + slot * i + (slot - barW) / 2;
    if (i % labelEvery === 0) {
      const label = periodKey === 'hour' ? `${p.slice(5, 10)} ${p.slice(11)}h` : p.slice(5);
      root.append(svg('text', { x: x + barW / 2, y: H - B + 16, 'text-anchor': 'middle', class: 'tick' }, label));
    }
    if (!byPeriod.has(p)) return;
    const b = at(p);
    const g = svg('g', { class: 'bar', 'data-period': p });
    const pr = svg('rect', { x, y: y(b.prompt), width: barW, height: y0 - y(b.prompt), class: 'prompt' });
    pr.append(svg('title', {}, `${p}: ${fmtInt(b.prompt)} prompt tokens`));
    const co = svg('rect', {
      x, y: y(b.prompt + b.completion), width: barW, height: y(b.prompt) - y(b.prompt + b.completion),
      class: 'completion',
    });
    co.append(svg('title', {}, `${p}: ${fmtInt(b.completion)} completion tokens`));
    g.append(pr, co);
    root.append(g);
  });
  box.replaceChildren(root);
}

// The CSV goes through fetch (the key in a header, never in a URL) and is
// saved from a Blob URL.
async function downloadCsv() {
  showError('usage-error', '');
  let blob;
  try {
    blob = await (await api('GET', usageQuery('csv'), undefined, { raw: true })).blob();
  } catch (err) {
    if (err.status !== 401 && err.status !== 403) showError('usage-error', `Cannot download: ${err.message}`);
    return;
  }
  const url = URL.createObjectURL(new Blob([blob], { type: 'text/csv' }));
  const a = el('a', { href: url, download: `yun-usage-by-${$('u-group').value}.csv`, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ---- wiring ----------------------------------------------------------------

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const key = $('admin-key').value.trim();
  if (key) signIn(key);
});
$('sign-out').addEventListener('click', signOut);
$('tenant-form').addEventListener('submit', createTenant);
$('tenants-refresh').addEventListener('click', loadTenants);
$('key-form').addEventListener('submit', createKey);
$('keys-refresh').addEventListener('click', loadKeys);
$('new-key-copy').addEventListener('click', copyNewKey);
$('new-key-dismiss').addEventListener('click', dismissNewKey);
$('usage-form').addEventListener('submit', loadUsage);
$('usage-csv').addEventListener('click', downloadCsv);
$('u-tenant').addEventListener('change', () => loadUsage());
$('u-group').addEventListener('change', () => loadUsage());
let resizeTimer = null;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => { if (state.chart) drawChart(state.chart.rows, state.chart.periodKey); }, 150);
});
document.addEventListener('visibilitychange', () => { if (!document.hidden) pollState(); });

if (adminKey()) signIn(adminKey());
else $('admin-key').focus();
