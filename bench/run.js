// `npm run bench [-- --write]`: every row against the same upstream, rounds alternating targets, one markdown table
// (printed; written to bench/RESULTS.md with --write). Env: BENCH_SECONDS (default 8), BENCH_ROUNDS (default 2),
// BENCH_SCENARIOS (a regular expression: only the scenarios whose name matches), BENCH_COMPARE_MAIN (another
// build's dist/src/main.js: adds its gatehouse-local and gatehouse-cloud as rows "…@compare" beside this build's,
// so two builds are compared in one run), BENCH_TARGETS (a regular expression: only the rows whose target matches).
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { freePort } from '../test/helpers/ports.js';
import { apacheClient, apacheTarget } from './lib/apache-target.js';
import { cloudTargets, FIFTY_RULES } from './lib/cloud-targets.js';
import { gatehouseTarget } from './lib/gatehouse-target.js';
import { measureSerialLatency, measureThroughput, measureWebSocketEcho } from './lib/load.js';
import { nginxTarget } from './lib/nginx-target.js';
import { machineHeader, machineLoad, publishReport, resultsTable, targetChecks } from './lib/report.js';
import { directTarget, httpProxyTarget, startUpstream, undiciLocalDutiesTarget, undiciMinimalTarget, undiciSignedInTarget } from './lib/targets.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
if (!(SECONDS > 0) || !Number.isInteger(ROUNDS) || ROUNDS < 1) {
  throw new Error(
    `BENCH_SECONDS must be a positive number and BENCH_ROUNDS a positive integer (got ${process.env.BENCH_SECONDS}, ${process.env.BENCH_ROUNDS})`,
  );
}
const ONLY_SCENARIOS = process.env.BENCH_SCENARIOS ? new RegExp(process.env.BENCH_SCENARIOS) : undefined;
const ONLY_TARGETS = process.env.BENCH_TARGETS ? new RegExp(process.env.BENCH_TARGETS) : undefined;
const COMPARE_MAIN = process.env.BENCH_COMPARE_MAIN;
const SERIAL_SECONDS = Math.max(1, Math.min(3, SECONDS / 2));
const WARM_UP_SECONDS = 1;
const CONNECTIONS = 50;
const RESULTS_FILE = fileURLToPath(new URL('RESULTS.md', import.meta.url));

/**
 * A scenario runs one kind of load against some of the targets.
 * @typedef {object} Scenario
 * @property {string} name
 * @property {'http' | 'ws'} kind
 * @property {string} [path] for http
 * @property {number} [bodyBytes] expected body size, checked once before measuring
 * @property {number} [status] expected status of every answer (default 200)
 * @property {Record<string, string>} [headers] sent with every request
 * @property {boolean} [signedIn] a target that has a session (the cloud rows, apache-openidc) sends its session cookie
 * @property {string} [baseline] scenario whose direct row the ratio is taken against (default: this one)
 * @property {string[]} targets names of the targets it runs against; ratios are taken against the one named direct
 */

const FIXED = 'GET /fixed (1 KiB)';
const CLOUD_ROWS = [
  'gatehouse-cloud',
  'gatehouse-cloud-50-rules',
  'gatehouse-cloud-bearer',
  'gatehouse-cloud-no-assertion',
  'gatehouse-cloud-redis',
  'gatehouse-cloud-redis-cluster',
];
const COMPARE_ROWS = COMPARE_MAIN ? ['gatehouse-local@compare', 'gatehouse-cloud@compare'] : [];

/** @type {Scenario[]} */
const SCENARIOS = [
  {
    name: FIXED,
    kind: 'http',
    path: '/fixed',
    bodyBytes: 1024,
    signedIn: true,
    targets: [
      'direct',
      'undici-min',
      'undici-min-local',
      'undici-min-signed-in',
      'http-proxy',
      'nginx',
      'apache-openidc',
      'gatehouse-local',
      ...CLOUD_ROWS,
      ...COMPARE_ROWS,
    ],
  },
  {
    name: 'GET /fixed anonymous navigation (302)',
    kind: 'http',
    path: '/fixed',
    bodyBytes: 0,
    status: 302,
    headers: { accept: 'text/html' },
    baseline: FIXED,
    targets: ['gatehouse-cloud'],
  },
  {
    name: 'GET /fixed anonymous API (401)',
    kind: 'http',
    path: '/fixed',
    bodyBytes: 50,
    status: 401,
    headers: { accept: 'application/json' },
    baseline: FIXED,
    targets: ['gatehouse-cloud'],
  },
  {
    name: 'GET /100k (100 KiB)',
    kind: 'http',
    path: '/100k',
    bodyBytes: 100 * 1024,
    signedIn: true,
    targets: ['direct', 'gatehouse-local', 'gatehouse-cloud'],
  },
  { name: 'WebSocket echo (64 B)', kind: 'ws', signedIn: true, targets: ['direct', 'gatehouse-local', 'gatehouse-cloud'] },
];

