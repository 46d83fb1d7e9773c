// gatehouse against an OpenID Provider nobody here wrote: LemonLDAP::NG 2.16 from Debian's packages (started by
// test/helpers/lemonldap.ts from test/fixtures/lemonldap/), in Chromium. Sign-in with consent, identity headers and
// the signed assertion at the app, /.auth/me, an API call without a session, a refresh that reads a role changed at the
// provider, silent re-authentication once the gatehouse session cookie is gone, and RP-initiated logout (2.16 ends its
// session but does not return to post_logout_redirect_uri: asserted as it is). Back-channel logout is skipped with the
// reason (2.16 has none). Skipped, with the reason in its title, when LemonLDAP::NG, nginx or Chromium is missing.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitUntilReady } from '../helpers/cloud-stack.js';
import { startTestGatehouse, type TestGatehouse } from '../helpers/gatehouse-process.js';
import { lemonLdapUnavailable, startLemonLdap, type LemonLdap } from '../helpers/lemonldap.js';
import { freePort } from '../helpers/ports.js';
import { apiWith, metricValue, navigateWith } from '../helpers/session-requests.js';
import { headerValues, startUpstream, type RecordingUpstream } from '../helpers/upstream.js';
import { hasChromium, launchChromium, recordNavigations } from './browser.js';
import { waitFor } from '../helpers/wait.js';

const SESSION_COOKIE = 'gatehouse_session';
const DEEP_LINK = '/reports/q3?view=summary';
const LABEL = 'LemonLDAP::NG';
const REFRESH_INTERVAL_MS = 5 * 60_000;

const unavailable = lemonLdapUnavailable() ?? (hasChromium ? undefined : 'chromium missing (apt-get install -y chromium)');

