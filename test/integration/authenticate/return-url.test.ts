// Return URLs over real sockets: every open-redirect payload of test/fixtures/openredirects.txt used as `rd` on
// /.auth/login, /.auth/start and /.auth/logout ends on gatehouse's own origin.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PendingSignIn } from '../../../src/authenticate/pending-sign-in.js';
import { Sealer } from '../../../src/session/sealer.js';
import { BrowserClient, type BrowserResponse } from '../../helpers/browser-client.js';
import { SESSION_SECRET, startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { logoutAtProvider } from '../../helpers/dev-provider-flow.js';

const PAYLOADS = readFileSync(new URL('../../fixtures/openredirects.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line !== '');

/** A same-origin path: starts with one `/`, no backslash or control character, and resolves on `origin`. */
function expectOwnPath(target: string, origin: string, payload: string): void {
  const hasControl = [...target].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f);
  const problem = !/^\/(?![/\\])/.test(target) || target.includes('\\') || hasControl || new URL(target, origin).origin !== origin;
  expect(problem ? `${JSON.stringify(payload)} → ${JSON.stringify(target)}` : 'ok').toBe('ok');
}

/** Runs `task` over `items`, `width` at a time. */
async function inBatches<T>(items: readonly T[], width: number, task: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(task));
}

describe('return URLs (rd) against the open-redirect corpus', () => {
  let stack: CloudStack;
  let signedIn: BrowserClient;
  const sealer = new Sealer([SESSION_SECRET]);

  beforeAll(async () => {
    stack = await startCloudStack();
    signedIn = new BrowserClient();
    await stack.signIn(signedIn, '/', 'carol', 'authorize');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('reads the whole corpus', () => {
    expect(PAYLOADS.length).toBeGreaterThan(500);
  });

  it('/.auth/login with a valid session redirects every payload to a path on its own origin', async () => {
    const cookie = `gatehouse_session=${signedIn.cookie(stack.url, 'gatehouse_session') ?? ''}`;
    const client = new BrowserClient();
    await inBatches(PAYLOADS, 16, async (payload) => {
      const response = await client.navigate(`${stack.url}/.auth/login?rd=${encodeURIComponent(payload)}`, { headers: { cookie } });
      expect(response.status).toBe(302);
      expectOwnPath(String(response.headers.location), stack.url, payload);
    });
  });

  it('/.auth/login without a session puts a safe rd into the sign-on button', async () => {
    const client = new BrowserClient();
    await inBatches(PAYLOADS, 16, async (payload) => {
      const response = await client.navigate(`${stack.url}/.auth/login?rd=${encodeURIComponent(payload)}`);
      expect(response.status).toBe(200);
      const href = /href="([^"]*\/start\?[^"]*)"/.exec(response.body)?.[1]?.replace(/&amp;/g, '&') ?? '';
      expectOwnPath(new URL(href, stack.url).searchParams.get('rd') ?? '', stack.url, payload);
    });
  });

  it('/.auth/start seals a same-origin return path for every payload', async () => {
    const client = new BrowserClient();
    await inBatches(PAYLOADS, 16, async (payload) => {
      const response: BrowserResponse = await client.navigate(`${stack.url}/.auth/start?rd=${encodeURIComponent(payload)}`, { headers: { cookie: '' } });
      expect(response.status).toBe(302);
      const line = ([] as string[]).concat(response.headers['set-cookie'] ?? []).find((value) => value.startsWith('gatehouse_signin_')) ?? '';
      const pending = sealer.unseal<PendingSignIn>(line.slice(line.indexOf('=') + 1, line.indexOf(';')), 'pending-sign-in');
      expectOwnPath(pending?.returnTo ?? '', stack.url, payload);
    });
  });

  it('a real sign-in with a hostile rd lands on gatehouse’s own origin', async () => {
    for (const payload of ['//google.com', '/\\google.com', '/%09/google.com', 'https://google.com', 'javascript:alert(1)']) {
      const client = new BrowserClient();
      const { landed } = await stack.signIn(client, `/.auth/login?rd=${encodeURIComponent(payload)}`, 'carol');
      expect([payload, landed.url]).toEqual([payload, `${stack.url}/`]);
    }
  });

  it("/.auth/logout without a session ignores rd and a forged Host: gatehouse's own signed-out page, no redirect", async () => {
    const client = new BrowserClient();
    await inBatches(PAYLOADS, 16, async (payload) => {
      const response = await client.navigate(`${stack.url}/.auth/logout?rd=${encodeURIComponent(payload)}`, {
        headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
      });
      expect(response.status).toBe(200);
      expect(response.location).toBeUndefined();
      expect(response.body).toContain('<h1>You are signed out</h1>');
      expect(response.body).not.toContain('evil.example');
    });
  });

  it('/.auth/logout with a session: post_logout_redirect_uri is public_url + /.auth/signed-out, even with rd and a forged Host', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'alice', 'authorize');
    const response = await client.navigate(`${stack.url}/.auth/logout?rd=${encodeURIComponent('//evil.example/x')}`, {
      headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
    });
    expect(response.status).toBe(302);
    const endSession = new URL(response.location ?? 'http://missing.invalid');
    expect(endSession.origin).toBe(new URL(stack.provider.issuer).origin);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${stack.url}/.auth/signed-out`);
  });

  it('a real logout with a hostile rd ends on the signed-out page of its own origin', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'alice', 'authorize');
    const toProvider = await client.follow(`${stack.url}/.auth/logout?rd=${encodeURIComponent('//evil.example/x')}`);
    const back = await logoutAtProvider(client, toProvider.final);
    const landed = await client.follow(back.final.location ?? '');
    expect(landed.final.status).toBe(200);
    expect(landed.final.url).toMatch(new RegExp(`^${stack.url}/\\.auth/signed-out\\?state=[\\w-]{32}$`));
    expect(landed.final.body).toContain('<h1>You are signed out</h1>');
  });
});
