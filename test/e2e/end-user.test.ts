// What an end-user meets in a real browser (Debian's chromium): the sign-on page, the provider's login and
// consent, silent re-authentication, declined consent, local login, logout, no access, the provider going down
// mid sign-in, and how gatehouse's own pages look (screenshots at phone and desktop width, branding, accessibility,
// contrast of every text).
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  beforeRequest,
  contrastRatio,
  hasChromium,
  inspectAccessibility,
  launchChromium,
  loginAtProvider,
  recordNavigations,
  screenshotPage,
  startE2eStack,
  startLogoServer,
  tabToFirstControl,
  textLines,
  VIEWPORTS,
  waitForStatus,
  type AccessibilityReport,
  type E2eStack,
  type NavigationRecord,
} from './browser.js';

const TITLE = 'Acme Reports';
const ACCENT = '#0f766e';
const ACCENT_RGB = 'rgb(15, 118, 110)';
const DEFAULT_ACCENT_RGB = 'rgb(37, 99, 235)';
const DEEP_LINK = '/reports/q3?view=summary';
const PROVIDER_BUTTON = 'Sign in with Demo provider';
const PROTECTED_MARKER = 'Signed in through gatehouse as';
/** `local_login.label` of shortStack; `stack` keeps the default "Use local account". */
const LOCAL_LABEL = 'Staff account';
const LOCAL_LINK = `/login.html?rd=${encodeURIComponent(DEEP_LINK)}`;
/** What is measured on an error page: heading, sentence, "Try again", the "Request ID:" line and the id itself. */
const ERROR_PAGE_TEXTS = ['h1', 'p', 'primary button', 'footer p', 'request id'];
/** WCAG 2 AA for normal-size text. */
const AA_CONTRAST = 4.5;

