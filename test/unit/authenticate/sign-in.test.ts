// SignIn's routes over HTTP on 127.0.0.1 with real pending sign-ins, sessions and memory store, and a provider
// written for the test: what /login, /start and /callback answer, and what they hand the provider.
import { afterEach, describe, expect, it } from 'vitest';
import { PendingSignIns } from '../../../src/authenticate/pending-sign-in.js';
import type { AuthorizationRequest, ProviderTokens } from '../../../src/authenticate/provider.js';
import { SignIn, type SignInOptions, type SignInProvider } from '../../../src/authenticate/sign-in.js';
import { ProviderRefusedError, ProviderUnavailableError } from '../../../src/errors.js';
import { createLogger } from '../../../src/ops/logger.js';
import { brandingOf } from '../../../src/pages/render.js';
import { RouteUrls } from '../../../src/route-urls.js';
import { MemoryStore } from '../../../src/session/memory-store.js';
import { Sealer } from '../../../src/session/sealer.js';
import { SessionCookie } from '../../../src/session/session-cookie.js';
import { Sessions } from '../../../src/session/sessions.js';
import { serveRoute, type RouteAnswer, type RouteServer } from '../../helpers/route-server.js';

const SECRET = 'unit-test-session-secret-0123456789-abcdef';
const PUBLIC_URL = 'http://app.test';
const urls = new RouteUrls('/.auth', PUBLIC_URL);
const NAVIGATION = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const JSON_CLIENT = { accept: 'application/json' };

/** The provider's side of the handshake: records the authorization requests, answers the code exchange as told. */
class TestProvider implements SignInProvider {
  ready = true;
  readonly callbackUrl = urls.absolute('/callback');
  readonly requests: AuthorizationRequest[] = [];
  readonly exchanges: Array<{ query: string; checks: { state: string; nonce: string; verifier: string } }> = [];
  exchange: () => Promise<ProviderTokens> = () =>
    Promise.resolve({ claims: { sub: 'carol', roles: ['reader'] }, idToken: 'id', accessToken: 'at', refreshToken: 'rt', expiresAt: Date.now() + 600_000 });

  authorizationUrl(request: AuthorizationRequest): URL {
    this.requests.push(request);
    const url = new URL('http://idp.test/authorize');
    url.searchParams.set('state', request.state);
    if (request.prompt) url.searchParams.set('prompt', request.prompt);
    return url;
  }

  exchangeCode(callbackUrl: URL, checks: { state: string; nonce: string; verifier: string }): Promise<ProviderTokens> {
    this.exchanges.push({ query: callbackUrl.search, checks });
    return this.exchange();
  }
}

interface Setup {
  server: RouteServer;
  provider: TestProvider;
  store: MemoryStore;
  cookie: SessionCookie;
}

async function setUp(options: Partial<SignInOptions> = {}): Promise<Setup> {
  const provider = new TestProvider();
  const store = new MemoryStore({ maxSessions: 100, idleTimeoutMs: 3600_000, sweepIntervalMs: 0 });
  const cookie = new SessionCookie({ secrets: [SECRET], name: 'gatehouse_session', secure: false, maxAgeMs: 28_800_000 });
  const logger = createLogger({ level: 'silent' });
  const sessions = new Sessions(
    {
      ttlMs: 28_800_000,
      refreshBeforeMs: 60_000,
      refreshIntervalMs: 300_000,
      hotSessions: 100,
      identityHeaders: {
        user: 'X-Forwarded-User',
        email: 'X-Forwarded-Email',
        preferred_username: 'X-Forwarded-Preferred-Username',
        name: 'X-Forwarded-Name',
        roles: 'X-Forwarded-Roles',
        assertion: 'X-Gatehouse-Assertion',
      },
      passAccessToken: false,
      roles: { policy: { claim: 'roles', map: new Map(), passUnmapped: false, defaults: [] }, required: false },
      policyClaimKeys: [],
      offlineAccess: false,
    },
    store,
    cookie,
    { refresh: () => Promise.reject(new Error('no refresh in these tests')) },
    undefined,
    { logger },
  );
  const pending = new PendingSignIns(new Sealer([SECRET]), { path: urls.base, secure: false, ttlMs: 600_000, maxPending: 3 });
  const signIn = new SignIn(
    { urls, secure: false, silentReauth: true, skipSignOnPage: false, providerLabel: 'Company account', ...options },
    provider,
    pending,
    sessions,
    brandingOf({ title: '', logo_url: '', accent_color: '' }),
    { logger },
  );
  const routes: Record<string, (ctx: Parameters<SignIn['login']>[0], query: URLSearchParams) => Promise<void>> = {
    '/.auth/login': (ctx, q) => signIn.login(ctx, q),
    '/.auth/start': (ctx, q) => signIn.start(ctx, q),
    '/.auth/callback': (ctx, q) => signIn.callback(ctx, q),
  };
  const server = await serveRoute((ctx, query) => (routes[ctx.path] as (typeof routes)[string])(ctx, query));
  return { server, provider, store, cookie };
}

