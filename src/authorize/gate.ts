// The gate in cloud mode: the access rules decide per request (src/authorize/access-rules.ts). Anonymous paths pass
// (with identity headers when the sender is signed in), local-login paths pass without SSO, a session or an API
// client's bearer token gets identity headers when its rule allows it, a refused one the 403 page or JSON,
// navigations without a session go to the sign-on page, other unauthenticated requests get 401 JSON.
import type { IncomingMessage } from 'node:http';
import { AccessPolicy, decide, describeRequirement, type Requirement, type Verdict } from './access-rules.js';
import type { Authentication, Authenticator } from './authentication.js';
import { sendForbiddenJson, sendInvalidToken } from './refusals.js';
import type { Config } from '../config/schema.js';
import { hasBody } from '../http/body.js';
import type { Admission, RequestContext, UpgradeAdmission, UpgradeContext } from './access.js';
import type { Branding } from '../pages/render.js';
import { compilePathMatcher, type PathMatcher } from './path-matcher.js';
import { targetOf, type PublicHost } from '../http/public-host.js';
import { isNavigation, redirect, sendPage, sendUnauthenticated } from '../http/respond.js';

const PASS: Admission = [];
const REFUSE_UNAUTHENTICATED: UpgradeAdmission = Object.freeze({ kind: 'refuse', status: 401 });
const REFUSE_FORBIDDEN: UpgradeAdmission = Object.freeze({ kind: 'refuse', status: 403 });
const forwardUpgrade = (identity: Admission): UpgradeAdmission => ({ kind: 'forward', identity: identity ?? PASS });

export class Gate {
  private readonly policy: AccessPolicy;
  private readonly localLoginPath: PathMatcher | undefined;
  private readonly localSessionCookie: string | undefined;
  private readonly loginUrl: string;
  /** With bearer on, a 401 also names the Bearer scheme (RFC 6750 §3), so an API client knows a token is accepted. */
  private readonly challenge: Record<string, string>;

  constructor(
    private readonly config: Config,
    private readonly authenticator: Authenticator,
    private readonly branding: Branding,
    /** Sends navigations on another host to public_url before a sign-in starts (the host trap). */
    private readonly publicHost?: PublicHost,
  ) {
    this.policy = new AccessPolicy(config);
    this.localLoginPath = config.local_login.enabled ? compilePathMatcher(config.local_login.paths) : undefined;
    this.localSessionCookie = config.local_login.enabled && config.local_login.session_cookie ? config.local_login.session_cookie : undefined;
    this.loginUrl = `${config.routes.prefix}/login`;
    this.challenge = config.bearer.enabled ? { 'www-authenticate': `Session realm="gatehouse", login_url="${this.loginUrl}", Bearer realm="gatehouse"` } : {};
  }

  /** Requests that pass without SSO and without identity: the app's own login, its own session, preflights. */
  private passesWithoutSso(ctx: UpgradeContext): boolean {
    if (this.localLoginPath?.(ctx.path)) return true;
    if (this.localSessionCookie && ctx.cookies()[this.localSessionCookie]) return true;
    return this.config.cors_preflight === 'pass' && isCorsPreflight(ctx.req);
  }

  admit(ctx: RequestContext): Admission | Promise<Admission> {
    const requirement = this.policy.requirementFor(ctx.path, ctx.req.method);
    if (requirement.kind === 'anonymous') return this.identityIfSignedIn(ctx);
    if (this.passesWithoutSso(ctx)) return PASS;
    const authenticated = this.authenticator.authenticate(ctx.req, ctx.cookies);
    if (authenticated instanceof Promise) return authenticated.then((who) => this.decide(ctx, requirement, who));
    return this.decide(ctx, requirement, authenticated);
  }

  admitUpgrade(ctx: UpgradeContext): UpgradeAdmission | Promise<UpgradeAdmission> {
    const requirement = this.policy.requirementFor(ctx.path, ctx.req.method);
    if (requirement.kind === 'anonymous') {
      const identity = this.identityIfSignedIn(ctx);
      return identity instanceof Promise ? identity.then(forwardUpgrade) : forwardUpgrade(identity);
    }
    if (this.passesWithoutSso(ctx)) return forwardUpgrade(PASS);
    const decideUpgrade = (who: Authentication): UpgradeAdmission => {
      if (who.kind !== 'session' && who.kind !== 'bearer') return REFUSE_UNAUTHENTICATED;
      return decide(requirement, who.subject).granted ? forwardUpgrade(who.identity) : REFUSE_FORBIDDEN;
    };
    const authenticated = this.authenticator.authenticate(ctx.req, ctx.cookies);
    return authenticated instanceof Promise ? authenticated.then(decideUpgrade) : decideUpgrade(authenticated);
  }

  /** An anonymous path always passes: with identity headers for a valid session or token, without them otherwise (or when the store fails). */
  private identityIfSignedIn(ctx: UpgradeContext): Admission | Promise<Admission> {
    if (ctx.req.headers.authorization === undefined && ctx.cookies()[this.authenticator.cookieName] === undefined) return PASS;
    const toAdmission = (who: Authentication): Admission => (who.kind === 'session' || who.kind === 'bearer' ? who.identity : PASS);
    try {
      const authenticated = this.authenticator.authenticate(ctx.req, ctx.cookies);
      return authenticated instanceof Promise ? authenticated.then(toAdmission, () => PASS) : toAdmission(authenticated);
    } catch {
      return PASS;
    }
  }

  private decide(ctx: RequestContext, requirement: Requirement, who: Authentication): Admission {
    switch (who.kind) {
      case 'bad_token':
        sendInvalidToken(ctx.res, who.error);
        return null;
      case 'bearer': {
        const verdict = decide(requirement, who.subject);
        if (verdict.granted) return who.identity;
        sendForbiddenJson(ctx.res, verdict, this.config.roles.access_contact);
        return null;
      }
      case 'session': {
        const verdict = decide(requirement, who.subject);
        if (verdict.granted) return who.identity;
        this.noAccess(ctx, who, verdict);
        return null;
      }
      case 'none':
        if (!isNavigation(ctx.req)) sendUnauthenticated(ctx.res, this.loginUrl, this.challenge);
        else redirect(ctx.res, this.publicHost?.redirectFor(ctx.req, targetOf(ctx.path, ctx.req.url)) ?? `${this.loginUrl}?rd=${encodeURIComponent(ctx.req.url ?? '/')}`);
        return null;
    }
  }

  private noAccess(ctx: RequestContext, who: Extract<Authentication, { kind: 'session' }>, verdict: Extract<Verdict, { granted: false }>): void {
    if (!isNavigation(ctx.req)) return sendForbiddenJson(ctx.res, verdict, this.config.roles.access_contact);
    const { claims } = who.session.record;
    sendPage(
      ctx.res,
      {
        kind: 'no-access',
        user: { sub: claims.sub, name: claims.name, email: claims.email },
        accessContact: this.config.roles.access_contact || undefined,
        signOutUrl: `${this.config.routes.prefix}/logout`,
        missing: verdict.code === 'forbidden' ? describeRequirement(verdict.requirement) : undefined,
      },
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
