// alerts.test.mjs -- Discord alerts end to end: the daemon against a fake Discord webhook
// server on loopback that records every request and answers as told (204, 429 with
// retry_after, 500, 404, or never). Payload and limits, summarising a burst, 429, bounded
// retries, disabling after 404, a campaign's own webhook, and routing unaffected (and a
// prompt SIGTERM) while the webhook hangs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { fixture, sleep, startWithFixture, TX } from './harness.mjs';

// Polls until fn() is truthy or timeout_ms passed; returns the last value.
async function until(fn, timeoutMs = 10000, stepMs = 25) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v || Date.now() - t0 > timeoutMs) return v;
    await sleep(stepMs);
  }
}

// A fake Discord: records {method, path, headers, body (parsed JSON), at (ms)} and answers
// with respond(request, index) -> {status, body?, headers?} or 'hang'.
async function fakeDiscord(t, respond = () => ({ status: 204 })) {
  const requests = [];
  const hanging = new Set();
  const fake = { requests, respond };
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      let body = null;
      try { body = JSON.parse(raw); } catch { /* recorded as null */ }
      const r = { method: req.method, path: req.url, headers: req.headers, raw, body, at: Date.now() };
      requests.push(r);
      const answer = fake.respond(r, requests.length - 1);
      if (answer === 'hang') { hanging.add(res); return; }
      const text = answer.body === undefined ? '' : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.headers || {}) });
      res.end(text);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  fake.base = `http://127.0.0.1:${server.address().port}`;
  fake.close = async () => {
    for (const res of hanging) res.socket?.destroy();
    server.closeAllConnections?.();
    await new Promise((r) => server.close(r));
  };
  t.after(fake.close);
  return fake;
}

// Starts the daemon on a new database with `args` after serve, imports `config` and
// registers no agent (every call finds no agent). Stopped after the test.
async function startDaemon(t, args, config = fixture()) {
  const srv = await startWithFixture(t, { args, config, agents: [] });
  srv.route = (to = '+18005550101', from = TX) => srv.request('POST', '/v1/calls', { body: { to, from } });
  srv.metric = async (name) => {
    const r = await srv.request('GET', '/metrics');
    const line = r.text.split('\n').find((l) => l.startsWith(name + ' '));
    return line ? Number(line.split(' ')[1]) : NaN;
  };
  return srv;
}

const field = (msg, name) => msg.body.embeds[0].fields.find((f) => f.name === name)?.value;
const chars = (s) => [...(s || '')].length;

