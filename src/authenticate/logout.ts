// GET/POST /.auth/logout: ends the session only when the request comes from gatehouse's own origin; any other
// request (a link or <img> on another site, a form posted from another origin, an old client that says nothing)
// gets a one-click confirmation page and the session lives on. Back-channel logout is a separate route.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../ops/logger.js';
import type { RequestContext } from '../authorize/access.js';
import { wantsJson } from '../http/accept.js';
import type { Branding } from '../pages/render.js';
import { Sealer } from '../session/sealer.js';
import { readForm } from '../http/body.js';
import { LogoutStates } from './logout-state.js';
import type { Provider } from './provider.js';
import type { RouteUrls } from '../route-urls.js';
import { redirect, sendJson, sendPage } from '../http/respond.js';
import type { ResolvedSession, Sessions } from '../session/sessions.js';
import type { SignIn } from './sign-in.js';

/** The confirmation form's field: a token bound to the session shown the page. */
export const CONFIRM_FIELD = 'confirm';
/** The confirmation form carries one short field; a bigger body is not read. */
const MAX_FORM_BYTES = 4096;
const TOKEN_DOMAIN = 'logout-confirm:';
/** How long the logout state waits for the browser to come back from the provider (a confirmation page may be on the way). */
const LOGOUT_STATE_TTL_MS = 10 * 60 * 1000;

/**
 * True when a browser says the request comes from gatehouse's own origin; no page on another origin can make it
 * send these values. A `Sec-Purpose` request (prefetch, prerender) never counts: a link prefetched on hover must
 * not sign anyone out.
 * - GET: a top-level navigation (`Sec-Fetch-Mode: navigate`, `Sec-Fetch-Dest: document`) with `Sec-Fetch-Site:
 *   same-origin` (a link on the app's pages) or `none` (typed in the address bar, a bookmark: only the user starts
 *   those). An `<img>`, a fetch() or an iframe, even same-origin, and a GET without `Sec-Fetch-Site` do not count.
 * - POST: `Sec-Fetch-Site: same-origin`; without it (browsers before Fetch Metadata), `Origin` equal to
 *   public_url's origin.
 * An `Origin` other than public_url's (or `null`, which a no-referrer page's own form sends) always refuses.
 */
export function isSameOriginLogout(req: IncomingMessage, publicOrigin: string): boolean {
  const { origin } = req.headers;
  if (origin !== undefined && origin !== 'null' && origin !== publicOrigin) return false;
  if (req.headers['sec-purpose'] !== undefined || req.headers.purpose !== undefined) return false;
  const site = req.headers['sec-fetch-site'];
  if (req.method === 'POST') return site === undefined ? origin === publicOrigin : site === 'same-origin';
  return (site === 'same-origin' || site === 'none') && req.headers['sec-fetch-mode'] === 'navigate' && req.headers['sec-fetch-dest'] === 'document';
}

export interface LogoutOptions {
  urls: RouteUrls;
  /** public_url's origin: the origin a logout must come from. */
  publicOrigin: string;
  /** public_url is https: the logout state cookie is `__Secure-`. */
  secure: boolean;
  /** session.secrets, newest first: they key the confirmation token and seal the logout state. */
  secrets: readonly string[];
  now?: () => number;
}

export class Logout {
  private readonly signedOutUrl: string;
  private readonly logoutPath: string;
  private readonly signInPath: string;
  private readonly states: LogoutStates;

  constructor(
    private readonly options: LogoutOptions,
    private readonly provider: Pick<Provider, 'endSessionUrl' | 'endSessionOrigin'>,
    private readonly sessions: Pick<Sessions, 'resolve' | 'cookie' | 'end'>,
    private readonly signIn: Pick<SignIn, 'returningCookie'>,
    private readonly branding: Branding,
    private readonly deps: { logger: Logger },
  ) {
    const { urls } = options;
    this.signedOutUrl = urls.absolute('/signed-out');
    this.logoutPath = urls.path('/logout');
    this.signInPath = urls.path('/login');
    this.states = new LogoutStates(new Sealer(options.secrets), {
      path: urls.path('/signed-out'),
      secure: options.secure,
      ttlMs: LOGOUT_STATE_TTL_MS,
      now: options.now,
    });
  }

  async handle(ctx: RequestContext): Promise<void> {
    const session = await this.sessions.resolve(ctx.cookies()[this.sessions.cookie.name]);
    if (isSameOriginLogout(ctx.req, this.options.publicOrigin)) {
      ctx.req.resume();
      return this.end(ctx, session);
    }
    // The confirmation form of a browser that sends no Fetch Metadata comes with `Origin: null` (the page is
    // no-referrer): its token, bound to this session, shows that the page was gatehouse's own.
    if (
      ctx.req.method === 'POST' &&
      session !== undefined &&
      this.validToken((await readForm(ctx.req, MAX_FORM_BYTES))?.get(CONFIRM_FIELD), session.record.key)
    ) {
      return this.end(ctx, session);
    }
    ctx.req.resume();
    this.refuse(ctx, session);
  }

