// A browser-like HTTP client for tests: navigations that look like a browser's (Accept: text/html,
// Sec-Fetch-*), page-initiated API calls that look like fetch(), redirects followed across origins,
// and a cookie jar with RFC 6265 semantics (host-scoped, port-agnostic, like real browsers). The one cookie-jar client
// of the tests, the bench and the soak script: plain JavaScript (types in browser-client.d.ts) so that node runs it directly.

import { URL, URLSearchParams } from 'node:url';
import { Agent, request } from 'undici';

const NAVIGATION_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) gatehouse-test-browser/1.0';
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export class CookieJar {
  /** @type {import('./browser-client.js').StoredCookie[]} */
  #cookies = [];
  #now;

  /** @param {() => number} [now] */
  constructor(now = Date.now) {
    this.#now = now;
  }

  /** Stores the Set-Cookie headers of a response from `url`. @param {URL} url @param {string | string[] | undefined} setCookie */
  store(url, setCookie) {
    for (const line of setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const cookie = this.#parse(url, line);
      if (!cookie) continue;
      this.#cookies = this.#cookies.filter((c) => !(c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path));
      if (cookie.expiresAt === undefined || cookie.expiresAt > this.#now()) this.#cookies.push(cookie);
    }
  }

  /** The cookies a request to `url` carries, longest path first. @param {URL} url */
  matching(url) {
    this.#cookies = this.#cookies.filter((c) => c.expiresAt === undefined || c.expiresAt > this.#now());
    return this.#cookies
      .filter((c) => domainMatches(url.hostname, c) && pathMatches(url.pathname, c.path))
      .filter((c) => !c.secure || isSecureContext(url))
      .sort((a, b) => b.path.length - a.path.length);
  }

  /** @param {URL} url */
  header(url) {
    const cookies = this.matching(url);
    return cookies.length ? cookies.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  /** @param {URL} url @param {string} name */
  get(url, name) {
    return this.matching(url).find((c) => c.name === name)?.value;
  }

  all() {
    return this.#cookies.filter((c) => c.expiresAt === undefined || c.expiresAt > this.#now());
  }

  clear() {
    this.#cookies = [];
  }

  /** @param {URL} url @param {string} line */
  #parse(url, line) {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return undefined;
    /** @type {import('./browser-client.js').StoredCookie} */
    const cookie = {
      name: pair.slice(0, eq).trim(),
      value: pair.slice(eq + 1).trim(),
      domain: url.hostname,
      hostOnly: true,
      path: defaultPath(url),
      secure: false,
      httpOnly: false,
    };
    let maxAge;
    let expires;
    for (const attribute of attributes) {
      const sep = attribute.indexOf('=');
      const key = (sep < 0 ? attribute : attribute.slice(0, sep)).trim().toLowerCase();
      const value = sep < 0 ? '' : attribute.slice(sep + 1).trim();
      if (key === 'max-age' && /^-?\d+$/.test(value)) maxAge = Number(value);
      else if (key === 'expires' && !Number.isNaN(Date.parse(value))) expires = Date.parse(value);
      else if (key === 'path' && value.startsWith('/')) cookie.path = value;
      else if (key === 'secure') cookie.secure = true;
      else if (key === 'httponly') cookie.httpOnly = true;
      else if (key === 'samesite') cookie.sameSite = value.toLowerCase();
      else if (key === 'domain' && value) {
        const domain = value.replace(/^\./, '').toLowerCase();
        if (url.hostname !== domain && (isIpHost(url.hostname) || !url.hostname.endsWith(`.${domain}`))) return undefined;
        cookie.domain = domain;
        cookie.hostOnly = false;
      }
    }
    if (maxAge !== undefined) cookie.expiresAt = maxAge <= 0 ? 0 : this.#now() + maxAge * 1000;
    else if (expires !== undefined) cookie.expiresAt = expires;
    if (cookie.secure && !isSecureContext(url)) return undefined;
    if (cookie.name.startsWith('__Secure-') && !cookie.secure) return undefined;
    if (cookie.name.startsWith('__Host-') && (!cookie.secure || !cookie.hostOnly || cookie.path !== '/')) return undefined;
    return cookie;
  }
}

export class BrowserClient {
  /** The document shown last (the last navigation that was not a redirect): the initiator of what follows. */
  currentUrl;
  #agent = new Agent({ connect: { timeout: 5_000 } });

  /** @param {{ now?: () => number }} [opts] */
  constructor(opts = {}) {
    this.jar = new CookieJar(opts.now);
  }

  /** One navigation request (no redirect followed). */
  async navigate(url, init = {}) {
    const target = new URL(url);
    const response = await this.#send(target, init, {
      accept: NAVIGATION_ACCEPT,
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'document',
      'sec-fetch-site': fetchSite(this.currentUrl, target),
    });
    if (response.status < 300 || response.status >= 400 || !response.location) this.currentUrl = target;
    return response;
  }

  /**
   * Navigates and follows redirects across origins (303, and 301/302 after POST, turn into GET).
   * Each hop's Sec-Fetch-Site compares the hop with the document that started the walk.
   */
  async follow(url, init = {}, opts = {}) {
    const maxRedirects = opts.maxRedirects ?? 20;
    const chain = [];
    let next = url;
    let nextInit = init;
    for (;;) {
      const response = await this.navigate(next, nextInit);
      chain.push(response);
      if (response.status < 300 || response.status >= 400 || !response.location) return { final: response, chain };
      if (opts.stopAt?.(new URL(response.location))) return { final: response, chain };
      if (chain.length > maxRedirects) throw new Error(`more than ${maxRedirects} redirects from ${url}`);
      const keepsMethod = response.status === 307 || response.status === 308;
      next = response.location;
      nextInit = keepsMethod ? nextInit : { headers: nextInit.headers };
    }
  }

  /** A request as fetch() from the current page would make it; one request, redirects not followed. */
  async api(url, init = {}) {
    const target = new URL(url);
    const site = fetchSite(this.currentUrl, target);
    const headers = {
      accept: 'application/json',
      'sec-fetch-mode': 'cors',
      'sec-fetch-dest': 'empty',
      'sec-fetch-site': site,
    };
    return this.#send(target, init, headers, site !== 'same-origin');
  }

  /** The value of cookie `name` that a request to `origin` would carry. */
  cookie(origin, name) {
    return this.jar.get(new URL(origin), name);
  }

  async close() {
    await this.#agent.close();
  }

  /**
   * @param {URL} target
   * @param {import('./browser-client.js').BrowserRequestInit} init
   * @param {Record<string, string>} fetchHeaders
   */
  async #send(target, init, fetchHeaders, alwaysSendOrigin = false) {
    const method = (init.method ?? (init.form || init.json !== undefined ? 'POST' : 'GET')).toUpperCase();
    /** @type {Record<string, string>} */
    const headers = { 'user-agent': USER_AGENT, 'accept-language': 'en', ...fetchHeaders };
    let body;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers['content-type'] = 'application/json';
    }
    if (alwaysSendOrigin || (method !== 'GET' && method !== 'HEAD')) {
      headers.origin = (this.currentUrl ?? target).origin;
    }
    const cookie = this.jar.header(target);
    if (cookie) headers.cookie = cookie;
    for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;

    const res = await request(target, { method, headers, body, dispatcher: this.#agent });
    const text = await res.body.text();
    this.jar.store(target, res.headers['set-cookie']);
    const location = res.headers.location;
    return {
      status: res.statusCode,
      url: target.href,
      headers: res.headers,
      body: text,
      ...(typeof location === 'string' ? { location: new URL(location, target).href } : {}),
    };
  }
}

