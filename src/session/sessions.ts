// Session lifecycle: create at sign-in, resolve per request (hot path), refresh tokens and roles, end.
import { LRUCache } from 'lru-cache';
import { pickClaims } from '../authorize/access-rules.js';
import { ProviderRefusedError, ProviderUnavailableError } from '../errors.js';
import type { AssertionSigner } from '../identity/assertion.js';
import { ACCESS_TOKEN_HEADER, buildIdentityHeaders, type IdentityHeaderNames } from '../identity/headers.js';
import { appRoles, type RoleSource } from '../identity/roles.js';
import type { Logger } from '../ops/logger.js';
import { compactRecord } from './compact-record.js';
import type { SessionCookie } from './session-cookie.js';
import { identityClaims, type SessionRecord, type SessionStore } from './types.js';
import type { Provider, ProviderTokens } from '../authenticate/provider.js';
import type { MaybePromise } from '../maybe-promise.js';

export interface SessionEvents {
  refresh?(outcome: 'ok' | 'invalid_grant' | 'provider_unavailable' | 'error'): void;
  cookieRejected?(reason: string): void;
}

/** A session resolved for one request: its record and the identity headers to append (precomputed per record). */
export interface ResolvedSession {
  record: SessionRecord;
  identity: readonly string[];
  /** roles.required and the user has no app role. */
  denied: boolean;
}

export interface SessionsOptions {
  /** session.ttl: a session ends this long after sign-in, however active. */
  ttlMs: number;
  /** session.refresh_before: tokens are renewed this long before they expire. */
  refreshBeforeMs: number;
  /** session.refresh_interval: tokens and roles are renewed at least this often. */
  refreshIntervalMs: number;
  /** session.hot_sessions: how many records keep their identity headers computed. */
  hotSessions: number;
  identityHeaders: IdentityHeaderNames;
  /** identity.pass_access_token */
  passAccessToken: boolean;
  roles: RoleSource & {
    /** roles.required: a session without an app role is denied. */
    required: boolean;
  };
  /** Top-level claims the access rules read, kept in the record so rules can be evaluated at every request. */
  policyClaimKeys: readonly string[];
  /** sso.scopes has offline_access: a sign-in without a refresh token gets a warning. */
  offlineAccess: boolean;
  now?: () => number;
  /** Waits `ms` before a replica that found the refresh lock held re-reads the record; default a timer. */
  wait?: (ms: number) => Promise<void>;
}

/** What sessions ask of the provider client. */
export type TokenRefresher = Pick<Provider, 'refresh'>;

/** A replica that finds the refresh lock held by another replica waits this long, then re-reads the record. */
const LOCK_HELD_WAIT_MS = 200;
/** After a refresh failed for a reason other than invalid_grant, the next attempt (capped at token expiry). */
const REFRESH_RETRY_MS = 30_000;

interface Derived {
  /** Identity headers, and the assertion header last when `assertion` is set (one array per hot session, not two). */
  headers: string[];
  assertion?: string;
}

export class Sessions {
  /** Per-record header values and assertion list, for the recently active sessions (session.hot_sessions). */
  private readonly derived: LRUCache<SessionRecord, Derived>;
  private readonly names: IdentityHeaderNames;
  private readonly now: () => number;
  private readonly wait: (ms: number) => Promise<void>;

