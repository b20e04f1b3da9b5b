// multi_daemon.test.mjs -- two daemons on one database (a SQLite file, or PostgreSQL when
// SURECONNECT_TEST_PG is set): the round-robin cursor and the callback de-duplication stay
// right when consecutive or simultaneous calls go through different daemons (SPEC 5, issue 6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startWithFixture } from './harness.mjs';

// Runs body(a, b) with a second daemon on the first one's database, stopped (and its clean
// exit checked) before the first one is.
async function withTwoDaemons(t, opts, body) {
  const a = await startWithFixture(t, opts);
  const b = await startServer({ shared: a });
  try {
    await body(a, b);
  } finally {
    const r = await b.stop();
    assert.equal(r.code, 0, `second daemon exit ${JSON.stringify(r)}\n${b.log}`);
  }
}

test('round robin rotates strictly when consecutive calls alternate between two daemons', async (t) => {
  await withTwoDaemons(t, {}, async (a, b) => {
    const agents = [];
    for (let i = 0; i < 30; i++) {
      const [via, other] = i % 2 ? [b, a] : [a, b];
      const from = `+1512555${String(1000 + i)}`;
      const r = await via.request('POST', '/v1/calls', { body: { to: '+18005550102', from } });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.action, 'connect', `call ${i}: ${r.text}`);
      agents.push(r.json.agent.id);
      // Ended through the other daemon: the capacity comes back before the next call.
      const e = await other.request('POST', `/v1/calls/${r.json.call_id}/ended`, { body: {} });
      assert.equal(e.status, 200, e.text);
    }
    // The cursor is shared: each call goes to the next agent, whichever daemon took it.
    for (let i = 3; i < agents.length; i++) assert.equal(agents[i], agents[i - 3], `sequence ${agents.join(',')}`);
    assert.deepEqual([...new Set(agents.slice(0, 3))].sort(), ['a1', 'a2', 'a3']);
  });
});

test('one open callback per caller and campaign when failed calls hit two daemons at once', async (t) => {
  // Nobody registered: every call to "solo" ends in a callback (no_agents).
  await withTwoDaemons(t, { agents: [] }, async (a, b) => {
    const caller = '+15125550999';
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      (i % 2 ? b : a).request('POST', '/v1/calls', { body: { to: '+18005550104', from: caller } })));
    for (const r of replies) {
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.action, 'callback', r.text);
    }
    const list = await b.request('GET', '/v1/callbacks?campaign=solo');
    assert.equal(list.status, 200, list.text);
    const mine = list.json.callbacks.filter((c) => c.caller === caller);
    assert.equal(mine.length, 1, `callbacks: ${JSON.stringify(mine)}`);
    assert.equal(mine[0].status, 'open');
    assert.equal(mine[0].attempts, 20, 'every failed call counted once on the one callback');
  });
});
