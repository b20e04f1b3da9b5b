// web_files.test.mjs -- the daemon serves the web pages' folder: content types, ETag and
// Cache-Control with 304 revalidation, HEAD, 405 for other methods, 404 for missing files,
// no way out of the folder (raw, encoded and double-encoded "..", hidden files), the API's
// own 404s unchanged, and --web-root / $SURECONNECT_WEB_ROOT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startServer, BIN } from './harness.mjs';

// Sends one raw HTTP/1.1 request line as written (fetch would normalise the path) and
// returns the status code.
function rawStatus(port, target, method = 'GET') {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    sock.setEncoding('latin1');
    sock.on('data', (d) => { data += d; });
    sock.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1])));
    sock.on('error', reject);
    sock.setTimeout(10000, () => { sock.destroy(); reject(new Error(`no answer to ${target}`)); });
  });
}

async function started(t, opts) {
  const srv = await startServer(opts);
  t.after(async () => {
    const r = await srv.stop();
    if (r.code !== 0) throw new Error(`server exit ${JSON.stringify(r)}\n${srv.log}`);
  });
  return srv;
}

test('pages and modules are served with their types, ETag and revalidation', async (t) => {
  const srv = await started(t);
  const cases = [
    ['/', /^text\/html; charset=utf-8$/, '<!doctype html>'],
    ['/agent', /^text\/html; charset=utf-8$/, '<!doctype html>'],
    ['/app.css', /^text\/css; charset=utf-8$/, null],
    ['/dashboard.js', /^text\/javascript; charset=utf-8$/, null],
    ['/agent.js', /^text\/javascript; charset=utf-8$/, null],
    ['/api.js', /^text\/javascript; charset=utf-8$/, null],
  ];
  for (const [path, type, start] of cases) {
    const r = await fetch(srv.url + path);
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get('content-type'), type, path);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.match(r.headers.get('content-security-policy'), /default-src 'self'/);
    assert.match(r.headers.get('content-security-policy'), /connect-src 'self' https:\/\/\*\.twilio\.com wss:\/\/\*\.twilio\.com/);
    const etag = r.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
    const body = await r.text();
    if (start) assert.ok(body.toLowerCase().startsWith(start), `${path}: ${body.slice(0, 40)}`);
    const again = await fetch(srv.url + path, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304, path);
    assert.equal(again.headers.get('etag'), etag);
  }
  const head = await fetch(srv.url + '/', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const r = await fetch(srv.url + '/agent', { method });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
  }
  assert.equal((await fetch(srv.url + '/missing.js')).status, 404);
  assert.equal((await fetch(srv.url + '/index.html?x=1')).status, 200);
  // The API keeps its JSON answers.
  const api = await fetch(srv.url + '/v1/nothing');
  assert.equal(api.status, 404);
  assert.equal((await api.json()).error.code, 'not_found');
  assert.equal((await fetch(srv.url + '/healthz')).status, 200);
  assert.match(srv.log, /event=request method=GET path=\/agent status=200/);
});

test('nothing outside the folder can be reached', async (t) => {
  const srv = await started(t);
  const targets = [
    '/../Makefile', '/..%2fMakefile', '/%2e%2e/Makefile', '/%2E%2E%2FMakefile', '/%252e%252e/Makefile',
    '/./index.html', '/.gitignore', '/web/../../Makefile', '/a/../../../etc/passwd', '//etc/passwd',
    '/..\\Makefile', '/%2e%2e%5cMakefile', '/agent/', '/../../../../etc/hostname',
  ];
  for (const target of targets) assert.equal(await rawStatus(srv.port, target), 404, target);
  assert.equal(await rawStatus(srv.port, '/'), 200);
  assert.equal(await rawStatus(srv.port, '/agent', 'HEAD'), 200);
});

test('--web-root and $SURECONNECT_WEB_ROOT choose the folder; a missing one is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sc_web_'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><p>other root</p>');
  const srv = await started(t, { args: ['--web-root', dir] });
  assert.match(await (await fetch(srv.url + '/')).text(), /other root/);
  assert.equal((await fetch(srv.url + '/agent')).status, 404);
  assert.match(srv.log, new RegExp(`web_root=${dir.replace(/[/.]/g, '\\$&')}`));
  const bad = spawnSync(BIN, ['--db', join(dir, 'x.db'), 'serve', '--listen', '127.0.0.1:0', '--web-root', join(dir, 'nope')],
    { encoding: 'utf8', timeout: 10000 });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /is not a folder/);
  const envBad = spawnSync(BIN, ['--db', join(dir, 'x.db'), 'serve', '--listen', '127.0.0.1:0'],
    { encoding: 'utf8', timeout: 10000, env: { ...process.env, SURECONNECT_WEB_ROOT: join(dir, 'nope') } });
  assert.equal(envBad.status, 2, envBad.stderr);
});
