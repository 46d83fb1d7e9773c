// Load generators: autocannon for throughput, a serial keep-alive client for single-connection latency in microseconds,
// and a WebSocket echo loop; each reports the measured process's CPU per 1,000 requests or messages.
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { Client } from 'undici';
import WebSocket from 'ws';
import { cpuMs } from './processes.js';

/**
 * @typedef {object} ThroughputResult
 * @property {number} rps requests per second (autocannon's average)
 * @property {number} p50 latency, ms (autocannon records whole milliseconds)
 * @property {number} p99 latency, ms
 * @property {number} cpuPer1k CPU-ms of the measured process per 1,000 requests
 * @property {number} requests completed requests
 * @property {number} failures errors, timeouts and answers with another status than expected
 */

/**
 * autocannon against `url` for `seconds`, CPU of `pid` read before and after.
 * @param {{ url: string, pid: number, connections: number, seconds: number, headers?: Record<string, string>, expectStatus?: number }} options
 *   expectStatus: the status every answer must have (default 200)
 * @returns {Promise<ThroughputResult>}
 */
export async function measureThroughput({ url, pid, connections, seconds, headers, expectStatus = 200 }) {
  const cpuBefore = cpuMs(pid);
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1, headers });
  const cpu = cpuMs(pid) - cpuBefore;
  const requests = result.requests.total;
  const expected = result.statusCodeStats?.[String(expectStatus)]?.count ?? 0;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuPer1k: requests > 0 ? (cpu * 1000) / requests : NaN,
    requests,
    failures: result.errors + result.timeouts + Math.max(0, requests - expected),
  };
}

/** Value at quantile q (0..1) of an ascending array. */
function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * One connection, one request at a time, for `seconds`; latency per request in microseconds.
 * @param {{ origin: string, path: string, seconds: number, headers?: Record<string, string>, expectStatus?: number }} options
 * @returns {Promise<{ p50: number, p99: number, requests: number, failures: number }>}
 */
export async function measureSerialLatency({ origin, path, seconds, headers, expectStatus = 200 }) {
  const client = new Client(origin, { pipelining: 1 });
  /** @type {number[]} */
  const samples = [];
  let failures = 0;
  const deadline = performance.now() + seconds * 1000;
  try {
    while (performance.now() < deadline) {
      const started = performance.now();
      const { statusCode, body } = await client.request({ path, method: 'GET', headers });
      await body.arrayBuffer();
      samples.push((performance.now() - started) * 1000);
      if (statusCode !== expectStatus) failures++;
    }
  } finally {
    await client.close();
  }
  samples.sort((a, b) => a - b);
  return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99), requests: samples.length, failures };
}

/**
 * `connections` WebSockets each echoing a 64-byte message back and forth for `seconds`.
 * @param {{ url: string, pid: number, connections: number, seconds: number, headers?: Record<string, string> }} options
 *   headers: sent with each upgrade request (a signed-in browser's Cookie)
 * @returns {Promise<{ rps: number, cpuPer1k: number, requests: number, failures: number }>}
 */
export async function measureWebSocketEcho({ url, pid, connections, seconds, headers }) {
  const wsUrl = `${url.replace(/^http/, 'ws')}/ws`;
  const payload = Buffer.alloc(64, 'w');
  /** @type {WebSocket[]} */
  const sockets = await Promise.all(Array.from({ length: connections }, () => openSocket(wsUrl, headers)));
  let messages = 0;
  let failures = 0;
  let running = true;
  const cpuBefore = cpuMs(pid);
  const started = performance.now();
  const loops = sockets.map(
    (socket) =>
      new Promise((resolve) => {
        socket.on('message', (data) => {
          if (/** @type {Buffer} */ (data).length === payload.length) messages++;
          else failures++;
          if (running) socket.send(payload);
          else resolve(undefined);
        });
        socket.once('close', () => resolve(undefined));
        socket.once('error', () => {
          failures++;
          resolve(undefined);
        });
        socket.send(payload);
      }),
  );
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  running = false;
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuMs(pid) - cpuBefore;
  const counted = messages;
  await Promise.all(loops);
  await Promise.all(sockets.map((socket) => closeSocket(socket)));
  return { rps: counted / elapsed, cpuPer1k: counted > 0 ? (cpu * 1000) / counted : NaN, requests: counted, failures };
}

/** @returns {Promise<WebSocket>} */
function openSocket(url, headers) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** @param {WebSocket} socket */
function closeSocket(socket) {
  return new Promise((resolve) => {
    if (socket.readyState === WebSocket.CLOSED) return resolve(undefined);
    socket.once('close', () => resolve(undefined));
    socket.close();
  });
}

/**
 * `amount` requests as fast as `connections` allow; answers counted by status, since a flood of unauthenticated
 * requests is expected to get 302/401 from a cloud-mode gatehouse.
 * @param {{ url: string, connections: number, amount: number }} options
 * @returns {Promise<{ requests: number, statuses: Record<string, number>, errors: number }>}
 */
export async function flood({ url, connections, amount }) {
  const result = await autocannon({ url, connections, amount, pipelining: 1 });
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([status, { count }]) => [status, count ?? 0]));
  return { requests: result.requests.total, statuses, errors: result.errors + result.timeouts };
}
