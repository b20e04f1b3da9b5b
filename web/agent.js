// agent.js -- the agent console (/agent): sign in with the agent's token (kept in
// sessionStorage), the agent's event stream held open while the page is open (that is the
// built-in softphone's registration: closing the tab unregisters the agent at once), pause
// and resume, the incoming call with Accept (answered), Decline (no-answer) and Hang up
// (ended), the agent's calls today and the open callbacks of its campaigns.
//
// The softphone mode comes from GET /v1/agents/{id}/softphone-token: 200 is Twilio mode (the
// vendored Twilio Voice JavaScript SDK registers a Twilio.Device with that token; the SDK's
// events drive registration, the incoming call, answer and hang-up, and Twilio's callbacks
// report the outcome to the daemon, so the page posts no answered/no-answer itself); 503
// not_configured (or any other failure) is the built-in mode above (docs/WEB.md).
import { client, el, fill, duration, clock, midnight, ApiError } from './api.js';

const KEY = 'sureconnect.agent';
const $ = (id) => document.getElementById(id);
let api = null;
let me = null;        // agent id
let stream = null;
let offer = null;     // the call offered now: the call.offered data, plus status
// Calls this page is done with (declined, hung up, failed over, completed): a late event or
// a list read before the change must not show them again.
const finished = new Set();
let refreshTimer = 0;
let session = 0;      // bumped at each sign-in and sign-out: late answers of an old one are dropped
let device = null;    // Twilio mode: the Twilio.Device
let phoneCall = null; // Twilio mode: the SDK's incoming call (a Twilio.Call)

const SDK = '/vendor/twilio.min.js'; // @twilio/voice-sdk, vendored by scripts/vendor_web.sh
const tokenPath = () => `/v1/agents/${encodeURIComponent(me)}/softphone-token`;

function signedIn() {
  try { return JSON.parse(sessionStorage.getItem(KEY)); } catch { return null; }
}

function showSignin(message = '') {
  if (stream) stream.close();
  stream = null;
  stopPhone();
  $('app').hidden = true;
  $('who').hidden = true;
  $('signin').hidden = false;
  $('signin').querySelector('.form-error').textContent = message;
}

async function start({ agent, token }) {
  const mine = ++session;
  stopPhone();
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
  softphone(mine);
}

// ---- Softphone: Twilio mode or built-in ----

function showPhone(state, detail = '') {
  const cls = { registered: 'ok', registering: 'warn', unregistered: 'bad', error: 'bad' }[state] || 'warn';
  $('phone').hidden = false;
  $('phone').textContent = state;
  $('phone').className = `pill ${cls}`;
  $('phone-detail').textContent = detail;
}

function stopPhone() {
  if (device) {
    try { device.destroy(); } catch { /* already gone */ }
  }
  device = null;
  phoneCall = null;
  $('phone').hidden = true;
  $('phone-detail').textContent = '';
  $('softphone-mode').textContent = '…';
  delete $('softphone').dataset.mode;
}

function builtIn(detail = '') {
  $('softphone').dataset.mode = 'built-in';
  $('softphone-mode').textContent = 'built-in (this page). Calls reach you while this page is open.';
  $('phone-detail').textContent = detail;
}

// The vendored SDK is a classic script that sets window.Twilio (keeping a Twilio.Device
// already there); loaded once, on demand, from this origin (the CSP allows nothing else).
let sdkLoading = null;
function loadSdk() {
  if (!sdkLoading) {
    sdkLoading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = SDK;
      s.onload = () => (window.Twilio && window.Twilio.Device ? resolve() : reject(new Error('the Twilio SDK did not load')));
      s.onerror = () => reject(new Error(`could not load ${SDK}`));
      document.head.append(s);
    });
    sdkLoading.catch(() => { sdkLoading = null; });
  }
  return sdkLoading;
}

