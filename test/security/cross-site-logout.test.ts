// Issue 13 item 6: sign-in and sign-out cannot be forced cross-site, played over node:http with the headers a
// browser sends. /.auth/logout ends a session only for a same-origin request (Sec-Fetch-Site, or Origin for a POST);
// anything else gets a one-click confirmation page and the session lives on (the app still receives the identity).
// Back-channel logout (server to server) is not subject to the check. On https the pending sign-in cookie is a
// __Host- cookie, so a sibling subdomain cannot plant an attacker's pending sign-in (login CSRF).
import { randomBytes, type KeyObject } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevProvider } from '../../demo/dev-provider.js';
import { BrowserClient } from '../helpers/browser-client.js';
import { CLIENT_ID, devClient, startCloudStack, type CloudStack } from '../helpers/cloud-stack.js';
import { parseForms, signInAtProvider } from '../helpers/dev-provider-flow.js';
import { sendRequest, type HttpResult } from '../helpers/gatehouse-process.js';
import { generatedKeys } from '../helpers/keys.js';
import { SESSION_COOKIE, signedInCookieHeader } from '../helpers/session-requests.js';
import { headerValues } from '../helpers/upstream.js';

const KID = 'cross-site-logout-test';
const NAVIGATION = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const FORM = 'application/x-www-form-urlencoded';

function setCookies(res: HttpResult): string[] {
  return ([] as string[]).concat(res.headers['set-cookie'] ?? []);
}

