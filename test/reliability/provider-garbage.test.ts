// The provider answers garbage at an endpoint other than discovery (discovery garbage: provider-faults.test.ts): the token
// endpoint (non-JSON, an HTML page, JSON without id_token), userinfo, jwks_uri (non-JSON, no keys) at sign-in, and the
// token endpoint at refresh. Each runs the real gatehouse against the misbehaving provider over real sockets.
//
// What the code decides (src/authenticate/provider-errors.ts classifyProviderError, src/authenticate/sign-in.ts): a 5xx answer is the provider
// being unavailable (503 page with a retry link, reason provider_unavailable); a 2xx answer whose body is not the JSON
// it should be is a broken provider (502 "Sign-in failed", reason provider_error); a readable answer that fails a
// check (no id_token, no matching key) is token_invalid (401). At refresh none of them is invalid_grant: the session
// keeps its current tokens until they expire (src/session/sessions.ts renew).
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  generateSigningKey,
  type GarbageAnswer,
  type MisbehavingProvider,
  type MisbehavingProviderOptions,
  type SigningKey,
} from '../helpers/misbehaving-provider.js';
import { attemptSignIn, startMisbehavingStack, type MisbehavingStack, type SignInAttempt } from '../helpers/misbehaving-stack.js';
import { apiWith, metricValue, navigateWith } from '../helpers/session-requests.js';
import { headerValues } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const SESSION_COOKIE = 'gatehouse_session';
const RETURN_PATH = '/reports?x=1';
/** The error page's "Try again": an interactive start (issue 15). */
const RETRY_LINK = `/.auth/start?rd=${encodeURIComponent(RETURN_PATH)}&amp;interactive=1`;
const LOGIN_PAGE = `/.auth/login?rd=${encodeURIComponent(RETURN_PATH)}`;

const NOT_JSON: GarbageAnswer = { status: 200, contentType: 'application/json', body: '{"access_token": "abc", not json' };
const HTML_PAGE: GarbageAnswer = { status: 200, contentType: 'text/html; charset=utf-8', body: '<!doctype html><title>Maintenance</title><p>Back soon</p>' };
const NO_ID_TOKEN: GarbageAnswer = {
  status: 200,
  contentType: 'application/json',
  body: JSON.stringify({ access_token: 'an-access-token-without-an-id-token', token_type: 'Bearer', expires_in: 300, scope: 'openid profile email' }),
};
const EMPTY_KEY_SET: GarbageAnswer = { status: 200, contentType: 'application/json', body: '{"keys":[]}' };
const MAINTENANCE_503: GarbageAnswer = { status: 503, contentType: 'text/html; charset=utf-8', body: '<!doctype html><title>Down for maintenance</title>' };

/** How a refused sign-in is answered and counted. */
interface Refusal {
  status: 401 | 502 | 503;
  reason: 'token_invalid' | 'provider_error' | 'provider_unavailable';
  heading: string;
}
const TOKEN_INVALID: Refusal = { status: 401, reason: 'token_invalid', heading: 'Sign-in failed' };
const PROVIDER_ERROR: Refusal = { status: 502, reason: 'provider_error', heading: 'Sign-in failed' };
const PROVIDER_UNAVAILABLE: Refusal = { status: 503, reason: 'provider_unavailable', heading: 'Sign-in is temporarily unavailable' };

type Run = MisbehavingStack;
type Attempt = SignInAttempt;

