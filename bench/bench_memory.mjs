// bench_memory.mjs -- memory of the daemon with a large configuration (issue 8): imports
// 10,000 agents and 1,000 rules (50 campaigns x 20 rules of 50 members) with the CLI, starts
// the real daemon on that database, registers every agent's softphone over HTTP, routes and
// ends calls from callers in many states, and reads the daemon's resident memory from
// /proc/PID/status (VmRSS idle and after the load, VmHWM the peak). The same on an empty
// database gives the baseline. Several runs; the medians are reported, and RESULT lines
// for the table of `make bench` (see bench/include/bench_report.h).
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, startServer } from '../test/e2e/harness.mjs';

const AGENTS = 10000;
const CAMPAIGNS = 50;
const RULES_PER_CAMPAIGN = 20; // 1,000 rules
const MEMBERS_PER_RULE = 50;
const CALLS = Number(process.env.BENCH_MEMORY_CALLS || 1000);
const RUNS = Number(process.env.BENCH_MEMORY_RUNS || 3);
const CONCURRENCY = 16;
// Callers from a dozen states (area codes: TX, FL, CA, NY, IL, MA, GA, WA, AZ, OH, PA, CO).
const CALLERS = ['512', '305', '415', '212', '312', '617', '404', '206', '602', '614', '215', '303'];
const STATE_SETS = [['TX', 'FL'], ['CA', 'NY'], ['IL', 'MA'], ['GA', 'WA'], ['AZ', 'OH'], ['PA', 'CO']];

// The large configuration in the import format.
function bigConfig() {
  const agents = [];
  for (let i = 0; i < AGENTS; i++) {
    agents.push({ id: `a${i}`, name: `Agent ${i}`, status: 'active', max_concurrent: 2,
      states: [], categories: [], softphone: { type: 'client', address: `a${i}` } });
  }
  const campaigns = [];
  for (let c = 0; c < CAMPAIGNS; c++) {
    const rules = [];
    for (let r = 0; r < RULES_PER_CAMPAIGN; r++) {
      const first = ((c * RULES_PER_CAMPAIGN + r) * MEMBERS_PER_RULE) % AGENTS;
      const members = [];
      for (let m = 0; m < MEMBERS_PER_RULE; m++) {
        members.push({ agent: `a${(first + m) % AGENTS}`, priority: m + 1, weight: 1 + (m % 5) });
      }
      const last = r === RULES_PER_CAMPAIGN - 1;
      rules.push({ id: `c${c}r${r}`, name: `Campaign ${c} rule ${r}`, position: r + 1, enabled: true,
        states: last ? [] : STATE_SETS[r % STATE_SETS.length], categories: [],
        mode: ['priority', 'round_robin', 'weighted'][r % 3], members });
    }
    campaigns.push({ id: `c${c}`, name: `Campaign ${c}`, default_category: 'medicare', ring_timeout_s: 20,
      queue: { enabled: false, max_size: 50, max_wait_s: 300, hold_music_url: null },
      friendly_message: 'Sorry, everyone is busy; we will call you back.', discord_webhook_url: null,
      tracking_numbers: [{ number: `+1800555${String(c).padStart(4, '0')}`, category: null }], rules });
  }
  return { agents, campaigns };
}

// Resident and peak memory of a process, in MiB.
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)[1]);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
}

// Runs `n` jobs with `width` of them in flight at once.
async function pool(n, width, job) {
  let next = 0;
  const worker = async () => { while (next < n) await job(next++); };
  await Promise.all(Array.from({ length: width }, worker));
}

function must(r, what) {
  if (r.status < 200 || r.status > 299) throw new Error(`${what}: ${r.status} ${r.text}`);
  return r.json;
}