test('an alert carries the campaign, state, category, outcome and time within Discord limits', async (t) => {
  const fake = await fakeDiscord(t);
  const cfg = fixture();
  // The longest name a campaign may have (127 bytes), multi-byte characters and a mention.
  let name = '@everyone Ünïcødé Çampaign ';
  while (Buffer.byteLength(name + 'é') <= 127) name += 'é';
  cfg.campaigns[0].name = name;
  const srv = await startDaemon(t, ['--discord-webhook', `${fake.base}/api/webhooks/1/tok`, '--alert-interval', '1'], cfg);
  const t0 = Date.now();
  const r = await srv.route();
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.action, 'callback');
  assert.ok(await until(() => fake.requests.length >= 1, 10000), 'no alert arrived');
  await sleep(300);
  assert.equal(fake.requests.length, 1);
  const msg = fake.requests[0];
  assert.equal(msg.method, 'POST');
  assert.equal(msg.path, '/api/webhooks/1/tok');
  assert.match(msg.headers['content-type'], /^application\/json/);
  // The first message of a quiet campaign waits for the gather window (1 s here).
  assert.ok(msg.at - t0 >= 900, `sent after ${msg.at - t0} ms`);
  const b = msg.body;
  assert.deepEqual(b.allowed_mentions, { parse: [] });
  assert.equal(b.embeds.length, 1);
  const e = b.embeds[0];
  assert.ok(e.title.includes(name), e.title);
  assert.match(b.content, /^1 call to .* found no available agent$/);
  assert.deepEqual(e.fields.map((f) => f.name), ['Campaign', 'Caller state', 'Category', 'Outcome', 'Reason', 'Calls', 'Time']);
  assert.equal(field(msg, 'Campaign'), `${name} (prio)`);
  assert.equal(field(msg, 'Caller state'), 'TX');
  assert.equal(field(msg, 'Category'), 'medicare');
  assert.equal(field(msg, 'Outcome'), 'callback');
  assert.equal(field(msg, 'Reason'), 'no_agent');
  assert.equal(field(msg, 'Calls'), '1');
  assert.match(e.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Math.abs(Date.parse(e.timestamp) - t0) < 5000, e.timestamp);
  assert.equal(field(msg, 'Time'), e.timestamp);
  // Discord's limits.
  assert.ok(chars(b.content) <= 2000);
  assert.ok(chars(e.title) <= 256);
  assert.ok(chars(e.description) <= 4096);
  assert.ok(e.fields.length <= 25);
  let total = chars(e.title) + chars(e.description) + chars(e.footer?.text);
  for (const f of e.fields) {
    assert.ok(chars(f.name) <= 256 && chars(f.value) <= 1024 && chars(f.value) >= 1);
    total += chars(f.name) + chars(f.value);
  }
  assert.ok(total <= 6000, `embed total ${total}`);
  // Unknown tracking numbers are rejects, not alerts; connected calls are not alerts.
  const reject = await srv.route('+18005559999');
  assert.equal(reject.json.action, 'reject');
  await sleep(1500);
  assert.equal(fake.requests.length, 1);
  assert.equal(await srv.metric('sureconnect_alert_messages_total{result="sent"}'), 1);
  assert.equal(await srv.metric('sureconnect_alerts_total{result="sent"}'), 1);
});

test('a burst of 100 failed calls is one message counting 100', async (t) => {
  const fake = await fakeDiscord(t);
  const srv = await startDaemon(t, ['--discord-webhook', `${fake.base}/api/webhooks/2/tok`, '--alert-interval', '10']);
  // All 100 at once, so that the burst fits the 2 s gather window even on a slow, shared
  // machine (ten waves of ten did not always, under ASan).
  const calls = await Promise.all(Array.from({ length: 100 }, () => srv.route()));
  assert.ok(calls.every((r) => r.status === 201 && r.json.action === 'callback'));
  assert.ok(await until(() => fake.requests.length >= 1, 10000), 'no alert arrived');
  await sleep(1500);
  assert.equal(fake.requests.length, 1, 'exactly one message');
  const msg = fake.requests[0];
  assert.equal(field(msg, 'Calls'), '100');
  assert.match(msg.body.content, /^100 calls to /);
  assert.match(msg.body.embeds[0].description, /^100 calls to campaign/);
  assert.equal(await srv.metric('sureconnect_alerts_total{result="sent"}'), 100);
  assert.equal(await srv.metric('sureconnect_alert_messages_total{result="sent"}'), 1);
  // A later failure within the interval waits for the next message.
  await srv.route();
  await sleep(1000);
  assert.equal(fake.requests.length, 1);
});

test('429 is honoured: the resend waits for retry_after', async (t) => {
  const fake = await fakeDiscord(t, (r, i) => (i === 0
    ? { status: 429, body: { message: 'You are being rate limited.', retry_after: 1.5, global: false } }
    : { status: 204 }));
  const srv = await startDaemon(t, ['--discord-webhook', `${fake.base}/api/webhooks/3/tok`, '--alert-interval', '1']);
  await srv.route();
  assert.ok(await until(() => fake.requests.length >= 2, 10000), 'no resend');
  const gap = fake.requests[1].at - fake.requests[0].at;
  assert.ok(gap >= 1450, `resent after ${gap} ms`);
  assert.ok(gap < 5000, `resent after ${gap} ms`);
  assert.deepEqual(fake.requests[1].body, fake.requests[0].body);
  assert.equal(await srv.metric('sureconnect_alert_messages_total{result="retried"}'), 1);
  assert.equal(await srv.metric('sureconnect_alert_messages_total{result="sent"}'), 1);
});

