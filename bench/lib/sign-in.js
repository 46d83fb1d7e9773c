// A real sign-in for the bench: a protected URL of the app (gatehouse's /start, or any path a peer such as
// mod_auth_openidc protects), the dev provider's login and consent forms, the app's callback, all with plain undici
// requests and a small cookie jar; yields the Cookie header a signed-in browser sends.
import { URLSearchParams } from 'node:url';
import { request } from 'undici';

const MAX_STEPS = 20;

/** Cookies per origin, by name (paths ignored: every cookie of an origin is sent to every path of it). */
class CookieJar {
  /** @type {Map<string, Map<string, string>>} */
  #byOrigin = new Map();

  /** @param {string} origin @param {string | string[] | undefined} setCookie */
  store(origin, setCookie) {
    if (setCookie === undefined) return;
    let jar = this.#byOrigin.get(origin);
    if (!jar) this.#byOrigin.set(origin, (jar = new Map()));
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const removed = attributes.some((a) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(a)) || value === '';
      if (removed) jar.delete(name);
      else jar.set(name, value);
    }
  }

  /** @param {string} origin */
  header(origin) {
    const jar = this.#byOrigin.get(origin);
    return jar ? [...jar].map(([name, value]) => `${name}=${value}`).join('; ') : '';
  }
}

/** @returns {Record<string, string>} hidden inputs of the first form whose hidden `prompt` is login or consent, plus its action */
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
    'gatehouseUrl' in options ? [`${options.gatehouseUrl}/.auth/start?rd=${encodeURIComponent(landing)}`, 'gatehouse_session'] : [options.startUrl, options.sessionCookie];
  const jar = new CookieJar();
  const appOrigin = new URL(startUrl).origin;
  /** @type {{ url: string, method: string, form?: Record<string, string> }} */
  let next = { url: startUrl, method: 'GET' };
  for (let step = 0; step < MAX_STEPS; step++) {
    const origin = new URL(next.url).origin;
    /** @type {Record<string, string>} */
    const headers = { accept: 'text/html', cookie: jar.header(origin) };
    if (next.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await request(next.url, { method: next.method, headers, body: next.form ? new URLSearchParams(next.form).toString() : undefined });
    jar.store(origin, response.headers['set-cookie']);
    const body = await response.body.text();
    const location = response.headers.location;
    if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === 'string') {
      const target = new URL(location, next.url);
      if (target.origin === appOrigin && target.pathname === landing) {
        const cookie = jar.header(appOrigin);
        if (!cookie.split('; ').some((pair) => pair.startsWith(`${sessionCookie}=`))) throw new Error(`sign-in of ${user} landed without a ${sessionCookie} cookie`);
        return cookie;
      }
      next = { url: target.href, method: 'GET' };
      continue;
    }
    if (response.statusCode !== 200 || origin === appOrigin) throw new Error(`sign-in of ${user}: unexpected ${response.statusCode} at ${next.url}: ${body.slice(0, 300)}`);
    const form = providerForm(body, next.url);
    next = { url: form.action, method: 'POST', form: form.fields.prompt === 'login' ? { ...form.fields, login: user, password: 'bench' } : form.fields };
  }
  throw new Error(`sign-in of ${user} did not finish within ${MAX_STEPS} steps`);
}
