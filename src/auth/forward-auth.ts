// Forward-auth (`/.auth/verify`) for an ingress that asks gatehouse instead of proxying through it
// (ingress-nginx auth-url / nginx auth_request, Traefik forwardAuth, Envoy ext_authz over HTTP).
//
// Answers: 200 with the identity headers as response headers (the same names and values gatehouse
// injects upstream, the assertion included); 403 when roles.required and the user has no app role;
// 401 without a valid session. A 401 for a navigation carries the sign-on URL in `X-Gatehouse-Login`;
// with `?redirect=1` a navigation gets a 302 to it instead (for proxies that pass the auth answer to the
// browser as it is: Traefik, Envoy). nginx auth_request accepts only 2xx/401/403, hence 401 by default.
//
// The page the user wanted comes from `X-Original-URL` (ingress-nginx) or `X-Forwarded-Uri` (Traefik), read
// only from a peer in trust_proxy, and only its path and query are used, through safeReturnPath. The sign-on
// URL itself is built from public_url, never from X-Forwarded-Host/Proto (see DESIGN: redirect URLs come
// from config only).
import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import type { RequestContext } from './access.js';
import { isNavigation, redirect, sendNoAccessJson, sendUnauthenticated } from './respond.js';
import { safeReturnPath } from './return-url.js';
import type { Sessions } from './sessions.js';

export const LOGIN_URL_HEADER = 'x-gatehouse-login';

/** Methods an ingress may use for the check (Envoy ext_authz keeps the original request's method). */
export const FORWARD_AUTH_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export class ForwardAuth {
  private readonly trusted: (address: string, hop: number) => boolean;
  private readonly loginUrl: string;
  private untrustedWarned = false;

  constructor(
    private readonly config: Config,
    private readonly sessions: Sessions,
    private readonly deps: { logger: Logger },
  ) {
    this.trusted = proxyAddr.compile(config.trust_proxy);
    this.loginUrl = new URL(`${config.routes.prefix}/login`, config.public_url).href;
  }

  async verify(ctx: RequestContext, query: URLSearchParams): Promise<void> {
    const session = await this.sessions.resolve(ctx.cookies()[this.sessions.cookie.name]);
    if (session && !session.denied) {
      const headers: Record<string, string> = { 'cache-control': 'no-store' };
      const identity = session.identity;
      for (let i = 0; i + 1 < identity.length; i += 2) headers[identity[i] as string] = identity[i + 1] as string;
      ctx.res.writeHead(200, headers).end();
      return;
    }
    if (session) return sendNoAccessJson(ctx.res, this.config.roles.access_contact);
    const loginPath = `${this.config.routes.prefix}/login`;
    if (!isNavigation(ctx.req)) return sendUnauthenticated(ctx.res, loginPath);
    const signOn = `${this.loginUrl}?rd=${encodeURIComponent(this.originalPath(ctx.req))}`;
    if (query.get('redirect') === '1') return redirect(ctx.res, signOn);
    sendUnauthenticated(ctx.res, loginPath, { [LOGIN_URL_HEADER]: signOn });
  }

  /** The path and query the user asked for at the ingress; `/` when unknown, untrusted or unsafe. */
  private originalPath(req: IncomingMessage): string {
    const original = singleHeader(req, 'x-original-url') ?? singleHeader(req, 'x-forwarded-uri');
    if (original === undefined) return '/';
    if (!this.trusted(req.socket.remoteAddress ?? '', 0)) {
      if (!this.untrustedWarned) {
        this.untrustedWarned = true;
        this.deps.logger.warn({ remote: req.socket.remoteAddress }, 'forward-auth: X-Original-URL / X-Forwarded-Uri from a peer outside trust_proxy ignored, users return to / after sign-in (logged once): add the ingress to trust_proxy');
      }
      return '/';
    }
    if (original.startsWith('/')) return safeReturnPath(original);
    try {
      const url = new URL(original);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return '/';
      return safeReturnPath(url.pathname + url.search);
    } catch {
      return '/';
    }
  }
}

function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
