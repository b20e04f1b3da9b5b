// softphone.test.mjs -- GET /v1/agents/{id}/softphone-token against the official twilio
// package: the daemon's token, decoded, has the header and claims of the token that
// twilio.jwt.AccessToken makes from the same inputs (all but the times), and its HS256
// signature verifies with the API key secret. Also who may ask, and the daemon without
// the settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import twilio from 'twilio';
import { startServer, fixture } from './harness.mjs';

// Fake but well-formed settings (AC/SK/AP and 32 hex digits).
const ACCOUNT = 'AC' + '0123456789abcdef'.repeat(2);
const KEY = 'SK' + 'fedcba9876543210'.repeat(2);
const APP = 'AP' + '00112233445566778899aabbccddeeff';
const SECRET = 'not-a-real-api-key-secret';
const TTL = 3600;

const settings = (app = APP) => [
  '--twilio-account-sid', ACCOUNT, '--twilio-api-key-sid', KEY, '--twilio-api-key-secret', SECRET,
  ...(app ? ['--twilio-twiml-app-sid', app] : []),
];

// The harness fixture, with a1 reached in the browser at another client name than its id
// and a3 on a SIP address.
function config() {
  const cfg = fixture();
  cfg.agents[0].softphone = { type: 'client', address: 'a1_browser' };
  cfg.agents[2].softphone = { type: 'sip', address: 'sip:a3@pbx.example.com' };
  return cfg;
}

async function start(t, args) {
  const srv = await startServer({ args });
  t.after(async () => {
    const r = await srv.stop();
    if (r.code !== 0) throw new Error(`server exit ${JSON.stringify(r)}\n${srv.log}`);
  });
  const put = await srv.request('PUT', '/v1/config', { body: config() });
  assert.equal(put.status, 200, put.text);
  return srv;
}

// The three parts of a JWT: header and claims decoded, the signature's bytes.
function decode(jwt) {
  const parts = jwt.split('.');
  assert.equal(parts.length, 3, jwt);
  for (const p of parts) assert.match(p, /^[A-Za-z0-9_-]+$/, 'base64url without padding');
  const json = (p) => JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  return { header: json(parts[0]), claims: json(parts[1]), signature: Buffer.from(parts[2], 'base64url') };
}

// The token the official library makes for the same inputs.
function reference(identity, app) {
  const { AccessToken } = twilio.jwt;
  const token = new AccessToken(ACCOUNT, KEY, SECRET, { identity, ttl: TTL });
  token.addGrant(new AccessToken.VoiceGrant(app ? { incomingAllow: true, outgoingApplicationSid: app }
    : { incomingAllow: true }));
  return token.toJwt();
}

// Checks a reply against the library's token: equal header and claims once the times are
// set aside, consistent times, and a signature that verifies with the secret.
function checkToken(res, identity, app) {
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(Object.keys(res.json).sort(), ['expires_at', 'identity', 'token']);
  assert.equal(res.json.identity, identity);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const ours = decode(res.json.token);
  const theirs = decode(reference(identity, app));
  assert.deepEqual(ours.header, theirs.header);
  const untimed = ({ iat, exp, jti, ...rest }) => rest;
  assert.deepEqual(untimed(ours.claims), untimed(theirs.claims));
  assert.deepEqual(Object.keys(ours.claims).sort(), Object.keys(theirs.claims).sort());

  const { iat, exp, jti } = ours.claims;
  assert.ok(Number.isInteger(iat) && Math.abs(iat - Date.now() / 1000) < 60, `iat ${iat}`);
  assert.equal(exp - iat, TTL);
  assert.equal(theirs.claims.exp - theirs.claims.iat, TTL);
  assert.equal(jti, `${KEY}-${iat}`);
  assert.match(theirs.claims.jti, new RegExp(`^${KEY}-\\d+$`));
  assert.equal(res.json.expires_at, exp * 1000);

  const [head, body] = res.json.token.split('.');
  const mac = createHmac('sha256', SECRET).update(`${head}.${body}`).digest();
  assert.equal(ours.signature.length, mac.length);
  assert.ok(timingSafeEqual(ours.signature, mac), 'HS256 signature with the API key secret');
  return ours;
}

test('softphone token: the same header and claims as twilio.jwt.AccessToken', async (t) => {
  const srv = await start(t, settings());
  const path = (id) => `/v1/agents/${id}/softphone-token`;

  // The agent's own token; the identity is the client name its calls dial.
  const own = await srv.request('GET', path('a1'), { token: srv.token('a1') });
  const c = checkToken(own, 'a1_browser', APP);
  assert.deepEqual(c.claims.grants.voice, { incoming: { allow: true }, outgoing: { application_sid: APP } });
  assert.equal(c.claims.iss, KEY);
  assert.equal(c.claims.sub, ACCOUNT);
  assert.equal(c.header.cty, 'twilio-fpa;v=1');
  assert.equal(c.header.alg, 'HS256');

  // The admin key; a client agent whose address is its id.
  checkToken(await srv.request('GET', path('a2')), 'a2', APP);
  // An agent on SIP gets its id as the identity.
  checkToken(await srv.request('GET', path('a3'), { token: srv.token('a3') }), 'a3', APP);

  // Another agent's token may not ask; an unknown agent is 404.
  const other = await srv.request('GET', path('a2'), { token: srv.token('a1') });
  assert.equal(other.status, 403);
  assert.equal(other.json.error.code, 'forbidden');
  const unknown = await srv.request('GET', path('nobody'));
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.error.code, 'not_found');
  const anonymous = await srv.request('GET', path('a1'), { token: null });
  assert.equal(anonymous.status, 401);
});

test('softphone token: no outgoing grant without a TwiML app', async (t) => {
  const srv = await start(t, settings(null));
  const c = checkToken(await srv.request('GET', '/v1/agents/a2/softphone-token'), 'a2', null);
  assert.deepEqual(c.claims.grants.voice, { incoming: { allow: true } });

  // A client name longer than Twilio accepts as an identity (121) cannot get a token.
  const patch = await srv.request('PATCH', '/v1/agents/a2',
    { body: { softphone: { type: 'client', address: 'x'.repeat(122) } } });
  assert.equal(patch.status, 200, patch.text);
  const long = await srv.request('GET', '/v1/agents/a2/softphone-token');
  assert.equal(long.status, 409);
  assert.equal(long.json.error.code, 'conflict');
});

test('softphone token: 503 not_configured without the settings', async (t) => {
  const srv = await start(t, []);
  const r = await srv.request('GET', '/v1/agents/a1/softphone-token', { token: srv.token('a1') });
  assert.equal(r.status, 503);
  assert.equal(r.json.error.code, 'not_configured');
  // A key SID and secret without the account are not enough either.
  const partial = await start(t, ['--twilio-api-key-sid', KEY, '--twilio-api-key-secret', SECRET]);
  const p = await partial.request('GET', '/v1/agents/a1/softphone-token');
  assert.equal(p.status, 503);
  assert.equal(p.json.error.code, 'not_configured');
});
