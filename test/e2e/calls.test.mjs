// calls.test.mjs -- the life of calls through the HTTP API: connect, no-answer and
// failover, answered, ended twice, callbacks, listing, and each distribution mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWithFixture, TX } from './harness.mjs';

const route = (srv, to, from = TX, extra = {}) =>
  srv.request('POST', '/v1/calls', { body: { to, from, ...extra } });

async function activeCalls(srv, id) {
  const r = await srv.request('GET', `/v1/agents/${id}`);
  assert.equal(r.status, 200);
  return r.json.active_calls;
}

test('a call connects, fails over on no-answer, is answered and ended twice', async (t) => {
  const srv = await startWithFixture(t);
  const first = await route(srv, '1 (800) 555-0101', TX, { external_id: 'CA123' });
  assert.equal(first.status, 201, first.text);
  assert.equal(first.json.action, 'connect');
  assert.equal(first.json.status, 'ringing');
  assert.deepEqual(first.json.agent, { id: 'a1', name: 'Agent A1', softphone: { type: 'client', address: 'a1' } });
  assert.equal(first.json.rule, 'r-prio');
  assert.equal(first.json.campaign, 'prio');
  assert.equal(first.json.caller_state, 'TX');
  assert.equal(first.json.category, 'medicare');
  assert.equal(first.json.message, null);
  assert.equal(typeof first.json.trace, 'object');
  const id = first.json.call_id;
  assert.equal(await activeCalls(srv, 'a1'), 1);

  // No answer: a1 is released and tried, the call rings a2 (next priority).
  const retry = await srv.request('POST', `/v1/calls/${id}/no-answer`);
  assert.equal(retry.status, 200, retry.text);
  assert.equal(retry.json.call_id, id);
  assert.equal(retry.json.action, 'connect');
  assert.equal(retry.json.agent.id, 'a2');
  assert.equal(await activeCalls(srv, 'a1'), 0);
  assert.equal(await activeCalls(srv, 'a2'), 1);
  const tried = retry.json.trace.rules[0].members.find((m) => m.agent === 'a1');
  assert.equal(tried.verdict, 'already_tried');

  // A second no-answer on a call that is ringing a2 moves on to a3.
  const again = await srv.request('POST', `/v1/calls/${id}/no-answer`);
  assert.equal(again.json.agent.id, 'a3');

  const answered = await srv.request('POST', `/v1/calls/${id}/answered`);
  assert.equal(answered.status, 200, answered.text);
  assert.equal(answered.json.status, 'connected');
  assert.equal(answered.json.changed, true);
  const answered2 = await srv.request('POST', `/v1/calls/${id}/answered`);
  assert.equal(answered2.status, 200);
  assert.equal(answered2.json.changed, false);
  // A connected call cannot fail over.
  const late = await srv.request('POST', `/v1/calls/${id}/no-answer`);
  assert.equal(late.status, 409);
  assert.equal(late.json.error.code, 'call_not_ringing');

  const ended = await srv.request('POST', `/v1/calls/${id}/ended`);
  assert.equal(ended.status, 200, ended.text);
  assert.equal(ended.json.status, 'completed');
  assert.equal(ended.json.released, true);
  const ended2 = await srv.request('POST', `/v1/calls/${id}/ended`);
  assert.equal(ended2.status, 200);
  assert.equal(ended2.json.released, false);
  for (const a of ['a1', 'a2', 'a3']) assert.equal(await activeCalls(srv, a), 0, a);

  const got = await srv.request('GET', `/v1/calls/${id}`);
  assert.equal(got.status, 200);
  assert.equal(got.json.status, 'completed');
  assert.equal(got.json.external_id, 'CA123');
  // A carrier id names one call: routing it again is refused and records nothing.
  const dup = await route(srv, '1 (800) 555-0101', TX, { external_id: 'CA123' });
  assert.equal(dup.status, 409, dup.text);
  assert.equal(dup.json.error.code, 'duplicate_external_id');
  assert.equal(dup.json.error.field, 'external_id');
  assert.equal((await srv.request('GET', '/v1/calls')).json.calls.length, 1);
  assert.deepEqual(got.json.tried, ['a1', 'a2']);
  assert.equal(got.json.trace.outcome, 'connect');
  assert.ok(got.json.ended_ms > 0);

  const unknown = await srv.request('POST', '/v1/calls/0123456789abcdef/ended');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error.code, 'not_found');
  // Requests and routing decisions are logged.
  assert.match(srv.log, /event=route call_id=\w+ campaign=prio state=TX category=medicare outcome=connect agent=a1 us=\d+/);
  assert.match(srv.log, /event=request method=POST path=\/v1\/calls status=201/);
});

