// dashboard.js -- the admin dashboard (/): sign in with an admin key (kept in
// sessionStorage); agents with their availability and why not, active calls, the queues
// with waiting times, recent calls with their outcome and readable routing traces, open
// callbacks with a complete action, and editors for campaigns (tracking numbers, rules and
// their members) and agents that show the API's validation errors next to the field at
// fault. Live from GET /v1/events: every event refreshes the views it concerns.
import { client, el, fill, duration, clock, showFieldError, clearErrors, list, ApiError } from './api.js';

const KEY = 'sureconnect.admin';
const $ = (id) => document.getElementById(id);
let api = null;
let stream = null;
let agents = [];
let campaigns = [];
let queues = { queues: [], fetched: 0 };
let draft = null;        // the campaign being edited (a copy), with isNew
let agentDraft = null;   // the agent being edited, with isNew
let campaignDirty = false;
let campaignNote = '';   // "Saved." after a save, kept when a live update re-renders the form
let timer = 0;
let openTrace = null;    // call id whose trace is shown

// ---- sign in, stream ----------------------------------------------------------------------

function showSignin(message = '') {
  if (stream) stream.close();
  stream = null;
  api = null;
  $('app').hidden = true;
  $('who').hidden = true;
  $('signin').hidden = false;
  $('signin').querySelector('.form-error').textContent = message;
}

async function start(key) {
  api = client(key);
  try {
    await api.get('/v1/agents');
  } catch (e) {
    sessionStorage.removeItem(KEY);
    showSignin(e.status === 401 || e.status === 403 ? 'That is not a valid admin API key.' : e.message);
    return;
  }
  sessionStorage.setItem(KEY, key);
  $('signin').hidden = true;
  $('app').hidden = false;
  $('who').hidden = false;
  stream = api.stream('/v1/events', {
    onEvent,
    onState(state) {
      $('conn').textContent = state === 'open' ? 'live' : state === 'denied' ? 'signed out' : 'reconnecting';
      $('conn').className = `pill ${state === 'open' ? 'ok' : 'warn'}`;
      if (state === 'denied') { sessionStorage.removeItem(KEY); showSignin('The key was revoked.'); }
      if (state === 'open') refresh(true);
    },
  });
  await loadCampaigns(true);
  refresh();
}

function onEvent(name) {
  if (name === 'config.updated' || name.startsWith('agent.')) loadCampaigns(false);
  clearTimeout(timer);
  timer = setTimeout(() => refresh(), 80);
}

// ---- live views ---------------------------------------------------------------------------

// Why an agent can or cannot take a call now (the router's member checks, SPEC 3.4).
export function availability(a) {
  if (a.status === 'deactivated') return ['deactivated', 'bad'];
  if (a.status === 'paused') return ['paused', 'warn'];
  if (!a.connected) return ['not connected', 'bad'];
  if (a.active_calls >= a.max_concurrent) return [`at capacity ${a.active_calls}/${a.max_concurrent}`, 'busy'];
  return ['available', 'ok'];
}

async function refresh() {
  if (!api) return;
  try {
    const [ag, calls, qs, cbs] = await Promise.all([
      api.get('/v1/agents'), api.get('/v1/calls?limit=50'), api.get('/v1/queues'), api.get('/v1/callbacks?status=open&limit=100'),
    ]);
    agents = ag.agents;
    queues = { ...qs, fetched: Date.now() };
    renderAgents();
    renderCalls(calls.calls);
    renderQueues();
    renderCallbacks(cbs.callbacks);
    if (openTrace) showTrace(openTrace, false);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { sessionStorage.removeItem(KEY); showSignin('The key was revoked.'); }
  }
}

function renderAgents() {
  fill('agents', agents.map((a) => {
    const [text, cls] = availability(a);
    return el('tr', { dataset: { agent: a.id } },
      el('td', {}, el('strong', {}, a.name), el('br'), el('span', { class: 'muted' }, a.id)),
      el('td', {}, el('span', { class: `pill availability ${cls}` }, text)),
      el('td', { class: 'num' }, `${a.active_calls}/${a.max_concurrent}`),
      el('td', {}, el('button', { type: 'button', class: 'small', onclick: () => editAgent(a.id) }, 'Edit')));
  }));
}

