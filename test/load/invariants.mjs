// invariants.mjs -- the invariants of the load and crash tests (issue 8), in one place.
//
// Inputs are plain data: read-only snapshots of the daemon's SQLite file (dbSnapshot,
// dbFull), the history of every limit change the test sent (LimitLog) and what the clients
// saw of each call (the ledger: one CallRecord per call). Every check returns a list of
// violations (strings); an empty list means the invariant held. docs/TESTING.md describes
// each invariant.
import { execFile } from 'node:child_process';

export const FINAL = new Set(['completed', 'callback', 'abandoned', 'failed']);
export const LIVE = new Set(['ringing', 'connected']);

// ---- reading the database (read-only, never through the daemon) -------------------------

// Runs one SQL statement with the sqlite3 shell on a read-only connection; resolves to the
// text of its only column of its only row. One statement is one consistent snapshot (WAL).
export function sqliteOne(db, sql) {
  return new Promise((res, rej) => {
    execFile('sqlite3', ['-readonly', '-batch', '-noheader', '-cmd', '.timeout 5000', db, sql],
      { maxBuffer: 512 << 20 }, (err, stdout, stderr) => {
        if (err) rej(new Error(`sqlite3: ${err.message} ${stderr}`));
        else res(stdout.trim());
      });
  });
}

// The live state: every agent's count and limit, and every call holding a claim, read in
// one statement. t0/t1 bracket the read (the snapshot is of some moment between them).
export async function dbSnapshot(db) {
  const t0 = Date.now();
  const text = await sqliteOne(db, `SELECT json_object(
    'agents', (SELECT json_group_array(json_array(id, active_calls, max_concurrent, last_assigned_ms, status)) FROM agents),
    'claims', (SELECT json_group_array(json_array(id, agent, status)) FROM calls WHERE holds_claim = 1),
    'queued', (SELECT count(*) FROM calls WHERE status = 'queued'))`);
  const t1 = Date.now();
  const j = JSON.parse(text);
  return {
    t0, t1, queued: j.queued,
    agents: j.agents.map(([id, active, max, lastAssigned, status]) => ({ id, active, max, lastAssigned, status })),
    claims: j.claims.map(([id, agent, status]) => ({ id, agent, status })),
  };
}

// Every call and every callback, read in one statement (for the end and around crashes).
export async function dbFull(db) {
  const text = await sqliteOne(db, `SELECT json_object(
    'calls', (SELECT json_group_array(json_array(id, external_id, status, agent, holds_claim, ended_ms, campaign)) FROM calls),
    'callbacks', (SELECT json_group_array(json_array(id, call_id, reason, open, attempts)) FROM callbacks),
    'agents', (SELECT json_group_array(json_array(id, active_calls, max_concurrent, last_assigned_ms, status)) FROM agents))`);
  const j = JSON.parse(text);
  const calls = new Map();
  for (const [id, ext, status, agent, holds, endedMs, campaign] of j.calls)
    calls.set(id, { id, ext, status, agent, holds: holds === 1, endedMs, campaign });
  const callbacks = new Map();
  for (const [id, callId, reason, open, attempts] of j.callbacks) callbacks.set(id, { id, callId, reason, open, attempts });
  const agents = j.agents.map(([id, active, max, lastAssigned, status]) => ({ id, active, max, lastAssigned, status }));
  return { calls, callbacks, agents };
}

// ---- agents' limits ----------------------------------------------------------------------

// The history of each agent's max_concurrent as the test changed it. A change is possibly
// in force from the moment its request was sent until the answer to a later change of the
// same agent came back (unanswered changes, lost in a crash, may or may not have happened).
export class LimitLog {
  constructor(initial) {
    this.log = new Map(Object.entries(initial).map(([id, v]) => [id, [{ value: v, sent: -Infinity, ack: -Infinity }]]));
  }
  // Call before sending; then entry.ack = Date.now() once the change was acknowledged.
  begin(agent, value) {
    const e = { value, sent: Date.now(), ack: null };
    this.log.get(agent).push(e);
    return e;
  }
  // The highest limit the agent may have had at any moment in [from, to].
  ceiling(agent, from, to) {
    const list = this.log.get(agent);
    let max = -Infinity;
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      if (e.sent > to) break;
      // In force at the latest until a later acknowledged change was answered.
      let end = Infinity;
      for (let j = i + 1; j < list.length; j++) if (list[j].ack !== null) { end = list[j].ack; break; }
      if (end >= from) max = Math.max(max, e.value);
    }
    return max;
  }
}

