// Advisories: spoofed identity headers in every spelling, cookie bombs, forged session and pending-sign-in cookies,
// state-cookie pile-up, malformed callbacks, Host-header redirect poisoning and open redirects through `rd`.
// One cloud stack (public /public/, local login /login.html) and one signed-in user serve every case.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionCookie } from '../../src/session/session-cookie.js';
import { BrowserClient } from '../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../helpers/cloud-stack.js';
import { parseLinks } from '../helpers/dev-provider-flow.js';
import { rawRequest, sendRequest, type HttpResult } from '../helpers/gatehouse-process.js';
import { headerNames, headerValues } from '../helpers/upstream.js';

const MARK = 'SPOOFED';
const IDENTITY_NAMES = [
  'X-Forwarded-User',
  'X-Forwarded-Email',
  'X-Forwarded-Preferred-Username',
  'X-Forwarded-Name',
  'X-Forwarded-Roles',
  'X-Gatehouse-Assertion',
];

/** Every identity name in lower, upper and mixed case, with `-` and with `_`, each twice. */
function spoofedHeaders(): string[] {
  const out = ['Host', '127.0.0.1'];
  for (const name of IDENTITY_NAMES) {
    for (const cased of [name, name.toLowerCase(), name.toUpperCase()]) {
      for (const spelled of [cased, cased.replaceAll('-', '_'), cased.replace('-', '_')]) out.push(spelled, `${MARK}-1`, spelled, `${MARK}-2`);
    }
  }
  return out;
}
const SPOOFS = spoofedHeaders();

const identityLike = (name: string): boolean => {
  const canonical = name.toLowerCase().replaceAll('_', '-');
  return IDENTITY_NAMES.some((known) => known.toLowerCase() === canonical);
};

const openRedirects = readFileSync(new URL('../fixtures/openredirects.txt', import.meta.url), 'utf8')
  .split('\n')
  .map((line) => line.replace(/\r$/, ''))
  .filter((line) => line !== '');

let stack: CloudStack;
let client: BrowserClient;
let sessionCookie: string;
const SESSION_NAME = 'gatehouse_session';

beforeAll(async () => {
  stack = await startCloudStack({ config: { public_paths: ['/public/'], local_login: { enabled: true, paths: ['/login.html'] } } });
  client = new BrowserClient();
  await stack.signIn(client, '/', 'carol');
  sessionCookie = client.cookie(stack.url, SESSION_NAME) ?? '';
  expect(sessionCookie).toMatch(/^[\w-]{43}\.[\w-]{43}$/);
});
afterAll(async () => {
  await client?.close();
  await stack?.close();
});

function forwardedSince(before: number): string[] {
  return stack.upstream.requests.slice(before).map((r) => `${r.method} ${r.url}`);
}

describe('identity-header spoofing: names × case × _/- × duplicates × methods × paths', () => {
  const METHODS = ['GET', 'POST', 'OPTIONS'];

  for (const method of METHODS) {
    it(`${method}, anonymous: public and local-login paths forwarded bare; protected and /.auth never forwarded`, async () => {
      for (const path of ['/public/x', '/login.html']) {
        const before = stack.upstream.requests.length;
        const res = await sendRequest(`${stack.url}${path}`, { method, headers: ['Accept', 'application/json', ...SPOOFS] });
        expect(res.status).toBe(200);
        expect(forwardedSince(before)).toEqual([`${method} ${path}`]);
        const seen = stack.upstream.requests[before]?.rawHeaders ?? [];
        expect(seen.filter((v) => v.includes(MARK))).toEqual([]);
        expect(headerNames(seen).filter(identityLike)).toEqual([]);
      }
      for (const [path, status] of [
        ['/admin', 401],
        ['/.auth/me', method === 'GET' ? 401 : 405],
      ] as const) {
        const before = stack.upstream.requests.length;
        const res = await sendRequest(`${stack.url}${path}`, { method, headers: ['Accept', 'application/json', ...SPOOFS] });
        expect(res.status).toBe(status);
        expect(res.body).not.toContain(MARK);
        expect(forwardedSince(before)).toEqual([]);
      }
    });

    it(`${method}, signed in: the app sees exactly gatehouse's one value per identity header`, async () => {
      for (const path of ['/public/x', '/admin']) {
        const before = stack.upstream.requests.length;
        const res = await sendRequest(`${stack.url}${path}`, {
          method,
          headers: ['Accept', 'application/json', 'Cookie', `${SESSION_NAME}=${sessionCookie}`, ...SPOOFS],
        });
        expect(res.status).toBe(200);
        const seen = stack.upstream.requests[before]?.rawHeaders ?? [];
        expect(seen.filter((v) => v.includes(MARK))).toEqual([]);
        expect(headerValues(seen, 'x-forwarded-user')).toEqual(['carol']);
        expect(headerValues(seen, 'x-forwarded-roles')).toEqual(['user']);
        expect(headerNames(seen).filter(identityLike).sort()).toEqual(IDENTITY_NAMES.map((n) => n.toLowerCase()).sort());
      }
      const me = await sendRequest(`${stack.url}/.auth/me`, {
        headers: ['Accept', 'application/json', 'Cookie', `${SESSION_NAME}=${sessionCookie}`, ...SPOOFS],
      });
      expect(JSON.parse(me.body)).toMatchObject({ sub: 'carol', roles: ['user'] });
    });
  }
});