/** Headers a scenario sends to a target: its own, plus the target's session cookie when the scenario is signed in. */
function headersFor(target, scenario) {
  const session = scenario.signedIn ? target.headers : undefined;
  return session || scenario.headers ? { ...scenario.headers, ...session } : undefined;
}

/** Fails fast when a target does not answer the scenario correctly, so a table never shows the speed of errors. */
async function checkAnswers(target, scenario) {
  if (scenario.kind !== 'http') return;
  const status = scenario.status ?? 200;
  const { statusCode, body } = await request(`${target.url}${scenario.path}`, { headers: headersFor(target, scenario) });
  const bytes = (await body.arrayBuffer()).byteLength;
  if (statusCode !== status || bytes !== scenario.bodyBytes) {
    throw new Error(`${target.name} answered ${scenario.path} with ${statusCode} and ${bytes} bytes, expected ${status} and ${scenario.bodyBytes}`);
  }
}

/** @returns {Promise<import('./lib/report.js').Measurement>} */
async function measure(target, scenario) {
  const headers = headersFor(target, scenario);
  if (scenario.kind === 'ws') {
    return measureWebSocketEcho({ url: target.url, pid: target.pid, connections: CONNECTIONS, seconds: SECONDS, headers });
  }
  const url = `${target.url}${scenario.path}`;
  const expectStatus = scenario.status ?? 200;
  const loaded = await measureThroughput({ url, pid: target.pid, connections: CONNECTIONS, seconds: SECONDS, headers, expectStatus });
  const serial = await measureSerialLatency({
    origin: target.url,
    path: /** @type {string} */ (scenario.path),
    seconds: SERIAL_SECONDS,
    headers,
    expectStatus,
  });
  return { ...loaded, requests: loaded.requests + serial.requests, serialP50: serial.p50, serialP99: serial.p99, failures: loaded.failures + serial.failures };
}

/** @returns {Promise<number>} requests answered during the warm-up */
async function warmUp(target, scenario) {
  const headers = headersFor(target, scenario);
  const warm =
    scenario.kind === 'ws'
      ? await measureWebSocketEcho({ url: target.url, pid: target.pid, connections: CONNECTIONS, seconds: WARM_UP_SECONDS, headers })
      : await measureThroughput({
          url: `${target.url}${scenario.path}`,
          pid: target.pid,
          connections: CONNECTIONS,
          seconds: WARM_UP_SECONDS,
          headers,
          expectStatus: scenario.status,
        });
  return warm.requests;
}

/**
 * Warm-up, then ROUNDS rounds alternating the targets of each scenario.
 * @param {{ scenario: Scenario, targets: import('./lib/targets.js').Target[] }[]} plan
 */
async function runPlan(plan) {
  /** @type {import('./lib/report.js').Row[]} */
  const rows = plan.flatMap(({ scenario, targets: ts }) =>
    ts.map((t) => ({ scenario: scenario.name, target: t.name, baseline: scenario.baseline, unit: scenario.kind === 'ws' ? 'msg/s' : 'req/s', rounds: [] })),
  );
  const rowFor = (scenario, target) =>
    /** @type {import('./lib/report.js').Row} */ (rows.find((r) => r.scenario === scenario.name && r.target === target.name));

  /** HTTP requests and WebSocket connections each target answered, to compare with its access log. */
  /** @type {Map<string, number>} */
  const answered = new Map();
  const count = (target, n) => answered.set(target.name, (answered.get(target.name) ?? 0) + n);
  for (const { scenario, targets: ts } of plan) {
    for (const target of ts) {
      await checkAnswers(target, scenario);
      const warmed = await warmUp(target, scenario);
      count(target, scenario.kind === 'ws' ? CONNECTIONS : warmed + 1);
    }
  }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const { scenario, targets: ts } of plan) {
      for (const target of ts) {
        console.error(`bench: round ${round}/${ROUNDS} ${scenario.name} → ${target.name}`);
        const measured = await measure(target, scenario);
        rowFor(scenario, target).rounds.push(measured);
        count(target, scenario.kind === 'ws' ? CONNECTIONS : measured.requests);
      }
    }
  }
  return { rows, answered };
}

