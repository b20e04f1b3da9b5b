// harness.mjs -- starts the real daemon (build/sureconnect serve) on a temporary database
// and a free loopback port, and gives tests a small JSON client. Every server started is
// stopped by the test that started it (stop() also checks the clean exit on SIGTERM).
// The database is a SQLite file, or, when SURECONNECT_TEST_PG holds the URL of a PostgreSQL
// database (postgresql:///NAME?host=...; scripts/with_pg.sh sets it), a new database created
// on that server for each daemon and dropped at its stop().
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const BIN = process.env.SURECONNECT_BIN || resolve(here, '../../build/sureconnect');
export const PG = process.env.SURECONNECT_TEST_PG || '';

// Runs one SQL statement on the PostgreSQL server of SURECONNECT_TEST_PG (psql).
function pgExec(sql) {
  execFileSync('psql', [PG, '-qAt', '-v', 'ON_ERROR_STOP=1', '-c', sql], { stdio: ['ignore', 'pipe', 'pipe'] });
}

let pgSerial = 0;
// A new empty PostgreSQL database; returns its URL and its name.
function pgCreate() {
  const name = `sc_e2e_${process.pid}_${++pgSerial}`;
  pgExec(`CREATE DATABASE ${name}`);
  const q = PG.indexOf('?');
  return { name, url: `postgresql:///${name}${q >= 0 ? PG.slice(q) : ''}` };
}

// A small configuration in the import format: three agents, one campaign per mode, and
// a campaign whose rule has one agent (for callbacks).
export function fixture() {
  const agent = (id) => ({ id, name: `Agent ${id.toUpperCase()}`, status: 'active', max_concurrent: 1,
    states: [], categories: [], softphone: { type: 'client', address: id } });
  const members = (ids, weights = []) => ids.map((agent, i) => ({ agent, priority: i + 1, weight: weights[i] || 1 }));
  const campaign = (id, number, mode, ids, weights) => ({
    id, name: `Campaign ${id}`, default_category: 'medicare', ring_timeout_s: 20,
    queue: { enabled: false, max_size: 50, max_wait_s: 300, hold_music_url: null },
    friendly_message: `Sorry, ${id} is busy; we will call you back.`, discord_webhook_url: null,
    tracking_numbers: [{ number, category: null }],
    rules: [{ id: `r-${id}`, name: `Rule ${id}`, position: 1, enabled: true, states: [], categories: [],
      mode, members: members(ids, weights) }],
  });
  return {
    agents: [agent('a1'), agent('a2'), agent('a3')],
    campaigns: [
      campaign('prio', '+18005550101', 'priority', ['a1', 'a2', 'a3']),
      campaign('rr', '+18005550102', 'round_robin', ['a1', 'a2', 'a3']),
      campaign('wt', '+18005550103', 'weighted', ['a1', 'a2'], [1, 1000]),
      campaign('solo', '+18005550104', 'priority', ['a3']),
    ],
  };
}

