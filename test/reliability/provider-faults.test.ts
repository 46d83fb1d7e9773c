// The provider goes down, hangs, or answers garbage: sign-in gets a 503 page within sso.timeout, signed-in users
// keep working, and readiness names the reason.
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../helpers/browser-client.js';
import { CLIENT_ID, CLIENT_SECRET, SESSION_SECRET, startCloudStack, type CloudStack } from '../helpers/cloud-stack.js';
import { sendRequest, startTestGatehouse, type HttpResult } from '../helpers/gatehouse-process.js';
import { startUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const SSO_TIMEOUT_MS = 1_000;

describe('provider down or hanging after start (sso.timeout 1s)', () => {
  let stack: CloudStack;
  let session: string;
  let hanging: TcpServer | undefined;
  const held = new Set<Socket>();
  const providerPort = (): number => Number(new URL(stack.provider.issuer).port);

  beforeAll(async () => {
    stack = await startCloudStack({ config: { sso: { timeout: '1s' } } });
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'alice');
    session = `gatehouse_session=${client.cookie(stack.url, 'gatehouse_session') ?? ''}`;
    await client.close();
    await stack.provider.close();
  });
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => (hanging ? hanging.close(() => resolve()) : resolve()));
    await stack.gatehouse.shutdown();
    await stack.upstream.close();
  });

  /** A callback for a real pending sign-in, as the provider would send the browser back. */
  async function callback(): Promise<{ res: HttpResult; ms: number }> {
    const start = await sendRequest(`${stack.url}/.auth/start?rd=/deep`, { headers: { accept: 'text/html' } });
    expect(start.status).toBe(302);
    const state = new URL(start.headers.location ?? '').searchParams.get('state') ?? '';
    const cookie = (start.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
    const began = Date.now();
    const res = await sendRequest(`${stack.url}/.auth/callback?code=abc&state=${state}&iss=${encodeURIComponent(stack.provider.issuer)}`, {
      headers: { accept: 'text/html', cookie },
    });
    return { res, ms: Date.now() - began };
  }

  const signedInRequest = (): Promise<HttpResult> => sendRequest(`${stack.url}/app`, { headers: { accept: 'application/json', cookie: session } });
  /** The reasons of the `sign-in failed` lines logged from the `from`-th log line on. */
  const signInFailures = (from: number): unknown[] =>
    stack.gatehouse.logs
      .slice(from)
      .filter((l) => l.msg === 'sign-in failed')
      .map((l) => l.reason);

  it('provider down (connection refused): the callback answers a 503 page at once; the signed-in user is unaffected', async () => {
    const from = stack.gatehouse.logs.length;
    const { res, ms } = await callback();
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(ms).toBeLessThan(SSO_TIMEOUT_MS);
    const app = await signedInRequest();
    expect(app.status).toBe(200);
    expect(stack.upstream.requests.at(-1)?.rawHeaders).toContain('alice');
    expect(signInFailures(from)).toEqual(['provider_unavailable']);
  });

  it('provider hangs (accepts, never answers): the callback answers a 503 page within sso.timeout; the signed-in user is unaffected meanwhile', async () => {
    hanging = createTcpServer((socket) => {
      held.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => hanging?.listen(providerPort(), '127.0.0.1', resolve));
    const from = stack.gatehouse.logs.length;
    const pending = callback();
    const during = await signedInRequest();
    expect(during.status).toBe(200);
    const { res, ms } = await pending;
    expect(res.status).toBe(503);
    expect(res.body).toContain('href="/.auth/start?rd=%2Fdeep&amp;interactive=1"');
    expect(ms).toBeGreaterThanOrEqual(SSO_TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(SSO_TIMEOUT_MS + 700);
    expect(held.size).toBeGreaterThan(0);
    expect(signInFailures(from)).toEqual(['provider_unavailable']);
  });
});

describe('provider answers garbage JSON at discovery', () => {
  let garbage: Server;
  let hits = 0;
  beforeAll(async () => {
    garbage = createHttpServer((req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"issuer": "http://127.0.0.1", not json');
    });
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => garbage.close(() => resolve()));
  });

  it('gatehouse starts not ready, /readyz names the provider, /start answers 503, nothing crashes', async () => {
    const upstream = await startUpstream();
    const issuer = `http://127.0.0.1:${(garbage.address() as { port: number }).port}`;
    const gatehouse = await startTestGatehouse({
      mode: 'cloud',
      public_url: 'http://127.0.0.1:8080',
      upstream: { url: upstream.url },
      sso: { issuer, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, timeout: '1s' },
      session: { secrets: [SESSION_SECRET] },
    });
    try {
      const failed = () => String(gatehouse.readiness.reasons().provider).startsWith('provider discovery failed');
      await waitFor(failed, { timeoutMs: 3_000, what: 'provider discovery failing' });
      expect(hits).toBeGreaterThan(0);
      expect(gatehouse.readiness.ready).toBe(false);
      const readyz = await sendRequest(`${gatehouse.opsUrl}/readyz`);
      expect(readyz.status).toBe(503);
      const body = JSON.parse(readyz.body) as { ready: boolean; waiting_for: Record<string, string> };
      expect(body.ready).toBe(false);
      expect(Object.values(body.waiting_for).join(' ')).toMatch(/^provider discovery failed: /);
      // on public_url's host (another host would be redirected there first)
      const start = await sendRequest(`${gatehouse.url}/.auth/start?rd=/`, { headers: { accept: 'text/html', host: '127.0.0.1:8080' } });
      expect(start.status).toBe(503);
      const api = await sendRequest(`${gatehouse.url}/app`, { headers: { accept: 'application/json' } });
      expect(api.status).toBe(401);
      expect(upstream.requests).toEqual([]);
    } finally {
      await gatehouse.shutdown();
      await upstream.close();
    }
  });
});
