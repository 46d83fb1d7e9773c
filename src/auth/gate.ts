// The gate in cloud mode: public and local-login paths pass, a valid session gets identity headers,
// navigations go to the sign-on page, everything else unauthenticated gets 401 JSON.
// On a public path a signed-in user still gets identity headers (helpful for apps); an anonymous one passes without.
import type { IncomingMessage } from 'node:http';
import type { Config } from '../config/schema.js';
import { hasBody } from '../http/body.js';
import type { Admission, RequestContext, UpgradeContext } from './access.js';
import type { Branding } from './pages.js';
import { compilePathMatcher, type PathMatcher } from './path-matcher.js';
import { targetOf, type PublicHost } from './public-host.js';
import { isNavigation, redirect, sendNoAccessJson, sendPage, sendUnauthenticated } from './respond.js';
import type { ResolvedSession, Sessions } from './sessions.js';

const PASS: Admission = [];

export class Gate {
  private readonly publicPath: PathMatcher;
  private readonly localLoginPath: PathMatcher | undefined;
  private readonly localSessionCookie: string | undefined;
  private readonly loginUrl: string;

  constructor(
    private readonly config: Config,
    private readonly sessions: Sessions,
    private readonly branding: Branding,
    /** Sends navigations on another host to public_url before a sign-in starts (the host trap). */
    private readonly publicHost?: PublicHost,
  ) {
    this.publicPath = compilePathMatcher(config.public_paths);
    this.localLoginPath = config.local_login.enabled ? compilePathMatcher(config.local_login.paths) : undefined;
    this.localSessionCookie = config.local_login.enabled && config.local_login.session_cookie ? config.local_login.session_cookie : undefined;
    this.loginUrl = `${config.routes.prefix}/login`;
  }

  /** Requests that pass without SSO and without identity: the app's own login, its own session, preflights. */
  private passesWithoutSso(ctx: UpgradeContext): boolean {
    if (this.localLoginPath?.(ctx.path)) return true;
    if (this.localSessionCookie && ctx.cookies()[this.localSessionCookie]) return true;
    return this.config.cors_preflight === 'pass' && isCorsPreflight(ctx.req);
  }

  admit(ctx: RequestContext): Admission | Promise<Admission> {
    if (this.publicPath(ctx.path)) return this.identityIfSignedIn(ctx);
    if (this.passesWithoutSso(ctx)) return PASS;
    const resolved = this.sessions.resolve(ctx.cookies()[this.sessions.cookie.name]);
    if (resolved instanceof Promise) return resolved.then((session) => this.decide(ctx, session));
    return this.decide(ctx, resolved);
  }

  admitUpgrade(ctx: UpgradeContext): Admission | Promise<Admission> {
    if (this.publicPath(ctx.path)) return this.identityIfSignedIn(ctx);
    if (this.passesWithoutSso(ctx)) return PASS;
    const resolved = this.sessions.resolve(ctx.cookies()[this.sessions.cookie.name]);
    const decide = (session: ResolvedSession | undefined): Admission => (session && !session.denied ? session.identity : null);
    return resolved instanceof Promise ? resolved.then(decide) : decide(resolved);
  }

  /** A public path always passes: with identity headers for a valid session, without them otherwise (or when the store fails). */
  private identityIfSignedIn(ctx: UpgradeContext): Admission | Promise<Admission> {
    const cookieValue = ctx.cookies()[this.sessions.cookie.name];
    if (cookieValue === undefined) return PASS;
    const toAdmission = (session: ResolvedSession | undefined): Admission => (session && !session.denied ? session.identity : PASS);
    try {
      const resolved = this.sessions.resolve(cookieValue);
      return resolved instanceof Promise ? resolved.then(toAdmission, () => PASS) : toAdmission(resolved);
    } catch {
      return PASS;
    }
  }

  private decide(ctx: RequestContext, session: ResolvedSession | undefined): Admission {
    if (session) {
      if (!session.denied) return session.identity;
      this.noAccess(ctx, session);
      return null;
    }
    if (!isNavigation(ctx.req)) sendUnauthenticated(ctx.res, this.loginUrl);
    else redirect(ctx.res, this.publicHost?.redirectFor(ctx.req, targetOf(ctx.path, ctx.req.url)) ?? `${this.loginUrl}?rd=${encodeURIComponent(ctx.req.url ?? '/')}`);
    return null;
  }

  private noAccess(ctx: RequestContext, session: ResolvedSession): void {
    if (!isNavigation(ctx.req)) return sendNoAccessJson(ctx.res, this.config.roles.access_contact);
    const { claims } = session.record;
    sendPage(
      ctx.res,
      { kind: 'no-access', user: { sub: claims.sub, name: claims.name, email: claims.email }, accessContact: this.config.roles.access_contact || undefined, signOutUrl: `${this.config.routes.prefix}/logout` },
      this.branding,
    );
  }
}

/**
 * A real CORS preflight (Fetch standard): OPTIONS with `Origin` and `Access-Control-Request-Method`, no body and
 * no `Upgrade`. Anything else sent as OPTIONS is gated like GET.
 */
function isCorsPreflight(req: IncomingMessage): boolean {
  const headers = req.headers;
  return (
    req.method === 'OPTIONS' &&
    headers.origin !== undefined &&
    headers['access-control-request-method'] !== undefined &&
    headers.upgrade === undefined &&
    !hasBody(req)
  );
}