  /**
   * Ends the gatehouse session, then the provider session (RP-initiated logout) with id_token_hint and a `state`
   * kept for the way back. Without an ID token (no session) or without an end_session_endpoint there is nothing to
   * hand over (a provider may answer a logout request without id_token_hint with an empty page): gatehouse's own
   * signed-out page.
   */
  private async end(ctx: RequestContext, session: ResolvedSession | undefined): Promise<void> {
    const cookies = [this.sessions.cookie.clearCookie(), this.signIn.returningCookie(0)];
    if (session) {
      await this.sessions.end(session.record);
      this.deps.logger.info({ reqId: ctx.requestId, sub: session.record.claims.sub }, 'signed out');
    }
    const idTokenHint = session?.record.idToken;
    if (idTokenHint && this.provider.endSessionOrigin() !== undefined) {
      const { state, setCookie } = this.states.begin();
      const endSession = this.provider.endSessionUrl({ idTokenHint, postLogoutRedirectUri: this.signedOutUrl, state });
      if (endSession) return redirect(ctx.res, endSession.href, [...cookies, setCookie]);
    }
    sendPage(ctx.res, { kind: 'signed-out', signInUrl: this.signInPath }, this.branding, cookies);
  }

  /**
   * GET /signed-out: the landing page after logout, shown whatever the state says. It ends nothing, starts nothing
   * and shows nothing about anyone, so refusing it would only strand users of providers that drop `state` (or that
   * were slow, or opened in another browser); a state that does not match is logged instead.
   */
  signedOut(ctx: RequestContext, query: URLSearchParams): void {
    const states = query.getAll('state');
    const { outcome, clearCookie } = this.states.check(states.length === 1 ? (states[0] as string) : states.length === 0 ? null : '', ctx.cookies());
    if (outcome === 'matched') this.deps.logger.info({ reqId: ctx.requestId }, 'back from the provider logout');
    else if (outcome !== 'plain_visit') {
      const level = outcome === 'state_mismatch' || outcome === 'cookie_invalid' ? 'warn' : 'info';
      this.deps.logger[level]({ reqId: ctx.requestId, reason: outcome }, 'signed-out page reached without the state of the logout that led there');
    }
    sendPage(ctx.res, { kind: 'signed-out', signInUrl: this.signInPath }, this.branding, clearCookie ? [clearCookie] : undefined);
  }

  /**
   * Nothing ends. A JSON client learns how to sign out; a browser gets the confirmation page, whose form posts
   * back from gatehouse's own origin. A refused POST without a session (nothing to end, e.g. the confirmation form
   * sent again by an old browser) gets the signed-out page, without a detour to the provider.
   */
  private refuse(ctx: RequestContext, session: ResolvedSession | undefined): void {
    const { headers } = ctx.req;
    this.deps.logger.info(
      { reqId: ctx.requestId, method: ctx.req.method, site: headers['sec-fetch-site'], origin: headers.origin, signedIn: session !== undefined },
      'logout not from the own origin: confirmation asked, nothing ended',
    );
    if (wantsJson(headers.accept)) return sendJson(ctx.res, 403, { error: 'cross_site_logout', logout: this.logoutPath, method: 'POST' });
    if (ctx.req.method === 'POST' && session === undefined) return sendPage(ctx.res, { kind: 'signed-out', signInUrl: this.signInPath }, this.branding);
    // the confirmed POST is answered with a redirect to the provider's end_session_endpoint: the page's CSP allows it
    const providerOrigin = this.provider.endSessionOrigin();
    const token = session ? this.token(session.record.key) : undefined;
    sendPage(ctx.res, { kind: 'confirm-sign-out', action: this.logoutPath, token, cancelUrl: '/', providerOrigin }, this.branding);
  }

  /** HMAC of the session's store key under the newest session secret: only gatehouse's own page can show it. */
  private token(key: string, secret = this.options.secrets[0] as string): string {
    return createHmac('sha256', secret).update(TOKEN_DOMAIN).update(key).digest('base64url');
  }

  private validToken(presented: string | null | undefined, key: string): boolean {
    if (!presented) return false;
    const given = Buffer.from(presented);
    return this.options.secrets.some((secret) => {
      const expected = Buffer.from(this.token(key, secret));
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
  }
}

/** The urlencoded form body, or undefined (another type, too big, a broken stream). */
