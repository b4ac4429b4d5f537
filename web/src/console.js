// The owner console: reads /console/api/overview, /console/api/usage and
// /console/api/recent, and changes things through the management API at /console/api/mgmt, each
// change carrying the session's CSRF token.
let csrf = '';
let chartFor = null;  // {planId, keyId?, title}

const $ = (selector) => document.querySelector(selector);

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text === undefined || text === null ? '' : String(text);
  row.appendChild(td);
  return td;
}

function button(parent, text, onClick) {
  const b = document.createElement('button');
  b.textContent = text;
  b.addEventListener('click', onClick);
  parent.appendChild(b);
  return b;
}

// Rows for `items`, in place of the table's rows, or after them with `more`.
function fill(tbody, items, render, more = false) {
  if (!more) tbody.replaceChildren();
  for (const item of items) {
    const row = document.createElement('tr');
    render(row, item);
    tbody.appendChild(row);
  }
}

function option(select, value, text) {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = text;
  select.appendChild(o);
}

async function request(method, path, body) {
  const headers = {};
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) { location.reload(); throw new Error('signed out'); }
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error((data && data.message) || `${method} ${path}: ${res.status}`);
  return data;
}

const change = (method, path, body) => request(method, '/console/api/mgmt' + path, body);

async function guarded(action) {
  $('#problem').textContent = '';
  $('#notice').textContent = '';
  try {
    await action();
  } catch (e) {
    $('#problem').textContent = e.message;
  }
}

function showChart(target) {
  chartFor = target;
  guarded(drawChart);
}

async function drawChart() {
  if (!chartFor) return;
  const days = $('#chart-days').value;
  const query = new URLSearchParams({ planId: chartFor.planId, days });
  if (chartFor.keyId) query.set('keyId', chartFor.keyId);
  const usage = await request('GET', '/console/api/usage?' + query);
  $('#chart-title').textContent = `Daily usage: ${chartFor.title}`;
  $('#chart').replaceChildren();
  dailyChart($('#chart'), usage.days, `Requests per day, last ${days} days (UTC)`);
  await drawRecent();
}

async function drawRecent() {
  if (!chartFor) return;
  const query = new URLSearchParams({ planId: chartFor.planId });
  if (chartFor.keyId) query.set('keyId', chartFor.keyId);
  const recent = await request('GET', '/console/api/recent?' + query);
  $('#recent-title').textContent = `Requests by outcome: ${chartFor.title}`;
  $('#recent-chart').replaceChildren();
  outcomeChart($('#recent-chart'), recent.minutes, 'Requests per second, last hour (per-minute average)');
}

// The last hour moves on while the page is open.
setInterval(() => { if (chartFor && !document.hidden) drawRecent().catch(() => {}); }, 15000);

function quotaText(q) {
  return q ? `${q.limit} / ${q.period.toLowerCase()}` : '';
}

// Keys come a page at a time: there may be a million.
const keysPerPage = 100;
let keyQuery = '';
let keyPlan = null;  // {id, name}: only the keys in this plan
let nextKeys = '';

function overview(position) {
  const query = new URLSearchParams({ limit: keysPerPage });
  if (keyQuery) query.set('nameQuery', keyQuery);
  if (keyPlan) query.set('planId', keyPlan.id);
  if (position) query.set('position', position);
  return request('GET', '/console/api/overview?' + query);
}

// The keys of an overview page, in the table and in the form that adds
// keys to plans.
function listKeys(o, more) {
  fill($('#keys tbody'), o.keys, keyRow, more);
  const select = $('#attach').key;
  if (!more) select.replaceChildren();
  for (const k of o.keys) option(select, k.id, k.name);
  nextKeys = o.keysPosition || '';
  const shown = $('#keys tbody').rows.length;
  $('#key-count').textContent = `${shown} of ${o.keyCount} key(s)` + (keyQuery ? ` named ${keyQuery}…` : '') +
                                 (keyPlan ? ` in ${keyPlan.name}` : '');
  $('#more-keys').hidden = !nextKeys;
  $('#all-keys').hidden = !keyQuery && !keyPlan;
}

