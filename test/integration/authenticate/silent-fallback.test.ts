// Issue 15 item 2: silent re-authentication never strands a user. Whatever error a provider answers a prompt=none
// attempt with (the four interaction codes, invalid_request as a provider that wants id_token_hint sends, server_error,
// access_denied, temporarily_unavailable, a code of its own), gatehouse falls back once to an interactive sign-in and
// drops the returning hint; the fallback is interactive, so a provider that refuses every attempt ends on an error
// page whose "Try again" is interactive too: no loop. Played against the misbehaving provider over real sockets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient, type BrowserResponse } from '../../helpers/browser-client.js';
import { generateSigningKey } from '../../helpers/misbehaving-provider.js';
import { startMisbehavingStack, type MisbehavingStack } from '../../helpers/misbehaving-stack.js';
import { metricValue } from '../../helpers/session-requests.js';
import { headerValues } from '../../helpers/upstream.js';

const SESSION_COOKIE = 'gatehouse_session';
const RETURNING_COOKIE = 'gatehouse_returning';
const DEEP = '/deep?q=1';
const RD = encodeURIComponent(DEEP);
const FALLBACK_MSG = 'provider refused the silent sign-in: falling back to an interactive one';
const RETURNING_CLEARED = `${RETURNING_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`;

function setCookieLines(response: BrowserResponse | undefined): string[] {
  return ([] as string[]).concat(response?.headers['set-cookie'] ?? []);
}

/** Path and query of a request on gatehouse, or `provider:<path>?prompt=<prompt>` for one at the provider. */
function step(response: BrowserResponse, provider: string): string {
  const url = new URL(response.url);
  if (url.origin === provider) return `provider:${url.pathname} prompt=${url.searchParams.get('prompt') ?? '(none)'}`;
  if (url.pathname === '/.auth/callback') return `/.auth/callback ${url.searchParams.has('code') ? 'code' : `error=${url.searchParams.get('error')}`}`;
  return `${url.pathname}${url.search}`;
}

function pendingCleared(callback: BrowserResponse | undefined): string {
  const state = new URL(callback?.url ?? 'http://missing.invalid').searchParams.get('state') ?? '';
  return `gatehouse_signin_${state.slice(0, 12)}=; Max-Age=0; Path=/.auth/; HttpOnly; SameSite=Lax`;
}

/** A browser that signed in before: it carries the returning hint, no session. */
function returningBrowser(stack: MisbehavingStack): BrowserClient {
  const client = new BrowserClient();
  client.jar.store(new URL(stack.url), `${RETURNING_COOKIE}=1; Path=/; HttpOnly; SameSite=Lax`);
  return client;
}

