// Logout over real sockets: the gatehouse session ends (a replayed cookie no longer works), cookies are cleared,
// RP-initiated logout at the provider with id_token_hint, post_logout_redirect_uri and a state that /.auth/signed-out
// checks on the way back, and the provider session ends too (the next silent attempt gets login_required and falls
// back to the login form). Without a session (no ID token) gatehouse ends on its own signed-out page.
import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient, type BrowserResponse } from '../../helpers/browser-client.js';
import { CLIENT_ID, startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { logoutAtProvider, parseForms } from '../../helpers/dev-provider-flow.js';
import { sendRequest } from '../../helpers/gatehouse-process.js';

const SESSION_COOKIE = 'gatehouse_session';
const SIGNOUT_COOKIE = 'gatehouse_signout';
const MISMATCH_MSG = 'signed-out page reached without the state of the logout that led there';

function setCookieLines(response: BrowserResponse): string[] {
  return ([] as string[]).concat(response.headers['set-cookie'] ?? []);
}

describe('logout', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function expectSessionGone(cookieValue: string): Promise<void> {
    const nav = await sendRequest(`${stack.url}/app`, { headers: { accept: 'text/html', cookie: `${SESSION_COOKIE}=${cookieValue}` } });
    expect(nav.status).toBe(302);
    expect(nav.headers.location).toBe('/.auth/login?rd=%2Fapp');
    const me = await sendRequest(`${stack.url}/.auth/me`, { headers: { cookie: `${SESSION_COOKIE}=${cookieValue}` } });
    expect(me.status).toBe(401);
  }

  it('GET /.auth/logout ends the session, clears both cookies and hands over to the provider; confirming ends the provider session', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'alice', 'authorize');
    const session = client.cookie(stack.url, SESSION_COOKIE) ?? '';
    expect((await client.navigate(`${stack.url}/app`)).status).toBe(200);

    const logout = await client.navigate(`${stack.url}/.auth/logout`);
    expect(logout.status).toBe(302);
    const cookies = setCookieLines(logout);
    expect(cookies.slice(0, 2)).toEqual([
      `${SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`,
      'gatehouse_returning=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax',
    ]);
    // the state for the way back, sealed in a cookie only /.auth/signed-out receives
    expect(cookies[2]).toMatch(new RegExp(`^${SIGNOUT_COOKIE}=v1\\.[\\w-]+\\.[\\w-]+; Max-Age=600; Path=/\\.auth/signed-out; HttpOnly; SameSite=Lax$`));
    expect(cookies).toHaveLength(3);
    const endSession = new URL(logout.location ?? 'http://missing.invalid');
    expect(endSession.origin + endSession.pathname).toBe(`${stack.provider.issuer}/session/end`);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${stack.url}/.auth/signed-out`);
    expect(endSession.searchParams.get('client_id')).toBe(CLIENT_ID);
    const state = endSession.searchParams.get('state') ?? '';
    expect(state).toMatch(/^[\w-]{32}$/);
    expect(stack.gatehouse.logText()).not.toContain(state);
    const hint = decodeJwt(endSession.searchParams.get('id_token_hint') ?? '');
    expect(hint).toMatchObject({ sub: 'alice', aud: CLIENT_ID, iss: stack.provider.issuer });
    expect(client.cookie(stack.url, SESSION_COOKIE)).toBeUndefined();
    expect(client.cookie(stack.url, 'gatehouse_returning')).toBeUndefined();
    await expectSessionGone(session);

    const confirmPage = await client.follow(logout.location ?? '');
    expect(confirmPage.final.status).toBe(200);
    const back = await logoutAtProvider(client, confirmPage.final);
    expect(back.final.location).toBe(`${stack.url}/.auth/signed-out?state=${state}`);
    const landed = await client.follow(back.final.location ?? '');
    expect(landed.final.status).toBe(200);
    expect(landed.final.body).toContain('<h1>You are signed out</h1>');
    expect(landed.final.body).toContain('href="/.auth/login"');
    expect(setCookieLines(landed.final)).toEqual([`${SIGNOUT_COOKIE}=; Max-Age=0; Path=/.auth/signed-out; HttpOnly; SameSite=Lax`]);
    expect(stack.gatehouse.logs.filter((line) => line.msg === 'back from the provider logout')).toHaveLength(1);
    expect(stack.gatehouse.logs.filter((line) => line.msg === MISMATCH_MSG)).toEqual([]);

    // The provider session is gone: a silent attempt (hint planted again) gets login_required and shows the login form.
    client.jar.store(new URL(stack.url), 'gatehouse_returning=1; Path=/');
    const again = await client.follow(`${stack.url}/after`);
    expect(again.chain.some((response) => response.location?.includes('prompt=none'))).toBe(true);
    const fallback = again.chain.find((response) => new URL(response.url).pathname === '/.auth/callback');
    expect(new URL(fallback?.url ?? 'http://missing.invalid').searchParams.get('error')).toBe('login_required');
    expect(again.chain.every((response) => response.status < 400)).toBe(true);
    expect(new URL(again.final.url).origin).toBe(new URL(stack.provider.issuer).origin);
    expect(parseForms(again.final.body, again.final.url).some((form) => form.hidden.prompt === 'login')).toBe(true);
  });

  it('POST /.auth/logout ends the session the same way', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'carol', 'authorize');
    const session = client.cookie(stack.url, SESSION_COOKIE) ?? '';
    await client.navigate(`${stack.url}/app`);
    const logout = await client.navigate(`${stack.url}/.auth/logout`, { form: {} });
    expect(logout.status).toBe(302);
    expect(new URL(logout.location ?? 'http://missing.invalid').searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect(setCookieLines(logout).map((line) => line.split('=')[0])).toEqual([SESSION_COOKIE, 'gatehouse_returning', SIGNOUT_COOKIE]);
    expect(new URL(logout.location ?? 'http://missing.invalid').searchParams.get('state')).toMatch(/^[\w-]{32}$/);
    await expectSessionGone(session);
  });

  it("logout without a session (no ID token to hand over) clears the cookies and ends on gatehouse's own signed-out page", async () => {
    const client = new BrowserClient();
    const logout = await client.navigate(`${stack.url}/.auth/logout`);
    expect(logout.status).toBe(200);
    expect(logout.location).toBeUndefined();
    expect(logout.body).toContain('<h1>You are signed out</h1>');
    expect(logout.body).toContain('href="/.auth/login"');
    expect(setCookieLines(logout)).toEqual([
      `${SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`,
      'gatehouse_returning=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax',
    ]);
  });

  describe('/.auth/signed-out checks the state on the way back, and shows the page whatever it finds', () => {
    /** A signed-in browser that logged out: it holds the logout-state cookie; returns it with the state sent to the provider. */
    async function loggedOut(user: string): Promise<{ client: BrowserClient; state: string }> {
      const client = new BrowserClient();
      await stack.signIn(client, '/', user, 'authorize');
      const logout = await client.navigate(`${stack.url}/.auth/logout`);
      expect(logout.status).toBe(302);
      return { client, state: new URL(logout.location ?? 'http://missing.invalid').searchParams.get('state') ?? '' };
    }

    /** /.auth/signed-out with an X-Request-Id of its own, so the log lines of this very request can be found. */
    async function visit(client: BrowserClient, query: string): Promise<{ response: BrowserResponse; reqId: string }> {
      const reqId = randomUUID();
      return { response: await client.navigate(`${stack.url}/.auth/signed-out${query}`, { headers: { 'x-request-id': reqId } }), reqId };
    }

    function expectSignedOutPage({ response, reqId }: { response: BrowserResponse; reqId: string }, reason: string | undefined): void {
      expect(response.status).toBe(200);
      expect(response.body).toContain('<h1>You are signed out</h1>');
      const lines = stack.gatehouse.logs.filter((line) => line.msg === MISMATCH_MSG && line.reqId === reqId);
      if (reason === undefined) expect(lines).toEqual([]);
      else expect(lines.map((line) => [line.level, line.reason])).toEqual([[reason === 'state_mismatch' ? 'warn' : 'info', reason]]);
    }

    it('a wrong state: the page, a warn line, the cookie cleared (one use: the right state afterwards no longer matches)', async () => {
      const { client, state } = await loggedOut('alice');
      const wrong = await visit(client, `?state=${state.slice(0, -2)}xx`);
      expectSignedOutPage(wrong, 'state_mismatch');
      expect(setCookieLines(wrong.response)).toEqual([`${SIGNOUT_COOKIE}=; Max-Age=0; Path=/.auth/signed-out; HttpOnly; SameSite=Lax`]);
      expectSignedOutPage(await visit(client, `?state=${state}`), 'cookie_missing');
    });

    it('a provider that drops the state: the page and an info line (state_missing)', async () => {
      const { client } = await loggedOut('carol');
      expectSignedOutPage(await visit(client, ''), 'state_missing');
    });

    it('a duplicated state counts as wrong', async () => {
      const { client, state } = await loggedOut('bob');
      expectSignedOutPage(await visit(client, `?state=${state}&state=${state}`), 'state_mismatch');
    });

    it('someone merely opening the page (no state, no cookie): the page, no line', async () => {
      const plain = await visit(new BrowserClient(), '');
      expectSignedOutPage(plain, undefined);
      expect(plain.response.headers['set-cookie']).toBeUndefined();
    });
  });
});

// The memory store's recent records read back from its slab leave their tokens there until the session ends or
// they leave the recent ones (src/session/packed-session.ts): with one recent record, every user's next request
// reads their session back, and logout, which ends the session before it sends the ID token, must still send theirs.
describe('logout of a session read back from the memory store (session.hot_sessions: 1)', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack({ config: { session: { secrets: ['logout-hot-sessions-secret-0123456789'], hot_sessions: 1 } } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const hintOf = (response: BrowserResponse): string | undefined =>
    decodeJwt(new URL(response.location ?? 'http://missing.invalid').searchParams.get('id_token_hint') ?? '').sub;

  it('sends each user their own ID token, whether their record is the recent one or has left it', async () => {
    const [alice, carol, bob] = [new BrowserClient(), new BrowserClient(), new BrowserClient()];
    await stack.signIn(alice, '/', 'alice', 'authorize');
    await stack.signIn(carol, '/', 'carol', 'authorize');
    await stack.signIn(bob, '/', 'bob', 'authorize');
    for (const client of [alice, carol, bob]) expect((await client.navigate(`${stack.url}/app`)).status).toBe(200);
    // carol's and alice's records have left the recent one, bob's is it
    expect(hintOf(await carol.navigate(`${stack.url}/.auth/logout`))).toBe('carol');
    expect((await alice.navigate(`${stack.url}/app`)).status).toBe(200); // read back again: now the recent one
    expect(hintOf(await alice.navigate(`${stack.url}/.auth/logout`))).toBe('alice');
    expect(hintOf(await bob.navigate(`${stack.url}/.auth/logout`))).toBe('bob');
  });
});