const ACTIVE = new Set(['routing', 'ringing', 'connected', 'queued']);

function renderCalls(calls) {
  const active = calls.filter((c) => ACTIVE.has(c.status));
  fill('active', active.length ? active.map((c) => el('tr', { dataset: { callId: c.id, status: c.status } },
    el('td', {}, el('span', { class: 'since', dataset: { since: c.created_ms } }, duration(Date.now() - c.created_ms))),
    el('td', {}, c.caller), el('td', {}, c.campaign || ''), el('td', {}, c.agent || '—'),
    el('td', {}, el('span', { class: `pill status-${c.status}` }, c.status)),
    el('td', {}, c.status === 'ringing' || c.status === 'connected'
      ? el('button', { type: 'button', class: 'small', onclick: () => endCall(c.id) }, 'End') : ''))) :
    el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'No active calls.')));
  fill('calls', calls.map((c) => el('tr', { dataset: { callId: c.id, status: c.status } },
    el('td', {}, clock(c.created_ms)), el('td', {}, c.caller), el('td', {}, c.caller_state || '?'),
    el('td', {}, c.campaign || '—'), el('td', {}, c.rule || '—'), el('td', {}, c.agent || '—'),
    el('td', {}, el('span', { class: `pill status-${c.status}` }, c.status),
      c.tried.length ? el('span', { class: 'muted' }, ` tried ${c.tried.join(', ')}`) : ''),
    el('td', {}, el('button', { type: 'button', class: 'small trace-btn', onclick: () => showTrace(c.id, true) }, 'Trace')))));
}

function renderQueues() {
  const now = Date.now();
  if (!queues.queues.length) {
    fill('queues', el('p', { class: 'muted' }, 'No campaign has a queue enabled.'));
    return;
  }
  fill('queues', queues.queues.map((q) => el('div', { class: 'queue', dataset: { campaign: q.campaign } },
    el('h3', {}, `${q.campaign} `, el('span', { class: 'muted' }, `${q.count}/${q.max_size} waiting, at most ${duration(q.max_wait_s * 1000)}`)),
    q.waiting.length ? el('ol', {}, q.waiting.map((w) => el('li', { dataset: { callId: w.call_id } },
      `${w.caller} (${w.caller_state || '?'}) waited `,
      el('span', { class: 'since', dataset: { since: now - w.waited_ms } }, duration(w.waited_ms)),
      el('span', { class: 'muted' }, `, about ${duration(w.estimated_wait_s * 1000)} to go`)))) :
      el('p', { class: 'muted' }, 'Nobody waiting.'))));
}

function renderCallbacks(cbs) {
  fill('callbacks', cbs.length ? cbs.map((cb) => {
    const pick = el('select', { 'aria-label': 'agent' }, agents.map((a) => el('option', { value: a.id }, a.name)));
    return el('tr', { dataset: { callbackId: cb.id } },
      el('td', {}, clock(cb.created_ms)), el('td', {}, cb.caller, el('span', { class: 'muted' }, ` ${cb.caller_state || ''}`)),
      el('td', {}, cb.campaign), el('td', {}, cb.reason.replace('_', ' ')),
      el('td', { class: 'nowrap' }, pick, ' ', el('button', { type: 'button', class: 'small', onclick: async (ev) => {
        try { await api.post(`/v1/callbacks/${cb.id}/complete`, { agent: pick.value }); }
        catch (e) { ev.target.after(el('span', { class: 'field-error' }, e.message)); }
        refresh();
      } }, 'Complete')));
  }) : el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'No open callbacks.')));
}

async function endCall(id) {
  try { await api.post(`/v1/calls/${id}/ended`); } catch { /* the next refresh shows the truth */ }
  refresh();
}

// ---- the routing trace (docs/TRACE.md) ----------------------------------------------------