test('429 headers: the largest of Retry-After and X-RateLimit-Reset-After is honoured', async (t) => {
  const fake = await fakeDiscord(t, (r, i) => (i === 0
    ? { status: 429, body: { retry_after: 0.2 }, headers: { 'retry-after': '1', 'x-ratelimit-reset-after': '1.8' } }
    : { status: 204 }));
  const srv = await startDaemon(t, ['--discord-webhook', `${fake.base}/api/webhooks/4/tok`, '--alert-interval', '1']);
  await srv.route();
  assert.ok(await until(() => fake.requests.length >= 2, 10000), 'no resend');
  const gap = fake.requests[1].at - fake.requests[0].at;
  assert.ok(gap >= 1750, `resent after ${gap} ms`);
});

test('500 is retried a bounded number of times, then counted as failed', async (t) => {
  const fake = await fakeDiscord(t, () => ({ status: 500, body: { message: 'oops' } }));
  const srv = await startDaemon(t, ['--discord-webhook', `${fake.base}/api/webhooks/5/tok`, '--alert-interval', '1']);
  await srv.route();
  // The first attempt and 3 retries, 0.5 s, 1 s and 2 s apart.
  assert.ok(await until(() => fake.requests.length >= 4, 15000), `only ${fake.requests.length} attempts`);
  const gaps = fake.requests.slice(1).map((r, i) => r.at - fake.requests[i].at);
  assert.ok(gaps[0] >= 450 && gaps[1] >= 950 && gaps[2] >= 1950, JSON.stringify(gaps));
  assert.equal(await until(async () => (await srv.metric('sureconnect_alert_messages_total{result="failed"}')) === 1, 3000), true);
  await sleep(2500);
  assert.equal(fake.requests.length, 4, 'no more attempts');
  assert.equal(await srv.metric('sureconnect_alert_messages_total{result="retried"}'), 3);
  assert.equal(await srv.metric('sureconnect_alerts_total{result="failed"}'), 1);
  assert.equal(await srv.metric('sureconnect_alert_messages_total{result="sent"}'), 0);
  assert.match(srv.log, /event=alert_failed webhook=http:\/\/127\.0\.0\.1:\d+\/api\/webhooks\/5\/\*\*\* campaign=prio detail="HTTP 500"/);
});

test('404 disables the webhook: no further requests, logged once, later alerts dropped', async (t) => {
  const fake = await fakeDiscord(t, () => ({ status: 404, body: { message: 'Unknown Webhook', code: 10015 } }));
  const srv = await startDaemon(t, ['--discord-webhook', `${fake.base}/api/webhooks/6/secret-token`, '--alert-interval', '1']);
  await srv.route();
  assert.ok(await until(() => fake.requests.length >= 1, 10000), 'no alert arrived');
  await sleep(1200); // past the interval
  await srv.route('+18005550102');
  await srv.route();
  await sleep(2500);
  assert.equal(fake.requests.length, 1, 'the disabled webhook got no more requests');
  const lines = srv.log.split('\n').filter((l) => l.includes('event=alert_webhook_disabled'));
  assert.equal(lines.length, 1, srv.log);
  assert.match(lines[0], /webhook=http:\/\/127\.0\.0\.1:\d+\/api\/webhooks\/6\/\*\*\* campaign=prio detail="HTTP 404"/);
  assert.ok(!srv.log.includes('secret-token'), 'the webhook token is never logged');
  assert.equal(await srv.metric('sureconnect_alert_webhooks_disabled'), 1);
  assert.equal(await srv.metric('sureconnect_alerts_total{result="dropped"}'), 2);
  assert.equal(await srv.metric('sureconnect_alert_messages_total{result="retried"}'), 0);
});

