// Forward-auth (`/.auth/verify`) for an ingress that asks gatehouse instead of proxying through it
// (ingress-nginx auth-url / nginx auth_request, Traefik forwardAuth, Envoy ext_authz over HTTP).
//
// The request decided is the one the ingress names: its method from `X-Forwarded-Method` / `X-Original-Method`
// (else the method of this request, as Envoy keeps it), its target from `X-Original-URL` / `X-Forwarded-Uri`,
// put in canonical form like every request gatehouse proxies (a form the canonical target refuses is 400). The
// same access rules as the gate apply, to a session or to an API client's bearer token. Without a forwarded URI
// the check is for `/`, unless access rules make the answer depend on the path: then 400 (a rule for /admin/
// must never be skipped because the ingress did not say the path).
//
// Answers: 200 with the identity headers as response headers (the same names and values gatehouse injects
// upstream, the assertion included) plus X-Auth-Request-User / -Email / -Preferred-Username / -Groups (app
// roles) in the convention of nginx auth_request users (oauth2-proxy); 403 when the rules refuse; 401 without a
// valid session (401 invalid_token for a bad bearer token). A 401 for a navigation carries the sign-on URL in
// `X-Gatehouse-Login`; with `?redirect=1` a navigation gets a 302 to it instead (for proxies that pass the auth
// answer to the browser as it is: Traefik, Envoy). nginx auth_request accepts only 2xx/401/403, hence 401.
//
// The page to return to after sign-in is read from the forwarded URI only when the peer is in trust_proxy, and
// only its path and query are used, through safeReturnPath. The sign-on URL itself is built from public_url,
// never from X-Forwarded-Host/Proto (see DESIGN: redirect URLs come from config only).
import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';
import type { AccessPolicy } from './access-rules.js';
import { verdictFor, type Authenticates, type Authentication } from './authentication.js';
import { sendForbiddenJson, sendInvalidToken } from './refusals.js';
import { canonicalTarget } from '../http/request-target.js';
import type { IdentityHeaderNames } from '../identity/headers.js';
import type { Logger } from '../ops/logger.js';
import type { RequestContext } from './access.js';
import { isNavigation, redirect, sendJson, sendUnauthenticated } from '../http/respond.js';
import { safeReturnPath } from '../authenticate/return-url.js';
import type { RouteUrls } from '../route-urls.js';

export const LOGIN_URL_HEADER = 'x-gatehouse-login';

/** Methods an ingress may use for the check (Envoy ext_authz keeps the original request's method). */
export const FORWARD_AUTH_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

