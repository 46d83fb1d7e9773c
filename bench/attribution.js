// `npm run bench:attribution`: where the CPU per request goes, in two steps. First gatehouse-local against
// undici-min (the least a Node proxy can do with undici; it is profiled too, so each part has its column), then
// signed in (gatehouse-cloud: memory store, signed assertion on) against gatehouse-local. All run under autocannon
// -c 50 on GET /fixed; CPU µs per request comes from /proc/<pid>/stat of unprofiled runs (rounds alternated), and the
// split from separate runs under --cpu-prof: each sample goes to the first part of gatehouse's work found on its
// stack (so a socket write made by the access logger counts as the access line), else to the layer it runs in.
// undici-min-local (undici-min doing local mode's duties in the fewest steps: request id, X-Forwarded-*, access line,
// counts) tells what of local mode those duties alone cost, and undici-min-signed-in (undici-min-local carrying a
// signed-in request's cookie and identity headers) what of signing in is the bytes alone.
// Env: ATTRIBUTION_SECONDS (default 8), ATTRIBUTION_ROUNDS (default 3). Prints markdown tables.
import { cloudTargets } from './lib/cloud-targets.js';
import { gatehouseTarget } from './lib/gatehouse-target.js';
import { eachSample, monotonicMicros, readProfile } from './lib/cpu-profile.js';
import { measureThroughput } from './lib/load.js';
import { makeTempDir } from './lib/processes.js';
import { machineHeader } from './lib/report.js';
import { startUpstream, undiciLocalDutiesTarget, undiciMinimalTarget, undiciSignedInTarget } from './lib/targets.js';

const SECONDS = Number(process.env.ATTRIBUTION_SECONDS ?? 8);
const ROUNDS = Number(process.env.ATTRIBUTION_ROUNDS ?? 3);
const CONNECTIONS = 50;
const UNDICI_HEADER_CHECKS = new Set(['processHeader', 'isValidHeaderValue', 'isValidHTTPToken']);

/**
 * Parts of the work, in the order they are looked for on a sample's stack (leaf to root, every frame against the
 * first part, then every frame against the second, …). The parts marked `adds` are gatehouse's own; the rest is the
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
  { part: 'session: cookie, store lookup, renewal', adds: true, matches: (_, url) => url.includes('/dist/src/session/') || url.includes('/cookie/') },
  { part: 'identity headers and assertion', adds: true, matches: (_, url) => url.includes('/dist/src/identity/') || url.includes('/jose/') },
  { part: 'access decision (authorize/)', adds: true, matches: (_, url) => url.includes('/dist/src/authorize/') || url.includes('/lru-cache/') },
  {
    part: "undici's checks of each header sent upstream",
    adds: false,
    matches: (name, url) => UNDICI_HEADER_CHECKS.has(name) && url.includes('/undici/'),
  },
  { part: 'response relay and upstream client (undici)', adds: false, matches: (_, url) => url.includes('/undici/') || url.endsWith('/proxy/forward.js') },
  // after undici: a request undici builds and writes synchronously inside gatehouse's call is undici's work
  {
    part: "request handling (gatehouse's server and proxy; undici-min's script)",
    adds: true,
    matches: (_, url) => (url.includes('/dist/src/') && !url.includes('/proxy/forward.js')) || url.endsWith('/bench/minimal-proxy.js'),
  },
  { part: 'Node HTTP server (parser, response writer)', adds: false, matches: (_, url) => url.startsWith('node:_http') || url === 'node:http' },
  {
    part: 'sockets and streams',
    adds: false,
    matches: (_, url) => url.startsWith('node:net') || url.startsWith('node:internal/streams') || url.startsWith('node:stream'),
  },
  { part: 'garbage collection', adds: false, matches: (name) => name === '(garbage collector)' },
];
const OTHER = 'other (native, timers, event loop)';

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** One measured run under autocannon; `headers` sends a signed-in browser's cookie. */
function load(target, seconds = SECONDS) {
  return measureThroughput({ url: `${target.url}/fixed`, pid: target.pid, connections: CONNECTIONS, seconds, headers: target.headers });
}

