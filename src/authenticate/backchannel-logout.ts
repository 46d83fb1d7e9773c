// OpenID Connect Back-Channel Logout 1.0: verify the provider's logout token and end the matching sessions.
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Logger } from '../ops/logger.js';
import type { SessionStore } from '../session/types.js';
import type { RequestContext } from '../authorize/access.js';
import { describeError } from './provider-errors.js';
import type { Provider } from './provider.js';
import { sendJson } from '../http/respond.js';
import { readForm } from '../http/body.js';

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const MAX_BODY_BYTES = 64 * 1024;
/** Logout tokens older than this are refused; jti replays are remembered at least as long. */
const MAX_TOKEN_AGE_S = 300;
const CLOCK_TOLERANCE_S = 30;
/** How long a used jti is remembered (in the session store, so every replica refuses a replay). */
const JTI_MEMORY_MS = (MAX_TOKEN_AGE_S + CLOCK_TOLERANCE_S) * 2 * 1000;

export interface BackchannelLogoutOptions {
  /** sso.client_id: the logout token's audience. */
  clientId: string;
  /** sso.id_token_algs: the algorithms a logout token may be signed with. */
  algorithms: readonly string[];
  /** sso.timeout: how long fetching the provider's keys may take. */
  timeoutMs: number;
  now?: () => number;
}

export class BackchannelLogout {
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly options: BackchannelLogoutOptions,
    private readonly provider: Pick<Provider, 'metadata'>,
    private readonly store: Pick<SessionStore, 'claimOnce' | 'deleteBySid' | 'deleteBySub'>,
    private readonly deps: { logger: Logger; onLogout?(outcome: 'ok' | 'invalid'): void },
  ) {
    this.now = options.now ?? Date.now;
  }

  async handle(ctx: RequestContext): Promise<void> {
    const body = await readForm(ctx.req, MAX_BODY_BYTES);
    if (body === undefined) return this.refuse(ctx, 'request body must be application/x-www-form-urlencoded, at most 64 KiB');
    const tokens = body.getAll('logout_token');
    if (tokens.length !== 1) return this.refuse(ctx, 'exactly one logout_token is required');
    let claims: JWTPayload | string;
    try {
      claims = await this.verify(tokens[0] as string);
    } catch (error) {
      return this.refuse(ctx, refusalOf(error), describeError(error));
    }
    if (typeof claims === 'string') return this.refuse(ctx, claims);
    const firstUse = await this.store.claimOnce(`jti:${String(claims.iss)}:${String(claims.jti)}`, JTI_MEMORY_MS);
    if (!firstUse) return this.refuse(ctx, 'logout token replayed (jti already used)');
    const ended = typeof claims.sid === 'string' ? await this.store.deleteBySid(claims.sid) : await this.store.deleteBySub(claims.sub as string);
    this.deps.onLogout?.('ok');
    this.deps.logger.info({ reqId: ctx.requestId, sub: claims.sub, sid: claims.sid, ended }, 'back-channel logout');
    ctx.res.writeHead(200, { 'cache-control': 'no-store', 'content-type': 'application/json' }).end(JSON.stringify({ ended }));
  }

  /** The token's claims, or why gatehouse refuses it; what jose refuses is thrown. */
  private async verify(token: string): Promise<JWTPayload | string> {
    const metadata = this.provider.metadata();
    if (!metadata?.jwks_uri) return 'provider metadata not loaded';
    this.jwks ??= createRemoteJWKSet(new URL(metadata.jwks_uri), { timeoutDuration: this.options.timeoutMs });
    const { payload } = await jwtVerify(token, this.jwks, {
      issuer: metadata.issuer,
      audience: this.options.clientId,
      algorithms: [...this.options.algorithms],
      currentDate: new Date(this.now()),
      maxTokenAge: MAX_TOKEN_AGE_S,
      requiredClaims: ['iat', 'jti', 'events'],
      clockTolerance: CLOCK_TOLERANCE_S,
    });
    const events = payload.events as Record<string, unknown> | undefined;
    if (!events || typeof events !== 'object' || typeof events[LOGOUT_EVENT] !== 'object') return 'events claim lacks the back-channel logout event';
    if (typeof payload.sid !== 'string' && typeof payload.sub !== 'string') return 'logout token has neither sid nor sub';
    if ('nonce' in payload) return 'logout token must not contain a nonce';
    if (typeof payload.jti !== 'string' || payload.jti === '') return 'logout token jti must be a non-empty string';
    return payload;
  }

  /** §2.8: 400 with an OAuth error; the description is always gatehouse's own text, `detail` (jose's) is only logged. */
  private refuse(ctx: RequestContext, description: string, detail?: string): void {
    this.deps.onLogout?.('invalid');
    this.deps.logger.warn({ reqId: ctx.requestId, reason: description, err: detail }, 'back-channel logout refused');
    sendJson(ctx.res, 400, { error: 'invalid_request', error_description: description });
  }
}

/** The claims jwtVerify checks, named in a refusal. */
const CHECKED_CLAIMS = ['iss', 'aud', 'iat', 'exp', 'nbf', 'jti', 'events'] as const;

/** gatehouse's words for what jose refused. */
function refusalOf(error: unknown): string {
  if (error instanceof joseErrors.JWTClaimValidationFailed || error instanceof joseErrors.JWTExpired) {
    const claim = CHECKED_CLAIMS.find((name) => name === error.claim);
    if (claim !== undefined) return `logout token "${claim}" claim is missing or not valid`;
  }
  if (
    error instanceof joseErrors.JWSSignatureVerificationFailed ||
    error instanceof joseErrors.JWKSNoMatchingKey ||
    error instanceof joseErrors.JOSEAlgNotAllowed
  ) {
    return 'logout token is not signed by a provider key with an allowed algorithm';
  }
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'logout token is not a signed JWT';
  return 'logout token could not be verified';
}
