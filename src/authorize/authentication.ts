// Who sent a request: an API client's bearer token (bearer.enabled and `Authorization: Bearer …` present: the token
// alone decides, the cookie is not read), else the session cookie. Shared by the gate and forward-auth, so both
// feed the same subject to the same access rules.
import type { IncomingMessage } from 'node:http';
import type { ResolvedSession, Sessions } from '../session/sessions.js';
import { ProviderError, ProviderUnavailableError, TokenInvalidError } from '../errors.js';
import { isPromise, type MaybePromise } from '../maybe-promise.js';
import { decide, type AccessSubject, type Requirement, type Verdict } from './access-rules.js';
import { bearerTokenOf, type BearerPrincipal, type BearerTokens } from './bearer.js';

export type Authentication =
  | { readonly kind: 'none' }
  | { readonly kind: 'session'; readonly session: ResolvedSession; readonly identity: readonly string[] }
  | { readonly kind: 'bearer'; readonly identity: readonly string[]; readonly subject: AccessSubject; readonly sub: string }
  /** A bearer token that failed (401) or could not be checked (the provider unavailable: 503, failing: 502). */
  | { readonly kind: 'bad_token'; readonly error: BearerFailure };

export type BearerFailure = TokenInvalidError | ProviderUnavailableError | ProviderError;

export type SignedIn = Extract<Authentication, { kind: 'session' | 'bearer' }>;

/** What the gate needs of an authenticator. */
export interface Authenticates {
  /** The session cookie's name: a request without it and without Authorization is anonymous at once. */
  readonly cookieName: string;
  /** Synchronous on the hot paths (a cached session, a cached token). A failing session store rejects. */
  authenticate(req: IncomingMessage, cookies: () => Readonly<Record<string, string | undefined>>): MaybePromise<Authentication>;
}

const NONE: Authentication = Object.freeze({ kind: 'none' as const });
const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});
/** For the requirements that read no subject (anonymous, signed_in): a session's is not built for them. */
const UNREAD_SUBJECT: AccessSubject = Object.freeze({ roles: Object.freeze([]), claims: EMPTY });

export class Authenticator implements Authenticates {
  constructor(
    private readonly sessions: Sessions,
    private readonly bearer: BearerTokens | undefined,
  ) {}

  get cookieName(): string {
    return this.sessions.cookie.name;
  }

  authenticate(req: IncomingMessage, cookies: () => Readonly<Record<string, string | undefined>>): MaybePromise<Authentication> {
    if (this.bearer) {
      const token = bearerTokenOf(req.headers.authorization);
      if (token !== undefined) return this.fromToken(this.bearer, token);
    }
    const resolved = this.sessions.resolve(cookies()[this.sessions.cookie.name]);
    return isPromise(resolved) ? resolved.then(fromSession) : fromSession(resolved);
  }

  private fromToken(bearer: BearerTokens, token: string): MaybePromise<Authentication> {
    try {
      const principal = bearer.authenticate(token);
      return isPromise(principal) ? principal.then(fromPrincipal, badToken) : fromPrincipal(principal);
    } catch (error) {
      return badToken(error);
    }
  }
}

/** The access rules' verdict for a signed-in sender. */
export function verdictFor(requirement: Requirement, who: SignedIn): Verdict {
  if (who.kind === 'bearer') return decide(requirement, who.subject);
  if (requirement.kind === 'anonymous' || requirement.kind === 'signed_in') return decide(requirement, UNREAD_SUBJECT);
  const { record } = who.session;
  return decide(requirement, { roles: record.roles, email: record.claims.email, claims: record.policyClaims ?? EMPTY });
}

function fromSession(session: ResolvedSession | undefined): Authentication {
  return session ? { kind: 'session', session, identity: session.identity } : NONE;
}

function fromPrincipal(principal: BearerPrincipal): Authentication {
  return { kind: 'bearer', identity: principal.identity, subject: principal.subject, sub: principal.user.sub };
}

function badToken(error: unknown): Authentication {
  if (error instanceof TokenInvalidError || error instanceof ProviderUnavailableError || error instanceof ProviderError) return { kind: 'bad_token', error };
  return { kind: 'bad_token', error: new ProviderError(error instanceof Error ? error.message : String(error), { cause: error }) };
}
