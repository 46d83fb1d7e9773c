// ID tokens at refresh, and RFC 9207's iss parameter from a provider that does not advertise it. The real gatehouse
// against the misbehaving provider over real sockets.
//
// Refresh: src/authenticate/provider.ts refresh() lets openid-client check iss/aud/exp/iat, then checks the signature against
// jwks_uri and that the sub is the session's. Any of these failing is GH_TOKEN_INVALID, which src/session/sessions.ts
// renew() treats like any refresh failure that is not invalid_grant: the refreshed tokens are dropped, the session keeps
// its current identity and tokens until they expire (a warn line, outcome `error`), and the refresh at expiry ends it.
//
// RFC 9207: a provider that advertises authorization_response_iss_parameter_supported but sends no iss is covered by
// conformance.test.ts (rfc9207-iss-parameter-missing), as is a wrong iss from a provider that advertises it.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateSigningKey, OTHER_USER, type MisbehavingProviderOptions, type RefreshIdToken, type SigningKey } from '../../helpers/misbehaving-provider.js';
import { attemptSignIn, startMisbehavingStack, type MisbehavingStack, type SignInAttempt } from '../../helpers/misbehaving-stack.js';
import { apiWith, metricValue, navigateWith } from '../../helpers/session-requests.js';
import { headerValues } from '../../helpers/upstream.js';
import { waitFor } from '../../helpers/wait.js';

const SESSION_COOKIE = 'gatehouse_session';
const RETURN_PATH = '/reports?x=1';
const IDENTITY_HEADERS = ['x-forwarded-user', 'x-forwarded-email', 'x-forwarded-preferred-username', 'x-forwarded-name', 'x-forwarded-roles'];
const ALICE = {
  'x-forwarded-user': ['alice'],
  'x-forwarded-email': ['alice@example.test'],
  'x-forwarded-preferred-username': ['alice'],
  'x-forwarded-name': ['Alice%20Example'],
  'x-forwarded-roles': ['admin'],
};
/** 3-second tokens, refresh 2 s before they expire: a refresh is due at most 1 s after sign-in, expiry at most 3 s after. */
const TOKEN_LIFETIME_S = 3;
const REFRESH_BEFORE_MS = 2000;
const REFRESH_FAILED = 'session refresh failed; the session stays valid until its tokens expire';
const ENDED_AT_EXPIRY = 'session refresh failed and its tokens have expired; session ended';

type Run = MisbehavingStack;

