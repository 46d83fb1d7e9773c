// Builds the session store named by config.session.store (memory for one replica, redis for several).
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import { type MemoryEvictReason, MemoryStore } from './memory-store.js';
import { RedisStore, type RedisStoreErrorKind } from './redis-store.js';
import type { Sealer } from './sealer.js';
import type { SessionStore } from './types.js';

/** A store that also says whether it can serve (always true for memory; Redis reachable for redis). */
export type ReadySessionStore = SessionStore & { readonly ready: boolean };

export interface SessionStoreDeps {
  sealer: Sealer;
  logger: Logger;
  now?: () => number;
  /** Redis only: called when the store becomes reachable or unreachable (feeds /readyz). */
  onReadyChange?: (ready: boolean) => void;
  /** Redis only: every connection or command failure (feeds a metric). */
  onError?: (kind: RedisStoreErrorKind) => void;
  /** Memory only: every session that left the store by capacity, ttl or idle timeout (feeds a metric). */
  onEvict?: (reason: MemoryEvictReason) => void;
}

/** For redis, resolves once connected or after the first failed attempt (the store then keeps reconnecting). */
export async function createSessionStore(config: Config, deps: SessionStoreDeps): Promise<ReadySessionStore> {
  const session = config.session;
  if (session.store === 'memory') {
    return new MemoryStore({
      maxSessions: session.max_sessions,
      idleTimeoutMs: session.idle_timeout,
      now: deps.now,
      onEvict: deps.onEvict,
    });
  }
  const store = new RedisStore({
    url: session.redis.url,
    prefix: session.redis.prefix,
    cacheTtlMs: session.redis.cache_ttl,
    cacheMax: session.max_sessions,
    idleTimeoutMs: session.idle_timeout,
    sealer: deps.sealer,
    logger: deps.logger.child({ component: 'session-store' }),
    now: deps.now,
    onReadyChange: deps.onReadyChange,
    onError: deps.onError,
  });
  await store.connect();
  return store;
}