/** `name=value` of each Set-Cookie line, for a Cookie header. */
function cookiePairs(answer: RouteAnswer): string[] {
  return answer.setCookies.map((line) => line.slice(0, line.indexOf(';')));
}

const opened: Setup[] = [];
afterEach(async () => {
  for (const setup of opened.splice(0)) {
    await setup.server.close();
    await setup.store.close();
  }
});

async function started(options: Partial<SignInOptions> = {}): Promise<Setup> {
  const setup = await setUp(options);
  opened.push(setup);
  return setup;
}

describe('GET /login', () => {
  it('shows the sign-on page, whose button starts an interactive sign-in back to rd', async () => {
    const { server } = await started();
    const page = await server.send('/.auth/login?rd=%2Fdocs%3Fpage%3D2', { headers: NAVIGATION });
    expect(page.status).toBe(200);
    expect(page.body).toContain('/.auth/start?rd=%2Fdocs%3Fpage%3D2&amp;interactive=1');
    expect(page.body).toContain('Company account');
  });

  it('a returning user, or skip_sign_on_page, goes straight on to /start; an unsafe rd becomes /', async () => {
    const { server } = await started();
    const returning = await server.send('/.auth/login?rd=%2Fdocs', { headers: { ...NAVIGATION, cookie: 'gatehouse_returning=1' } });
    expect(returning).toMatchObject({ status: 302, headers: { location: '/.auth/start?rd=%2Fdocs' } });
    const skipping = await started({ skipSignOnPage: true });
    const straight = await skipping.server.send('/.auth/login?rd=//evil.test/', { headers: NAVIGATION });
    expect(straight.headers.location).toBe('/.auth/start?rd=%2F');
  });

  it("shows the app's own login next to single sign-on, with the page to return to", async () => {
    const { server } = await started({ localLogin: { path: '/account/login', label: 'Local account', returnParam: 'next' } });
    const page = await server.send('/.auth/login?rd=%2Fdocs', { headers: NAVIGATION });
    expect(page.body).toContain('/account/login?next=%2Fdocs');
    expect(page.body).toContain('Local account');
  });
});