/** @param {URL | undefined} initiator @param {URL} target @returns {'none' | 'same-origin' | 'same-site' | 'cross-site'} */
function fetchSite(initiator, target) {
  if (!initiator) return 'none';
  if (initiator.origin === target.origin) return 'same-origin';
  return initiator.protocol === target.protocol && siteOf(initiator) === siteOf(target) ? 'same-site' : 'cross-site';
}

/** Approximates the registrable domain with the last two labels; IP hosts are their own site. */
function siteOf(url) {
  if (isIpHost(url.hostname)) return url.hostname;
  return url.hostname.split('.').slice(-2).join('.');
}

function isIpHost(host) {
  return host.startsWith('[') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

/** Browsers treat loopback hosts as secure contexts, so Secure cookies work on http://127.0.0.1. */
function isSecureContext(url) {
  return url.protocol === 'https:' || LOOPBACK_HOSTS.has(url.hostname);
}

function domainMatches(host, cookie) {
  if (cookie.hostOnly) return host === cookie.domain;
  return host === cookie.domain || (!isIpHost(host) && host.endsWith(`.${cookie.domain}`));
}

function pathMatches(requestPath, cookiePath) {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

function defaultPath(url) {
  const path = url.pathname;
  const lastSlash = path.lastIndexOf('/');
  return lastSlash <= 0 ? '/' : path.slice(0, lastSlash);
}
