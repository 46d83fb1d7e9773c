// Internal routes under routes.prefix: dispatch, /me, /jwks.json and /verify (forward-auth); logout and the signed-out page are in logout.ts.
import type { Config } from './config/schema.js';
import type { AssertionKeys } from './identity/assertion.js';
import type { Logger } from './ops/logger.js';
import type { RequestContext } from './authorize/access.js';
import type { BackchannelLogout } from './authenticate/backchannel-logout.js';
import { FORWARD_AUTH_METHODS, ForwardAuth } from './authorize/forward-auth.js';
import { Logout } from './authenticate/logout.js';
import type { Branding } from './pages/render.js';
import type { Provider } from './authenticate/provider.js';
import { isNavigation, sendJson, sendPage } from './http/respond.js';
import type { Sessions } from './session/sessions.js';
import type { SignIn } from './authenticate/sign-in.js';

type Handler = (ctx: RequestContext, query: URLSearchParams) => Promise<void> | void;

export class AuthRoutes {
  private readonly routes: ReadonlyMap<string, { methods: readonly string[]; handler: Handler }>;
  private readonly jwksBody: string | undefined;

  constructor(
    private readonly config: Config,
    private readonly provider: Provider,
    private readonly sessions: Sessions,
    private readonly signIn: SignIn,
    private readonly backchannel: BackchannelLogout,
    private readonly branding: Branding,
    assertionKeys: AssertionKeys | undefined,
    private readonly deps: { logger: Logger },
  ) {
    this.jwksBody = assertionKeys ? JSON.stringify(assertionKeys.publicJwks) : undefined;
    const get = ['GET', 'HEAD'];
    const forwardAuth = new ForwardAuth(config, sessions, deps);
    const logout = new Logout(config, provider, sessions, signIn, branding, deps);
    this.routes = new Map<string, { methods: readonly string[]; handler: Handler }>([
      ['/login', { methods: get, handler: (ctx, q) => this.signIn.login(ctx, q) }],
      ['/start', { methods: get, handler: (ctx, q) => this.signIn.start(ctx, q) }],
      ['/callback', { methods: ['GET'], handler: (ctx, q) => this.signIn.callback(ctx, q) }],
      ['/logout', { methods: ['GET', 'POST'], handler: (ctx) => logout.handle(ctx) }],
      ['/signed-out', { methods: get, handler: (ctx, q) => logout.signedOut(ctx, q) }],
      ['/me', { methods: get, handler: (ctx) => this.me(ctx) }],
      ['/jwks.json', { methods: get, handler: (ctx) => this.jwks(ctx) }],
      ['/backchannel-logout', { methods: ['POST'], handler: (ctx) => this.backchannel.handle(ctx) }],
      ['/verify', { methods: FORWARD_AUTH_METHODS, handler: (ctx, q) => forwardAuth.verify(ctx, q) }],
    ]);
  }

  handle(ctx: RequestContext, route: string): Promise<void> | void {
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
    if (!session) return sendJson(ctx.res, 401, { error: 'unauthenticated', login: `${this.config.routes.prefix}/login` });
    const { claims, roles, expiresAt } = session.record;
    sendJson(ctx.res, 200, {
      sub: claims.sub,
      email: claims.email ?? null,
      name: claims.name ?? null,
      preferred_username: claims.preferred_username ?? null,
      roles,
      access: session.denied ? 'denied' : 'granted',
      ...(session.denied ? { message: "You don't have access to this app", access_contact: this.config.roles.access_contact || null } : {}),
      expires_at: new Date(expiresAt).toISOString(),
    });
  }

  private jwks(ctx: RequestContext): void {
    if (!this.jwksBody) return sendJson(ctx.res, 404, { error: 'assertion_disabled' });
    ctx.res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' }).end(ctx.req.method === 'HEAD' ? undefined : this.jwksBody);
  }
}
