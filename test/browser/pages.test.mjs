// pages.test.mjs -- the agent console and the admin dashboard in a real browser (Debian's
// Chromium, headless, driven by playwright-core) against the real daemon: an agent signs in
// and becomes available on the dashboard, a routed call pops up on the console with the
// caller's details, Accept connects it, hanging up frees the agent, Decline fails over to the
// second agent's console, paused and closed consoles send the next call to a callback that
// the dashboard shows and completes, a rule edited on the dashboard changes the next
// decision, and bad values show the API's error next to the field. Screenshots of both pages
// (desktop and phone sizes) go to build/screenshots/. Every wait is for a condition.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, existsSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startWithFixture, TX } from '../e2e/harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SHOTS = resolve(here, '../../build/screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const WAIT = 20000; // generous: a loaded 2-core machine

let browser;
before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run make deps (or set CHROMIUM)`);
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});
after(async () => { if (browser) await browser.close(); });

// Polls until the text of `locator` matches `re` (the locator may appear later).
async function waitText(locator, re, what = String(re)) {
  const t0 = Date.now();
  let last = null;
  for (;;) {
    try {
      if ((await locator.count()) > 0) {
        last = await locator.first().textContent({ timeout: 1000 });
        if (re.test(last)) return last;
      }
    } catch { /* detached while re-rendering: try again */ }
    if (Date.now() - t0 > WAIT) throw new Error(`timed out waiting for ${what}; last text: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function openPage(srv, path, viewport = { width: 1280, height: 800 }) {
  const ctx = await browser.newContext({ viewport });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.errors = errors;
  await page.goto(srv.url + path);
  return page;
}

async function dashboard(srv, viewport) {
  const page = await openPage(srv, '/', viewport);
  await page.fill('#signin-key', srv.key);
  await page.click('#signin button[type=submit]');
  await waitText(page.locator('#conn'), /live/, 'the dashboard stream');
  return page;
}

async function console_(srv, agent, viewport) {
  const page = await openPage(srv, '/agent', viewport);
  await page.fill('#signin-agent', agent);
  await page.fill('#signin-token', srv.token(agent));
  await page.click('#signin button[type=submit]');
  await waitText(page.locator('#conn'), /connected/, `${agent}'s console stream`);
  return page;
}

const availability = (page, agent) => page.locator(`#agents tr[data-agent="${agent}"] .availability`);
const route = async (srv, to = '+18005550101') => {
  const r = await srv.request('POST', '/v1/calls', { body: { to, from: TX } });
  assert.equal(r.status, 201, r.text);
  return r.json;
};

