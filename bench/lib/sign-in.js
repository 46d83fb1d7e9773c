// A real sign-in for the bench and the soak script: a protected URL of the app (gatehouse's /start, or any path a peer
// such as mod_auth_openidc protects), the dev provider's login and consent forms, the app's callback, all through the
// tests' browser client (test/helpers/browser-client.js); yields the Cookie header a signed-in browser sends to the app.
import { BrowserClient } from '../../test/helpers/browser-client.js';

const MAX_STEPS = 20;

/** @returns {{ action: string, fields: Record<string, string> }} hidden inputs of the first form whose hidden `prompt` is login or consent, plus its action */
function providerForm(html, baseUrl) {
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const action = /action="([^"]*)"/i.exec(match[1] ?? '')?.[1];
    /** @type {Record<string, string>} */
    const fields = {};
    for (const input of (match[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
      const attributes = input[1] ?? '';
      if (!/type="hidden"/i.test(attributes)) continue;
      const name = /name="([^"]*)"/i.exec(attributes)?.[1];
      if (name !== undefined) fields[name] = /value="([^"]*)"/i.exec(attributes)?.[1] ?? '';
    }
    if (action !== undefined && (fields.prompt === 'login' || fields.prompt === 'consent')) return { action: new URL(action, baseUrl).href, fields };
  }
  throw new Error(`no login or consent form at ${baseUrl}: ${html.slice(0, 300)}`);
}

/** @param {string | string[] | undefined} setCookie */
function cookieNames(setCookie) {
  return [setCookie ?? []].flat().map((line) => line.slice(0, line.indexOf('=')).trim());
}

/**
 * Signs `user` in through the dev provider and returns the Cookie header value the browser then sends to the app.
 * Either `gatehouseUrl` (starts at gatehouse's /.auth/start, expects its gatehouse_session cookie) or `startUrl`
 * (any protected URL of the app; `sessionCookie` names the cookie the app sets once signed in).
 * Done when the app redirects to `landing` on its own origin.
 * @param {{ user: string, landing?: string } & ({ gatehouseUrl: string } | { startUrl: string, sessionCookie: string })} options
 * @returns {Promise<string>}
 */
export async function signIn(options) {
  const { user, landing = '/fixed' } = options;
  const [startUrl, sessionCookie] =
    'gatehouseUrl' in options
      ? [`${options.gatehouseUrl}/.auth/start?rd=${encodeURIComponent(landing)}`, 'gatehouse_session']
      : [options.startUrl, options.sessionCookie];
  const appOrigin = new URL(startUrl).origin;
  // the jar is port-agnostic like a browser's, so on 127.0.0.1 it holds the provider's cookies too: only the app's are sent on
  const appCookies = new Set();
  const browser = new BrowserClient();
  try {
    /** @type {{ url: string, init: import('../../test/helpers/browser-client.js').BrowserRequestInit }} */
    let next = { url: startUrl, init: {} };
    for (let step = 0; step < MAX_STEPS; step++) {
      const response = await browser.navigate(next.url, next.init);
      const origin = new URL(response.url).origin;
      if (origin === appOrigin) for (const name of cookieNames(response.headers['set-cookie'])) appCookies.add(name);
      if (response.status >= 300 && response.status < 400 && response.location) {
        const target = new URL(response.location);
        if (target.origin === appOrigin && target.pathname === landing) {
          const cookies = browser.jar.matching(target).filter((cookie) => appCookies.has(cookie.name));
          if (!cookies.some((cookie) => cookie.name === sessionCookie)) throw new Error(`sign-in of ${user} landed without a ${sessionCookie} cookie`);
          return cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
        }
        next = { url: target.href, init: {} };
        continue;
      }
      if (response.status !== 200 || origin === appOrigin)
        throw new Error(`sign-in of ${user}: unexpected ${response.status} at ${next.url}: ${response.body.slice(0, 300)}`);
      const form = providerForm(response.body, response.url);
      next = { url: form.action, init: { form: form.fields.prompt === 'login' ? { ...form.fields, login: user, password: 'bench' } : form.fields } };
    }
    throw new Error(`sign-in of ${user} did not finish within ${MAX_STEPS} steps`);
  } finally {
    await browser.close();
  }
}
