// bad_input.test.mjs -- a table of bad requests, each answered with the right status and
// error code, after which the configuration, the agents and the calls are unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWithFixture, fixture } from './harness.mjs';

const CALL = { to: '+18005550101', from: '+15125550123' };
const cfgWith = (edit) => { const c = fixture(); edit(c); return c; };
const rule0 = (c) => c.campaigns[0].rules[0];

// [name, method, path, body, expected status, code, field?, content type?]
const CASES = [
  ['malformed JSON', 'POST', '/v1/calls', '{"to": ', 400, 'malformed_json'],
  ['truncated JSON', 'PUT', '/v1/config', JSON.stringify(fixture()).slice(0, 200), 400, 'malformed_json'],
  ['trailing garbage', 'POST', '/v1/calls', JSON.stringify(CALL) + 'x', 400, 'malformed_json'],
  ['duplicate keys', 'POST', '/v1/calls', '{"to":"+18005550101","to":"+18005550102","from":"x"}', 400, 'malformed_json'],
  ['body is an array', 'POST', '/v1/calls', '[1,2]', 400, 'invalid_type'],
  ['body is a string', 'PUT', '/v1/config', '"config"', 400, 'invalid_type'],
  ['empty body on create', 'POST', '/v1/calls', undefined, 400, 'missing_body'],
  ['missing to', 'POST', '/v1/calls', { from: '+15125550123' }, 400, 'missing_field', 'to'],
  ['missing from', 'POST', '/v1/calls', { to: '+18005550101' }, 400, 'missing_field', 'from'],
  ['to is a number', 'POST', '/v1/calls', { to: 18005550101, from: 'x' }, 400, 'invalid_type', 'to'],
  ['category is a list', 'POST', '/v1/calls', { ...CALL, category: ['aca'] }, 400, 'invalid_type', 'category'],
  ['unknown field on a call', 'POST', '/v1/calls', { ...CALL, priority: 1 }, 400, 'unknown_field', 'priority'],
  ['to is letters', 'POST', '/v1/calls', { ...CALL, to: 'call me maybe' }, 422, 'invalid_phone_number', 'to'],
  ['to is too short', 'POST', '/v1/calls', { ...CALL, to: '12345' }, 422, 'invalid_phone_number', 'to'],
  ['to is empty', 'POST', '/v1/calls', { ...CALL, to: '' }, 422, 'invalid_phone_number', 'to'],
  ['from with control characters', 'POST', '/v1/calls', { ...CALL, from: '+1512\u0007555' }, 422, 'invalid_input', 'from'],
  ['category not a slug', 'POST', '/v1/calls', { ...CALL, category: 'Medicare!' }, 422, 'invalid_input', 'category'],
  ['category SQL', 'POST', '/v1/calls', { ...CALL, category: "x'; DROP TABLE calls;--" }, 422, 'invalid_input', 'category'],
  ['json content type missing', 'POST', '/v1/calls', JSON.stringify(CALL), 415, 'unsupported_media_type', null, 'text/plain'],
  ['form content type', 'PUT', '/v1/config', 'agents=1', 415, 'unsupported_media_type', null, 'application/x-www-form-urlencoded'],
  ['oversized body', 'POST', '/v1/calls', JSON.stringify({ ...CALL, external_id: 'x'.repeat(1100000) }), 413, 'payload_too_large'],
  ['oversized config', 'PUT', '/v1/config', 'x'.repeat(1024 * 1024 + 1), 413, 'payload_too_large'],
  ['config missing campaigns', 'PUT', '/v1/config', { agents: [] }, 400, 'missing_field', 'campaigns'],
  ['config unknown top field', 'PUT', '/v1/config', { ...fixture(), extra: 1 }, 400, 'unknown_field', 'extra'],
  ['config invalid mode', 'PUT', '/v1/config', cfgWith((c) => { rule0(c).mode = 'random'; }), 422, 'invalid_input', 'campaigns[0].rules[0].mode'],
  ['config invalid state', 'PUT', '/v1/config', cfgWith((c) => { c.agents[0].states = ['XX']; }), 422, 'invalid_input', 'agents[0].states[0]'],
  ['config lower-case state', 'PUT', '/v1/config', cfgWith((c) => { rule0(c).states = ['tx']; }), 422, 'invalid_input', 'campaigns[0].rules[0].states[0]'],
  ['config zero limit', 'PUT', '/v1/config', cfgWith((c) => { c.agents[0].max_concurrent = 0; }), 422, 'invalid_input', 'agents[0].max_concurrent'],
  ['config negative limit', 'PUT', '/v1/config', cfgWith((c) => { c.agents[1].max_concurrent = -3; }), 422, 'invalid_input', 'agents[1].max_concurrent'],
  ['config zero weight', 'PUT', '/v1/config', cfgWith((c) => { rule0(c).members[0].weight = 0; }), 422, 'invalid_input', 'campaigns[0].rules[0].members[0].weight'],
  ['config limit as string', 'PUT', '/v1/config', cfgWith((c) => { c.agents[0].max_concurrent = '2'; }), 400, 'invalid_type', 'agents[0].max_concurrent'],
  ['config member unknown agent', 'PUT', '/v1/config', cfgWith((c) => { rule0(c).members[0].agent = 'ghost'; }), 422, 'invalid_input', 'campaigns[0].rules[0].members[0].agent'],
  ['config duplicate agent id', 'PUT', '/v1/config', cfgWith((c) => { c.agents[1].id = 'a1'; }), 422, 'invalid_input', 'agents[1].id'],
  ['config bad tracking number', 'PUT', '/v1/config', cfgWith((c) => { c.campaigns[0].tracking_numbers[0].number = 'abc'; }), 422, 'invalid_input', 'campaigns[0].tracking_numbers[0].number'],
  ['config SQL in an id', 'PUT', '/v1/config', cfgWith((c) => { c.agents[0].id = "a1'; DROP TABLE agents;--"; }), 422, 'invalid_input', 'agents[0].id'],
  ['config control chars in a name', 'PUT', '/v1/config', cfgWith((c) => { c.agents[0].name = 'Bad\u0001Name'; }), 422, 'invalid_input', 'agents[0].name'],
  ['campaign create without id', 'POST', '/v1/campaigns', { name: 'No id' }, 400, 'missing_field', 'id'],
  ['campaign create bad mode', 'POST', '/v1/campaigns', { id: 'c9', name: 'C9', rules: [{ id: 'r9', name: 'R', position: 1, mode: 'fastest', members: [{ agent: 'a1' }] }] }, 422, 'invalid_input', 'rules[0].mode'],
  ['campaign create unknown member', 'POST', '/v1/campaigns', { id: 'c9', name: 'C9', rules: [{ id: 'r9', name: 'R', position: 1, mode: 'priority', members: [{ agent: 'ghost' }] }] }, 422, 'invalid_input', 'rules[0].members[0].agent'],
  ['campaign create duplicate', 'POST', '/v1/campaigns', { id: 'prio', name: 'Again' }, 409, 'already_exists', 'id'],
  ['campaign update unknown', 'PATCH', '/v1/campaigns/ghost', { name: 'X' }, 404, 'not_found', 'id'],
  ['campaign update bad timeout', 'PATCH', '/v1/campaigns/prio', { ring_timeout_s: 0 }, 422, 'invalid_input', 'ring_timeout_s'],
  ['campaign delete unknown', 'DELETE', '/v1/campaigns/ghost', undefined, 404, 'not_found', 'id'],
  ['agent create without id', 'POST', '/v1/agents', { name: 'No Id' }, 400, 'missing_field', 'id'],
  ['agent create bad id', 'POST', '/v1/agents', { id: 'bad id!', name: 'X' }, 422, 'invalid_input', 'id'],
  ['agent create zero limit', 'POST', '/v1/agents', { id: 'a9', name: 'X', max_concurrent: 0 }, 422, 'invalid_input', 'max_concurrent'],
  ['agent create bad state', 'POST', '/v1/agents', { id: 'a9', name: 'X', states: ['ZZ'] }, 422, 'invalid_input', 'states[0]'],
  ['agent create unknown field', 'POST', '/v1/agents', { id: 'a9', name: 'X', boss: 'me' }, 400, 'unknown_field', 'boss'],
  ['agent create duplicate', 'POST', '/v1/agents', { id: 'a1', name: 'X' }, 409, 'already_exists', 'id'],
  ['agent update bad status', 'PATCH', '/v1/agents/a1', { status: 'asleep' }, 422, 'invalid_input', 'status'],
  ['agent update negative limit', 'PATCH', '/v1/agents/a1', { max_concurrent: -1 }, 422, 'invalid_input', 'max_concurrent'],
  ['agent update change id', 'PATCH', '/v1/agents/a1', { id: 'a7' }, 422, 'invalid_input', 'id'],
  ['agent update unknown id', 'PATCH', '/v1/agents/ghost', { status: 'paused' }, 404, 'not_found', 'id'],
  ['agent get unknown id', 'GET', '/v1/agents/ghost', undefined, 404, 'not_found', 'id'],
  ['agent delete unknown id', 'DELETE', '/v1/agents/ghost', undefined, 404, 'not_found', 'id'],
  ['presence zero expiry', 'POST', '/v1/agents/a1/presence', { expires_s: 0 }, 422, 'invalid_input', 'expires_s'],
  ['presence expiry as string', 'POST', '/v1/agents/a1/presence', { expires_s: '60' }, 400, 'invalid_type', 'expires_s'],
  ['presence unknown agent', 'POST', '/v1/agents/ghost/presence', {}, 404, 'not_found', 'id'],
  ['call unknown id', 'GET', '/v1/calls/ffffffffffffffff', undefined, 404, 'not_found', 'id'],
  ['answer unknown call', 'POST', '/v1/calls/ffffffffffffffff/answered', undefined, 404, 'not_found', 'id'],
  ['no-answer unknown call', 'POST', '/v1/calls/ffffffffffffffff/no-answer', undefined, 404, 'not_found', 'id'],
  ['calls bad status filter', 'GET', '/v1/calls?status=happy', undefined, 400, 'invalid_input', 'status'],
  ['calls bad limit', 'GET', '/v1/calls?limit=0', undefined, 400, 'invalid_input', 'limit'],
  ['calls bad since', 'GET', '/v1/calls?since=yesterday', undefined, 400, 'invalid_input', 'since'],
  ['calls bad cursor', 'GET', '/v1/calls?cursor=zz', undefined, 400, 'invalid_input', 'cursor'],
  ['callbacks bad status', 'GET', '/v1/callbacks?status=maybe', undefined, 400, 'invalid_input', 'status'],
  ['complete unknown callback', 'POST', '/v1/callbacks/999/complete', { agent: 'a1' }, 404, 'not_found', 'id'],
  ['complete callback without agent', 'POST', '/v1/callbacks/1/complete', {}, 400, 'missing_field', 'agent'],
  ['unknown endpoint', 'GET', '/v1/nothing', undefined, 404, 'not_found'],
  ['wrong method', 'DELETE', '/v1/config', undefined, 405, 'method_not_allowed'],
];

