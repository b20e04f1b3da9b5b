// shutdown.test.mjs -- SIGTERM stops accepting, lets a request in flight finish, and the
// daemon exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startServer } from './harness.mjs';

test('SIGTERM finishes the request in flight, then refuses new connections and exits 0', async () => {
  const srv = await startServer();
  const port = Number(new URL(srv.url).port);
  const body = JSON.stringify({ to: '+18005550101', from: '+15125550123' });
  const sock = connect(port, '127.0.0.1');
  await new Promise((res) => sock.once('connect', res));
  let reply = '';
  sock.on('data', (d) => { reply += d; });
  const closed = new Promise((res) => sock.once('close', res));
  // Headers and half the body now; the rest after the signal.
  sock.write(`POST /v1/calls HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${srv.key}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n` +
    body.slice(0, 10));
  await new Promise((res) => setTimeout(res, 200));
  const stopped = srv.stop();
  await new Promise((res) => setTimeout(res, 300));
  // The listening socket is closed: a new connection is refused.
  const refused = await new Promise((res) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); res(false); });
    s.once('error', () => res(true));
  });
  assert.equal(refused, true);
  sock.write(body.slice(10));
  await closed;
  assert.match(reply, /^HTTP\/1\.1 201 /);
  assert.match(reply, /"action":"reject"/); // no configuration: not a tracking number
  const r = await stopped;
  assert.equal(r.code, 0, srv.log);
  assert.match(srv.log, /event=stopping signal=SIGTERM/);
  assert.match(srv.log, /event=stopped/);
});