// ---- the invariants on a snapshot ----------------------------------------------------------

// Limits and counts at one moment:
//  - no count below zero;
//  - each agent's count equals the number of calls holding a claim on it (the count and the
//    claims change in one transaction, so a consistent snapshot always agrees) -- `exact`;
//  - only ringing or connected calls hold a claim;
//  - the limit: a claim is taken only while count < limit, and nothing but a claim raises
//    the count, so at any moment count <= the limit in force when the agent's latest claim
//    was taken. That claim ran at some moment in [last_assigned_ms, snapshot] (the daemon
//    stamps it with the request's time, taken before the claim runs), so the bound checked
//    is the highest limit the agent may have had in that window. A lowered limit therefore
//    does not flag calls the agent already held, but no new claim may pass it.
export function checkSnapshot(snap, limits, { exact = true, where = '' } = {}) {
  const bad = [];
  const held = new Map();
  for (const c of snap.claims || []) {
    held.set(c.agent, (held.get(c.agent) || 0) + 1);
    if (!LIVE.has(c.status)) bad.push(`${where}call ${c.id} holds a claim on ${c.agent} while ${c.status}`);
  }
  for (const a of snap.agents) {
    if (a.active < 0) bad.push(`${where}${a.id} active ${a.active} < 0`);
    if (exact && a.active !== (held.get(a.id) || 0))
      bad.push(`${where}${a.id} active ${a.active} but ${held.get(a.id) || 0} calls hold a claim on it`);
    if (limits && a.active > 0) {
      const ceiling = limits.ceiling(a.id, a.lastAssigned, snap.t1);
      if (!(a.active <= ceiling))
        bad.push(`${where}${a.id} active ${a.active} above its limit (at most ${ceiling} since its last claim at ${a.lastAssigned})`);
    }
  }
  return bad;
}

// ---- what the clients saw of each call -----------------------------------------------------

// One call as a client drove it. `obs` is every status it was seen in, in order, from
// acknowledged answers ({status, agent, t}); `connectedAcks` counts answered requests that
// changed the call to connected; `callback` is {id, reason} when an answer named one.
export class CallRecord {
  constructor(ext, campaign) {
    this.ext = ext; this.campaign = campaign; this.id = null; this.obs = []; this.connectedAcks = 0;
    this.callbacks = []; this.done = false;
  }
  see(status, agent) { this.obs.push({ status, agent: agent || null, t: Date.now() }); }
  get last() { return this.obs.length ? this.obs[this.obs.length - 1] : null; }
}

// What a client may see of one call over time. Observations are samples (an answer, a long
// poll), so steps may be skipped, but never go back: once final a call never changes, once
// connected it is never ringing or queued again, and it is connected at most once.
export function checkRecord(r) {
  const bad = [];
  let final = null, connected = false;
  for (const o of r.obs) {
    if (final && (o.status !== final)) bad.push(`call ${r.id} was ${final}, later seen ${o.status}`);
    if (connected && (o.status === 'ringing' || o.status === 'queued')) bad.push(`call ${r.id} connected, later seen ${o.status}`);
    if (FINAL.has(o.status)) final = o.status;
    if (o.status === 'connected') connected = true;
  }
  if (r.connectedAcks > 1) bad.push(`call ${r.id} connected ${r.connectedAcks} times`);
  return bad;
}

// The legitimate successors of a status in the database (a call seen before a crash must
// be found after it in the same status or one it may have moved on to since).
const NEXT = {
  routing: ['routing', 'ringing', 'connected', 'queued', ...FINAL],
  ringing: ['ringing', 'connected', 'queued', ...FINAL],
  queued: ['queued', 'ringing', 'connected', ...FINAL],
  connected: ['connected', 'completed'],
};
export const mayFollow = (from, to) => (FINAL.has(from) ? from === to : (NEXT[from] || []).includes(to));

