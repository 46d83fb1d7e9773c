// `npm run bench:redis-ops [-- --write]`: how many Redis commands gatehouse sends per active session per second and
// per request, on the single Redis at 127.0.0.1:6379 and on a three-primary Redis Cluster of the bench's own.
// N sessions are signed in through the dev provider, then GET /fixed is sent at a fixed total rate, round-robin over
// their cookies; INFO commandstats of every primary is read before and after and the difference is reported.
// Env: REDIS_OPS_SESSIONS (default 100), REDIS_OPS_SECONDS (default 65), REDIS_OPS_RATE (requests/s in total, default 200).
// Written to bench/REDIS-OPS.md with --write.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { Pool } from 'undici';
import { cloudTargets, SIGNED_IN_USER } from './lib/cloud-targets.js';
import { machineHeader, publishReport } from './lib/report.js';
import { signIn } from './lib/sign-in.js';
import { startUpstream } from './lib/targets.js';

const SESSIONS = Number(process.env.REDIS_OPS_SESSIONS ?? 100);
const SECONDS = Number(process.env.REDIS_OPS_SECONDS ?? 65);
const RATE = Number(process.env.REDIS_OPS_RATE ?? 200);
const RESULTS_FILE = fileURLToPath(new URL('REDIS-OPS.md', import.meta.url));
/** Both have a role, so /fixed answers 200 (bob has none). */
const USERS = [SIGNED_IN_USER, 'carol'];
const SIGN_IN_CONCURRENCY = 4;
const TICK_MS = 10;
const CONNECTIONS = 8;
/** What the Redis store is built to send: GET + PTTL once per session.redis.cache_ttl (5 s), PEXPIRE at most every 30 s (the touch batcher). */
const CACHE_TTL_S = 5;
const TOUCH_INTERVAL_S = 30;
const EXPECTED_PER_SESSION_S = 2 / CACHE_TTL_S + 1 / TOUCH_INTERVAL_S;
/** The clients' own commands (connection set-up, topology, health, this script's INFO), not session work. */
const HOUSEKEEPING = /^(info|ping|echo|hello|auth|select|quit|readonly|readwrite|cluster|command|client|config|(p|s)?(un)?subscribe)(\||$)/;

/**
 * Calls per command, summed over the nodes, and the clients connected to each when read.
 * @param {string[]} urls
 */
async function commandStats(urls) {
  /** @type {Map<string, number>} */
  const calls = new Map();
  const clients = [];
  for (const url of urls) {
    const client = createClient({ url });
    await client.connect();
    try {
      for (const match of (await client.info('commandstats')).matchAll(/^cmdstat_(\S+):calls=(\d+)/gm)) {
        const name = /** @type {string} */ (match[1]);
        calls.set(name, (calls.get(name) ?? 0) + Number(match[2]));
      }
      clients.push(Number(/^connected_clients:(\d+)/m.exec(await client.info('clients'))?.[1]));
    } finally {
      client.destroy();
    }
  }
  return { calls, clients };
}

/**
 * The signed-in cookie the target already has, plus `count - 1` more sign-ins (each a new session).
 * @param {import('./lib/cloud-targets.js').CloudTarget} target
 */
async function signInSessions(target, count) {
  const cookies = [/** @type {string} */ (target.headers?.cookie)];
  let next = 1;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) cookies.push(await signIn({ gatehouseUrl: target.url, user: /** @type {string} */ (USERS[i % USERS.length]) }));
  };
  await Promise.all(Array.from({ length: SIGN_IN_CONCURRENCY }, worker));
  return cookies;
}

/**
 * GET /fixed at `RATE` requests per second in total for `SECONDS`, round-robin over `cookies`.
 * @param {string} url
 * @param {string[]} cookies
 */
async function steadyLoad(url, cookies) {
  const pool = new Pool(url, { connections: CONNECTIONS });
  const outcome = { sent: 0, ok: 0, failures: 0 };
  /** @type {Promise<void>[]} */
  const pending = [];
  const send = (cookie) =>
    pool
      .request({ path: '/fixed', method: 'GET', headers: { cookie } })
      .then(async ({ statusCode, body }) => {
        await body.dump();
        if (statusCode === 200) outcome.ok++;
        else outcome.failures++;
      })
      .catch(() => {
        outcome.failures++;
      });
  const start = performance.now();
  for (let elapsed = 0; elapsed < SECONDS * 1000; elapsed = performance.now() - start) {
    const due = Math.floor((elapsed / 1000) * RATE);
    for (; outcome.sent < due; outcome.sent++) pending.push(send(/** @type {string} */ (cookies[outcome.sent % cookies.length])));
    await sleep(TICK_MS);
  }
  await Promise.all(pending);
  await pool.close();
  return outcome;
}

const fmt = (value, digits) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/**
 * The table of one topology: each command's count, per active session per second and per 1,000 requests.
 * @param {Map<string, number>} before
 * @param {Map<string, number>} after
 * @param {number} sessions
 * @param {number} requests
 */
