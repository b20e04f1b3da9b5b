// auth.test.mjs -- the auth matrix (SPEC 6): no key, bad key, revoked key, agent tokens on
// their own agent, on another agent and on admin routes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWithFixture, cli } from './harness.mjs';

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

test('a revoked key stops working at once; another key keeps working', async (t) => {
  const srv = await startWithFixture(t);
  const second = cli(srv.db, 'key', 'create', '--name', 'ops').trim();
  assert.match(second, /^sck_[0-9a-f]{64}$/);
  assert.equal((await srv.request('GET', '/v1/agents', { token: second })).status, 200);
  cli(srv.db, 'key', 'revoke', 'ops');
  const r = await srv.request('GET', '/v1/agents', { token: second });
  assert.equal(r.status, 401);
  assert.equal(r.json.error.code, 'unauthorized');
  assert.equal((await srv.request('GET', '/v1/agents')).status, 200);
  assert.throws(() => cli(srv.db, 'key', 'revoke', 'ops')); // no live key of that name
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