async function showTrace(id, toggle) {
  const box = $('trace');
  if (toggle && openTrace === id) { openTrace = null; box.hidden = true; return; }
  openTrace = id;
  let c;
  try { c = await api.get(`/v1/calls/${id}`); } catch (e) { fill('trace', el('p', { class: 'form-error' }, e.message)); return; }
  const t = c.trace || {};
  const ss = t.state_source || {};
  const verdict = (v, d) => el('span', { class: `verdict v-${v}` }, v.replace(/_/g, ' '), d ? ` (${d})` : '');
  box.hidden = false;
  box.dataset.callId = id;
  fill('trace',
    el('h3', {}, 'Routing trace ', el('span', { class: 'muted' }, id),
      el('button', { type: 'button', class: 'small link', onclick: () => { openTrace = null; box.hidden = true; } }, 'close')),
    el('p', { class: 'summary' }, t.summary || ''),
    el('dl', { class: 'facts' },
      el('dt', {}, 'Status'), el('dd', {}, `${c.status}${c.agent ? ` (${c.agent})` : ''}`, c.tried.length ? `, tried ${c.tried.join(', ')}` : ''),
      el('dt', {}, 'Dialled'), el('dd', {}, `${t.to?.e164 || c.tracking_number} (${t.to?.status || '?'})`),
      el('dt', {}, 'Caller'), el('dd', {}, `${t.from?.e164 || c.caller} (${t.from?.status || '?'})`),
      el('dt', {}, 'State'), el('dd', {}, t.caller_state || 'unknown', ' — ', ss.method === 'area_code'
        ? `area code ${ss.npa}: ${ss.reason}${ss.location ? `, ${ss.location}` : ''}` : (ss.reason || '').replace(/_/g, ' ')),
      el('dt', {}, 'Category'), el('dd', {}, t.category || 'none', ` (from ${(t.category_source || 'none').replace('_', ' ')})`),
      el('dt', {}, 'Campaign'), el('dd', {}, t.campaign || '—', t.tracking_number ? ` via ${t.tracking_number}` : ''),
      el('dt', {}, 'Decision'), el('dd', {}, `${t.outcome || t.action || ''}`, t.decided_rule ? `: rule ${t.decided_rule} (${t.mode})` : ''),
      el('dt', {}, 'Candidates'), el('dd', {}, (t.candidates || []).join(' → ') || 'none'),
      el('dt', {}, 'Claims'), el('dd', {}, (t.claims || []).map((k) => `${k.agent} ${k.won ? 'won' : 'lost'}`).join(', ') || 'none'),
      t.queue ? el('dt', {}, 'Queue') : null,
      t.queue ? el('dd', {}, Object.entries(t.queue).map(([k, v]) => `${k}: ${k.endsWith('_ms') && k !== 'waited_ms' ? clock(v) : v}`).join(', ')) : null),
    el('table', { class: 'rules' },
      el('thead', {}, el('tr', {}, el('th', {}, '#'), el('th', {}, 'Rule'), el('th', {}, 'Mode'), el('th', {}, 'Verdict'), el('th', {}, 'Members'))),
      el('tbody', {}, (t.rules || []).map((r) => el('tr', { dataset: { rule: r.rule } },
        el('td', {}, r.position), el('td', {}, r.rule), el('td', {}, r.mode), el('td', {}, verdict(r.verdict, r.detail)),
        el('td', {}, r.members.length ? el('ul', { class: 'members' }, r.members.map((m) =>
          el('li', {}, el('strong', {}, m.agent), ': ', verdict(m.verdict, m.detail)))) : '—'))))));
}

// ---- editors -------------------------------------------------------------------------------

