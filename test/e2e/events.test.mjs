// events.test.mjs -- the Server-Sent Events streams: an agent console's stream registers the
// agent and carries its offered calls, closing it unregisters the agent at once (unless a
// presence registration is still valid), its auth, the dashboards' stream in order,
// Last-Event-ID, and a clean stop with streams open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, fixture, openStream, sleep, TX } from './harness.mjs';


// A server with the fixture loaded and NO agent registered.
async function startBare(t) {
  const srv = await startServer();
  t.after(async () => {
    const r = await srv.stop();
    if (r.code !== 0) throw new Error(`server exit ${JSON.stringify(r)}\n${srv.log}`);
  });
  const put = await srv.request('PUT', '/v1/config', { body: fixture() });
  assert.equal(put.status, 200, put.text);
  return srv;
}


async function connected(srv, id) {
  const r = await srv.request('GET', `/v1/agents/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.json.connected;
}

// Polls until the agent's connected flag is `want`; returns the milliseconds it took.
async function waitConnected(srv, id, want, timeout = 3000) {
  const t0 = Date.now();
  while ((await connected(srv, id)) !== want) {
    if (Date.now() - t0 > timeout) throw new Error(`${id} still connected=${!want}\n${srv.log}`);
    await sleep(10);
  }
  return Date.now() - t0;
}

const route = (srv, to, from = TX) => srv.request('POST', '/v1/calls', { body: { to, from } });

test('the agent stream registers the agent and carries its offered calls', async (t) => {
  const srv = await startBare(t);
  assert.equal(await connected(srv, 'a1'), false);
  const a1 = await openStream(srv, '/v1/agents/a1/events', { token: srv.token('a1') });
  assert.equal(a1.status, 200);
  assert.match(a1.res.headers.get('content-type'), /^text\/event-stream/);
  const a2 = await openStream(srv, '/v1/agents/a2/events'); // an admin key may open it too
  assert.equal(await connected(srv, 'a1'), true);

  const call = await route(srv, '+18005550101');
  assert.equal(call.status, 201, call.text);
  assert.equal(call.json.action, 'connect');
  assert.equal(call.json.agent.id, 'a1');
  const offered = await a1.waitFor('call.offered');
  assert.equal(offered.data.call_id, call.json.call_id);
  assert.equal(offered.data.caller, TX);
  assert.equal(offered.data.caller_state, 'TX');
  assert.equal(offered.data.campaign, 'prio');
  assert.equal(offered.data.category, 'medicare');
  assert.equal(offered.data.type, 'call.offered');
  assert.ok(offered.data.time_ms > 0);
  assert.ok(Number(offered.id) > 0);

  const id = call.json.call_id;
  assert.equal((await srv.request('POST', `/v1/calls/${id}/answered`)).status, 200);
  const answered = await a1.waitFor((e) => e.event === 'call.updated' && e.data.status === 'connected');
  assert.equal(answered.data.call_id, id);
  assert.equal((await srv.request('POST', `/v1/calls/${id}/ended`)).status, 200);
  const ended = await a1.waitFor((e) => e.event === 'call.updated' && e.data.status === 'completed');
  assert.equal(ended.data.call_id, id);
  // A repeated end changes nothing and says nothing.
  assert.equal((await srv.request('POST', `/v1/calls/${id}/ended`)).status, 200);

  // A no-answer tells the agent the call moved on; the next agent gets the offer.
  const second = await route(srv, '+18005550101');
  assert.equal(second.json.agent.id, 'a1');
  const fo = await srv.request('POST', `/v1/calls/${second.json.call_id}/no-answer`);
  assert.equal(fo.json.agent.id, 'a2');
  const moved = await a1.waitFor((e) => e.event === 'call.updated' && e.data.status === 'failed_over');
  assert.equal(moved.data.call_id, second.json.call_id);
  const offered2 = await a2.waitFor('call.offered');
  assert.equal(offered2.data.call_id, second.json.call_id);

  // Each console sees only its own calls; keepalives arrive every second.
  assert.ok(a2.events.every((e) => e.event !== 'call.offered' || e.data.agent === 'a2'));
  assert.equal(a1.events.filter((e) => e.event === 'call.offered').length, 2);
  await sleep(1200);
  assert.ok(a1.comments >= 1);
  a1.close();
  a2.close();
});

test('closing the stream unregisters the agent at once', async (t) => {
  const srv = await startBare(t);
  const a3 = await openStream(srv, '/v1/agents/a3/events', { token: srv.token('a3') });
  assert.equal(await connected(srv, 'a3'), true);
  a3.close();
  const took = await waitConnected(srv, 'a3', false);
  assert.ok(took < 1000, `unregistered after ${took} ms`);
  assert.match(srv.log, /event=stream_closed stream=agent agent=a3 last_stream=yes/);
  const cb = await route(srv, '+18005550104'); // solo: only a3
  assert.equal(cb.json.action, 'callback');
  const member = cb.json.trace.rules[0].members.find((m) => m.agent === 'a3');
  assert.equal(member.verdict, 'not_connected');
});

test('a separate presence registration survives the stream closing', async (t) => {
  const srv = await startBare(t);
  const tok = srv.token('a3');
  const p = await srv.request('POST', '/v1/agents/a3/presence', { body: { expires_s: 3600 }, token: tok });
  assert.equal(p.status, 200, p.text);
  const a3 = await openStream(srv, '/v1/agents/a3/events', { token: tok });
  // Two streams of one agent: closing one keeps the agent registered by the stream too.
  const again = await openStream(srv, '/v1/agents/a3/events', { token: tok });
  again.close();
  a3.close();
  const t0 = Date.now();
  while (!/event=stream_closed stream=agent agent=a3 last_stream=yes/.test(srv.log)) {
    if (Date.now() - t0 > 3000) throw new Error(srv.log);
    await sleep(10);
  }
  assert.match(srv.log, /event=stream_closed stream=agent agent=a3 last_stream=no/);
  assert.equal(await connected(srv, 'a3'), true);
  const call = await route(srv, '+18005550104');
  assert.equal(call.json.action, 'connect');
  assert.equal(call.json.agent.id, 'a3');
});

test('a stream needs its own agent token or an admin key', async (t) => {
  const srv = await startBare(t);
  const other = await openStream(srv, '/v1/agents/a1/events', { token: srv.token('a2') });
  assert.equal(other.status, 403);
  assert.equal(other.json.error.code, 'forbidden');
  const none = await fetch(`${srv.url}/v1/agents/a1/events`);
  assert.equal(none.status, 401);
  assert.equal((await none.json()).error.code, 'unauthorized');
  const agentOnAdmin = await openStream(srv, '/v1/events', { token: srv.token('a1') });
  assert.equal(agentOnAdmin.status, 403);
  const unknown = await openStream(srv, '/v1/agents/nobody/events');
  assert.equal(unknown.status, 404);
  const post = await srv.request('POST', '/v1/events', { body: {} });
  assert.equal(post.status, 405);
  assert.equal(await connected(srv, 'a1'), false); // nothing registered a1
});

test('/v1/events shows call and agent events in order, and replays after Last-Event-ID', async (t) => {
  const srv = await startBare(t);
  const dash = await openStream(srv, '/v1/events');
  assert.equal((await srv.request('PATCH', '/v1/agents/a2', { body: { status: 'paused', max_concurrent: 2 } })).status, 200);
  assert.equal((await srv.request('POST', '/v1/agents/a1/presence', { body: { expires_s: 60 } })).status, 200);
  const call = await route(srv, '+18005550101');
  assert.equal(call.json.agent.id, 'a1');
  await srv.request('POST', `/v1/calls/${call.json.call_id}/answered`);
  await srv.request('POST', `/v1/calls/${call.json.call_id}/ended`);
  const cb = await route(srv, '+18005550104'); // a3 not connected: a callback
  assert.equal(cb.json.action, 'callback');
  const done = await srv.request('POST', `/v1/callbacks/${cb.json.callback_id}/complete`, { body: { agent: 'a1' } });
  assert.equal(done.status, 200, done.text);
  assert.equal((await srv.request('DELETE', '/v1/agents/a1/presence')).status, 200);
  await dash.waitFor((e) => e.event === 'agent.presence' && e.data.connected === false);

  // An edit of the configuration (the PATCH) also says config.updated, just before.
  const all = dash.events.filter((e) => e.event !== 'ready');
  assert.equal(all[0].event, 'config.updated');
  assert.equal(all[0].data.path, '/v1/agents/a2');
  const ev = all.slice(1);
  assert.deepEqual(ev.map((e) => e.event), ['agent.updated', 'agent.presence', 'call.routed', 'call.updated',
    'call.updated', 'call.routed', 'callback.created', 'callback.completed', 'agent.presence']);
  const ids = ev.map((e) => Number(e.id));
  assert.deepEqual([...ids].sort((a, b) => a - b), ids);
  assert.equal(ev[0].data.agent, 'a2');
  assert.equal(ev[0].data.status, 'paused');
  assert.equal(ev[0].data.max_concurrent, 2);
  assert.equal(ev[1].data.connected, true);
  assert.equal(ev[2].data.call_id, call.json.call_id);
  assert.equal(ev[2].data.action, 'connect');
  assert.equal(ev[2].data.agent, 'a1');
  assert.deepEqual([ev[3].data.status, ev[4].data.status], ['connected', 'completed']);
  assert.equal(ev[5].data.action, 'callback');
  assert.equal(ev[6].data.callback_id, cb.json.callback_id);
  assert.equal(ev[7].data.completed_by, 'a1');

  // A client reconnecting with Last-Event-ID gets what came after it; a stale id gets lag.
  const replay = await openStream(srv, '/v1/events', { headers: { 'last-event-id': ev[5].id } });
  await replay.waitFor('agent.presence');
  assert.deepEqual(replay.events.filter((e) => e.event !== 'ready').map((e) => e.event),
    ['callback.created', 'callback.completed', 'agent.presence']);
  const stale = await openStream(srv, '/v1/events', { headers: { 'last-event-id': '1' } });
  const lag = await stale.waitFor('lag');
  assert.ok(lag.data.resume_at > 1);
  dash.close();
  replay.close();
  stale.close();
});

test('the daemon stops cleanly with streams open', async () => {
  const srv = await startServer();
  const put = await srv.request('PUT', '/v1/config', { body: fixture() });
  assert.equal(put.status, 200);
  const dash = await openStream(srv, '/v1/events');
  const a1 = await openStream(srv, '/v1/agents/a1/events', { token: srv.token('a1') });
  const t0 = Date.now();
  const r = await srv.stop();
  assert.equal(r.code, 0, srv.log);
  assert.ok(Date.now() - t0 < 5000);
  await Promise.all([dash.done, a1.done]);
  assert.equal(dash.closed && a1.closed, true);
  assert.match(srv.log, /event=stream_closed stream=agent agent=a1 last_stream=yes/);
  assert.match(srv.log, /event=stopped/);
});
