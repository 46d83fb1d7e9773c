// Builds the session store named by config.session.store (memory for one replica, redis for several).
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import { type MemoryEvictReason, MemoryStore } from './memory-store.js';
import type { RedisTarget } from './redis-connection.js';
import type { RedisTlsOptions } from './redis-connection.js';
import type { RedisStoreErrorKind } from './redis-store.js';
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

/** Reads session.redis.tls.* (PEM files); an unreadable file is a config error naming its key. */
export function readRedisTls(tls: Config['session']['redis']['tls']): RedisTlsOptions {
  const problems: string[] = [];
  const read = (key: keyof typeof tls): string | undefined => {
    const file = tls[key];
    if (!file) return undefined;
    try {
      const text = readFileSync(file, 'utf8');
      if (!text.includes('-----BEGIN ')) problems.push(`session.redis.tls.${key}: ${file} holds no PEM block`);
      return text;
    } catch (error) {
      problems.push(`session.redis.tls.${key}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  };
  const options: RedisTlsOptions = { ca: read('ca_file'), cert: read('cert_file'), key: read('key_file') };
  if (problems.length > 0) throw new ConfigError(problems);
  return options;
}

/** session.redis.url, .sentinel or .cluster (the schema lets exactly one be set; url is the default). */
export function redisTarget(redis: Config['session']['redis']): RedisTarget {
  if (redis.sentinel.nodes.length > 0) {
    const nodes = redis.sentinel.nodes.map((node) => {
      const colon = node.lastIndexOf(':');
      return { host: node.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(node.slice(colon + 1)) };
    });
    const { username, password } = redis.sentinel;
    const auth = username || password ? { auth: { username, password } } : {};
    return { kind: 'sentinel', name: redis.sentinel.name, nodes, tls: redis.sentinel.tls, ...auth };
  }
  if (redis.cluster.nodes.length > 0) return { kind: 'cluster', urls: redis.cluster.nodes };
  return { kind: 'node', url: redis.url };
}

/** For redis, resolves once connected or after the first failed attempt (the store then keeps reconnecting). */
export async function createSessionStore(config: Config, deps: SessionStoreDeps): Promise<ReadySessionStore> {
  const session = config.session;
  if (session.store === 'memory') {
    return new MemoryStore({
      maxSessions: session.max_sessions,
      hotSessions: session.hot_sessions,
      idleTimeoutMs: session.idle_timeout,
      now: deps.now,
      onEvict: deps.onEvict,
    });
  }
  // Loaded only here: the Redis client costs 6 to 12 MiB of RSS at start that a memory-store replica never uses.
  const { RedisStore } = await import('./redis-store.js');
  const store = new RedisStore({
    target: redisTarget(session.redis),
    username: session.redis.username,
    password: session.redis.password,
    tls: readRedisTls(session.redis.tls),
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
