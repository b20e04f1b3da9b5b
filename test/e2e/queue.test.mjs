// queue.test.mjs -- the call queue through the HTTP API (SPEC 3.7): order, position and
// estimated wait; hand-off to an agent that frees (ended call, registration, resume,
// raised limit) within 2 seconds; a full queue; a caller who hangs up; a wait that runs out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStream } from './harness.mjs';
import { call, startQueue, waitStatus } from './queue_helpers.mjs';

test('callers queue in order with position and estimated wait; a full queue gives callbacks', async (t) => {
  const srv = await startQueue(t);
  const first = await call(srv);
  assert.equal(first.json.action, 'connect');
  const queued = [];
  for (let i = 1; i <= 3; i++) {
    const r = await call(srv, `+1512555010${i}`);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.action, 'queue');
    assert.equal(r.json.status, 'queued');
    assert.equal(r.json.queue.position, i);
    // No completed calls yet: 180 s assumed per call, one call slot (a1) staffed.
    assert.equal(r.json.queue.estimated_wait_s, 180 * i);
    assert.equal(r.json.queue.deadline_ms - r.json.queue.queued_ms, 300_000);
    assert.equal(r.json.message, null);
    assert.equal(r.json.trace.queue.result, 'queued');
    assert.equal(r.json.trace.queue.position, i);
    queued.push(r.json.call_id);
  }
  const full = await call(srv, '+15125550109');
  assert.equal(full.json.action, 'callback');
  assert.equal(full.json.callback_reason, 'queue_full');
  assert.equal(full.json.message, 'We will call you back.');
  assert.equal(full.json.trace.queue.result, 'full');

  const q = await srv.request('GET', '/v1/queues/q');
  assert.equal(q.status, 200, q.text);
  assert.equal(q.json.count, 3);
  assert.deepEqual(q.json.waiting.map((w) => w.call_id), queued);
  assert.deepEqual(q.json.waiting.map((w) => w.position), [1, 2, 3]);
  assert.equal(q.json.waiting[0].caller, '+15125550101');
  assert.equal(q.json.waiting[0].caller_state, 'TX');
  assert.ok(q.json.waiting[0].waited_ms >= 0);
  const all = await srv.request('GET', '/v1/queues');
  assert.equal(all.json.waiting, 3);
  assert.deepEqual(all.json.queues.map((x) => x.campaign), ['q']);
  const one = await srv.request('GET', `/v1/calls/${queued[1]}`);
  assert.equal(one.json.queue.position, 2);
  assert.equal(one.json.queue.estimated_wait_s, 360);
  assert.equal((await srv.request('GET', '/v1/queues/nope')).status, 404);
  const metrics = await srv.request('GET', '/metrics');
  assert.match(metrics.text, /sureconnect_queue_waiting 3\n/);

  // The agent frees: the oldest caller gets it and the others move up.
  await srv.request('POST', `/v1/calls/${first.json.call_id}/ended`);
  const ms = await waitStatus(srv, queued[0], 'ringing');
  assert.ok(ms < 2000, `hand-off took ${ms} ms`);
  const handed = await srv.request('GET', `/v1/calls/${queued[0]}`);
  assert.equal(handed.json.agent, 'a1');
  assert.equal(handed.json.queue, null);
  assert.equal(handed.json.trace.queue.result, 'dequeued');
  const after = await srv.request('GET', '/v1/queues/q');
  assert.deepEqual(after.json.waiting.map((w) => w.call_id), queued.slice(1));
  assert.deepEqual(after.json.waiting.map((w) => w.position), [1, 2]);
  assert.match((await srv.request('GET', '/metrics')).text, /sureconnect_queue_handoffs_total 1\n/);
});

test('a new caller queues behind waiting callers; the dispatcher gives a free agent to the first it suits', async (t) => {
  // a2 is licensed for CA only: the Texas callers cannot have it.
  const srv = await startQueue(t, { members: ['a1', 'a2'], states: { a2: ['CA'] } }, ['a1']);
  const busy = await call(srv);
  const texan = await call(srv, '+15125550111');
  assert.equal(texan.json.action, 'queue');
  await srv.request('POST', '/v1/agents/a2/presence', { body: { expires_s: 3600 } });
  // a2 is free now, but a caller is already waiting: a new caller queues behind it.
  const californian = await call(srv, '+14155550112');
  assert.equal(californian.json.action, 'queue');
  assert.equal(californian.json.trace.queue.reason, 'callers_waiting');
  assert.equal(californian.json.queue.position, 2);
  // The oldest caller cannot use a2, so the dispatcher hands it to the next one it suits.
  await waitStatus(srv, californian.json.call_id, 'ringing');
  assert.equal((await srv.request('GET', `/v1/calls/${californian.json.call_id}`)).json.agent, 'a2');
  assert.equal((await srv.request('GET', `/v1/calls/${texan.json.call_id}`)).json.status, 'queued');
  // a1 frees: the Texan, first in line, gets it.
  await srv.request('POST', `/v1/calls/${busy.json.call_id}/ended`);
  await waitStatus(srv, texan.json.call_id, 'ringing');
  assert.equal((await srv.request('GET', `/v1/calls/${texan.json.call_id}`)).json.agent, 'a1');
});

