// agent.js -- the agent console (/agent): sign in with the agent's token (kept in
// sessionStorage), the agent's event stream held open while the page is open (that is the
// built-in softphone's registration: closing the tab unregisters the agent at once), pause
// and resume, the incoming call with Accept (answered), Decline (no-answer) and Hang up
// (ended), the agent's calls today and the open callbacks of its campaigns.
import { client, el, fill, duration, clock, midnight, ApiError } from './api.js';

const KEY = 'sureconnect.agent';
const $ = (id) => document.getElementById(id);
let api = null;
let me = null;        // agent id
let stream = null;
let offer = null;     // the call offered now: the call.offered data, plus status
let refreshTimer = 0;

function signedIn() {
  try { return JSON.parse(sessionStorage.getItem(KEY)); } catch { return null; }
}

function showSignin(message = '') {
  if (stream) stream.close();
  stream = null;
  $('app').hidden = true;
  $('who').hidden = true;
  $('signin').hidden = false;
  $('signin').querySelector('.form-error').textContent = message;
}

async function start({ agent, token }) {
  api = client(token);
  me = agent;
  let a;
  try {
    a = await api.get(`/v1/agents/${encodeURIComponent(agent)}`);
  } catch (e) {
    sessionStorage.removeItem(KEY);
    showSignin(e.status === 401 || e.status === 403 || e.status === 404
      ? 'That agent id and token do not match.' : e.message);
    return;
  }
  sessionStorage.setItem(KEY, JSON.stringify({ agent, token }));
  $('signin').hidden = true;
  $('app').hidden = false;
  $('who').hidden = false;
  $('agent-name').textContent = `${a.name} (${a.id})`;
  showAgent(a);
  stream = api.stream(`/v1/agents/${encodeURIComponent(agent)}/events`, {
    onEvent,
    onState(state) {
      $('conn').textContent = state === 'open' ? 'connected' : state === 'denied' ? 'signed out' : 'reconnecting';
      $('conn').className = `pill ${state === 'open' ? 'ok' : 'warn'}`;
      if (state === 'denied') { sessionStorage.removeItem(KEY); showSignin('Your token is no longer valid.'); }
      if (state === 'open') refresh();
    },
  });
  refresh();
}

function showAgent(a) {
  const paused = a.status === 'paused';
  let text = 'available';
  let cls = 'ok';
  let detail = `${a.active_calls}/${a.max_concurrent} calls`;
  if (a.status === 'deactivated') { text = 'deactivated'; cls = 'bad'; }
  else if (paused) { text = 'paused'; cls = 'warn'; }
  else if (!a.connected) { text = 'not connected'; cls = 'bad'; }
  else if (a.active_calls >= a.max_concurrent) { text = 'on a call'; cls = 'busy'; }
  $('status').textContent = text;
  $('status').className = `pill ${cls}`;
  $('status-detail').textContent = detail;
  $('pause').hidden = paused || a.status === 'deactivated';
  $('resume').hidden = !paused;
}

function onEvent(name, data) {
  if (name === 'call.offered') {
    offer = { ...data, status: 'ringing' };
    showOffer();
  } else if (name === 'call.updated' && offer && data.call_id === offer.call_id) {
    offer.status = data.status;
    if (data.status === 'completed' || data.status === 'failed_over') offer = null;
    showOffer();
  } else if (name === 'lag') {
    offer = null;
    showOffer();
  }
  scheduleRefresh();
}

function showOffer() {
  $('offer').hidden = !offer;
  $('offer-error').textContent = '';
  if (!offer) return;
  $('offer-caller').textContent = offer.caller;
  $('offer-state').textContent = offer.caller_state || 'unknown';
  $('offer-campaign').textContent = offer.campaign || '';
  $('offer-category').textContent = offer.category || 'none';
  $('offer-status').textContent = offer.status;
  $('offer').dataset.callId = offer.call_id;
  $('offer').dataset.status = offer.status;
  const ringing = offer.status === 'ringing';
  $('accept').hidden = !ringing;
  $('decline').hidden = !ringing;
  $('hangup').hidden = offer.status !== 'connected';
  tick();
}

