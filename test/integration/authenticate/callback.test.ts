// The pending sign-in cookie and /.auth/callback over real sockets against oidc-provider: several tabs at once,
// the cap, tampered / expired / replayed state, a code stolen for another client, malformed parameters, and a
// new session id at every sign-in (no fixation).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calculatePKCECodeChallenge, randomPKCECodeVerifier } from 'openid-client';
import { startDevProvider, type DevProvider } from '../../../demo/dev-provider.js';
import type { PendingSignIn } from '../../../src/authenticate/pending-sign-in.js';
import { Sealer } from '../../../src/session/sealer.js';
import { BrowserClient, type BrowserResponse } from '../../helpers/browser-client.js';
import { devClient, SESSION_SECRET, startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { freePort } from '../../helpers/ports.js';
import { signInAtProvider } from '../../helpers/dev-provider-flow.js';
import { sendRequest } from '../../helpers/gatehouse-process.js';
import { headerValues } from '../../helpers/upstream.js';

const SESSION_COOKIE = 'gatehouse_session';
const OTHER_CLIENT = { client_id: 'other-app', client_secret: 'other-app-secret-0123456789', redirect_uris: ['http://127.0.0.1:9/other/callback'] };

function setCookieLines(response: { headers: Record<string, string | string[] | undefined> }): string[] {
  const value = response.headers['set-cookie'];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function pendingNames(client: BrowserClient, url: string): string[] {
  return client.jar
    .matching(new URL(`${url}/.auth/callback`))
    .map((cookie) => cookie.name)
    .filter((name) => name.startsWith('gatehouse_signin_'))
    .sort();
}

describe('pending sign-in and callback', () => {
  let stack: CloudStack;
  let provider: DevProvider;
  const sealer = new Sealer([SESSION_SECRET]);

  beforeAll(async () => {
    const port = await freePort();
    provider = await startDevProvider({ port: 0, clients: [devClient(`http://127.0.0.1:${port}`), OTHER_CLIENT] });
    stack = await startCloudStack({ port, provider });
  });
  afterAll(async () => {
    await stack?.close();
    await provider?.close();
  });

  /** GET /.auth/start: the authorization URL gatehouse redirects to and the response. */
  async function start(client: BrowserClient, rd: string): Promise<{ authorize: URL; response: BrowserResponse }> {
    const response = await client.navigate(`${stack.url}/.auth/start?rd=${encodeURIComponent(rd)}&interactive=1`);
    expect(response.status).toBe(302);
    return { authorize: new URL(response.location ?? 'http://missing.invalid'), response };
  }

  /** Drives the provider from an authorization URL until it redirects away; returns the callback URL. */
  async function callbackFor(client: BrowserClient, authorize: URL, user: string): Promise<string> {
    const origin = authorize.origin;
    const first = await client.follow(authorize.href, {}, { stopAt: (url) => url.origin !== origin });
    if (first.final.status >= 300 && first.final.status < 400 && first.final.location && new URL(first.final.location).origin !== origin)
      return first.final.location;
    const done = await signInAtProvider(client, first.final, { login: user }, 'skip-if-absent');
    return done.final.location ?? '';
  }

  function expectRefusal(response: BrowserResponse, status: number, title: string): void {
    expect(response.status).toBe(status);
    expect(response.body).toContain(`<h1>${title}</h1>`);
    expect(setCookieLines(response).some((line) => line.startsWith(`${SESSION_COOKIE}=`) && !line.includes('Max-Age=0'))).toBe(false);
    expect(setCookieLines(response).some((line) => line.startsWith('gatehouse_returning=1'))).toBe(false);
  }

  it('the pending cookie is sealed, scoped to /.auth/, 10 minutes, HttpOnly, and holds state, nonce, verifier and rd', async () => {
    const client = new BrowserClient();
    const { authorize, response } = await start(client, '/orders/7?tab=2');
    const lines = setCookieLines(response);
    expect(lines).toHaveLength(1);
    const line = lines[0] as string;
    const state = authorize.searchParams.get('state') ?? '';
    const nonce = authorize.searchParams.get('nonce') ?? '';
    expect(line).toMatch(new RegExp(`^gatehouse_signin_${state.slice(0, 12)}=v1\\.[^;]+; Max-Age=600; Path=/\\.auth/; HttpOnly; SameSite=Lax$`));
    const value = line.slice(line.indexOf('=') + 1, line.indexOf(';'));
    const sealed = sealer.unseal<PendingSignIn>(value, 'pending-sign-in');
    expect(sealed).toMatchObject({ state, nonce, returnTo: '/orders/7?tab=2', silent: false });
    for (const secret of [state, nonce, sealed?.verifier ?? '', 'orders']) expect(value).not.toContain(secret);
    expect(await calculatePKCECodeChallenge(sealed?.verifier ?? '')).toBe(authorize.searchParams.get('code_challenge'));
  });

  it('three tabs signing in at once all succeed, completed in another order', async () => {
    const client = new BrowserClient();
    const tabs = [];
    for (const rd of ['/tab/1', '/tab/2', '/tab/3']) tabs.push({ rd, ...(await start(client, rd)) });
    expect(pendingNames(client, stack.url)).toHaveLength(3);
    const sessions = new Set<string>();
    for (const tab of [tabs[2], tabs[0], tabs[1]]) {
      const callback = await callbackFor(client, tab?.authorize as URL, 'carol');
      const landed = await client.follow(callback);
      expect(landed.final.status).toBe(200);
      expect(landed.final.url).toBe(`${stack.url}${tab?.rd}`);
      sessions.add(client.cookie(stack.url, SESSION_COOKIE) ?? '');
    }
    expect(sessions.size).toBe(3);
    expect(pendingNames(client, stack.url)).toEqual([]);
  });

  it('a 4th concurrent attempt clears the oldest; 50 forged pending cookies get a handful of Set-Cookie lines', async () => {
    const client = new BrowserClient();
    const names: string[] = [];
    for (let i = 0; i < 3; i++) names.push(`gatehouse_signin_${((await start(client, '/')).authorize.searchParams.get('state') ?? '').slice(0, 12)}`);
    const fourth = await start(client, '/');
    const lines = setCookieLines(fourth.response);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`${names[0]}=; Max-Age=0; Path=/.auth/; HttpOnly; SameSite=Lax`);
    expect(pendingNames(client, stack.url)).toEqual(
      [...names.slice(1), `gatehouse_signin_${(fourth.authorize.searchParams.get('state') ?? '').slice(0, 12)}`].sort(),
    );

    const forged = Array.from({ length: 50 }, (_, i) => `gatehouse_signin_f${String(i).padStart(11, '0')}=v1.${'A'.repeat(16)}.x${i}`).join('; ');
    const flooded = await sendRequest(`${stack.url}/.auth/start?rd=%2F`, { headers: { cookie: forged, accept: 'text/html' } });
    expect(flooded.status).toBe(302);
    const floodedLines = ([] as string[]).concat(flooded.headers['set-cookie'] ?? []);
    expect(floodedLines).toHaveLength(7);
    expect(floodedLines.filter((line) => line.includes('Max-Age=0'))).toHaveLength(6);
  });

  it('a tampered state is refused with 400, clears the pending cookie and sets no session', async () => {
    const client = new BrowserClient();
    const { authorize } = await start(client, '/x');
    const callback = new URL(await callbackFor(client, authorize, 'alice'));
    const state = callback.searchParams.get('state') ?? '';
    callback.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);
    const refused = await client.navigate(callback.href);
    expectRefusal(refused, 400, 'Sign-in expired');
    expect(setCookieLines(refused)).toEqual([`gatehouse_signin_${state.slice(0, 12)}=; Max-Age=0; Path=/.auth/; HttpOnly; SameSite=Lax`]);
    expect(client.cookie(stack.url, SESSION_COOKIE)).toBeUndefined();
    const other = await client.navigate(`${stack.url}/.auth/callback?code=abc&state=ZZZZZZZZZZZZZZZZZZZZZZZZ`);
    expectRefusal(other, 400, 'Sign-in expired');
  });

  it('an expired pending sign-in (sealed 11 minutes ago) is refused with 400', async () => {
    const client = new BrowserClient();
    const { authorize } = await start(client, '/x');
    const callback = new URL(await callbackFor(client, authorize, 'alice'));
    const state = callback.searchParams.get('state') ?? '';
    const name = `gatehouse_signin_${state.slice(0, 12)}`;
    const current = sealer.unseal<PendingSignIn>(client.cookie(`${stack.url}/.auth/`, name) ?? '', 'pending-sign-in');
    expect(current?.state).toBe(state);
    const stale = sealer.seal({ ...current, createdAt: Date.now() - 11 * 60_000 }, 'pending-sign-in');
    client.jar.store(new URL(`${stack.url}/.auth/start`), `${name}=${stale}; Path=/.auth/`);
    const refused = await client.navigate(callback.href);
    expectRefusal(refused, 400, 'Sign-in expired');
    expect(client.cookie(stack.url, SESSION_COOKIE)).toBeUndefined();
  });

  it('a replayed callback gets 400 and no new session, with or without the used pending cookie', async () => {
    const client = new BrowserClient();
    const { authorize } = await start(client, '/once');
    const callback = await callbackFor(client, authorize, 'alice');
    const state = new URL(callback).searchParams.get('state') ?? '';
    const name = `gatehouse_signin_${state.slice(0, 12)}`;
    const usedPending = client.cookie(`${stack.url}/.auth/`, name) ?? '';
    const first = await client.navigate(callback);
    expect(first.status).toBe(302);
    expect(first.location).toBe(`${stack.url}/once`);
    const session = client.cookie(stack.url, SESSION_COOKIE);
    expect(session).toBeDefined();

    const replay = await client.navigate(callback);
    expectRefusal(replay, 400, 'Sign-in expired');
    expect(client.cookie(stack.url, SESSION_COOKIE)).toBe(session);

    const attacker = new BrowserClient();
    attacker.jar.store(new URL(`${stack.url}/.auth/start`), `${name}=${usedPending}; Path=/.auth/`);
    const withCookie = await attacker.navigate(callback);
    expectRefusal(withCookie, 400, 'Sign-in failed');
    expect(attacker.cookie(stack.url, SESSION_COOKIE)).toBeUndefined();
  });

  it('a code issued to another client is refused at the token exchange', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'bob', 'authorize');
    const verifier = randomPKCECodeVerifier();
    const foreign = new URL(`${provider.issuer}/auth`);
    for (const [key, value] of Object.entries({
      client_id: OTHER_CLIENT.client_id,
      redirect_uri: OTHER_CLIENT.redirect_uris[0] as string,
      response_type: 'code',
      scope: 'openid',
      state: 'other-app-state',
      nonce: 'other-app-nonce',
      code_challenge: await calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    }))
      foreign.searchParams.set(key, value);
    const stolen = new URL(await callbackFor(client, foreign, 'bob'));
    expect(stolen.origin + stolen.pathname).toBe(OTHER_CLIENT.redirect_uris[0]);
    const code = stolen.searchParams.get('code') ?? '';
    expect(code).not.toBe('');

    const victim = new BrowserClient();
    const { authorize } = await start(victim, '/secret');
    const state = authorize.searchParams.get('state') ?? '';
    const forged = `${stack.url}/.auth/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}&iss=${encodeURIComponent(provider.issuer)}`;
    const refused = await victim.navigate(forged);
    expectRefusal(refused, 400, 'Sign-in failed');
    expect(victim.cookie(stack.url, SESSION_COOKIE)).toBeUndefined();
    expect(stack.upstream.requests.some((request) => request.url === '/secret')).toBe(false);
  });

  it('duplicated, missing and oversized parameters get 400, never 500', async () => {
    const client = new BrowserClient();
    const { authorize } = await start(client, '/');
    const state = authorize.searchParams.get('state') ?? '';
    const cases = [`state=${state}&state=${state}&code=abc`, '', 'code=abc', `state=${'A'.repeat(8192)}&code=abc`];
    for (const query of cases) {
      const response = await client.navigate(`${stack.url}/.auth/callback?${query}`);
      expectRefusal(response, 400, 'Sign-in expired');
    }
    const duplicatedCode = await client.navigate(`${stack.url}/.auth/callback?state=${state}&code=abc&code=def`);
    expectRefusal(duplicatedCode, 400, 'Sign-in failed');
    const { authorize: again } = await start(client, '/');
    const missingCode = await client.navigate(`${stack.url}/.auth/callback?state=${again.searchParams.get('state') ?? ''}`);
    expectRefusal(missingCode, 400, 'Sign-in failed');
    const json = await sendRequest(`${stack.url}/.auth/callback?state=x`, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(400);
    expect(JSON.parse(json.body)).toMatchObject({ error: 'sign_in_expired', status: 400 });
  });

  it('every sign-in issues a new session id; a planted session cookie is never adopted', async () => {
    const attacker = new BrowserClient();
    await stack.signIn(attacker, '/', 'bob', 'authorize');
    const attackerSession = attacker.cookie(stack.url, SESSION_COOKIE) ?? '';

    const victim = new BrowserClient();
    victim.jar.store(new URL(stack.url), `${SESSION_COOKIE}=planted-by-attacker; Path=/`);
    await stack.signIn(victim, '/', 'alice', 'authorize');
    const first = victim.cookie(stack.url, SESSION_COOKIE) ?? '';
    expect(first).not.toBe('planted-by-attacker');
    expect(first).not.toBe(attackerSession);

    victim.jar.store(new URL(stack.url), `${SESSION_COOKIE}=${attackerSession}; Path=/`);
    const { authorize } = await start(victim, '/again');
    const landed = await victim.follow(await callbackFor(victim, authorize, 'alice'));
    expect(landed.final.url).toBe(`${stack.url}/again`);
    const second = victim.cookie(stack.url, SESSION_COOKIE) ?? '';
    expect(new Set([first, second, attackerSession]).size).toBe(3);
    expect(headerValues(stack.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['alice']);

    // The session the browser presented at the callback is replaced, not adopted: it ends.
    const asAttacker = await sendRequest(`${stack.url}/.auth/me`, { headers: { cookie: `${SESSION_COOKIE}=${attackerSession}` } });
    expect(asAttacker.status).toBe(401);

    const third = await start(victim, '/third');
    await victim.follow(await callbackFor(victim, third.authorize, 'alice'));
    const replaced = await sendRequest(`${stack.url}/.auth/me`, { headers: { cookie: `${SESSION_COOKIE}=${second}` } });
    expect(replaced.status).toBe(401);
    expect(victim.cookie(stack.url, SESSION_COOKIE)).not.toBe(second);
  });

  it('the callback answers GET only: a HEAD cannot use up a code', async () => {
    const head = await sendRequest(`${stack.url}/.auth/callback?state=x&code=y`, { method: 'HEAD' });
    expect(head.status).toBe(405);
    expect(head.headers.allow).toBe('GET');
  });
});
