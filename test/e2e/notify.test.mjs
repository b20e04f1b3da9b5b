// notify.test.mjs -- PostgreSQL only (SURECONNECT_TEST_PG): capacity freed outside a daemon
// (another daemon, or here the CLI, which publishes no event in the daemon) reaches its queue
// dispatcher through LISTEN/NOTIFY at once, not only at the periodic sweep.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, PG, startServer, sleep } from './harness.mjs';
import { call, startQueue, waitStatus } from './queue_helpers.mjs';

const skip = PG ? false : 'PostgreSQL only: SQLite has no notifications between processes';

const metric = async (srv, name) => {
  const r = await srv.request('GET', '/metrics', { token: null });
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(r.text);
  return m ? Number(m[1]) : NaN;
};

test('a claim released by another process wakes the dispatcher through NOTIFY', { skip }, async (t) => {
  const srv = await startQueue(t);
  const first = await call(srv);
  assert.equal(first.json.action, 'connect', first.text);
  const waiting = await call(srv);
  assert.equal(waiting.json.status, 'queued', waiting.text);
  await sleep(100);
  const before = await metric(srv, 'sureconnect_queue_notify_wakeups_total');
  cli(srv.db, 'call', 'end', first.json.call_id); // another process frees a1
  const ms = await waitStatus(srv, waiting.json.call_id, 'ringing', 3000);
  assert.ok(await metric(srv, 'sureconnect_queue_notify_wakeups_total') > before, 'no notification');
  t.diagnostic(`handed off ${ms} ms after the other process ended the call`);
});

test('two daemons: the one holding no event still hands off when the other frees capacity', { skip }, async (t) => {
  const a = await startQueue(t);
  const b = await startServer({ shared: a });
  t.after(async () => { await b.stop(); });
  const first = await call(a);
  assert.equal(first.json.action, 'connect', first.text);
  const waiting = await call(b);
  assert.equal(waiting.json.status, 'queued', waiting.text);
  const end = await a.request('POST', `/v1/calls/${first.json.call_id}/ended`);
  assert.equal(end.status, 200, end.text);
  await waitStatus(b, waiting.json.call_id, 'ringing', 3000);
});
