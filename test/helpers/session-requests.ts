// Session tests' requests with an explicit session cookie (no jar: a cookie the jar dropped by Max-Age cannot
// hide what gatehouse decides), metric reads, and the Redis probe used to skip Redis tests when none answers.
import net from 'node:net';
import type { Gatehouse } from '../../src/gatehouse.js';
import { sendRequest, type HttpResult } from './gatehouse-process.js';

export const SESSION_COOKIE = 'gatehouse_session';
export const REDIS_PORT = 6379;
export const REDIS_URL = `redis://127.0.0.1:${REDIS_PORT}`;

const NAVIGATION_HEADERS = { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const API_HEADERS = { accept: 'application/json', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' };

/** A browser navigation carrying exactly `cookie` (a whole Cookie header value) when given. */
export function navigateWith(url: string, cookie?: string): Promise<HttpResult> {
  return sendRequest(url, { headers: cookie === undefined ? NAVIGATION_HEADERS : { ...NAVIGATION_HEADERS, cookie } });
}

/** A fetch()-like API call carrying exactly `cookie` when given. */
export function apiWith(url: string, cookie?: string): Promise<HttpResult> {
  return sendRequest(url, { headers: cookie === undefined ? API_HEADERS : { ...API_HEADERS, cookie } });
}

/** Value of one series of a counter or gauge (0 when the series does not exist yet). */
export async function metricValue(gatehouse: Gatehouse, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await gatehouse.metrics.registry.metrics();
  const wanted = Object.entries(labels)
    .map(([label, value]) => `${label}="${value}"`)
    .join(',');
  const series = wanted === '' ? name : `${name}{${wanted}}`;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it resolves true; returns the milliseconds it took. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 25): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
  return Date.now() - started;
}

/** Whether a Redis server answers PING on 127.0.0.1:6379 within a second. */
export function redisAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(REDIS_PORT, '127.0.0.1');
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString('latin1').startsWith('+PONG')));
  });
}

/** A TCP relay to the real Redis that a test can cut and restore, standing in for a Redis outage. */
export class RedisRelay {
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private port: number,
    private server: net.Server,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisRelay> {
    const relay = new RedisRelay(0, net.createServer());
    await relay.listen(0);
    return relay;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async resume(): Promise<void> {
    this.server = net.createServer();
    await this.listen(this.port);
  }

  private async listen(port: number): Promise<void> {
    this.server.on('connection', (client) => {
      const upstream = net.connect(REDIS_PORT, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
}
