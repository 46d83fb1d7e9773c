// API clients with `Authorization: Bearer <access token>` (bearer.*): a verified token becomes the same identity a
// session gives (roles mapping, identity headers, signed assertion with auth "bearer"), never a session. A token
// seen within bearer.cache_ttl (and before its exp) is taken from a cache keyed by its SHA-256, so it costs no
// signature check or introspection; the token itself is never kept as a key nor logged.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config/schema.js';
import { TokenInvalidError } from '../errors.js';
import type { AssertionSigner, AssertionSubject } from '../identity/assertion.js';
import { buildIdentityHeaders, namesOnTheWire, type IdentityHeaderNames } from '../identity/headers.js';
import { compileRolePolicy, fetchUrlRoles, mapRoles, readClaimRoles, type RolePolicy } from '../identity/roles.js';
import type { Logger } from '../ops/logger.js';
import type { IdentityClaims } from '../session/types.js';
import type { AccessSubject } from './access-rules.js';
import type { MaybePromise } from '../maybe-promise.js';

/** What a verifier vouches for: the token's claims and when it stops being valid (epoch ms). */
export interface VerifiedToken {
  claims: Record<string, unknown>;
  expiresAt: number;
}

/** Checks a token (signature or introspection); throws TokenInvalidError for a bad token. */
export interface TokenVerifier {
  verify(token: string): Promise<VerifiedToken>;
}

/** A request admitted by its bearer token. */
export interface BearerPrincipal {
  /** Flat [name, value, …] identity headers, the assertion included when on. */
  readonly identity: readonly string[];
  readonly subject: AccessSubject;
  readonly user: IdentityClaims;
}

interface Entry {
  subject: AssertionSubject;
  access: AccessSubject;
  headers: string[];
  validUntil: number;
  assertion?: string;
  withAssertion?: string[];
}

const BEARER_PREFIX = /^bearer +/i;
/** RFC 6750 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** The token of an `Authorization: Bearer …` header; undefined for another scheme or none; '' for a malformed one. */
export function bearerTokenOf(authorization: string | undefined): string | undefined {
  if (authorization === undefined || !BEARER_PREFIX.test(authorization)) return undefined;
  const token = authorization.replace(BEARER_PREFIX, '').trim();
  return B64TOKEN.test(token) ? token : '';
}

export class BearerTokens {
  private readonly cache: LRUCache<string, Entry>;
  private readonly policy: RolePolicy;
  private readonly names: IdentityHeaderNames;
  private readonly now: () => number;

  constructor(
    private readonly config: Config,
    private readonly deps: { verifier: TokenVerifier; signer?: AssertionSigner | undefined; now?: () => number; fetch?: typeof fetch; logger?: Logger },
  ) {
    this.cache = new LRUCache({ max: config.session.hot_sessions });
    this.policy = compileRolePolicy(config.roles);
    this.names = namesOnTheWire(config.identity.headers);
    this.now = deps.now ?? Date.now;
  }

  /** The principal for a token: synchronous when cached (the hot path); throws/rejects with a GatehouseError otherwise. */
  authenticate(token: string): MaybePromise<BearerPrincipal> {
    if (token === '') throw new TokenInvalidError('malformed bearer token');
    const key = createHash('sha256').update(token).digest('base64url');
    const cached = this.cache.get(key);
    if (cached !== undefined && this.now() < cached.validUntil) return this.principal(cached);
    return this.verify(token, key).then(
      (entry) => this.principal(entry),
      (error: unknown) => {
        this.report(error);
        throw error;
      },
    );
  }

  /** Why a token failed, for operators: the check that failed (never the token); provider trouble at warn. */
  private report(error: unknown): void {
    const logger = this.deps.logger;
    if (!logger) return;
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof TokenInvalidError) logger.debug({ reason }, 'bearer token refused');
    else logger.warn({ reason }, 'bearer token could not be checked');
  }

  private async verify(token: string, key: string): Promise<Entry> {
    const verified = await this.deps.verifier.verify(token);
    const claims = identityClaims(verified.claims);
    const roles = mapRoles(await this.providerRoles(verified.claims, token), this.policy);
    const headers = buildIdentityHeaders(claims, roles, this.names);
    const entry: Entry = {
      subject: { key: `bearer:${key}`, claims, roles, auth: 'bearer' },
      access: { roles, email: claims.email, claims: verified.claims },
      headers,
      validUntil: Math.min(this.now() + this.config.bearer.cache_ttl, verified.expiresAt),
    };
    this.cache.set(key, entry);
    return entry;
  }

  private providerRoles(claims: Record<string, unknown>, token: string): MaybePromise<string[]> {
    const { roles, sso } = this.config;
    if (roles.source === 'url') return fetchUrlRoles(roles.url, token, this.deps.fetch ?? fetch, sso.timeout);
    return readClaimRoles(claims, roles.claim);
  }

  private principal(entry: Entry): MaybePromise<BearerPrincipal> {
    const signer = this.deps.signer;
    if (!signer) return { identity: entry.headers, subject: entry.access, user: entry.subject.claims };
    const assertion = signer.current(entry.subject);
    if (assertion === undefined)
      return signer.prepare(entry.subject).then((token) => ({ identity: this.withAssertion(entry, token), subject: entry.access, user: entry.subject.claims }));
    return { identity: this.withAssertion(entry, assertion), subject: entry.access, user: entry.subject.claims };
  }

  private withAssertion(entry: Entry, assertion: string): string[] {
    if (entry.assertion !== assertion || entry.withAssertion === undefined) {
      entry.assertion = assertion;
      entry.withAssertion = [...entry.headers, this.names.assertion, assertion];
    }
    return entry.withAssertion;
  }
}

function identityClaims(claims: Record<string, unknown>): IdentityClaims {
  const pick = (name: string): string | undefined => (typeof claims[name] === 'string' && claims[name] !== '' ? (claims[name] as string) : undefined);
  return { sub: String(claims['sub']), email: pick('email'), name: pick('name'), preferred_username: pick('preferred_username') };
}
