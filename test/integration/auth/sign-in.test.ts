// The sign-in handshake against the real dev provider (oidc-provider) over real sockets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { headerValues } from '../../helpers/upstream.js';

describe('sign-in against oidc-provider', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a deep link shows the sign-on page, then login and consent, and lands on the deep link with identity headers', async () => {
    const client = new BrowserClient();
    const first = await client.follow(`${stack.url}/reports/2026?x=1`);
    expect(first.chain[0]?.status).toBe(302);
    expect(first.chain[0]?.location).toBe(`${stack.url}/.auth/login?rd=%2Freports%2F2026%3Fx%3D1`);
    expect(first.final.status).toBe(200);
    expect(first.final.body).toContain('Sign in with Company account');

    const { landed, sawConsent } = await stack.signIn(client, '/reports/2026?x=1', 'alice', 'authorize');
    expect(sawConsent).toBe(true);
    expect(landed.url).toBe(`${stack.url}/reports/2026?x=1`);
    expect(landed.status).toBe(200);
    const seen = stack.upstream.requests.at(-1);
    expect(seen?.url).toBe('/reports/2026?x=1');
    const raw = seen?.rawHeaders ?? [];
    expect(headerValues(raw, 'x-forwarded-user')).toEqual(['alice']);
    expect(headerValues(raw, 'x-forwarded-email')).toEqual(['alice@example.test']);
    expect(headerValues(raw, 'x-forwarded-roles')).toEqual(['admin']);
    expect(headerValues(raw, 'x-gatehouse-assertion')).toHaveLength(1);
    const cookieHeader = headerValues(raw, 'cookie').join('; ');
    expect(cookieHeader).not.toContain('gatehouse_');
  });

  it('an API request without a session gets 401 JSON, a navigation gets 302', async () => {
    const client = new BrowserClient();
    const api = await client.api(`${stack.url}/api/data`);
    expect(api.status).toBe(401);
    expect(JSON.parse(api.body)).toEqual({ error: 'unauthenticated', login: '/.auth/login' });
    expect(api.headers['www-authenticate']).toBe('Session realm="gatehouse", login_url="/.auth/login"');
    const nav = await client.navigate(`${stack.url}/api/data`);
    expect(nav.status).toBe(302);
  });

  it('/.auth/me answers the identity, never tokens', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'carol');
    const me = await client.api(`${stack.url}/.auth/me`);
    expect(me.status).toBe(200);
    const body = JSON.parse(me.body) as Record<string, unknown>;
    expect(body).toMatchObject({ sub: 'carol', email: 'carol@example.test', roles: ['user'], access: 'granted' });
    expect(me.body).not.toMatch(/eyJ/);
  });
});