test('calls reach the agent console and show live on the dashboard', async (t) => {
  const srv = await startWithFixture(t, { agents: [] }); // nobody registered: consoles do it
  const dash = await dashboard(srv);
  await waitText(availability(dash, 'a1'), /^not connected$/, 'a1 not connected');

  // Signing in opens the agent's stream: available on the dashboard at once.
  const a1 = await console_(srv, 'a1');
  await waitText(a1.locator('#status'), /^available$/, 'a1 console status');
  await waitText(availability(dash, 'a1'), /^available$/, 'a1 available on the dashboard');

  // A call routed through the API pops up with the caller's details.
  const call = await route(srv);
  assert.equal(call.agent.id, 'a1');
  await a1.locator('#offer').waitFor({ state: 'visible', timeout: WAIT });
  assert.equal(await a1.locator('#offer').getAttribute('data-call-id'), call.call_id);
  assert.equal(await a1.textContent('#offer-caller'), TX);
  assert.equal(await a1.textContent('#offer-state'), 'TX');
  assert.equal(await a1.textContent('#offer-campaign'), 'prio');
  assert.equal(await a1.textContent('#offer-category'), 'medicare');
  await waitText(a1.locator('#offer-waited'), /^\d+s$/, 'time waited');
  await waitText(dash.locator(`#active tr[data-call-id="${call.call_id}"]`), /ringing/, 'ringing on the dashboard');
  await a1.screenshot({ path: `${SHOTS}/console-incoming-1280x800.png`, fullPage: true });

  // Accept: connected on the dashboard, the agent at capacity.
  await a1.click('#accept');
  await waitText(dash.locator(`#active tr[data-call-id="${call.call_id}"]`), /connected/, 'connected on the dashboard');
  await waitText(availability(dash, 'a1'), /^at capacity 1\/1$/, 'a1 at capacity');
  await waitText(a1.locator('#offer-status'), /connected/, 'connected on the console');
  await dash.screenshot({ path: `${SHOTS}/dashboard-connected-1280x800.png`, fullPage: true });

  // Hanging up ends the call and frees the agent.
  await a1.click('#hangup');
  await waitText(availability(dash, 'a1'), /^available$/, 'a1 free again');
  await a1.locator('#offer').waitFor({ state: 'hidden', timeout: WAIT });
  await waitText(dash.locator(`#calls tr[data-call-id="${call.call_id}"]`), /completed/, 'completed in recent calls');
  await waitText(a1.locator(`#calls tr[data-call-id="${call.call_id}"]`), /completed/, "the console's calls today");

  // Decline fails the call over to the second agent's console.
  const a2 = await console_(srv, 'a2', { width: 390, height: 844 });
  await waitText(availability(dash, 'a2'), /^available$/, 'a2 available');
  const second = await route(srv);
  assert.equal(second.agent.id, 'a1');
  await a1.locator('#offer').waitFor({ state: 'visible', timeout: WAIT });
  await a1.click('#decline');
  await a2.locator('#offer').waitFor({ state: 'visible', timeout: WAIT });
  assert.equal(await a2.locator('#offer').getAttribute('data-call-id'), second.call_id);
  await a1.locator('#offer').waitFor({ state: 'hidden', timeout: WAIT });
  await waitText(dash.locator(`#active tr[data-call-id="${second.call_id}"]`), /a2.*ringing/, 'ringing at a2');
  await a2.screenshot({ path: `${SHOTS}/console-incoming-390x844.png`, fullPage: true });
  await a2.click('#accept');
  await waitText(dash.locator(`#active tr[data-call-id="${second.call_id}"]`), /connected/, 'a2 connected');
  await a2.click('#hangup');
  await waitText(availability(dash, 'a2'), /^available$/, 'a2 free');

  // a2 pauses; a1 closes the tab: the next call finds nobody and becomes a callback.
  await a2.click('#pause');
  await waitText(availability(dash, 'a2'), /^paused$/, 'a2 paused');
  await a1.context().close();
  await waitText(availability(dash, 'a1'), /^not connected$/, 'a1 gone when the tab closed');
  const third = await route(srv);
  assert.equal(third.action, 'callback');
  const cbRow = dash.locator(`#callbacks tr[data-callback-id="${third.callback_id}"]`);
  await waitText(cbRow, /no agents/, 'the callback on the dashboard');
  await waitText(dash.locator(`#calls tr[data-call-id="${third.call_id}"]`), /callback/, 'the call as a callback');

  // Its routing trace says why nobody took it.
  await dash.click(`#calls tr[data-call-id="${third.call_id}"] .trace-btn`);
  await waitText(dash.locator('#trace tr[data-rule="r-prio"]'), /a1: not connected.*a2: paused.*a3: not connected/, 'the trace');
  await dash.screenshot({ path: `${SHOTS}/dashboard-trace-1280x800.png`, fullPage: true });

  // The dashboard completes the callback.
  await cbRow.locator('select').selectOption('a2');
  await cbRow.locator('button').click();
  await cbRow.waitFor({ state: 'detached', timeout: WAIT });
  const cb = await srv.request('GET', '/v1/callbacks?status=done');
  assert.equal(cb.json.callbacks[0].completed_by, 'a2');

  // Resume from the console: available again.
  await a2.click('#resume');
  await waitText(availability(dash, 'a2'), /^available$/, 'a2 resumed');
  assert.deepEqual([...dash.errors, ...a2.errors], []);
});

