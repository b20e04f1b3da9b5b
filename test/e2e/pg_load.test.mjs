// pg_load.test.mjs -- PostgreSQL only (SURECONNECT_TEST_PG): two daemons on one database under
// concurrent load (issue 6). Many clients spread calls over both daemons; agents register,
// unregister and pause; callers queue, are handed off or hang up; calls are answered and
// ended. A sampler reads the database all along: no agent is ever above its limit, and every
// agent's count equals the claims its calls hold (a caller handed off twice would break it).
// At the end every call is in exactly one final state and all counts are zero. The second
// test kills one daemon with SIGKILL mid-load: the other keeps routing, and after a restart
// the counts are consistent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PG, startServer, sleep, TX } from './harness.mjs';

const skip = PG ? false : 'PostgreSQL only: several daemons share one PostgreSQL database';
const run = promisify(execFile);
const NUMBER = '+18005550177';
const AGENTS = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
const FINAL = ['completed', 'callback', 'abandoned', 'failed'];

function loadConfig() {
  return {
    agents: AGENTS.map((id) => ({ id, name: `Agent ${id}`, status: 'active', max_concurrent: 2,
      states: [], categories: [], softphone: { type: 'client', address: id } })),
    campaigns: [{
      id: 'load', name: 'Load', default_category: 'medicare', ring_timeout_s: 20,
      queue: { enabled: true, max_size: 40, max_wait_s: 60, hold_music_url: null },
      friendly_message: 'We will call you back.', discord_webhook_url: null,
      tracking_numbers: [{ number: NUMBER, category: null }],
      rules: [{ id: 'r-load', name: 'Rule load', position: 1, enabled: true, states: [], categories: [],
        mode: 'round_robin', members: AGENTS.map((agent, i) => ({ agent, priority: i + 1, weight: 1 })) }],
    }],
  };
}

async function sql(db, query) {
  const { stdout } = await run('psql', [db, '-qAt', '-v', 'ON_ERROR_STOP=1', '-c', query]);
  return stdout.trim();
}

// Samples the invariants until stopped; resolves to {samples, violations}.
function sampler(db) {
  let stop = false;
  const done = (async () => {
    let samples = 0;
    const violations = [];
    while (!stop) {
      const bad = await sql(db, "SELECT string_agg(id || ':' || active_calls || '/' || max_concurrent || '/' || held, ',')"
        + ' FROM (SELECT a.id, a.active_calls, a.max_concurrent, (SELECT count(*) FROM calls c'
        + '  WHERE c.agent = a.id AND c.holds_claim = 1) AS held FROM agents a) s'
        + ' WHERE active_calls < 0 OR active_calls > max_concurrent OR active_calls <> held');
      if (bad) violations.push(bad);
      samples++;
      await sleep(50);
    }
    return { samples, violations };
  })();
  return { stop: () => { stop = true; return done; } };
}

// One client: routes `n` calls one after another on a random live daemon and ends each.
async function client(pick, n, stats) {
  for (let i = 0; i < n; i++) {
    const from = `+1512555${String(1000 + Math.floor(Math.random() * 9000))}`;
    let r;
    try {
      r = await pick().request('POST', '/v1/calls', { body: { to: NUMBER, from } });
    } catch { stats.refused++; continue; } // a daemon being killed
    if (r.status !== 200 && r.status !== 201) { stats.errors.push(`route ${r.status} ${r.text}`); continue; }
    const id = r.json.call_id;
    stats.routed++;
    let status = r.json.status;
    if (status === 'queued') {
      stats.queued++;
      if (Math.random() < 0.2) { // the caller hangs up while waiting
        await endCall(pick, id, stats);
        continue;
      }
      const t0 = Date.now();
      while (status === 'queued' && Date.now() - t0 < 20000) {
        await sleep(20);
        try { status = (await pick().request('GET', `/v1/calls/${id}`)).json.status; } catch { /* retry */ }
      }
    }
    if (status === 'ringing') {
      if (Math.random() < 0.5) {
        try { await pick().request('POST', `/v1/calls/${id}/answered`); } catch { /* ended below */ }
      }
      await sleep(Math.random() * 20);
    }
    if (!FINAL.includes(status)) await endCall(pick, id, stats);
  }
}

async function endCall(pick, id, stats) {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const r = await pick().request('POST', `/v1/calls/${id}/ended`);
      if (r.status === 200) { stats.ended++; return; }
      stats.errors.push(`end ${r.status} ${r.text}`);
      return;
    } catch { await sleep(50); }
  }
  stats.unended.push(id);
}

