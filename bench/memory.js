// `npm run bench:memory [-- --write]`: gatehouse's resident memory idle and after a flood of unauthenticated requests.
// Each scenario is { name, target(upstream), path }; cloud-mode and session-count rows are more entries in SCENARIOS.
// Env: BENCH_FLOOD (requests per flood, default 100000), BENCH_SESSIONS (session rows: count or count@heap-MiB). Written to bench/MEMORY.md with --write.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { gatehouseTarget } from './lib/gatehouse-target.js';
import { flood } from './lib/load.js';
import { memoryCgroup } from './lib/memory-cgroup.js';
import { makeTempDir, memoryKiB, startNodeServer, stopChild } from './lib/processes.js';
import { machineHeader, publishReport } from './lib/report.js';
import { startUpstream } from './lib/targets.js';

const FLOOD_REQUESTS = Number(process.env.BENCH_FLOOD ?? 100_000);
if (!Number.isInteger(FLOOD_REQUESTS) || FLOOD_REQUESTS < 1) throw new Error(`BENCH_FLOOD must be a positive integer (got ${process.env.BENCH_FLOOD})`);
const CONNECTIONS = 50;
const IDLE_MS = 1000;
const SETTLE_MS = 2000;
const RESULTS_FILE = fileURLToPath(new URL('MEMORY.md', import.meta.url));
const SESSION_CHILD = fileURLToPath(new URL('lib/session-memory-child.js', import.meta.url));
const SESSION_BYTES_CHILD = fileURLToPath(new URL('lib/session-bytes-child.js', import.meta.url));

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
    const statuses = Object.entries(second.answered.statuses)
      .map(([status, count]) => `${status}: ${count}`)
      .join(', ');
    return `| ${scenario.name} | ${mib(idle.rss)} | ${mib(first.settled.rss)} | ${mib(second.settled.rss)} | ${mib(second.settled.rss - first.settled.rss)} | ${mib(second.settled.peak)} | ${second.answered.requests} (${statuses}; errors: ${second.answered.errors}) |`;
  } finally {
    await target.stop();
  }
}

/**
 * `count`, `count@MiB` (gatehouse with --max-old-space-size=MiB, a heap sized for the deployment) or `count@cgroupMiB`
 * (gatehouse in a memory cgroup limited to MiB, as in a container with that memory limit).
 */
const SESSION_ROWS = (process.env.BENCH_SESSIONS ?? '0,10000,100000,250000,100000@256,100000@cgroup512').split(',').map((spec) => {
  const [countText = '', variant] = spec.split('@');
  const count = Number(countText);
  const cgroupMiB = variant?.startsWith('cgroup') ? Number(variant.slice('cgroup'.length)) : undefined;
  const heapMiB = variant !== undefined && cgroupMiB === undefined ? Number(variant) : undefined;
  if (!Number.isInteger(count) || count < 0 || [heapMiB, cgroupMiB].some((mib) => mib !== undefined && !(mib > 0))) {
    throw new Error(`BENCH_SESSIONS: bad entry ${JSON.stringify(spec)}`);
  }
  return { count, heapMiB, cgroupMiB };
});

/** Every session used once (identity headers, assertion and verified-cookie cache built), each with its own cookie. */
async function useEverySession(url, cookies) {
  if (cookies.length === 0) return { requests: 0, statuses: {}, errors: 0 };
  let next = 0;
  const result = await autocannon({
    url: `${url}/fixed`,
    connections: CONNECTIONS,
    amount: cookies.length,
    requests: [
      { setupRequest: (request) => ({ ...request, headers: { ...request.headers, cookie: `gatehouse_session=${cookies[next++ % cookies.length]}` } }) },
    ],
  });
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([status, { count }]) => [status, count ?? 0]));
  return { requests: result.requests.total, statuses, errors: result.errors + result.timeouts };
}

const statusText = (answered) =>
  `${
    Object.entries(answered.statuses)
      .map(([status, n]) => `${status}: ${n}`)
      .join(', ') || '—'
  }; errors: ${answered.errors}`;