describe('the provider answers garbage after discovery', () => {
  let keys: SigningKey[];

  beforeAll(async () => {
    keys = [await generateSigningKey('garbage-key')];
  });

  const runs: Run[] = [];
  afterAll(async () => {
    for (const run of runs) await run.close();
  });

  /** A stack with its own upstream and a 2 s provider timeout, ready; `session` is merged into the session config. */
  async function start(provider: Partial<MisbehavingProviderOptions> = {}, session: Record<string, unknown> = {}): Promise<Run> {
    const run = await startMisbehavingStack({ keys, provider, config: { sso: { silent_reauth: false, timeout: '2s' }, session } });
    runs.push(run);
    return run;
  }

  const attempt = (run: Run): Promise<Attempt> => attemptSignIn(run, RETURN_PATH);

  /** A sign-in that works: 302 to the return path, the app receives alice. */
  async function expectSignedIn(run: Run, signIn: Attempt): Promise<void> {
    expect(signIn.callback.status).toBe(302);
    expect(signIn.callback.location).toBe(`${run.url}${RETURN_PATH}`);
    expect(signIn.client.cookie(run.url, SESSION_COOKIE)).toMatch(/\S{20,}/);
    const landed = await signIn.client.navigate(signIn.callback.location as string);
    expect(landed.status).toBe(200);
    expect(landed.body).toBe('ok');
    expect(run.upstream.requests.at(-1)?.url).toBe(RETURN_PATH);
    expect(headerValues(run.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['alice']);
  }

  /**
   * A clean refusal: the page for `refusal` with the retry link, the pending sign-in cookie cleared, no session
   * cookie, one `sign-in failed` warn line (its reason, err matching `err`), the failure metric counted, nothing
   * forwarded to the app, and nothing the provider handed out in the page.
   */
  async function expectRefused(run: Run, signIn: Attempt, refusal: Refusal, err: RegExp, failuresBefore = 0): Promise<void> {
    const { client, callback } = signIn;
    const forwarded = run.upstream.requests.length;
    expect(callback.status).toBe(refusal.status);
    expect(callback.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(callback.headers['cache-control']).toBe('no-store');
    expect(callback.body).toContain(refusal.heading);
    expect(callback.body).toContain(RETRY_LINK);
    const setCookies = ([] as string[]).concat(callback.headers['set-cookie'] ?? []);
    expect(setCookies).toHaveLength(1);
    expect(setCookies[0]).toMatch(/^gatehouse_signin_[A-Za-z0-9_-]{12}=; Max-Age=0; Path=\/\.auth\/; HttpOnly; SameSite=Lax$/);
    expect(client.cookie(run.url, SESSION_COOKIE)).toBeUndefined();
    const failures = run.gatehouse.logs.filter((line) => line.msg === 'sign-in failed');
    expect(failures).toHaveLength(failuresBefore + 1);
    expect(failures.at(-1)).toMatchObject({ level: 'warn', reason: refusal.reason });
    expect(String(failures.at(-1)?.err)).toMatch(err);
    expect(await metricValue(run.gatehouse, 'gatehouse_sign_ins_failed_total', { reason: refusal.reason })).toBe(failuresBefore + 1);
    expect(await metricValue(run.gatehouse, 'gatehouse_sign_ins_completed_total', { silent: 'false' })).toBe(0);
    for (const secret of [...run.provider.issued, 'an-access-token-without-an-id-token']) {
      expect(callback.body).not.toContain(secret);
      expect(run.gatehouse.logText()).not.toContain(secret);
    }
    const me = await client.api(`${run.url}/.auth/me`);
    expect(me.status).toBe(401);
    const page = await client.navigate(`${run.url}${RETURN_PATH}`);
    expect(page.status).toBe(302);
    expect(page.location).toBe(`${run.url}${LOGIN_PAGE}`);
    expect(run.upstream.requests).toHaveLength(forwarded);
  }

  describe('token endpoint at sign-in', () => {
    const cases: ReadonlyArray<[string, GarbageAnswer, Refusal, RegExp]> = [
      [
        '503 with a maintenance page',
        MAINTENANCE_503,
        PROVIDER_UNAVAILABLE,
        /^GH_PROVIDER_UNAVAILABLE: provider answered HTTP 503: OAUTH_RESPONSE_IS_NOT_CONFORM: /,
      ],
      [
        '200 with a body that is not JSON',
        NOT_JSON,
        PROVIDER_ERROR,
        /^GH_PROVIDER_ERROR: provider answer unusable: OAUTH_PARSE_ERROR: parsing error occured; OAUTH_PARSE_ERROR: failed to parse "response" body as JSON; /,
      ],
      [
        '200 with an HTML page',
        HTML_PAGE,
        PROVIDER_ERROR,
        /^GH_PROVIDER_ERROR: provider answer unusable: OAUTH_RESPONSE_IS_NOT_JSON: unexpected response content-type$/,
      ],
      [
        '200 with JSON lacking id_token',
        NO_ID_TOKEN,
        TOKEN_INVALID,
        /^GH_TOKEN_INVALID: provider response rejected: OAUTH_INVALID_RESPONSE: invalid response encountered; OAUTH_INVALID_RESPONSE: "response" body "id_token" property must be a string$/,
      ],
    ];
    for (const [what, garbage, refusal, err] of cases) {
      it(`${what}: ${refusal.status} "${refusal.heading}", no session, ${refusal.reason} logged, nothing reaches the app, userinfo never called`, async () => {
        const run = await start({ garbage: { token: garbage } });
        const signIn = await attempt(run);
        await expectRefused(run, signIn, refusal, err);
        expect(run.provider.tokenRequests.map((r) => [r.grantType, r.outcome])).toEqual([['authorization_code', 'garbage']]);
        expect(run.provider.userinfoAuthorizations).toEqual([]);
        expect(run.upstream.requests).toEqual([]);
      });
    }
  });

  it('userinfo answers a body that is not JSON: 502 "Sign-in failed", no session, provider_error logged, nothing reaches the app', async () => {
    const run = await start({ garbage: { userinfo: NOT_JSON } });
    const signIn = await attempt(run);
    await expectRefused(
      run,
      signIn,
      PROVIDER_ERROR,
      /^GH_PROVIDER_ERROR: provider answer unusable: OAUTH_PARSE_ERROR: parsing error occured; OAUTH_PARSE_ERROR: failed to parse "response" body as JSON; /,
    );
    expect(run.provider.tokenRequests.map((r) => r.outcome)).toEqual(['issued']);
    expect(run.provider.userinfoAuthorizations).toHaveLength(1);
    expect(run.upstream.requests).toEqual([]);
  });

  describe('jwks_uri at sign-in, then good again', () => {
    const cases: ReadonlyArray<[string, GarbageAnswer, Refusal, RegExp, number]> = [
      // one fetch: a body that cannot be parsed leaves no key set behind
      [
        'a body that is not JSON',
        NOT_JSON,
        PROVIDER_ERROR,
        /^GH_PROVIDER_ERROR: provider keys unusable: ERR_JOSE_GENERIC: Failed to parse the JSON Web Key Set HTTP response as JSON; /,
        1,
      ],
      [
        'a 503',
        MAINTENANCE_503,
        PROVIDER_UNAVAILABLE,
        /^GH_PROVIDER_UNAVAILABLE: provider keys unavailable: ERR_JOSE_GENERIC: Expected 200 OK from the JSON Web Key Set HTTP response/,
        1,
      ],
      // two fetches: the empty set is cached, the unknown kid refetches it once (no cooldown), still no key
      [
        'an empty key set',
        EMPTY_KEY_SET,
        TOKEN_INVALID,
        /^GH_TOKEN_INVALID: ID token signature rejected: ERR_JWKS_NO_MATCHING_KEY: no applicable key found in the JSON Web Key Set$/,
        2,
      ],
    ];
    for (const [what, garbage, refusal, err, fetches] of cases) {
      it(`${what}: the sign-in is refused (${refusal.status}), and the next sign-in works once jwks_uri is good, without a restart`, async () => {
        const run = await start({ garbage: { jwks: garbage } });
        await expectRefused(run, await attempt(run), refusal, err);
        expect(run.provider.jwksFetches()).toBe(fetches);
        expect(run.provider.userinfoAuthorizations).toEqual([]);
        expect(run.upstream.requests).toEqual([]);

        delete run.provider.garbage.jwks;
        await expectSignedIn(run, await attempt(run));
        expect(run.provider.jwksFetches()).toBe(fetches + 1);
        expect(await metricValue(run.gatehouse, 'gatehouse_sign_ins_completed_total', { silent: 'false' })).toBe(1);
        expect(await metricValue(run.gatehouse, 'gatehouse_sign_ins_failed_total', { reason: refusal.reason })).toBe(1);
      });
    }
  });

  // 3-second tokens; refresh_before 2s: the refresh is due 2 s before the ID token's exp (which gatehouse takes as the
  // tokens' expiry: it is never later than expires_in counted from receipt).
  it('token endpoint answers garbage at refresh: the user keeps working until the tokens expire, a warn line, then the session ends', async () => {
    // Date is stopped for this test and moved by it (timers stay real; gatehouse and the provider run in this process
    // and read it): each request lands before or after the tokens' expiry exactly where the test puts it
    vi.useFakeTimers({ toFake: ['Date'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    const run = await start({ refreshTokens: true, tokenLifetime: 3 }, { refresh_before: '2s' });
    const signIn = await attempt(run);
    await expectSignedIn(run, signIn);
    const cookie = `${SESSION_COOKIE}=${signIn.client.cookie(run.url, SESSION_COOKIE) ?? ''}`;
    const expiresAt = lastIdTokenExpiry(run.provider);
    const errors = (): Promise<number> => metricValue(run.gatehouse, 'gatehouse_session_refreshes_total', { outcome: 'error' });
    run.provider.garbage.refresh = NOT_JSON;

    vi.setSystemTime(expiresAt - 2000 + 100);
    // the refresh is due and the tokens are still valid: this request goes through and starts the refresh in the background
    const due = await apiWith(`${run.url}/api/due`, cookie);
    expect(due.status).toBe(200);
    expect(headerValues(run.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['alice']);
    await waitFor(async () => (await errors()) === 1, { timeoutMs: 1500 });
    expect(run.provider.tokenRequests.map((r) => [r.grantType, r.outcome])).toEqual([
      ['authorization_code', 'issued'],
      ['refresh_token', 'garbage'],
    ]);
    const warnings = run.gatehouse.logs.filter((line) => line.msg === 'session refresh failed; the session stays valid until its tokens expire');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', sub: 'alice', tokensExpireAt: new Date(expiresAt).toISOString() });
    expect(String(warnings[0]?.err)).toMatch(
      /^provider answer unusable: OAUTH_PARSE_ERROR: parsing error occured; OAUTH_PARSE_ERROR: failed to parse "response" body as JSON; /,
    );

    // still working on the current tokens, with no new refresh attempt before they expire
    const meanwhile = await apiWith(`${run.url}/api/meanwhile`, cookie);
    expect(meanwhile.status).toBe(200);
    expect(headerValues(run.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['alice']);
    expect(decodeJwt(headerValues(run.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-gatehouse-assertion')[0] ?? '').sub).toBe('alice');
    expect(run.provider.tokenRequests).toHaveLength(2);

    vi.setSystemTime(expiresAt + 100);
    const forwarded = run.upstream.requests.length;
    const expired = await apiWith(`${run.url}/api/expired`, cookie);
    expect(expired.status).toBe(401);
    expect(JSON.parse(expired.body)).toEqual({ error: 'unauthenticated', login: '/.auth/login' });
    expect(run.provider.tokenRequests.map((r) => r.outcome)).toEqual(['issued', 'garbage', 'garbage']);
    expect(await errors()).toBe(2);
    expect(await metricValue(run.gatehouse, 'gatehouse_session_refreshes_total', { outcome: 'ok' })).toBe(0);
    const ended = run.gatehouse.logs.filter((line) => line.msg === 'session refresh failed and its tokens have expired; session ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ level: 'warn', sub: 'alice' });
    // the session is gone for good: a navigation goes to the sign-on page, nothing more reached the app
    const nav = await navigateWith(`${run.url}/page`, cookie);
    expect(nav.status).toBe(302);
    expect(nav.headers.location).toBe('/.auth/login?rd=%2Fpage');
    expect(run.upstream.requests).toHaveLength(forwarded);
    expect(run.provider.tokenRequests).toHaveLength(3);
  });
});

/** Epoch ms of the exp of the last ID token the provider issued. */
function lastIdTokenExpiry(provider: MisbehavingProvider): number {
  const idToken = provider.issued.filter((value) => value.startsWith('eyJ')).at(-1) ?? '';
  return (decodeJwt(idToken).exp as number) * 1000;
}