test('the dashboard edits rules and agents and shows the API errors by the field', async (t) => {
  const srv = await startWithFixture(t);
  const dash = await dashboard(srv);
  await dash.selectOption('#campaign-pick', 'prio');
  const prio = '#campaign-form [data-field="rules[0].members[0].priority"]';
  await dash.locator(prio).waitFor({ timeout: WAIT });

  // a1 goes last in the priority rule: the next call goes to a2.
  await dash.fill(prio, '9');
  await dash.click('#campaign-save');
  await waitText(dash.locator('#campaign-form .form-ok'), /Saved/, 'the campaign saved');
  const stored = await srv.request('GET', '/v1/campaigns/prio');
  assert.equal(stored.json.rules[0].members.find((m) => m.agent === 'a1').priority, 9);
  const call = await route(srv);
  assert.equal(call.agent.id, 'a2');

  // A bad weight: the API's message next to that member's weight; nothing saved.
  const weight = '#campaign-form [data-field="rules[0].members[1].weight"]';
  await dash.fill(weight, '0');
  await dash.click('#campaign-save');
  const note = await waitText(dash.locator(`${weight} + .field-error`), /between 1 and 1000/, 'the weight error');
  assert.match(note, /got 0/);
  assert.equal(await dash.locator(weight).getAttribute('aria-invalid'), 'true');
  await waitText(dash.locator('#campaign-form .form-error'), /rules\[0\]\.members\[1\]\.weight/, 'the form error');
  // A bad state in the rule's list points at the list.
  await dash.fill(weight, '1');
  await dash.fill('#campaign-form [data-field="rules[0].states"]', 'TX, ZZ');
  await dash.click('#campaign-save');
  await waitText(dash.locator('#campaign-form [data-field="rules[0].states"] + .field-error'), /unknown state "ZZ"/, 'the state error');
  assert.equal((await srv.request('GET', '/v1/campaigns/prio')).json.rules[0].states.length, 0);
  await dash.setViewportSize({ width: 390, height: 844 });
  await dash.screenshot({ path: `${SHOTS}/dashboard-form-error-390x844.png`, fullPage: true });
  await dash.setViewportSize({ width: 1280, height: 800 });

  // Restricting the rule to CA: a TX caller now gets a callback, the trace says why.
  await dash.fill('#campaign-form [data-field="rules[0].states"]', 'CA');
  await dash.click('#campaign-save');
  await waitText(dash.locator('#campaign-form .form-ok'), /Saved/, 'the rule saved');
  const cb = await route(srv);
  assert.equal(cb.action, 'callback');
  assert.equal(cb.trace.rules[0].verdict, 'state_mismatch');

  // Agents: a bad limit shows next to the field; a good one is saved and shown.
  await dash.click('#agents tr[data-agent="a3"] button');
  const max = '#agent-form [data-field="max_concurrent"]';
  await dash.fill(max, '0');
  await dash.click('#agent-save');
  await waitText(dash.locator(`${max} + .field-error`), /between 1 and 1000/, 'the agent error');
  await dash.fill(max, '2');
  await dash.click('#agent-save');
  await waitText(dash.locator('#agent-form .form-ok'), /Saved/, 'the agent saved');
  await waitText(dash.locator('#agents tr[data-agent="a3"] td.num'), /^0\/2$/, 'the new limit');
  assert.equal((await srv.request('GET', '/v1/agents/a3')).json.max_concurrent, 2);
  await dash.screenshot({ path: `${SHOTS}/dashboard-1280x800.png`, fullPage: true });
  assert.deepEqual(dash.errors, []);
});

