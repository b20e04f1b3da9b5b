// longpoll.test.mjs -- GET /v1/calls/{id}?wait=SECONDS[&status=NAME]: returns as soon as the
// call's status changes (an answer from another client, a change made by another process on
// the same database), at once when it already differs from `status`, with the unchanged call
// when the wait ends; bad parameters and unknown ids at once; waiting requests do not hold
// the daemon's small thread pool; clients that go away and SIGTERM leave it clean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { cli, sleep, startWithFixture, TX } from './harness.mjs';

// Routes a call to campaign prio (rings a1, then a2, a3); returns its id.
async function ringingCall(srv) {
  const r = await srv.request('POST', '/v1/calls', { body: { to: '+18005550101', from: TX } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.status, 'ringing');
  return r.json.call_id;
}

// Sends a request and resolves to its reply with `ms`, the time it took.
async function timed(promise) {
  const t0 = Date.now();
  const r = await promise;
  return { ...r, ms: Date.now() - t0 };
}

test('a long poll on a ringing call returns soon after another client answers it', async (t) => {
  const srv = await startWithFixture(t);
  const id = await ringingCall(srv);
  const poll = timed(srv.request('GET', `/v1/calls/${id}?wait=20`));
  await sleep(400);
  const ans = await srv.request('POST', `/v1/calls/${id}/answered`);
  assert.equal(ans.status, 200, ans.text);
  const r = await poll;
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.id, id);
  assert.equal(r.json.status, 'connected');
  assert.ok(r.ms >= 350, `it waited (${r.ms} ms)`);
  assert.ok(r.ms < 400 + 1500, `it returned promptly after the answer (${r.ms} ms)`);
  // The body is the plain GET's.
  const plain = await srv.request('GET', `/v1/calls/${id}`);
  assert.deepEqual(r.json, plain.json);
  assert.equal(typeof r.json.trace, 'object');

  // An end through the writer wakes it too: the reference is the status at the request.
  const poll2 = timed(srv.request('GET', `/v1/calls/${id}?wait=20`));
  await sleep(300);
  assert.equal((await srv.request('POST', `/v1/calls/${id}/ended`)).status, 200);
  const r2 = await poll2;
  assert.equal(r2.json.status, 'completed');
  assert.ok(r2.ms < 300 + 1500, `${r2.ms} ms`);
});

test('a change made by another process on the same database is seen by the re-check', async (t) => {
  const srv = await startWithFixture(t);
  const id = await ringingCall(srv);
  const poll = timed(srv.request('GET', `/v1/calls/${id}?wait=20&status=ringing`));
  await sleep(300);
  cli(srv.db, 'call', 'end', id); // no event in the daemon: only the periodic re-check sees it
  const r = await poll;
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'completed');
  assert.ok(r.ms < 300 + 3000, `${r.ms} ms`);
});

test('status= that differs from the call returns at once; the same waits until the end', async (t) => {
  const srv = await startWithFixture(t);
  const id = await ringingCall(srv);
  assert.equal((await srv.request('POST', `/v1/calls/${id}/answered`)).status, 200);
  const r = await timed(srv.request('GET', `/v1/calls/${id}?wait=30&status=ringing`));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'connected');
  assert.ok(r.ms < 1000, `${r.ms} ms`);
  const same = await timed(srv.request('GET', `/v1/calls/${id}?wait=1&status=connected`));
  assert.equal(same.json.status, 'connected');
  assert.ok(same.ms >= 900 && same.ms < 3000, `${same.ms} ms`);
});

test('a wait that ends without a change answers the unchanged call after about the wait', async (t) => {
  const srv = await startWithFixture(t);
  const id = await ringingCall(srv);
  const r = await timed(srv.request('GET', `/v1/calls/${id}?wait=2`));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'ringing');
  assert.ok(r.ms >= 1900 && r.ms < 4000, `${r.ms} ms`);
  const plain = await srv.request('GET', `/v1/calls/${id}`);
  assert.deepEqual(r.json, plain.json);
  // wait=0 is a plain GET.
  const zero = await timed(srv.request('GET', `/v1/calls/${id}?wait=0&status=ringing`));
  assert.equal(zero.status, 200);
  assert.ok(zero.ms < 1000);
});

