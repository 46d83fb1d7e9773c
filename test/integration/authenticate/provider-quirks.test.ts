// Provider quirks from the providers' published documentation, replayed by the misbehaving provider, each handled by a
// documented option (docs/providers/):
// - Google issues a refresh token only for an authorization request with access_type=offline; the offline_access
//   scope alone gets none (https://developers.google.com/identity/protocols/oauth2/web-server#offline).
//   sso.extra_auth_params sends it.
// - Auth0 without RP-initiated logout publishes no end_session_endpoint; its logout is GET /v2/logout with client_id
//   and returnTo (https://auth0.com/docs/api/authentication/logout/auth-0-logout). sso.logout_url sends the browser there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load.js';
import { BrowserClient } from '../../helpers/browser-client.js';
import { generateSigningKey, type MisbehavingProviderOptions, type SigningKey } from '../../helpers/misbehaving-provider.js';
import { waitUntilReady } from '../../helpers/cloud-stack.js';
import { attemptSignIn, startMisbehavingStack, type MisbehavingStack } from '../../helpers/misbehaving-stack.js';

const SESSION_COOKIE = 'gatehouse_session';
const NO_REFRESH_TOKEN = 'provider issued no refresh token although offline_access was requested; roles are read only at sign-in';
/** Google's documented parameter; the misbehaving provider issues a refresh token only with it. */
const GOOGLE_OFFLINE = { access_type: 'offline' };

/** The config tree startMisbehavingStack gave gatehouse (its defaults), with `sso` keys added. */
function stackTree(stack: MisbehavingStack, sso: Record<string, unknown>): Record<string, unknown> {
  return {
    mode: 'cloud',
    listen: { host: '127.0.0.1', port: Number(new URL(stack.url).port) },
    ops: { host: '127.0.0.1', port: 0 },
    public_url: stack.url,
    upstream: { url: stack.upstream.url },
    sso: { issuer: stack.provider.issuer, client_id: 'misbehaving-rp', client_secret: 'misbehaving-secret-0123456789', ...sso },
    session: { secrets: ['misbehaving-session-secret-0123456789-abcdef'] },
  };
}