// Twilio mode (docs/WEB.md). Twilio is unreachable here, so before the page loads a fake
// Twilio.Device stands in for the SDK's (the vendored script still loads and keeps it, as
// it keeps any Twilio.Device already defined). The fake records what the page does with it
// and lets the test fire the SDK's events.
const FAKE_DEVICE = () => {
  const log = { tokens: [], registers: 0, updated: [], destroyed: 0, calls: [] };
  class Emitter {
    constructor() { this.handlers = {}; }
    on(name, fn) { (this.handlers[name] ||= []).push(fn); return this; }
    emit(name, ...args) { for (const fn of this.handlers[name] || []) fn(...args); }
  }
  class FakeCall extends Emitter {
    constructor(params) { super(); this.parameters = params; this.did = []; }
    accept() { this.did.push('accept'); this.emit('accept', this); }
    reject() { this.did.push('reject'); this.emit('reject'); }
    disconnect() { this.did.push('disconnect'); this.emit('disconnect', this); }
  }
  class FakeDevice extends Emitter {
    constructor(token) { super(); log.tokens.push(token); window.__device = this; }
    async register() { log.registers++; setTimeout(() => this.emit('registered'), 10); }
    updateToken(token) { log.updated.push(token); }
    destroy() { log.destroyed++; }
  }
  window.__twilio = {
    log,
    ring(params) { const c = new FakeCall(params); log.calls.push(c); window.__device.emit('incoming', c); return log.calls.length - 1; },
    did: (i) => log.calls[i].did,
  };
  window.Twilio = { Device: FakeDevice };
};

const ACCOUNT = 'AC' + '0123456789abcdef'.repeat(2);
const TWILIO_ARGS = ['--twilio-account-sid', ACCOUNT, '--twilio-api-key-sid', 'SK' + 'fedcba9876543210'.repeat(2),
  '--twilio-api-key-secret', 'not-a-real-secret'];
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