/** Median req/s and CPU µs per request of each target over ROUNDS alternated rounds. */
async function cpuPerRequest(targets) {
  /** @type {Map<string, { micros: number[], rps: number[] }>} */
  const runs = new Map(targets.map((target) => [target.name, { micros: [], rps: [] }]));
  for (const target of targets) await load(target, 1);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const target of round % 2 === 1 ? targets : [...targets].reverse()) {
      console.error(`attribution: round ${round}/${ROUNDS} → ${target.name}`);
      const measured = await load(target);
      if (measured.failures > 0) throw new Error(`${target.name}: ${measured.failures} failed requests`);
      runs.get(target.name)?.micros.push(measured.cpuPer1k);
      runs.get(target.name)?.rps.push(measured.rps);
    }
  }
  return new Map([...runs].map(([name, run]) => [name, { micros: median(run.micros), rps: median(run.rps) }]));
}

/** The share of the profiled target's CPU per part, from `dir`'s profile within the measured seconds. */
async function profileShares(target, dir) {
  await target.start();
  try {
    await load(target, 1);
    console.error(`attribution: profiling ${SECONDS} s of ${target.name}`);
    const from = monotonicMicros();
    await load(target);
    const window = { from, to: monotonicMicros() };
    await target.stop();
    /** @type {Map<string, number>} */
    const shares = new Map();
    let total = 0;
    const scope = eachSample(readProfile(dir), window, (leaf, micros, parentOf) => {
      if (leaf.callFrame.functionName === '(idle)') return;
      const stack = [];
      for (let node = leaf; node; node = parentOf.get(node.id)) stack.push(node.callFrame);
      const part = PARTS.find(({ matches }) => stack.some((frame) => matches(frame.functionName, frame.url)))?.part ?? OTHER;
      shares.set(part, (shares.get(part) ?? 0) + micros);
      total += micros;
    });
    for (const [part, micros] of shares) shares.set(part, micros / total);
    return { shares, scope };
  } finally {
    await target.stop();
  }
}

const micros = (value) => value.toFixed(1);
const rate = (value) => Math.round(value).toLocaleString('en-US');

async function main() {
  const upstream = await startUpstream();
  const minimalDir = makeTempDir('attribution-minimal');
  const localDir = makeTempDir('attribution-local');
  const cloudDir = makeTempDir('attribution-cloud');
  const cloud = await cloudTargets(upstream, [
    { name: 'gatehouse-cloud', note: '' },
    { name: 'gatehouse-cloud (profiled)', note: '', nodeArgs: ['--cpu-prof', '--cpu-prof-dir', cloudDir], cwd: cloudDir },
  ]);
  const [signedIn, signedInProfiled] = /** @type {import('./lib/cloud-targets.js').CloudTarget[]} */ (cloud.targets);
  const minimal = undiciMinimalTarget(upstream);
  const minimalProfiled = undiciMinimalTarget(upstream, { name: 'undici-min (profiled)', nodeArgs: ['--cpu-prof', '--cpu-prof-dir', minimalDir] });
  const local = gatehouseTarget(upstream);
  const minimalLocal = undiciLocalDutiesTarget(upstream);
  const minimalSignedIn = undiciSignedInTarget(upstream, signedIn);
  const localProfiled = gatehouseTarget(upstream, { name: 'gatehouse-local (profiled)', nodeArgs: ['--cpu-prof', '--cpu-prof-dir', localDir], cwd: localDir });
  // minimalSignedIn after signedIn: it starts with that row's session
  const measured = [minimal, minimalLocal, local, signedIn, minimalSignedIn];
  try {
    await cloud.startProvider();
    for (const target of measured) await target.start();
    const cpu = await cpuPerRequest(measured);
    for (const target of measured) await target.stop();
    const splits = {
      minimal: await profileShares(minimalProfiled, minimalDir),
      local: await profileShares(localProfiled, localDir),
      signedIn: await profileShares(signedInProfiled, cloudDir),
    };
    report(cpu, splits, [minimal.name, minimalLocal.name, local.name, signedIn.name, minimalSignedIn.name]);
  } finally {
    for (const target of [...measured, minimalProfiled, localProfiled, signedInProfiled]) await target.stop().catch(() => undefined);
    await cloud.stopProvider();
    await upstream.stop();
  }
}