function keyRow(row, k) {
  row.dataset.id = k.id;
  row.dataset.name = k.name;
  cell(row, k.name); cell(row, k.id); cell(row, k.customerId); cell(row, k.enabled ? 'yes' : 'no');
  cell(row, k.plans.map(p => p.planName).join(', '));
  cell(row, k.today);
  cell(row, k.plans.filter(p => p.limit !== undefined).map(p => `${p.percent}%`).join(', '));
  const actions = cell(row, '');
  button(actions, k.enabled ? 'Disable' : 'Enable', () => guarded(async () => {
    await change('PATCH', '/apikeys/' + encodeURIComponent(k.id),
                 { patchOperations: [{ op: 'replace', path: '/enabled', value: String(!k.enabled) }] });
    await load();
  }));
  for (const p of k.plans)
    button(actions, `Chart (${p.planName})`, () => showChart({ planId: p.planId, keyId: k.id, title: `${k.name} in ${p.planName}` }));
}

async function load() {
  const o = await overview();
  fill($('#near tbody'), o.nearQuota, (row, n) => {
    cell(row, n.keyName); cell(row, n.planName); cell(row, n.used); cell(row, n.limit); cell(row, n.percent);
  });
  listKeys(o, false);
  fill($('#plans tbody'), o.plans, (row, p) => {
    row.dataset.id = p.id;
    cell(row, p.name); cell(row, p.id);
    cell(row, p.throttle ? `${p.throttle.rateLimit}/s, burst ${p.throttle.burstLimit}` : '');
    cell(row, quotaText(p.quota)); cell(row, p.apiStages.join(', ')); cell(row, p.keyCount);
    const actions = cell(row, '');
    button(actions, 'Keys', () => guarded(async () => {
      keyPlan = { id: p.id, name: p.name };
      await load();
      $('#keys').scrollIntoView();
    }));
    button(actions, 'Chart', () => showChart({ planId: p.id, title: p.name }));
  });
  fill($('#apis tbody'), o.apis, (row, a) => { cell(row, a.name); cell(row, a.id); cell(row, a.stages.join(', ')); });

  const attach = $('#attach');
  for (const select of [attach.plan, attach.stage]) select.replaceChildren();
  for (const p of o.plans) option(attach.plan, p.id, p.name);
  for (const a of o.apis) for (const s of a.stages) option(attach.stage, `${a.id}:${s}`, `${a.name}/${s}`);
  await drawChart();
}

$('#create-key').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const form = ev.target;
  guarded(async () => {
    const body = { name: form.name.value, enabled: true };
    if (form.customerId.value) body.customerId = form.customerId.value;
    const created = await change('POST', '/apikeys', body);
    form.reset();
    await load();
    // The owner hands the value to the customer; it is in no list.
    $('#notice').textContent = `Key ${created.name} created. Its value: ${created.value}`;
  });
});

$('#create-plan').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const form = ev.target;
  guarded(async () => {
    const body = { name: form.name.value };
    if (form.rate.value || form.burst.value)
      body.throttle = { rateLimit: Number(form.rate.value || 0), burstLimit: Number(form.burst.value || 0) };
    if (form.quota.value) body.quota = { limit: Number(form.quota.value), period: form.period.value };
    await change('POST', '/usageplans', body);
    form.reset();
    await load();
  });
});

$('#attach').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const plan = encodeURIComponent(form.plan.value);
  guarded(async () => {
    if (ev.submitter && ev.submitter.value === 'stage')
      await change('PATCH', `/usageplans/${plan}`,
                   { patchOperations: [{ op: 'add', path: '/apiStages', value: form.stage.value }] });
    else
      await change('POST', `/usageplans/${plan}/keys`, { keyId: form.key.value, keyType: 'API_KEY' });
    await load();
  });
});

$('#find-keys').addEventListener('submit', (ev) => {
  ev.preventDefault();
  keyQuery = ev.target.nameQuery.value;
  guarded(load);
});

$('#more-keys').addEventListener('click', () => guarded(async () => listKeys(await overview(nextKeys), true)));

$('#all-keys').addEventListener('click', () => {
  keyQuery = '';
  keyPlan = null;
  $('#find-keys').reset();
  guarded(load);
});

$('#chart-days').addEventListener('change', () => guarded(drawChart));

$('#sign-out').addEventListener('click', () => guarded(async () => {
  await fetch('/console/session/end', { method: 'POST', headers: { 'X-CSRF-Token': csrf } });
  location.reload();
}));

guarded(async () => {
  const session = await request('GET', '/console/api/session');
  csrf = session.csrfToken;
  $('#who').textContent = session.accessKeyId;
  await load();
});