// One run: a daemon on a fresh database (empty, or with the big configuration); returns
// its memory when idle, and after registering every agent and routing CALLS calls.
async function run(configFile) {
  const dir = mkdtempSync(join(tmpdir(), 'sc_bench_mem_'));
  const db = join(dir, 'bench.db');
  let srv = null;
  try {
    cli(db, 'migrate');
    if (configFile) cli(db, 'import', configFile);
    const key = cli(db, 'key', 'create', '--name', 'bench').trim();
    srv = await startServer({ shared: { db, key }, threads: 4 });
    const idle = memory(srv.child.pid);
    if (!configFile) return { idle: idle.rss };
    const tp = process.hrtime.bigint();
    await pool(AGENTS, CONCURRENCY, async (i) =>
      must(await srv.request('POST', `/v1/agents/a${i}/presence`, { body: { expires_s: 3600 } }), 'presence'));
    const presence = AGENTS / (Number(process.hrtime.bigint() - tp) / 1e9);
    if (process.env.BENCH_MEMORY_VERBOSE) console.log(`  routing calls (daemon pid ${srv.child.pid})`);
    let connected = 0;
    const t0 = process.hrtime.bigint();
    await pool(CALLS, CONCURRENCY, async (i) => {
      const to = `+1800555${String(i % CAMPAIGNS).padStart(4, '0')}`;
      const from = `+1${CALLERS[i % CALLERS.length]}555${String(i % 10000).padStart(4, '0')}`;
      const call = must(await srv.request('POST', '/v1/calls', { body: { to, from } }), 'route');
      if (call.action === 'connect') connected++;
      must(await srv.request('POST', `/v1/calls/${call.call_id}/ended`, { body: {} }), 'end');
    });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (connected < CALLS * 0.9) throw new Error(`only ${connected} of ${CALLS} calls connected`);
    const loaded = memory(srv.child.pid);
    return { idle: idle.rss, loaded: loaded.rss, peak: loaded.hwm, pairs: CALLS / seconds, presence };
  } finally {
    if (srv) {
      const r = await srv.stop();
      if (r.code !== 0) console.error(`bench_memory: daemon exit ${JSON.stringify(r)}\n${srv.log}`);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const report = (figure, value) => console.log(`RESULT|memory|${figure}|${value.toFixed(1)}|MiB|-|-`);

const dir = mkdtempSync(join(tmpdir(), 'sc_bench_cfg_'));
try {
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(bigConfig()));
  console.log(`daemon memory: ${AGENTS} agents, ${CAMPAIGNS * RULES_PER_CAMPAIGN} rules of ` +
    `${MEMBERS_PER_RULE} members, ${CALLS} calls routed and ended per run, ${RUNS} runs`);
  const empty = [];
  const big = [];
  for (let i = 0; i < RUNS; i++) {
    empty.push(await run(null));
    big.push(await run(file));
    console.log(`  run ${i + 1}: empty database idle ${empty[i].idle.toFixed(1)} MiB; large configuration` +
      ` idle ${big[i].idle.toFixed(1)} MiB, after the calls ${big[i].loaded.toFixed(1)} MiB,` +
      ` peak ${big[i].peak.toFixed(1)} MiB; ${big[i].pairs.toFixed(0)} route-and-end pairs/s and ${big[i].presence.toFixed(0)} presence requests/s (node client, ${CONCURRENCY} in flight)`);
  }
  report('RSS, empty database, idle', median(empty.map((r) => r.idle)));
  report('RSS, 10,000 agents + 1,000 rules, idle', median(big.map((r) => r.idle)));
  report(`RSS, 10,000 agents + 1,000 rules, after ${CALLS} calls`, median(big.map((r) => r.loaded)));
  report('peak RSS (VmHWM), 10,000 agents + 1,000 rules', median(big.map((r) => r.peak)));
  console.log(`RESULT|memory|route-and-end pairs/s with 10,000 agents + 1,000 rules|${median(big.map((r) => r.pairs)).toFixed(0)}|pairs/s|-|-`);
  console.log(`RESULT|memory|presence requests/s with 10,000 agents + 1,000 rules|${median(big.map((r) => r.presence)).toFixed(0)}|requests/s|-|-`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
