// queue_recovery.test.mjs -- the queue survives a crash and stays right with two daemons on
// one SQLite file (SPEC 3.7, 5): after kill -9 and a restart the waiting callers, their
// order and deadlines are intact and the waits that ran out meanwhile end at start; two
// daemons freeing agents at once never hand one waiting caller to two agents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, startServer } from './harness.mjs';
import { call, queueConfig, waitStatus } from './queue_helpers.mjs';

async function configure(srv, opts, register) {
  const put = await srv.request('PUT', '/v1/config', { body: queueConfig(opts) });
  assert.equal(put.status, 200, put.text);
  for (const a of register) {
    const r = await srv.request('POST', `/v1/agents/${a}/presence`, { body: { expires_s: 3600 } });
    assert.equal(r.status, 200, r.text);
  }
}

test('kill -9 with callers waiting: nothing lost, and waits that ran out end at start', { timeout: 90000 }, async () => {
  const first = await startServer();
  let second = null;
  try {
    await configure(first, { maxWait: 10, maxSize: 10 }, ['a1']);
    const busy = await call(first);
    assert.equal(busy.json.action, 'connect');
    // Two callers with a 10 s max wait, then three with 300 s (the campaign changed).
    const short = [];
    for (let i = 0; i < 2; i++) short.push((await call(first, `+1512555020${i}`)).json);
    await configure(first, { maxWait: 300, maxSize: 10 }, []);
    const long = [];
    for (let i = 0; i < 3; i++) long.push((await call(first, `+1512555030${i}`)).json);
    assert.deepEqual([...short, ...long].map((c) => c.action), Array(5).fill('queue'));
    const before = (await first.request('GET', '/v1/queues/q')).json.waiting;
    assert.equal(before.length, 5);

    const killed = await first.kill();
    assert.equal(killed.signal, 'SIGKILL');
    // The short waits run out while no daemon runs.
    const late = short[1].queue.deadline_ms - Date.now() + 200;
    if (late > 0) await sleep(late);

    second = await startServer({ shared: first });
    for (const c of short) {
      const ms = await waitStatus(second, c.call_id, 'callback', 3000);
      assert.ok(ms < 2000, `timeout handled ${ms} ms after start`);
    }
    const cbs = (await second.request('GET', '/v1/callbacks')).json.callbacks;
    for (const c of short)
      assert.equal(cbs.find((x) => x.call_id === c.call_id)?.reason, 'queue_timeout');
    const after = (await second.request('GET', '/v1/queues/q')).json.waiting;
    assert.deepEqual(after.map((w) => w.call_id), long.map((c) => c.call_id), 'order kept');
    assert.deepEqual(after.map((w) => w.position), [1, 2, 3]);
    for (const w of after) {
      const was = before.find((b) => b.call_id === w.call_id);
      assert.equal(w.deadline_ms, was.deadline_ms);
      assert.equal(w.queued_ms, was.queued_ms);
      assert.equal(w.caller, was.caller);
    }
    // The claim held across the crash is still counted (reconciled), and ending it hands
    // the agent to the first waiting caller.
    assert.equal((await second.request('GET', '/v1/agents/a1')).json.active_calls, 1);
    await second.request('POST', `/v1/calls/${busy.json.call_id}/ended`);
    await waitStatus(second, long[0].call_id, 'ringing');
  } finally {
    if (second) {
      const r = await second.stop();
      assert.equal(r.code, 0, second.log);
    }
    await first.stop();
  }
});

test('two daemons on one SQLite file never hand a waiting caller to two agents', { timeout: 120000 }, async () => {
  const a = await startServer();
  let b = null;
  try {
    await configure(a, { members: ['a1', 'a2', 'a3'], maxSize: 200 }, ['a1', 'a2', 'a3']);
    b = await startServer({ shared: a });
    const daemons = [a, b];
    const CALLS = 40;
    const routed = await Promise.all(Array.from({ length: CALLS }, (_, i) =>
      call(daemons[i % 2], `+1512555${String(1000 + i).padStart(4, '0')}`)));
    for (const r of routed) assert.equal(r.status, 201, r.text);
    assert.equal(routed.filter((r) => r.json.action === 'connect').length, 3);
    assert.equal(routed.filter((r) => r.json.action === 'queue').length, CALLS - 3);

    // Sample the agents' counts while both daemons end calls and hand off at once.
    let sampling = true;
    let samples = 0;
    const sampler = (async () => {
      while (sampling) {
        const agents = (await daemons[samples % 2].request('GET', '/v1/agents')).json.agents;
        for (const ag of agents) {
          assert.ok(ag.active_calls >= 0 && ag.active_calls <= ag.max_concurrent,
            `${ag.id} at ${ag.active_calls}/${ag.max_concurrent}`);
        }
        samples++;
        await sleep(5);
      }
    })();
    // Ends every ringing call through both daemons at once (one releases, one is a repeat)
    // until all calls are over; hand-offs happen in between.
    let ended = 0;
    const deadline = Date.now() + 60000;
    const endAll = async () => {
      while (ended < CALLS) {
        assert.ok(Date.now() < deadline, `only ${ended} of ${CALLS} calls ended`);
        const ringing = (await a.request('GET', '/v1/calls?status=ringing&limit=500')).json.calls;
        const results = await Promise.all(ringing.flatMap((c) =>
          daemons.map((d) => d.request('POST', `/v1/calls/${c.id}/ended`))));
        for (const r of results) assert.equal(r.status, 200, r.text);
        const released = results.filter((r) => r.json.released).length;
        assert.equal(released, ringing.length, 'each call released exactly once');
        ended += released;
        if (ringing.length === 0) await sleep(20);
      }
    };
    try {
      await endAll();
    } finally {
      sampling = false;
      await sampler;
    }
    assert.ok(samples > 5, `only ${samples} samples`);

    // Every hand-off was logged once, by one of the two daemons, and each call ended once.
    const handoffs = [...(a.log + b.log).matchAll(/event=queue_handoff call_id=([0-9a-f]+)/g)]
      .map((m) => m[1]);
    assert.equal(handoffs.length, CALLS - 3);
    assert.equal(new Set(handoffs).size, handoffs.length, 'a caller handed off twice');
    const calls = (await b.request('GET', '/v1/calls?limit=500')).json.calls;
    assert.equal(calls.length, CALLS);
    for (const c of calls) {
      assert.equal(c.status, 'completed', JSON.stringify(c));
      assert.equal(c.holds_claim, false);
    }
    for (const ag of (await a.request('GET', '/v1/agents')).json.agents)
      assert.equal(ag.active_calls, 0, ag.id);
  } finally {
    if (b) {
      const r = await b.stop();
      assert.equal(r.code, 0, b.log);
    }
    const r = await a.stop();
    assert.equal(r.code, 0, a.log);
  }
});
