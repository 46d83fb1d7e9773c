// `npm run bench:memory [-- --write]`: gatehouse's resident memory idle and after a flood of unauthenticated requests.
// Each scenario is { name, target(upstream), path }; cloud-mode and session-count rows are more entries in SCENARIOS.
// Env: BENCH_FLOOD (requests per flood, default 100000). Written to bench/MEMORY.md with --write.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gatehouseTarget } from './lib/gatehouse-target.js';
import { flood } from './lib/load.js';
import { memoryKiB } from './lib/processes.js';
import { machineHeader } from './lib/report.js';
import { startUpstream } from './lib/targets.js';

const FLOOD_REQUESTS = Number(process.env.BENCH_FLOOD ?? 100_000);
if (!Number.isInteger(FLOOD_REQUESTS) || FLOOD_REQUESTS < 1) throw new Error(`BENCH_FLOOD must be a positive integer (got ${process.env.BENCH_FLOOD})`);
const CONNECTIONS = 50;
const IDLE_MS = 1000;
const SETTLE_MS = 2000;
const RESULTS_FILE = fileURLToPath(new URL('MEMORY.md', import.meta.url));

/**
 * @typedef {object} MemoryScenario
 * @property {string} name
 * @property {(upstream: import('./lib/targets.js').Upstream) => import('./lib/targets.js').Target} target
 * @property {string} path requested by the flood
 */

/** @type {MemoryScenario[]} */
const SCENARIOS = [{ name: 'local mode, unauthenticated GET /fixed', target: (upstream) => gatehouseTarget(upstream), path: '/fixed' }];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (kib) => (kib / 1024).toFixed(1);

async function measureScenario(scenario, upstream) {
  const target = scenario.target(upstream);
  await target.start();
  try {
    await sleep(IDLE_MS);
    const idle = memoryKiB(target.pid);
    const floods = [];
    for (let n = 1; n <= 2; n++) {
      console.error(`bench: ${scenario.name}: flood ${n} of 2, ${FLOOD_REQUESTS} requests`);
      const answered = await flood({ url: `${target.url}${scenario.path}`, connections: CONNECTIONS, amount: FLOOD_REQUESTS });
      await sleep(SETTLE_MS);
      floods.push({ answered, settled: memoryKiB(target.pid) });
    }
    const [first, second] = floods;
    const statuses = Object.entries(second.answered.statuses).map(([status, count]) => `${status}: ${count}`).join(', ');
    return `| ${scenario.name} | ${mib(idle.rss)} | ${mib(first.settled.rss)} | ${mib(second.settled.rss)} | ${mib(second.settled.rss - first.settled.rss)} | ${mib(second.settled.peak)} | ${second.answered.requests} (${statuses}; errors: ${second.answered.errors}) |`;
  } finally {
    await target.stop();
  }
}

async function main() {
  const upstream = await startUpstream();
  try {
    const lines = [
      '| scenario | RSS idle MiB | after flood 1 MiB | after flood 2 MiB | growth in flood 2 MiB | peak RSS MiB | flood 2 answered |',
      '|---|--:|--:|--:|--:|--:|---|',
    ];
    for (const scenario of SCENARIOS) lines.push(await measureScenario(scenario, upstream));
    const report = [
      ...machineHeader('gatehouse memory'),
      `- two floods of autocannon -c ${CONNECTIONS} -a ${FLOOD_REQUESTS}; RSS from /proc/<pid>/status ${IDLE_MS} ms after start (idle) and ${SETTLE_MS} ms after each flood.` +
        ' The first flood grows the V8 heap to its working size; growth during the second is what a leak would show',
      '',
      ...lines,
      '',
    ].join('\n');
    process.stdout.write(report);
    if (process.argv.includes('--write')) {
      writeFileSync(RESULTS_FILE, report);
      console.error(`bench: wrote ${RESULTS_FILE}`);
    }
  } finally {
    await upstream.stop();
  }
}

main().catch((error) => {
  console.error(`bench: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