// Generous per-test time: each test drives a whole browser sign-in, and the suite shares two cores with the rest of `npm test`.
describe.skipIf(!hasChromium)('e2e (chromium missing: apt-get install -y chromium)', { timeout: 60_000 }, () => {
  let browser: Browser;
  let stack: E2eStack;
  /** Sessions that expire after 1.5 s, and the default look of the pages (a title, no logo, no accent colour). */
  let shortStack: E2eStack;
  /** Branded like `stack`; its provider is stopped in the middle of a sign-in. */
  let outageStack: E2eStack;
  let logo: Awaited<ReturnType<typeof startLogoServer>>;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    logo = await startLogoServer();
    const branded = { pages: { title: TITLE, logo_url: logo.url, accent_color: ACCENT } };
    [browser, stack, shortStack, outageStack] = await Promise.all([
      launchChromium(),
      startE2eStack(branded),
      startE2eStack({ sessionTtlMs: 1500, pages: { title: TITLE }, localLogin: { label: LOCAL_LABEL } }),
      startE2eStack(branded),
    ]);
  });

  afterAll(async () => {
    await Promise.all(contexts.map((context) => context.close()));
    await browser?.close();
    await Promise.all([stack?.close(), shortStack?.close(), outageStack?.close()]);
    await logo?.close();
  });

  async function freshPage(options: { bypassCSP?: boolean; headers?: Record<string, string> } = {}): Promise<Page> {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      bypassCSP: options.bypassCSP ?? false,
      extraHTTPHeaders: options.headers,
    });
    contexts.push(context);
    return context.newPage();
  }

  const pathOf = (url: string): string => {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  };

  /** Deep link → sign-on page → provider button → provider login (when asked) → consent → Authorize. */
  async function signInInteractively(page: Page, user: string, base = stack.url): Promise<void> {
    await page.goto(`${base}${DEEP_LINK}`);
    await page.getByRole('link', { name: PROVIDER_BUTTON }).click();
    await loginAtProvider(page, user);
    await page.getByRole('button', { name: 'Authorize' }).click();
    await page.waitForURL(`${base}${DEEP_LINK}`);
  }

  /**
   * Every text of the page reaches WCAG AA against what it is painted on; `measured` names the elements the page
   * must have been measured on (an element missing from the page would otherwise pass unmeasured).
   */
  function expectReadableContrast(report: AccessibilityReport, measured: readonly string[]): void {
    expect([...new Set(report.contrast.map((reading) => reading.element))].sort()).toEqual([...measured].sort());
    expect(report.contrast.filter((reading) => reading.ratio < AA_CONTRAST)).toEqual([]);
  }

  /** One of gatehouse's own pages: branded, accessible, readable at 375 px and 1280 px; screenshots as artifacts. */
  async function expectProductPage(page: Page, name: string, heading: string, measured: readonly string[]): Promise<void> {
    expect(await page.locator('h1').innerText()).toBe(heading);
    expect(await page.title()).toContain(TITLE);

    const report = await inspectAccessibility(page);
    expect(report.logo).toEqual({ alt: TITLE, loaded: true });
    expect(report.lang).toBe('en');
    expect(report.unnamedControls).toEqual([]);
    expect(report.imagesWithoutAlt).toBe(0);
    expect(report.primary?.background).toBe(ACCENT_RGB);
    const primary = report.primary ?? { color: '', background: '', text: '' };
    expect(contrastRatio(primary.color, primary.background)).toBeGreaterThanOrEqual(AA_CONTRAST);
    expectReadableContrast(report, measured);

    const shots = await screenshotPage(page, name);
    expect(shots.horizontalOverflow).toBe(0);

    const focus = await tabToFirstControl(page);
    expect(focus.text).toBe(primary.text);
    expect(focus.outlineStyle).not.toBe('none');
    expect(Number.parseFloat(focus.outlineWidth)).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: shots.files[1]?.replace(/\.png$/, '-focus.png') });
  }

  function shownPaths(record: NavigationRecord): Array<[string, number]> {
    return record.responses.map((response) => [pathOf(response.url), response.status]);
  }

  it('first visit to a deep link: sign-on page, provider login, consent, Authorize, lands on the deep link as the user', async () => {
    const page = await freshPage();
    const navigations = recordNavigations(page);

    const first = await page.goto(`${stack.url}${DEEP_LINK}`);
    expect(first?.status()).toBe(200);
    expect(shownPaths(navigations)).toEqual([
      [DEEP_LINK, 302],
      [`/.auth/login?rd=${encodeURIComponent(DEEP_LINK)}`, 200],
    ]);
    await expectProductPage(page, 'sign-on', `Sign in to ${TITLE}`, ['h1', 'primary button', 'p.or', 'secondary button']);
    expect(await page.getByRole('link', { name: 'Use local account' }).getAttribute('href')).toBe(LOCAL_LINK);

    await page.getByRole('link', { name: PROVIDER_BUTTON }).click();
    expect(new URL(page.url()).origin).toBe(stack.providerUrl);
    expect(await page.locator('input[name="login"]').isVisible()).toBe(true);
    await loginAtProvider(page, 'alice');

    expect(new URL(page.url()).origin).toBe(stack.providerUrl);
    expect(await page.locator('input[name="login"]').count()).toBe(0);
    await page.getByRole('button', { name: 'Authorize' }).click();

    await page.waitForURL(`${stack.url}${DEEP_LINK}`);
    const body = await page.locator('main').innerText();
    expect(body).toContain(`${PROTECTED_MARKER} Alice Example`);
    expect(body).toMatch(/X-Forwarded-User\s+alice\n/);
    expect(body).toMatch(/X-Forwarded-Email\s+alice@example\.test\n/);
    expect(body).toMatch(/X-Forwarded-Roles\s+admin\n/);
    expect(body).toContain(`Path requested: ${DEEP_LINK}`);
    expect(logo.requests()).toBeGreaterThan(0);
    expect((await screenshotPage(page, 'demo-app')).horizontalOverflow).toBe(0);
  });

  it('after the gatehouse session expired, a second visit signs in silently while the provider session lives', async () => {
    const page = await freshPage();
    // On the way in, the default look of the sign-on page: the title as text, the default accent colour.
    await page.goto(`${shortStack.url}${DEEP_LINK}`);
    expect(await page.locator('h1').innerText()).toBe(`Sign in to ${TITLE}`);
    const defaultLook = await inspectAccessibility(page);
    expect(defaultLook.primary?.background).toBe(DEFAULT_ACCENT_RGB);
    expectReadableContrast(defaultLook, ['h1', 'primary button', 'p.or', 'secondary button']);
    expect((await screenshotPage(page, 'sign-on-default-branding')).horizontalOverflow).toBe(0);
    await signInInteractively(page, 'carol', shortStack.url);
    expect(await page.locator('main').innerText()).toContain(`${PROTECTED_MARKER} Carol Ångström`);
    await waitForStatus(page, `${shortStack.url}/.auth/me`, 401);

    const navigations = recordNavigations(page);
    const second = await page.goto(`${shortStack.url}${DEEP_LINK}`);
    expect(second?.status()).toBe(200);
    expect(page.url()).toBe(`${shortStack.url}${DEEP_LINK}`);
    expect(await page.locator('main').innerText()).toContain(`${PROTECTED_MARKER} Carol Ångström`);

    // Every hop but the last was a redirect: nothing was rendered on the way.
    const hops = navigations.responses;
    expect(hops.slice(0, -1).every((hop) => hop.status >= 300 && hop.status < 400)).toBe(true);
    expect(hops.at(-1)).toEqual({ url: `${shortStack.url}${DEEP_LINK}`, status: 200 });
    expect(hops.some((hop) => hop.url.startsWith(`${shortStack.providerUrl}/auth`) && hop.url.includes('prompt=none'))).toBe(true);
    expect(hops.some((hop) => new URL(hop.url).pathname.startsWith('/interaction/'))).toBe(false);
    expect(hops.map((hop) => new URL(hop.url).pathname)).toContain('/.auth/callback');
    expect(navigations.committed).toEqual([`${shortStack.url}${DEEP_LINK}`]);
  });

  it('declining consent shows the declined page, and "Try again" signs in', async () => {
    const page = await freshPage();
    await page.goto(`${stack.url}${DEEP_LINK}`);
    await page.getByRole('link', { name: PROVIDER_BUTTON }).click();
    await loginAtProvider(page, 'carol');
    const navigations = recordNavigations(page);
    await page.getByRole('link', { name: '[ Cancel ]' }).click();

    await page.waitForURL((url) => url.pathname === '/.auth/callback');
    expect(navigations.responses.at(-1)?.status).toBe(200);
    await expectProductPage(page, 'declined', 'You declined access', ['h1', 'p', 'primary button', 'p.or', 'secondary button']);
    expect(await page.locator('main').innerText()).toContain('Nothing was shared');

    await page.getByRole('link', { name: 'Try again' }).click();
    // The provider session is alive: straight to consent, no login form.
    expect(new URL(page.url()).origin).toBe(stack.providerUrl);
    expect(await page.locator('input[name="login"]').count()).toBe(0);
    await page.getByRole('button', { name: 'Authorize' }).click();
    await page.waitForURL(`${stack.url}${DEEP_LINK}`);
    expect(await page.locator('main').innerText()).toContain(`${PROTECTED_MARKER} Carol Ångström`);
  });

  it('"Use local account" reaches the app\'s own login with the deep link, lands on it, and the app\'s own session works without SSO', async () => {
    const page = await freshPage();
    const navigations = recordNavigations(page);
    await page.goto(`${stack.url}${DEEP_LINK}`);
    await page.getByRole('link', { name: 'Use local account' }).click();
    expect(page.url()).toBe(`${stack.url}${LOCAL_LINK}`);
    expect(await page.locator('h1').innerText()).toBe('Local sign-in');

    await page.getByLabel('Username').fill('dave');
    await page.getByLabel('Password').fill('local-password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${stack.url}${DEEP_LINK}`);
    expect(await page.locator('main').innerText()).toContain('Signed in with a local account: dave');
    expect(await page.locator('main').innerText()).toContain(`Path requested: ${DEEP_LINK}`);

    const deep = await page.goto(`${stack.url}${DEEP_LINK}`);
    expect(deep?.status()).toBe(200);
    expect(page.url()).toBe(`${stack.url}${DEEP_LINK}`);
    const body = await page.locator('main').innerText();
    expect(body).toContain('Signed in with a local account: dave');
    expect(body).not.toContain(PROTECTED_MARKER);
    expect(body).toMatch(/X-Forwarded-User\s+absent\n/);
    expect(navigations.responses.some((response) => response.url.startsWith(stack.providerUrl))).toBe(false);
  });

  it('a fetch() from the signed-out page gets 401 JSON, not a redirect', async () => {
    // gatehouse's pages forbid scripts and connections by CSP; bypassing it lets this test run the page's fetch.
    const page = await freshPage({ bypassCSP: true });
    const response = await page.goto(`${stack.url}/.auth/signed-out`);
    expect(response?.status()).toBe(200);
    await expectProductPage(page, 'signed-out', 'You are signed out', ['h1', 'p', 'primary button']);

    const answer = await page.evaluate(() =>
      fetch('/api/whoami').then(async (r) => [r.status, r.headers.get('content-type'), r.redirected, await r.json()] as const),
    );
    expect(answer).toEqual([401, 'application/json', false, { error: 'unauthenticated', login: '/.auth/login' }]);
  });

  it('logout ends both sessions; going back after logout does not show protected content', async () => {
    const page = await freshPage();
    await signInInteractively(page, 'alice');
    expect(await page.locator('main').innerText()).toContain(`${PROTECTED_MARKER} Alice Example`);

    await page.getByRole('link', { name: 'Sign out', exact: true }).click();
    expect(new URL(page.url()).origin).toBe(stack.providerUrl);
    expect(await page.locator('h1').innerText()).toBe('Sign out of the development provider?');
    // gatehouse keeps the logout's state in a cookie only /.auth/signed-out receives (SameSite=Lax: sent on the way back)
    expect((await page.context().cookies(`${stack.url}/.auth/signed-out`)).map((cookie) => cookie.name)).toContain('gatehouse_signout');
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL((url) => url.origin === stack.url && url.pathname === '/.auth/signed-out' && /^[\w-]{32}$/.test(url.searchParams.get('state') ?? ''));
    expect(await page.locator('h1').innerText()).toBe('You are signed out');
    expect((await page.context().cookies(`${stack.url}/.auth/signed-out`)).map((cookie) => cookie.name)).not.toContain('gatehouse_signout');
    await waitForStatus(page, `${stack.url}/.auth/me`, 401);

    // Back through the history until the protected page is re-requested: no-store means a new request, and it is refused.
    const navigations = recordNavigations(page);
    for (let step = 0; step < 4 && !navigations.responses.some((r) => pathOf(r.url) === DEEP_LINK); step++) {
      await page.goBack();
      expect(await page.locator('body').innerText()).not.toContain(PROTECTED_MARKER);
    }
    expect(navigations.responses.filter((r) => pathOf(r.url) === DEEP_LINK)).toEqual([{ url: `${stack.url}${DEEP_LINK}`, status: 302 }]);
    expect(pathOf(page.url())).toBe(`/.auth/login?rd=${encodeURIComponent(DEEP_LINK)}`);
    expect(await page.locator('h1').innerText()).toBe(`Sign in to ${TITLE}`);

    // A new visit: the sign-on page again (not silent), and the provider asks for the password again.
    const again = recordNavigations(page);
    await page.goto(`${stack.url}${DEEP_LINK}`);
    expect(shownPaths(again)).toEqual([
      [DEEP_LINK, 302],
      [`/.auth/login?rd=${encodeURIComponent(DEEP_LINK)}`, 200],
    ]);
    await page.getByRole('link', { name: PROVIDER_BUTTON }).click();
    expect(new URL(page.url()).origin).toBe(stack.providerUrl);
    expect(await page.locator('input[name="login"]').isVisible()).toBe(true);
  });

  it('a sign-out link on another site only shows "Sign out?"; its button signs out (the session lived until then)', async () => {
    const page = await freshPage();
    await signInInteractively(page, 'alice');
    const elsewhere = 'http://elsewhere.example/';
    await page.route(`${elsewhere}**`, (route) =>
      route.fulfill({ contentType: 'text/html', body: `<!doctype html><title>Elsewhere</title><a href="${stack.url}/.auth/logout">Win a prize</a>` }),
    );
    await page.goto(elsewhere);
    const navigations = recordNavigations(page);
    await page.getByRole('link', { name: 'Win a prize' }).click();
    await page.waitForURL(`${stack.url}/.auth/logout`);
    expect(shownPaths(navigations)).toEqual([['/.auth/logout', 200]]);
    await expectProductPage(page, 'confirm-sign-out', 'Sign out?', ['h1', 'p', 'primary button', 'secondary button']);
    expect(await page.locator('main p').first().innerText()).toBe(
      `This sign-out request did not come from ${TITLE} itself. Sign out only if you meant to; otherwise you stay signed in.`,
    );
    expect((await page.request.get(`${stack.url}/.auth/me`, { headers: { accept: 'application/json' } })).status()).toBe(200);

    // The button posts from gatehouse's own (no-referrer) page: Sec-Fetch-Site same-origin, Origin null. The answer
    // redirects to the provider, which the page's CSP form-action must name: Chromium checks it on redirects too.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL((url) => url.origin === stack.providerUrl);
    expect(await page.locator('h1').innerText()).toBe('Sign out of the development provider?');
    await waitForStatus(page, `${stack.url}/.auth/me`, 401);
  });

  it('a user without an app role sees the no-access page', async () => {
    const page = await freshPage();
    const navigations = recordNavigations(page);
    await signInInteractively(page, 'bob');
    expect(navigations.responses.at(-1)).toEqual({ url: `${stack.url}${DEEP_LINK}`, status: 403 });
    await expectProductPage(page, 'no-access', "You don't have access to this app", ['h1', 'p', 'primary button']);
    const body = await page.locator('main').innerText();
    expect(body).toContain('You are signed in as Bob Example (bob@example.test).');
    expect(body).toContain('Ask the demo admin (alice) to grant you access.');
    expect(body).not.toContain(PROTECTED_MARKER);
    expect(await page.getByRole('link', { name: 'Sign out', exact: true }).getAttribute('href')).toBe('/.auth/logout');
  });

  it('an expired or forged sign-in link shows the error page with a request ID', async () => {
    const page = await freshPage();
    const response = await page.goto(`${stack.url}/.auth/callback?state=forged&code=forged`);
    expect(response?.status()).toBe(400);
    await expectProductPage(page, 'error', 'Sign-in expired', ERROR_PAGE_TEXTS);
    const body = await page.locator('main').innerText();
    expect(body).toContain('This sign-in link has expired or was already used. Please sign in again.');
    expect(body).toMatch(/Request ID: \S{6,}/);
    expect(await page.getByRole('link', { name: 'Try again' }).getAttribute('href')).toBe('/.auth/start?rd=%2F&interactive=1');
  });

  it('the provider going down before the code is exchanged shows "Sign-in is temporarily unavailable" with a request ID', async () => {
    const page = await freshPage();
    await page.goto(`${outageStack.url}${DEEP_LINK}`);
    await page.getByRole('link', { name: PROVIDER_BUTTON }).click();
    await loginAtProvider(page, 'alice');
    // The provider sends the browser back with a real code, then goes away before gatehouse can redeem it.
    await beforeRequest(page, `${outageStack.url}/.auth/callback?*`, () => outageStack.stopProvider());
    const isCallback = (url: URL): boolean => url.origin === outageStack.url && url.pathname === '/.auth/callback';
    const callback = page.waitForResponse((response) => isCallback(new URL(response.url())));
    await page.getByRole('button', { name: 'Authorize' }).click();

    const response = await callback;
    expect(response.status()).toBe(503);
    const headers = response.headers();
    expect(headers['content-type']).toBe('text/html; charset=utf-8');
    expect(headers['content-security-policy']).toContain("default-src 'none'");
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['cache-control']).toBe('no-store');

    await page.waitForURL((url) => isCallback(url));
    await expectProductPage(page, 'unavailable', 'Sign-in is temporarily unavailable', ERROR_PAGE_TEXTS);
    expect(await page.locator('main').innerText()).toContain('Signing in is not possible right now. Try again in a moment.');
    expect(await page.locator('footer').innerText()).toMatch(/^Request ID: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    // The id stays on screen at phone width, not cut off nor scrolled out sideways.
    await page.setViewportSize(VIEWPORTS.phone);
    const requestId = page.locator('footer code');
    expect(await requestId.isVisible()).toBe(true);
    const box = (await requestId.boundingBox()) ?? { x: Number.NaN, width: Number.NaN };
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(VIEWPORTS.phone.width);
    expect(await page.getByRole('link', { name: 'Try again' }).getAttribute('href')).toBe(`/.auth/start?rd=${encodeURIComponent(DEEP_LINK)}&interactive=1`);
  });
  it('the sign-on page at 375 and 1280 px names the app once and offers the local account with its configured label and the deep link', async () => {
    for (const [target, label, name] of [
      [shortStack, LOCAL_LABEL, 'sign-on-local-label'],
      [stack, 'Use local account', 'sign-on-logo'],
    ] as const) {
      const page = await freshPage();
      await page.goto(`${target.url}${DEEP_LINK}`);
      expect(await page.title()).toBe(`Sign in to ${TITLE}`);
      for (const size of Object.values(VIEWPORTS)) {
        await page.setViewportSize(size);
        const shown = await page.locator('body').innerText();
        expect(shown.split(TITLE).length - 1).toBe(1);
        expect(await page.locator('h1').innerText()).toBe(`Sign in to ${TITLE}`);
        const link = page.getByRole('link', { name: label, exact: true });
        expect(await link.getAttribute('href')).toBe(LOCAL_LINK);
        const box = (await link.boundingBox()) ?? { x: Number.NaN, width: Number.NaN };
        expect(box.x).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width).toBeLessThanOrEqual(size.width);
      }
      expect((await screenshotPage(page, name)).horizontalOverflow).toBe(0);
    }

    // At phone width, the configured link leads through the app's own login back to the deep link.
    const page = await freshPage();
    await page.setViewportSize(VIEWPORTS.phone);
    await page.goto(`${shortStack.url}${DEEP_LINK}`);
    await page.getByRole('link', { name: LOCAL_LABEL, exact: true }).click();
    expect(page.url()).toBe(`${shortStack.url}${LOCAL_LINK}`);
    await page.getByLabel('Username').fill('erin');
    await page.getByLabel('Password').fill('local-password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${shortStack.url}${DEEP_LINK}`);
    expect(await page.locator('main').innerText()).toContain('Signed in with a local account: erin');
  });

  it("opened on another name of the listener (localhost instead of public_url's 127.0.0.1), the browser is sent to public_url first and the sign-in works", async () => {
    const page = await freshPage();
    const navigations = recordNavigations(page);
    const otherName = stack.url.replace('127.0.0.1', 'localhost');
    await page.goto(`${otherName}${DEEP_LINK}`);
    expect(shownPaths(navigations).slice(0, 3)).toEqual([
      [DEEP_LINK, 302],
      [DEEP_LINK, 302],
      [`/.auth/login?rd=${encodeURIComponent(DEEP_LINK)}`, 200],
    ]);
    expect(navigations.responses.map((response) => new URL(response.url).origin)).toEqual([otherName, stack.url, stack.url]);
    await page.getByRole('link', { name: PROVIDER_BUTTON }).click();
    await loginAtProvider(page, 'alice');
    await page.getByRole('button', { name: 'Authorize' }).click();
    await page.waitForURL(`${stack.url}${DEEP_LINK}`);
    expect(await page.locator('main').innerText()).toContain(`${PROTECTED_MARKER} Alice Example`);
  });

  it('an unknown /.auth route shows the "Page not found" page to a browser, not raw JSON', async () => {
    const page = await freshPage();
    const response = await page.goto(`${stack.url}/.auth/no-such-route`);
    expect(response?.status()).toBe(404);
    expect(response?.headers()['content-type']).toBe('text/html; charset=utf-8');
    // a page without actions: branded, readable and unscrolled at both widths
    expect(await page.locator('h1').innerText()).toBe('Page not found');
    const report = await inspectAccessibility(page);
    expect(report.logo).toEqual({ alt: TITLE, loaded: true });
    expectReadableContrast(report, ['h1', 'p', 'footer p', 'request id']);
    expect((await screenshotPage(page, 'not-found')).horizontalOverflow).toBe(0);
    expect(await page.locator('main').innerText()).toContain('There is no page at this address.');
    expect(await page.locator('footer').innerText()).toMatch(/^Request ID: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('the request id on an error page stays on one line at 1280 and 375 px; a long client-sent id wraps inside the card', async () => {
    const page = await freshPage();
    expect((await page.goto(`${stack.url}/.auth/callback?state=forged&code=forged`))?.status()).toBe(400);
    expect(await page.locator('footer code').innerText()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    for (const size of Object.values(VIEWPORTS)) {
      await page.setViewportSize(size);
      const card = (await page.locator('main').boundingBox()) ?? { x: Number.NaN, width: Number.NaN };
      const lines = await textLines(page, 'footer code');
      expect(lines).toHaveLength(1);
      expect(lines[0]?.left).toBeGreaterThanOrEqual(card.x);
      expect(lines[0]?.right).toBeLessThanOrEqual(card.x + card.width);
    }
    expect((await screenshotPage(page, 'error-request-id')).horizontalOverflow).toBe(0);

    // X-Request-Id from the client is kept (up to 128 characters): too wide for a phone, it wraps inside the card.
    const longId = `trace-${'0123456789abcdef'.repeat(7)}`;
    const traced = await freshPage({ headers: { 'x-request-id': longId } });
    expect((await traced.goto(`${stack.url}/.auth/callback?state=forged&code=forged`))?.status()).toBe(400);
    expect(await traced.locator('footer code').innerText()).toBe(longId);
    await traced.setViewportSize(VIEWPORTS.phone);
    const card = (await traced.locator('main').boundingBox()) ?? { x: Number.NaN, width: Number.NaN };
    const lines = await textLines(traced, 'footer code');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) {
      expect(line.left).toBeGreaterThanOrEqual(card.x);
      expect(line.right).toBeLessThanOrEqual(card.x + card.width);
    }
    expect((await screenshotPage(traced, 'error-long-request-id')).horizontalOverflow).toBe(0);
  });
});
