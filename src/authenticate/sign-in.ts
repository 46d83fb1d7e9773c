// The sign-in handshake: sign-on page, /start (authorization request), /callback (code exchange, new session).
import { serialize } from 'cookie';
import * as oidc from 'openid-client';
import { ProviderError, ProviderRefusedError, ProviderUnavailableError, StoreUnavailableError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { RequestContext } from '../authorize/access.js';
import type { Branding } from '../pages/render.js';
import type { PendingSignIns } from './pending-sign-in.js';
import { describeError } from './provider-errors.js';
import type { Provider } from './provider.js';
import type { RouteUrls } from '../route-urls.js';
import { redirect, sendError, sendPage } from '../http/respond.js';
import { safeReturnPath } from './return-url.js';
import type { Sessions } from '../session/sessions.js';

export type SignInFailure = 'state' | 'declined' | 'provider_error' | 'token_invalid' | 'provider_unavailable' | 'store_unavailable';

export interface SignInEvents {
  started?(silent: boolean): void;
  completed?(silent: boolean): void;
  failed?(reason: SignInFailure): void;
  silentFallback?(providerError: string): void;
}

/**
 * Error codes of RFC 6749 §4.1.2.1 and OpenID Connect Core §3.1.2.6: the label of the fallback metric. Any other
 * code (a provider's own, or garbage in the callback URL) counts as `other`, so the label set stays bounded.
 */
const KNOWN_ERRORS = new Set([
  'login_required',
  'consent_required',
  'interaction_required',
  'account_selection_required',
  'invalid_request',
  'unauthorized_client',
  'access_denied',
  'unsupported_response_type',
  'invalid_scope',
  'server_error',
  'temporarily_unavailable',
  'invalid_request_uri',
  'invalid_request_object',
  'request_not_supported',
  'request_uri_not_supported',
  'registration_not_supported',
]);
/** Longest error_description kept in a log line. */
const DESCRIPTION_MAX = 200;
const RETURNING_COOKIE = 'gatehouse_returning';
const RETURNING_MAX_AGE = 30 * 24 * 3600;

export interface SignInOptions {
  urls: RouteUrls;
  /** public_url is https: the returning hint is Secure. */
  secure: boolean;
  /** sso.silent_reauth */
  silentReauth: boolean;
  /** sso.skip_sign_on_page */
  skipSignOnPage: boolean;
  /** sso.provider_label */
  providerLabel: string;
  /** The app's own login on the sign-on page (local_login enabled with a path); its `returnParam` may be empty. */
  localLogin?: { path: string; label: string; returnParam: string };
}

/** What sign-in asks of the provider client. */
export type SignInProvider = Pick<Provider, 'ready' | 'authorizationUrl' | 'callbackUrl' | 'exchangeCode'>;
/** What sign-in asks of the sessions. */
export type SignInSessions = Pick<Sessions, 'resolve' | 'cookie' | 'endCookie' | 'create'>;

export class SignIn {
  constructor(
    private readonly options: SignInOptions,
    private readonly provider: SignInProvider,
    private readonly pending: PendingSignIns,
    private readonly sessions: SignInSessions,
    private readonly branding: Branding,
    private readonly deps: { logger: Logger; events?: SignInEvents },
  ) {}

  static readonly returningCookie = RETURNING_COOKIE;

  /** GET /login: the sign-on page, or straight on to /start for returning users (silent) and skip_sign_on_page. */
  async login(ctx: RequestContext, query: URLSearchParams): Promise<void> {
    const returnTo = safeReturnPath(query.get('rd'));
    const session = await this.sessions.resolve(ctx.cookies()[this.sessions.cookie.name]);
    if (session && !session.denied) return redirect(ctx.res, returnTo);
    const returning = this.options.silentReauth && ctx.cookies()[RETURNING_COOKIE] === '1';
    if (this.options.skipSignOnPage || returning) return redirect(ctx.res, this.startUrl(returnTo));
    sendPage(
      ctx.res,
      {
        kind: 'sign-on',
        providerLabel: this.options.providerLabel,
        startUrl: this.startUrl(returnTo, true),
        ...this.localLogin(returnTo),
      },
      this.branding,
    );
  }

  /** GET /start: a new pending sign-in and the redirect to the provider (prompt=none for a returning user). */
  async start(ctx: RequestContext, query: URLSearchParams): Promise<void> {
    const returnTo = safeReturnPath(query.get('rd'));
    if (!this.provider.ready) return this.unavailable(ctx, 'provider_unavailable', returnTo);
    const silent = this.options.silentReauth && query.get('interactive') !== '1' && ctx.cookies()[RETURNING_COOKIE] === '1';
    const { pending, setCookies } = this.pending.begin(returnTo, silent, ctx.cookies());
    const url = this.provider.authorizationUrl({
      state: pending.state,
      nonce: pending.nonce,
      codeChallenge: await oidc.calculatePKCECodeChallenge(pending.verifier),
      prompt: silent ? 'none' : undefined,
    });
    this.deps.events?.started?.(silent);
    redirect(ctx.res, url.href, setCookies);
  }

  /** GET /callback: the provider's answer. Every outcome clears the pending cookie it used. */
  async callback(ctx: RequestContext, query: URLSearchParams): Promise<void> {
    const { pending, clearCookie } = this.pending.take(single(query, 'state'), ctx.cookies());
    const clear = clearCookie ? [clearCookie] : [];
    if (!pending) {
      this.deps.events?.failed?.('state');
      this.deps.logger.info({ reqId: ctx.requestId }, 'sign-in callback without a matching pending sign-in (expired, replayed or forged state)');
      return sendError(
        ctx.req,
        ctx.res,
        { kind: 'error', status: 400, requestId: ctx.requestId, wording: 'signInExpired', retryUrl: this.retryUrl('/') },
        'sign_in_expired',
        this.branding,
        clear,
      );
    }
    const providerError = single(query, 'error');
    if (providerError !== null) return this.providerRefused(ctx, providerError, query, pending, clear);
    // a failed silent attempt also drops the returning hint
    const clearOnFailure = pending.silent ? [...clear, this.returningCookie(0)] : clear;
    if (single(query, 'code') === null) {
      this.deps.events?.failed?.('provider_error');
      return sendError(
        ctx.req,
        ctx.res,
        { kind: 'error', status: 400, requestId: ctx.requestId, wording: 'signInFailed', retryUrl: this.retryUrl(pending.returnTo) },
        'bad_callback',
        this.branding,
        clearOnFailure,
      );
    }
    const callbackUrl = new URL(this.provider.callbackUrl);
    callbackUrl.search = new URL(ctx.req.url ?? '/', 'http://callback.invalid').search;
    try {
      const tokens = await this.provider.exchangeCode(callbackUrl, pending);
      await this.sessions.endCookie(ctx.cookies()[this.sessions.cookie.name]);
      const { cookieValue } = await this.sessions.create(tokens);
      this.deps.events?.completed?.(pending.silent);
      this.deps.logger.info({ reqId: ctx.requestId, sub: tokens.claims.sub, silent: pending.silent }, 'signed in');
      redirect(ctx.res, pending.returnTo, [...clear, this.sessions.cookie.setCookie(cookieValue), this.returningCookie(RETURNING_MAX_AGE)]);
    } catch (error) {
      const reason = failureOf(error);
      this.deps.events?.failed?.(reason);
      this.deps.logger.warn({ reqId: ctx.requestId, reason, silent: pending.silent, err: describeError(error) }, 'sign-in failed');
      if (reason === 'provider_unavailable' || reason === 'store_unavailable') return this.unavailable(ctx, reason, pending.returnTo, clearOnFailure);
      sendError(
        ctx.req,
        ctx.res,
        { kind: 'error', status: failureStatus(error), requestId: ctx.requestId, wording: 'signInFailed', retryUrl: this.retryUrl(pending.returnTo) },
        'sign_in_failed',
        this.branding,
        clearOnFailure,
      );
    }
  }

  /**
   * The provider answered the authorization request with an error. A silent attempt (prompt=none) falls back once to
   * an interactive one whatever the error: providers answer prompt=none with more than the four interaction codes
   * (e.g. invalid_request when they want id_token_hint), and the fallback is interactive, so it cannot loop. The
   * returning hint is dropped, so the next visit shows the sign-on page instead of trying silently again.
   */
  private providerRefused(
    ctx: RequestContext,
    providerError: string,
    query: URLSearchParams,
    pending: { silent: boolean; returnTo: string },
    clear: string[],
  ): void {
    const logged = { reqId: ctx.requestId, silent: pending.silent, providerError: sanitized(providerError, 64), providerErrorDescription: describedBy(query) };
    if (pending.silent) {
      this.deps.events?.silentFallback?.(KNOWN_ERRORS.has(providerError) ? providerError : 'other');
      this.deps.logger.info(logged, 'provider refused the silent sign-in: falling back to an interactive one');
      return redirect(ctx.res, this.startUrl(pending.returnTo, true), [...clear, this.returningCookie(0)]);
    }
    if (providerError === 'access_denied') {
      this.deps.events?.failed?.('declined');
      this.deps.logger.info(logged, 'user declined consent at the provider');
      return sendPage(
        ctx.res,
        { kind: 'declined', retryUrl: this.startUrl(pending.returnTo, true), ...this.localLogin(pending.returnTo) },
        this.branding,
        clear,
      );
    }
    this.deps.events?.failed?.('provider_error');
    this.deps.logger.warn(logged, 'provider answered the sign-in with an error');
    sendError(
      ctx.req,
      ctx.res,
      { kind: 'error', status: 502, requestId: ctx.requestId, wording: 'signInFailed', retryUrl: this.retryUrl(pending.returnTo) },
      'provider_error',
      this.branding,
      clear,
    );
  }

  private unavailable(ctx: RequestContext, reason: SignInFailure, returnTo: string, setCookies?: string[]): void {
    sendError(ctx.req, ctx.res, { kind: 'error', status: 503, requestId: ctx.requestId, retryUrl: this.retryUrl(returnTo) }, reason, this.branding, setCookies);
  }

  /** The hint that makes the next sign-in silent; cleared at logout. */
  returningCookie(maxAge: number): string {
    return serialize(RETURNING_COOKIE, maxAge > 0 ? '1' : '', { path: '/', maxAge, httpOnly: true, secure: this.options.secure, sameSite: 'lax' });
  }

  private startUrl(returnTo: string, interactive = false): string {
    return this.options.urls.start(returnTo, interactive);
  }

  /** "Try again" on an error page: always an interactive start, so a returning user's retry cannot be silent and fail again. */
  private retryUrl(returnTo: string): string {
    return this.startUrl(returnTo, true);
  }

  /**
   * The link to the app's own login (the first `local_login.paths` entry). It keeps the page the user asked for:
   * `returnTo` (already through safeReturnPath) goes along as `local_login.return_param`, unless it is `/` or the
   * parameter is configured empty.
   */
  private localLogin(returnTo: string): { localLoginUrl?: string; localLoginLabel?: string } {
    if (this.options.localLogin === undefined) return {};
    const { path, label, returnParam: param } = this.options.localLogin;
    const withReturn = param && returnTo !== '/' ? `${path}${path.includes('?') ? '&' : '?'}${param}=${encodeURIComponent(returnTo)}` : path;
    return { localLoginUrl: withReturn, localLoginLabel: label };
  }
}

/** The provider or the session store down, the provider failing, or anything else: a token that fails a check. */
function failureOf(error: unknown): SignInFailure {
  if (error instanceof ProviderUnavailableError || error instanceof StoreUnavailableError || error instanceof ProviderError) return error.publicCode;
  return 'token_invalid';
}

/**
 * A code the provider refuses (`invalid_grant`: expired, already used, or issued to another client) is the
 * browser's problem, not the provider's: 400, like a stale state. Other provider failures are 502.
 */
function failureStatus(error: unknown): number {
  if (error instanceof ProviderRefusedError && error.oauthError === 'invalid_grant') return 400;
  return error instanceof ProviderError ? error.status : 401;
}

/**
 * A provider-supplied string fit for a log line: printable ASCII only (RFC 6749 allows nothing else in error and
 * error_description), anything that looks like a token or code (a long run of base64url/JWT characters) replaced,
 * and cut at `max` characters.
 */
function sanitized(value: string, max: number): string {
  const printable = value.slice(0, max * 4).replace(/[^\x20-\x7e]/g, '?');
  const masked = printable.replace(/[A-Za-z0-9_.~+/=-]{32,}/g, '[redacted]');
  return masked.length > max ? `${masked.slice(0, max)}…` : masked;
}

/** The callback's error_description, sanitized, or undefined when absent. */
function describedBy(query: URLSearchParams): string | undefined {
  const description = single(query, 'error_description');
  return description === null ? undefined : sanitized(description, DESCRIPTION_MAX);
}

/** A parameter that must appear at most once; a duplicated one counts as absent. */
function single(query: URLSearchParams, name: string): string | null {
  const values = query.getAll(name);
  return values.length === 1 ? (values[0] as string) : null;
}
