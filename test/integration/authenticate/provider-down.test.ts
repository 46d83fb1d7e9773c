// The provider down: at start (gatehouse starts, /readyz 503 with the reason, /.auth/start 503, ready without a
// restart once the provider comes up) and during a sign-in (503 page, signed-in users keep working).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevProvider, type DevProvider } from '../../../demo/dev-provider.js';
import { BrowserClient } from '../../helpers/browser-client.js';
import { CLIENT_ID, CLIENT_SECRET, devClient, SESSION_SECRET, waitUntilReady } from '../../helpers/cloud-stack.js';
import { freePort } from '../../helpers/ports.js';
import { signInAtProvider } from '../../helpers/dev-provider-flow.js';
import { sendRequest, startTestGatehouse, type TestGatehouse } from '../../helpers/gatehouse-process.js';
import { headerValues, startUpstream, type RecordingUpstream } from '../../helpers/upstream.js';
import { waitFor } from '../../helpers/wait.js';

describe('provider down', () => {
  let upstream: RecordingUpstream;
  let gatehouse: TestGatehouse;
  let provider: DevProvider | undefined;
  let url: string;
  let issuer: string;
  let providerPort: number;

  beforeAll(async () => {
    const port = await freePort();
    providerPort = await freePort();
    url = `http://127.0.0.1:${port}`;
    issuer = `http://127.0.0.1:${providerPort}`;
    upstream = await startUpstream();
    gatehouse = await startTestGatehouse({
      mode: 'cloud',
      listen: { host: '127.0.0.1', port },
      public_url: url,
      upstream: { url: upstream.url },
      sso: { issuer, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, scopes: ['openid', 'profile', 'email', 'roles', 'offline_access'] },
      session: { secrets: [SESSION_SECRET] },
    });
  });
  afterAll(async () => {
    await gatehouse?.shutdown();
    await provider?.close();
    await upstream?.close();
  });

  /** Navigates to /.auth/start and through the provider's forms; returns the callback URL the provider sends back. */
  async function callbackFor(client: BrowserClient, rd: string, user: string): Promise<string> {
    const providerOrigin = new URL(issuer).origin;
    const toProvider = await client.follow(
      `${url}/.auth/start?rd=${encodeURIComponent(rd)}&interactive=1`,
      {},
      { stopAt: (next) => next.origin === providerOrigin },
    );
    const page = await client.follow(toProvider.final.location ?? '');
    const done = await signInAtProvider(client, page.final, { login: user }, 'skip-if-absent');
    return done.final.location ?? '';
  }

  it('starts anyway: /readyz 503 with the reason, /.auth/start answers a 503 page quickly', async () => {
    await waitFor(() => gatehouse.logs.some((line) => line.msg === 'provider discovery failed; retrying'), { timeoutMs: 5_000 });
    const ready = await sendRequest(`${gatehouse.opsUrl}/readyz`);
    expect(ready.status).toBe(503);
    const body = JSON.parse(ready.body) as { ready: boolean; waiting_for: Record<string, string> };
    expect(body.ready).toBe(false);
    expect(body.waiting_for.provider).toMatch(/^provider discovery failed: /);

    const started = performance.now();
    const page = await sendRequest(`${url}/.auth/start?rd=%2Fx`, { headers: { accept: 'text/html' } });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(page.status).toBe(503);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['set-cookie']).toBeUndefined();
    expect(page.body).toMatch(/<code>[0-9a-f-]{36}<\/code>/);
    expect(page.body).toContain('href="/.auth/start?rd=%2Fx&amp;interactive=1"');

    const json = await sendRequest(`${url}/.auth/start`, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(503);
    expect(JSON.parse(json.body)).toMatchObject({ error: 'provider_unavailable', status: 503 });
    const gated = await sendRequest(`${url}/app`, { headers: { accept: 'text/html' } });
    expect(gated.status).toBe(302);
    expect(upstream.requests).toHaveLength(0);
  });

  it('becomes ready without a restart once the provider comes up on the same port', async () => {
    provider = await startDevProvider({ port: providerPort, clients: [devClient(url)] });
    await waitUntilReady(gatehouse, 15_000);
    const ready = await sendRequest(`${gatehouse.opsUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ ready: true });
    expect(gatehouse.logs.filter((line) => line.msg === 'provider metadata loaded')).toHaveLength(1);
  });

  it('provider down during a sign-in: the token exchange fails with a 503 page; signed-in users keep working', async () => {
    const alice = new BrowserClient();
    const aliceLanded = await alice.follow(await callbackFor(alice, '/work', 'alice'));
    expect(aliceLanded.final.status).toBe(200);
    expect(aliceLanded.final.url).toBe(`${url}/work`);

    const bob = new BrowserClient();
    const callback = await callbackFor(bob, '/bob', 'bob');
    await provider?.close();
    provider = undefined;

    const started = performance.now();
    const failed = await bob.navigate(callback);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(failed.status).toBe(503);
    expect(failed.body).toContain('href="/.auth/start?rd=%2Fbob&amp;interactive=1"');
    const cookies = ([] as string[]).concat(failed.headers['set-cookie'] ?? []);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(/^gatehouse_signin_[A-Za-z0-9_-]{12}=; Max-Age=0; Path=\/\.auth\/;/);
    expect(bob.cookie(url, 'gatehouse_session')).toBeUndefined();

    for (let i = 0; i < 3; i++) {
      const page = await alice.navigate(`${url}/work/${i}`);
      expect(page.status).toBe(200);
      expect(upstream.requests.at(-1)?.url).toBe(`/work/${i}`);
      expect(headerValues(upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['alice']);
    }
    const me = await alice.api(`${url}/.auth/me`);
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({ sub: 'alice', roles: ['admin'] });
  });
});
