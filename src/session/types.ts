// What a session is and how stores keep it; memory and Redis stores implement SessionStore.

/** The identity claims gatehouse keeps and passes on (never the whole token payload). */
export interface IdentityClaims {
  sub: string;
  email?: string;
  name?: string;
  preferred_username?: string;
}

/** A signed-in session as persisted (memory or Redis). Times are epoch milliseconds. */
export interface SessionRecord {
  /** Store key: keyed hash of the session id, never the cookie value itself. */
  key: string;
  claims: IdentityClaims;
  /** App roles after mapping. */
  roles: readonly string[];
  /** The claims access rules read (email_verified, claim paths of rules), kept from sign-in/refresh; absent: none. */
  policyClaims?: Record<string, unknown>;
  /** Provider session id (`sid`), for back-channel logout. */
  sid?: string;
  idToken: string;
  accessToken?: string;
  refreshToken?: string;
  /** When the earliest of the access token and ID token expires. With a refresh token the session must be renewed by then; without one, only session.ttl and idle_timeout end it. */
  tokensExpireAt: number;
  createdAt: number;
  /** Absolute end: createdAt + session.ttl. */
  expiresAt: number;
  lastSeenAt: number;
  /** When tokens and roles are next renewed (refresh token present). */
  refreshAt: number;
}

/**
 * Session storage. `peek` is the synchronous hot path (the in-process cache); `get` may ask a shared store.
 * Every method takes the store key (see session-cookie.ts), never a cookie value.
 */
export interface SessionStore {
  peek(key: string): SessionRecord | undefined;
  get(key: string): Promise<SessionRecord | undefined>;
  /** The record as the shared store holds it now, past this process's cache: what refresh decisions under the lock read. */
  reload(key: string): Promise<SessionRecord | undefined>;
  set(record: SessionRecord): Promise<void>;
  /** Records activity for the sliding idle timeout; cheap, may be batched by shared stores. */
  touch(record: SessionRecord, now: number): void;
  delete(key: string): Promise<void>;
  /** Ends every session of a provider session id (back-channel logout); returns how many ended. */
  deleteBySid(sid: string): Promise<number>;
  /** Ends every session of a subject (back-channel logout without sid); returns how many ended. */
  deleteBySub(sub: string): Promise<number>;
  /** Runs `task` at most once at a time per key (single-flight refresh), across replicas when the store is shared. */
  withLock<T>(key: string, task: () => Promise<T>): Promise<T | undefined>;
  /**
   * Records a one-time identifier (a logout token's jti) for `ttlMs`; true the first time, false while it is
   * remembered. Shared by every replica when the store is shared, so a replay to another replica is refused too.
   */
  claimOnce(id: string, ttlMs: number): Promise<boolean>;
  /** Number of sessions held in this process. */
  readonly size: number;
  close(): Promise<void>;
}

/** The identity a session keeps from the ID token's claims: sub, and email, name and preferred_username when set. */
export function identityClaims(claims: Record<string, unknown>): IdentityClaims {
  const pick = (name: string): string | undefined => (typeof claims[name] === 'string' && claims[name] !== '' ? (claims[name] as string) : undefined);
  return { sub: String(claims.sub), email: pick('email'), name: pick('name'), preferred_username: pick('preferred_username') };
}
