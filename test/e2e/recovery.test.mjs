// recovery.test.mjs -- the daemon's recovery sweep (issue 8): a call nobody reports on after
// ringing fails over once its ring timeout has passed; a connected call with no event for
// longer than --max-connected is ended; both are logged and counted in /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixture, sleep, startWithFixture, TX } from './harness.mjs';

async function waitFor(srv, id, pred, limitMs) {
  const t0 = Date.now();
  for (;;) {
    const c = (await srv.request('GET', `/v1/calls/${id}`)).json;
    if (pred(c)) return { call: c, ms: Date.now() - t0 };
    if (Date.now() - t0 > limitMs) assert.fail(`call ${id} still ${c.status} on ${c.agent}`);
    await sleep(100);
  }
}

test('stuck ringing calls fail over and silent connected calls end, logged and counted', async (t) => {
  const config = fixture();
  for (const c of config.campaigns) c.ring_timeout_s = 5;
  const srv = await startWithFixture(t, { config, args: ['--max-connected', '2'] });
  const routed = async () => (await srv.request('POST', '/v1/calls', { body: { to: '+18005550101', from: TX } })).json;

  // Connected, then silent: ended after about 2 s (the sweep runs every second).
  const talk = await routed();
  assert.equal((await srv.request('POST', `/v1/calls/${talk.call_id}/answered`)).status, 200);
  const ended = await waitFor(srv, talk.call_id, (c) => c.status === 'completed', 6000);
  assert.ok(ended.ms >= 1000, `ended after ${ended.ms} ms`);
  assert.equal((await srv.request('GET', '/v1/agents/a1')).json.active_calls, 0);

  // Ringing a1 and never reported: after 5 s (+ grace) it rings a2.
  const ring = await routed();
  assert.equal(ring.agent.id, 'a1');
  const moved = await waitFor(srv, ring.call_id, (c) => c.agent === 'a2', 12000);
  assert.ok(moved.ms >= 4000, `failed over after ${moved.ms} ms`);
  assert.deepEqual(moved.call.tried, ['a1']);
  assert.equal((await srv.request('GET', '/v1/agents/a1')).json.active_calls, 0);

  assert.match(srv.log, /event=recovery kind=max_connected call_id=\w+ agent=a1/);
  assert.match(srv.log, /event=recovery kind=ring_timeout call_id=\w+ agent=a1 outcome=connect/);
  const metrics = (await srv.request('GET', '/metrics')).text;
  assert.match(metrics, /sureconnect_recovery_corrections_total\{kind="max_connected"\} 1\n/);
  assert.match(metrics, /sureconnect_recovery_corrections_total\{kind="ring_timeout"\} 1\n/);
});
