// Provider-facing options over real sockets: a public client (sso.client_auth none) against oidc-provider, sso.userinfo
// off (userinfo-only claims stay out of the identity), logout at a provider without end_session_endpoint (gatehouse's
// own signed-out page), and silent re-authentication answered with consent_required by oidc-provider (every other
// error answer to a silent attempt: silent-fallback.test.ts).
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startDevProvider, type DevProvider } from '../../../demo/dev-provider.js';
import { BrowserClient, type BrowserResponse } from '../../helpers/browser-client.js';
import { devClient, startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { parseForms, signInAtProvider } from '../../helpers/dev-provider-flow.js';
import { generateSigningKey, type MisbehavingProviderOptions, type SigningKey } from '../../helpers/misbehaving-provider.js';
import { startMisbehavingStack, type MisbehavingStack } from '../../helpers/misbehaving-stack.js';
import { recordTokenRequests } from '../../helpers/token-requests.js';
import { freePort } from '../../helpers/ports.js';
import { apiWith, metricValue, navigateWith } from '../../helpers/session-requests.js';
import { headerNames, headerValues, startUpstream, type RecordingUpstream } from '../../helpers/upstream.js';

const SESSION_COOKIE = 'gatehouse_session';
const RETURNING_COOKIE = 'gatehouse_returning';
const IDENTITY_HEADERS = ['x-forwarded-user', 'x-forwarded-email', 'x-forwarded-preferred-username', 'x-forwarded-name', 'x-forwarded-roles'];

function setCookieLines(response: { headers: Record<string, string | string[] | undefined> }): string[] {
  return ([] as string[]).concat(response.headers['set-cookie'] ?? []);
}

/** The identity headers the app received with its last request, by lower-cased name (only those present). */
function identityOf(upstream: RecordingUpstream): Record<string, string[]> {
  const raw = upstream.requests.at(-1)?.rawHeaders ?? [];
  const seen: Record<string, string[]> = {};
  for (const name of IDENTITY_HEADERS) {
    const values = headerValues(raw, name);
    if (values.length > 0) seen[name] = values;
  }
  return seen;
}

/** A gatehouse in front of the misbehaving provider (discovery without end_session_endpoint, claims only at userinfo by default). */
type MisbehavingRun = MisbehavingStack;

describe('provider options', () => {
  let upstream: RecordingUpstream;
  let keys: SigningKey[];

  beforeAll(async () => {
    upstream = await startUpstream();
    keys = [await generateSigningKey('provider-options-key')];
  });
  afterAll(async () => {
    await upstream?.close();
  });

  /** Silent re-authentication stays on (the default), unlike the conformance tests; the upstream is this file's. */
  function startMisbehaving(provider: Partial<MisbehavingProviderOptions> = {}, config: Record<string, unknown> = {}): Promise<MisbehavingRun> {
    return startMisbehavingStack({ keys, provider, config, upstream });
  }

  /** Interactive sign-in at the misbehaving provider (it answers the authorization request at once); returns the landed page. */
  async function signInInteractively(run: MisbehavingRun, client: BrowserClient, path: string): Promise<BrowserResponse> {
    const { chain, final } = await client.follow(`${run.url}/.auth/start?rd=${encodeURIComponent(path)}&interactive=1`);
    expect(chain.map((response) => response.status)).toEqual([302, 302, 302, 200]);
    expect(final.url).toBe(`${run.url}${path}`);
    return final;
  }

  describe('sso.client_auth: none (public client) against oidc-provider', () => {
    const PUBLIC_CLIENT_ID = 'gatehouse-public';
    let provider: DevProvider;
    let publicStack: CloudStack;
    let secretStack: CloudStack;
    let tokenEndpoint: string;

    beforeAll(async () => {
      const [publicPort, secretPort] = [await freePort(), await freePort()];
      const publicUrl = `http://127.0.0.1:${publicPort}`;
      const secretUrl = `http://127.0.0.1:${secretPort}`;
      // One public client (no secret, token_endpoint_auth_method none), registered for two gatehouses: one configured
      // as a public client, one that (wrongly) authenticates with a secret, to show the provider refuses that.
      provider = await startDevProvider({
        port: await freePort(),
        clients: [
          {
            client_id: PUBLIC_CLIENT_ID,
            token_endpoint_auth_method: 'none',
            redirect_uris: [`${publicUrl}/.auth/callback`, `${secretUrl}/.auth/callback`],
            post_logout_redirect_uris: [`${publicUrl}/.auth/signed-out`],
          },
        ],
      });
      publicStack = await startCloudStack({
        provider,
        port: publicPort,
        upstream,
        config: { sso: { client_id: PUBLIC_CLIENT_ID, client_auth: 'none', client_secret: '' } },
      });
      secretStack = await startCloudStack({
        provider,
        port: secretPort,
        upstream,
        config: { sso: { client_id: PUBLIC_CLIENT_ID, client_auth: 'client_secret_basic', client_secret: 'a-secret-the-provider-never-issued' } },
      });
      const discovery = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as {
        token_endpoint: string;
        token_endpoint_auth_methods_supported: string[];
      };
      expect(discovery.token_endpoint_auth_methods_supported).toContain('none');
      tokenEndpoint = discovery.token_endpoint;
    });
    afterEach(() => {
      vi.restoreAllMocks();
    });
    afterAll(async () => {
      await publicStack?.close();
      await secretStack?.close();
      await provider?.close();
    });

    it('a full sign-in succeeds, the app receives the identity headers, and the token request carries client_id but no secret', async () => {
      const tokenRequests = recordTokenRequests(() => tokenEndpoint);
      const client = new BrowserClient();
      const { landed, sawConsent } = await publicStack.signIn(client, '/public-client?x=1', 'alice', 'authorize');
      expect(sawConsent).toBe(true);
      expect(landed.status).toBe(200);
      expect(landed.url).toBe(`${publicStack.url}/public-client?x=1`);
      expect(landed.body).toBe('ok');
      expect(upstream.requests.at(-1)?.url).toBe('/public-client?x=1');
      expect(identityOf(upstream)).toEqual({
        'x-forwarded-user': ['alice'],
        'x-forwarded-email': ['alice@example.test'],
        'x-forwarded-preferred-username': ['alice'],
        'x-forwarded-name': ['Alice%20Example'],
        'x-forwarded-roles': ['admin'],
      });
      expect(client.cookie(publicStack.url, SESSION_COOKIE)).toMatch(/\S{20,}/);

      expect(tokenRequests).toHaveLength(1);
      const [request] = tokenRequests;
      expect(request?.headers.authorization).toBeUndefined();
      expect(request?.body.get('grant_type')).toBe('authorization_code');
      expect(request?.body.get('client_id')).toBe(PUBLIC_CLIENT_ID);
      expect(request?.body.has('client_secret')).toBe(false);
      expect(request?.body.has('client_assertion')).toBe(false);
      expect(request?.body.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
      expect(request?.answer).toEqual({ status: 200, error: undefined });
      expect(await metricValue(publicStack.gatehouse, 'gatehouse_sign_ins_completed_total', { silent: 'false' })).toBe(1);
    });

    it('the provider refuses the same public client when gatehouse sends a secret (HTTP Basic): 502 naming invalid_client, no session', async () => {
      const tokenRequests = recordTokenRequests(() => tokenEndpoint);
      const client = new BrowserClient();
      const { landed } = await secretStack.signIn(client, '/with-secret', 'carol', 'authorize');
      expect(tokenRequests).toHaveLength(1);
      expect(tokenRequests[0]?.headers.authorization).toMatch(/^Basic /);
      expect(tokenRequests[0]?.answer).toEqual({ status: 401, error: 'invalid_client' });
      expect(landed.url.startsWith(`${secretStack.url}/.auth/callback?`)).toBe(true);
      // a refused client login is a provider refusal (502, provider_error) that names invalid_client, not a bad token
      expect(landed.status).toBe(502);
      expect(landed.body).toContain('Sign-in failed');
      expect(client.cookie(secretStack.url, SESSION_COOKIE)).toBeUndefined();
      const failure = secretStack.gatehouse.logs.filter((line) => line.msg === 'sign-in failed').at(-1);
      expect(failure?.reason).toBe('provider_error');
      expect(String(failure?.err)).toMatch(/^GH_PROVIDER_ERROR: provider refused: invalid_client \(HTTP 401 with WWW-Authenticate\)/);
    });
  });

  describe('sso.userinfo', () => {
    // The ID token carries email and preferred_username; name and roles come only from userinfo.
    const idTokenClaims = { email: 'alice@example.test', preferred_username: 'alice' };

    it('userinfo: false: claims only userinfo returns stay out of the headers, /.auth/me and the assertion; userinfo is never called', async () => {
      const run = await startMisbehaving({ idTokenClaims }, { sso: { userinfo: false } });
      try {
        const client = new BrowserClient();
        const landed = await signInInteractively(run, client, '/profile');
        expect(landed.body).toBe('ok');
        expect(run.provider.tokenRequests.map((r) => r.outcome)).toEqual(['issued']);
        expect(run.provider.userinfoAuthorizations).toEqual([]);
        expect(identityOf(upstream)).toEqual({
          'x-forwarded-user': ['alice'],
          'x-forwarded-email': ['alice@example.test'],
          'x-forwarded-preferred-username': ['alice'],
        });
        const assertion = decodeJwt(headerValues(upstream.requests.at(-1)?.rawHeaders ?? [], 'x-gatehouse-assertion')[0] ?? '');
        expect(assertion.sub).toBe('alice');
        expect(assertion.roles).toEqual([]);
        expect(assertion.name).toBeUndefined();
        const me = await client.api(`${run.url}/.auth/me`);
        expect(me.status).toBe(200);
        expect(JSON.parse(me.body)).toMatchObject({
          sub: 'alice',
          email: 'alice@example.test',
          name: null,
          preferred_username: 'alice',
          roles: [],
          access: 'granted',
        });
      } finally {
        await run.close();
      }
    });

    it('userinfo on (the default): the same provider adds the userinfo-only claims (name, roles)', async () => {
      const run = await startMisbehaving({ idTokenClaims });
      try {
        const client = new BrowserClient();
        await signInInteractively(run, client, '/profile');
        expect(run.provider.userinfoAuthorizations).toHaveLength(1);
        expect(run.provider.userinfoAuthorizations[0]).toMatch(/^Bearer [A-Za-z0-9_-]{32}$/);
        expect(identityOf(upstream)).toEqual({
          'x-forwarded-user': ['alice'],
          'x-forwarded-email': ['alice@example.test'],
          'x-forwarded-preferred-username': ['alice'],
          'x-forwarded-name': ['Alice%20Example'],
          'x-forwarded-roles': ['admin'],
        });
        const me = await client.api(`${run.url}/.auth/me`);
        expect(JSON.parse(me.body)).toMatchObject({ sub: 'alice', name: 'Alice Example', roles: ['admin'], access: 'granted' });
      } finally {
        await run.close();
      }
    });
  });

  describe('logout when the provider publishes no end_session_endpoint', () => {
    let run: MisbehavingRun;
    beforeAll(async () => {
      run = await startMisbehaving();
      const discovery = (await (await fetch(`${run.provider.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(discovery).not.toHaveProperty('end_session_endpoint');
    });
    afterAll(async () => {
      await run?.close();
    });

    const clearedCookies = [`${SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`, `${RETURNING_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`];

    async function expectSessionGone(cookie: string): Promise<void> {
      const api = await apiWith(`${run.url}/app`, `${SESSION_COOKIE}=${cookie}`);
      expect(api.status).toBe(401);
      expect(JSON.parse(api.body)).toEqual({ error: 'unauthenticated', login: '/.auth/login' });
      const me = await apiWith(`${run.url}/.auth/me`, `${SESSION_COOKIE}=${cookie}`);
      expect(me.status).toBe(401);
      const nav = await navigateWith(`${run.url}/app`, `${SESSION_COOKIE}=${cookie}`);
      expect(nav.status).toBe(302);
      expect(nav.headers.location).toBe('/.auth/login?rd=%2Fapp');
    }

    for (const method of ['GET', 'POST'] as const) {
      it(`${method} /.auth/logout ends the session and answers gatehouse's own signed-out page (200, no redirect)`, async () => {
        const client = new BrowserClient();
        await signInInteractively(run, client, '/app');
        const cookie = client.cookie(run.url, SESSION_COOKIE) ?? '';
        expect(cookie).toMatch(/\S{20,}/);
        expect((await apiWith(`${run.url}/.auth/me`, `${SESSION_COOKIE}=${cookie}`)).status).toBe(200);
        const providerCalls = run.provider.tokenRequests.length;

        const logout = await client.navigate(`${run.url}/.auth/logout`, method === 'POST' ? { form: {} } : {});
        expect(logout.status).toBe(200);
        expect(logout.location).toBeUndefined();
        expect(logout.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(logout.headers['cache-control']).toBe('no-store');
        expect(setCookieLines(logout)).toEqual(clearedCookies);
        expect(logout.body).toContain('<h1>You are signed out</h1>');
        expect(logout.body).toContain('href="/.auth/login"');
        expect(client.cookie(run.url, SESSION_COOKIE)).toBeUndefined();
        expect(client.cookie(run.url, RETURNING_COOKIE)).toBeUndefined();
        expect(run.gatehouse.logs.filter((line) => line.msg === 'signed out').at(-1)?.sub).toBe('alice');
        expect(run.provider.tokenRequests).toHaveLength(providerCalls);
        await expectSessionGone(cookie);
      });
    }

    it('logout without a session answers the same signed-out page and still clears both cookies', async () => {
      const client = new BrowserClient();
      const logout = await client.navigate(`${run.url}/.auth/logout`);
      expect(logout.status).toBe(200);
      expect(logout.location).toBeUndefined();
      expect(setCookieLines(logout)).toEqual(clearedCookies);
      expect(logout.body).toContain('<h1>You are signed out</h1>');
    });
  });

  describe('silent re-authentication answered with consent_required by oidc-provider', () => {
    const OTHER_CLIENT_ID = 'gatehouse-other-app';
    let provider: DevProvider;
    let first: CloudStack;
    let second: CloudStack;

    beforeAll(async () => {
      const [firstPort, secondPort] = [await freePort(), await freePort()];
      const firstUrl = `http://127.0.0.1:${firstPort}`;
      const secondUrl = `http://127.0.0.1:${secondPort}`;
      provider = await startDevProvider({ port: await freePort(), clients: [devClient(firstUrl), { ...devClient(secondUrl), client_id: OTHER_CLIENT_ID }] });
      first = await startCloudStack({ provider, port: firstPort, upstream });
      second = await startCloudStack({ provider, port: secondPort, upstream, config: { sso: { client_id: OTHER_CLIENT_ID } } });
    });
    afterAll(async () => {
      await first?.close();
      await second?.close();
      await provider?.close();
    });

    it('a user signed in at the provider (for another app) but without consent for this one gets the consent page, no error page', async () => {
      const client = new BrowserClient();
      // Signing in to the first app leaves a provider session and the returning hint (cookies are per host, not per port).
      await first.signIn(client, '/', 'alice', 'authorize');
      expect(client.cookie(second.url, RETURNING_COOKIE)).toBe('1');

      const { chain, final } = await client.follow(`${second.url}/reports?y=2`);
      expect(chain.every((response) => response.status < 400)).toBe(true);
      const silent = chain.find((response) => response.location?.includes('prompt=none'));
      expect(new URL(silent?.location ?? 'http://missing.invalid').searchParams.get('client_id')).toBe(OTHER_CLIENT_ID);
      const fallback = chain.find((response) => new URL(response.url).pathname === '/.auth/callback');
      expect(new URL(fallback?.url ?? 'http://missing.invalid').searchParams.get('error')).toBe('consent_required');
      expect(fallback?.status).toBe(302);
      expect(fallback?.location).toBe(`${second.url}/.auth/start?rd=%2Freports%3Fy%3D2&interactive=1`);
      expect(new URL(final.url).origin).toBe(new URL(provider.issuer).origin);
      expect(final.status).toBe(200);
      const forms = parseForms(final.body, final.url);
      expect(forms.some((form) => form.hidden.prompt === 'consent')).toBe(true);
      expect(forms.some((form) => form.hidden.prompt === 'login')).toBe(false);

      const atProvider = await signInAtProvider(client, final, { login: 'alice' }, 'authorize');
      expect(atProvider.sawLogin).toBe(false);
      expect(atProvider.sawConsent).toBe(true);
      const back = await client.follow(atProvider.final.location ?? '');
      expect(back.final.status).toBe(200);
      expect(back.final.url).toBe(`${second.url}/reports?y=2`);
      expect(identityOf(upstream)['x-forwarded-user']).toEqual(['alice']);
      expect(await metricValue(second.gatehouse, 'gatehouse_silent_reauth_fallbacks_total', { error: 'consent_required' })).toBe(1);
      expect(headerNames(upstream.requests.at(-1)?.rawHeaders ?? [])).toContain('x-gatehouse-assertion');
    });
  });
});