async function main() {
  const loadBefore = machineLoad();
  const upstream = await startUpstream();
  const gatehouse = gatehouseTarget(upstream);
  const compareLocal = COMPARE_MAIN
    ? [
        gatehouseTarget(upstream, {
          name: 'gatehouse-local@compare',
          main: COMPARE_MAIN,
          note: `gatehouse-local@compare: as gatehouse-local, built from ${COMPARE_MAIN}`,
        }),
      ]
    : [];
  const compareCloud = COMPARE_MAIN
    ? [{ name: 'gatehouse-cloud@compare', main: COMPARE_MAIN, note: `gatehouse-cloud@compare: as gatehouse-cloud, built from ${COMPARE_MAIN}` }]
    : [];
  // The OIDC peer's client is registered at the dev provider with the gatehouse rows', so its port is chosen now.
  const apachePort = await freePort();
  const cloud = await cloudTargets(
    upstream,
    [
      {
        name: 'gatehouse-cloud',
        note: "gatehouse-cloud: mode cloud, memory store, signed assertion on (default), signed in as alice (admin) through the dev provider's login and consent forms; the anonymous rows send no cookie",
      },
      {
        name: 'gatehouse-cloud-50-rules',
        rules: FIFTY_RULES,
        note: 'gatehouse-cloud-50-rules: as gatehouse-cloud with 50 access.rules (prefix rules with roles) none of which matches /fixed, so every request checks all 50 before access.default',
      },
      {
        name: 'gatehouse-cloud-bearer',
        bearer: true,
        note: 'gatehouse-cloud-bearer: as gatehouse-cloud, but the client sends Authorization: Bearer with a JWT access token (RFC 9068, client credentials, admin role) instead of a cookie; bearer.cache_ttl 60s, so one signature check per minute',
      },
      {
        name: 'gatehouse-cloud-no-assertion',
        assertion: false,
        note: 'gatehouse-cloud-no-assertion: as gatehouse-cloud with identity.assertion.enabled false',
      },
      {
        name: 'gatehouse-cloud-redis',
        redis: true,
        note: 'gatehouse-cloud-redis: as gatehouse-cloud with session.store redis (local Redis, key prefix gh-bench-<random>:, removed at the end); requests are answered from the in-process L1 cache except one Redis GET + PTTL per session per session.redis.cache_ttl (5 s) and one PEXPIRE per session at most every 30 s',
      },
      {
        name: 'gatehouse-cloud-redis-cluster',
        redisCluster: true,
        note: "gatehouse-cloud-redis-cluster: as gatehouse-cloud-redis on a three-primary Redis Cluster the bench starts (redis-server --cluster-enabled, no replicas, loopback); the session's keys carry a {hash tag}, so its GET + PTTL go to one node",
      },
      ...compareCloud,
    ],
    [apacheClient(apachePort)],
  );
  const apache = apacheTarget(upstream, { port: apachePort, issuer: () => cloud.issuer });
  const signedIn = /** @type {import('./lib/cloud-targets.js').CloudTarget} */ (cloud.targets.find((t) => t.name === 'gatehouse-cloud'));
  const candidates = [
    directTarget(upstream),
    undiciMinimalTarget(upstream),
    undiciLocalDutiesTarget(upstream),
    httpProxyTarget(upstream),
    nginxTarget(upstream),
    apache,
    gatehouse,
    ...compareLocal,
    ...cloud.targets,
    // after gatehouse-cloud: it carries that row's session cookie and identity headers
    undiciSignedInTarget(upstream, signedIn),
  ];
  const targets = [];
  try {
    await cloud.startProvider();
    for (const target of candidates) {
      if (await target.start()) targets.push(target);
    }
    const byName = new Map(targets.map((t) => [t.name, t]));
    const plan = SCENARIOS.filter((scenario) => !ONLY_SCENARIOS || ONLY_SCENARIOS.test(scenario.name)).map((scenario) => ({
      scenario,
      targets: scenario.targets.flatMap((name) => (ONLY_TARGETS && !ONLY_TARGETS.test(name) ? [] : (byName.get(name) ?? []))),
    }));

    const { rows, answered } = await runPlan(plan);

    const notes = candidates.map((t) => `- ${t.note}`);
    for (const target of [apache, gatehouse, ...compareLocal, ...cloud.targets]) {
      if (!answered.has(target.name)) continue;
      const lines = target.accessLogLines().toLocaleString('en-US');
      const counted = (answered.get(target.name) ?? 0).toLocaleString('en-US');
      notes.push(
        `- ${target.name} wrote ${lines} access log lines; the load tools counted ${counted} answered requests and WebSocket connections (requests cut off at the end of a run are logged, not counted)`,
      );
    }
    const settings = [
      `- each cell: median of ${ROUNDS} round(s), targets alternated A B A B; throughput: autocannon -c ${CONNECTIONS} for ${SECONDS} s after a ${WARM_UP_SECONDS} s warm-up;` +
        ` c1: one keep-alive connection, one request at a time for ${SERIAL_SECONDS} s (undici Client, microseconds)`,
      '- CPU-ms / 1k: user + system CPU of the proxy process and its children (apache-openidc: the parent and its worker children; direct: the upstream) per 1,000 requests or messages, from /proc/<pid>/stat',
      '- load generator, upstream and proxy share the machine; compare ratios within one run, not absolute numbers across machines',
      `- machine load before: ${loadBefore}; after: ${machineLoad()} (the after value includes the bench's own load)`,
    ];
    const report = [
      ...machineHeader('gatehouse benchmark'),
      ...settings,
      '',
      ...resultsTable(rows),
      '',
      '## Targets',
      '',
      ...targetChecks(rows, FIXED),
      '',
      '## Rows',
      '',
      ...notes,
      '',
    ].join('\n');
    publishReport(report, RESULTS_FILE);
  } finally {
    for (const target of targets) await target.stop();
    await cloud.stopProvider();
    await upstream.stop();
  }
}

main().catch((error) => {
  console.error(`bench: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