describe('cookie headers', () => {
  const api = (path: string, cookie: string): Promise<HttpResult> => sendRequest(`${stack.url}${path}`, { headers: { accept: 'application/json', cookie } });

  it('500 cookies: protected path 401, public path forwarded with all 500 app cookies', async () => {
    const many = Array.from({ length: 500 }, (_, i) => `c${i}=v${i}`).join('; ');
    const before = stack.upstream.requests.length;
    expect((await api('/admin', many)).status).toBe(401);
    expect((await api('/public/many', many)).status).toBe(200);
    expect(forwardedSince(before)).toEqual(['GET /public/many']);
    expect(headerValues(stack.upstream.requests[before]?.rawHeaders ?? [], 'cookie')).toEqual([many]);
  });

  it('500 cookies next to a valid session: still signed in', async () => {
    const many = Array.from({ length: 500 }, (_, i) => `c${i}=v${i}`).join('; ');
    const res = await api('/admin', `${many}; ${SESSION_NAME}=${sessionCookie}`);
    expect(res.status).toBe(200);
  });

  it('64 KiB of cookies → 431 (listen.max_header_size 16 KiB), nothing forwarded', async () => {
    const before = stack.upstream.requests.length;
    const big = Array.from({ length: 64 }, (_, i) => `big${i}=${'x'.repeat(1030)}`).join('; ');
    expect(big.length).toBeGreaterThan(64 * 1024);
    for (const path of ['/public/x', '/admin', '/.auth/login']) {
      const res = await rawRequest(stack.url, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${big}\r\nConnection: close\r\n\r\n`);
      expect(res.status).toBe(431);
      expect(res.body).toBe('request headers too large\n');
    }
    expect(forwardedSince(before)).toEqual([]);
  });

  it('invalid percent-encoding in cookies is read as absent: %zz session → 401; %zz app cookie passes untouched', async () => {
    const before = stack.upstream.requests.length;
    expect((await api('/admin', `${SESSION_NAME}=%zz`)).status).toBe(401);
    expect((await api('/admin', `${SESSION_NAME}=${sessionCookie.slice(0, 40)}%E0%A4%A`)).status).toBe(401);
    expect((await api('/public/x', `app=%zz; ${SESSION_NAME}=%zz`)).status).toBe(200);
    expect(forwardedSince(before)).toEqual(['GET /public/x']);
    expect(headerValues(stack.upstream.requests[before]?.rawHeaders ?? [], 'cookie')).toEqual(['app=%zz']);
  });

  it('non-UTF-8 bytes in the Cookie header over a raw socket → 401, no crash', async () => {
    const head = Buffer.concat([
      Buffer.from(`GET /admin HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nCookie: ${SESSION_NAME}=`),
      Buffer.from([0xff, 0xfe, 0xc0, 0xae, 0x80]),
      Buffer.from(`; other=\xe9\r\nConnection: close\r\n\r\n`, 'latin1'),
    ]);
    const res = await rawRequest(stack.url, '', head);
    expect(res.status).toBe(401);
  });

  it('forged session cookies (random, another secret, truncated, extended, MAC swapped) are treated as absent', async () => {
    const otherSecret = new SessionCookie({ secrets: ['another-secret-0123456789-abcdefghijklmnop'], name: SESSION_NAME, secure: false, maxAgeMs: 3_600_000 });
    const [id, mac] = sessionCookie.split('.') as [string, string];
    const forged = [
      randomBytes(64).toString('base64url'),
      `${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`,
      otherSecret.issue().value,
      sessionCookie.slice(0, -1),
      sessionCookie.slice(0, 43),
      `${sessionCookie}A`,
      `${mac}.${id}`,
      `${id}.`,
      '',
    ];
    const before = stack.upstream.requests.length;
    for (const value of forged) {
      expect((await api('/admin', `${SESSION_NAME}=${value}`)).status).toBe(401);
      expect((await api('/.auth/me', `${SESSION_NAME}=${value}`)).status).toBe(401);
      const publicPath = await api('/public/x', `${SESSION_NAME}=${value}`);
      expect(publicPath.status).toBe(200);
      expect(headerNames(stack.upstream.requests.at(-1)?.rawHeaders ?? []).filter(identityLike)).toEqual([]);
    }
    expect(forwardedSince(before)).toEqual(forged.map(() => 'GET /public/x'));
    expect((await api('/admin', `${SESSION_NAME}=${sessionCookie}`)).status).toBe(200);
  });

  it('a forged pending-sign-in cookie is treated as absent: callback → 400 "Sign-in expired", cookie cleared, no session', async () => {
    const state = 'ABCDEFGHIJKLmnop';
    const res = await sendRequest(`${stack.url}/.auth/callback?code=x&state=${state}`, {
      headers: { accept: 'text/html', cookie: `gatehouse_signin_ABCDEFGHIJKL=${randomBytes(48).toString('base64url')}` },
    });
    expect(res.status).toBe(400);
    expect(res.body).toContain('Sign-in expired');
    expect(res.headers['set-cookie']).toEqual(['gatehouse_signin_ABCDEFGHIJKL=; Max-Age=0; Path=/.auth/; HttpOnly; SameSite=Lax']);
  });

  it('state-cookie pile-up: 200 forged pending cookies on /start yield at most cap + 3 clearings and one new cookie', async () => {
    const pile = Array.from({ length: 200 }, (_, i) => `gatehouse_signin_f${String(i).padStart(3, '0')}=${randomBytes(12).toString('base64url')}`).join('; ');
    const res = await sendRequest(`${stack.url}/.auth/start?rd=/`, { headers: { accept: 'text/html', cookie: pile } });
    expect(res.status).toBe(302);
    const setCookies = res.headers['set-cookie'] ?? [];
    expect(setCookies.filter((c) => c.includes('Max-Age=0'))).toHaveLength(6);
    expect(setCookies.filter((c) => c.includes('Max-Age=600'))).toHaveLength(1);
  });
});

describe('callback parameters', () => {
  /** A real pending sign-in: its cookie and state, as the browser holds them after /start. */
  async function begin(): Promise<{ cookie: string; state: string }> {
    const res = await sendRequest(`${stack.url}/.auth/start?rd=/after`, { headers: { accept: 'text/html' } });
    const state = new URL(res.headers.location ?? '').searchParams.get('state') ?? '';
    const cookie = (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
    expect(state).not.toBe('');
    return { cookie, state };
  }
  const callback = (query: string, cookie = ''): Promise<HttpResult> =>
    sendRequest(`${stack.url}/.auth/callback${query}`, { headers: { accept: 'text/html', cookie } });

  it('missing: no query, no state, no code → 400 page, never a session', async () => {
    const { cookie, state } = await begin();
    for (const [query, title] of [
      ['', 'Sign-in expired'],
      ['?code=abc', 'Sign-in expired'],
      [`?state=${state}`, 'Sign-in failed'],
    ] as const) {
      const res = await callback(query, cookie);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain(title);
      expect(JSON.stringify(res.headers['set-cookie'] ?? [])).not.toContain(`${SESSION_NAME}=`);
    }
  });

  it('duplicated: two states or two codes → 400 page, never a session', async () => {
    const a = await begin();
    const twoStates = await callback(`?code=abc&state=${a.state}&state=${a.state}`, a.cookie);
    expect(twoStates.status).toBe(400);
    expect(twoStates.body).toContain('Sign-in expired');
    const b = await begin();
    const twoCodes = await callback(`?code=abc&code=def&state=${b.state}`, b.cookie);
    expect(twoCodes.status).toBe(400);
    expect(twoCodes.body).toContain('Sign-in failed');
    for (const res of [twoStates, twoCodes]) expect(JSON.stringify(res.headers['set-cookie'] ?? [])).not.toContain(`${SESSION_NAME}=`);
  });

  it('oversized: a 10 KiB state → 400 "Sign-in expired"; a 12 KiB code with a real state → 400 (invalid_grant), pending cookie cleared', async () => {
    const hugeState = await callback(`?code=abc&state=${'s'.repeat(10 * 1024)}`);
    expect(hugeState.status).toBe(400);
    expect(hugeState.body).toContain('Sign-in expired');
    const { cookie, state } = await begin();
    const hugeCode = await callback(`?code=${'c'.repeat(12 * 1024)}&state=${state}&iss=${encodeURIComponent(stack.provider.issuer)}`, cookie);
    expect(hugeCode.status).toBe(400);
    expect(hugeCode.body).toContain('Sign-in failed');
    expect(hugeCode.headers['set-cookie']?.[0]).toMatch(/^gatehouse_signin_\S+=; Max-Age=0; Path=\/\.auth\//);
    expect(hugeCode.body).not.toContain('cccccccc');
  });

  it('a callback without the iss parameter the provider advertises is refused locally: 401 page, nothing sent to the provider', async () => {
    const { cookie, state } = await begin();
    const res = await callback(`?code=SECRETCODE&state=${state}`, cookie);
    expect(res.status).toBe(401);
    expect(res.body).toContain('Sign-in failed');
    expect(res.body).not.toContain('SECRETCODE');
    expect(stack.gatehouse.logText()).not.toContain('SECRETCODE');
  });

  it('replayed: the same state a second time → 400 "Sign-in expired" (the cookie was consumed)', async () => {
    const { cookie, state } = await begin();
    expect((await callback(`?state=${state}`, cookie)).status).toBe(400);
    const replay = await callback(`?code=abc&state=${state}`);
    expect(replay.status).toBe(400);
    expect(replay.body).toContain('Sign-in expired');
  });
});

describe('Host header tricks never change redirect_uri or links', () => {
  const HOSTILE = {
    host: 'evil.example',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-proto': 'https',
    forwarded: 'host=evil.example',
    accept: 'text/html',
  };

  it('/start: redirect_uri is always public_url + /.auth/callback; a navigation on the hostile host goes to public_url first', async () => {
    for (const headers of [HOSTILE, { ...HOSTILE, host: '127.0.0.1' }]) {
      const trapped = await sendRequest(`${stack.url}/.auth/start?rd=/x`, { headers });
      expect(trapped.status).toBe(302);
      expect(trapped.headers.location).toBe(`${stack.url}/.auth/start?rd=/x`);
    }
    for (const headers of [{ ...HOSTILE, 'sec-fetch-mode': 'cors' }, { ...HOSTILE, host: '127.0.0.1', 'sec-fetch-mode': 'cors' }, { accept: 'text/html' }]) {
      const res = await sendRequest(`${stack.url}/.auth/start?rd=/x`, { headers });
      expect(res.status).toBe(302);
      const location = new URL(res.headers.location ?? '');
      expect(location.origin).toBe(new URL(stack.provider.issuer).origin);
      expect(location.searchParams.get('redirect_uri')).toBe(`${stack.url}/.auth/callback`);
    }
  });

  it('sign-on page, gate redirect and logout never mention the hostile host', async () => {
    const trapped = await sendRequest(`${stack.url}/.auth/login?rd=/x`, { headers: HOSTILE });
    expect(trapped.status).toBe(302);
    expect(trapped.headers.location).toBe(`${stack.url}/.auth/login?rd=/x`);
    const page = await sendRequest(`${stack.url}/.auth/login?rd=/x`, { headers: { ...HOSTILE, 'sec-fetch-mode': 'cors' } });
    expect(page.status).toBe(200);
    expect(page.body).not.toContain('evil.example');
    expect(parseLinks(page.body, stack.url).map((l) => new URL(l.href).origin)).toEqual([stack.url, stack.url]);
    const gate = await sendRequest(`${stack.url}/admin`, { headers: { ...HOSTILE, 'sec-fetch-mode': 'navigate' } });
    expect(gate.status).toBe(302);
    expect(gate.headers.location).toBe(`${stack.url}/admin`);
    // typed in the address bar (Sec-Fetch-Site: none): a logout gatehouse carries out (cross-site ones are in cross-site-logout.test.ts);
    // a session of its own, so the logout goes on to the provider (without one it ends on gatehouse's own page)
    const leaving = new BrowserClient();
    await stack.signIn(leaving, '/', 'alice');
    const cookie = `${SESSION_NAME}=${leaving.cookie(stack.url, SESSION_NAME) ?? ''}`;
    const logout = await sendRequest(`${stack.url}/.auth/logout`, {
      headers: { ...HOSTILE, cookie, 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
    });
    expect(logout.status).toBe(302);
    expect(logout.headers.location).not.toContain('evil.example');
    expect(new URL(logout.headers.location ?? '').searchParams.get('post_logout_redirect_uri')).toBe(`${stack.url}/.auth/signed-out`);
  });
});

describe('open redirects through rd (test/fixtures/openredirects.txt, every payload)', () => {
  let pool: Pool;
  beforeAll(() => {
    pool = new Pool(stack.url, { connections: 4 });
  });
  afterAll(async () => {
    await pool.close();
  });
  const login = async (payload: string, cookie?: string): Promise<{ status: number; location: string; body: string }> => {
    const res = await pool.request({
      method: 'GET',
      path: `/.auth/login?rd=${encodeURIComponent(payload)}`,
      headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) },
    });
    return { status: res.statusCode, location: String(res.headers.location ?? ''), body: await res.body.text() };
  };
  const expectOwnOrigin = (target: string): void => {
    expect(target.startsWith('/')).toBe(true);
    expect(/^\/[/\\]/.test(target)).toBe(false);
    expect(new URL(target, stack.url).origin).toBe(stack.url);
  };

  it(`/login with a session redirects each of the ${openRedirects.length} payloads on the own origin`, async () => {
    const cookie = `${SESSION_NAME}=${sessionCookie}`;
    const answers = await Promise.all(openRedirects.map((payload) => login(payload, cookie)));
    for (const res of answers) {
      expect(res.status).toBe(302);
      expectOwnOrigin(res.location);
    }
  });

  it('/login without a session: the sign-on button carries an rd on the own origin for each payload', async () => {
    const answers = await Promise.all(openRedirects.map((payload) => login(payload)));
    for (const res of answers) {
      expect(res.status).toBe(200);
      const start = parseLinks(res.body, stack.url).find((l) => new URL(l.href).pathname === '/.auth/start');
      expectOwnOrigin(new URL(start?.href ?? '').searchParams.get('rd') ?? '');
    }
  });

  it("/logout ignores rd: without a session it answers gatehouse's own signed-out page, never a redirect", async () => {
    for (const payload of openRedirects.slice(0, 20)) {
      const res = await sendRequest(`${stack.url}/.auth/logout?rd=${encodeURIComponent(payload)}`, {
        headers: { accept: 'text/html', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.location).toBeUndefined();
      expect(res.body).toContain('<h1>You are signed out</h1>');
      expect(parseLinks(res.body, stack.url).map((link) => link.href)).toEqual([`${stack.url}/.auth/login`]);
    }
  });
});
