// serve.test.mjs -- `sureconnect serve` options from the environment, bad options, and the
// Allow header of a 405.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, startWithFixture } from './harness.mjs';

test('SURECONNECT_DB, SURECONNECT_LISTEN and SURECONNECT_THREADS configure serve', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sc_env_'));
  const env = { ...process.env, SURECONNECT_DB: join(dir, 'env.db'), SURECONNECT_LISTEN: '127.0.0.1:0', SURECONNECT_THREADS: '2' };
  const child = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const exited = new Promise((res) => child.on('exit', (code) => res(code)));
  const port = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(log)), 5000);
    child.stderr.on('data', (d) => {
      log += d;
      const m = /event=listening addr=127\.0\.0\.1:(\d+) db=\S*env\.db threads=2/.exec(log);
      if (m) { clearTimeout(timer); res(Number(m[1])); }
    });
  });
  const r = await fetch(`http://127.0.0.1:${port}/readyz`);
  assert.equal(r.status, 200);
  child.kill('SIGINT');
  assert.equal(await exited, 0);
  rmSync(dir, { recursive: true, force: true });
});

test('bad serve options fail with a message', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sc_bad_'));
  const db = join(dir, 'x.db');
  const threads = spawnSync(BIN, ['--db', db, 'serve', '--threads', '0'], { encoding: 'utf8' });
  assert.equal(threads.status, 2);
  assert.match(threads.stderr, /--threads must be an integer from 1 to 64/);
  const listen = spawnSync(BIN, ['--db', db, 'serve', '--listen', 'nowhere'], { encoding: 'utf8' });
  assert.equal(listen.status, 1);
  assert.match(listen.stderr, /cannot use listen address 'nowhere'/);
  rmSync(dir, { recursive: true, force: true });
});

test('a known path with the wrong method answers 405 with Allow', async (t) => {
  const srv = await startWithFixture(t);
  const r = await srv.request('PUT', '/v1/agents/a1', { body: {} });
  assert.equal(r.status, 405);
  assert.equal(r.json.error.code, 'method_not_allowed');
  assert.equal(r.headers.get('allow'), 'GET, PATCH, DELETE');
});
