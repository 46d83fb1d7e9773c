// The host trap. Sign-in cookies (pending sign-in, session) are set for public_url's host and the provider
// returns to public_url, so a sign-in begun on another name of the same listener (http://127.0.0.1:8080 opened
// while public_url is http://localhost:8080) ends in "Sign-in expired". A navigation that arrived on another host
// is therefore sent to the same path and query on public_url before any sign-in starts.
//
// The host the browser used is the Host header, or the first X-Forwarded-Host when the peer is in trust_proxy.
// A proxy in front that rewrites Host without sending X-Forwarded-Host would turn that redirect into a loop: when
// the same client asks for the same target on the same wrong host again within LOOP_WINDOW_MS, that host is taken
// as rewritten by a proxy, not redirected any more, and a warn line says how to fix the proxy.
import type { IncomingMessage } from 'node:http';
import { LRUCache } from 'lru-cache';
import proxyAddr from 'proxy-addr';
import type { Logger } from '../ops/logger.js';

const LOOP_WINDOW_MS = 10_000;
const MAX_RECENT = 1_000;
const MAX_REWRITTEN_HOSTS = 64;

export class PublicHost {
  private readonly origin: string;
  private readonly protocol: string;
  /** public_url's host as URL.host spells it: lower case, default port left out. */
  private readonly host: string;
  private readonly trusted: (address: string, hop: number) => boolean;
  private readonly recent = new LRUCache<string, true>({ max: MAX_RECENT, ttl: LOOP_WINDOW_MS });
  private readonly rewritten = new Set<string>();
  private warned = false;

  constructor(
    publicUrl: string,
    trustProxy: readonly string[],
    private readonly logger: Logger,
  ) {
    const url = new URL(publicUrl);
    this.origin = url.origin;
    this.protocol = url.protocol;
    this.host = url.host;
    this.trusted = proxyAddr.compile([...trustProxy]);
  }

  /**
   * Where to send a navigation that arrived on another host than public_url's: public_url's origin followed by
   * `target` (a path starting with `/`, with its query). Undefined when it arrived on public_url's host, when the
   * host is unknown, or when that host was seen to loop.
   */
  redirectFor(req: IncomingMessage, target: string): string | undefined {
    const seen = this.requestHost(req);
    if (seen === undefined || seen === this.host || this.rewritten.has(seen)) return undefined;
    const remote = req.socket.remoteAddress ?? '';
    const key = `${remote} ${seen} ${target}`;
    if (this.recent.has(key)) {
      this.recent.delete(key);
      if (this.rewritten.size < MAX_REWRITTEN_HOSTS) this.rewritten.add(seen);
      this.logger.warn(
        { host: seen, public_url: this.origin, remote },
        'a navigation came back on the same host after the redirect to public_url: a proxy in front rewrites Host. Requests on this host are no longer redirected; have the proxy pass the Host it received, or X-Forwarded-Host with the proxy in trust_proxy',
      );
      return undefined;
    }
    this.recent.set(key, true);
    if (!this.warned) {
      this.warned = true;
      this.logger.warn(
        { host: seen, public_url: this.origin, remote },
        `navigation on host ${seen} redirected to public_url ${this.origin}: sign-in cookies are set for public_url's host only, a sign-in begun on another host would fail (logged once). Open ${this.origin}, or set public_url to the address users open`,
      );
    }
    return `${this.origin}${target}`;
  }

  /** The host the browser asked for, as URL.host spells it; undefined when the request names none. */
  private requestHost(req: IncomingMessage): string | undefined {
    let raw: string | undefined;
    const forwarded = req.headers['x-forwarded-host'];
    if (typeof forwarded === 'string' && forwarded !== '' && this.trusted(req.socket.remoteAddress ?? '', 0)) {
      const comma = forwarded.indexOf(',');
      raw = (comma === -1 ? forwarded : forwarded.slice(0, comma)).trim();
    }
    raw ||= req.headers.host;
    if (!raw) return undefined;
    try {
      const url = new URL(`${this.protocol}//${raw}`);
      // a Host with userinfo, a path or a query is no host name: another host, whatever it parses to
      return url.username === '' && url.password === '' && url.pathname === '/' && url.search === '' && url.hash === '' ? url.host : raw.toLowerCase();
    } catch {
      return raw.toLowerCase();
    }
  }
}

/** The path and query of a navigation, for the redirect to public_url: the canonical path and the original query. */
export function targetOf(path: string, url: string | undefined): string {
  const target = url ?? '';
  const q = target.indexOf('?');
  const hash = target.indexOf('#');
  return q === -1 || (hash !== -1 && hash < q) ? path : `${path}${target.slice(q, hash > q ? hash : undefined)}`;
}