async function until(fn, what) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > WAIT) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('Twilio mode: the console registers a Twilio.Device and answers with the SDK', async (t) => {
  const srv = await startWithFixture(t, { agents: [], args: TWILIO_ARGS });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  t.after(() => ctx.close());
  await ctx.addInitScript(FAKE_DEVICE);
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const vendored = [];
  page.on('response', (r) => { if (r.url().endsWith('/vendor/twilio.min.js')) vendored.push(r.status()); });
  const tokenGets = [];
  page.on('response', (r) => { if (r.url().endsWith('/softphone-token')) tokenGets.push(r.status()); });
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST') posts.push(r.url()); });
  await page.goto(srv.url + '/agent');
  await page.fill('#signin-agent', 'a1');
  await page.fill('#signin-token', srv.token('a1'));
  await page.click('#signin button[type=submit]');
  await waitText(page.locator('#conn'), /connected/, "a1's console stream");

  // The page fetched a token, loaded the vendored SDK and registered the device with the token.
  await waitText(page.locator('#phone'), /^registered$/, 'the device registered');
  assert.equal(await page.locator('#softphone').getAttribute('data-mode'), 'twilio');
  assert.deepEqual(tokenGets, [200]);
  assert.ok(vendored.length === 1 && (vendored[0] === 200 || vendored[0] === 304), `vendored SDK: ${vendored}`);
  const log = await page.evaluate(() => ({ ...window.__twilio.log, calls: undefined }));
  assert.equal(log.tokens.length, 1);
  assert.equal(log.registers, 1);
  const c = claims(log.tokens[0]);
  assert.equal(c.grants.identity, 'a1');
  assert.equal(c.grants.voice.incoming.allow, true);
  assert.equal(c.sub, ACCOUNT);

  // tokenWillExpire: a new token from the daemon goes to device.updateToken.
  await page.evaluate(() => window.__device.emit('tokenWillExpire'));
  const updated = await until(() => page.evaluate(() => window.__twilio.log.updated[0]), 'updateToken');
  assert.equal(claims(updated).grants.identity, 'a1');

  // Registration events show in the status area.
  await page.evaluate(() => window.__device.emit('error', { message: 'fake signalling error', code: 31005 }));
  await waitText(page.locator('#phone-detail'), /fake signalling error/, 'the device error');
  await page.evaluate(() => window.__device.emit('registered'));
  await waitText(page.locator('#phone'), /^registered$/, 'registered again');

  // A routed call: the call.offered event pops up, Accept waits for the SDK's call; the
  // SDK's incoming call enables it and Accept calls call.accept() (no POST by the page).
  const call = await route(srv);
  assert.equal(call.agent.id, 'a1');
  await page.locator('#offer').waitFor({ state: 'visible', timeout: WAIT });
  assert.equal(await page.textContent('#offer-caller'), TX);
  assert.equal(await page.locator('#accept').isDisabled(), true);
  const first = await page.evaluate((from) => window.__twilio.ring({ From: from, CallSid: 'CA' + '1'.repeat(32) }), TX);
  await until(async () => !(await page.locator('#accept').isDisabled()), 'Accept enabled by the incoming call');
  assert.equal(await page.textContent('#offer-caller'), TX);
  assert.equal(await page.locator('#offer').getAttribute('data-call-id'), call.call_id);
  await page.click('#accept');
  assert.deepEqual(await page.evaluate((i) => window.__twilio.did(i), first), ['accept']);
  await waitText(page.locator('#offer-status'), /^connected$/, 'connected on the console');
  await page.locator('#hangup').waitFor({ state: 'visible', timeout: WAIT });
  const r = await srv.request('GET', `/v1/calls/${call.call_id}`);
  assert.equal(r.json.status, 'ringing', 'the page did not report the answer: Twilio does');
  // Hang up is call.disconnect(); the disconnect clears the pop-up.
  await page.click('#hangup');
  assert.deepEqual(await page.evaluate((i) => window.__twilio.did(i), first), ['accept', 'disconnect']);
  await page.locator('#offer').waitFor({ state: 'hidden', timeout: WAIT });
  const end = await srv.request('POST', `/v1/calls/${call.call_id}/ended`);
  assert.equal(end.status, 200, end.text);

  // An incoming call before (or without) any call.offered shows the caller from the SDK;
  // Decline is call.reject().
  const other = '+13055550177';
  const second = await page.evaluate((from) => window.__twilio.ring({ From: from, CallSid: 'CA' + '2'.repeat(32) }), other);
  await page.locator('#offer').waitFor({ state: 'visible', timeout: WAIT });
  await waitText(page.locator('#offer-caller'), /^\+13055550177$/, 'the caller from call.parameters.From');
  await page.click('#decline');
  assert.deepEqual(await page.evaluate((i) => window.__twilio.did(i), second), ['reject']);
  await page.locator('#offer').waitFor({ state: 'hidden', timeout: WAIT });

  // A call cancelled by the caller clears the pop-up too.
  const third = await page.evaluate(() => window.__twilio.ring({ From: '+15125550124' }));
  await page.locator('#offer').waitFor({ state: 'visible', timeout: WAIT });
  await page.evaluate((i) => window.__twilio.log.calls[i].emit('cancel'), third);
  await page.locator('#offer').waitFor({ state: 'hidden', timeout: WAIT });
  await page.screenshot({ path: `${SHOTS}/console-twilio-1280x800.png`, fullPage: true });

  assert.deepEqual(posts.filter((u) => /\/(answered|no-answer|ended)$/.test(u)), [], 'no call outcome posted by the page');
  // Signing out destroys the device.
  await page.click('#signout');
  assert.equal(await page.evaluate(() => window.__twilio.log.destroyed), 1);
  assert.deepEqual(errors, []);
});

test('built-in mode when the daemon has no Twilio settings (503 not_configured)', async (t) => {
  const srv = await startWithFixture(t, { agents: [] });
  const page = await console_(srv, 'a1');
  await until(async () => (await page.locator('#softphone').getAttribute('data-mode')) === 'built-in', 'built-in mode');
  assert.match(await page.textContent('#softphone'), /built-in/);
  assert.equal(await page.locator('#phone').isHidden(), true);
  assert.equal(await page.evaluate(() => typeof window.Twilio), 'undefined', 'the SDK is not loaded');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