describe('provider quirks and the options that handle them', () => {
  let keys: SigningKey[];
  const stacks: MisbehavingStack[] = [];

  beforeAll(async () => {
    keys = [await generateSigningKey('provider-quirks-key')];
  });
  afterAll(async () => {
    await Promise.all(stacks.map((stack) => stack.close()));
  });

  async function start(provider: Partial<MisbehavingProviderOptions>, config: Record<string, unknown>): Promise<MisbehavingStack> {
    const stack = await startMisbehavingStack({ keys, provider, config });
    stacks.push(stack);
    return stack;
  }

  describe('Google: refresh tokens only with access_type=offline', () => {
    const google = { refreshTokens: true, refreshTokensOnlyWith: GOOGLE_OFFLINE };
    const scopes = ['openid', 'profile', 'email', 'offline_access'];

    it('without sso.extra_auth_params the session gets no refresh token, and gatehouse says so', async () => {
      const stack = await start(google, { sso: { scopes, silent_reauth: false } });
      const attempt = await attemptSignIn(stack, '/');
      expect(attempt.callback.status).toBe(302);
      expect(attempt.authorizeUrl.searchParams.get('access_type')).toBeNull();
      expect(stack.gatehouse.logs.filter((line) => line.msg === NO_REFRESH_TOKEN)).toHaveLength(1);
    });

    it('with extra_auth_params {access_type: offline, prompt: consent} the request carries both and the session gets a refresh token', async () => {
      const stack = await start(google, { sso: { scopes, silent_reauth: false, extra_auth_params: { ...GOOGLE_OFFLINE, prompt: 'consent' } } });
      const attempt = await attemptSignIn(stack, '/');
      expect(attempt.callback.status).toBe(302);
      expect(attempt.authorizeUrl.searchParams.get('access_type')).toBe('offline');
      expect(attempt.authorizeUrl.searchParams.get('prompt')).toBe('consent');
      expect(stack.gatehouse.logs.filter((line) => line.msg === NO_REFRESH_TOKEN)).toHaveLength(0);
    });

    it('a silent attempt still sends prompt=none: extra_auth_params cannot make it interactive', async () => {
      const stack = await start(google, { sso: { scopes, extra_auth_params: { ...GOOGLE_OFFLINE, prompt: 'consent' } } });
      const client = new BrowserClient();
      await attemptSignIn(stack, '/', client);
      client.jar.store(new URL(stack.url), `${SESSION_COOKIE}=; Path=/; Max-Age=0`);
      const silent = await client.navigate(`${stack.url}/.auth/start?rd=%2F`);
      const authorize = new URL(silent.location ?? 'http://missing.invalid');
      expect(authorize.searchParams.getAll('prompt')).toEqual(['none']);
      expect(authorize.searchParams.get('access_type')).toBe('offline');
    });
  });

  describe('Auth0: /v2/logout instead of an end_session_endpoint', () => {
    async function signedIn(config: Record<string, unknown>): Promise<{ stack: MisbehavingStack; client: BrowserClient }> {
      const stack = await start({ auth0Logout: {} }, config);
      const attempt = await attemptSignIn(stack, '/');
      expect(attempt.callback.status).toBe(302);
      return { stack, client: attempt.client };
    }

    it('without sso.logout_url gatehouse ends on its own signed-out page and the provider session lives on', async () => {
      const { stack, client } = await signedIn({});
      const logout = await client.navigate(`${stack.url}/.auth/logout`);
      expect(logout.status).toBe(200);
      expect(logout.body).toContain('You are signed out');
      expect(stack.provider.logouts).toHaveLength(0);
    });

    it('with sso.logout_url the browser goes to /v2/logout with client_id and returnTo, and comes back to the signed-out page', async () => {
      const stack = await start({ auth0Logout: {} }, {});
      // the template names the provider's own origin, known once it listens: applied by a reload, before any sign-in
      const logoutUrl = `${stack.provider.issuer}/v2/logout?client_id={client_id}&returnTo={post_logout_redirect_uri}`;
      await stack.gatehouse.reload(validateConfig(stackTree(stack, { logout_url: logoutUrl })));
      await waitUntilReady(stack.gatehouse);
      const attempt = await attemptSignIn(stack, '/');
      expect(attempt.callback.status).toBe(302);
      const logout = await attempt.client.navigate(`${stack.url}/.auth/logout`);
      expect(logout.status).toBe(302);
      const toAuth0 = new URL(logout.location ?? 'http://missing.invalid');
      expect(`${toAuth0.origin}${toAuth0.pathname}`).toBe(`${stack.provider.issuer}/v2/logout`);
      expect([...toAuth0.searchParams.keys()]).toEqual(['client_id', 'returnTo']);
      expect(toAuth0.searchParams.get('client_id')).toBe('misbehaving-rp');
      expect(toAuth0.searchParams.get('returnTo')).toBe(`${stack.url}/.auth/signed-out`);
      expect(logout.headers['set-cookie']?.toString()).toMatch(new RegExp(`${SESSION_COOKIE}=;`));
      const atAuth0 = await attempt.client.navigate(toAuth0.href);
      expect(atAuth0.status).toBe(302);
      expect(stack.provider.logouts).toHaveLength(1);
      const back = await attempt.client.navigate(atAuth0.location ?? '');
      expect(back.status).toBe(200);
      expect(back.body).toContain('You are signed out');
    });
  });

  describe('Entra ID multi-tenant: any tenant can sign in unless an access rule names the tenants (tid)', () => {
    // The {tenantid} issuer itself is handled by openid-client for https://login.microsoftonline.com only, which a
    // loopback provider cannot be; what the guide adds is the rule on the ID token's tid claim.
    const tenantRule = { default: 'deny', rules: [{ path: '/', allow: { claims: { tid: ['tenant-a'] } } }] };

    it.each([
      ['tenant-a', 200],
      ['tenant-b', 403],
    ])('a user of %s gets %i', async (tid, status) => {
      const stack = await start({ idTokenClaims: { tid } }, { sso: { silent_reauth: false }, access: tenantRule });
      const attempt = await attemptSignIn(stack, '/reports');
      expect(attempt.callback.status).toBe(302);
      const page = await attempt.client.navigate(`${stack.url}/reports`);
      expect(page.status).toBe(status);
      expect(stack.upstream.requests.some((request) => request.url === '/reports')).toBe(status === 200);
    });
  });

  describe('config checks', () => {
    const base = {
      mode: 'cloud',
      public_url: 'https://app.example.com',
      sso: { issuer: 'https://idp.example.com', client_id: 'app', client_secret: 's' },
      session: { secrets: ['0123456789abcdef0123456789abcdef'] },
    };

    it('extra_auth_params may not replace what gatehouse sets itself', () => {
      expect(() => validateConfig({ ...base, sso: { ...base.sso, extra_auth_params: { state: 'x', redirect_uri: 'https://evil.example' } } })).toThrow(
        /sso\.extra_auth_params\.state: state is set by gatehouse itself[\s\S]*sso\.extra_auth_params\.redirect_uri: redirect_uri is set by gatehouse itself/,
      );
    });

    it('logout_url must be an http(s) URL with known placeholders', () => {
      expect(() => validateConfig({ ...base, sso: { ...base.sso, logout_url: 'https://t.auth0.com/v2/logout?returnTo={return_to}' } })).toThrow(
        /sso\.logout_url: unknown placeholder \{return_to\}/,
      );
      expect(() => validateConfig({ ...base, sso: { ...base.sso, logout_url: '/v2/logout' } })).toThrow(/sso\.logout_url: must be an absolute http\(s\) URL/);
    });
  });
});
