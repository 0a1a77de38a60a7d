// sinkhost's status page: the connectors with their state, position, lag, delivered count and
// last error, refreshed every 2 s, with start/stop/reset buttons. Plain JavaScript, no
// libraries: it only calls the documented HTTP API (docs/api.md) with the browser's credentials.
'use strict';

const REFRESH_MS = 2000;
const HISTORY = 60; // throughput samples kept per connector (2 minutes)
const history = new Map(); // connector id -> [{t, delivered}]

// An API call; a non-2xx answer becomes an Error carrying the status and the server's message
// (the google.rpc.Status body), so the page can show it.
async function api(method, path) {
  let response;
  try {
    response = await fetch(path, { method, credentials: 'same-origin', headers: { Accept: 'application/json' } });
  } catch (e) {
    throw new Error('cannot reach sinkhost (' + e.message + ')');
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = JSON.parse(text).message || text;
    } catch (_) { /* not JSON: keep the text */ }
    const hint = response.status === 401 ? ' (sign in with a user of --auth basic)' : '';
    throw new Error(method + ' ' + path + ': ' + response.status + ' ' + message + hint);
  }
  return text;
}

// The banner shows the latest error. A failed refresh does not replace the answer to a button
// (the user's action matters more), and a successful refresh clears only a refresh error.
let errorKind = null; // 'action' | 'refresh' | null

function showError(message, kind) {
  if (kind === 'refresh' && errorKind === 'action') return;
  errorKind = kind;
  document.getElementById('error-text').textContent = message;
  document.getElementById('error').hidden = false;
}

function hideError(kind) {
  if (kind && errorKind !== kind) return;
  errorKind = null;
  document.getElementById('error').hidden = true;
}

// Every connector, page by page (the API returns at most 100 per page).
async function listConnectors() {
  const items = [];
  for (let page = 1; ; page++) {
    const body = JSON.parse(await api('GET', '/connectors?pageSize=100&page=' + page));
    items.push(...(body.items || []));
    if (!body.items || body.items.length === 0 || items.length >= Number(body.totalSize || 0)) return items;
  }
}

// Prometheus text -> {metricName: {connectorId: value}} for the per-connector series.
function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const match = /^(sinkhost_connector_[a-z_]+)\{[^}]*connector="([^"]*)"[^}]*\} ([0-9.eE+-]+)$/.exec(line);
    if (!match) continue;
    (out[match[1]] = out[match[1]] || {})[match[2]] = Number(match[3]);
  }
  return out;
}

function cell(row, text, className) {
  const td = document.createElement('td');
  if (className) td.className = className;
  td.textContent = text;
  row.appendChild(td);
  return td;
}

function stateBadge(connector) {
  const state = (connector.state || 'CONNECTOR_STATE_UNKNOWN').replace('CONNECTOR_STATE_', '');
  const span = document.createElement('span');
  const failed = state === 'STOPPED' && connector.errorDetails;
  span.className = 'state ' + (failed ? 'failed' : state.toLowerCase());
  span.textContent = failed ? 'STOPPED (failed)' : state;
  return span;
}

function sparkline(samples) {
  const canvas = document.createElement('canvas');
  canvas.width = 140;
  canvas.height = 28;
  const rates = [];
  for (let i = 1; i < samples.length; i++) {
    const seconds = (samples[i].t - samples[i - 1].t) / 1000;
    rates.push(seconds > 0 ? Math.max(0, samples[i].delivered - samples[i - 1].delivered) / seconds : 0);
  }
  const context = canvas.getContext('2d');
  const max = Math.max(1, ...rates);
  context.strokeStyle = '#2563eb';
  context.lineWidth = 1.5;
  context.beginPath();
  // The newest sample at the right edge; the first samples spread over the width.
  const step = (canvas.width - 2) / Math.max(14, rates.length - 1);
  rates.forEach((rate, i) => {
    const x = canvas.width - 1 - (rates.length - 1 - i) * step;
    const y = canvas.height - 2 - (rate / max) * (canvas.height - 4);
    if (i === 0) context.moveTo(x, y); else context.lineTo(x, y);
  });
  context.stroke();
  const last = rates.length ? rates[rates.length - 1] : 0;
  canvas.title = Math.round(last) + ' events/s now, peak ' + Math.round(max) + ' events/s';
  canvas.setAttribute('aria-label', canvas.title);
  return canvas;
}

function actionButton(label, connectorId, path, enabled, confirmText) {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = label;
  button.disabled = !enabled;
  button.dataset.action = label.toLowerCase();
  button.addEventListener('click', async () => {
    if (confirmText && !window.confirm(confirmText)) return;
    button.disabled = true;
    try {
      await api('POST', '/connectors/' + encodeURIComponent(connectorId) + path);
      hideError('action');
    } catch (e) {
      showError(e.message, 'action');
    }
    refresh();
  });
  return button;
}

function render(connectors, metrics) {
  const body = document.querySelector('#connectors tbody');
  const now = Date.now();
  const rows = [];
  for (const c of connectors) {
    const id = c.connectorId;
    const delivered = (metrics.sinkhost_connector_records_delivered_total || {})[id];
    const lag = (metrics.sinkhost_connector_lag_events || {})[id];
    const samples = history.get(id) || [];
    if (delivered !== undefined) samples.push({ t: now, delivered });
    while (samples.length > HISTORY) samples.shift();
    history.set(id, samples);

    const row = document.createElement('tr');
    row.dataset.connectorId = id;
    const name = cell(row, c.name && c.name !== id ? c.name + ' (' + id + ')' : id);
    name.className = 'name';
    cell(row, c.instanceTypeName || '');
    cell(row, '').appendChild(stateBadge(c));
    cell(row, c.position !== undefined ? String(c.position) : '—', 'num position');
    cell(row, lag !== undefined ? String(lag) : '—', 'num lag');
    cell(row, delivered !== undefined ? String(delivered) : '—', 'num delivered');
    cell(row, '').appendChild(sparkline(samples));
    const problem = c.errorDetails || c.warningDetails;
    cell(row, problem ? problem.message || '' : '', 'error-cell');
    const actions = cell(row, '', 'actions');
    const state = c.state || '';
    const running = state === 'CONNECTOR_STATE_RUNNING' || state === 'CONNECTOR_STATE_ACTIVATING';
    actions.appendChild(actionButton('Start', id, '/start', !running));
    actions.appendChild(actionButton('Stop', id, '/stop', running));
    actions.appendChild(actionButton('Reset', id, '/reset', true,
      'Reset ' + id + '? It delivers again from its start position.'));
    rows.push(row);
  }
  body.replaceChildren(...rows);
  document.getElementById('empty').hidden = connectors.length > 0;
  for (const id of history.keys()) {
    if (!connectors.some((c) => c.connectorId === id)) history.delete(id);
  }
}

let refreshing = false;
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const [connectors, metricsText] = await Promise.all([listConnectors(), api('GET', '/metrics')]);
    render(connectors, parseMetrics(metricsText));
    document.getElementById('status').textContent = 'updated ' + new Date().toLocaleTimeString();
    hideError('refresh');
  } catch (e) {
    document.getElementById('status').textContent = 'not updated';
    showError(e.message, 'refresh');
  } finally {
    refreshing = false;
  }
}

document.getElementById('error-close').addEventListener('click', () => hideError());
refresh();
setInterval(refresh, REFRESH_MS);
