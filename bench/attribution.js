// `npm run bench:attribution`: where gatehouse-local's CPU per request goes, next to undici-min (the least a Node
// proxy can do with undici). Both run under autocannon -c 50 on GET /fixed; CPU µs per request comes from
// /proc/<pid>/stat of unprofiled runs (rounds alternated), and the split of gatehouse's CPU from a separate run under
// --cpu-prof: each sample goes to the first part of gatehouse's work found on its stack (so a socket write made
// by the access logger counts as the access line), else to the layer it runs in.
// Env: ATTRIBUTION_SECONDS (default 8), ATTRIBUTION_ROUNDS (default 3). Prints a markdown table.
import { gatehouseTarget } from './lib/gatehouse-target.js';
import { eachSample, monotonicMicros, readProfile } from './lib/cpu-profile.js';
import { measureThroughput } from './lib/load.js';
import { makeTempDir } from './lib/processes.js';
import { machineHeader } from './lib/report.js';
import { startUpstream, undiciMinimalTarget } from './lib/targets.js';

const SECONDS = Number(process.env.ATTRIBUTION_SECONDS ?? 8);
const ROUNDS = Number(process.env.ATTRIBUTION_ROUNDS ?? 3);
const CONNECTIONS = 50;

/**
 * Parts of the work, in the order they are looked for on a sample's stack (leaf to root, every frame against the
 * first part, then every frame against the second, …). The first six are what gatehouse adds; the rest is the
 * proxying every Node proxy does.
 * @type {{ part: string, adds: boolean, matches: (name: string, url: string) => boolean }[]}
 */
const PARTS = [
  {
    part: 'access line and log writes',
    adds: true,
    matches: (name, url) =>
      /\/(pino|sonic-boom|thread-stream)\//.test(url) || /\/ops\/(logger|access-line|log-destination|line-shape)\.js$/.test(url) || name === 'logAccess',
  },
  {
    part: 'metrics (prom-client, histograms)',
    adds: true,
    matches: (_, url) => url.includes('/prom-client/') || /\/ops\/(metrics|latency-histogram)\.js$/.test(url),
  },
  { part: 'request id', adds: true, matches: (name) => name === 'requestIdOf' || name === 'randomUUID' },
  { part: 'path canonicalization', adds: true, matches: (_, url) => /\/http\/(request-target|body)\.js$/.test(url) },
  {
    part: 'header scan and rebuild',
    adds: true,
    matches: (name, url) => /\/(proxy\/headers|identity\/strip)\.js$/.test(url) || name === 'filterResponseHeaders',
  },
  { part: 'gatehouse request handling (server, gate)', adds: true, matches: (_, url) => url.includes('/dist/src/') && !url.includes('/proxy/forward.js') },
  { part: 'response relay and upstream client (undici)', adds: false, matches: (_, url) => url.includes('/undici/') || url.endsWith('/proxy/forward.js') },
  { part: 'Node HTTP server (parser, response writer)', adds: false, matches: (_, url) => url.startsWith('node:_http') || url === 'node:http' },
  {
    part: 'sockets and streams',
    adds: false,
    matches: (_, url) => url.startsWith('node:net') || url.startsWith('node:internal/streams') || url.startsWith('node:stream'),
  },
  { part: 'garbage collection', adds: false, matches: (name) => name === '(garbage collector)' },
];
const OTHER = 'other (native, timers, event loop)';

