// twilio.test.mjs -- the Twilio-compatible voice webhooks driven as Twilio would drive them,
// with the official `twilio` package as the reference: every request is signed with its
// signature function, and every TwiML answer is parsed and compared (elements, attributes,
// nesting) with what its VoiceResponse builder makes for the same intent. A local fake of
// the REST API records the call updates of hand-offs from the queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import twilio from 'twilio';
import { XMLParser } from 'fast-xml-parser';
import { sleep, startServer } from './harness.mjs';

const PUBLIC = 'https://calls.example.test';
const ACCOUNT = 'AC' + '0123456789abcdef'.repeat(2);
const AUTH = 'test-auth-token-0123456789';
const TX = '+15125550123';
const SALES = '+18005550101';
const QUEUED = '+18005550199';
const HOLD = 'https://music.example.test/hold.mp3';
const SORRY = 'Sorry, everyone is busy; we will call you back.';
let sids = 0;
const newSid = () => 'CA' + String(++sids).padStart(32, '0');

function config() {
  const agent = (id) => ({ id, name: `Agent ${id}`, status: 'active', max_concurrent: 1,
    states: [], categories: [], softphone: { type: 'client', address: `client-${id}` } });
  const campaign = (id, number, members, queue) => ({
    id, name: id, default_category: 'medicare', ring_timeout_s: 15,
    queue: { enabled: queue, max_size: 5, max_wait_s: 10, hold_music_url: id === 'q' ? HOLD : null },
    friendly_message: SORRY, discord_webhook_url: null,
    tracking_numbers: [{ number, category: null }],
    rules: [{ id: `r-${id}`, name: id, position: 1, enabled: true, states: [], categories: [],
      mode: 'priority', members: members.map((a, i) => ({ agent: a, priority: i + 1, weight: 1 })) }],
  });
  return {
    agents: [agent('a1'), agent('a2'), agent('a3'), agent('a4')],
    campaigns: [campaign('sales', SALES, ['a1', 'a2', 'a3'], false), campaign('q', QUEUED, ['a4'], true)],
  };
}

// A fake of Twilio's REST API: records every request; answers `status` (settable).
async function fakeRest() {
  const rest = { requests: [], status: 200 };
  rest.server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      rest.requests.push({ method: req.method, url: req.url, auth: req.headers.authorization,
        form: Object.fromEntries(new URLSearchParams(body)) });
      res.writeHead(rest.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sid: 'x' }));
    });
  });
  await new Promise((res) => rest.server.listen(0, '127.0.0.1', res));
  rest.url = `http://127.0.0.1:${rest.server.address().port}`;
  return rest;
}

