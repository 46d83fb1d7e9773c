// Who sent a request: an API client's bearer token (bearer.enabled and `Authorization: Bearer …` present: the token
// alone decides, the cookie is not read), else the session cookie. Shared by the gate and forward-auth, so both
// feed the same subject to the same access rules.
import type { IncomingMessage } from 'node:http';
import type { ResolvedSession, Sessions } from '../session/sessions.js';
import { ProviderError, ProviderUnavailableError, TokenInvalidError } from '../errors.js';
import type { AccessSubject } from './access-rules.js';
import { bearerTokenOf, type BearerTokens } from './bearer.js';

export type Authentication =
  | { readonly kind: 'none' }
  | { readonly kind: 'session'; readonly session: ResolvedSession; readonly identity: readonly string[]; readonly subject: AccessSubject }
  | { readonly kind: 'bearer'; readonly identity: readonly string[]; readonly subject: AccessSubject; readonly sub: string }
  /** A bearer token that failed (401) or could not be checked (the provider unavailable: 503, failing: 502). */
  | { readonly kind: 'bad_token'; readonly error: BearerFailure };

export type BearerFailure = TokenInvalidError | ProviderUnavailableError | ProviderError;

const NONE: Authentication = Object.freeze({ kind: 'none' as const });
const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});

export class Authenticator {
  constructor(
    private readonly sessions: Sessions,
    private readonly bearer: BearerTokens | undefined,
  ) {}

  get cookieName(): string {
    return this.sessions.cookie.name;
  }

  /** Synchronous on the hot paths (a cached session, a cached token). A failing session store rejects. */
  authenticate(req: IncomingMessage, cookies: () => Readonly<Record<string, string | undefined>>): Authentication | Promise<Authentication> {
    if (this.bearer) {
      const token = bearerTokenOf(req.headers.authorization);
      if (token !== undefined) return this.fromToken(this.bearer, token);
    }
    const resolved = this.sessions.resolve(cookies()[this.sessions.cookie.name]);
    return resolved instanceof Promise ? resolved.then(fromSession) : fromSession(resolved);
  }

  private fromToken(bearer: BearerTokens, token: string): Authentication | Promise<Authentication> {
    try {
      const principal = bearer.authenticate(token);
      if (!(principal instanceof Promise)) return { kind: 'bearer', identity: principal.identity, subject: principal.subject, sub: principal.user.sub };
      return principal.then(
        (p): Authentication => ({ kind: 'bearer', identity: p.identity, subject: p.subject, sub: p.user.sub }),
        badToken,
      );
    } catch (error) {
      return badToken(error);
    }
  }
}

function fromSession(session: ResolvedSession | undefined): Authentication {
  if (!session) return NONE;
  const { record } = session;
  return { kind: 'session', session, identity: session.identity, subject: { roles: record.roles, email: record.claims.email, claims: record.policyClaims ?? EMPTY } };
}

function badToken(error: unknown): Authentication {
  if (error instanceof TokenInvalidError || error instanceof ProviderUnavailableError || error instanceof ProviderError) return { kind: 'bad_token', error };
  return { kind: 'bad_token', error: new ProviderError(error instanceof Error ? error.message : String(error), { cause: error }) };
}