describe.skipIf(unavailable !== undefined)(`LemonLDAP::NG end to end${unavailable ? ` — skipped: ${unavailable}` : ''}`, { timeout: 60_000 }, () => {
  let llng: LemonLdap;
  let gatehouse: TestGatehouse;
  let upstream: RecordingUpstream;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let url: string;

  beforeAll(async () => {
    // gatehouse runs in this process and reads Date: the refresh test moves it past session.refresh_interval
    // (LemonLDAP::NG keeps the real time, so the tokens it issues afterwards are from gatehouse's past and still valid)
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    [upstream, browser, llng] = await Promise.all([
      startUpstream(),
      launchChromium(),
      startLemonLdap({
        redirectUri: `${url}/.auth/callback`,
        postLogoutRedirectUri: `${url}/.auth/signed-out`,
        users: { dwho: { password: 'dwho-pass', cn: 'Doctor Who', mail: 'dwho@example.test', roles: ['viewer'] } },
      }),
    ]);
    gatehouse = await startTestGatehouse({
      mode: 'cloud',
      listen: { host: '127.0.0.1', port },
      public_url: url,
      upstream: { url: upstream.url },
      sso: {
        issuer: llng.issuer,
        client_id: llng.clientId,
        client_secret: llng.clientSecret,
        // LemonLDAP::NG compares the HTTP Basic credentials without form-decoding them (RFC 6749 §2.3.1), so a secret
        // with punctuation fails there ("Wrong credentials"); in the body it is compared as sent
        client_auth: 'client_secret_post',
        scopes: ['openid', 'profile', 'email', 'offline_access'],
        // without prompt=consent LemonLDAP::NG ignores offline_access ("Offline access ignored, prompt parameter must
        // contain consent", OpenID Connect Core §11) and issues no refresh token
        extra_auth_params: { prompt: 'consent' },
        provider_label: LABEL,
      },
      session: { secrets: ['lemonldap-e2e-session-secret-0123456789abcdef'], refresh_interval: `${REFRESH_INTERVAL_MS / 1000}s` },
      roles: { claim: 'roles' },
    });
    await waitUntilReady(gatehouse);
    context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
  }, 60_000);

  afterAll(async () => {
    vi.useRealTimers();
    await context?.close();
    await browser?.close();
    await gatehouse?.shutdown();
    await llng?.stop();
    await upstream?.close();
  });

  /** The identity headers of the app's last request for `path` (the browser also asks for /favicon.ico). */
  function identityAt(path: string): Record<string, string[]> {
    const raw = upstream.requests.findLast((request) => request.url === path)?.rawHeaders ?? [];
    const names = ['x-forwarded-user', 'x-forwarded-email', 'x-forwarded-preferred-username', 'x-forwarded-name', 'x-forwarded-roles'];
    return Object.fromEntries(names.map((name) => [name, headerValues(raw, name)]));
  }

  async function sessionCookie(): Promise<string> {
    const cookie = (await context.cookies(url)).find((c) => c.name === SESSION_COOKIE);
    if (!cookie) throw new Error('no gatehouse session cookie in the browser');
    return `${SESSION_COOKIE}=${cookie.value}`;
  }

  it('signs in with LemonLDAP::NG login and consent; the app gets the identity and a verifiable assertion', async () => {
    await page.goto(`${url}${DEEP_LINK}`);
    await page.getByRole('link', { name: `Sign in with ${LABEL}` }).click({ timeout: 5000 });
    await page.waitForURL((next) => next.origin === new URL(llng.issuer).origin);
    await page.locator('input[name="user"]').fill('dwho');
    await page.locator('input[name="password"]').fill('dwho-pass');
    await page.getByRole('button', { name: 'Connect' }).click();
    // LemonLDAP::NG's consent page names the client and each scope
    await expect.poll(() => page.locator('body').innerText()).toContain('The application gatehouse end-to-end test would like to:');
    expect(await page.locator('body').innerText()).toContain('Access your account while you are offline');
    const toApp = page.waitForURL(`${url}${DEEP_LINK}`, { timeout: 15_000 });
    await page.getByRole('button', { name: 'Accept' }).click();
    await toApp.catch(async (error: unknown) => {
      throw new Error(`not back at the app: ${page.url()}\n${await page.locator('body').innerText()}\n${gatehouse.logText()}\n${llng.output()}`, {
        cause: error,
      });
    });

    expect(identityAt(DEEP_LINK)).toEqual({
      'x-forwarded-user': ['dwho'],
      'x-forwarded-email': ['dwho@example.test'],
      'x-forwarded-preferred-username': ['dwho'],
      'x-forwarded-name': ['Doctor%20Who'],
      'x-forwarded-roles': ['viewer'],
    });
    const [assertion] = headerValues(upstream.requests.findLast((request) => request.url === DEEP_LINK)?.rawHeaders ?? [], 'x-gatehouse-assertion');
    const { payload } = await jwtVerify(assertion ?? '', createRemoteJWKSet(new URL(`${url}/.auth/jwks.json`)), { issuer: url });
    expect(payload).toMatchObject({ sub: 'dwho', email: 'dwho@example.test', roles: ['viewer'] });
    expect(llng.lookups).toEqual(['dwho']);
  });

  it('/.auth/me shows the signed-in identity; an API call without the session gets 401 JSON', async () => {
    const me = await page.request.get(`${url}/.auth/me`, { headers: { accept: 'application/json' } });
    expect(me.status()).toBe(200);
    expect(await me.json()).toMatchObject({ sub: 'dwho', email: 'dwho@example.test', preferred_username: 'dwho', name: 'Doctor Who', roles: ['viewer'] });
    const anonymous = await apiWith(`${url}/api/reports`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['content-type']).toMatch(/^application\/json/);
    expect(upstream.requests.some((request) => request.url === '/api/reports')).toBe(false);
  });

  it('a refresh reads a role changed at the provider (LemonLDAP::NG looks the user up again for an offline refresh token)', async () => {
    const cookie = await sessionCookie();
    const user = llng.users.get('dwho');
    if (!user) throw new Error('no user dwho');
    user.roles = ['editor', 'viewer'];
    const before = await navigateWith(`${url}/reports/before`, cookie);
    expect(before.status).toBe(200);
    expect(identityAt('/reports/before')['x-forwarded-roles']).toEqual(['viewer']);
    const refreshed = await metricValue(gatehouse, 'gatehouse_session_refreshes_total', { outcome: 'ok' });
    vi.setSystemTime(Date.now() + REFRESH_INTERVAL_MS + 1000);
    // this request is due for a refresh: it goes on with the current identity while the refresh runs
    const due = await navigateWith(`${url}/reports/due`, cookie);
    expect(due.status).toBe(200);
    expect(identityAt('/reports/due')['x-forwarded-roles']).toEqual(['viewer']);
    await waitFor(async () => (await metricValue(gatehouse, 'gatehouse_session_refreshes_total', { outcome: 'ok' })) > refreshed, { timeoutMs: 20_000 });
    expect(llng.lookups).toEqual(['dwho', 'dwho']);
    const after = await navigateWith(`${url}/reports/after`, cookie);
    expect(after.status).toBe(200);
    expect(identityAt('/reports/after')['x-forwarded-roles']).toEqual(['editor,viewer']);
  });

  it('signs in again silently (prompt=none) once the gatehouse session is gone and LemonLDAP::NG still has one', async () => {
    await context.clearCookies({ name: SESSION_COOKIE });
    const navigations = recordNavigations(page);
    await page.goto(`${url}/reports/again`);
    expect(new URL(page.url()).pathname).toBe('/reports/again');
    const authorize = navigations.responses.map((r) => new URL(r.url)).find((u) => u.pathname === '/oauth2/authorize');
    expect(authorize?.searchParams.get('prompt')).toBe('none');
    // no page of LemonLDAP::NG or of gatehouse was shown on the way
    expect(navigations.responses.filter((r) => r.status === 200).map((r) => new URL(r.url).pathname)).toEqual(['/reports/again']);
    expect(identityAt('/reports/again')['x-forwarded-user']).toEqual(['dwho']);
    expect(gatehouse.logs.some((line) => line.msg === 'signed in' && line.silent === true)).toBe(true);
  });

  it('RP-initiated logout ends both sessions; LemonLDAP::NG 2.16 then stays on its portal instead of coming back', async () => {
    // What LemonLDAP::NG 2.16.1 does (read in its Main/Process.pm deleteSession and Main/Issuer.pm): the sign-in left
    // the issuer URL as `_url` in its lemonldappdata cookie; the end-session handler deletes the SSO session, and
    // deleteSession then redirects to that `_url` (PE_REDIRECT) before the handler reaches post_logout_redirect_uri.
    const pdata = (await context.cookies(llng.issuer)).find((c) => c.name === 'lemonldappdata');
    expect(decodeURIComponent(pdata?.value ?? '')).toContain('"_url"');
    const navigations = recordNavigations(page);
    await page.goto(`${url}/.auth/logout`);
    const endSession = navigations.responses
      .map((r) => new URL(r.url))
      .find((u) => u.origin === new URL(llng.issuer).origin && u.pathname === '/oauth2/logout');
    expect(endSession?.searchParams.get('post_logout_redirect_uri')).toBe(`${url}/.auth/signed-out`);
    expect(endSession?.searchParams.get('client_id')).toBe(llng.clientId);
    expect(endSession?.searchParams.get('id_token_hint')).toBeTruthy();
    expect(endSession?.searchParams.get('state')).toMatch(/^[\w-]{20,}$/);
    // the fixture sets oidcRPMetaDataOptionsLogoutBypassConfirm (the id_token_hint names gatehouse): no confirmation page
    expect(page.url()).toBe(`${llng.issuer}/oauth2`);
    expect(await page.locator('body').innerText()).toContain('Authentication required');
    expect(gatehouse.logs.some((line) => line.msg === 'signed out' && line.sub === 'dwho')).toBe(true);
    expect((await context.cookies(url)).map((c) => c.name)).not.toContain(SESSION_COOKIE);

    // both sessions are gone: the next visit shows gatehouse's sign-on page (no silent attempt), and LemonLDAP::NG asks
    // for the password again
    await page.goto(`${url}/reports/later`);
    await page.getByRole('link', { name: `Sign in with ${LABEL}` }).click();
    await page.waitForURL((next) => next.origin === new URL(llng.issuer).origin);
    await page.locator('input[name="password"]').waitFor();
    expect(await page.locator('body').innerText()).toContain('Authentication required');
  });

  it('back-channel logout: only when the provider supports it', async (ctx) => {
    const discovery = (await (await fetch(`${llng.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    // LemonLDAP::NG 2.16 publishes backchannel_logout_supported: false (its RP logout types are front-channel only)
    if (discovery.backchannel_logout_supported !== true)
      return ctx.skip('LemonLDAP::NG 2.16 has no back-channel logout (discovery: backchannel_logout_supported false)');
    throw new Error('this LemonLDAP::NG publishes back-channel logout: register /.auth/backchannel-logout in the fixture and test it here');
  });
});