/** Starts the session child, with --max-old-space-size when `heapMiB` is set (NODE_OPTIONS is read at spawn), in `cgroup` when given. */
function startSessionChild(count, heapMiB, upstream, cookieFile, cgroup) {
  const saved = process.env.NODE_OPTIONS;
  if (heapMiB !== undefined) process.env.NODE_OPTIONS = `${saved ?? ''} --max-old-space-size=${heapMiB}`.trim();
  try {
    return startNodeServer(SESSION_CHILD, [String(count), upstream.url, cookieFile], [], cgroup?.launcher);
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
}

async function measureSessions({ count, heapMiB, cgroupMiB }, upstream) {
  const heap = cgroupMiB !== undefined ? `in a ${cgroupMiB} MiB memory cgroup` : heapMiB === undefined ? 'default' : `--max-old-space-size=${heapMiB}`;
  const cgroup = cgroupMiB === undefined ? undefined : memoryCgroup(cgroupMiB);
  if (cgroup && 'unavailable' in cgroup) return `| ${count.toLocaleString('en-US')} | ${heap} | skipped: ${cgroup.unavailable} |`;
  const dir = makeTempDir('sessions');
  const cookieFile = join(dir, 'cookies');
  const { child, url } = await startSessionChild(count, heapMiB, upstream, cookieFile, cgroup);
  try {
    await sleep(IDLE_MS);
    const filled = memoryKiB(child.pid);
    const cookies = count > 0 ? readFileSync(cookieFile, 'utf8').split('\n') : [];
    console.error(`bench: ${count} sessions: each used once`);
    const used = await useEverySession(url, cookies);
    await sleep(SETTLE_MS);
    const afterUse = memoryKiB(child.pid);
    const floods = [];
    for (let n = 1; n <= 2; n++) {
      console.error(`bench: ${count} sessions: flood ${n} of 2, ${FLOOD_REQUESTS} unauthenticated API requests`);
      const answered = await flood({ url: `${url}/fixed`, connections: CONNECTIONS, amount: FLOOD_REQUESTS });
      await sleep(SETTLE_MS);
      floods.push({ answered, rss: memoryKiB(child.pid) });
    }
    const [first, second] = floods;
    child.kill('SIGUSR2');
    await sleep(SETTLE_MS);
    const live = JSON.parse(readFileSync(`${cookieFile}.gc`, 'utf8'));
    const collected = memoryKiB(child.pid);
    return `| ${count.toLocaleString('en-US')} | ${heap} | ${mib(filled.rss)} | ${mib(afterUse.rss)} | ${statusText(used)} | ${mib(first.rss.rss - afterUse.rss)} | ${mib(second.rss.rss - first.rss.rss)} | ${mib(second.rss.rss)} | ${statusText(second.answered)} | ${mib(second.rss.peak)} | ${mib(live.heapUsed / 1024)} | ${mib(live.arrayBuffers / 1024)} | ${mib(collected.rss)} |`;
  } finally {
    await stopChild(child);
    cgroup?.remove();
  }
}

/** The per-part table of bench/lib/session-bytes-child.js. */
function sessionBytes() {
  return execFileSync(process.execPath, ['--expose-gc', SESSION_BYTES_CHILD], { encoding: 'utf8' }).trimEnd();
}

async function main() {
  const upstream = await startUpstream();
  try {
    const lines = [
      '| scenario | RSS idle MiB | after flood 1 MiB | after flood 2 MiB | growth in flood 2 MiB | peak RSS MiB | flood 2 answered |',
      '|---|--:|--:|--:|--:|--:|---|',
    ];
    for (const scenario of SCENARIOS) lines.push(await measureScenario(scenario, upstream));
    lines.push(
      '',
      '### Cloud mode: live sessions (memory store)',
      '',
      "Sessions shaped like the dev provider's (RS256 ID token of about 1000 characters, opaque 43-character access and refresh tokens, each string its own flat copy)",
      'in the compact form Sessions.create stores (tokens held as bytes) are put into the memory store of a real cloud-mode gatehouse',
      '(bench/lib/session-memory-child.js, session.hot_sessions at its default), which keeps each session packed into a slab outside the V8 heap,',
      'indexed in typed arrays, and the most recently used ones also as records; every session is then used once with its own cookie, so the',
      "hot sessions' identity headers, signed assertion and verified-cookie entry exist too; then two floods of unauthenticated API requests (401):",
      'the first grows the V8 heap to its working size, growth during the second is what a leak would show.',
      'V8 heap: default, or the child started with --max-old-space-size (V8 then grows the heap by a smaller factor before collecting,',
      'so less garbage from the use phase sits in RSS; the live data is the same). --max-old-space-size=256 is the heap Node gives itself',
      'in a container limited to 512 MiB (a heap limit of 259 MiB measured in such a cgroup, Node 20 and 24 alike); the default is sized',
      "from this host's memory.",
      'At the end the child collects all garbage (a full GC on SIGUSR2): the live heap is what the sessions really hold, and RSS',
      '2 s later what is left once the garbage is gone. RSS after use swings by ±60 MiB between runs at 100,000 sessions: it depends',
      'on whether V8 happened to run a full collection before it was sampled.',
      'Targets: < 300 MiB at 100,000 sessions; < 16 MiB growth from the unauthenticated flood.',
      'Before the compact records (730e630, plain records with token strings, two header arrays per hot session): 100,000 sessions',
      '340.0 MiB filled, 555.4 MiB after use. Before the slab (1ffbd9b, compact records on the V8 heap): 321.1 MiB filled, 516.2 MiB after use,',
      '159.1 MiB live heap. Before the index left the heap (fd43cb4, key LRU and sid/sub Maps of strings): 329.9 MiB filled, 422.5 MiB after use,',
      '75.5 MiB live heap.',
      '',
      '| sessions | V8 heap | RSS filled MiB | RSS after use MiB | use answered | flood 1 growth MiB | flood 2 growth MiB | RSS at end MiB | flood 2 answered | peak MiB | live heap after full GC MiB | ArrayBuffers (session slab) MiB | RSS after full GC MiB |',
      '|--:|---|--:|--:|---|--:|--:|--:|---|--:|--:|--:|--:|',
    );
    for (const row of SESSION_ROWS) lines.push(await measureSessions(row, upstream));
    lines.push(
      '',
      "### Where a session's bytes go",
      '',
      'Memory held per session by each part, 100,000 of a part at a time (live V8 heap and ArrayBuffer bytes after full collections,',
      'before and after; bench/lib/session-bytes-child.js). The first rows are the parts of a record, as the Redis store holds it in its',
      'cache and the memory store a session just signed in or refreshed; a record the memory store reads back from its slab for its most',
      'recently used sessions (session.hot_sessions) leaves its tokens there (the next row); the last row is what the memory store holds',
      'for every session.',
      '',
      sessionBytes(),
    );
    const report = [
      ...machineHeader('gatehouse memory'),
      `- two floods of autocannon -c ${CONNECTIONS} -a ${FLOOD_REQUESTS}; RSS from /proc/<pid>/status ${IDLE_MS} ms after start (idle) and ${SETTLE_MS} ms after each flood.` +
        ' The first flood grows the V8 heap to its working size; growth during the second is what a leak would show',
      '',
      ...lines,
      '',
    ].join('\n');
    publishReport(report, RESULTS_FILE);
  } finally {
    await upstream.stop();
  }
}

main().catch((error) => {
  console.error(`bench: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