async function start(t) {
  const rest = await fakeRest();
  const srv = await startServer({ args: ['--public-url', PUBLIC, '--twilio-account-sid', ACCOUNT,
    '--twilio-auth-token', AUTH, '--twilio-api-base', rest.url] });
  t.after(async () => {
    const r = await srv.stop();
    rest.server.close();
    if (r.code !== 0) throw new Error(`server exit ${JSON.stringify(r)}\n${srv.log}`);
  });
  assert.equal((await srv.request('PUT', '/v1/config', { body: config() })).status, 200);
  for (const a of ['a1', 'a2', 'a3', 'a4'])
    await srv.request('POST', `/v1/agents/${a}/presence`, { body: { expires_s: 3600 } });
  // Sends a webhook as Twilio does: form-encoded, signed for the public URL (or `signUrl`).
  srv.hook = async (path, params, { signature, signUrl } = {}) => {
    const url = (signUrl || PUBLIC) + path;
    const sig = signature !== undefined ? signature : twilio.getExpectedTwilioSignature(AUTH, url, params);
    if (signature === undefined) assert.ok(twilio.validateRequest(AUTH, sig, url, params));
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    if (sig !== null) headers['x-twilio-signature'] = sig;
    const res = await fetch(srv.url + path, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  srv.rest = rest;
  return srv;
}

const parser = new XMLParser({ ignoreAttributes: false, preserveOrder: true, parseAttributeValue: false,
  parseTagValue: false, trimValues: false });
// Compares a TwiML answer with the package's builder output, as parsed trees.
function sameTwiml(res, build) {
  assert.equal(res.status, 200, res.text);
  assert.match(res.type, /^text\/xml/);
  const want = new twilio.twiml.VoiceResponse();
  build(want);
  assert.deepEqual(parser.parse(res.text), parser.parse(want.toString()), `${res.text}\n!=\n${want.toString()}`);
}

const dialTo = (id, agent) => (r) => {
  const d = r.dial({ action: `${PUBLIC}/twilio/dial/${id}/${agent}`, method: 'POST', timeout: 15, answerOnBridge: true });
  d.client({ statusCallbackEvent: 'answered', statusCallback: `${PUBLIC}/twilio/answered/${id}`,
    statusCallbackMethod: 'POST' }, `client-${agent}`);
};
const sayHangup = (text) => (r) => { r.say(text); r.hangup(); };
const enqueue = (id) => (r) => r.enqueue({ action: `${PUBLIC}/twilio/queue/${id}`, method: 'POST',
  waitUrl: `${PUBLIC}/twilio/wait/${id}`, waitUrlMethod: 'POST' }, 'q');
const empty = () => {};

async function callOf(srv, sid) {
  const list = (await srv.request('GET', '/v1/calls?limit=500')).json.calls;
  return list.find((c) => c.external_id === sid);
}
const active = async (srv, a) => (await srv.request('GET', `/v1/agents/${a}`)).json.active_calls;

test('an inbound call rings an agent, fails over on no-answer and busy, is answered and ends', async (t) => {
  const srv = await start(t);
  const sid = newSid();
  const voice = { CallSid: sid, AccountSid: ACCOUNT, From: TX, To: SALES, CallStatus: 'ringing', Direction: 'inbound' };
  const first = await srv.hook('/twilio/voice', voice);
  const call = await callOf(srv, sid);
  sameTwiml(first, dialTo(call.id, 'a1'));
  // Twilio retries the webhook: the same answer, still one call.
  sameTwiml(await srv.hook('/twilio/voice', voice), dialTo(call.id, 'a1'));
  assert.equal((await srv.request('GET', '/v1/calls')).json.calls.length, 1);

  const noAnswer = { CallSid: sid, AccountSid: ACCOUNT, DialCallStatus: 'no-answer' };
  sameTwiml(await srv.hook(`/twilio/dial/${call.id}/a1`, noAnswer), dialTo(call.id, 'a2'));
  sameTwiml(await srv.hook(`/twilio/dial/${call.id}/a1`, noAnswer), dialTo(call.id, 'a2')); // duplicate
  assert.equal(await active(srv, 'a1'), 0);
  assert.equal(await active(srv, 'a2'), 1);
  sameTwiml(await srv.hook(`/twilio/dial/${call.id}/a2`, { ...noAnswer, DialCallStatus: 'busy' }), dialTo(call.id, 'a3'));

  sameTwiml(await srv.hook(`/twilio/answered/${call.id}`, { CallSid: sid, CallStatus: 'in-progress' }), empty);
  assert.equal((await srv.request('GET', `/v1/calls/${call.id}`)).json.status, 'connected');
  sameTwiml(await srv.hook(`/twilio/dial/${call.id}/a3`, { ...noAnswer, DialCallStatus: 'completed' }), (r) => r.hangup());
  const done = (await srv.request('GET', `/v1/calls/${call.id}`)).json;
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.tried, ['a1', 'a2']);
  // The status callback comes last and twice: harmless.
  for (let i = 0; i < 2; i++)
    sameTwiml(await srv.hook('/twilio/status', { CallSid: sid, CallStatus: 'completed' }), empty);
  for (const a of ['a1', 'a2', 'a3']) assert.equal(await active(srv, a), 0);
});

test('every agent failing gives the callback message; an unknown number is not in service', async (t) => {
  const srv = await start(t);
  const sid = newSid();
  await srv.hook('/twilio/voice', { CallSid: sid, From: TX, To: SALES });
  const call = await callOf(srv, sid);
  for (const [from, to] of [['a1', 'a2'], ['a2', 'a3']])
    sameTwiml(await srv.hook(`/twilio/dial/${call.id}/${from}`, { CallSid: sid, DialCallStatus: 'failed' }), dialTo(call.id, to));
  sameTwiml(await srv.hook(`/twilio/dial/${call.id}/a3`, { CallSid: sid, DialCallStatus: 'canceled' }), sayHangup(SORRY));
  assert.equal((await srv.request('GET', `/v1/calls/${call.id}`)).json.status, 'callback');
  const unknown = await srv.hook('/twilio/voice', { CallSid: newSid(), From: TX, To: '+18005550000' });
  sameTwiml(unknown, sayHangup('We are sorry, the number you have dialled is not in service. Goodbye.'));
});

test('status callbacks out of order: the call ends once and a late Dial action changes nothing', async (t) => {
  const srv = await start(t);
  const sid = newSid();
  await srv.hook('/twilio/voice', { CallSid: sid, From: TX, To: SALES });
  const call = await callOf(srv, sid);
  sameTwiml(await srv.hook('/twilio/status', { CallSid: sid, CallStatus: 'canceled' }), empty);
  assert.equal(await active(srv, 'a1'), 0);
  // The Dial action arrives after the end: no failover to a2.
  sameTwiml(await srv.hook(`/twilio/dial/${call.id}/a1`, { CallSid: sid, DialCallStatus: 'no-answer' }), (r) => r.hangup());
  assert.equal(await active(srv, 'a2'), 0);
  assert.equal((await srv.request('GET', `/v1/calls/${call.id}`)).json.status, 'completed');
  // Statuses that end nothing, and unknown calls, are acknowledged.
  sameTwiml(await srv.hook('/twilio/status', { CallSid: sid, CallStatus: 'in-progress' }), empty);
  sameTwiml(await srv.hook('/twilio/status', { CallSid: newSid(), CallStatus: 'completed' }), empty);
});

test('a queued caller hears its place and is handed off through the REST API when an agent frees', async (t) => {
  const srv = await start(t);
  const busySid = newSid();
  const busy = await srv.hook('/twilio/voice', { CallSid: busySid, From: TX, To: QUEUED });
  const busyCall = await callOf(srv, busySid);
  sameTwiml(busy, dialTo(busyCall.id, 'a4'));
  const sid = newSid();
  const queued = await srv.hook('/twilio/voice', { CallSid: sid, From: '+15125550188', To: QUEUED });
  const call = await callOf(srv, sid);
  sameTwiml(queued, enqueue(call.id));
  const wait = await srv.hook(`/twilio/wait/${call.id}`, { CallSid: sid, QueuePosition: '1', QueueTime: '3' });
  sameTwiml(wait, (r) => { r.say('You are caller number 1. Your estimated wait is about 3 minutes.'); r.play(HOLD); });

  // The first call ends: a4 frees and the waiting caller is redirected to it.
  const t0 = Date.now();
  sameTwiml(await srv.hook('/twilio/status', { CallSid: busySid, CallStatus: 'completed' }), empty);
  while (srv.rest.requests.length === 0 && Date.now() - t0 < 3000) await sleep(20);
  assert.ok(Date.now() - t0 < 2000, `redirect after ${Date.now() - t0} ms`);
  const upd = srv.rest.requests[0];
  assert.equal(upd.method, 'POST');
  assert.equal(upd.url, `/2010-04-01/Accounts/${ACCOUNT}/Calls/${sid}.json`);
  assert.equal(upd.auth, 'Basic ' + Buffer.from(`${ACCOUNT}:${AUTH}`).toString('base64'));
  assert.deepEqual(upd.form, { Url: `${PUBLIC}/twilio/connect/${call.id}`, Method: 'POST' });
  sameTwiml(await srv.hook(`/twilio/connect/${call.id}`, { CallSid: sid }), dialTo(call.id, 'a4'));
  // Twilio then reports the caller left its queue (redirected): the same Dial, nothing changes.
  sameTwiml(await srv.hook(`/twilio/queue/${call.id}`, { CallSid: sid, QueueResult: 'redirected' }), dialTo(call.id, 'a4'));
  sameTwiml(await srv.hook(`/twilio/wait/${call.id}`, { CallSid: sid }), (r) => r.pause({ length: 1 }));
  assert.equal((await srv.request('GET', `/v1/calls/${call.id}`)).json.status, 'ringing');
  assert.equal(await active(srv, 'a4'), 1);
});

test('a refused redirect releases the claim and queues the caller again, then succeeds', async (t) => {
  const srv = await start(t);
  const busySid = newSid();
  await srv.hook('/twilio/voice', { CallSid: busySid, From: TX, To: QUEUED });
  const sid = newSid();
  await srv.hook('/twilio/voice', { CallSid: sid, From: TX, To: QUEUED });
  const call = await callOf(srv, sid);
  srv.rest.status = 500;
  await srv.hook('/twilio/status', { CallSid: busySid, CallStatus: 'completed' });
  const t0 = Date.now();
  while (srv.rest.requests.length < 1 && Date.now() - t0 < 3000) await sleep(20);
  srv.rest.status = 200;
  // Released and queued again (the log says so), then handed off again and redirected.
  while (!/event=twilio_handoff call_id/.test(srv.log) && Date.now() - t0 < 8000) await sleep(50);
  assert.match(srv.log, /event=twilio_handoff_failed call_id=\w+ call_sid=CA\w+ status=500/);
  assert.ok(srv.rest.requests.length >= 2);
  const after = (await srv.request('GET', `/v1/calls/${call.id}`)).json;
  assert.equal(after.status, 'ringing');
  assert.equal(after.agent, 'a4');
  assert.equal(await active(srv, 'a4'), 1, 'the failed attempt released its claim');
  const metrics = (await srv.request('GET', '/metrics')).text;
  assert.match(metrics, /sureconnect_twilio_handoffs_total\{result="redirected"\} 1\n/);
  assert.match(metrics, /sureconnect_twilio_handoffs_total\{result="failed"\} [1-9]\d*\n/);
});

test('a caller who hangs up while queued is abandoned; the provider letting it go gives a callback', async (t) => {
  const srv = await start(t);
  await srv.hook('/twilio/voice', { CallSid: newSid(), From: TX, To: QUEUED });
  const gone = newSid();
  await srv.hook('/twilio/voice', { CallSid: gone, From: '+15125550177', To: QUEUED });
  const goneCall = await callOf(srv, gone);
  sameTwiml(await srv.hook(`/twilio/queue/${goneCall.id}`, { CallSid: gone, QueueResult: 'hangup' }), (r) => r.hangup());
  sameTwiml(await srv.hook('/twilio/status', { CallSid: gone, CallStatus: 'completed' }), empty);
  assert.equal((await srv.request('GET', `/v1/calls/${goneCall.id}`)).json.status, 'abandoned');
  const left = newSid();
  await srv.hook('/twilio/voice', { CallSid: left, From: '+15125550166', To: QUEUED });
  const leftCall = await callOf(srv, left);
  sameTwiml(await srv.hook(`/twilio/queue/${leftCall.id}`, { CallSid: left, QueueResult: 'leave' }), sayHangup(SORRY));
  // A caller who hangs up while queued may be reported by the status callback alone.
  const quiet = newSid();
  await srv.hook('/twilio/voice', { CallSid: quiet, From: '+15125550155', To: QUEUED });
  const quietCall = await callOf(srv, quiet);
  sameTwiml(await srv.hook('/twilio/status', { CallSid: quiet, CallStatus: 'completed' }), empty);
  assert.equal((await srv.request('GET', `/v1/calls/${quietCall.id}`)).json.status, 'abandoned');
  const cbs = (await srv.request('GET', '/v1/callbacks')).json.callbacks;
  assert.equal(cbs.find((c) => c.call_id === goneCall.id).reason, 'abandoned');
  assert.equal(cbs.find((c) => c.call_id === quietCall.id).reason, 'abandoned');
  assert.equal(cbs.find((c) => c.call_id === leftCall.id).reason, 'queue_timeout');
});

test('the wait URL says Leave once the max wait has passed, then the callback message', async (t) => {
  const srv = await start(t);
  await srv.hook('/twilio/voice', { CallSid: newSid(), From: TX, To: QUEUED });
  const sid = newSid();
  await srv.hook('/twilio/voice', { CallSid: sid, From: TX, To: QUEUED });
  const call = await callOf(srv, sid);
  const deadline = (await srv.request('GET', `/v1/calls/${call.id}`)).json.queue.deadline_ms;
  await sleep(deadline - Date.now() + 100);
  sameTwiml(await srv.hook(`/twilio/wait/${call.id}`, { CallSid: sid }), (r) => r.leave());
  sameTwiml(await srv.hook(`/twilio/queue/${call.id}`, { CallSid: sid, QueueResult: 'leave' }), sayHangup(SORRY));
  const row = (await srv.request('GET', `/v1/calls/${call.id}`)).json;
  assert.equal(row.status, 'callback');
});

test('bad or missing signatures answer 403 and change nothing; the default port is accepted', async (t) => {
  const srv = await start(t);
  const params = { CallSid: newSid(), From: TX, To: SALES };
  const missing = await srv.hook('/twilio/voice', params, { signature: null });
  assert.equal(missing.status, 403);
  assert.equal(JSON.parse(missing.text).error.code, 'bad_signature');
  const wrongKey = twilio.getExpectedTwilioSignature('another-token', PUBLIC + '/twilio/voice', params);
  assert.equal((await srv.hook('/twilio/voice', params, { signature: wrongKey })).status, 403);
  const tampered = twilio.getExpectedTwilioSignature(AUTH, PUBLIC + '/twilio/voice', params);
  const res = await fetch(srv.url + '/twilio/voice', { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': tampered },
    body: new URLSearchParams({ ...params, To: QUEUED }).toString() });
  assert.equal(res.status, 403);
  assert.equal((await srv.request('GET', '/v1/calls')).json.calls.length, 0, 'nothing recorded');
  for (const a of ['a1', 'a2', 'a3', 'a4']) assert.equal(await active(srv, a), 0);
  // Signed for https://host:443/...: accepted, as Twilio's libraries accept it.
  const ported = await srv.hook('/twilio/voice', params, { signUrl: PUBLIC + ':443' });
  assert.equal(ported.status, 200, ported.text);
  assert.equal((await srv.request('GET', '/v1/calls')).json.calls.length, 1);
});

test('without the Twilio settings the webhooks answer 503', async (t) => {
  const srv = await startServer();
  t.after(() => srv.stop());
  const res = await fetch(srv.url + '/twilio/voice', { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'CallSid=CA1' });
  assert.equal(res.status, 503);
  assert.equal((await res.json()).error.code, 'not_configured');
});