const ABSOLUTE = /^https?:\/\/([^/?#]*)/i;

type OriginalTarget = { path: string; target: string } | 'refused' | undefined;

export interface ForwardAuthOptions {
  urls: RouteUrls;
  /** trust_proxy: the peers whose forwarded URI names the page to return to after sign-in. */
  trustProxy: readonly string[];
  /** The gate's access rules. */
  policy: AccessPolicy;
  /** identity.headers: the names of the identity headers, mirrored as X-Auth-Request-*. */
  identityHeaders: IdentityHeaderNames;
  /** roles.access_contact, named in a 403. */
  accessContact: string;
}

export class ForwardAuth {
  private readonly trusted: (address: string, hop: number) => boolean;
  private readonly loginPath: string;
  private readonly policy: AccessPolicy;
  private readonly auxiliary: ReadonlyArray<readonly [string, string]>;
  private untrustedWarned = false;
  private missingUriWarned = false;

  constructor(
    private readonly options: ForwardAuthOptions,
    /** The gate's authenticator: sessions, and bearer tokens when enabled. */
    private readonly authenticator: Pick<Authenticates, 'authenticate'>,
    private readonly deps: { logger: Logger },
  ) {
    this.trusted = proxyAddr.compile([...options.trustProxy]);
    this.loginPath = options.urls.path('/login');
    this.policy = options.policy;
    const names = options.identityHeaders;
    this.auxiliary = [
      [names.user, 'x-auth-request-user'],
      [names.email, 'x-auth-request-email'],
      [names.preferred_username, 'x-auth-request-preferred-username'],
      [names.roles, 'x-auth-request-groups'],
    ];
  }

  async verify(ctx: RequestContext, query: URLSearchParams): Promise<void> {
    const original = this.originalTarget(ctx.req);
    if (original === 'refused')
      return sendJson(ctx.res, 400, { error: 'bad_forwarded_uri', message: 'X-Forwarded-Uri / X-Original-URL is not a request-target gatehouse accepts' });
    if (original === undefined && this.policy.pathDependent) {
      if (!this.missingUriWarned) {
        this.missingUriWarned = true;
        this.deps.logger.warn(
          {},
          'forward-auth without X-Forwarded-Uri / X-Original-URL while access rules depend on the path: answered 400 (logged once); make the ingress send the original URI',
        );
      }
      return sendJson(ctx.res, 400, {
        error: 'forwarded_uri_missing',
        message: 'X-Forwarded-Uri or X-Original-URL is required: access rules depend on the path',
      });
    }
    const method = singleHeader(ctx.req, 'x-forwarded-method') ?? singleHeader(ctx.req, 'x-original-method') ?? ctx.req.method;
    const requirement = this.policy.requirementFor(original?.path ?? '/', method?.toUpperCase());
    let who: Authentication;
    try {
      who = await this.authenticator.authenticate(ctx.req, ctx.cookies);
    } catch (error) {
      if (requirement.kind !== 'anonymous') throw error;
      who = { kind: 'none' };
    }
    if (requirement.kind === 'anonymous') return this.allow(ctx, who.kind === 'session' || who.kind === 'bearer' ? who.identity : []);
    if (who.kind === 'bad_token') return sendInvalidToken(ctx.res, who.error);
    if (who.kind === 'session' || who.kind === 'bearer') {
      const verdict = verdictFor(requirement, who);
      if (verdict.granted) return this.allow(ctx, who.identity);
      return sendForbiddenJson(ctx.res, verdict, this.options.accessContact);
    }
    if (!isNavigation(ctx.req)) return sendUnauthenticated(ctx.res, this.loginPath);
    const signOn = this.options.urls.login(this.returnPath(ctx.req), true);
    if (query.get('redirect') === '1') return redirect(ctx.res, signOn);
    sendUnauthenticated(ctx.res, this.loginPath, { [LOGIN_URL_HEADER]: signOn });
  }

  private allow(ctx: RequestContext, identity: readonly string[]): void {
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    for (let i = 0; i + 1 < identity.length; i += 2) headers[identity[i] as string] = identity[i + 1] as string;
    for (const [name, alias] of this.auxiliary) {
      const value = headers[name];
      if (value !== undefined) headers[alias] = value;
    }
    ctx.res.writeHead(200, headers).end();
  }

  /** The target the ingress names, canonical; undefined when it names none. */
  private originalTarget(req: IncomingMessage): OriginalTarget {
    const raw = singleHeader(req, 'x-original-url') ?? singleHeader(req, 'x-forwarded-uri');
    if (raw === undefined) return undefined;
    const canonical = canonicalTarget(raw, ABSOLUTE.exec(raw)?.[1] ?? '');
    return canonical.ok ? { path: canonical.path, target: canonical.target } : 'refused';
  }

  /** The path and query to return to after sign-in, as the ingress sent it; `/` when unknown, untrusted or unsafe. */
  private returnPath(req: IncomingMessage): string {
    const original = singleHeader(req, 'x-original-url') ?? singleHeader(req, 'x-forwarded-uri');
    if (original === undefined) return '/';
    if (!this.trusted(req.socket.remoteAddress ?? '', 0)) {
      if (!this.untrustedWarned) {
        this.untrustedWarned = true;
        this.deps.logger.warn(
          { remote: req.socket.remoteAddress },
          'forward-auth: X-Original-URL / X-Forwarded-Uri from a peer outside trust_proxy ignored, users return to / after sign-in (logged once): add the ingress to trust_proxy',
        );
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
