// campaigns.test.mjs -- campaigns with their tracking numbers and rules through the API:
// create, get, list, update, delete; each change validated as an import is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWithFixture, TX } from './harness.mjs';

const NEW = {
  id: 'fe', name: 'Final expense', default_category: 'final_expense',
  tracking_numbers: [{ number: '(888) 555-0199', category: null }],
  rules: [{ id: 'fe-tx', name: 'Texas', position: 1, states: ['TX'], mode: 'round_robin',
    members: [{ agent: 'a2' }, { agent: 'a3' }] }],
};

test('campaigns: create, route through, update, delete', async (t) => {
  const srv = await startWithFixture(t);
  const created = await srv.request('POST', '/v1/campaigns', { body: NEW });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.json.id, 'fe');
  assert.equal(created.json.tracking_numbers[0].number, '+18885550199');
  assert.equal(created.json.ring_timeout_s, 20); // defaults filled in
  assert.deepEqual(created.json.rules[0].members.map((m) => m.agent), ['a2', 'a3']);
  const dup = await srv.request('POST', '/v1/campaigns', { body: NEW });
  assert.equal(dup.status, 409);
  assert.equal(dup.json.error.code, 'already_exists');

  const call = await srv.request('POST', '/v1/calls', { body: { to: '8885550199', from: TX } });
  assert.equal(call.json.campaign, 'fe');
  assert.equal(call.json.category, 'final_expense');
  assert.equal(call.json.agent.id, 'a2');

  const list = await srv.request('GET', '/v1/campaigns');
  assert.deepEqual(list.json.campaigns.map((c) => c.id).sort(), ['fe', 'prio', 'rr', 'solo', 'wt']);

  const bad = await srv.request('PATCH', '/v1/campaigns/fe', { body: { rules: [{ ...NEW.rules[0], mode: 'fastest' }] } });
  assert.equal(bad.status, 422);
  assert.equal(bad.json.error.field, 'rules[0].mode');
  const upd = await srv.request('PATCH', '/v1/campaigns/fe', { body: { name: 'Final expense (TX)', ring_timeout_s: 30 } });
  assert.equal(upd.status, 200, upd.text);
  assert.equal(upd.json.name, 'Final expense (TX)');
  assert.equal(upd.json.ring_timeout_s, 30);
  assert.equal(upd.json.rules.length, 1);
  const moved = await srv.request('PATCH', '/v1/campaigns/fe', { body: { id: 'other' } });
  assert.equal(moved.status, 422);

  // A number already used by another campaign is refused, and changes nothing.
  const clash = await srv.request('POST', '/v1/campaigns', { body: { ...NEW, id: 'fe2', rules: [], tracking_numbers: [{ number: '+18005550101' }] } });
  assert.ok(clash.status === 422 || clash.status === 409, clash.text);

  const del = await srv.request('DELETE', '/v1/campaigns/fe');
  assert.equal(del.status, 200);
  assert.equal((await srv.request('GET', '/v1/campaigns/fe')).status, 404);
  assert.equal((await srv.request('DELETE', '/v1/campaigns/fe')).status, 404);
  // The call routed before keeps its history and can still end.
  const ended = await srv.request('POST', `/v1/calls/${call.json.call_id}/ended`);
  assert.equal(ended.json.released, true);
  const after = await srv.request('POST', '/v1/calls', { body: { to: '8885550199', from: TX } });
  assert.equal(after.json.action, 'reject');
});
