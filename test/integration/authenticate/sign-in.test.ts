// The sign-in handshake against the real dev provider (oidc-provider) over real sockets: first sign-in with
// consent, silent re-authentication of a returning user, its fallback to the interactive flow, declined consent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient, type BrowserResponse } from '../../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { parseForms, parseLinks, signInAtProvider } from '../../helpers/dev-provider-flow.js';
import { headerValues } from '../../helpers/upstream.js';

const SESSION_COOKIE = 'gatehouse_session';

/** Signs out of gatehouse only: drops its session cookie, keeps gatehouse_returning and the provider's cookies. */
function dropGatehouseSession(client: BrowserClient, url: string): void {
  client.jar.store(new URL(url), `${SESSION_COOKIE}=; Path=/; Max-Age=0`);
  expect(client.cookie(url, SESSION_COOKIE)).toBeUndefined();
}

function isRedirect(response: BrowserResponse): boolean {
  return response.status >= 300 && response.status < 400 && response.location !== undefined;
}

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

    const { landed, sawConsent, chain } = await stack.signIn(client, '/reports/2026?x=1', 'alice', 'authorize');
    expect(sawConsent).toBe(true);
    const authorize = chain.find((response) => response.location?.startsWith(`${stack.provider.issuer}/auth?`));
    const authorizeUrl = new URL(authorize?.location ?? 'http://missing.invalid');
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizeUrl.searchParams.get('prompt')).toBeNull();
    expect(authorizeUrl.searchParams.get('redirect_uri')).toBe(`${stack.url}/.auth/callback`);
    expect(landed.url).toBe(`${stack.url}/reports/2026?x=1`);
    expect(landed.status).toBe(200);
    expect(landed.body).toBe('ok');
    const seen = stack.upstream.requests.at(-1);
    expect(seen?.url).toBe('/reports/2026?x=1');
    const raw = seen?.rawHeaders ?? [];
    expect(headerValues(raw, 'x-forwarded-user')).toEqual(['alice']);
    expect(headerValues(raw, 'x-forwarded-email')).toEqual(['alice@example.test']);
    expect(headerValues(raw, 'x-forwarded-roles')).toEqual(['admin']);
    expect(headerValues(raw, 'x-gatehouse-assertion')).toHaveLength(1);
    const cookieHeader = headerValues(raw, 'cookie').join('; ');
    expect(cookieHeader).not.toContain('gatehouse_');
    expect(client.cookie(stack.url, 'gatehouse_returning')).toBe('1');
  });

  it('a returning user whose gatehouse session is gone is signed in silently with prompt=none: only redirects, no page', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'carol', 'authorize');
    dropGatehouseSession(client, stack.url);

    const requestsBefore = stack.upstream.requests.length;
    const { chain, final } = await client.follow(`${stack.url}/inbox/42`);
    expect(chain.slice(0, -1).every(isRedirect)).toBe(true);
    expect(chain.map((response) => new URL(response.url).pathname).slice(0, 3)).toEqual(['/inbox/42', '/.auth/login', '/.auth/start']);
    const authorize = new URL(chain[2]?.location ?? 'http://missing.invalid');
    expect(authorize.origin).toBe(new URL(stack.provider.issuer).origin);
    expect(authorize.searchParams.get('prompt')).toBe('none');
    expect(chain.some((response) => response.status === 200 && new URL(response.url).origin !== new URL(stack.url).origin)).toBe(false);
    expect(final.status).toBe(200);
    expect(final.url).toBe(`${stack.url}/inbox/42`);
    expect(stack.upstream.requests.length).toBe(requestsBefore + 1);
    expect(headerValues(stack.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['carol']);
    expect(client.cookie(stack.url, SESSION_COOKIE)).toMatch(/\S{20,}/);
  });

  it('a silent attempt without a provider session gets login_required and falls back to the login form, no error page', async () => {
    const client = new BrowserClient();
    client.jar.store(new URL(stack.url), 'gatehouse_returning=1; Path=/');
    const providerOrigin = new URL(stack.provider.issuer).origin;
    const { chain, final } = await client.follow(`${stack.url}/deep?q=1`);
    expect(chain.every((response) => response.status < 400)).toBe(true);
    const silent = chain.find((response) => response.location?.includes('prompt=none'));
    expect(silent).toBeDefined();
    const fallback = chain.find((response) => new URL(response.url).pathname === '/.auth/callback');
    expect(new URL(fallback?.url ?? 'http://missing.invalid').searchParams.get('error')).toBe('login_required');
    expect(fallback?.status).toBe(302);
    expect(fallback?.location).toBe(`${stack.url}/.auth/start?rd=%2Fdeep%3Fq%3D1&interactive=1`);
    expect(new URL(final.url).origin).toBe(providerOrigin);
    expect(final.status).toBe(200);
    expect(parseForms(final.body, final.url).some((form) => form.hidden.prompt === 'login')).toBe(true);

    const atProvider = await signInAtProvider(client, final, { login: 'bob' }, 'authorize');
    const back = await client.follow(atProvider.final.location ?? '');
    expect(back.final.status).toBe(200);
    expect(back.final.url).toBe(`${stack.url}/deep?q=1`);
  });

  it('an API request without a session gets 401 JSON, a navigation gets 302', async () => {
    const client = new BrowserClient();
    const api = await client.api(`${stack.url}/api/data`);
    expect(api.status).toBe(401);
    expect(JSON.parse(api.body)).toEqual({ error: 'unauthenticated', login: '/.auth/login' });
    expect(api.headers['www-authenticate']).toBe('Session realm="gatehouse", login_url="/.auth/login"');
    const nav = await client.navigate(`${stack.url}/api/data`);
    expect(nav.status).toBe(302);
    expect(nav.location).toBe(`${stack.url}/.auth/login?rd=%2Fapi%2Fdata`);
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

describe('sign-in with silent_reauth off and local login on', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack({ config: { sso: { silent_reauth: false }, local_login: { enabled: true, paths: ['/local-login'] } } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a returning user sees the sign-on page instead of a silent attempt', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'alice', 'authorize');
    dropGatehouseSession(client, stack.url);
    const { chain, final } = await client.follow(`${stack.url}/inbox`);
    expect(chain.map((response) => response.status)).toEqual([302, 200]);
    expect(final.url).toBe(`${stack.url}/.auth/login?rd=%2Finbox`);
    expect(final.body).toContain('Sign in with Company account');
    const links = parseLinks(final.body, final.url);
    expect(links.map((link) => link.href)).toEqual([`${stack.url}/.auth/start?rd=%2Finbox&interactive=1`, `${stack.url}/local-login?rd=%2Finbox`]);
  });

  it('declined consent shows "You declined access" with a working retry link and the local account link', async () => {
    const client = new BrowserClient();
    const { landed } = await stack.signIn(client, '/reports', 'carol', 'decline');
    expect(landed.status).toBe(200);
    expect(landed.url.startsWith(`${stack.url}/.auth/callback?`)).toBe(true);
    expect(landed.body).toContain('<h1>You declined access</h1>');
    expect(landed.headers['cache-control']).toBe('no-store');
    expect(client.cookie(stack.url, SESSION_COOKIE)).toBeUndefined();
    const links = parseLinks(landed.body, landed.url);
    expect(links).toEqual([
      { href: `${stack.url}/.auth/start?rd=%2Freports&interactive=1`, text: 'Try again' },
      { href: `${stack.url}/local-login?rd=%2Freports`, text: 'Use local account' },
    ]);

    const providerOrigin = new URL(stack.provider.issuer).origin;
    const retry = await client.follow(links[0]?.href ?? '', {}, { stopAt: (url) => url.origin === providerOrigin });
    expect(retry.final.status).toBe(302);
    const providerPage = await client.follow(retry.final.location ?? '');
    const atProvider = await signInAtProvider(client, providerPage.final, { login: 'carol' }, 'authorize');
    expect(atProvider.sawLogin).toBe(false);
    expect(atProvider.sawConsent).toBe(true);
    const back = await client.follow(atProvider.final.location ?? '');
    expect(back.final.status).toBe(200);
    expect(back.final.url).toBe(`${stack.url}/reports`);
    expect(headerValues(stack.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['carol']);
  });
});