describe('GET /start and /callback', () => {
  it("start: a pending cookie per attempt and a redirect to the provider with its state; the callback exchanges the code with that attempt's checks and signs in", async () => {
    const { server, provider, store } = await started();
    const start = await server.send('/.auth/start?rd=%2Fdocs', { headers: NAVIGATION });
    expect(start.status).toBe(302);
    const request = provider.requests[0] as AuthorizationRequest;
    expect(start.headers.location).toBe(`http://idp.test/authorize?state=${request.state}`);
    expect(request.prompt).toBeUndefined();
    expect(request.codeChallenge).toMatch(/^[\w-]{43}$/);
    expect(start.setCookies).toEqual([
      expect.stringMatching(new RegExp(`^gatehouse_signin_${request.state.slice(0, 12)}=v1\\.[^;]+; Max-Age=600; Path=/\\.auth/; HttpOnly; SameSite=Lax$`)),
    ]);

    const callback = await server.send(`/.auth/callback?state=${request.state}&code=the-code`, {
      headers: { ...NAVIGATION, cookie: cookiePairs(start).join('; ') },
    });
    expect(callback.status).toBe(302);
    expect(callback.headers.location).toBe('/docs');
    expect(provider.exchanges).toEqual([
      { query: `?state=${request.state}&code=the-code`, checks: expect.objectContaining({ state: request.state, nonce: request.nonce }) },
    ]);
    expect(callback.setCookies).toEqual([
      `gatehouse_signin_${request.state.slice(0, 12)}=; Max-Age=0; Path=/.auth/; HttpOnly; SameSite=Lax`,
      expect.stringMatching(/^gatehouse_session=[\w-]{43}\.[\w-]{43}; Max-Age=28800; Path=\/; HttpOnly; SameSite=Lax$/),
      'gatehouse_returning=1; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax',
    ]);
    expect(store.size).toBe(1);
  });

  it("a returning user's start is silent (prompt=none) unless interactive=1", async () => {
    const { server, provider } = await started();
    await server.send('/.auth/start?rd=%2F', { headers: { ...NAVIGATION, cookie: 'gatehouse_returning=1' } });
    await server.send('/.auth/start?rd=%2F&interactive=1', { headers: { ...NAVIGATION, cookie: 'gatehouse_returning=1' } });
    expect(provider.requests.map((request) => request.prompt)).toEqual(['none', undefined]);
  });

  it('start while the provider metadata is not loaded: 503, nothing started', async () => {
    const { server, provider } = await started();
    provider.ready = false;
    const answer = await server.send('/.auth/start?rd=%2F', { headers: JSON_CLIENT });
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'provider_unavailable' });
    expect(provider.requests).toEqual([]);
  });

  it('a callback without the matching pending cookie (expired, replayed, forged) is 400 sign_in_expired and exchanges nothing', async () => {
    const { server, provider } = await started();
    const start = await server.send('/.auth/start?rd=%2F', { headers: NAVIGATION });
    const other = await server.send('/.auth/start?rd=%2F', { headers: NAVIGATION });
    const second = provider.requests[1] as AuthorizationRequest;
    const answer = await server.send(`/.auth/callback?state=${second.state}&code=c`, { headers: { ...JSON_CLIENT, cookie: cookiePairs(start).join('; ') } });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'sign_in_expired' });
    const duplicated = await server.send(`/.auth/callback?state=${second.state}&state=${second.state}&code=c`, {
      headers: { ...JSON_CLIENT, cookie: cookiePairs(other).join('; ') },
    });
    expect(duplicated.status).toBe(400);
    expect(provider.exchanges).toEqual([]);
  });

  it('a silent attempt the provider refuses falls back to an interactive start and drops the returning hint', async () => {
    const { server, provider } = await started();
    const start = await server.send('/.auth/start?rd=%2Fdocs', { headers: { ...NAVIGATION, cookie: 'gatehouse_returning=1' } });
    const { state } = provider.requests[0] as AuthorizationRequest;
    const answer = await server.send(`/.auth/callback?state=${state}&error=login_required`, {
      headers: { ...NAVIGATION, cookie: cookiePairs(start).join('; ') },
    });
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe('/.auth/start?rd=%2Fdocs&interactive=1');
    expect(answer.setCookies[1]).toBe('gatehouse_returning=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax');
  });

  it('access_denied on an interactive attempt shows the declined page with a way to try again', async () => {
    const { server, provider } = await started();
    const start = await server.send('/.auth/start?rd=%2Fdocs', { headers: NAVIGATION });
    const { state } = provider.requests[0] as AuthorizationRequest;
    const answer = await server.send(`/.auth/callback?state=${state}&error=access_denied`, {
      headers: { ...NAVIGATION, cookie: cookiePairs(start).join('; ') },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('/.auth/start?rd=%2Fdocs&amp;interactive=1');
    expect(answer.setCookies).toHaveLength(1);
  });

  it('the code exchange failing: provider unreachable is 503, a refused code is 400; no session either way', async () => {
    const { server, provider, store } = await started();
    const attempt = async (error: Error): Promise<RouteAnswer> => {
      provider.exchange = () => Promise.reject(error);
      const start = await server.send('/.auth/start?rd=%2F', { headers: NAVIGATION });
      const { state } = provider.requests.at(-1) as AuthorizationRequest;
      return server.send(`/.auth/callback?state=${state}&code=c`, { headers: { ...JSON_CLIENT, cookie: cookiePairs(start).join('; ') } });
    };
    expect((await attempt(new ProviderUnavailableError('provider unreachable'))).status).toBe(503);
    expect((await attempt(new ProviderRefusedError('invalid_grant', 'provider refused: invalid_grant'))).status).toBe(400);
    expect(store.size).toBe(0);
  });
});
