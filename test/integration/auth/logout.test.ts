// Logout over real sockets: the gatehouse session ends (a replayed cookie no longer works), cookies are cleared,
// RP-initiated logout at the provider with id_token_hint and post_logout_redirect_uri, and the provider session
// ends too (the next silent attempt gets login_required and falls back to the login form).
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient, type BrowserResponse } from '../../helpers/browser-client.js';
import { CLIENT_ID, startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { logoutAtProvider, parseForms } from '../../helpers/dev-provider-flow.js';
import { sendRequest } from '../../helpers/gatehouse-process.js';

const SESSION_COOKIE = 'gatehouse_session';

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
    expect(setCookieLines(logout)).toEqual([
      `${SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax`,
      'gatehouse_returning=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax',
    ]);
    const endSession = new URL(logout.location ?? 'http://missing.invalid');
    expect(endSession.origin + endSession.pathname).toBe(`${stack.provider.issuer}/session/end`);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${stack.url}/.auth/signed-out`);
    expect(endSession.searchParams.get('client_id')).toBe(CLIENT_ID);
    const hint = decodeJwt(endSession.searchParams.get('id_token_hint') ?? '');
    expect(hint).toMatchObject({ sub: 'alice', aud: CLIENT_ID, iss: stack.provider.issuer });
    expect(client.cookie(stack.url, SESSION_COOKIE)).toBeUndefined();
    expect(client.cookie(stack.url, 'gatehouse_returning')).toBeUndefined();
    await expectSessionGone(session);

    const confirmPage = await client.follow(logout.location ?? '');
    expect(confirmPage.final.status).toBe(200);
    const back = await logoutAtProvider(client, confirmPage.final);
    expect(back.final.location).toBe(`${stack.url}/.auth/signed-out`);
    const landed = await client.follow(back.final.location ?? '');
    expect(landed.final.status).toBe(200);
    expect(landed.final.body).toContain('<h1>You are signed out</h1>');
    expect(landed.final.body).toContain('href="/.auth/login"');

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
    expect(setCookieLines(logout).map((line) => line.split(';')[0])).toEqual([`${SESSION_COOKIE}=`, 'gatehouse_returning=']);
    await expectSessionGone(session);
  });

  it('logout without a session still clears the cookies and goes to the provider without id_token_hint', async () => {
    const client = new BrowserClient();
    const logout = await client.navigate(`${stack.url}/.auth/logout`);
    expect(logout.status).toBe(302);
    const endSession = new URL(logout.location ?? 'http://missing.invalid');
    expect(endSession.searchParams.get('id_token_hint')).toBeNull();
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${stack.url}/.auth/signed-out`);
    expect(setCookieLines(logout)).toHaveLength(2);
  });
});