test("a campaign's own webhook overrides the global one", async (t) => {
  const fake = await fakeDiscord(t);
  const cfg = fixture();
  cfg.campaigns[3].discord_webhook_url = `${fake.base}/api/webhooks/7/solo`; // campaign "solo"
  const srv = await startDaemon(t, ['--discord-webhook', `${fake.base}/api/webhooks/7/global`, '--alert-interval', '1'], cfg);
  await srv.route('+18005550104'); // solo
  await srv.route('+18005550101'); // prio
  assert.ok(await until(() => fake.requests.length >= 2, 10000), 'alerts missing');
  await sleep(500);
  assert.equal(fake.requests.length, 2);
  const byPath = Object.fromEntries(fake.requests.map((r) => [r.path, field(r, 'Campaign')]));
  assert.deepEqual(byPath, { '/api/webhooks/7/solo': 'Campaign solo (solo)', '/api/webhooks/7/global': 'Campaign prio (prio)' });
});

test('without any webhook nothing is sent', async (t) => {
  const fake = await fakeDiscord(t);
  const srv = await startDaemon(t, ['--alert-interval', '1']);
  await srv.route();
  await sleep(1500);
  assert.equal(fake.requests.length, 0);
  assert.equal(await srv.metric('sureconnect_alert_messages_total{result="sent"}'), 0);
});

// Sequential POST /v1/calls latencies (ms) for `durationMs` or `count` calls.
async function latencies(srv, { count = Infinity, durationMs = Infinity }) {
  const out = [];
  const t0 = Date.now();
  while (out.length < count && Date.now() - t0 < durationMs) {
    const s = process.hrtime.bigint();
    const r = await srv.route();
    out.push(Number(process.hrtime.bigint() - s) / 1e6);
    assert.equal(r.status, 201);
  }
  return out;
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

test('routing latency is unchanged while the webhook hangs, and SIGTERM still stops promptly', async (t) => {
  // Baseline: a webhook that answers at once.
  const quick = await fakeDiscord(t);
  const base = await startDaemon(t, ['--discord-webhook', `${quick.base}/api/webhooks/8/tok`, '--alert-interval', '1']);
  await latencies(base, { count: 20 }); // warm up
  const baseline = await latencies(base, { count: 100 });
  assert.ok(await until(() => quick.requests.length >= 1, 5000));

  // The same against a webhook that never answers, for 10 seconds of routing.
  const stuck = await fakeDiscord(t, () => 'hang');
  const srv = await startDaemon(t, ['--discord-webhook', `${stuck.base}/api/webhooks/9/tok`, '--alert-interval', '1']);
  await latencies(srv, { count: 20 }); // warm up; the first alert goes out and hangs
  assert.ok(await until(() => stuck.requests.length >= 1, 5000), 'the alert never reached the webhook');
  const during = await latencies(srv, { durationMs: 10000 });
  const bm = median(baseline), dm = median(during);
  const max = Math.max(...during);
  t.diagnostic(`baseline median ${bm.toFixed(2)} ms max ${Math.max(...baseline).toFixed(2)} ms; ` +
    `hanging webhook median ${dm.toFixed(2)} ms max ${max.toFixed(2)} ms over ${during.length} calls`);
  assert.ok(max < 1000, `slowest call ${max} ms`);
  assert.ok(dm <= 3 * bm + 20, `median ${dm} ms against ${bm} ms`);

  // A send is still hanging: SIGTERM stops the daemon promptly and cleanly.
  const t0 = Date.now();
  srv.child.kill('SIGTERM');
  const r = await srv.exited;
  const took = Date.now() - t0;
  assert.equal(r.code, 0, srv.log);
  assert.ok(took < 3000, `stopped after ${took} ms`);
  assert.match(srv.log, /event=stopped/);
});