describe('ID tokens at refresh and RFC 9207 against the misbehaving provider', () => {
  let keys: SigningKey[];
  const runs: Run[] = [];

  beforeAll(async () => {
    keys = [await generateSigningKey('conformance-refresh-key')];
  });
  afterAll(async () => {
    await Promise.all(runs.map((run) => run.close()));
  });

  /** A stack with its own upstream, ready; closed after all tests. */
  async function start(provider: Partial<MisbehavingProviderOptions>, session: Record<string, unknown> = {}): Promise<Run> {
    const run = await startMisbehavingStack({ keys, provider, config: { sso: { silent_reauth: false }, session } });
    runs.push(run);
    return run;
  }

  const attempt = (run: Run): Promise<SignInAttempt> => attemptSignIn(run, RETURN_PATH);

  describe('the provider returns a new ID token at refresh (3-second tokens)', () => {
    // Date is stopped for these tests and moved by them (timers stay real; gatehouse and the misbehaving provider run in
    // this process and read it): each request lands before or after the tokens' expiry exactly where the test puts it,
    // however slow the machine. The tests share that clock, so they run one after another.
    beforeAll(() => {
      vi.useFakeTimers({ toFake: ['Date'] });
    });
    afterAll(() => {
      vi.useRealTimers();
    });

    /** Signs alice in and returns her Cookie header and the expiry (ms) of her first tokens: her ID token's exp. */
    async function signedIn(run: Run): Promise<{ cookie: string; expiresAt: number }> {
      const { client, callback } = await attempt(run);
      expect(callback.status).toBe(302);
      expect(callback.location).toBe(`${run.url}${RETURN_PATH}`);
      const value = client.cookie(run.url, SESSION_COOKIE);
      expect(value).toMatch(/\S{20,}/);
      const idToken = run.provider.issued.filter((issued) => issued.startsWith('eyJ')).at(-1) ?? '';
      return { cookie: `${SESSION_COOKIE}=${value ?? ''}`, expiresAt: (decodeJwt(idToken).exp as number) * 1000 };
    }

    /** One API request with the session; returns its status and the identity headers the app received with it (if it got it). */
    async function request(run: Run, cookie: string, path: string): Promise<{ status: number; identity: Record<string, string[]>; assertionSub?: unknown }> {
      const forwarded = run.upstream.requests.length;
      const res = await apiWith(`${run.url}${path}`, cookie);
      const seen = run.upstream.requests.length > forwarded ? run.upstream.requests.at(-1) : undefined;
      const identity: Record<string, string[]> = {};
      for (const name of IDENTITY_HEADERS) {
        const values = headerValues(seen?.rawHeaders ?? [], name);
        if (values.length > 0) identity[name] = values;
      }
      const assertion = headerValues(seen?.rawHeaders ?? [], 'x-gatehouse-assertion')[0];
      return { status: res.status, identity, ...(assertion ? { assertionSub: decodeJwt(assertion).sub } : {}) };
    }

    const refreshes = (run: Run, outcome: string): Promise<number> => metricValue(run.gatehouse, 'gatehouse_session_refreshes_total', { outcome });

    it('control, a valid ID token for the same user: taken, the session outlives its first tokens', async ({ expect }) => {
      const run = await start({ refreshTokens: true, tokenLifetime: TOKEN_LIFETIME_S }, { refresh_before: `${REFRESH_BEFORE_MS}ms` });
      const { cookie, expiresAt } = await signedIn(run);
      vi.setSystemTime(expiresAt - REFRESH_BEFORE_MS + 100);
      expect(await request(run, cookie, '/api/due')).toEqual({ status: 200, identity: ALICE, assertionSub: 'alice' });
      await waitFor(async () => (await refreshes(run, 'ok')) === 1, { timeoutMs: 1500 });
      expect(run.provider.tokenRequests.map((r) => [r.grantType, r.outcome])).toEqual([
        ['authorization_code', 'issued'],
        ['refresh_token', 'issued'],
      ]);
      // the refreshed ID token was taken: userinfo was read again with the new access token
      expect(run.provider.userinfoAuthorizations).toHaveLength(2);
      vi.setSystemTime(expiresAt + 100);
      expect(await request(run, cookie, '/api/after-first-expiry')).toEqual({ status: 200, identity: ALICE, assertionSub: 'alice' });
      expect(await refreshes(run, 'error')).toBe(0);
      expect(run.gatehouse.logs.filter((line) => line.msg === REFRESH_FAILED || line.msg === ENDED_AT_EXPIRY)).toEqual([]);
    });

    const refused: ReadonlyArray<[RefreshIdToken, string, RegExp]> = [
      [
        'bad-signature',
        'an ID token whose RS256 signature is broken',
        /^ID token signature rejected: ERR_JWS_SIGNATURE_VERIFICATION_FAILED: signature verification failed$/,
      ],
      ['other-sub', "another user's ID token (validly signed; its access token and userinfo are that user's)", /^refreshed ID token is for another subject$/],
      [
        'wrong-aud',
        'an ID token for another client (aud)',
        /^provider response rejected: OAUTH_JWT_CLAIM_COMPARISON_FAILED: unexpected JWT claim value encountered; OAUTH_JWT_CLAIM_COMPARISON_FAILED: unexpected JWT "aud" \(audience\) claim value$/,
      ],
    ];
    for (const [mode, what, err] of refused) {
      it(`${mode}, ${what}: not taken; the session keeps alice until its tokens expire, then ends; the app never sees anyone else`, async ({ expect }) => {
        const run = await start({ refreshTokens: true, tokenLifetime: TOKEN_LIFETIME_S, refreshIdToken: mode }, { refresh_before: `${REFRESH_BEFORE_MS}ms` });
        const { cookie, expiresAt } = await signedIn(run);
        vi.setSystemTime(expiresAt - REFRESH_BEFORE_MS + 100);
        // the refresh is due while the tokens are valid: this request passes and starts it in the background
        expect(await request(run, cookie, '/api/due')).toEqual({ status: 200, identity: ALICE, assertionSub: 'alice' });
        await waitFor(async () => (await refreshes(run, 'error')) === 1, { timeoutMs: 1500 });
        expect(run.provider.tokenRequests.map((r) => [r.grantType, r.outcome])).toEqual([
          ['authorization_code', 'issued'],
          ['refresh_token', 'issued'],
        ]);
        const warnings = run.gatehouse.logs.filter((line) => line.msg === REFRESH_FAILED);
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toMatchObject({ level: 'warn', sub: 'alice', tokensExpireAt: new Date(expiresAt).toISOString() });
        expect(String(warnings[0]?.err)).toMatch(err);
        // the refreshed tokens were dropped before userinfo: only the sign-in's userinfo call, with alice's token
        expect(run.provider.userinfoAuthorizations).toHaveLength(1);

        // kept until expiry, with alice's identity and no further refresh attempt
        expect(await request(run, cookie, '/api/kept')).toEqual({ status: 200, identity: ALICE, assertionSub: 'alice' });
        const me = await apiWith(`${run.url}/.auth/me`, cookie);
        expect(me.status).toBe(200);
        expect(JSON.parse(me.body)).toMatchObject({
          sub: 'alice',
          email: 'alice@example.test',
          name: 'Alice Example',
          roles: ['admin'],
          expires_at: expect.any(String) as unknown,
        });
        expect(run.provider.tokenRequests).toHaveLength(2);

        // at expiry the refresh is tried again (the provider answers the same way): the session ends
        vi.setSystemTime(expiresAt + 100);
        expect(await request(run, cookie, '/api/expired')).toEqual({ status: 401, identity: {} });
        expect(run.provider.tokenRequests.map((r) => [r.grantType, r.outcome])).toEqual([
          ['authorization_code', 'issued'],
          ['refresh_token', 'issued'],
          ['refresh_token', 'issued'],
        ]);
        expect(await refreshes(run, 'error')).toBe(2);
        expect(await refreshes(run, 'ok')).toBe(0);
        const ended = run.gatehouse.logs.filter((line) => line.msg === ENDED_AT_EXPIRY);
        expect(ended).toHaveLength(1);
        expect(ended[0]).toMatchObject({ level: 'warn', sub: 'alice' });
        expect(String(ended[0]?.err)).toMatch(err);
        const nav = await navigateWith(`${run.url}/page`, cookie);
        expect(nav.status).toBe(302);
        expect(nav.headers.location).toBe('/.auth/login?rd=%2Fpage');

        // no request the app received carried anyone but alice, and none carried the other user's claims
        expect(run.upstream.requests.map((r) => headerValues(r.rawHeaders, 'x-forwarded-user'))).toEqual([['alice'], ['alice']]);
        for (const seen of run.upstream.requests) expect(seen.rawHeaders.join('\n')).not.toMatch(new RegExp(`${OTHER_USER.sub}|${OTHER_USER.email}`));
        expect(run.gatehouse.logText()).not.toContain(OTHER_USER.email);
      });
    }
  });

  describe('RFC 9207 iss parameter from a provider that does not advertise authorization_response_iss_parameter_supported', () => {
    async function discovery(run: Run): Promise<Record<string, unknown>> {
      return (await (await fetch(`${run.provider.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    }

    it('no iss in the callback: the sign-in succeeds and the app receives the user', async () => {
      const run = await start({ advertiseIssParameter: false, scenario: 'iss-parameter-missing' });
      expect(await discovery(run)).not.toHaveProperty('authorization_response_iss_parameter_supported');
      const { client, callbackUrl, callback } = await attempt(run);
      expect(callbackUrl.searchParams.has('iss')).toBe(false);
      expect(callback.status).toBe(302);
      expect(callback.location).toBe(`${run.url}${RETURN_PATH}`);
      expect(client.cookie(run.url, SESSION_COOKIE)).toMatch(/\S{20,}/);
      const landed = await client.navigate(callback.location as string);
      expect(landed.status).toBe(200);
      expect(run.upstream.requests.map((r) => [r.url, headerValues(r.rawHeaders, 'x-forwarded-user')])).toEqual([[RETURN_PATH, ['alice']]]);
      expect(run.gatehouse.logs.filter((line) => line.msg === 'sign-in failed')).toEqual([]);
      expect(await metricValue(run.gatehouse, 'gatehouse_sign_ins_completed_total', { silent: 'false' })).toBe(1);
    });

    it('the right iss although not advertised: checked and accepted', async () => {
      const run = await start({ advertiseIssParameter: false });
      const { callbackUrl, callback } = await attempt(run);
      expect(callbackUrl.searchParams.get('iss')).toBe(run.provider.issuer);
      expect(callback.status).toBe(302);
      expect(callback.location).toBe(`${run.url}${RETURN_PATH}`);
      expect(await metricValue(run.gatehouse, 'gatehouse_sign_ins_completed_total', { silent: 'false' })).toBe(1);
    });

    it('another issuer in iss although not advertised: still refused (401, no session), the code is never redeemed', async () => {
      const run = await start({ advertiseIssParameter: false, scenario: 'iss-parameter-wrong' });
      const { client, callbackUrl, callback } = await attempt(run);
      expect(callbackUrl.searchParams.get('iss')).toBe('https://idp.attacker.example');
      expect(callback.status).toBe(401);
      expect(callback.body).toContain('Sign-in failed');
      expect(client.cookie(run.url, SESSION_COOKIE)).toBeUndefined();
      const failure = run.gatehouse.logs.filter((line) => line.msg === 'sign-in failed');
      expect(failure).toHaveLength(1);
      expect(failure[0]).toMatchObject({ level: 'warn', reason: 'token_invalid' });
      expect(String(failure[0]?.err)).toMatch(/^GH_TOKEN_INVALID: provider response rejected: .*unexpected "iss" \(issuer\) response parameter value/);
      expect(run.provider.tokenRequests).toEqual([]);
      expect(run.upstream.requests).toEqual([]);
    });
  });
});