// A labelled input bound to obj[key]; `field` is the API's path of the value (data-field).
function bound(label, obj, key, field, { type = 'text', options = null, parse = null, cls = '' } = {}) {
  let input;
  const set = (v) => { obj[key] = parse ? parse(v) : v; campaignDirty = true; campaignNote = ''; };
  if (options) {
    input = el('select', { 'data-field': field, name: field, onchange: (e) => set(e.target.value) },
      options.map((o) => el('option', { value: o, selected: String(obj[key]) === o }, o)));
  } else if (type === 'checkbox') {
    input = el('input', { type, 'data-field': field, name: field, checked: !!obj[key], onchange: (e) => { obj[key] = e.target.checked; campaignDirty = true; } });
  } else {
    const v = Array.isArray(obj[key]) ? obj[key].join(', ') : obj[key] ?? '';
    input = el('input', { type, 'data-field': field, name: field, value: v, oninput: (e) => set(e.target.value) });
  }
  return el('label', { class: `field ${cls}` }, el('span', {}, label), input);
}

const num = (v) => (v.trim() === '' ? null : Number(v));
const orNull = (v) => (v.trim() === '' ? null : v.trim());

async function loadCampaigns(pickFirst) {
  if (!api) return;
  try { campaigns = (await api.get('/v1/campaigns')).campaigns; agents = (await api.get('/v1/agents')).agents; } catch { return; }
  const pick = $('campaign-pick');
  const current = draft && !draft.isNew ? draft.id : pick.value;
  fill('campaign-pick', campaigns.map((c) => el('option', { value: c.id, selected: c.id === current }, `${c.name} (${c.id})`)));
  if (!campaignDirty && (pickFirst || (draft && !draft.isNew))) {
    const c = campaigns.find((x) => x.id === current) || campaigns[0];
    if (c) editCampaign(c); else fill('campaign-form');
  }
}

function editCampaign(c, isNew = false) {
  draft = structuredClone(c);
  draft.isNew = isNew;
  campaignDirty = isNew;
  renderCampaignForm();
}

