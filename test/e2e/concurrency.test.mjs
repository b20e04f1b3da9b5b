// concurrency.test.mjs -- 32 clients route and end calls through HTTP for a few seconds
// against agents with small limits: sampled counts never exceed the limits, and every
// count is back to zero at the end. Also: presence expiry makes an agent unavailable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWithFixture, TX } from './harness.mjs';

const CLIENTS = 32;
const RUN_MS = 3000;
// The clients run at least RUN_MS and until MIN_CONNECTS calls connected (at most 60 s):
// how many fit in 3 s depends on the machine (an ASan build on a busy shared machine managed
// 18), and this test is about limits, not speed.
const MIN_CONNECTS = 60;
const CAP_MS = 60000;

test('32 concurrent clients never push an agent over its limit', async (t) => {
  const srv = await startWithFixture(t);
  // Limits of 2, 1 and 2 on the round-robin campaign's three agents.
  for (const [id, max] of [['a1', 2], ['a2', 1], ['a3', 2]]) {
    const r = await srv.request('PATCH', `/v1/agents/${id}`, { body: { max_concurrent: max } });
    assert.equal(r.status, 200, r.text);
  }
  const limits = { a1: 2, a2: 1, a3: 2 };
  const start = Date.now();
  let connects = 0, callbacks = 0, errors = 0, samples = 0, over = [];
  const running = () => Date.now() - start < CAP_MS && (Date.now() - start < RUN_MS || connects < MIN_CONNECTS);
  const client = async () => {
    while (running()) {
      const r = await srv.request('POST', '/v1/calls', { body: { to: '+18005550102', from: TX } });
      if (r.status !== 201) { errors++; continue; }
      if (r.json.action === 'connect') {
        connects++;
        const e = await srv.request('POST', `/v1/calls/${r.json.call_id}/ended`);
        if (e.status !== 200 || e.json.released !== true) errors++;
      } else {
        callbacks++;
      }
    }
  };
  const sampler = async () => {
    while (running()) {
      const r = await srv.request('GET', '/v1/agents');
      for (const a of r.json.agents) {
        samples++;
        if (a.active_calls > limits[a.id] || a.active_calls < 0) over.push(`${a.id}=${a.active_calls}`);
      }
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  await Promise.all([...Array.from({ length: CLIENTS }, client), sampler()]);
  assert.equal(errors, 0);
  assert.deepEqual(over, []);
  assert.ok(samples > 10, `samples ${samples}`);
  assert.ok(connects >= MIN_CONNECTS, `connects ${connects} in ${CAP_MS} ms`);
  const end = await srv.request('GET', '/v1/agents');
  for (const a of end.json.agents) assert.equal(a.active_calls, 0, a.id);
  const m = await srv.request('GET', '/metrics', { token: null });
  assert.match(m.text, /^sureconnect_active_calls 0$/m);
  const routed = [...m.text.matchAll(/^sureconnect_calls_routed_total\{action="(\w+)"\} (\d+)$/gm)];
  const byAction = Object.fromEntries(routed.map(([, k, v]) => [k, Number(v)]));
  assert.equal(byAction.connect, connects);
  assert.equal(byAction.callback, callbacks);
});

test('an expired registration makes the agent unavailable at once', async (t) => {
  const srv = await startWithFixture(t);
  await srv.request('DELETE', '/v1/agents/a2/presence');
  await srv.request('DELETE', '/v1/agents/a3/presence');
  const r = await srv.request('POST', '/v1/agents/a1/presence', { body: { expires_s: 1 } });
  assert.equal(r.json.connected, true);
  await new Promise((res) => setTimeout(res, 1100));
  const a1 = await srv.request('GET', '/v1/agents/a1');
  assert.equal(a1.json.connected, false);
  const call = await srv.request('POST', '/v1/calls', { body: { to: '+18005550101', from: TX } });
  assert.equal(call.json.action, 'callback');
  assert.deepEqual(call.json.trace.rules[0].members.map((m) => m.verdict), ['not_connected', 'not_connected', 'not_connected']);
});