function commandTable(before, after, sessions, requests) {
  const counted = [...after]
    .map(([name, calls]) => ({ name, count: calls - (before.get(name) ?? 0) }))
    .filter(({ count }) => count > 0)
    .sort((a, b) => b.count - a.count);
  const work = counted.filter(({ name }) => !HOUSEKEEPING.test(name));
  const housekeeping = counted.filter(({ name }) => HOUSEKEEPING.test(name));
  const row = (label, count) => `| ${label} | ${count} | ${fmt(count / sessions / SECONDS, 3)} | ${fmt((count * 1000) / requests, 1)} |`;
  const total = work.reduce((sum, { count }) => sum + count, 0);
  const kept = housekeeping.reduce((sum, { count }) => sum + count, 0);
  const lines = [
    '| command | count | per active session per second | per 1,000 requests |',
    '|---|--:|--:|--:|',
    ...work.map(({ name, count }) => row(name.toUpperCase(), count)),
    row('**gatehouse total**', total),
    row(`housekeeping (${housekeeping.map(({ name, count }) => `${name.toUpperCase()} ${count}`).join(', ') || 'none'})`, kept),
  ];
  return { lines, perSessionSecond: total / sessions / SECONDS };
}

/**
 * Starts the target, signs in `SESSIONS` sessions, measures, stops it; the markdown section of the topology.
 * @param {import('./lib/cloud-targets.js').CloudTarget} target
 * @param {string} title
 */
async function measure(target, title) {
  const section = ['', `## ${title}`, ''];
  if (!(await target.start())) {
    console.error(`bench: ${target.note}`);
    return [...section, `Not measured: ${target.note}.`];
  }
  try {
    const cookies = await signInSessions(target, SESSIONS);
    console.error(`bench: ${target.name}: ${cookies.length} sessions signed in, ${SECONDS} s of load at ${RATE} req/s`);
    const before = await commandStats(target.redisNodes);
    const load = await steadyLoad(target.url, cookies);
    const after = await commandStats(target.redisNodes);
    const { lines, perSessionSecond } = commandTable(before.calls, after.calls, cookies.length, load.sent);
    return [
      ...section,
      `- ${target.note}`,
      `- ${load.sent} requests (${load.ok} answered 200, ${load.failures} failed) over ${cookies.length} sessions in ${SECONDS} s;` +
        ` clients connected per node before / after: ${before.clients.join(', ')} / ${after.clients.join(', ')}`,
      '',
      ...lines,
      '',
      `Measured ${fmt(perSessionSecond, 3)} commands per active session per second; the store's design expects` +
        ` 2 / ${CACHE_TTL_S} s + 1 / ${TOUCH_INTERVAL_S} s ≈ ${fmt(EXPECTED_PER_SESSION_S, 3)}` +
        ` (measured ${fmt(perSessionSecond / EXPECTED_PER_SESSION_S, 2)}× that).`,
    ];
  } finally {
    await target.stop();
  }
}

async function main() {
  const upstream = await startUpstream();
  const cloud = await cloudTargets(upstream, [
    { name: 'redis-single', note: 'redis-single: session.store redis on 127.0.0.1:6379 (a random key prefix, removed at the end)', redis: true },
    { name: 'redis-cluster', note: 'redis-cluster: session.store redis on a three-primary Redis Cluster started for this run', redisCluster: true },
  ]);
  try {
    await cloud.startProvider();
    const [single, cluster] = /** @type {import('./lib/cloud-targets.js').CloudTarget[]} */ (cloud.targets);
    const sections = [...(await measure(single, 'Single Redis')), ...(await measure(cluster, 'Redis Cluster, three primaries (summed)'))];
    const report = [
      ...machineHeader('gatehouse Redis commands per session'),
      `- ${SESSIONS} sessions signed in through the dev provider (alice and carol in turn), then GET /fixed at ${RATE} req/s in total for ${SECONDS} s,` +
        ` round-robin over the session cookies (${fmt(RATE / SESSIONS, 1)} req/s per session); session.redis.cache_ttl 5 s and idle_timeout 1 h (defaults)`,
      '- counts: INFO commandstats of every primary, after the load minus before (sign-in writes happen before and are not counted);' +
        ' housekeeping is the clients’ own (INFO of this script, PING, CLUSTER, CLIENT, …). On the shared 127.0.0.1:6379 another client’s' +
        ' commands in the window would count too: gatehouse holds 2 connections there (commands, evictions) and this script’s reader 1; more clients connected mean others',
      ...sections,
      '',
    ].join('\n');
    publishReport(report, RESULTS_FILE);
  } finally {
    await cloud.stopProvider();
    await upstream.stop();
  }
}

main().catch((error) => {
  console.error(`bench: ${error instanceof Error ? error.stack : String(error)}`);
  process.exitCode = 1;
});