function renderCampaignForm() {
  const d = draft;
  const form = $('campaign-form');
  const agentIds = agents.map((a) => a.id);
  const again = () => { campaignDirty = true; renderCampaignForm(); };
  const rules = d.rules.map((r, i) => el('fieldset', { class: 'rule', 'data-field': `rules[${i}]`, dataset: { rule: r.id } },
    el('legend', {}, `Rule ${i + 1}`),
    el('div', { class: 'row' },
      bound('Id', r, 'id', `rules[${i}].id`),
      bound('Name', r, 'name', `rules[${i}].name`),
      bound('Order', r, 'position', `rules[${i}].position`, { type: 'number', parse: num, cls: 'short' }),
      bound('Enabled', r, 'enabled', `rules[${i}].enabled`, { type: 'checkbox', cls: 'short' }),
      bound('Mode', r, 'mode', `rules[${i}].mode`, { options: ['priority', 'round_robin', 'weighted'] })),
    el('div', { class: 'row' },
      bound('States (empty: all)', r, 'states', `rules[${i}].states`, { parse: (v) => list(v.toUpperCase()) }),
      bound('Categories (empty: all)', r, 'categories', `rules[${i}].categories`, { parse: list })),
    el('table', { class: 'members' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Member'), el('th', {}, 'Priority'), el('th', {}, 'Weight'), el('th', {}))),
      el('tbody', {}, r.members.map((m, j) => el('tr', { dataset: { member: m.agent } },
        el('td', {}, bound('', m, 'agent', `rules[${i}].members[${j}].agent`, { options: agentIds.includes(m.agent) ? agentIds : [m.agent, ...agentIds] })),
        el('td', {}, bound('', m, 'priority', `rules[${i}].members[${j}].priority`, { type: 'number', parse: num, cls: 'short' })),
        el('td', {}, bound('', m, 'weight', `rules[${i}].members[${j}].weight`, { type: 'number', parse: num, cls: 'short' })),
        el('td', {}, el('button', { type: 'button', class: 'small link', onclick: () => { r.members.splice(j, 1); again(); } }, 'remove')))))),
    el('p', {},
      el('button', { type: 'button', class: 'small', onclick: () => {
        r.members.push({ agent: agentIds[0] || '', priority: r.members.length + 1, weight: 1 }); again();
      } }, 'Add member'), ' ',
      el('button', { type: 'button', class: 'small bad', onclick: () => { d.rules.splice(i, 1); again(); } }, 'Remove rule'))));
  const numbers = d.tracking_numbers.map((n, i) => el('div', { class: 'row' },
    bound('Number', n, 'number', `tracking_numbers[${i}].number`),
    bound('Category (empty: the default)', n, 'category', `tracking_numbers[${i}].category`, { parse: orNull }),
    el('button', { type: 'button', class: 'small link', onclick: () => { d.tracking_numbers.splice(i, 1); again(); } }, 'remove')));
  form.replaceChildren(
    d.isNew ? bound('Id', d, 'id', 'id') : el('p', {}, 'Id: ', el('strong', {}, d.id)),
    el('div', { class: 'row' },
      bound('Name', d, 'name', 'name'),
      bound('Default category', d, 'default_category', 'default_category', { parse: orNull }),
      bound('Ring timeout (s)', d, 'ring_timeout_s', 'ring_timeout_s', { type: 'number', parse: num, cls: 'short' })),
    el('div', { class: 'row' },
      bound('Queue enabled', d.queue, 'enabled', 'queue.enabled', { type: 'checkbox', cls: 'short' }),
      bound('Queue size', d.queue, 'max_size', 'queue.max_size', { type: 'number', parse: num, cls: 'short' }),
      bound('Max wait (s)', d.queue, 'max_wait_s', 'queue.max_wait_s', { type: 'number', parse: num, cls: 'short' })),
    bound('Message when nobody can answer', d, 'friendly_message', 'friendly_message', { cls: 'wide' }),
    el('h3', {}, 'Tracking numbers'), el('div', { 'data-field': 'tracking_numbers' }, numbers),
    el('p', {}, el('button', { type: 'button', class: 'small', onclick: () => { d.tracking_numbers.push({ number: '', category: null }); again(); } }, 'Add number')),
    el('h3', {}, 'Rules'), el('div', { 'data-field': 'rules' }, rules),
    el('p', {}, el('button', { type: 'button', class: 'small', onclick: () => {
      d.rules.push({ id: `${d.id || 'rule'}-${d.rules.length + 1}`, name: '', position: d.rules.length + 1, enabled: true,
        states: [], categories: [], mode: 'priority', members: [] }); again();
    } }, 'Add rule')),
    el('p', { class: 'actions' },
      el('button', { type: 'submit', id: 'campaign-save' }, d.isNew ? 'Create campaign' : 'Save campaign'), ' ',
      el('button', { type: 'button', class: 'link', onclick: () => { campaignDirty = false; loadCampaigns(true); } }, 'Discard changes'), ' ',
      d.isNew ? '' : el('button', { type: 'button', class: 'bad', onclick: deleteCampaign }, 'Delete campaign')),
    el('p', { class: 'form-error', role: 'alert' }),
    el('p', { class: 'form-ok', role: 'status' }, campaignNote));
}

async function saveCampaign(ev) {
  ev.preventDefault();
  const form = $('campaign-form');
  clearErrors(form);
  const { isNew, ...body } = draft;
  try {
    let saved;
    if (isNew) saved = await api.post('/v1/campaigns', body);
    else { const { id, ...patch } = body; saved = await api.patch(`/v1/campaigns/${encodeURIComponent(id)}`, patch); }
    campaignDirty = false;
    campaignNote = 'Saved.';
    editCampaign(saved);
    await loadCampaigns(false);
  } catch (e) {
    campaignNote = '';
    showFieldError(form, e);
  }
}

async function deleteCampaign() {
  const form = $('campaign-form');
  try {
    await api.del(`/v1/campaigns/${encodeURIComponent(draft.id)}`);
    campaignDirty = false;
    draft = null;
    await loadCampaigns(true);
  } catch (e) { showFieldError(form, e); }
}

function editAgent(id) {
  const a = id ? agents.find((x) => x.id === id) : null;
  agentDraft = a ? { id: a.id, name: a.name, status: a.status, max_concurrent: a.max_concurrent, states: a.states,
    categories: a.categories, softphone: { ...a.softphone }, isNew: false }
    : { id: '', name: '', status: 'active', max_concurrent: 1, states: [], categories: [], softphone: { type: 'client', address: '' }, isNew: true };
  const d = agentDraft;
  $('agent-editor').hidden = false;
  $('agent-form-h').textContent = d.isNew ? 'New agent' : `Agent ${d.id}`;
  $('agent-form').replaceChildren(
    d.isNew ? bound('Id', d, 'id', 'id') : '',
    el('div', { class: 'row' },
      bound('Name', d, 'name', 'name'),
      bound('Status', d, 'status', 'status', { options: ['active', 'paused', 'deactivated'] }),
      bound('Max concurrent calls', d, 'max_concurrent', 'max_concurrent', { type: 'number', parse: num, cls: 'short' })),
    el('div', { class: 'row' },
      bound('Licensed states (empty: all)', d, 'states', 'states', { parse: (v) => list(v.toUpperCase()) }),
      bound('Categories (empty: all)', d, 'categories', 'categories', { parse: list })),
    el('div', { class: 'row' },
      bound('Softphone', d.softphone, 'type', 'softphone.type', { options: ['client', 'sip', 'number'] }),
      bound('Address', d.softphone, 'address', 'softphone.address')),
    el('p', { class: 'actions' },
      el('button', { type: 'submit', id: 'agent-save' }, d.isNew ? 'Create agent' : 'Save agent'), ' ',
      el('button', { type: 'button', class: 'link', onclick: () => { $('agent-editor').hidden = true; } }, 'Close'), ' ',
      d.isNew ? '' : el('button', { type: 'button', class: 'bad', onclick: deleteAgent }, 'Delete agent')),
    el('p', { class: 'form-error', role: 'alert' }),
    el('p', { class: 'form-ok', role: 'status' }));
  $('agent-editor').scrollIntoView({ block: 'nearest' });
}

async function saveAgent(ev) {
  ev.preventDefault();
  const form = $('agent-form');
  clearErrors(form);
  const { isNew, id, ...rest } = agentDraft;
  if (!rest.softphone.address) delete rest.softphone;
  try {
    const saved = isNew ? await api.post('/v1/agents', { id, ...rest }) : await api.patch(`/v1/agents/${encodeURIComponent(id)}`, rest);
    agents = (await api.get('/v1/agents')).agents;
    editAgent(saved.id);
    form.querySelector('.form-ok').textContent = 'Saved.';
    refresh();
  } catch (e) {
    showFieldError(form, e);
  }
}

async function deleteAgent() {
  const form = $('agent-form');
  try {
    await api.del(`/v1/agents/${encodeURIComponent(agentDraft.id)}`);
    $('agent-editor').hidden = true;
    refresh();
  } catch (e) { showFieldError(form, e); }
}

// ---- wiring --------------------------------------------------------------------------------

$('signin').addEventListener('submit', (ev) => { ev.preventDefault(); start($('signin-key').value.trim()); });
$('signout').addEventListener('click', () => { sessionStorage.removeItem(KEY); showSignin(); });
$('campaign-form').addEventListener('submit', saveCampaign);
$('agent-form').addEventListener('submit', saveAgent);
$('campaign-pick').addEventListener('change', (e) => {
  const c = campaigns.find((x) => x.id === e.target.value);
  campaignNote = '';
  if (c) editCampaign(c);
});
$('campaign-new').addEventListener('click', () => editCampaign({
  id: '', name: '', default_category: null, ring_timeout_s: 20,
  queue: { enabled: false, max_size: 50, max_wait_s: 300, hold_music_url: null },
  friendly_message: 'Sorry, nobody can take your call now; we will call you back.', discord_webhook_url: null,
  tracking_numbers: [{ number: '', category: null }], rules: [],
}, true));
$('agent-new').addEventListener('click', () => editAgent(null));
// Waiting times tick without reloading.
setInterval(() => {
  document.querySelectorAll('.since').forEach((n) => { n.textContent = duration(Date.now() - Number(n.dataset.since)); });
}, 1000);

const saved = sessionStorage.getItem(KEY);
if (saved) start(saved); else showSignin();
