// The gate in cloud mode: the access rules decide per request (src/authorize/access-rules.ts). Anonymous paths pass
// (with identity headers when the sender is signed in), local-login paths pass without SSO, a session or an API
// client's bearer token gets identity headers when its rule allows it, a refused one the 403 page or JSON,
// navigations without a session go to the sign-on page, other unauthenticated requests get 401 JSON.
import type { IncomingMessage } from 'node:http';
import { describeRequirement, type AccessPolicy, type Requirement, type Verdict } from './access-rules.js';
import { verdictFor, type Authenticates, type Authentication, type SignedIn } from './authentication.js';
import { sendForbiddenJson, sendInvalidToken } from './refusals.js';
import { hasBody } from '../http/body.js';
import {
  ANSWERED,
  FORWARD_WITHOUT_IDENTITY,
  type Forward,
  type RequestAdmission,
  type RequestContext,
  type UpgradeAdmission,
  type UpgradeContext,
} from './access.js';
import { isPromise, type MaybePromise } from '../maybe-promise.js';
import type { Branding } from '../pages/render.js';
import type { RouteUrls } from '../route-urls.js';
import { compilePathMatcher, type PathMatcher } from './path-matcher.js';
import { targetOf, type PublicHost } from '../http/public-host.js';
import { isNavigation, redirect, sendPage, sendUnauthenticated } from '../http/respond.js';

const REFUSE_UNAUTHENTICATED: UpgradeAdmission = Object.freeze({ kind: 'refuse', status: 401 });
const REFUSE_FORBIDDEN: UpgradeAdmission = Object.freeze({ kind: 'refuse', status: 403 });
const forward = (identity: readonly string[]): Forward => ({ kind: 'forward', identity });
const forwardIfSignedIn = (who: Authentication): Forward =>
  who.kind === 'session' || who.kind === 'bearer' ? forward(who.identity) : FORWARD_WITHOUT_IDENTITY;
const forwardWithoutIdentity = (): Forward => FORWARD_WITHOUT_IDENTITY;

export interface GateOptions {
  /** The access rules (access.rules, access.default, public_paths, roles.required). */
  policy: AccessPolicy;
  /** local_login: paths and the app's own session cookie that pass without SSO and without identity. */
  localLogin: { readonly enabled: boolean; readonly paths: readonly string[]; readonly session_cookie: string };
  /** cors_preflight: `pass` forwards a CORS preflight without SSO. */
  corsPreflight: 'reject' | 'pass';
  /** The internal routes, for the sign-on and sign-out links. */
  urls: RouteUrls;
  /** bearer.enabled: a 401 also names the Bearer scheme (RFC 6750 §3), so an API client knows a token is accepted. */
  bearer: boolean;
  /** roles.access_contact, named on a refusal. */
  accessContact: string;
  branding: Branding;
  /** Sends navigations on another host to public_url before a sign-in starts (the host trap). */
  publicHost?: PublicHost | undefined;
}

export class Gate {
  private readonly policy: AccessPolicy;
  private readonly localLoginPath: PathMatcher | undefined;
  private readonly localSessionCookie: string | undefined;
  private readonly loginUrl: string;
  private readonly challenge: Record<string, string>;

  constructor(
    private readonly options: GateOptions,
    private readonly authenticator: Authenticates,
  ) {
    const { localLogin } = options;
    this.policy = options.policy;
    this.localLoginPath = localLogin.enabled ? compilePathMatcher(localLogin.paths) : undefined;
    this.localSessionCookie = localLogin.enabled && localLogin.session_cookie ? localLogin.session_cookie : undefined;
    this.loginUrl = options.urls.path('/login');
    this.challenge = options.bearer ? { 'www-authenticate': `Session realm="gatehouse", login_url="${this.loginUrl}", Bearer realm="gatehouse"` } : {};
  }