test('hand-off when an agent registers, resumes or gets a higher limit', async (t) => {
  const srv = await startQueue(t, { members: ['a1'] }, []);
  // Not connected: the caller waits until a1 registers.
  const c1 = await call(srv);
  assert.equal(c1.json.action, 'queue');
  assert.equal(c1.json.trace.queue.reason, 'no_agent_available');
  await srv.request('POST', '/v1/agents/a1/presence', { body: { expires_s: 3600 } });
  let ms = await waitStatus(srv, c1.json.call_id, 'ringing');
  assert.ok(ms < 2000, `registration hand-off took ${ms} ms`);

  // Paused with capacity: the caller waits until a1 resumes (its own token may do it).
  await srv.request('POST', `/v1/calls/${c1.json.call_id}/ended`);
  const token = srv.token('a1');
  const pause = await srv.request('PATCH', '/v1/agents/a1', { body: { status: 'paused' }, token });
  assert.equal(pause.status, 200, pause.text);
  const c2 = await call(srv);
  assert.equal(c2.json.action, 'queue');
  await srv.request('PATCH', '/v1/agents/a1', { body: { status: 'active' }, token });
  ms = await waitStatus(srv, c2.json.call_id, 'ringing');
  assert.ok(ms < 2000, `resume hand-off took ${ms} ms`);

  // At capacity 1/1: a raised limit lets the next caller through.
  const c3 = await call(srv);
  assert.equal(c3.json.action, 'queue');
  const raise = await srv.request('PATCH', '/v1/agents/a1', { body: { max_concurrent: 2 } });
  assert.equal(raise.status, 200, raise.text);
  ms = await waitStatus(srv, c3.json.call_id, 'ringing');
  assert.ok(ms < 2000, `raised limit hand-off took ${ms} ms`);
  assert.equal((await srv.request('GET', '/v1/agents/a1')).json.active_calls, 2);
});

test('a caller who hangs up while waiting is abandoned with a callback', async (t) => {
  const srv = await startQueue(t);
  await call(srv);
  const waiting = await call(srv, '+15125550121');
  const ended = await srv.request('POST', `/v1/calls/${waiting.json.call_id}/ended`);
  assert.equal(ended.status, 200, ended.text);
  assert.equal(ended.json.status, 'abandoned');
  assert.equal(ended.json.released, false);
  const again = await srv.request('POST', `/v1/calls/${waiting.json.call_id}/ended`);
  assert.equal(again.json.status, 'abandoned', 'a repeat is harmless');
  const cbs = await srv.request('GET', '/v1/callbacks');
  const cb = cbs.json.callbacks.find((c) => c.call_id === waiting.json.call_id);
  assert.ok(cb, cbs.text);
  assert.equal(cb.reason, 'abandoned');
  assert.equal(cb.caller, '+15125550121');
  assert.equal((await srv.request('GET', '/v1/queues/q')).json.count, 0);
});

test('a caller who waits past max_wait_s leaves the queue with a callback', async (t) => {
  const srv = await startQueue(t, { maxWait: 10 });
  await call(srv);
  const waiting = await call(srv, '+15125550131');
  assert.equal(waiting.json.action, 'queue');
  const ms = await waitStatus(srv, waiting.json.call_id, 'callback', 14000);
  assert.ok(ms >= 8000, `left after ${ms} ms, before its deadline`);
  const row = await srv.request('GET', `/v1/calls/${waiting.json.call_id}`);
  assert.ok(row.json.ended_ms >= waiting.json.queue.deadline_ms);
  const cbs = await srv.request('GET', '/v1/callbacks');
  const cb = cbs.json.callbacks.find((c) => c.call_id === waiting.json.call_id);
  assert.equal(cb.reason, 'queue_timeout');
  assert.match((await srv.request('GET', '/metrics')).text, /sureconnect_queue_timeouts_total 1\n/);
});

test('a hand-off reaches the agent console, the dashboards and a long poll at once', async (t) => {
  const srv = await startQueue(t, { members: ['a1', 'a2'] }, ['a1']);
  await call(srv);
  const waiting = await call(srv, '+15125550141');
  assert.equal(waiting.json.action, 'queue');
  const id = waiting.json.call_id;
  const dash = await openStream(srv, '/v1/events');
  const t0 = Date.now();
  const poll = srv.request('GET', `/v1/calls/${id}?wait=10&status=queued`);
  // a2 opens its console: the stream registers it, and the waiting caller is offered to it.
  const console2 = await openStream(srv, '/v1/agents/a2/events', { token: srv.token('a2') });
  const offered = await console2.waitFor('call.offered');
  assert.equal(offered.data.call_id, id);
  assert.equal(offered.data.caller, '+15125550141');
  assert.equal(offered.data.caller_state, 'TX');
  assert.equal(offered.data.campaign, 'q');
  assert.equal(offered.data.category, 'medicare');
  const routed = await dash.waitFor((e) => e.event === 'call.routed' && e.data.call_id === id);
  assert.equal(routed.data.action, 'connect');
  assert.equal(routed.data.agent, 'a2');
  const polled = await poll;
  assert.equal(polled.status, 200, polled.text);
  assert.equal(polled.json.status, 'ringing');
  assert.equal(polled.json.agent, 'a2');
  assert.ok(Date.now() - t0 < 2000, `long poll answered after ${Date.now() - t0} ms`);
  console2.close();
  dash.close();
});

test('a rule change that adds an agent hands it a waiting caller', async (t) => {
  const srv = await startQueue(t, { members: ['a1'] }, ['a1', 'a2']);
  await call(srv);
  const waiting = await call(srv, '+15125550151');
  assert.equal(waiting.json.action, 'queue');
  const camp = (await srv.request('GET', '/v1/campaigns/q')).json;
  const rules = camp.rules.map((r) => ({ ...r, members: [...r.members, { agent: 'a2', priority: 2, weight: 1 }] }));
  const patch = await srv.request('PATCH', '/v1/campaigns/q', { body: { rules } });
  assert.equal(patch.status, 200, patch.text);
  const ms = await waitStatus(srv, waiting.json.call_id, 'ringing');
  assert.ok(ms < 2000, `rule change hand-off took ${ms} ms`);
  assert.equal((await srv.request('GET', `/v1/calls/${waiting.json.call_id}`)).json.agent, 'a2');
});
