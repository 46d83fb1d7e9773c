// Internal routes under routes.prefix: dispatch, /me, /jwks.json and /verify (forward-auth); logout and the signed-out page are in logout.ts.
import type { AssertionKeys } from './identity/assertion.js';
import type { RequestContext } from './authorize/access.js';
import type { BackchannelLogout } from './authenticate/backchannel-logout.js';
import { FORWARD_AUTH_METHODS, type ForwardAuth } from './authorize/forward-auth.js';
import type { Logout } from './authenticate/logout.js';
import type { Branding } from './pages/render.js';
import type { Route, RouteUrls } from './route-urls.js';
import { isNavigation, sendJson, sendPage } from './http/respond.js';
import type { Sessions } from './session/sessions.js';
import type { SignIn } from './authenticate/sign-in.js';
import type { MaybePromise } from './maybe-promise.js';

type Handler = (ctx: RequestContext, query: URLSearchParams) => MaybePromise<void>;

export interface AuthRoutesOptions {
  urls: RouteUrls;
  /** roles.access_contact, named by /me to a signed-in user without access. */
  accessContact: string;
  /** The assertion's keys, published at /jwks.json; undefined: assertion off. */
  assertionKeys: AssertionKeys | undefined;
}

/** The handlers behind the routes. */
export interface AuthRouteHandlers {
  signIn: SignIn;
  logout: Logout;
  backchannel: BackchannelLogout;
  forwardAuth: ForwardAuth;
  sessions: Pick<Sessions, 'resolve' | 'cookie'>;
}

export class AuthRoutes {
  private readonly routes: ReadonlyMap<string, { methods: readonly string[]; handler: Handler }>;
  private readonly jwksBody: string | undefined;
  private readonly sessions: Pick<Sessions, 'resolve' | 'cookie'>;

  constructor(
    private readonly options: AuthRoutesOptions,
    { signIn, logout, backchannel, forwardAuth, sessions }: AuthRouteHandlers,
    private readonly branding: Branding,
  ) {
    this.sessions = sessions;
    this.jwksBody = options.assertionKeys ? JSON.stringify(options.assertionKeys.publicJwks) : undefined;
    const get = ['GET', 'HEAD'];
    this.routes = new Map<Route, { methods: readonly string[]; handler: Handler }>([
      ['/login', { methods: get, handler: (ctx, q) => signIn.login(ctx, q) }],
      ['/start', { methods: get, handler: (ctx, q) => signIn.start(ctx, q) }],
      ['/callback', { methods: ['GET'], handler: (ctx, q) => signIn.callback(ctx, q) }],
      ['/logout', { methods: ['GET', 'POST'], handler: (ctx) => logout.handle(ctx) }],
      ['/signed-out', { methods: get, handler: (ctx, q) => logout.signedOut(ctx, q) }],
      ['/me', { methods: get, handler: (ctx) => this.me(ctx) }],
      ['/jwks.json', { methods: get, handler: (ctx) => this.jwks(ctx) }],
      ['/backchannel-logout', { methods: ['POST'], handler: (ctx) => backchannel.handle(ctx) }],
      ['/verify', { methods: FORWARD_AUTH_METHODS, handler: (ctx, q) => forwardAuth.verify(ctx, q) }],
    ]);
  }

  handle(ctx: RequestContext, route: string): MaybePromise<void> {
    const entry = this.routes.get(route);
    if (!entry) return this.refuse(ctx, 404, 'not_found');
    if (!entry.methods.includes(ctx.req.method ?? 'GET')) {
      ctx.res.setHeader('allow', entry.methods.join(', '));
      return this.refuse(ctx, 405, 'method_not_allowed');
    }
    const url = ctx.req.url ?? '/';
    const q = url.indexOf('?');
    return entry.handler(ctx, new URLSearchParams(q === -1 ? '' : url.slice(q + 1)));
  }

  /** An unknown route or method: gatehouse's error page for a browser navigation, `{"error": code}` JSON otherwise. */
  private refuse(ctx: RequestContext, status: 404 | 405, code: string): void {
    if (isNavigation(ctx.req)) return sendPage(ctx.res, { kind: 'error', status, requestId: ctx.requestId }, this.branding);
    sendJson(ctx.res, status, { error: code });
  }

  /** The current identity for single-page apps; never tokens. */
  private async me(ctx: RequestContext): Promise<void> {
    const session = await this.sessions.resolve(ctx.cookies()[this.sessions.cookie.name]);
    if (!session) return sendJson(ctx.res, 401, { error: 'unauthenticated', login: this.options.urls.path('/login') });
    const { claims, roles, expiresAt } = session.record;
    sendJson(ctx.res, 200, {
      sub: claims.sub,
      email: claims.email ?? null,
      name: claims.name ?? null,
      preferred_username: claims.preferred_username ?? null,
      roles,
      access: session.denied ? 'denied' : 'granted',
      ...(session.denied ? { message: "You don't have access to this app", access_contact: this.options.accessContact || null } : {}),
      expires_at: new Date(expiresAt).toISOString(),
    });
  }

  private jwks(ctx: RequestContext): void {
    if (!this.jwksBody) return sendJson(ctx.res, 404, { error: 'assertion_disabled' });
    ctx.res
      .writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' })
      .end(ctx.req.method === 'HEAD' ? undefined : this.jwksBody);
  }
}