test('nobody free gives a callback with the friendly message; repeats bump it', async (t) => {
  const srv = await startWithFixture(t);
  const busy = await route(srv, '+18005550104');
  assert.equal(busy.json.agent.id, 'a3');
  const cb = await route(srv, '+18005550104', '+13055550100');
  assert.equal(cb.status, 201);
  assert.equal(cb.json.action, 'callback');
  assert.equal(cb.json.status, 'callback');
  assert.equal(cb.json.agent, null);
  assert.equal(cb.json.message, 'Sorry, solo is busy; we will call you back.');
  assert.ok(cb.json.callback_id > 0);
  const again = await route(srv, '+18005550104', '+13055550100');
  assert.equal(again.json.callback_id, cb.json.callback_id);

  const list = await srv.request('GET', '/v1/callbacks?campaign=solo');
  assert.equal(list.status, 200);
  assert.equal(list.json.callbacks.length, 1);
  const one = list.json.callbacks[0];
  assert.equal(one.caller, '+13055550100');
  assert.equal(one.caller_state, 'FL');
  assert.equal(one.attempts, 2);
  assert.equal(one.reason, 'no_agents');
  assert.equal(one.status, 'open');
  // since: created or attempted again at or after the given time (Unix ms).
  const recent = await srv.request('GET', `/v1/callbacks?campaign=solo&since=${one.updated_ms}`);
  assert.deepEqual(recent.json.callbacks.map((c) => c.id), [one.id]);
  const later = await srv.request('GET', `/v1/callbacks?campaign=solo&since=${one.updated_ms + 1}`);
  assert.equal(later.json.callbacks.length, 0);
  const badSince = await srv.request('GET', '/v1/callbacks?since=yesterday');
  assert.equal(badSince.status, 400);
  assert.equal(badSince.json.error.field, 'since');

  // No-answer on the only agent: the call turns into a callback too.
  const fail = await srv.request('POST', `/v1/calls/${busy.json.call_id}/no-answer`);
  assert.equal(fail.json.action, 'callback');
  assert.equal(await (await srv.request('GET', '/v1/agents/a3')).json.active_calls, 0);

  const done = await srv.request('POST', `/v1/callbacks/${one.id}/complete`, { body: { agent: 'a1', note: 'called back' } });
  assert.equal(done.status, 200, done.text);
  assert.equal(done.json.status, 'done');
  assert.equal(done.json.completed_by, 'a1');
  const twice = await srv.request('POST', `/v1/callbacks/${one.id}/complete`, { body: { agent: 'a1' } });
  assert.equal(twice.status, 409);
  const open = await srv.request('GET', '/v1/callbacks?campaign=solo');
  assert.equal(open.json.callbacks.length, 1); // the one from the no-answer
  assert.equal(open.json.callbacks[0].caller, '+15125550123');

  const unknownNumber = await route(srv, '+18005559999');
  assert.equal(unknownNumber.status, 201);
  assert.equal(unknownNumber.json.action, 'reject');
  assert.match(unknownNumber.json.message, /not in service/);
});

test('priority mode prefers the lowest priority number among the available', async (t) => {
  const srv = await startWithFixture(t);
  const picks = [];
  for (let i = 0; i < 3; i++) picks.push((await route(srv, '+18005550101')).json.agent.id);
  assert.deepEqual(picks, ['a1', 'a2', 'a3']);
  const full = await route(srv, '+18005550101');
  assert.equal(full.json.action, 'callback');
  const m = full.json.trace.rules[0].members.map((x) => x.verdict);
  assert.deepEqual(m, ['at_capacity', 'at_capacity', 'at_capacity']);
});

test('round-robin mode rotates after the previous taker', async (t) => {
  const srv = await startWithFixture(t);
  const picks = [];
  for (let i = 0; i < 5; i++) {
    const r = await route(srv, '+18005550102');
    picks.push(r.json.agent.id);
    await srv.request('POST', `/v1/calls/${r.json.call_id}/ended`);
  }
  assert.deepEqual(picks, ['a1', 'a2', 'a3', 'a1', 'a2']);
});

test('weighted mode follows the weights among available agents', async (t) => {
  const srv = await startWithFixture(t);
  const count = { a1: 0, a2: 0 };
  for (let i = 0; i < 20; i++) {
    const r = await route(srv, '+18005550103');
    count[r.json.agent.id]++;
    await srv.request('POST', `/v1/calls/${r.json.call_id}/ended`);
  }
  assert.ok(count.a2 >= 17, JSON.stringify(count)); // weight 1000 against 1
  // With a2 paused, a1 takes every call.
  await srv.request('PATCH', '/v1/agents/a2', { body: { status: 'paused' } });
  const r = await route(srv, '+18005550103');
  assert.equal(r.json.agent.id, 'a1');
  const a2 = r.json.trace.rules[0].members.find((m) => m.agent === 'a2');
  assert.equal(a2.verdict, 'paused');
});

