// queue_helpers.mjs -- what the queue's end-to-end tests share: a configuration with one
// queued campaign, a daemon started on it, routing a call and waiting for a call's status.
import assert from 'node:assert/strict';
import { startServer, TX } from './harness.mjs';

const NUMBER = '+18005550199';

// One campaign "q" with its queue on, one priority rule over `members` (agents a1..a3,
// each with a limit of 1; `states` gives an agent's licensed states).
export function queueConfig({ members = ['a1'], maxSize = 3, maxWait = 300, states = {} } = {}) {
  const agent = (id) => ({ id, name: `Agent ${id}`, status: 'active', max_concurrent: 1,
    states: states[id] || [], categories: [], softphone: { type: 'client', address: id } });
  return {
    agents: ['a1', 'a2', 'a3'].map(agent),
    campaigns: [{
      id: 'q', name: 'Queued', default_category: 'medicare', ring_timeout_s: 20,
      queue: { enabled: true, max_size: maxSize, max_wait_s: maxWait, hold_music_url: null },
      friendly_message: 'We will call you back.', discord_webhook_url: null,
      tracking_numbers: [{ number: NUMBER, category: null }],
      rules: [{ id: 'r-q', name: 'Rule q', position: 1, enabled: true, states: [], categories: [],
        mode: 'priority', members: members.map((a, i) => ({ agent: a, priority: i + 1, weight: 1 })) }],
    }],
  };
}

export async function startQueue(t, opts = {}, register = ['a1']) {
  const srv = await startServer();
  t.after(async () => {
    const r = await srv.stop();
    if (r.code !== 0) throw new Error(`server exit ${JSON.stringify(r)}\n${srv.log}`);
  });
  const put = await srv.request('PUT', '/v1/config', { body: queueConfig(opts) });
  assert.equal(put.status, 200, put.text);
  for (const a of register) {
    const r = await srv.request('POST', `/v1/agents/${a}/presence`, { body: { expires_s: 3600 } });
    assert.equal(r.status, 200, r.text);
  }
  return srv;
}

export const call = (srv, from = TX) =>
  srv.request('POST', '/v1/calls', { body: { to: NUMBER, from } });

// Polls a call until its status is `status`; returns the milliseconds it took.
export async function waitStatus(srv, id, status, limitMs = 5000) {
  const t0 = Date.now();
  for (;;) {
    const r = await srv.request('GET', `/v1/calls/${id}`);
    assert.equal(r.status, 200, r.text);
    if (r.json.status === status) return Date.now() - t0;
    if (Date.now() - t0 > limitMs) assert.fail(`call ${id} still ${r.json.status}, not ${status}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}
