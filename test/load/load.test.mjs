// load.test.mjs -- the load and invariant test (issue 8, item 2): LOAD_SECONDS (default 30)
// of concurrent callers and agents changing under them, with the invariants of
// invariants.mjs checked on database snapshots throughout and on everything at the end.
// `make test` runs it briefly, `make test-load` for minutes (docs/TESTING.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLoad } from './workload.mjs';
import { checkEnd, recoveryCorrections } from './invariants.mjs';
import { assertCoverage } from './coverage.mjs';

const SECONDS = Number(process.env.LOAD_SECONDS || 30);
const CLIENTS = Number(process.env.LOAD_CLIENTS || 24);

test(`${CLIENTS} callers for ${SECONDS} s: limits, counts, final states and callbacks hold throughout`,
  { timeout: (SECONDS + 240) * 1000 }, async (t) => {
    const res = await runLoad({ seconds: SECONDS, clients: CLIENTS, log: (m) => t.diagnostic(m) });
    t.diagnostic(JSON.stringify(res.stats));
    assert.deepEqual(res.violations, [], 'invariants during the run');
    const end = checkEnd(res.full, res.records, { sentExternalIds: res.sent });
    assert.deepEqual(end.slice(0, 40), [], 'invariants at the end');
    assert.equal(res.full.calls.size, res.records.filter((r) => r.id).length, 'one stored call per call routed');
    // Counts never drifted: the recovery sweep (every second) found nothing to correct.
    const fixes = recoveryCorrections(res.logs.join(''));
    assert.equal(fixes.call_counts || 0, 0, `count corrections ${JSON.stringify(fixes)}`);
    assert.match(res.metrics, /^sureconnect_active_calls 0$/m);
    assertCoverage(res, SECONDS);
  });