async function softphone(mine) {
  let tok;
  try {
    tok = await api.get(tokenPath());
  } catch (e) {
    if (mine !== session) return;
    // 503 not_configured: the daemon has no Twilio settings, so this page is the softphone.
    builtIn(e.status === 503 ? '' : `(no Twilio token: ${e.message})`);
    return;
  }
  if (mine !== session) return;
  $('softphone').dataset.mode = 'twilio';
  $('softphone-mode').textContent = `Twilio (${tok.identity}).`;
  showPhone('registering');
  try {
    await loadSdk();
  } catch (e) {
    if (mine === session) showPhone('error', e.message);
    return;
  }
  if (mine !== session) return;
  const d = new window.Twilio.Device(tok.token, { closeProtection: true });
  device = d;
  const live = () => device === d;
  d.on('registered', () => { if (live()) showPhone('registered'); });
  d.on('unregistered', () => { if (live()) showPhone('unregistered'); });
  d.on('error', (err) => { if (live()) showPhone('error', (err && (err.message || err.code)) || String(err)); });
  d.on('tokenWillExpire', async () => {
    try {
      const t = await api.get(tokenPath());
      if (live()) d.updateToken(t.token);
    } catch (e) {
      if (live()) showPhone('error', `token renewal: ${e.message}`);
    }
  });
  d.on('incoming', (call) => { if (live()) incoming(call); });
  try {
    await d.register();
  } catch (e) {
    if (live()) showPhone('error', e.message || String(e));
  }
}

// Twilio rings the agent's client: the same pop-up as the call.offered event (whichever
// comes first shows it; the event's details fill it in).
function incoming(call) {
  phoneCall = call;
  const from = (call.parameters && call.parameters.From) || 'unknown';
  if (!offer || (offer.status !== 'ringing' && offer.status !== 'connected')) {
    offer = { call_id: '', caller: from, status: 'ringing', time_ms: Date.now() };
  }
  const done = () => {
    if (phoneCall !== call) return;
    phoneCall = null;
    offer = null;
    showOffer();
    scheduleRefresh();
  };
  call.on('accept', () => {
    if (phoneCall !== call || !offer) return;
    offer.status = 'connected';
    showOffer();
  });
  call.on('disconnect', done);
  call.on('cancel', done);
  call.on('reject', done);
  call.on('error', (err) => {
    if (phoneCall === call) $('offer-error').textContent = (err && err.message) || String(err);
  });
  showOffer();
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
  if (name === 'call.updated' && (data.status === 'completed' || data.status === 'failed_over')) {
    finished.add(data.call_id);
  }
  if (name === 'call.offered' && !finished.has(data.call_id)) {
    offer = { ...data, status: offer && phoneCall ? offer.status : 'ringing' };
    showOffer();
  } else if (name === 'call.updated' && offer && data.call_id === offer.call_id) {
    offer.status = data.status;
    if (data.status === 'completed' || data.status === 'failed_over') { offer = null; phoneCall = null; }
    showOffer();
  } else if (name === 'lag' && !phoneCall) {
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
  // Twilio mode: Accept and Decline act on the SDK's call, so they wait for it to ring.
  const waiting = !!device && !phoneCall;
  $('accept').disabled = ringing && waiting;
  $('decline').disabled = ringing && waiting;
  if (ringing && waiting) $('offer-error').textContent = 'Waiting for your Twilio softphone to ring…';
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
    if (step !== 'answered') finished.add(id);
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
    if (!offer && open && !finished.has(open.id)) {
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
  session++;
  api = null;
  offer = null;
  showOffer();
  showSignin();
});
$('pause').addEventListener('click', () => setStatus('paused'));
$('resume').addEventListener('click', () => setStatus('active'));
// Twilio mode: the SDK answers, rejects and hangs up; Twilio's callbacks tell the daemon
// (answered, the Dial action's no-answer/busy, completed), so the page posts nothing.
// A connected call with no SDK call (a reload during the call) is ended through the API.
$('accept').addEventListener('click', () => (phoneCall ? phoneCall.accept() : device ? null : act('answered')));
$('decline').addEventListener('click', () => {
  if (phoneCall) phoneCall.reject();
  else if (!device) act('no-answer');
});
$('hangup').addEventListener('click', () => (phoneCall ? phoneCall.disconnect() : act('ended')));
setInterval(tick, 1000);

const saved = signedIn();
if (saved) start(saved); else showSignin();