// Runs the CLI against the database; returns stdout (throws on a non-zero exit).
export function cli(db, ...args) {
  return execFileSync(BIN, ['--db', db, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// Starts a daemon on a new database with an admin key. Resolves to a handle with
// url, port, db, key, log (stderr so far), child (the process), exited (resolves to its
// {code, signal}), request(), token(agent), stop() and kill() (SIGKILL).
// With `shared` (the handle of a daemon started before), it serves that daemon's database
// and key instead (a second daemon, or a restart); the database then stays until the first
// daemon's stop(). `threads` is the pool size; `args` are extra options of serve.
export async function startServer({ shared = null, threads = 4, args = [] } = {}) {
  const pg = !shared && PG ? pgCreate() : null;
  const dir = shared || pg ? null : mkdtempSync(join(tmpdir(), 'sc_e2e_'));
  const db = shared ? shared.db : pg ? pg.url : join(dir, 'test.db');
  if (!shared) cli(db, 'migrate');
  const key = shared ? shared.key : cli(db, 'key', 'create', '--name', 'admin').trim();
  const child = spawn(BIN, ['--db', db, 'serve', '--listen', '127.0.0.1:0', '--threads', String(threads), ...args],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
  const port = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`no listening line in time:\n${log}`)), 10000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /event=listening addr=127\.0\.0\.1:(\d+)/.exec(log);
      if (m) { clearTimeout(timer); res(Number(m[1])); }
    });
    child.on('exit', () => { clearTimeout(timer); rej(new Error(`server exited:\n${log}`)); });
  });
  const url = `http://127.0.0.1:${port}`;
  const srv = {
    url, port, db, key, child, exited, pg: Boolean(PG),
    get log() { return log; },
    // Sends a request; body objects are sent as JSON, strings as they are. `signal` may
    // abort it early.
    async request(method, path, { body, token = key, contentType, headers = {}, signal } = {}) {
      const h = { ...headers };
      if (token) h.authorization = `Bearer ${token}`;
      let payload;
      if (body !== undefined) {
        payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
        h['content-type'] = contentType || 'application/json';
      }
      // No request may hang a test: the longest legitimate one is a 60 s long poll.
      const timeout = AbortSignal.timeout(90000);
      const res = await fetch(url + path, { method, headers: h, body: payload,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      const text = await res.text();
      let json = null;
      try { json = JSON.parse(text); } catch { /* not JSON (metrics) */ }
      return { status: res.status, json, text, headers: res.headers };
    },
    token(agent) { return cli(db, 'agent', 'token', agent).trim(); },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const r = await exited;
      if (dir) rmSync(dir, { recursive: true, force: true });
      if (pg) pgExec(`DROP DATABASE IF EXISTS ${pg.name} WITH (FORCE)`);
      return r;
    },
    // Kills the daemon with SIGKILL (a crash) and waits until it is gone; the database stays.
    async kill() {
      child.kill('SIGKILL');
      return exited;
    },
  };
  return srv;
}

// Starts a server loaded with `config` (the fixture by default) and the `agents` registered
// (all three of the fixture by default), stopped after the test t, which then checks its
// clean exit. `threads` and `args` are as for startServer.
export async function startWithFixture(t, { threads, args, config = fixture(), agents = ['a1', 'a2', 'a3'] } = {}) {
  const srv = await startServer({ threads, args });
  t.after(async () => {
    const r = await srv.stop();
    if (r.code !== 0) throw new Error(`server exit ${JSON.stringify(r)}\n${srv.log}`);
  });
  const put = await srv.request('PUT', '/v1/config', { body: config });
  if (put.status !== 200) throw new Error(`PUT /v1/config: ${put.status} ${put.text}`);
  for (const a of agents) {
    const r = await srv.request('POST', `/v1/agents/${a}/presence`, { body: { expires_s: 3600 } });
    if (r.status !== 200) throw new Error(`presence ${a}: ${r.status} ${r.text}`);
  }
  return srv;
}

export const TX = '+15125550123'; // a Texas caller

export const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// Opens an SSE stream and parses its events as they come. Resolves once the response
// headers arrived; `events` fills up, `closed` turns true when the server ends it.
export async function openStream(srv, path, { token = srv.key, headers = {} } = {}) {
  const ac = new AbortController();
  const res = await fetch(srv.url + path, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...headers },
    signal: ac.signal,
  });
  const st = { status: res.status, res, events: [], comments: 0, closed: false, close: () => ac.abort() };
  if (res.status !== 200) {
    st.json = await res.json();
    return st;
  }
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  st.done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = {};
          for (const line of frame.split('\n')) {
            if (line.startsWith(':')) st.comments++;
            else if (line.startsWith('id: ')) ev.id = line.slice(4);
            else if (line.startsWith('event: ')) ev.event = line.slice(7);
            else if (line.startsWith('data: ')) ev.data = JSON.parse(line.slice(6));
          }
          if (ev.event) st.events.push(ev);
        }
      }
    } catch { /* aborted */ }
    st.closed = true;
  })();
  // Waits for the first event matching pred (by type, or a function) after index `from`.
  st.waitFor = async (pred, { timeout = 3000, from = 0 } = {}) => {
    const match = typeof pred === 'string' ? (e) => e.event === pred : pred;
    const t0 = Date.now();
    for (;;) {
      const ev = st.events.slice(from).find(match);
      if (ev) return ev;
      if (st.closed || Date.now() - t0 > timeout) {
        throw new Error(`no matching event on ${path}; got ${JSON.stringify(st.events.map((e) => e.event))}`);
      }
      await sleep(10);
    }
  };
  await st.waitFor('ready');
  return st;
}
