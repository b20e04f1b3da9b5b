// workload.mjs -- the load of the load and crash tests (issue 8): many concurrent callers
// over HTTP keep-alive (node's fetch) routing calls and answering, declining, abandoning and
// ending them, agents whose presence is refreshed, lapses or is cleared and who pause,
// resume and change their limits, a campaign with its queue on and one without, a sampler
// that checks the invariants on read-only snapshots of the database throughout, and
// a dashboards' event stream (/v1/events) as a witness of what the daemon published, and
// optionally a killer that SIGKILLs the daemon at random moments and restarts it on the
// same database. Returns what the test asserts on. See docs/TESTING.md.
import { openStream, startServer, sleep } from '../e2e/harness.mjs';
import {
  CallRecord, FINAL, LimitLog, checkNothingLost, checkSnapshot, dbFull, dbSnapshot, sqliteOne,
} from './invariants.mjs';

const Q_NUMBER = '+18005550301';
const NQ_NUMBER = '+18005550302';
const Q_AGENTS = ['a1', 'a2', 'a3', 'a4'];
const NQ_AGENTS = ['a4', 'a5'];
const AGENTS = ['a1', 'a2', 'a3', 'a4', 'a5'];
const INITIAL_LIMITS = { a1: 2, a2: 1, a3: 3, a4: 2, a5: 1 };

// Two campaigns: "q" with its queue on (a small queue and the shortest wait allowed, so
// that queue_full and queue_timeout happen), round-robin over a1-a4; "nq" without a queue
// (no agent: a callback), priority over a4, a5. Ring timeouts of 5 s: a ringing call nobody
// reports on fails over through the recovery sweep.
export function loadConfig() {
  const agent = (id) => ({ id, name: `Agent ${id}`, status: 'active', max_concurrent: INITIAL_LIMITS[id],
    states: [], categories: [], softphone: { type: 'client', address: id } });
  const campaign = (id, number, queue, mode, members) => ({
    id, name: `Campaign ${id}`, default_category: 'medicare', ring_timeout_s: 5,
    queue: { enabled: queue, max_size: 10, max_wait_s: 10, hold_music_url: null },
    friendly_message: 'We will call you back.', discord_webhook_url: null,
    tracking_numbers: [{ number, category: null }],
    rules: [{ id: `r-${id}`, name: `Rule ${id}`, position: 1, enabled: true, states: [], categories: [], mode,
      members: members.map((a, i) => ({ agent: a, priority: i + 1, weight: 1 })) }],
  });
  return {
    agents: AGENTS.map(agent),
    campaigns: [campaign('q', Q_NUMBER, true, 'round_robin', Q_AGENTS), campaign('nq', NQ_NUMBER, false, 'priority', NQ_AGENTS)],
  };
}

const rnd = (a, b) => a + Math.random() * (b - a);
const chance = (p) => Math.random() < p;

// A connection error (refused while the daemon is down, reset when it is killed), as
// opposed to an HTTP answer.
class Down extends Error {}

