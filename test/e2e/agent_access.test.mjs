// agent_access.test.mjs -- what an agent console may do with the agent's own token: answer,
// decline and end the calls offered to that agent (not another's), list its own calls, and
// see and complete the open callbacks of the campaigns it takes calls for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWithFixture, TX } from './harness.mjs';

const route = (srv, to) => srv.request('POST', '/v1/calls', { body: { to, from: TX } });

test('an agent token answers, declines and ends only the calls offered to its agent', async (t) => {
  const srv = await startWithFixture(t);
  const a1 = srv.token('a1');
  const a2 = srv.token('a2');
  const c = await route(srv, '+18005550101');
  assert.equal(c.json.agent.id, 'a1');
  const id = c.json.call_id;
  for (const step of ['answered', 'no-answer', 'ended']) {
    const r = await srv.request('POST', `/v1/calls/${id}/${step}`, { token: a2 });
    assert.equal(r.status, 403, `${step}: ${r.text}`);
    assert.equal(r.json.error.code, 'forbidden');
  }
  const unknown = await srv.request('POST', '/v1/calls/ffffffffffffffff/answered', { token: a1 });
  assert.equal(unknown.status, 404);
  const ans = await srv.request('POST', `/v1/calls/${id}/answered`, { token: a1 });
  assert.equal(ans.status, 200, ans.text);
  assert.equal(ans.json.status, 'connected');
  const end = await srv.request('POST', `/v1/calls/${id}/ended`, { token: a1 });
  assert.equal(end.status, 200, end.text);
  assert.equal(end.json.status, 'completed');

  // A decline moves the call to a2: from then on it is a2's, not a1's.
  const d = await route(srv, '+18005550101');
  assert.equal(d.json.agent.id, 'a1');
  const fo = await srv.request('POST', `/v1/calls/${d.json.call_id}/no-answer`, { token: a1 });
  assert.equal(fo.status, 200, fo.text);
  assert.equal(fo.json.agent.id, 'a2');
  assert.equal((await srv.request('POST', `/v1/calls/${d.json.call_id}/answered`, { token: a1 })).status, 403);
  assert.equal((await srv.request('POST', `/v1/calls/${d.json.call_id}/answered`, { token: a2 })).status, 200);

  // Its own calls only.
  const mine = await srv.request('GET', '/v1/calls?agent=a1', { token: a1 });
  assert.equal(mine.status, 200, mine.text);
  assert.ok(mine.json.calls.length >= 1);
  assert.ok(mine.json.calls.every((x) => x.agent === 'a1'));
  const theirs = await srv.request('GET', '/v1/calls?agent=a2', { token: a1 });
  assert.equal(theirs.status, 403);
  assert.equal(theirs.json.error.field, 'agent');
});

test('an agent token sees and completes the callbacks of its own campaigns', async (t) => {
  const srv = await startWithFixture(t, { agents: ['a1', 'a2'] }); // a3 (solo) not connected
  const cb = await route(srv, '+18005550104');
  assert.equal(cb.json.action, 'callback');
  const a1 = srv.token('a1');
  const a3 = srv.token('a3');
  const none = await srv.request('GET', '/v1/callbacks', { token: a1 });
  assert.equal(none.status, 200, none.text);
  assert.equal(none.json.callbacks.length, 0); // a1 is not in campaign solo
  const some = await srv.request('GET', '/v1/callbacks', { token: a3 });
  assert.equal(some.json.callbacks.length, 1);
  const id = some.json.callbacks[0].id;
  assert.equal(id, cb.json.callback_id);
  const asOther = await srv.request('POST', `/v1/callbacks/${id}/complete`, { token: a3, body: { agent: 'a1' } });
  assert.equal(asOther.status, 403);
  assert.equal(asOther.json.error.field, 'agent');
  const done = await srv.request('POST', `/v1/callbacks/${id}/complete`, { token: a3, body: { agent: 'a3', note: 'called back' } });
  assert.equal(done.status, 200, done.text);
  assert.equal(done.json.completed_by, 'a3');
  // Admin views are unchanged.
  assert.equal((await srv.request('GET', '/v1/callbacks?status=all')).json.callbacks.length, 1);
});