  constructor(
    private readonly options: SessionsOptions,
    readonly store: SessionStore,
    readonly cookie: SessionCookie,
    private readonly provider: TokenRefresher,
    private readonly signer: AssertionSigner | undefined,
    private readonly deps: { logger: Logger; events?: SessionEvents },
  ) {
    this.derived = new LRUCache({ max: options.hotSessions });
    this.names = options.identityHeaders;
    this.now = options.now ?? Date.now;
    this.wait = options.wait ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  private policyClaims(claims: Record<string, unknown>): Record<string, unknown> | undefined {
    const keys = this.options.policyClaimKeys;
    return keys.length === 0 ? undefined : pickClaims(claims, keys);
  }

  /** Builds and stores a new session (a new id at every sign-in); returns the cookie value to set. */
  async create(tokens: ProviderTokens): Promise<{ record: SessionRecord; cookieValue: string }> {
    const { value, key } = this.cookie.issue();
    const now = this.now();
    const record = compactRecord({
      key,
      claims: identityClaims(tokens.claims),
      roles: await appRoles(tokens, this.options.roles),
      policyClaims: this.policyClaims(tokens.claims),
      sid: typeof tokens.claims.sid === 'string' ? tokens.claims.sid : undefined,
      idToken: tokens.idToken,
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      tokensExpireAt: tokens.expiresAt,
      createdAt: now,
      expiresAt: now + this.options.ttlMs,
      lastSeenAt: now,
      refreshAt: this.nextRefresh(tokens, now),
    });
    if (!tokens.refreshToken && this.options.offlineAccess) {
      this.deps.logger.warn(
        { sub: record.claims.sub },
        'provider issued no refresh token although offline_access was requested; roles are read only at sign-in',
      );
    }
    await this.signer?.prepare(record);
    await this.store.set(record);
    return { record, cookieValue: value };
  }

  /**
   * The session for a cookie value. Synchronous when the record is in the process cache and needs no refresh
   * (the hot path); otherwise a promise. Undefined: no valid session.
   */
  resolve(cookieValue: string | undefined): MaybePromise<ResolvedSession | undefined> {
    const verdict = this.cookie.verify(cookieValue);
    if (!verdict) return undefined;
    if ('rejected' in verdict) {
      this.deps.events?.cookieRejected?.(verdict.rejected);
      return undefined;
    }
    const cached = this.store.peek(verdict.key);
    if (cached) return this.admit(cached);
    return this.store.get(verdict.key).then((record) => (record ? this.admit(record) : undefined));
  }

  private admit(record: SessionRecord): MaybePromise<ResolvedSession | undefined> {
    const now = this.now();
    if (now >= record.expiresAt) {
      this.end(record).catch((error: unknown) => this.backgroundFailed(record, 'ending an expired session', error));
      return undefined;
    }
    this.store.touch(record, now);
    // refreshAt first: reading a token decodes it, which the hot path should not do
    if (now >= record.refreshAt && record.refreshToken) {
      if (now < record.tokensExpireAt) {
        // tokens still valid: this request goes on with the current record while the refresh runs
        this.refresh(record).catch((error: unknown) => this.backgroundFailed(record, 'session refresh', error));
      } else {
        return this.refresh(record).then((fresh) => (fresh ? this.resolved(fresh) : undefined));
      }
    }
    return this.resolved(record);
  }

  /** Identity headers for the record, computed once per record; the assertion is signed once and reused. */
  private resolved(record: SessionRecord): MaybePromise<ResolvedSession> {
    let derived = this.derived.get(record);
    if (!derived) {
      const headers = buildIdentityHeaders(record.claims, record.roles, this.names, (header) =>
        this.deps.logger.warn({ header, sub: record.claims.sub }, 'identity header value over 4 KiB cut'),
      );
      // A renewed record is a new object, so the header always carries the current (refreshed) token.
      if (this.options.passAccessToken && record.accessToken) headers.push(ACCESS_TOKEN_HEADER, record.accessToken);
      derived = { headers, assertion: undefined };
      this.derived.set(record, derived);
    }
    const denied = this.options.roles.required && record.roles.length === 0;
    if (!this.signer) return { record, identity: derived.headers, denied };
    const assertion = this.signer.current(record);
    if (assertion === undefined) return this.signer.prepare(record).then((token) => ({ record, identity: this.withAssertion(derived, token), denied }));
    return { record, identity: this.withAssertion(derived, assertion), denied };
  }

  private withAssertion(derived: Derived, assertion: string): readonly string[] {
    if (derived.assertion !== assertion) {
      const base = derived.assertion === undefined ? derived.headers : derived.headers.slice(0, -2);
      // concat sizes the array exactly; a spread leaves room for ~64 elements, 200 bytes per hot session
      derived.headers = base.concat(this.names.assertion, assertion);
      derived.assertion = assertion;
    }
    return derived.headers;
  }

  /**
   * Renews tokens, claims and roles once per session at a time (across replicas with a shared store); undefined when
   * the session ended. A replica that finds the lock held elsewhere waits for the holder and re-reads the record.
   */
  async refresh(record: SessionRecord): Promise<SessionRecord | undefined> {
    const outcome = await this.store.withLock(record.key, async () => ({ record: await this.renewLatest(record) }));
    if (outcome) return outcome.record;
    await this.wait(LOCK_HELD_WAIT_MS);
    return this.store.reload(record.key);
  }

  /** Under the lock: the stored record may already be renewed (by an earlier holder) or ended (logout meanwhile). */
  private async renewLatest(record: SessionRecord): Promise<SessionRecord | undefined> {
    const current = await this.store.reload(record.key);
    if (!current) return undefined;
    if (current !== record && current.refreshAt > this.now()) return current;
    return this.renew(current);
  }

  private async renew(record: SessionRecord): Promise<SessionRecord | undefined> {
    const refreshToken = record.refreshToken;
    if (!refreshToken) return record;
    try {
      const tokens = await this.provider.refresh(refreshToken, { sub: record.claims.sub, idToken: record.idToken });
      const now = this.now();
      const updated = compactRecord({
        ...record,
        claims: identityClaims({ ...tokens.claims, sub: record.claims.sub }),
        roles: await appRoles(tokens, this.options.roles),
        policyClaims: this.policyClaims(tokens.claims),
        idToken: tokens.idToken,
        accessToken: tokens.accessToken ?? record.accessToken,
        refreshToken: tokens.refreshToken ?? refreshToken,
        tokensExpireAt: tokens.expiresAt,
        refreshAt: this.nextRefresh(tokens, now),
      });
      await this.signer?.prepare(updated);
      await this.store.set(updated);
      this.deps.events?.refresh?.('ok');
      this.deps.logger.debug({ sub: record.claims.sub }, 'session refreshed');
      return updated;
    } catch (error) {
      if (error instanceof ProviderRefusedError && error.oauthError === 'invalid_grant') return this.refused(record, refreshToken);
      const unavailable = error instanceof ProviderUnavailableError;
      this.deps.events?.refresh?.(unavailable ? 'provider_unavailable' : 'error');
      const now = this.now();
      if (now >= record.tokensExpireAt) {
        this.deps.logger.warn(
          { sub: record.claims.sub, err: error instanceof Error ? error.message : String(error) },
          'session refresh failed and its tokens have expired; session ended',
        );
        await this.end(record);
        return undefined;
      }
      this.deps.logger.warn(
        { sub: record.claims.sub, err: error instanceof Error ? error.message : String(error), tokensExpireAt: new Date(record.tokensExpireAt).toISOString() },
        'session refresh failed; the session stays valid until its tokens expire',
      );
      // retried later, but never after the tokens expire: the request at expiry must refresh or end the session
      // spelled out: a compact record's tokens are accessors, which a spread does not copy
      const retry = compactRecord({
        ...record,
        idToken: record.idToken,
        accessToken: record.accessToken,
        refreshToken: record.refreshToken,
        refreshAt: Math.min(now + REFRESH_RETRY_MS, record.tokensExpireAt),
      });
      await this.store.set(retry);
      return retry;
    }
  }

  /** invalid_grant: unless another replica already rotated the refresh token (its record wins), the session ends. */
  private async refused(record: SessionRecord, usedRefreshToken: string): Promise<SessionRecord | undefined> {
    const latest = await this.store.reload(record.key);
    if (latest && latest.refreshToken !== undefined && latest.refreshToken !== usedRefreshToken) return latest;
    this.deps.events?.refresh?.('invalid_grant');
    this.deps.logger.info({ sub: record.claims.sub }, 'refresh refused by the provider (invalid_grant); session ended');
    await this.end(record);
    return undefined;
  }

  private backgroundFailed(record: SessionRecord, what: string, error: unknown): void {
    this.deps.logger.warn({ sub: record.claims.sub, err: error instanceof Error ? error.message : String(error) }, `${what} failed`);
  }

  /** Ends the session a cookie names, if any (a new sign-in in the same browser replaces the old session). */
  async endCookie(cookieValue: string | undefined): Promise<void> {
    const verdict = this.cookie.verify(cookieValue);
    if (!verdict || 'rejected' in verdict) return;
    this.cookie.forget(cookieValue as string);
    await this.endKey(verdict.key);
  }

  end(record: SessionRecord): Promise<void> {
    return this.endKey(record.key, record);
  }

  /** Removes the session and what the hot caches hold for it, so an ended session keeps no memory. */
  private async endKey(key: string, record = this.store.peek(key)): Promise<void> {
    this.signer?.forget(key);
    if (record) this.derived.delete(record);
    await this.store.delete(key);
  }

  private nextRefresh(tokens: ProviderTokens, now: number): number {
    return Math.min(tokens.expiresAt - this.options.refreshBeforeMs, now + this.options.refreshIntervalMs);
  }
}
