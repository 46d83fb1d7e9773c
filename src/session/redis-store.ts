// Sessions shared by every replica through Redis: sealed values with TTLs, a short in-process cache in front,
// eviction of that cache on every replica over pub/sub, and a short cross-replica lock for single-flight refresh.
import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { StoreUnavailableError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import { connectRedis, targetOf, type RedisConnectOptions } from './redis-connect.js';
import type { RedisConnection } from './redis-connection.js';
import type { Sealer } from './sealer.js';
import { INDEX_ADD, RELEASE_LOCK, RedisKeys } from './redis-keys.js';
import { SingleFlight } from './single-flight.js';
import { TouchBatcher } from './touch-batcher.js';
import type { SessionRecord, SessionStore } from './types.js';

export type RedisStoreErrorKind = 'connection' | 'command';

export interface RedisStoreOptions extends RedisConnectOptions {
  /** Prefix of every key and of the eviction channel, e.g. `gatehouse:`. */
  prefix: string;
  /** Lifetime of the in-process cache entries (how stale another replica's change can be seen, at most). */
  cacheTtlMs: number;
  /** Most sessions in the in-process cache. Default 10 000. */
  cacheMax?: number;
  idleTimeoutMs: number;
  sealer: Sealer;
  logger: Logger;
  onError?: (kind: RedisStoreErrorKind) => void;
  onReadyChange?: (ready: boolean) => void;
  /** Clock in epoch milliseconds (injected by tests). */
  now?: () => number;
  /** Lifetime of a refresh lock, in case its holder dies. Default 10 s. */
  lockTtlMs?: number;
}

const SEAL_PURPOSE = 'session-store';
const MAX_TOUCH_INTERVAL_MS = 30_000;
/**
 * `peek` reads only the in-process cache; `get` falls back to Redis and throws GH_STORE_UNAVAILABLE when Redis cannot
 * answer. `withLock`: concurrent calls in this process share one run; a replica that finds the lock held by another
 * replica gets undefined at once, and should re-read the record (`get`) after a short wait, when the holder has stored it.
 */
export class RedisStore implements SessionStore {
  private readonly redis: RedisConnection;
  private readonly cache: LRUCache<string, SessionRecord>;
  private readonly keys: RedisKeys;
  private readonly lockTtlMs: number;
  private readonly now: () => number;
  /** Marks messages this replica published, which it ignores (its own cache is already up to date). */
  private readonly origin = randomBytes(12).toString('base64url');
  private readonly touches: TouchBatcher;
  private readonly flights = new SingleFlight();
  /** Counts eviction messages, so a load that raced with one is not cached. */
  private evictions = 0;
  private isReady = false;
  private closed = false;
  private connecting = false;

  constructor(private readonly options: RedisStoreOptions) {
    this.keys = new RedisKeys(options.prefix, targetOf(options).kind === 'cluster');
    this.touches = new TouchBatcher({
      intervalMs: Math.min(options.idleTimeoutMs / 10, MAX_TOUCH_INTERVAL_MS),
      extend: (records) => this.extendTtls(records),
    });
    this.lockTtlMs = options.lockTtlMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.cache = new LRUCache<string, SessionRecord>({ max: options.cacheMax ?? 10_000, ttl: Math.max(1, options.cacheTtlMs) });
    this.redis = connectRedis(options, {
      channel: this.keys.evictionChannel,
      onMessage: (message) => this.evicted(message),
      onError: (error) => this.connectionFailed(error),
      onReadyChange: (ready, resync) => this.readyChanged(ready, resync),
    });
  }

  /** Redis answers and evictions from other replicas arrive. */
  get ready(): boolean {
    return this.isReady;
  }

  /** Sessions in the in-process cache. */
  get size(): number {
    return this.cache.size;
  }

  /**
   * Starts both connections; resolves once connected or after the first failure. It never rejects: the store then
   * stays not ready and keeps reconnecting with capped exponential backoff until `close`.
   */
  async connect(): Promise<void> {
    this.connecting = true;
    await this.redis.connect();
    this.connecting = false;
  }

  peek(key: string): SessionRecord | undefined {
    const record = this.cache.get(key);
    if (record === undefined) return undefined;
    const now = this.now();
    if (now < record.expiresAt && now < record.lastSeenAt + this.options.idleTimeoutMs) return record;
    this.cache.delete(key);
    return undefined;
  }

  async get(key: string): Promise<SessionRecord | undefined> {
    const cached = this.peek(key);
    if (cached !== undefined) return cached;
    const evictionsBefore = this.evictions;
    const sessionKey = this.keys.session(key);
    const [sealed, ttl] = await this.command(() =>
      Promise.all([this.redis.send(sessionKey, ['GET', sessionKey]) as Promise<string | null>, this.redis.send(sessionKey, ['PTTL', sessionKey]).then(Number)]),
    );
    if (sealed === null || ttl === -2) return undefined;
    const record = this.options.sealer.unseal<SessionRecord>(sealed, SEAL_PURPOSE);
    const now = this.now();
    if (record === undefined || record.key !== key || now >= record.expiresAt) return undefined;
    if (ttl > 0) {
      // Redis's TTL enforces the idle timeout (touch extends it without rewriting the value): it tells when the
      // session was last known active, which the stored lastSeenAt does not.
      const lastExtended = now + ttl - this.options.idleTimeoutMs;
      if (lastExtended > record.lastSeenAt) record.lastSeenAt = lastExtended;
      this.touches.extended(record, lastExtended);
    }
    if (this.evictions === evictionsBefore) this.cache.set(key, record);
    return record;
  }

  /**
   * Reads Redis, not the cache: another replica's refresh may have stored a rotated refresh token whose eviction
   * message has not arrived yet, and presenting the old one again makes the provider revoke the whole grant.
   */
  reload(key: string): Promise<SessionRecord | undefined> {
    this.cache.delete(key);
    return this.get(key);
  }

  /** Stores the record in Redis (replacing it on every replica's cache) and in this replica's cache. */
  async set(record: SessionRecord): Promise<void> {
    const now = this.now();
    const ttl = this.remainingMs(record, now);
    if (ttl <= 0) return this.delete(record.key);
    const sealed = this.options.sealer.seal(record, SEAL_PURPOSE);
    const indexTtl = String(record.expiresAt - now);
    const indexes = [this.keys.sub(record.claims.sub), ...(record.sid === undefined ? [] : [this.keys.sid(record.sid)])];
    const sessionKey = this.keys.session(record.key);
    const indexWrites = indexes.map((index) => ['EVAL', INDEX_ADD, '1', index, record.key, indexTtl]);
    const sessionWrites = [
      ['SET', sessionKey, sealed, 'PX', String(ttl)],
      ['PUBLISH', this.keys.evictionChannel, this.evictMessage([record.key])],
    ];
    if (!this.redis.sharded) {
      await this.command(() => this.redis.transaction(sessionKey, [...indexWrites, ...sessionWrites]));
    } else {
      // The indexes live in other hash slots than the session (other nodes), so they are written first: a session
      // that exists is always found by a logout by sid or sub; an index entry without its session is harmless.
      await this.command(() => Promise.all(indexWrites.map((args) => this.redis.send(args[3] as string, args))));
      await this.command(() => this.redis.transaction(sessionKey, sessionWrites));
    }
    this.cache.set(record.key, record);
    // the TTL just written covers idle time from lastSeenAt on
    this.touches.extended(record, record.lastSeenAt);
  }

  /** Marks activity; the Redis TTL is extended at most once per min(idle/10, 30 s) per session, in batches. */
  touch(record: SessionRecord, now: number): void {
    record.lastSeenAt = now;
    this.touches.touch(record, now);
  }

  async delete(key: string): Promise<void> {
    this.cache.delete(key);
    const sessionKey = this.keys.session(key);
    await this.command(() =>
      this.redis.transaction(sessionKey, [
        ['DEL', sessionKey],
        ['PUBLISH', this.keys.evictionChannel, this.evictMessage([key])],
      ]),
    );
  }

  deleteBySid(sid: string): Promise<number> {
    return this.deleteIndexed(this.keys.sid(sid));
  }

  deleteBySub(sub: string): Promise<number> {
    return this.deleteIndexed(this.keys.sub(sub));
  }

  withLock<T>(key: string, task: () => Promise<T>): Promise<T | undefined> {
    return this.flights.run(key, async (): Promise<T | undefined> => {
      const lockKey = this.keys.lock(key);
      const token = randomBytes(16).toString('base64url');
      const acquired = await this.command(() => this.redis.send(lockKey, ['SET', lockKey, token, 'NX', 'PX', String(this.lockTtlMs)]));
      if (acquired === null) return undefined;
      try {
        return await task();
      } finally {
        await this.redis.send(lockKey, ['EVAL', RELEASE_LOCK, '1', lockKey, token]).catch((error: unknown) => this.commandFailed(error));
      }
    });
  }

  /** SET NX with a TTL: the first replica to claim an id wins, every later claim (on any replica) is refused. */
  async claimOnce(id: string, ttlMs: number): Promise<boolean> {
    const onceKey = this.keys.once(id);
    const claimed = await this.command(() => this.redis.send(onceKey, ['SET', onceKey, '1', 'NX', 'PX', String(Math.max(1, Math.ceil(ttlMs)))]));
    return claimed !== null;
  }

  /** Sends pending TTL extensions, then closes both connections (stopping any reconnect loop). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.touches.flush();
    this.closed = true;
    this.cache.clear();
    await this.redis.close();
  }

  private async deleteIndexed(indexKey: string): Promise<number> {
    const keys = (await this.command(() => this.redis.send(indexKey, ['SMEMBERS', indexKey]))) as string[];
    if (keys.length === 0) return 0;
    for (const key of keys) this.cache.delete(key);
    // one DEL per session: on a cluster each lives in its own slot
    const deleted = await this.command(() => Promise.all(keys.map((key) => this.redis.send(this.keys.session(key), ['DEL', this.keys.session(key)]))));
    await this.command(() =>
      this.redis.transaction(indexKey, [
        ['SREM', indexKey, ...keys],
        ['PUBLISH', this.keys.evictionChannel, this.evictMessage(keys)],
      ]),
    );
    return deleted.reduce<number>((sum, count) => sum + Number(count), 0);
  }

  private async extendTtls(records: SessionRecord[]): Promise<void> {
    // while disconnected the extensions are dropped; the next touch after the interval tries again
    if (!this.redis.canSend) return;
    const now = this.now();
    const extensions = records
      .map((record) => [this.keys.session(record.key), this.remainingMs(record, now)] as const)
      .filter(([, ttl]) => ttl > 0)
      .map(([sessionKey, ttl]) => this.redis.send(sessionKey, ['PEXPIRE', sessionKey, String(ttl)]).catch((error: unknown) => this.commandFailed(error)));
    await Promise.all(extensions);
  }

  /** Runs a Redis command; any failure becomes GH_STORE_UNAVAILABLE (the caller answers 503). */
  private async command<T>(run: () => Promise<T>): Promise<T> {
    if (!this.redis.canSend) throw new StoreUnavailableError('session store (Redis) is not connected');
    try {
      return await run();
    } catch (error) {
      this.commandFailed(error);
      throw new StoreUnavailableError('session store (Redis) command failed', { cause: error });
    }
  }

  private commandFailed(error: unknown): void {
    this.options.onError?.('command');
    this.options.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'session store (Redis) command failed');
  }

  private connectionFailed(error: unknown): void {
    this.options.onError?.('connection');
    if (this.isReady || this.connecting) {
      this.options.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'session store (Redis) unavailable; reconnecting');
    }
  }

  private evicted(message: string): void {
    const keys = message.split(' ');
    if (keys[0] === this.origin) return;
    this.evictions++;
    for (let i = 1; i < keys.length; i++) this.cache.delete(keys[i] as string);
  }

  private readyChanged(ready: boolean, resync: boolean): void {
    if (ready === this.isReady || (ready && this.closed)) return;
    this.isReady = ready;
    if (ready) {
      // evictions published while the subscription was down were missed: forget everything cached
      if (resync) {
        this.evictions++;
        this.cache.clear();
      }
      this.options.logger.info('session store (Redis) connected');
    }
    this.options.onReadyChange?.(ready);
  }

  /** Time until the session ends by ttl or idle timeout, whichever comes first. */
  private remainingMs(record: SessionRecord, now: number): number {
    return Math.min(record.expiresAt, record.lastSeenAt + this.options.idleTimeoutMs) - now;
  }

  private evictMessage(keys: readonly string[]): string {
    return `${this.origin} ${keys.join(' ')}`;
  }
}
