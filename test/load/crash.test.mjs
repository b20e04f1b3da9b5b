// crash.test.mjs -- the crash test (issue 8, item 3): the load of workload.mjs for
// CRASH_SECONDS (default 30) while the daemon is killed with SIGKILL CRASH_KILLS times
// (default 3) at random moments and restarted on the same database. Nothing committed
// before a kill is lost, the counts agree with the claims right after each restart, every
// acknowledged call, queue entry and callback is there at the end, and the invariants of
// the load test hold throughout (docs/TESTING.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLoad } from './workload.mjs';
import { checkEnd } from './invariants.mjs';
import { assertCoverage } from './coverage.mjs';

const SECONDS = Number(process.env.CRASH_SECONDS || 30);
const KILLS = Number(process.env.CRASH_KILLS || 3);
const CLIENTS = Number(process.env.LOAD_CLIENTS || 24);

test(`${KILLS} kill -9 in ${SECONDS} s of load: nothing acknowledged is lost, invariants hold after each restart`,
  { timeout: (SECONDS + 300) * 1000 }, async (t) => {
    const res = await runLoad({ seconds: SECONDS, clients: CLIENTS, kills: KILLS, log: (m) => t.diagnostic(m) });
    t.diagnostic(JSON.stringify(res.stats));
    assert.equal(res.stats.kills, KILLS);
    assert.deepEqual(res.violations, [], 'invariants during the run and across the kills');
    const end = checkEnd(res.full, res.records, { sentExternalIds: res.sent });
    assert.deepEqual(end.slice(0, 40), [], 'invariants at the end');
    // Every call stored was asked for and is known to a client (a route whose answer was
    // lost is repeated with the same external id until it is acknowledged or refused as a
    // duplicate, which finds the call).
    const known = new Set(res.records.filter((r) => r.id).map((r) => r.id));
    for (const id of res.full.calls.keys()) assert.ok(known.has(id), `call ${id} not known to any client`);
    assert.ok(res.stats.downErrors > 0, 'the clients saw the daemon go away');
    assertCoverage(res, SECONDS);
  });