test('bad wait or status values are 400 naming the parameter; an unknown call is 404 at once', async (t) => {
  const srv = await startWithFixture(t);
  const id = await ringingCall(srv);
  for (const q of ['wait=-1', 'wait=61', 'wait=abc', 'wait=1.5', 'wait=', 'wait=5x']) {
    const r = await srv.request('GET', `/v1/calls/${id}?${q}`);
    assert.equal(r.status, 400, `${q}: ${r.text}`);
    assert.equal(r.json.error.code, 'invalid_input', q);
    assert.equal(r.json.error.field, 'wait', q);
  }
  for (const q of ['wait=5&status=nope', 'status=RINGING', 'wait=5&status=']) {
    const r = await timed(srv.request('GET', `/v1/calls/${id}?${q}`));
    assert.equal(r.status, 400, `${q}: ${r.text}`);
    assert.equal(r.json.error.code, 'invalid_input', q);
    assert.equal(r.json.error.field, 'status', q);
    assert.ok(r.ms < 1000, q);
  }
  const unknown = await timed(srv.request('GET', '/v1/calls/0123456789abcdef0123456789abcdef?wait=30'));
  assert.equal(unknown.status, 404, unknown.text);
  assert.equal(unknown.json.error.code, 'not_found');
  assert.ok(unknown.ms < 1000, `${unknown.ms} ms`);
});

test('50 long polls on a 2-thread pool do not hold up other requests', async (t) => {
  const srv = await startWithFixture(t, { threads: 2 });
  const ids = [await ringingCall(srv), await ringingCall(srv)];
  const polls = [];
  for (let i = 0; i < 50; i++) polls.push(timed(srv.request('GET', `/v1/calls/${ids[i % 2]}?wait=30`)));
  await sleep(500);
  // Every request below would queue behind the polls if they held the two pool threads.
  const t0 = Date.now();
  for (let i = 0; i < 20; i++) {
    const h = await timed(srv.request('GET', '/healthz'));
    assert.equal(h.status, 200);
    assert.ok(h.ms < 500, `healthz took ${h.ms} ms`);
    const g = await srv.request('GET', `/v1/calls/${ids[0]}`);
    assert.equal(g.json.status, 'ringing');
  }
  const third = await ringingCall(srv);
  assert.ok(Date.now() - t0 < 3000, `40 requests and a route took ${Date.now() - t0} ms`);
  // Answering wakes the polls of that call only; ending the other wakes the rest.
  await srv.request('POST', `/v1/calls/${ids[0]}/answered`);
  await srv.request('POST', `/v1/calls/${ids[1]}/ended`);
  const rs = await Promise.all(polls);
  rs.forEach((r, i) => {
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, i % 2 === 0 ? 'connected' : 'completed');
    assert.ok(r.ms < 500 + 3000 + 5000, `poll ${i} took ${r.ms} ms`);
  });
  assert.ok(third);
});

test('clients that abort their long polls leave the daemon healthy', async (t) => {
  const srv = await startWithFixture(t, { threads: 2 });
  const id = await ringingCall(srv);
  // Through fetch, aborted while suspended.
  const aborted = [];
  for (let i = 0; i < 10; i++) {
    const ac = new AbortController();
    aborted.push({ ac, p: srv.request('GET', `/v1/calls/${id}?wait=30`, { signal: ac.signal }).catch((e) => e) });
  }
  // Raw sockets that send the request and close at once, or after a while.
  const raw = [];
  for (let i = 0; i < 10; i++) {
    const sock = connect(srv.port, '127.0.0.1');
    await new Promise((res) => sock.once('connect', res));
    sock.write(`GET /v1/calls/${id}?wait=30 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${srv.key}\r\n\r\n`);
    sock.on('error', () => {});
    raw.push(sock);
  }
  raw[0].destroy();
  await sleep(300);
  for (const a of aborted) a.ac.abort();
  for (const s of raw) s.destroy();
  for (const a of aborted) assert.equal((await a.p).name, 'AbortError');
  await sleep(300);
  assert.equal((await srv.request('GET', '/healthz')).status, 200);
  // A new long poll still works and is still woken.
  const poll = timed(srv.request('GET', `/v1/calls/${id}?wait=20`));
  await sleep(200);
  await srv.request('POST', `/v1/calls/${id}/answered`);
  const r = await poll;
  assert.equal(r.json.status, 'connected');
  assert.ok(r.ms < 200 + 1500, `${r.ms} ms`);
  // An event for the call after the aborted ones went away touches nothing freed.
  assert.equal((await srv.request('POST', `/v1/calls/${id}/ended`)).status, 200);
  assert.equal((await srv.request('GET', '/healthz')).status, 200);
});

test('SIGTERM with long polls suspended stops the daemon promptly and exits 0', async (t) => {
  const srv = await startWithFixture(t, { threads: 2 });
  const id = await ringingCall(srv);
  const polls = [];
  for (let i = 0; i < 10; i++) polls.push(srv.request('GET', `/v1/calls/${id}?wait=60`).catch((e) => e));
  await sleep(400);
  const t0 = Date.now();
  const r = await srv.stop();
  const ms = Date.now() - t0;
  assert.equal(r.code, 0, srv.log);
  assert.ok(ms < 5000, `stopped after ${ms} ms`);
  // Each waiting request was answered with the call as it was.
  for (const p of await Promise.all(polls)) {
    assert.equal(p.status, 200, String(p));
    assert.equal(p.json.status, 'ringing');
  }
  assert.match(srv.log, /event=stopped/);
});
