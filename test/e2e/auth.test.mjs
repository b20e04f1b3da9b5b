// auth.test.mjs -- the auth matrix (SPEC 6): no key, bad key, revoked key, agent tokens on
// their own agent, on another agent and on admin routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWithFixture, cli, sleep, fixture } from './harness.mjs';

// The daemon trusts a verified credential for up to this long without reading the database
// again (AUTH_CACHE_TTL_MS, src/server/auth_cache.h): a key revoked by another process (the
// CLI) stops working within it. Changes through the daemon's own API clear the cache.
const AUTH_CACHE_TTL_MS = 1000;

test('every /v1 route needs valid credentials', async (t) => {
  const srv = await startWithFixture(t);
  const cases = [
    ['no header', { token: null }],
    ['bad key', { token: 'sck_' + '0'.repeat(64) }],
    ['garbage', { token: 'not a key at all' }],
    ['empty', { headers: { authorization: 'Bearer ' }, token: null }],
    ['basic scheme', { headers: { authorization: 'Basic YWRtaW46YWRtaW4=' }, token: null }],
  ];
  for (const [name, opts] of cases) {
    for (const [method, path] of [['GET', '/v1/agents'], ['GET', '/v1/config'], ['POST', '/v1/calls'], ['GET', '/v1/calls']]) {
      const r = await srv.request(method, path, opts);
      assert.equal(r.status, 401, `${name} ${method} ${path}`);
      assert.equal(r.json.error.code, 'unauthorized');
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    }
  }
});

test('the scheme name is case-insensitive', async (t) => {
  const srv = await startWithFixture(t);
  const r = await srv.request('GET', '/v1/agents', { token: null, headers: { authorization: `bearer ${srv.key}` } });
  assert.equal(r.status, 200);
});

test('a key revoked by the CLI stops working within the cache TTL; another key keeps working', async (t) => {
  const srv = await startWithFixture(t);
  const second = cli(srv.db, 'key', 'create', '--name', 'ops').trim();
  assert.match(second, /^sck_[0-9a-f]{64}$/);
  // Verified (and cached) before the revocation.
  assert.equal((await srv.request('GET', '/v1/agents', { token: second })).status, 200);
  assert.equal((await srv.request('GET', '/v1/agents', { token: second })).status, 200);
  cli(srv.db, 'key', 'revoke', 'ops');
  // Every cached verification is older than the revocation, so after the TTL none is left.
  await sleep(AUTH_CACHE_TTL_MS + 100);
  const r = await srv.request('GET', '/v1/agents', { token: second });
  assert.equal(r.status, 401);
  assert.equal(r.json.error.code, 'unauthorized');
  // And it stays refused: a failed lookup is never cached as a success.
  assert.equal((await srv.request('GET', '/v1/agents', { token: second })).status, 401);
  assert.equal((await srv.request('GET', '/v1/agents')).status, 200);
  assert.throws(() => cli(srv.db, 'key', 'revoke', 'ops')); // no live key of that name
});

test('an agent deleted through the API loses its token at once, even a cached one', async (t) => {
  const srv = await startWithFixture(t);
  const tok = srv.token('a2');
  for (let i = 0; i < 3; i++) // verified and cached
    assert.equal((await srv.request('GET', '/v1/agents/a2', { token: tok })).status, 200);
  assert.equal((await srv.request('DELETE', '/v1/agents/a2')).status, 200);
  const r = await srv.request('GET', '/v1/agents/a2', { token: tok });
  assert.equal(r.status, 401, r.text);
});

test('an agent removed by a PUT /v1/config loses its token at once', async (t) => {
  const srv = await startWithFixture(t);
  const tok = srv.token('a3');
  assert.equal((await srv.request('GET', '/v1/agents/a3', { token: tok })).status, 200);
  const cfg = fixture();
  cfg.agents = cfg.agents.filter((a) => a.id !== 'a3');
  cfg.campaigns = cfg.campaigns.filter((c) => c.id !== 'solo');
  for (const c of cfg.campaigns)
    for (const rule of c.rules) rule.members = rule.members.filter((m) => m.agent !== 'a3');
  const put = await srv.request('PUT', '/v1/config', { body: cfg });
  assert.equal(put.status, 200, put.text);
  assert.equal((await srv.request('GET', '/v1/agents/a3', { token: tok })).status, 401);
});

test('an agent token acts only on its own agent, its presence and status (its calls: agent_access)', async (t) => {
  const srv = await startWithFixture(t);
  const tok = srv.token('a1');
  assert.match(tok, /^sca_[0-9a-f]{64}$/);
  const own = await srv.request('GET', '/v1/agents/a1', { token: tok });
  assert.equal(own.status, 200);
  assert.equal(own.json.id, 'a1');
  assert.equal((await srv.request('POST', '/v1/agents/a1/presence', { token: tok, body: { expires_s: 120 } })).status, 200);
  assert.equal((await srv.request('DELETE', '/v1/agents/a1/presence', { token: tok })).status, 200);
  const paused = await srv.request('PATCH', '/v1/agents/a1', { token: tok, body: { status: 'paused' } });
  assert.equal(paused.status, 200, paused.text);
  assert.equal(paused.json.status, 'paused');
  const active = await srv.request('PATCH', '/v1/agents/a1', { token: tok, body: { status: 'active' } });
  assert.equal(active.json.status, 'active');

  const forbidden = [
    ['GET', '/v1/agents/a2'],
    ['POST', '/v1/agents/a2/presence', {}],
    ['DELETE', '/v1/agents/a2/presence'],
    ['PATCH', '/v1/agents/a2', { status: 'paused' }],
    ['GET', '/v1/agents'],
    ['POST', '/v1/agents', { id: 'x', name: 'X' }],
    ['DELETE', '/v1/agents/a1'],
    ['GET', '/v1/campaigns'],
    ['GET', '/v1/campaigns/prio'],
    ['POST', '/v1/campaigns', { id: 'c9', name: 'C9' }],
    ['PATCH', '/v1/campaigns/prio', { name: 'Mine' }],
    ['DELETE', '/v1/campaigns/prio'],
    ['GET', '/v1/config'],
    ['PUT', '/v1/config', { agents: [], campaigns: [] }],
    ['POST', '/v1/calls', { to: '+18005550101', from: '+15125550123' }],
    ['GET', '/v1/calls'],
    ['GET', '/v1/calls?agent=a2'],
    ['PATCH', '/v1/agents/a1', { max_concurrent: 5 }],
    ['PATCH', '/v1/agents/a1', { status: 'deactivated' }],
  ];
  for (const [method, path, body] of forbidden) {
    const r = await srv.request(method, path, { token: tok, body });
    assert.equal(r.status, 403, `${method} ${path} ${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.json.error.code, 'forbidden');
  }
  // Nothing of the above changed anything.
  const a1 = await srv.request('GET', '/v1/agents/a1');
  assert.equal(a1.json.max_concurrent, 1);
  assert.equal(a1.json.status, 'active');
  assert.equal((await srv.request('GET', '/v1/agents')).json.agents.length, 3);
  assert.equal((await srv.request('GET', '/v1/campaigns')).json.campaigns.length, 4);
  // A deleted agent's token dies with it.
  await srv.request('DELETE', '/v1/agents/a1');
  assert.equal((await srv.request('GET', '/v1/agents/a1', { token: tok })).status, 401);
});