test(`bad input: ${CASES.length} requests answered with status and code, nothing changed`, async (t) => {
  assert.ok(CASES.length >= 40);
  const srv = await startWithFixture(t);
  const before = await srv.request('GET', '/v1/config');
  const agentsBefore = await srv.request('GET', '/v1/agents');
  assert.equal(before.status, 200);
  for (const [name, method, path, body, status, code, field, ctype] of CASES) {
    const r = await srv.request(method, path, { body, contentType: ctype });
    assert.equal(r.status, status, `${name}: ${r.text.slice(0, 300)}`);
    assert.ok(r.json && r.json.error, `${name}: error body ${r.text.slice(0, 200)}`);
    assert.equal(r.json.error.code, code, `${name}: ${r.text.slice(0, 300)}`);
    assert.equal(typeof r.json.error.message, 'string', name);
    assert.ok(r.json.error.message.length > 0, name);
    if (field !== undefined) assert.equal(r.json.error.field, field, `${name}: ${r.text.slice(0, 300)}`);
  }
  const after = await srv.request('GET', '/v1/config');
  assert.deepEqual(after.json, before.json);
  const agentsAfter = await srv.request('GET', '/v1/agents');
  assert.deepEqual(agentsAfter.json, agentsBefore.json);
  const calls = await srv.request('GET', '/v1/calls');
  assert.deepEqual(calls.json.calls, []);
  // The server is still healthy after all that.
  assert.equal((await srv.request('POST', '/v1/calls', { body: CALL })).status, 201);
});