// The caller has waited since the call came in (the offer's time when nothing older is known).
function tick() {
  if (offer) $('offer-waited').textContent = duration(Date.now() - (offer.created_ms || offer.time_ms));
}

async function act(step) {
  if (!offer) return;
  const id = offer.call_id;
  $('offer-error').textContent = '';
  try {
    const r = await api.post(`/v1/calls/${encodeURIComponent(id)}/${step}`);
    if (!offer || offer.call_id !== id) return;
    if (step === 'answered') offer.status = r.status;
    else offer = null;
    showOffer();
  } catch (e) {
    $('offer-error').textContent = e.message;
  }
  scheduleRefresh();
}

async function setStatus(status) {
  try {
    showAgent(await api.patch(`/v1/agents/${encodeURIComponent(me)}`, { status }));
  } catch (e) {
    $('status-detail').textContent = e.message;
  }
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 100);
}

async function refresh() {
  if (!api) return;
  try {
    const [a, calls, cbs] = await Promise.all([
      api.get(`/v1/agents/${encodeURIComponent(me)}`),
      api.get(`/v1/calls?agent=${encodeURIComponent(me)}&since=${midnight()}&limit=100`),
      api.get('/v1/callbacks?status=open&limit=100'),
    ]);
    showAgent(a);
    // A call already ringing or connected when the page opened (a reload) shows too.
    const open = calls.calls.find((c) => c.status === 'ringing' || c.status === 'connected');
    if (!offer && open) {
      offer = { call_id: open.id, caller: open.caller, caller_state: open.caller_state, campaign: open.campaign,
        category: open.category, status: open.status, created_ms: open.created_ms };
      showOffer();
    }
    if (offer && !offer.created_ms) {
      const row = calls.calls.find((c) => c.id === offer.call_id);
      if (row) offer.created_ms = row.created_ms;
    }
    fill('calls', calls.calls.map((c) => el('tr', { dataset: { callId: c.id, status: c.status } },
      el('td', {}, clock(c.created_ms)), el('td', {}, c.caller), el('td', {}, c.caller_state || '?'),
      el('td', {}, c.campaign || ''), el('td', {}, c.status))));
    if (!calls.calls.length) fill('calls', el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'No calls yet today.')));
    fill('callbacks', cbs.callbacks.map((cb) => el('tr', { dataset: { callbackId: cb.id } },
      el('td', {}, clock(cb.created_ms)), el('td', {}, cb.caller), el('td', {}, cb.caller_state || '?'),
      el('td', {}, cb.campaign), el('td', {}, cb.reason.replace('_', ' ')),
      el('td', {}, el('button', { type: 'button', class: 'small', onclick: () => complete(cb.id) }, 'Done')))));
    if (!cbs.callbacks.length) fill('callbacks', el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'No open callbacks.')));
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      sessionStorage.removeItem(KEY);
      showSignin('Your token is no longer valid.');
    }
  }
}

async function complete(id) {
  try {
    await api.post(`/v1/callbacks/${id}/complete`, { agent: me });
  } catch (e) {
    $('status-detail').textContent = e.message;
  }
  scheduleRefresh();
}

$('signin').addEventListener('submit', (ev) => {
  ev.preventDefault();
  start({ agent: $('signin-agent').value.trim(), token: $('signin-token').value.trim() });
});
$('signout').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  api = null;
  offer = null;
  showOffer();
  showSignin();
});
$('pause').addEventListener('click', () => setStatus('paused'));
$('resume').addEventListener('click', () => setStatus('active'));
$('accept').addEventListener('click', () => act('answered'));
$('decline').addEventListener('click', () => act('no-answer'));
$('hangup').addEventListener('click', () => act('ended'));
setInterval(tick, 1000);

const saved = signedIn();
if (saved) start(saved); else showSignin();