  /** Forwards, or answers the request itself (sign-on redirect, 401, 403, 503). A failing session store rejects. */
  admit(ctx: RequestContext): MaybePromise<RequestAdmission> {
    const requirement = this.policy.requirementFor(ctx.path, ctx.req.method);
    if (requirement.kind === 'anonymous') return this.identityIfSignedIn(ctx);
    if (this.passesWithoutSso(ctx)) return FORWARD_WITHOUT_IDENTITY;
    const authenticated = this.authenticator.authenticate(ctx.req, ctx.cookies);
    if (isPromise(authenticated)) return authenticated.then((who) => this.answer(ctx, requirement, who));
    return this.answer(ctx, requirement, authenticated);
  }

  /** Forwards, or refuses with the status the upgrade's raw socket is answered with. A failing session store rejects. */
  admitUpgrade(ctx: UpgradeContext): MaybePromise<UpgradeAdmission> {
    const requirement = this.policy.requirementFor(ctx.path, ctx.req.method);
    if (requirement.kind === 'anonymous') return this.identityIfSignedIn(ctx);
    if (this.passesWithoutSso(ctx)) return FORWARD_WITHOUT_IDENTITY;
    const authenticated = this.authenticator.authenticate(ctx.req, ctx.cookies);
    if (isPromise(authenticated)) return authenticated.then((who) => upgradeAdmission(requirement, who));
    return upgradeAdmission(requirement, authenticated);
  }

  /** Requests that pass without SSO and without identity: the app's own login, its own session, preflights. */
  private passesWithoutSso(ctx: UpgradeContext): boolean {
    if (this.localLoginPath?.(ctx.path)) return true;
    if (this.localSessionCookie && ctx.cookies()[this.localSessionCookie]) return true;
    return this.options.corsPreflight === 'pass' && isCorsPreflight(ctx.req);
  }

  /** An anonymous path always passes: with identity headers for a valid session or token, without them otherwise (or when the store fails). */
  private identityIfSignedIn(ctx: UpgradeContext): MaybePromise<Forward> {
    if (ctx.req.headers.authorization === undefined && ctx.cookies()[this.authenticator.cookieName] === undefined) return FORWARD_WITHOUT_IDENTITY;
    try {
      const authenticated = this.authenticator.authenticate(ctx.req, ctx.cookies);
      return isPromise(authenticated) ? authenticated.then(forwardIfSignedIn, forwardWithoutIdentity) : forwardIfSignedIn(authenticated);
    } catch {
      return FORWARD_WITHOUT_IDENTITY;
    }
  }

  private answer(ctx: RequestContext, requirement: Requirement, who: Authentication): RequestAdmission {
    switch (who.kind) {
      case 'bad_token':
        sendInvalidToken(ctx.res, who.error);
        return ANSWERED;
      case 'bearer':
      case 'session': {
        const verdict = verdictFor(requirement, who);
        if (verdict.granted) return forward(who.identity);
        if (who.kind === 'session' && isNavigation(ctx.req)) this.noAccessPage(ctx, who, verdict);
        else sendForbiddenJson(ctx.res, verdict, this.options.accessContact);
        return ANSWERED;
      }
      case 'none':
        if (!isNavigation(ctx.req)) sendUnauthenticated(ctx.res, this.loginUrl, this.challenge);
        else redirect(ctx.res, this.options.publicHost?.redirectFor(ctx.req, targetOf(ctx.path, ctx.req.url)) ?? this.options.urls.login(ctx.req.url ?? '/'));
        return ANSWERED;
    }
  }

  private noAccessPage(ctx: RequestContext, who: Extract<SignedIn, { kind: 'session' }>, verdict: Extract<Verdict, { granted: false }>): void {
    const { claims } = who.session.record;
    const page = {
      kind: 'no-access' as const,
      user: { sub: claims.sub, name: claims.name, email: claims.email },
      accessContact: this.options.accessContact || undefined,
      signOutUrl: this.options.urls.path('/logout'),
      missing: verdict.code === 'forbidden' ? describeRequirement(verdict.requirement) : undefined,
    };
    sendPage(ctx.res, page, this.options.branding);
  }
}

function upgradeAdmission(requirement: Requirement, who: Authentication): UpgradeAdmission {
  if (who.kind !== 'session' && who.kind !== 'bearer') return REFUSE_UNAUTHENTICATED;
  return verdictFor(requirement, who).granted ? forward(who.identity) : REFUSE_FORBIDDEN;
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