describe('silent re-authentication answered with an error', () => {
  let stack: MisbehavingStack;

  beforeAll(async () => {
    stack = await startMisbehavingStack({ keys: [await generateSigningKey('silent-fallback-key')] });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const cases: Array<{ error: string; description?: string; label: string }> = [
    { error: 'login_required', label: 'login_required' },
    { error: 'consent_required', label: 'consent_required' },
    { error: 'interaction_required', label: 'interaction_required' },
    { error: 'account_selection_required', label: 'account_selection_required' },
    { error: 'invalid_request', description: 'id_token mandatory', label: 'invalid_request' },
    { error: 'server_error', description: 'the provider broke', label: 'server_error' },
    { error: 'access_denied', label: 'access_denied' },
    { error: 'temporarily_unavailable', label: 'temporarily_unavailable' },
    { error: 'vendor_specific_refusal', description: 'a code no standard names', label: 'other' },
  ];

  for (const { error, description, label } of cases) {
    it(`${error}: one interactive attempt follows, the returning hint is dropped, the user lands signed in`, async () => {
      stack.provider.authorizationError = undefined;
      stack.provider.promptNoneError = { error, description };
      const provider = stack.provider.issuer;
      const client = returningBrowser(stack);
      const { chain, final } = await client.follow(`${stack.url}${DEEP}`);

      expect(chain.map((response) => step(response, provider))).toEqual([
        DEEP,
        `/.auth/login?rd=${RD}`,
        `/.auth/start?rd=${RD}`,
        'provider:/authorize prompt=none',
        `/.auth/callback error=${error}`,
        `/.auth/start?rd=${RD}&interactive=1`,
        'provider:/authorize prompt=(none)',
        '/.auth/callback code',
        DEEP,
      ]);
      expect(chain.map((response) => response.status)).toEqual([302, 302, 302, 302, 302, 302, 302, 302, 200]);
      expect(final.body).toBe('ok');
      expect(headerValues(stack.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['alice']);

      // the refusal: the pending sign-in and the returning hint are cleared together with the redirect to the interactive start
      expect(setCookieLines(chain[4])).toEqual([pendingCleared(chain[4]), RETURNING_CLEARED]);
      // the interactive callback: its pending sign-in cleared, the session set, the hint set again
      const signedIn = setCookieLines(chain[7]);
      expect(signedIn).toHaveLength(3);
      expect(signedIn[0]).toBe(pendingCleared(chain[7]));
      expect(signedIn[1]).toMatch(new RegExp(`^${SESSION_COOKIE}=\\S{20,}; Max-Age=28800; Path=/; HttpOnly; SameSite=Lax$`));
      expect(signedIn[2]).toBe(`${RETURNING_COOKIE}=1; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax`);
      expect(client.cookie(stack.url, RETURNING_COOKIE)).toBe('1');

      const reqId = chain[4]?.headers['x-request-id'];
      const line = stack.gatehouse.logs.filter((entry) => entry.msg === FALLBACK_MSG).at(-1);
      expect(line).toMatchObject({ level: 'info', silent: true, providerError: error, ...(reqId ? { reqId } : {}) });
      expect(line?.providerErrorDescription).toBe(description);
      expect(await metricValue(stack.gatehouse, 'gatehouse_silent_reauth_fallbacks_total', { error: label })).toBe(1);
    });
  }

  it('a provider that refuses every attempt: one silent try, one interactive, then the error page whose retry is interactive (no loop)', async () => {
    stack.provider.promptNoneError = undefined;
    stack.provider.authorizationError = { error: 'invalid_request', description: 'id_token mandatory' };
    const provider = stack.provider.issuer;
    const client = returningBrowser(stack);
    const { chain, final } = await client.follow(`${stack.url}/loop`);
    expect(chain.map((response) => step(response, provider))).toEqual([
      '/loop',
      '/.auth/login?rd=%2Floop',
      '/.auth/start?rd=%2Floop',
      'provider:/authorize prompt=none',
      '/.auth/callback error=invalid_request',
      '/.auth/start?rd=%2Floop&interactive=1',
      'provider:/authorize prompt=(none)',
      '/.auth/callback error=invalid_request',
    ]);
    expect(chain.map((response) => response.status)).toEqual([302, 302, 302, 302, 302, 302, 302, 502]);
    expect(final.body).toContain('Sign-in failed');
    expect(final.body).toContain('href="/.auth/start?rd=%2Floop&amp;interactive=1"');
    expect(final.body).not.toContain('/.auth/login');
    expect(setCookieLines(final)).toEqual([pendingCleared(final)]);
    expect(client.cookie(stack.url, RETURNING_COOKIE)).toBeUndefined();
    expect(client.cookie(stack.url, SESSION_COOKIE)).toBeUndefined();
    const failure = stack.gatehouse.logs.filter((entry) => entry.msg === 'provider answered the sign-in with an error').at(-1);
    expect(failure).toMatchObject({ level: 'warn', silent: false, providerError: 'invalid_request', providerErrorDescription: 'id_token mandatory' });

    // "Try again": interactive again, never prompt=none, and the same page (the user is not sent round in circles)
    const retry = await client.follow(`${stack.url}/.auth/start?rd=%2Floop&interactive=1`);
    expect(retry.chain.map((response) => step(response, provider))).toEqual([
      '/.auth/start?rd=%2Floop&interactive=1',
      'provider:/authorize prompt=(none)',
      '/.auth/callback error=invalid_request',
    ]);
    expect(retry.final.status).toBe(502);
  });

  it('the login page without the hint shows the sign-on page after a failed silent attempt (the next visit is not silent)', async () => {
    stack.provider.authorizationError = { error: 'server_error' };
    const client = returningBrowser(stack);
    await client.follow(`${stack.url}/next`);
    expect(client.cookie(stack.url, RETURNING_COOKIE)).toBeUndefined();
    const again = await client.navigate(`${stack.url}/.auth/login?rd=%2Fnext`);
    expect(again.status).toBe(200);
    expect(again.body).toContain('href="/.auth/start?rd=%2Fnext&amp;interactive=1"');
  });

  it('a silent attempt whose code exchange fails also drops the hint, and its retry is interactive', async () => {
    stack.provider.authorizationError = undefined;
    stack.provider.promptNoneError = undefined;
    stack.provider.garbage.token = { status: 200, contentType: 'text/html', body: '<html>maintenance</html>' };
    try {
      const provider = stack.provider.issuer;
      const client = returningBrowser(stack);
      const { chain, final } = await client.follow(`${stack.url}/exchange`);
      expect(chain.map((response) => step(response, provider))).toEqual([
        '/exchange',
        '/.auth/login?rd=%2Fexchange',
        '/.auth/start?rd=%2Fexchange',
        'provider:/authorize prompt=none',
        '/.auth/callback code',
      ]);
      expect(final.status).toBe(502);
      expect(setCookieLines(final)).toEqual([pendingCleared(final), RETURNING_CLEARED]);
      expect(final.body).toContain('href="/.auth/start?rd=%2Fexchange&amp;interactive=1"');
      expect(stack.gatehouse.logs.filter((entry) => entry.msg === 'sign-in failed').at(-1)).toMatchObject({ silent: true, reason: 'provider_error' });
    } finally {
      delete stack.provider.garbage.token;
    }
  });

  it('the logged error_description is printable, capped and carries no token-like value', async () => {
    const token = `eyJhbGciOiJSUzI1NiJ9.${'A'.repeat(60)}.${'b'.repeat(40)}`;
    const hostile = `bad\r\nforged: line ${token} ${'lorem '.repeat(80)}`;
    stack.provider.authorizationError = undefined;
    stack.provider.promptNoneError = { error: 'invalid_request', description: hostile };
    const client = returningBrowser(stack);
    const { final } = await client.follow(`${stack.url}/sanitized`);
    expect(final.body).toBe('ok');
    const line = stack.gatehouse.logs.filter((entry) => entry.msg === FALLBACK_MSG).at(-1);
    const logged = String(line?.providerErrorDescription);
    expect(logged).toBe(`${`bad??forged: line [redacted] ${'lorem '.repeat(80)}`.slice(0, 200)}…`);
    expect(stack.gatehouse.logText()).not.toContain(token.slice(0, 40));
    expect(stack.gatehouse.logText()).not.toContain('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
  });
});