async function cpuPerRequest(target) {
  const measured = await measureThroughput({ url: `${target.url}/fixed`, pid: target.pid, connections: CONNECTIONS, seconds: SECONDS });
  if (measured.failures > 0) throw new Error(`${target.name}: ${measured.failures} failed requests`);
  return { micros: measured.cpuPer1k, rps: measured.rps };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const upstream = await startUpstream();
  const minimal = undiciMinimalTarget(upstream);
  const local = gatehouseTarget(upstream);
  const dir = makeTempDir('attribution');
  const profiled = gatehouseTarget(upstream, { name: 'gatehouse-local (profiled)', nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir], cwd: dir });
  /** @type {Map<string, { micros: number[], rps: number[] }>} */
  const runs = new Map([
    [minimal.name, { micros: [], rps: [] }],
    [local.name, { micros: [], rps: [] }],
  ]);
  const shares = new Map();
  let scope = '';
  try {
    for (const target of [minimal, local]) {
      await target.start();
      await measureThroughput({ url: `${target.url}/fixed`, pid: target.pid, connections: CONNECTIONS, seconds: 1 });
    }
    for (let round = 1; round <= ROUNDS; round++) {
      for (const target of [minimal, local]) {
        console.error(`attribution: round ${round}/${ROUNDS} → ${target.name}`);
        const { micros, rps } = await cpuPerRequest(target);
        runs.get(target.name)?.micros.push(micros);
        runs.get(target.name)?.rps.push(rps);
      }
    }
    await local.stop();
    await minimal.stop();

    await profiled.start();
    await measureThroughput({ url: `${profiled.url}/fixed`, pid: profiled.pid, connections: CONNECTIONS, seconds: 1 });
    console.error(`attribution: profiling ${SECONDS} s of gatehouse-local`);
    const from = monotonicMicros();
    await measureThroughput({ url: `${profiled.url}/fixed`, pid: profiled.pid, connections: CONNECTIONS, seconds: SECONDS });
    const window = { from, to: monotonicMicros() };
    await profiled.stop();

    let total = 0;
    scope = eachSample(readProfile(dir), window, (leaf, micros, parentOf) => {
      if (leaf.callFrame.functionName === '(idle)') return;
      const stack = [];
      for (let node = leaf; node; node = parentOf.get(node.id)) stack.push(node.callFrame);
      const found = PARTS.find(({ matches }) => stack.some((frame) => matches(frame.functionName, frame.url)));
      const part = found?.part ?? OTHER;
      shares.set(part, (shares.get(part) ?? 0) + micros);
      total += micros;
    });
    for (const [part, micros] of shares) shares.set(part, micros / total);
  } finally {
    for (const target of [minimal, local, profiled]) await target.stop().catch(() => undefined);
    await upstream.stop();
  }

  const minimalMicros = median(runs.get(minimal.name)?.micros ?? []);
  const localMicros = median(runs.get(local.name)?.micros ?? []);
  const row = (part, share) => `| ${part} | ${(share * 100).toFixed(1)} % | ${(share * localMicros).toFixed(1)} |`;
  const parts = [...PARTS.map((p) => p.part), OTHER].filter((part) => shares.has(part));
  const added = PARTS.filter((p) => p.adds).reduce((sum, p) => sum + (shares.get(p.part) ?? 0), 0);
  const lines = [
    ...machineHeader('gatehouse-local against undici-min: where the CPU goes'),
    `- GET /fixed (1 KiB), autocannon -c ${CONNECTIONS}, ${SECONDS} s per run, median of ${ROUNDS} rounds alternated; CPU from /proc/<pid>/stat`,
    `- split: one ${SECONDS} s run under --cpu-prof (${scope}); a sample counts for the first part found on its stack, in the table's order`,
    '',
    '| target | req/s | CPU µs / request |',
    '|---|--:|--:|',
    `| undici-min | ${Math.round(median(runs.get(minimal.name)?.rps ?? [])).toLocaleString('en-US')} | ${minimalMicros.toFixed(1)} |`,
    `| gatehouse-local | ${Math.round(median(runs.get(local.name)?.rps ?? [])).toLocaleString('en-US')} | ${localMicros.toFixed(1)} |`,
    `| difference | | ${(localMicros - minimalMicros).toFixed(1)} |`,
    '',
    "| part of gatehouse-local's CPU | share | µs / request |",
    '|---|--:|--:|',
    ...parts.map((part) => row(part, shares.get(part) ?? 0)),
    '',
    `What gatehouse adds (the first ${PARTS.filter((p) => p.adds).length} rows): ${(added * 100).toFixed(1)} %, ${(added * localMicros).toFixed(1)} µs per request.`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

main().catch((error) => {
  console.error(`attribution: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
