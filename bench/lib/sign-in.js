// A real sign-in for the bench: gatehouse's /start, the dev provider's login and consent forms, the callback,
// all with plain undici requests and a small cookie jar; yields the Cookie header a signed-in browser sends.
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
 * Signs `user` in at gatehouse (`gatehouseUrl`) through the dev provider and returns the Cookie header value the
 * browser then sends to gatehouse (the session cookie and gatehouse's "returning" marker).
 * @param {{ gatehouseUrl: string, user: string, landing?: string }} options
 * @returns {Promise<string>}
 */
export async function signIn({ gatehouseUrl, user, landing = '/fixed' }) {
  const jar = new CookieJar();
  const gatehouseOrigin = new URL(gatehouseUrl).origin;
  /** @type {{ url: string, method: string, form?: Record<string, string> }} */
  let next = { url: `${gatehouseUrl}/.auth/start?rd=${encodeURIComponent(landing)}`, method: 'GET' };
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
      if (target.origin === gatehouseOrigin && target.pathname === landing) {
        const cookie = jar.header(gatehouseOrigin);
        if (!cookie.includes('gatehouse_session=')) throw new Error(`sign-in of ${user} landed without a session cookie`);
        return cookie;
      }
      next = { url: target.href, method: 'GET' };
      continue;
    }
    if (response.statusCode !== 200 || origin === gatehouseOrigin) throw new Error(`sign-in of ${user}: unexpected ${response.statusCode} at ${next.url}: ${body.slice(0, 300)}`);
    const form = providerForm(body, next.url);
    next = { url: form.action, method: 'POST', form: form.fields.prompt === 'login' ? { ...form.fields, login: user, password: 'bench' } : form.fields };
  }
  throw new Error(`sign-in of ${user} did not finish within ${MAX_STEPS} steps`);
}