// Runs the load for `seconds`. Options: clients (concurrent callers), kills (SIGKILLs at
// random moments, 0 for none), blackout (pause every agent of "q" for 11.5 s at 30 % of the
// run and every 60 s after, so that queued callers time out), log (progress lines). Resolves to
// { records, violations, stats, full (dbFull at the end), logs, sent }.
export async function runLoad({ seconds = 30, clients = 24, kills = 0, blackout = true, log = () => {} } = {}) {
  const first = await startServer({ threads: 4 });
  const db = first.db;
  const logs = [];
  let cur = first; // the daemon serving now
  let up = true;
  let upWaiters = [];
  const waitUp = () => (up ? Promise.resolve() : new Promise((res) => upWaiters.push(res)));
  const violations = [];
  const violate = (list) => { for (const v of list) if (violations.length < 200) violations.push(v); };
  const stats = { routes: 0, connects: 0, answered: 0, noAnswers: 0, ends: 0, abandons: 0, handoffs: 0,
    callbacks: {}, limitChanges: 0, pauses: 0, presenceLapses: 0, unregisters: 0, samples: 0, apiSamples: 0,
    downErrors: 0, kills: 0, restarts: [], ignoredRings: 0, overloaded: 0, dupExternal: 0,
    announcedCallbacks: 0, streamLag: 0 };

  // One request to the daemon serving now. Resolves to {status, json}; throws Down when the
  // daemon could not be reached or went away before answering (the request may or may not
  // have been carried out).
  const request = async (method, path, body, { timeout = 30000 } = {}) => {
    await waitUp();
    const srv = cur;
    const h = { authorization: `Bearer ${srv.key}` };
    if (body !== undefined) h['content-type'] = 'application/json';
    let res, text;
    try {
      res = await fetch(srv.url + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeout) });
      text = await res.text();
    } catch (e) {
      if (kills > 0) { stats.downErrors++; throw new Down(`${method} ${path}: ${e.message}`); }
      throw e;
    }
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, json, text };
  };
  // The same, retried after connection errors (for reads and repeatable operations).
  const retrying = async (method, path, body) => {
    for (let i = 0; ; i++) {
      try {
        const r = await request(method, path, body);
        if (r.status === 503) { stats.overloaded++; await sleep(50); continue; }
        return r;
      } catch (e) {
        if (!(e instanceof Down) || i > 200) throw e;
        await sleep(50);
      }
    }
  };

  // The dashboards' stream of each daemon run: events are published after their change is
  // committed, so every callback announced (callback.created) must be in the database, also
  // after a kill. Returns the callbacks announced on `st` so far.
  const streams = [];
  const openEvents = async (srv) => {
    const st = await openStream(srv, '/v1/events');
    streams.push(st);
    return st;
  };
  const announced = (st) => st.events.filter((e) => e.event === 'callback.created')
    .map((e) => ({ id: e.data.callback_id, callId: e.data.call_id, reason: e.data.reason }));
  const checkAnnounced = (list, full, where) => {
    for (const a of list) {
      const b = full.callbacks.get(a.id);
      if (!b || b.callId !== a.callId || b.reason !== a.reason)
        violations.push(`${where}callback ${a.id} (call ${a.callId}, ${a.reason}) announced but stored as ${JSON.stringify(b)}`);
    }
  };
  let events = await openEvents(first);

  const put = await request('PUT', '/v1/config', loadConfig());
  if (put.status !== 200) throw new Error(`PUT /v1/config ${put.status} ${put.text}`);
  for (const a of AGENTS) {
    const r = await request('POST', `/v1/agents/${a}/presence`, { expires_s: 3600 });
    if (r.status !== 200) throw new Error(`presence ${a} ${r.status}`);
  }
  const limits = new LimitLog(INITIAL_LIMITS);
  const records = [];
  const sent = new Set();
  const t0 = Date.now();
  const deadline = t0 + seconds * 1000;
  let running = true;
  let seq = 0;

  // ---- a caller ------------------------------------------------------------------------
  const expect = (r, ok, what) => {
    if (!ok.includes(r.status)) violations.push(`${what}: unexpected ${r.status} ${r.text.slice(0, 200)}`);
    return ok.includes(r.status);
  };
  const noteDecision = (rec, d) => {
    rec.see(d.status, d.agent?.id);
    if (d.status === 'ringing') stats.connects++;
    if (d.callback_id) {
      rec.callbacks.push({ id: d.callback_id, reason: d.callback_reason || null });
      stats.callbacks[d.callback_reason] = (stats.callbacks[d.callback_reason] || 0) + 1;
    }
  };
  // Reads the call as it is now (after a connection error or a 409).
  const refresh = async (rec) => {
    const r = await retrying('GET', `/v1/calls/${rec.id}`);
    if (!expect(r, [200], `GET call ${rec.id}`)) return null;
    rec.see(r.json.status, r.json.agent);
    return r.json;
  };
  // POST /v1/calls, repeated with the same external id after a connection error: a 409
  // duplicate_external_id means the first attempt was recorded, and the call is found in
  // the database by its external id.
  const route = async (rec, body) => {
    for (;;) {
      try {
        const r = await request('POST', '/v1/calls', body);
        if (r.status === 503) { stats.overloaded++; await sleep(50); continue; }
        if (r.status === 409 && r.json?.error?.code === 'duplicate_external_id') {
          stats.dupExternal++;
          const id = await sqliteOne(db, `SELECT id FROM calls WHERE external_id = '${rec.ext}'`);
          if (!id) { violations.push(`409 for ${rec.ext} but no such call`); return null; }
          rec.id = id;
          return refresh(rec);
        }
        if (!expect(r, [201], `route ${rec.ext}`)) return null;
        rec.id = r.json.call_id;
        stats.routes++;
        noteDecision(rec, r.json);
        return { status: r.json.status, agent: r.json.agent?.id || null };
      } catch (e) {
        if (!(e instanceof Down)) throw e;
        await sleep(50);
      }
    }
  };
  // One operation on the call; a connection error or a 409 means "look again".
  const op = async (rec, what) => {
    try {
      const r = await request('POST', `/v1/calls/${rec.id}/${what}`);
      if (r.status === 503) { stats.overloaded++; return refresh(rec); }
      if (r.status === 409) return refresh(rec);
      if (!expect(r, [200], `${what} ${rec.id}`)) return null;
      if (what === 'answered') { if (r.json.changed) { rec.connectedAcks++; stats.answered++; } rec.see(r.json.status, r.json.agent); return { status: r.json.status, agent: r.json.agent }; }
      if (what === 'no-answer') { stats.noAnswers++; noteDecision(rec, r.json); return { status: r.json.status, agent: r.json.agent?.id || null }; }
      rec.see(r.json.status, r.json.agent);
      if (r.json.status === 'abandoned') stats.abandons++;
      else stats.ends++;
      return { status: r.json.status, agent: r.json.agent };
    } catch (e) {
      if (!(e instanceof Down)) throw e;
      return refresh(rec);
    }
  };
  // Long poll while the call stays as it is (status and agent), up to `ms`.
  const watch = async (rec, state, ms) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const wait = Math.max(1, Math.min(5, Math.ceil((until - Date.now()) / 1000)));
      let r;
      try {
        r = await request('GET', `/v1/calls/${rec.id}?wait=${wait}&status=${state.status}`, undefined, { timeout: 70000 });
      } catch (e) {
        if (!(e instanceof Down)) throw e;
        return refresh(rec);
      }
      if (!expect(r, [200], `watch ${rec.id}`)) return null;
      if (r.json.status !== state.status || r.json.agent !== state.agent) {
        rec.see(r.json.status, r.json.agent);
        if (state.status === 'queued' && r.json.status === 'ringing') { stats.handoffs++; stats.connects++; }
        return { status: r.json.status, agent: r.json.agent };
      }
    }
    return state;
  };

  const caller = async (n) => {
    while (running && Date.now() < deadline) {
      const k = seq++;
      const toQ = chance(0.8);
      const rec = new CallRecord(`load-${k}`, toQ ? 'q' : 'nq');
      records.push(rec);
      sent.add(rec.ext);
      // A unique caller per call (callbacks are one per open caller and campaign).
      const from = `+1512${String(2000000 + k).padStart(7, '0')}`;
      let state = await route(rec, { to: toQ ? Q_NUMBER : NQ_NUMBER, from, external_id: rec.ext });
      const patience = chance(0.5) ? rnd(500, 6000) : Infinity;
      const queuedAt = Date.now();
      let steps = 0;
      while (state && !FINAL.has(state.status) && steps++ < 200) {
        if (state.status === 'ringing') {
          if (chance(Number(process.env.LOAD_IGNORE_RINGS || 0.02))) { stats.ignoredRings++; state = await watch(rec, state, 12000); continue; }
          await sleep(rnd(0, 300));
          const p = Math.random();
          state = await op(rec, p < 0.65 ? 'answered' : p < 0.92 ? 'no-answer' : 'ended');
        } else if (state.status === 'connected') {
          await sleep(rnd(50, 1500));
          state = await op(rec, 'ended');
        } else if (state.status === 'queued') {
          const left = queuedAt + patience - Date.now();
          if (left <= 0) { state = await op(rec, 'ended'); continue; }
          state = await watch(rec, state, Math.min(left, 30000));
        } else {
          state = await refresh(rec);
          await sleep(50);
        }
      }
      rec.done = true;
      await sleep(rnd(100, 800));
    }
  };

  // ---- the agents -------------------------------------------------------------------------
  let paused = false; // the blackout
  const agentActor = async (id) => {
    while (running && Date.now() < deadline) {
      await sleep(rnd(300, 1500));
      const p = Math.random();
      try {
        if (p < 0.35) {
          // Refresh presence; a short one may lapse before the next refresh.
          const expires = chance(0.2) ? 1 : 30;
          if (expires === 1) stats.presenceLapses++;
          await request('POST', `/v1/agents/${id}/presence`, { expires_s: expires });
        } else if (p < 0.6) {
          const value = 1 + Math.floor(Math.random() * 3);
          const e = limits.begin(id, value);
          const r = await request('PATCH', `/v1/agents/${id}`, { max_concurrent: value });
          if (r.status === 200) { e.ack = Date.now(); stats.limitChanges++; }
          else violations.push(`PATCH ${id} max_concurrent: ${r.status} ${r.text.slice(0, 200)}`);
        } else if (p < 0.75 && !paused) {
          stats.pauses++;
          await request('PATCH', `/v1/agents/${id}`, { status: 'paused' });
          await sleep(rnd(200, 1500));
          if (!paused) await request('PATCH', `/v1/agents/${id}`, { status: 'active' });
        } else if (p < 0.82) {
          stats.unregisters++;
          await request('DELETE', `/v1/agents/${id}/presence`);
          await sleep(rnd(100, 1000));
          await request('POST', `/v1/agents/${id}/presence`, { expires_s: 30 });
        } else {
          await request('POST', `/v1/agents/${id}/presence`, { expires_s: 30 });
        }
      } catch (e) {
        if (!(e instanceof Down)) throw e;
      }
    }
  };
  // At 30 % of the run, then every 60 s while the run lasts.
  const blackoutActor = async () => {
    if (!blackout) return;
    for (let at = t0 + seconds * 300; at + 11500 < deadline; at += 60000) {
      await sleep(Math.max(0, at - Date.now()));
      paused = true;
      log('blackout: every agent of q paused for 11.5 s');
      for (const a of Q_AGENTS) await retrying('PATCH', `/v1/agents/${a}`, { status: 'paused' });
      await sleep(11500);
      for (const a of Q_AGENTS) await retrying('PATCH', `/v1/agents/${a}`, { status: 'active' });
      paused = false;
    }
  };

  // ---- the sampler ----------------------------------------------------------------------
  let sampling = true;
  let sampleLock = Promise.resolve();
  const sampleOnce = async (where) => {
    const snap = await dbSnapshot(db);
    stats.samples++;
    violate(checkSnapshot(snap, limits, { where }));
    return snap;
  };
  const sampler = async () => {
    while (sampling) {
      await (sampleLock = sampleOnce('sample: '));
      if (up && stats.samples % 5 === 0) {
        // The API's view too: no count below zero or above the limit bound.
        try {
          const t = Date.now();
          const r = await request('GET', '/v1/agents', undefined, { timeout: 10000 });
          if (r.status === 200) {
            stats.apiSamples++;
            violate(checkSnapshot({ t0: t, t1: Date.now(), agents: r.json.agents.map((a) => ({ id: a.id, active: a.active_calls,
              max: a.max_concurrent, lastAssigned: a.last_assigned_ms })) }, limits, { exact: false, where: 'api: ' }));
          }
        } catch (e) { if (!(e instanceof Down)) throw e; }
      }
      await sleep(100);
    }
  };

  // ---- the killer -----------------------------------------------------------------------
  const killer = async () => {
    const slot = (seconds * 1000) / (kills + 1);
    for (let k = 0; k < kills; k++) {
      await sleep(rnd(slot * 0.5, slot * 1.4));
      if (!running) break;
      await sampleLock.catch(() => {});
      const before = await dbFull(db);
      up = false;
      const killed = await cur.kill();
      await events.done;
      const seen = announced(events);
      stats.kills++;
      if (killed.signal !== 'SIGKILL') violations.push(`kill ${k}: exit ${JSON.stringify(killed)}`);
      logs.push(cur.log);
      const down = rnd(100, 1500);
      await sleep(down);
      const t = Date.now();
      // The state right after the crash, before the daemon starts again.
      const crashed = await dbFull(db);
      violate(checkNothingLost(before, crashed, `kill ${k + 1}: `));
      checkAnnounced(seen, crashed, `kill ${k + 1}: `);
      cur = await startServer({ shared: first, threads: 4 });
      stats.restarts.push(Date.now() - t);
      // Before any request: counts agree with the claims (reconciled at start).
      const snap = await dbSnapshot(db);
      violate(checkSnapshot(snap, limits, { where: `after restart ${k + 1}: ` }));
      log(`kill ${k + 1}: ${before.calls.size} calls, ${before.callbacks.size} callbacks before, ${seen.length} announced; down ${Math.round(down)} ms; restarted`);
      events = await openEvents(cur);
      up = true;
      for (const w of upWaiters.splice(0)) w();
    }
  };

  const samplerDone = sampler();
  await Promise.all([
    ...Array.from({ length: clients }, (_, i) => caller(i)),
    ...AGENTS.map(agentActor),
    blackoutActor(),
    kills > 0 ? killer() : null,
  ]);
  running = false;
  log(`load over after ${Math.round((Date.now() - t0) / 1000)} s: ${records.length} calls`);

  // ---- the end: every agent back, the queue drained, every call ended ------------------
  for (const a of AGENTS) {
    await retrying('PATCH', `/v1/agents/${a}`, { status: 'active' });
    await retrying('POST', `/v1/agents/${a}/presence`, { expires_s: 3600 });
  }
  // Calls still live (a crash test's calls nobody adopted cannot exist: every route is
  // repeated until acknowledged) are ended; queued ones are left to the dispatcher.
  const endBy = Date.now() + 120000;
  for (;;) {
    const full = await dbFull(db);
    const live = [...full.calls.values()].filter((c) => !FINAL.has(c.status));
    if (live.length === 0) break;
    if (Date.now() > endBy) { violations.push(`calls still live at the end: ${live.map((c) => `${c.id}:${c.status}`).join(' ')}`); break; }
    for (const c of live) {
      if (c.status === 'queued') continue;
      const rec = records.find((r) => r.id === c.id);
      const r = await retrying('POST', `/v1/calls/${c.id}/ended`);
      if (rec) rec.see(r.json.status, r.json.agent);
    }
    await sleep(200);
  }
  sampling = false;
  await samplerDone;
  const full = await dbFull(db);
  const metrics = (await retrying('GET', '/metrics')).text;
  for (const st of streams) {
    if (st.events.some((e) => e.event === 'lag')) stats.streamLag++;
    checkAnnounced(announced(st), full, 'end: ');
    stats.announcedCallbacks += announced(st).length;
    st.close();
  }
  logs.push(cur.log);
  const r = await cur.stop();
  if (r.code !== 0) violations.push(`daemon exit ${JSON.stringify(r)}`);
  if (cur !== first) await first.stop();
  return { records, violations, stats, full, logs, sent, metrics, limits };
}