test('calls can be listed with filters and pages', async (t) => {
  const srv = await startWithFixture(t);
  const ids = [];
  for (let i = 0; i < 5; i++) {
    const r = await route(srv, '+18005550102');
    ids.push(r.json.call_id);
    await srv.request('POST', `/v1/calls/${r.json.call_id}/ended`);
  }
  const p1 = await srv.request('GET', '/v1/calls?limit=2&campaign=rr&status=completed');
  assert.equal(p1.status, 200);
  assert.deepEqual(p1.json.calls.map((c) => c.id), [ids[4], ids[3]]);
  assert.equal(p1.json.calls[0].trace, undefined);
  const p2 = await srv.request('GET', `/v1/calls?limit=2&campaign=rr&cursor=${p1.json.next_cursor}`);
  assert.deepEqual(p2.json.calls.map((c) => c.id), [ids[2], ids[1]]);
  const p3 = await srv.request('GET', `/v1/calls?limit=2&campaign=rr&cursor=${p2.json.next_cursor}`);
  assert.deepEqual(p3.json.calls.map((c) => c.id), [ids[0]]);
  assert.equal(p3.json.next_cursor, null);
  const byAgent = await srv.request('GET', '/v1/calls?agent=a2');
  assert.ok(byAgent.json.calls.length >= 1);
  assert.ok(byAgent.json.calls.every((c) => c.agent === 'a2'));
  const future = await srv.request('GET', `/v1/calls?since=${Date.now() + 60000}`);
  assert.equal(future.json.calls.length, 0);
});

test('agents: create, update, presence, delete', async (t) => {
  const srv = await startWithFixture(t);
  const created = await srv.request('POST', '/v1/agents', { body: { id: 'a4', name: 'Agent Four', max_concurrent: 2, states: ['TX'] } });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.max_concurrent, 2);
  assert.equal(created.json.connected, false);
  const dup = await srv.request('POST', '/v1/agents', { body: { id: 'a4', name: 'Again' } });
  assert.equal(dup.status, 409);
  assert.equal(dup.json.error.code, 'already_exists');
  const upd = await srv.request('PATCH', '/v1/agents/a4', { body: { max_concurrent: 3, categories: ['aca'] } });
  assert.equal(upd.status, 200, upd.text);
  assert.equal(upd.json.max_concurrent, 3);
  assert.deepEqual(upd.json.categories, ['aca']);
  assert.equal(upd.json.name, 'Agent Four');
  const on = await srv.request('POST', '/v1/agents/a4/presence', { body: { expires_s: 30 } });
  assert.equal(on.json.connected, true);
  const off = await srv.request('DELETE', '/v1/agents/a4/presence');
  assert.equal(off.json.connected, false);
  const list = await srv.request('GET', '/v1/agents');
  assert.deepEqual(list.json.agents.map((a) => a.id).sort(), ['a1', 'a2', 'a3', 'a4']);
  // An agent holding a call cannot be deleted; once it ends, it can, and leaves its rules.
  const call = await route(srv, '+18005550104');
  const busy = await srv.request('DELETE', '/v1/agents/a3');
  assert.equal(busy.status, 409);
  assert.equal(busy.json.error.code, 'agent_busy');
  await srv.request('POST', `/v1/calls/${call.json.call_id}/ended`);
  const del = await srv.request('DELETE', '/v1/agents/a2');
  assert.equal(del.status, 200, del.text);
  assert.equal((await srv.request('GET', '/v1/agents/a2')).status, 404);
  const cfg = await srv.request('GET', '/v1/config');
  const prio = cfg.json.campaigns.find((c) => c.id === 'prio');
  assert.deepEqual(prio.rules[0].members.map((m) => m.agent), ['a1', 'a3']);
});

test('health, readiness, metrics and a clean stop', async (t) => {
  const srv = await startWithFixture(t);
  assert.equal((await srv.request('GET', '/healthz', { token: null })).json.status, 'ok');
  assert.equal((await srv.request('GET', '/readyz', { token: null })).json.status, 'ready');
  const r = await route(srv, '+18005550101');
  const m = await srv.request('GET', '/metrics', { token: null });
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type'), /^text\/plain/);
  assert.match(m.text, /^sureconnect_calls_routed_total\{action="connect"\} 1$/m);
  assert.match(m.text, /^sureconnect_active_calls 1$/m);
  assert.match(m.text, /^sureconnect_agents_available 2$/m);
  assert.match(m.text, /^sureconnect_routing_seconds_count 1$/m);
  assert.match(m.text, /^sureconnect_routing_seconds_bucket\{le="\+Inf"\} 1$/m);
  assert.ok(r.json.call_id);
});