// Nothing committed before a crash is lost: every call of `before` (a dbFull snapshot) is in
// `after` in the same or a legitimate later status, and every callback is still there with
// the same call and reason (or, if the same caller failed again, the same id with more
// attempts).
export function checkNothingLost(before, after, where = '') {
  const bad = [];
  for (const c of before.calls.values()) {
    const a = after.calls.get(c.id);
    if (!a) { bad.push(`${where}call ${c.id} (${c.status}) lost`); continue; }
    if (!mayFollow(c.status, a.status)) bad.push(`${where}call ${c.id} was ${c.status}, now ${a.status}`);
    if (a.ext !== c.ext) bad.push(`${where}call ${c.id} external id changed`);
  }
  for (const b of before.callbacks.values()) {
    const a = after.callbacks.get(b.id);
    if (!a) bad.push(`${where}callback ${b.id} (call ${b.callId}, ${b.reason}) lost`);
    else if (a.attempts < b.attempts || (a.attempts === b.attempts && (a.callId !== b.callId || a.reason !== b.reason)))
      bad.push(`${where}callback ${b.id} changed: ${JSON.stringify(b)} -> ${JSON.stringify(a)}`);
  }
  return bad;
}

// The end, when every call is over: every call the clients created (acknowledged) is in the
// database, with the external id they gave, in exactly one final state, holding no claim;
// what a client saw final is what is stored; no call the clients did not ask for exists;
// every callback and abandoned call has its callback (right call and reason), and no
// completed call has one; no caller has two open callbacks; every count is zero.
export function checkEnd(full, records, { sentExternalIds } = {}) {
  const bad = [];
  const byExt = new Map();
  for (const c of full.calls.values()) {
    if (byExt.has(c.ext)) bad.push(`two calls with external id ${c.ext}`);
    byExt.set(c.ext, c);
    if (sentExternalIds && !sentExternalIds.has(c.ext)) bad.push(`call ${c.id} (${c.ext}) nobody asked for`);
  }
  const cbByCall = new Map();
  for (const b of full.callbacks.values()) {
    if (cbByCall.has(b.callId)) bad.push(`call ${b.callId} has two callbacks`);
    cbByCall.set(b.callId, b);
  }
  for (const r of records) {
    if (!r.id) continue; // never acknowledged (crash test only)
    const c = full.calls.get(r.id);
    if (!c) { bad.push(`call ${r.id} acknowledged but not stored`); continue; }
    bad.push(...checkRecord(r));
    if (c.ext !== r.ext) bad.push(`call ${r.id} stored with external id ${c.ext}, sent ${r.ext}`);
    if (!FINAL.has(c.status)) bad.push(`call ${r.id} still ${c.status} at the end`);
    if (c.holds || c.endedMs <= 0) bad.push(`call ${r.id} ${c.status} but holds ${c.holds} ended ${c.endedMs}`);
    const seenFinal = r.obs.find((o) => FINAL.has(o.status));
    if (seenFinal && seenFinal.status !== c.status) bad.push(`call ${r.id} seen ${seenFinal.status}, stored ${c.status}`);
    const cb = cbByCall.get(r.id);
    if (c.status === 'callback') {
      if (!cb || !['no_agents', 'queue_full', 'queue_timeout'].includes(cb.reason))
        bad.push(`call ${r.id} ended with a callback but has ${cb ? cb.reason : 'none'}`);
    } else if (c.status === 'abandoned') {
      if (!cb || cb.reason !== 'abandoned') bad.push(`call ${r.id} abandoned but its callback is ${cb ? cb.reason : 'missing'}`);
    } else if (cb) {
      bad.push(`call ${r.id} ${c.status} but has callback ${cb.id} (${cb.reason})`);
    }
    for (const seen of r.callbacks) {
      const s = full.callbacks.get(seen.id);
      if (!s || s.callId !== r.id) bad.push(`callback ${seen.id} of call ${r.id} missing`);
      else if (seen.reason && s.reason !== seen.reason) bad.push(`callback ${seen.id} reason ${s.reason}, answered ${seen.reason}`);
    }
  }
  for (const a of full.agents) if (a.active !== 0) bad.push(`${a.id} active ${a.active} at the end`);
  return bad;
}

// Correction lines of the recovery sweep in a daemon's log, by kind.
export function recoveryCorrections(log) {
  const out = {};
  for (const m of log.matchAll(/event=recovery kind=(\w+)/g)) out[m[1]] = (out[m[1]] || 0) + 1;
  return out;
}