describe('/.auth/logout ends a session only for a same-origin request', () => {
  let stack: CloudStack;
  let providerKey: KeyObject;

  beforeAll(async () => {
    const pair = generatedKeys('rsa', { modulusLength: 2048 });
    providerKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.privateKey)), kid: KID, alg: 'RS256', use: 'sig' };
    stack = await startCloudStack({ providerJwks: { keys: [jwk] } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  function logout(cookie: string, init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}): Promise<HttpResult> {
    const headers: Record<string, string> = { ...(init.headers ?? NAVIGATION), cookie };
    if (init.body !== undefined) headers['content-type'] = FORM;
    return sendRequest(`${stack.url}/.auth/logout`, { method: init.method ?? 'GET', headers, body: init.body });
  }

  /** The session still works: the app receives the request with the user's identity. */
  async function expectAlive(cookie: string, user: string): Promise<void> {
    const path = `/after-logout-attempt/${randomBytes(6).toString('hex')}`;
    const res = await sendRequest(`${stack.url}${path}`, { headers: { ...NAVIGATION, cookie } });
    expect(res.status).toBe(200);
    const seen = stack.upstream.requests.at(-1);
    expect(seen?.url).toBe(path);
    expect(headerValues(seen?.rawHeaders ?? [], 'x-forwarded-user')).toEqual([user]);
  }

  async function expectEnded(cookie: string): Promise<void> {
    const before = stack.upstream.requests.length;
    const nav = await sendRequest(`${stack.url}/app`, { headers: { ...NAVIGATION, cookie } });
    expect(nav.status).toBe(302);
    expect(nav.headers.location).toBe('/.auth/login?rd=%2Fapp');
    expect(stack.upstream.requests).toHaveLength(before);
  }

  /** The confirmation page: gatehouse's own page with its security headers, one POST form, no cookie touched. */
  function expectConfirmationPage(res: HttpResult): { action: string; fields: Record<string, string> } {
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    // the confirmed POST is redirected to the provider's end_session_endpoint, which CSP form-action must allow
    expect(res.headers['content-security-policy']).toMatch(/^default-src 'none'; .*; form-action 'self' (\S+); frame-ancestors 'none'/);
    expect(/form-action 'self' (\S+);/.exec(String(res.headers['content-security-policy']))?.[1]).toBe(new URL(stack.provider.issuer).origin);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.headers.location).toBeUndefined();
    expect(res.body).toContain('<h1>Sign out?</h1>');
    expect(res.body).not.toContain('<script');
    const forms = parseForms(res.body, stack.url);
    expect(forms).toHaveLength(1);
    const form = forms[0] as (typeof forms)[number];
    expect(form.method).toBe('POST');
    expect(form.action).toBe(`${stack.url}/.auth/logout`);
    expect(form.inputs).toEqual([]);
    return { action: form.action, fields: form.hidden };
  }

  function expectSignedOutHere(res: HttpResult): void {
    expect(res.status).toBe(302);
    const endSession = new URL(res.headers.location ?? 'http://missing.invalid');
    expect(endSession.origin + endSession.pathname).toBe(`${stack.provider.issuer}/session/end`);
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect(endSession.searchParams.get('state')).toMatch(/^[\w-]{32}$/);
    const cookies = setCookies(res);
    expect(cookies.slice(0, 2)).toEqual([
      `${SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`,
      'gatehouse_returning=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax',
    ]);
    // the logout state for the way back (issue 15), scoped to the signed-out page
    expect(cookies.slice(2).map((line) => line.split('=')[0])).toEqual(['gatehouse_signout']);
  }

  const refusedGets: Array<{ name: string; headers: Record<string, string> }> = [
    { name: 'a cross-site link (Sec-Fetch-Site: cross-site navigation)', headers: { ...NAVIGATION, 'sec-fetch-site': 'cross-site', 'sec-fetch-user': '?1' } },
    {
      name: 'an <img> on another site',
      headers: { accept: 'image/avif,image/webp,*/*', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image', 'sec-fetch-site': 'cross-site' },
    },
    { name: 'a sibling subdomain (Sec-Fetch-Site: same-site)', headers: { ...NAVIGATION, 'sec-fetch-site': 'same-site' } },
    {
      name: 'an <img> in the app itself (same-origin, not a navigation)',
      headers: { accept: 'image/*', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image', 'sec-fetch-site': 'same-origin' },
    },
    { name: 'a same-origin navigation into an iframe', headers: { ...NAVIGATION, 'sec-fetch-dest': 'iframe', 'sec-fetch-site': 'same-origin' } },
    { name: 'an old client without Sec-Fetch-Site', headers: { accept: 'text/html' } },
    {
      name: "a prefetch of the app's own Sign out link (Sec-Purpose: prefetch)",
      headers: { ...NAVIGATION, 'sec-fetch-site': 'same-origin', 'sec-purpose': 'prefetch' },
    },
  ];
  for (const refused of refusedGets) {
    it(`GET from ${refused.name}: confirmation page, the session lives on`, async () => {
      const cookie = await signedInCookieHeader(stack, 'alice');
      const res = await logout(cookie, { headers: refused.headers });
      expectConfirmationPage(res);
      expect(Object.keys(expectConfirmationPage(res).fields)).toEqual(['confirm']);
      await expectAlive(cookie, 'alice');
    });
  }

  const refusedPosts: Array<{ name: string; headers: Record<string, string> }> = [
    {
      name: 'a form on another site (foreign Origin, Sec-Fetch-Site: cross-site)',
      headers: { ...NAVIGATION, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
    },
    { name: 'an old client on another site (foreign Origin, no Sec-Fetch-Site)', headers: { accept: 'text/html', origin: 'http://evil.example' } },
    { name: 'a sibling subdomain (Sec-Fetch-Site: same-site)', headers: { ...NAVIGATION, origin: 'http://sub.app.example', 'sec-fetch-site': 'same-site' } },
    { name: 'another port of the same host', headers: { accept: 'text/html', origin: 'http://127.0.0.1:1' } },
    { name: 'an opaque origin (Origin: null, no Sec-Fetch-Site)', headers: { accept: 'text/html', origin: 'null' } },
    { name: 'a client with neither Origin nor Sec-Fetch-Site', headers: { accept: 'text/html' } },
    {
      name: 'a foreign Origin next to a same-origin Sec-Fetch-Site',
      headers: { ...NAVIGATION, origin: 'http://evil.example', 'sec-fetch-site': 'same-origin' },
    },
  ];
  for (const refused of refusedPosts) {
    it(`POST from ${refused.name}: confirmation page, the session lives on`, async () => {
      const cookie = await signedInCookieHeader(stack, 'alice');
      const res = await logout(cookie, { method: 'POST', headers: refused.headers, body: '' });
      expectConfirmationPage(res);
      await expectAlive(cookie, 'alice');
    });
  }

  it('a cross-site POST that guesses a confirm field does not end the session', async () => {
    const cookie = await signedInCookieHeader(stack, 'alice');
    const headers = { ...NAVIGATION, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' };
    for (const guess of ['', 'yes', '1', 'A'.repeat(43)]) {
      expectConfirmationPage(await logout(cookie, { method: 'POST', headers, body: `confirm=${guess}` }));
    }
    await expectAlive(cookie, 'alice');
  });

  it("another session's confirm token does not end this session", async () => {
    const victim = await signedInCookieHeader(stack, 'alice');
    const attacker = await signedInCookieHeader(stack, 'carol');
    const attackersPage = expectConfirmationPage(await logout(attacker, { headers: { ...NAVIGATION, 'sec-fetch-site': 'cross-site' } }));
    const crossSite = { ...NAVIGATION, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' };
    const res = await logout(victim, { method: 'POST', headers: crossSite, body: new URLSearchParams(attackersPage.fields).toString() });
    expectConfirmationPage(res);
    await expectAlive(victim, 'alice');
    await expectAlive(attacker, 'carol');
  });

  it('a JSON client on another site gets 403 JSON, the session lives on', async () => {
    const cookie = await signedInCookieHeader(stack, 'alice');
    const api = {
      accept: 'application/json',
      'sec-fetch-mode': 'cors',
      'sec-fetch-dest': 'empty',
      'sec-fetch-site': 'cross-site',
      origin: 'http://evil.example',
    };
    for (const method of ['GET', 'POST'] as const) {
      const res = await logout(cookie, { method, headers: api, ...(method === 'POST' ? { body: '' } : {}) });
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(JSON.parse(res.body)).toEqual({ error: 'cross_site_logout', logout: '/.auth/logout', method: 'POST' });
    }
    await expectAlive(cookie, 'alice');
  });

  it('GET from a same-origin navigation (the app\'s "Sign out" link) ends the session in one click', async () => {
    const cookie = await signedInCookieHeader(stack, 'alice');
    expectSignedOutHere(await logout(cookie, { headers: { ...NAVIGATION, 'sec-fetch-site': 'same-origin', 'sec-fetch-user': '?1' } }));
    await expectEnded(cookie);
  });

  it('GET typed in the address bar or from a bookmark (Sec-Fetch-Site: none) ends the session', async () => {
    const cookie = await signedInCookieHeader(stack, 'alice');
    expectSignedOutHere(await logout(cookie, { headers: { ...NAVIGATION, 'sec-fetch-site': 'none', 'sec-fetch-user': '?1' } }));
    await expectEnded(cookie);
  });

  it('POST with Sec-Fetch-Site: same-origin ends the session (Origin: null, as under Referrer-Policy: no-referrer)', async () => {
    const cookie = await signedInCookieHeader(stack, 'alice');
    expectSignedOutHere(await logout(cookie, { method: 'POST', headers: { ...NAVIGATION, 'sec-fetch-site': 'same-origin', origin: 'null' }, body: '' }));
    await expectEnded(cookie);
  });

  it("POST with public_url's Origin and no Sec-Fetch-Site (an older browser) ends the session", async () => {
    const cookie = await signedInCookieHeader(stack, 'alice');
    expectSignedOutHere(await logout(cookie, { method: 'POST', headers: { accept: 'text/html', origin: stack.url }, body: '' }));
    await expectEnded(cookie);
  });

  it('a same-origin fetch() POST ends the session', async () => {
    const cookie = await signedInCookieHeader(stack, 'alice');
    const api = { accept: 'application/json', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', 'sec-fetch-site': 'same-origin', origin: stack.url };
    expectSignedOutHere(await logout(cookie, { method: 'POST', headers: api, body: '' }));
    await expectEnded(cookie);
  });

  it("the confirmation page's form ends the session: submitted by a current browser (same-origin, Origin: null)", async () => {
    const cookie = await signedInCookieHeader(stack, 'alice');
    const page = expectConfirmationPage(await logout(cookie, { headers: { ...NAVIGATION, 'sec-fetch-site': 'cross-site' } }));
    await expectAlive(cookie, 'alice');
    const submit = { ...NAVIGATION, 'sec-fetch-site': 'same-origin', 'sec-fetch-user': '?1', origin: 'null' };
    const res = await sendRequest(page.action, {
      method: 'POST',
      headers: { ...submit, cookie, 'content-type': FORM },
      body: new URLSearchParams(page.fields).toString(),
    });
    expectSignedOutHere(res);
    await expectEnded(cookie);
  });

  it("the confirmation page's form ends the session: submitted by an older browser (no Sec-Fetch-Site, Origin: null), by its token", async () => {
    const cookie = await signedInCookieHeader(stack, 'alice');
    const page = expectConfirmationPage(await logout(cookie, { headers: { accept: 'text/html' } }));
    await expectAlive(cookie, 'alice');
    const res = await sendRequest(page.action, {
      method: 'POST',
      headers: { accept: 'text/html', origin: 'null', cookie, 'content-type': FORM },
      body: new URLSearchParams(page.fields).toString(),
    });
    expectSignedOutHere(res);
    await expectEnded(cookie);
  });

  it('the whole round with a browser-like client: a link on another site, then the confirmation button', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'alice');
    const cookie = `${SESSION_COOKIE}=${client.cookie(stack.url, SESSION_COOKIE) as string}`;
    client.currentUrl = new URL('http://evil.example/page');
    const first = await client.navigate(`${stack.url}/.auth/logout`);
    expect(first.status).toBe(200);
    expect(client.cookie(stack.url, SESSION_COOKIE)).toBeDefined();
    await expectAlive(cookie, 'alice');
    const form = parseForms(first.body, first.url)[0];
    const confirmed = await client.navigate(form?.action ?? '', { form: form?.hidden ?? {} });
    expect(confirmed.status).toBe(302);
    expect(new URL(confirmed.location ?? 'http://missing.invalid').pathname).toBe('/session/end');
    expect(client.cookie(stack.url, SESSION_COOKIE)).toBeUndefined();
    await expectEnded(cookie);
    await client.close();
  });

  it('without a session, a refused POST shows the signed-out page: nothing ends, the provider is not contacted', async () => {
    const res = await logout('', { method: 'POST', headers: { accept: 'text/html', origin: 'http://evil.example' }, body: '' });
    expect(res.status).toBe(200);
    expect(res.headers.location).toBeUndefined();
    expect(res.body).toContain('<h1>You are signed out</h1>');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('back-channel logout from the provider (server to server, no Origin or Sec-Fetch-*) is not subject to the check', async () => {
    const cookie = await signedInCookieHeader(stack, 'bob');
    await expectAlive(cookie, 'bob');
    const token = await new SignJWT({ sub: 'bob', events: { 'http://schemas.openid.net/event/backchannel-logout': {} } })
      .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'logout+jwt' })
      .setIssuer(stack.provider.issuer)
      .setAudience(CLIENT_ID)
      .setIssuedAt()
      .setJti(randomBytes(12).toString('hex'))
      .sign(providerKey);
    const res = await sendRequest(`${stack.url}/.auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': FORM },
      body: new URLSearchParams({ logout_token: token }).toString(),
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ ended: 1 });
    await expectEnded(cookie);
  });
});

describe('pending sign-in cookie on https: __Host-, so a sibling subdomain cannot plant one (login CSRF)', () => {
  const publicUrl = 'https://app.example.test';
  /** What the TLS proxy in front passes on: the Host the browser asked for. */
  const AT_PUBLIC_HOST = { ...NAVIGATION, host: 'app.example.test' };
  let stack: CloudStack;
  beforeAll(async () => {
    const provider = await startDevProvider({ port: 0, clients: [devClient(publicUrl)] });
    stack = await startCloudStack({ provider, config: { public_url: publicUrl } });
  });
  afterAll(async () => {
    await stack?.close();
    await stack?.provider.close();
  });

  /** The attacker's own sign-in up to the provider's redirect back: the pending cookie it got and the callback URL. */
  async function attackersSignIn(user: string): Promise<{ setCookie: string; name: string; value: string; callback: URL }> {
    const attacker = new BrowserClient();
    const started = await attacker.navigate(`${stack.url}/.auth/start?rd=%2Fdeep&interactive=1`, { headers: { host: 'app.example.test' } });
    expect(started.status).toBe(302);
    const setCookie = [started.headers['set-cookie'] ?? []].flat().find((line) => line.includes('gatehouse_signin_')) ?? '';
    const pair = setCookie.split(';')[0] ?? '';
    const name = pair.slice(0, pair.indexOf('='));
    const value = pair.slice(pair.indexOf('=') + 1);
    const page = await attacker.follow(started.location as string);
    const atProvider = await signInAtProvider(attacker, page.final, { login: user }, 'skip-if-absent');
    const callback = new URL(atProvider.final.location as string);
    await attacker.close();
    return { setCookie, name, value, callback };
  }

  it('is named __Host-gatehouse_signin_<state> with Path=/ and Secure, no Domain', async () => {
    const res = await sendRequest(`${stack.url}/.auth/start?rd=%2F`, { headers: AT_PUBLIC_HOST });
    expect(res.status).toBe(302);
    expect(setCookies(res)).toHaveLength(1);
    expect(setCookies(res)[0]).toMatch(
      /^__Host-gatehouse_signin_[A-Za-z0-9_-]{12}=v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
  });

  it('a genuine pending cookie planted under a name a sibling can set does not sign the victim in as the attacker', async () => {
    const { name, value, callback } = await attackersSignIn('carol');
    const suffix = name.slice(name.indexOf('gatehouse_signin_'));
    const target = `${stack.url}${callback.pathname}${callback.search}`;
    // What a sibling subdomain can set with Domain=<parent>: __Secure- (needs only Secure) or no prefix at all.
    for (const planted of [`__Secure-${suffix}`, suffix]) {
      const res = await sendRequest(target, { headers: { ...AT_PUBLIC_HOST, cookie: `${planted}=${value}` } });
      expect(res.status, planted).toBe(400);
      expect(res.body, planted).toContain('Sign-in expired');
      expect(
        setCookies(res).some((line) => line.startsWith('__Host-gatehouse_session=')),
        planted,
      ).toBe(false);
    }
    expect(name).toMatch(/^__Host-gatehouse_signin_[A-Za-z0-9_-]{12}$/);
    // The same code and cookie under its own name does sign in: the refusal above was the name, not the code.
    const own = await sendRequest(target, { headers: { ...AT_PUBLIC_HOST, cookie: `${name}=${value}` } });
    expect(own.status).toBe(302);
    expect(own.headers.location).toBe('/deep');
    expect(setCookies(own).filter((line) => line.startsWith('__Host-gatehouse_session='))).toHaveLength(1);
    expect(setCookies(own)).toContain(`${name}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax`);
  });

  it('travels on every path now, but never reaches the app', async () => {
    const { name, value, callback } = await attackersSignIn('carol');
    const signedIn = await sendRequest(`${stack.url}${callback.pathname}${callback.search}`, { headers: { ...AT_PUBLIC_HOST, cookie: `${name}=${value}` } });
    const session =
      setCookies(signedIn)
        .find((line) => line.startsWith('__Host-gatehouse_session='))
        ?.split(';')[0] ?? '';
    expect(session).toMatch(/^__Host-gatehouse_session=\S+$/);
    const res = await sendRequest(`${stack.url}/api/cookies`, {
      headers: { accept: 'application/json', host: 'app.example.test', cookie: `${session}; __Host-gatehouse_signin_ABCDEFGHIJKL=${value}; app=1` },
    });
    expect(res.status).toBe(200);
    const seen = stack.upstream.requests.at(-1);
    expect(seen?.url).toBe('/api/cookies');
    expect(headerValues(seen?.rawHeaders ?? [], 'cookie')).toEqual(['app=1']);
  });
});
