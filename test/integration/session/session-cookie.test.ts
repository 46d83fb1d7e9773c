// The session cookie at gatehouse over real sockets: bad cookies read as "no session", never reach the app and are
// counted; the app's own cookies pass; cookie attributes; the memory store's LRU bound, idle timeout, ttl and gauge.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startDevProvider } from '../../../demo/dev-provider.js';
import { BrowserClient } from '../../helpers/browser-client.js';
import { devClient, startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { signInAtProvider } from '../../helpers/dev-provider-flow.js';
import { apiWith, metricValue, navigateWith, SESSION_COOKIE, signedInCookie } from '../../helpers/session-requests.js';
import { headerValues } from '../../helpers/upstream.js';

describe('session cookie at gatehouse', () => {
  let stack: CloudStack;
  let cookie: string;
  beforeAll(async () => {
    stack = await startCloudStack();
    cookie = await signedInCookie(stack, 'carol');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("a valid cookie reaches the app with identity; the session cookie is removed, the app's own cookies pass", async () => {
    const res = await apiWith(`${stack.url}/api/own-cookies`, `app_pref=dark; ${SESSION_COOKIE}=${cookie}; app_cart=3`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok');
    const seen = stack.upstream.requests.at(-1);
    expect(seen?.url).toBe('/api/own-cookies');
    expect(headerValues(seen?.rawHeaders ?? [], 'cookie')).toEqual(['app_pref=dark; app_cart=3']);
    expect(headerValues(seen?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['carol']);
  });

  const id = (value: string) => value.slice(0, 43);
  const mac = (value: string) => value.slice(44);
  const flip = (c: string) => (c === 'A' ? 'B' : 'A');
  const badCookies: Array<{ name: string; value: (good: string) => string; reason: string }> = [
    { name: 'tampered id', value: (good) => `${flip(id(good)[0] as string)}${good.slice(1)}`, reason: 'bad-mac' },
    { name: 'tampered MAC', value: (good) => `${id(good)}.${flip(mac(good)[0] as string)}${mac(good).slice(1)}`, reason: 'bad-mac' },
    { name: 'truncated', value: (good) => good.slice(0, -1), reason: 'malformed' },
    { name: 'oversized (4 KiB)', value: () => 'A'.repeat(4096), reason: 'oversized' },
    { name: 'standard base64 instead of base64url', value: (good) => `+${good.slice(1)}`, reason: 'malformed' },
    { name: 'no separator', value: (good) => `${id(good)}_${mac(good)}`, reason: 'malformed' },
    { name: 'non-canonical last character', value: (good) => `${good.slice(0, -1)}B`, reason: 'malformed' },
  ];

  for (const bad of badCookies) {
    it(`${bad.name}: navigation 302 to sign-on, API 401, nothing reaches the app, counted as ${bad.reason}`, async () => {
      const before = await metricValue(stack.gatehouse, 'gatehouse_session_cookies_rejected_total', { reason: bad.reason });
      const forwarded = stack.upstream.requests.length;
      const header = `${SESSION_COOKIE}=${bad.value(cookie)}`;
      const nav = await navigateWith(`${stack.url}/reports?q=1`, header);
      expect(nav.status).toBe(302);
      expect(nav.headers.location).toBe('/.auth/login?rd=%2Freports%3Fq%3D1');
      const api = await apiWith(`${stack.url}/api/data`, header);
      expect(api.status).toBe(401);
      expect(JSON.parse(api.body)).toEqual({ error: 'unauthenticated', login: '/.auth/login' });
      expect(stack.upstream.requests.length).toBe(forwarded);
      expect(await metricValue(stack.gatehouse, 'gatehouse_session_cookies_rejected_total', { reason: bad.reason })).toBe(before + 2);
    });
  }

  it('the valid cookie still works after all the bad ones', async () => {
    const res = await apiWith(`${stack.url}/api/after`, `${SESSION_COOKIE}=${cookie}`);
    expect(res.status).toBe(200);
  });

  it('the Set-Cookie at sign-in is HttpOnly; SameSite=Lax; Path=/ with Max-Age of session.ttl, no Secure on http', async () => {
    const client = new BrowserClient();
    const { chain } = await stack.signIn(client, '/', 'carol');
    const set = chain.flatMap((response) => [response.headers['set-cookie'] ?? []].flat()).filter((line) => line.startsWith(`${SESSION_COOKIE}=`));
    expect(set).toHaveLength(1);
    expect(set[0]).toMatch(/^gatehouse_session=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; Max-Age=28800; Path=\/; HttpOnly; SameSite=Lax$/);
    await client.close();
  });
});

describe('session cookie when public_url is https (plain http listener behind a TLS proxy)', () => {
  const publicUrl = 'https://app.example.test';
  let stack: CloudStack;
  beforeAll(async () => {
    const provider = await startDevProvider({ port: 0, clients: [devClient(publicUrl)] });
    stack = await startCloudStack({ provider, config: { public_url: publicUrl } });
  });
  afterAll(async () => {
    await stack?.close();
    await stack?.provider.close();
  });

  it('is named __Host-gatehouse_session with Secure, and works', async () => {
    const client = new BrowserClient();
    // the TLS proxy passes on the Host the browser asked for (a navigation on another host goes to public_url first)
    const started = await client.navigate(`${stack.url}/.auth/start?rd=%2Fdeep&interactive=1`, { headers: { host: 'app.example.test' } });
    const authorize = started.location as string;
    expect(new URL(authorize).searchParams.get('redirect_uri')).toBe(`${publicUrl}/.auth/callback`);
    const page = await client.follow(authorize);
    const atProvider = await signInAtProvider(client, page.final, { login: 'carol' }, 'skip-if-absent');
    const callback = new URL(atProvider.final.location as string);
    expect(callback.origin).toBe(publicUrl);
    // what the TLS proxy would do: the callback reaches the plain listener
    const back = await client.navigate(`${stack.url}${callback.pathname}${callback.search}`);
    expect(back.status).toBe(302);
    expect(back.location).toBe(`${stack.url}/deep`);
    const set = [back.headers['set-cookie'] ?? []].flat().filter((line) => line.startsWith('__Host-gatehouse_session='));
    expect(set).toHaveLength(1);
    expect(set[0]).toMatch(/^__Host-gatehouse_session=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; Max-Age=28800; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const value = (set[0] as string).split(';')[0]?.split('=')[1] as string;
    const res = await apiWith(`${stack.url}/api/secure`, `__Host-gatehouse_session=${value}`);
    expect(res.status).toBe(200);
    expect(headerValues(stack.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['carol']);
    // the unprefixed name is not the session cookie here
    expect((await apiWith(`${stack.url}/api/secure`, `${SESSION_COOKIE}=${value}`)).status).toBe(401);
    await client.close();
  });
});

describe('memory store: max_sessions evicts the least recently used', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack({ config: { session: { max_sessions: 2 } } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('the third session pushes out the least recently used one; the gauge shows 2', async () => {
    const first = await signedInCookie(stack, 'carol');
    const second = await signedInCookie(stack, 'alice');
    expect((await apiWith(`${stack.url}/api/x`, `${SESSION_COOKIE}=${first}`)).status).toBe(200);
    const third = await signedInCookie(stack, 'bob');
    expect((await apiWith(`${stack.url}/api/x`, `${SESSION_COOKIE}=${second}`)).status).toBe(401);
    expect((await apiWith(`${stack.url}/api/x`, `${SESSION_COOKIE}=${first}`)).status).toBe(200);
    expect((await apiWith(`${stack.url}/api/x`, `${SESSION_COOKIE}=${third}`)).status).toBe(200);
    const metrics = await fetch(`${stack.gatehouse.opsUrl}/metrics`).then((res) => res.text());
    expect(metrics).toMatch(/^gatehouse_sessions_live 2$/m);
  });
});

// Date is stopped for these tests and moved by them (timers stay real): a session ends exactly when the clock passes
// its idle timeout or ttl, never because this machine was slow between two requests.
describe('memory store: idle_timeout and ttl end sessions (the test moves the clock)', () => {
  const TTL_MS = 4000;
  const IDLE_MS = 1500;
  let stack: CloudStack;
  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    stack = await startCloudStack({ config: { session: { ttl: `${TTL_MS}ms`, idle_timeout: `${IDLE_MS}ms` } } });
  });
  afterAll(async () => {
    await stack?.close();
    vi.useRealTimers();
  });

  const status = async (cookie: string) => (await apiWith(`${stack.url}/api/x`, `${SESSION_COOKIE}=${cookie}`)).status;

  it('idle longer than idle_timeout: the session ended', async () => {
    const cookie = await signedInCookie(stack, 'carol');
    const signedInAt = Date.now();
    vi.setSystemTime(signedInAt + IDLE_MS - 100);
    expect(await status(cookie)).toBe(200);
    // idle from the request above, still well inside the ttl
    vi.setSystemTime(signedInAt + 2 * IDLE_MS);
    expect(await status(cookie)).toBe(401);
    expect((await navigateWith(`${stack.url}/x`, `${SESSION_COOKIE}=${cookie}`)).status).toBe(302);
  });

  it('active but older than ttl: the session ended', async () => {
    const cookie = await signedInCookie(stack, 'carol');
    const signedInAt = Date.now();
    for (const after of [1000, 2000, 3000, TTL_MS - 100]) {
      vi.setSystemTime(signedInAt + after);
      expect(await status(cookie)).toBe(200);
    }
    vi.setSystemTime(signedInAt + TTL_MS + 100);
    expect(await status(cookie)).toBe(401);
  });
});
