// `node bench/profile.js [--keep]`: gatehouse in cloud mode under --cpu-prof, signed in through the dev provider,
// loaded with autocannon -c 50 on /fixed; prints the top self-time functions of the gatehouse process.
// Env: PROFILE_SECONDS (default 5), PROFILE_TOP (default 20), PROFILE_ASSERTION (default on; "off" disables it).
// --keep copies the .cpuprofile to bench/ (git-ignored) for Chrome DevTools or speedscope.
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cloudTargets } from './lib/cloud-targets.js';
import { eachSample, monotonicMicros, readProfile, shortPath } from './lib/cpu-profile.js';
import { measureThroughput } from './lib/load.js';
import { makeTempDir } from './lib/processes.js';
import { startUpstream } from './lib/targets.js';

const SECONDS = Number(process.env.PROFILE_SECONDS ?? 5);
const TOP = Number(process.env.PROFILE_TOP ?? 20);
const ASSERTION = process.env.PROFILE_ASSERTION !== 'off';
const CONNECTIONS = 50;

/**
 * Self time per function (name + file + line), from the samples taken within `window`.
 * @param {import('./lib/cpu-profile.js').Profile} profile
 * @param {{ from: number, to: number }} window
 */
function selfTimes(profile, window) {
  /** @type {Map<string, { name: string, where: string, micros: number }>} */
  const byFunction = new Map();
  let total = 0;
  const scope = eachSample(profile, window, (leaf, micros) => {
    const { functionName, url, lineNumber } = leaf.callFrame;
    const where = url ? `${shortPath(url)}:${lineNumber + 1}` : '';
    const key = `${functionName}\0${where}`;
    const entry = byFunction.get(key) ?? { name: functionName || '(anonymous)', where, micros: 0 };
    entry.micros += micros;
    byFunction.set(key, entry);
    total += micros;
  });
  return { scope, total, functions: [...byFunction.values()].sort((a, b) => b.micros - a.micros) };
}

/** Share of self time by owner: gatehouse's code, each package, node internals, V8/GC. */
function byOwner(functions, total) {
  /** @type {Map<string, number>} */
  const owners = new Map();
  for (const { name, where, micros } of functions) {
    let owner = 'node internals';
    if (where.startsWith('dist/src/')) owner = 'gatehouse (dist/src)';
    else if (where.startsWith('node:') || where === '') owner = name.startsWith('(') ? name : 'node internals (native)';
    else if (!where.startsWith('/')) owner = where.startsWith('@') ? where.split('/').slice(0, 2).join('/') : (where.split('/')[0] ?? where);
    owners.set(owner, (owners.get(owner) ?? 0) + micros);
  }
  return [...owners].sort((a, b) => b[1] - a[1]).map(([owner, micros]) => `${owner} ${((micros / total) * 100).toFixed(1)} %`);
}

async function main() {
  const keep = process.argv.includes('--keep');
  const dir = makeTempDir('profile');
  const upstream = await startUpstream();
  const cloud = await cloudTargets(upstream, [
    { name: 'gatehouse-profiled', assertion: ASSERTION, note: '', nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir], cwd: dir },
  ]);
  const target = /** @type {import('./lib/cloud-targets.js').CloudTarget} */ (cloud.targets[0]);
  let measured;
  let window = { from: 0, to: Infinity };
  try {
    await cloud.startProvider();
    await target.start();
    await measureThroughput({ url: `${target.url}/fixed`, pid: target.pid, connections: CONNECTIONS, seconds: 1, headers: target.headers });
    console.error(`bench: profiling ${SECONDS} s of signed-in GET /fixed (assertion ${ASSERTION ? 'on' : 'off'})`);
    const from = monotonicMicros();
    measured = await measureThroughput({ url: `${target.url}/fixed`, pid: target.pid, connections: CONNECTIONS, seconds: SECONDS, headers: target.headers });
    window = { from, to: monotonicMicros() };
  } finally {
    await target.stop();
    await cloud.stopProvider();
    await upstream.stop();
  }
  const { scope, total, functions } = selfTimes(readProfile(dir), window);
  const width = Math.max(...functions.slice(0, TOP).map((f) => f.name.length), 8);
  const lines = [
    `signed-in GET /fixed, -c ${CONNECTIONS}, ${SECONDS} s: ${Math.round(measured.rps).toLocaleString('en-US')} req/s, ${measured.cpuPer1k.toFixed(1)} CPU-ms / 1k requests, ${measured.failures} failed`,
    `self time by owner (${scope}): ${byOwner(functions, total).slice(0, 8).join(', ')}`,
    '',
    `top ${TOP} functions by self time:`,
    ...functions.slice(0, TOP).map((f) => `${((f.micros / total) * 100).toFixed(1).padStart(5)} %  ${f.name.padEnd(width)}  ${f.where}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (keep) {
    const kept = fileURLToPath(new URL(`gatehouse-${Date.now()}.cpuprofile`, import.meta.url));
    const file = /** @type {string} */ (readdirSync(dir).find((name) => name.endsWith('.cpuprofile')));
    copyFileSync(join(dir, file), kept);
    console.error(`bench: kept ${kept}`);
  }
}

main().catch((error) => {
  console.error(`bench: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
