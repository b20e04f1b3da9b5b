// coverage.mjs -- the load did what it is meant to exercise (else the invariants would hold
// for nothing): calls connected, answered, declined, handed off from the queue, abandoned,
// timed out in the queue, turned into callbacks; limits changed, agents paused and lapsed;
// many snapshots checked.
import assert from 'node:assert/strict';

export function assertCoverage(res, seconds) {
  const s = res.stats;
  const atLeast = (v, n, what) => assert.ok(v >= n, `${what}: ${v} < ${n} (${JSON.stringify(s)})`);
  atLeast(res.records.length, 3 * seconds, 'calls');
  atLeast(s.connects, seconds, 'connects');
  atLeast(s.answered, seconds / 2, 'answers');
  atLeast(s.noAnswers, 5, 'no-answers');
  atLeast(s.handoffs, 3, 'queue hand-offs');
  atLeast(s.abandons, 2, 'abandons');
  atLeast(s.callbacks.no_agents || 0, 1, 'no_agents callbacks');
  atLeast(s.limitChanges, 5, 'limit changes');
  atLeast(s.pauses, 3, 'pauses');
  atLeast(s.presenceLapses, 1, 'presence lapses');
  atLeast(s.samples, seconds, 'database snapshots');
  atLeast(s.announcedCallbacks, 1, 'callbacks announced on the event stream');
  const statuses = {};
  for (const c of res.full.calls.values()) statuses[c.status] = (statuses[c.status] || 0) + 1;
  atLeast(statuses.completed || 0, seconds / 2, 'completed calls');
  atLeast(statuses.abandoned || 0, 2, 'abandoned calls');
  atLeast(statuses.callback || 0, 2, 'callback calls');
  const reasons = {};
  for (const b of res.full.callbacks.values()) reasons[b.reason] = (reasons[b.reason] || 0) + 1;
  atLeast(reasons.queue_timeout || 0, 1, 'queue_timeout callbacks');
}