function report(cpu, splits, names) {
  const at = (name) => /** @type {{ micros: number, rps: number }} */ (cpu.get(name));
  const [minimal, minimalLocal, local, signedIn, minimalSignedIn] = names.map(at);
  const parts = [...PARTS.map((p) => p.part), OTHER].filter((part) => Object.values(splits).some((split) => split.shares.has(part)));
  /** CPU µs per request of `part` in a run: its share of the profile times the run's measured CPU per request. */
  const partMicros = (split, run) => (part) => (split.shares.get(part) ?? 0) * run.micros;
  const minimalMicros = partMicros(splits.minimal, minimal);
  const localMicros = partMicros(splits.local, local);
  const signedInMicros = partMicros(splits.signedIn, signedIn);
  const own = PARTS.filter((p) => p.adds);
  const added = own.reduce((sum, p) => sum + localMicros(p.part), 0);
  const addedSignedIn = own.reduce((sum, p) => sum + signedInMicros(p.part), 0);
  const lines = [
    ...machineHeader('gatehouse: where the CPU per request goes'),
    `- GET /fixed (1 KiB), autocannon -c ${CONNECTIONS}, ${SECONDS} s per run, median of ${ROUNDS} rounds alternated; CPU from /proc/<pid>/stat`,
    `- split: one ${SECONDS} s run of undici-min and of each gatehouse under --cpu-prof (undici-min: ${splits.minimal.scope}; local: ${splits.local.scope}; signed in: ${splits.signedIn.scope}); a sample counts for the first part found on its stack, in the table's order; a part's µs are its share of the profile times the CPU per request measured without the profiler`,
    '- signed in: gatehouse-cloud, memory store, signed assertion on, the session cookie of a real sign-in (alice, admin)',
    '',
    '| target | req/s | CPU µs / request |',
    '|---|--:|--:|',
    `| undici-min | ${rate(minimal.rps)} | ${micros(minimal.micros)} |`,
    `| undici-min-local (undici-min doing local mode's duties in the fewest steps) | ${rate(minimalLocal.rps)} | ${micros(minimalLocal.micros)} |`,
    `| gatehouse-local | ${rate(local.rps)} | ${micros(local.micros)} |`,
    `| gatehouse-cloud (signed in) | ${rate(signedIn.rps)} | ${micros(signedIn.micros)} |`,
    `| undici-min-signed-in (undici-min-local with the signed-in cookie in and identity headers out) | ${rate(minimalSignedIn.rps)} | ${micros(minimalSignedIn.micros)} |`,
    '',
    `Local mode against undici-min: ${micros(local.micros - minimal.micros)} µs per request more (${(local.rps / minimal.rps).toFixed(2)}× its req/s).`,
    `Of that, local mode's duties in the fewest steps (undici-min-local against undici-min): ${micros(minimalLocal.micros - minimal.micros)} µs per request more (${(minimalLocal.rps / minimal.rps).toFixed(2)}× its req/s).`,
    `Signed in against local mode: ${micros(signedIn.micros - local.micros)} µs per request more (${(signedIn.rps / local.rps).toFixed(2)}× its req/s).`,
    `Of that, the bytes alone (undici-min-signed-in against undici-min-local): ${micros(minimalSignedIn.micros - minimalLocal.micros)} µs per request more (${(minimalSignedIn.rps / minimalLocal.rps).toFixed(2)}× its req/s).`,
    '',
    '| part, µs per request | undici-min | local | local − undici-min | signed in | signed in − local |',
    '|---|--:|--:|--:|--:|--:|',
    ...parts.map(
      (part) =>
        `| ${part} | ${micros(minimalMicros(part))} | ${micros(localMicros(part))} | ${micros(localMicros(part) - minimalMicros(part))} | ${micros(signedInMicros(part))} | ${micros(signedInMicros(part) - localMicros(part))} |`,
    ),
    '',
    `What gatehouse's own parts take (the rows but undici's, Node's, garbage collection and other): ${micros(added)} µs per request in local mode, ${micros(addedSignedIn)} signed in.`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

main().catch((error) => {
  console.error(`attribution: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