// Registers, unregisters and pauses agents now and then, on either daemon.
function churn(pick, stats) {
  let stop = false;
  const done = (async () => {
    while (!stop) {
      const a = AGENTS[Math.floor(Math.random() * AGENTS.length)];
      const which = Math.random();
      try {
        let r;
        if (which < 0.4) r = await pick().request('DELETE', `/v1/agents/${a}/presence`);
        else if (which < 0.8) r = await pick().request('POST', `/v1/agents/${a}/presence`, { body: { expires_s: 3600 } });
        else r = await pick().request('PATCH', `/v1/agents/${a}`, { body: { status: Math.random() < 0.5 ? 'paused' : 'active' } });
        if (r.status !== 200) stats.errors.push(`churn ${r.status} ${r.text}`);
      } catch { /* a daemon being killed */ }
      await sleep(30);
    }
    // Everyone back, so that waiting callers drain.
    for (const a of AGENTS) {
      await pick().request('PATCH', `/v1/agents/${a}`, { body: { status: 'active' } });
      await pick().request('POST', `/v1/agents/${a}/presence`, { body: { expires_s: 3600 } });
    }
  })();
  return { stop: () => { stop = true; return done; } };
}

async function setup(t) {
  const a = await startServer({ threads: 4 });
  const b = await startServer({ shared: a, threads: 4 });
  t.after(async () => { await b.stop(); await a.stop(); });
  const put = await a.request('PUT', '/v1/config', { body: loadConfig() });
  assert.equal(put.status, 200, put.text);
  for (const id of AGENTS) {
    const r = await b.request('POST', `/v1/agents/${id}/presence`, { body: { expires_s: 3600 } });
    assert.equal(r.status, 200, r.text);
  }
  return { a, b };
}

// Ends what is still open (calls whose client lost the answer), then checks the end state.
async function checkEnd(srv, stats) {
  for (const id of (await sql(srv.db, 'SELECT id FROM calls WHERE ended_ms = 0')).split('\n').filter(Boolean)) {
    const r = await srv.request('POST', `/v1/calls/${id}/ended`);
    assert.equal(r.status, 200, r.text);
  }
  assert.equal(await sql(srv.db, `SELECT count(*) FROM calls WHERE status NOT IN (${FINAL.map((s) => `'${s}'`).join(',')})`), '0');
  assert.equal(await sql(srv.db, 'SELECT count(*) FROM calls WHERE holds_claim = 1'), '0');
  assert.equal(await sql(srv.db, 'SELECT coalesce(sum(active_calls), 0) FROM agents'), '0');
  assert.deepEqual(stats.errors.slice(0, 5), []);
}

test('two daemons on one database: limits hold, no caller is handed off twice, counts return to zero', { skip, timeout: 180000 }, async (t) => {
  const { a, b } = await setup(t);
  const daemons = [a, b];
  const pick = () => daemons[Math.floor(Math.random() * daemons.length)];
  const stats = { routed: 0, queued: 0, ended: 0, refused: 0, errors: [], unended: [] };
  const s = sampler(a.db);
  const c = churn(pick, stats);
  await Promise.all(Array.from({ length: 16 }, () => client(pick, 50, stats)));
  await c.stop();
  const sample = await s.stop();
  t.diagnostic(`${stats.routed} calls (${stats.queued} queued), ${sample.samples} samples`);
  assert.deepEqual(sample.violations, []);
  assert.ok(sample.samples >= 20, `only ${sample.samples} samples`);
  assert.ok(stats.routed >= 700, `only ${stats.routed} calls routed`);
  assert.ok(stats.queued > 0, 'no caller ever queued: the test did not contend');
  await checkEnd(a, stats);
  assert.ok(Number(await sql(a.db, "SELECT count(*) FROM call_traces WHERE trace_json LIKE '%dequeued%'")) > 0, 'no hand-off');
});

test('kill -9 of one daemon mid-load: the other keeps routing; after a restart the counts agree', { skip, timeout: 180000 }, async (t) => {
  const { a, b } = await setup(t);
  const daemons = [a, b];
  const pick = () => daemons[Math.floor(Math.random() * daemons.length)];
  const stats = { routed: 0, queued: 0, ended: 0, refused: 0, errors: [], unended: [] };
  const s = sampler(a.db);
  const load = Promise.all(Array.from({ length: 12 }, () => client(pick, 40, stats)));
  await sleep(1500);
  await b.kill();
  daemons.splice(daemons.indexOf(b), 1);
  const before = stats.routed;
  await load;
  assert.ok(stats.routed > before + 50, `routing stopped after the kill (${before} -> ${stats.routed})`);
  const b2 = await startServer({ shared: a });
  t.after(async () => { await b2.stop(); });
  assert.match(b2.log, /event=listening/);
  const sample = await s.stop();
  assert.deepEqual(sample.violations, []);
  await checkEnd(b2, stats);
  await b2.stop(); // before the first daemon's stop drops the database
});
