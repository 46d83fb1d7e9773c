import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import { GatehouseError } from '../../../src/errors.js';
import { createLogger } from '../../../src/ops/logger.js';
import { createSessionStore } from '../../../src/session/create-store.js';
import { RedisStore, type RedisStoreErrorKind, type RedisStoreOptions } from '../../../src/session/redis-store.js';
import { Sealer } from '../../../src/session/sealer.js';
import type { SessionRecord } from '../../../src/session/types.js';
import { redisAnswers, RedisRelay, REDIS_URL } from '../../helpers/redis-relay.js';
import { waitFor } from '../../helpers/wait.js';

const PREFIX = `gh-test-${randomBytes(6).toString('hex')}:`;
const IDLE = 60_000;
const TTL = 8 * 3600_000;
const SECRET = 'redis-store-test-secret-0123456789abcdef';

const redisUp = await redisAnswers();
const logger = createLogger({ level: 'silent', sync: true });
const sealer = new Sealer([SECRET]);
const stores: RedisStore[] = [];

function record(now: number, extra: Partial<SessionRecord> = {}): SessionRecord {
  return {
    key: randomBytes(32).toString('base64url'),
    claims: { sub: `user-${randomBytes(4).toString('hex')}`, email: 'ada@example.com', name: 'Ada' },
    roles: ['reader'],
    sid: `sid-${randomBytes(4).toString('hex')}`,
    idToken: 'eyJhbGciOiJSUzI1NiJ9.ID-TOKEN-PAYLOAD-MARKER.sig',
    accessToken: 'ACCESS-TOKEN-MARKER-123',
    refreshToken: 'REFRESH-TOKEN-MARKER-456',
    tokensExpireAt: now + 3600_000,
    createdAt: now,
    expiresAt: now + TTL,
    lastSeenAt: now,
    refreshAt: now + 300_000,
    ...extra,
  };
}

async function openStore(extra: Partial<RedisStoreOptions> = {}): Promise<RedisStore> {
  const store = new RedisStore({ url: REDIS_URL, prefix: PREFIX, cacheTtlMs: 5000, idleTimeoutMs: IDLE, sealer, logger, ...extra });
  stores.push(store);
  await store.connect();
  return store;
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

const REAL_REDIS = redisUp
  ? 'RedisStore against the real Redis at 127.0.0.1:6379'
  : 'RedisStore against the real Redis: SKIPPED, no Redis answers PING at 127.0.0.1:6379 (start one: redis-server --port 6379)';

describe.skipIf(!redisUp)(REAL_REDIS, () => {
  /** A plain client that inspects what the stores wrote. */
  const raw = createClient({ url: REDIS_URL });

  beforeAll(async () => {
    await raw.connect();
  });

  afterAll(async () => {
    const keys = await raw.keys(`${PREFIX}*`);
    if (keys.length > 0) await raw.del(keys);
    raw.destroy();
  });

  it('createSessionStore builds a connected Redis store from config', async () => {
    const config = configSchema.parse({ session: { store: 'redis', max_sessions: 10, redis: { url: REDIS_URL, prefix: PREFIX, cache_ttl: '2s' } } });
    const store = await createSessionStore(config, { sealer, logger });
    try {
      expect(store).toBeInstanceOf(RedisStore);
      expect(store.ready).toBe(true);
      const session = record(Date.now());
      await store.set(session);
      expect(await raw.exists(`${PREFIX}s:${session.key}`)).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('connects and reports ready', async () => {
    const changes: boolean[] = [];
    const store = await openStore({ onReadyChange: (ready) => changes.push(ready) });
    expect(store.ready).toBe(true);
    expect(changes).toEqual([true]);
  });

  it('shares a session between two instances', async () => {
    const a = await openStore();
    const b = await openStore();
    const session = record(Date.now());
    await a.set(session);
    expect(a.peek(session.key)).toBe(session);
    expect(b.peek(session.key)).toBeUndefined();
    const loaded = await b.get(session.key);
    expect(loaded).toEqual({ ...session, lastSeenAt: loaded?.lastSeenAt });
    expect(Math.abs((loaded?.lastSeenAt ?? 0) - session.lastSeenAt)).toBeLessThan(1000);
    expect(b.peek(session.key)).toBe(loaded);
    expect(b.size).toBe(1);
    expect(await b.get('no-such-key')).toBeUndefined();
  });

  it('stores sealed values (no JSON, no token) with TTLs on the session and its indexes', async () => {
    const store = await openStore();
    const session = record(Date.now());
    await store.set(session);
    const value = await raw.get(`${PREFIX}s:${session.key}`);
    expect(value).not.toBeNull();
    expect(value?.startsWith('v1.')).toBe(true);
    expect(() => JSON.parse(value as string)).toThrow();
    for (const secret of ['TOKEN-MARKER', 'ID-TOKEN-PAYLOAD', 'ada@example.com', session.claims.sub, 'reader']) expect(value).not.toContain(secret);
    const ttl = await raw.pTTL(`${PREFIX}s:${session.key}`);
    expect(ttl).toBeGreaterThan(IDLE - 2000);
    expect(ttl).toBeLessThanOrEqual(IDLE);
    expect(await raw.sMembers(`${PREFIX}sid:${session.sid}`)).toEqual([session.key]);
    expect(await raw.sMembers(`${PREFIX}sub:${session.claims.sub}`)).toEqual([session.key]);
    for (const index of [`${PREFIX}sid:${session.sid}`, `${PREFIX}sub:${session.claims.sub}`]) {
      const indexTtl = await raw.pTTL(index);
      expect(indexTtl).toBeGreaterThan(TTL - 5000);
      expect(indexTtl).toBeLessThanOrEqual(TTL);
    }
  });

  it('bounds the TTL by the absolute expiry and does not store an ended session', async () => {
    const store = await openStore();
    const now = Date.now();
    const ending = record(now, { expiresAt: now + 10_000 });
    await store.set(ending);
    const ttl = await raw.pTTL(`${PREFIX}s:${ending.key}`);
    expect(ttl).toBeGreaterThan(8000);
    expect(ttl).toBeLessThanOrEqual(10_000);
    const ended = record(now, { expiresAt: now - 1 });
    await store.set(ended);
    expect(await raw.exists(`${PREFIX}s:${ended.key}`)).toBe(0);
    expect(await store.get(ended.key)).toBeUndefined();
  });

  it('touch extends the Redis TTL (batched; flushed on close)', async () => {
    const now = Date.now();
    const store = await openStore({ now: () => now });
    const session = record(now, { lastSeenAt: now - 50_000 });
    await store.set(session);
    expect(await raw.pTTL(`${PREFIX}s:${session.key}`)).toBeLessThanOrEqual(10_000);
    store.touch(session, now);
    expect(session.lastSeenAt).toBe(now);
    await store.close();
    expect(await raw.pTTL(`${PREFIX}s:${session.key}`)).toBeGreaterThan(IDLE - 2000);
  });

  it('touch extends at most once per min(idle/10, 30 s) per session', async () => {
    const now = Date.now();
    const store = await openStore({ now: () => now });
    const session = record(now, { lastSeenAt: now - 50_000 });
    await store.set(session);
    store.touch(session, now - 50_000 + IDLE / 10 - 1);
    await store.close();
    expect(await raw.pTTL(`${PREFIX}s:${session.key}`)).toBeLessThanOrEqual(10_000);
  });

  it("evicts a deleted session from every instance's cache within one second", async () => {
    const a = await openStore();
    const b = await openStore();
    const session = record(Date.now());
    await a.set(session);
    await b.get(session.key);
    expect(b.peek(session.key)).toBeDefined();
    await b.delete(session.key);
    expect(b.peek(session.key)).toBeUndefined();
    const took = await waitFor(() => a.peek(session.key) === undefined, { timeoutMs: 1000 });
    expect(took).toBeLessThan(1000);
    expect(await a.get(session.key)).toBeUndefined();
  });

  it('deleteBySid and deleteBySub end the matching sessions everywhere and count them', async () => {
    const a = await openStore();
    const b = await openStore();
    const now = Date.now();
    const one = record(now, { sid: `${PREFIX}sid-shared`, claims: { sub: `${PREFIX}alice` } });
    const two = record(now, { sid: `${PREFIX}sid-shared`, claims: { sub: `${PREFIX}alice` } });
    const three = record(now, { sid: `${PREFIX}sid-other`, claims: { sub: `${PREFIX}alice` } });
    const bob = record(now, { claims: { sub: `${PREFIX}bob` } });
    for (const session of [one, two, three, bob]) await a.set(session);
    expect(await b.deleteBySid(`${PREFIX}sid-shared`)).toBe(2);
    await waitFor(() => a.peek(one.key) === undefined && a.peek(two.key) === undefined, { timeoutMs: 1000 });
    expect(a.peek(three.key)).toBe(three);
    expect(await b.deleteBySid(`${PREFIX}sid-shared`)).toBe(0);
    expect(await b.deleteBySub(`${PREFIX}alice`)).toBe(1);
    await waitFor(() => a.peek(three.key) === undefined, { timeoutMs: 1000 });
    expect(await b.get(bob.key)).toEqual({ ...bob, lastSeenAt: expect.any(Number) });
    expect(await b.deleteBySub(`${PREFIX}nobody`)).toBe(0);
  });

  it("a set on one instance replaces the other instance's cached copy", async () => {
    const a = await openStore();
    const b = await openStore();
    const session = record(Date.now());
    await a.set(session);
    await b.get(session.key);
    await a.set({ ...session, roles: ['admin'] });
    await waitFor(() => b.peek(session.key) === undefined, { timeoutMs: 1000 });
    expect((await b.get(session.key))?.roles).toEqual(['admin']);
    expect(a.peek(session.key)?.roles).toEqual(['admin']);
  });

  it('reload reads Redis past the cache: a record stored elsewhere is seen before any eviction message', async () => {
    const store = await openStore();
    const session = record(Date.now());
    await store.set(session);
    // another replica's refresh, as Redis holds it before its eviction message reached this one
    const rotated = { ...session, refreshToken: 'ROTATED-REFRESH-TOKEN' };
    await raw.set(`${PREFIX}s:${session.key}`, sealer.seal(rotated, 'session-store'), { expiration: { type: 'PX', value: IDLE } });
    expect((await store.get(session.key))?.refreshToken).toBe('REFRESH-TOKEN-MARKER-456');
    expect((await store.reload(session.key))?.refreshToken).toBe('ROTATED-REFRESH-TOKEN');
    expect(store.peek(session.key)?.refreshToken).toBe('ROTATED-REFRESH-TOKEN');
  });

  it('runs a locked task once across two instances; the loser gets undefined at once', async () => {
    const a = await openStore();
    const b = await openStore();
    const key = randomBytes(32).toString('base64url');
    let runs = 0;
    // the task holds the lock until the test lets it go: B asks while A certainly holds it, and B's answers arriving
    // before the release show that B did not wait for the holder
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const task = async (): Promise<string> => {
      runs++;
      locked();
      await released;
      return 'refreshed';
    };
    const onA = Array.from({ length: 5 }, () => a.withLock(key, task));
    await holding;
    const onB = await Promise.all(Array.from({ length: 5 }, () => b.withLock(key, task)));
    expect(onB).toEqual(Array(5).fill(undefined));
    expect(runs).toBe(1);
    release();
    expect(await Promise.all(onA)).toEqual(Array(5).fill('refreshed'));
    expect(runs).toBe(1);
    expect(await raw.exists(`${PREFIX}lock:${key}`)).toBe(0);
    expect(await b.withLock(key, task)).toBe('refreshed');
    expect(runs).toBe(2);
  });

  it('releases the lock when the task fails', async () => {
    const store = await openStore();
    const key = randomBytes(32).toString('base64url');
    await expect(store.withLock(key, () => Promise.reject(new Error('refresh failed')))).rejects.toThrow('refresh failed');
    expect(await raw.exists(`${PREFIX}lock:${key}`)).toBe(0);
  });

  it('serves cached sessions while Redis is unreachable, answers 503-worthy errors on misses, and recovers', async () => {
    const relay = await RedisRelay.start();
    const changes: boolean[] = [];
    const errors: RedisStoreErrorKind[] = [];
    const store = await openStore({ url: relay.url, onReadyChange: (ready) => changes.push(ready), onError: (kind) => errors.push(kind) });
    expect(store.ready).toBe(true);
    const cached = record(Date.now());
    await store.set(cached);

    await relay.stop();
    await waitFor(() => !store.ready, { timeoutMs: 2000 });
    expect(changes).toEqual([true, false]);
    expect(errors).toContain('connection');
    expect(store.peek(cached.key)).toBe(cached);
    expect(await store.get(cached.key)).toBe(cached);
    await expect(store.get('missing')).rejects.toMatchObject({ code: 'GH_STORE_UNAVAILABLE' });
    await expect(store.set(record(Date.now()))).rejects.toMatchObject({ code: 'GH_STORE_UNAVAILABLE' });

    await relay.resume();
    await waitFor(() => store.ready, { timeoutMs: 8000 });
    expect(changes).toEqual([true, false, true]);
    // evictions may have been missed while disconnected: the cache starts over, Redis still has the session
    expect(store.peek(cached.key)).toBeUndefined();
    expect((await store.get(cached.key))?.key).toBe(cached.key);
    // the eviction subscription came back with the connection
    expect(store.peek(cached.key)?.key).toBe(cached.key);
    const direct = await openStore();
    await direct.delete(cached.key);
    await waitFor(() => store.peek(cached.key) === undefined, { timeoutMs: 1000 });
    await relay.stop();
  });
});

describe('RedisStore with nothing listening (127.0.0.1:1)', () => {
  it('starts not ready, fails misses with GH_STORE_UNAVAILABLE, never crashes', async () => {
    const changes: boolean[] = [];
    const errors: RedisStoreErrorKind[] = [];
    const store = await openStore({ url: 'redis://127.0.0.1:1', onReadyChange: (ready) => changes.push(ready), onError: (kind) => errors.push(kind) });
    expect(store.ready).toBe(false);
    expect(errors[0]).toBe('connection');
    expect(store.peek('k')).toBeUndefined();
    const miss = await store.get('k').catch((error: unknown) => error);
    expect(miss).toBeInstanceOf(GatehouseError);
    expect((miss as GatehouseError).code).toBe('GH_STORE_UNAVAILABLE');
    for (const call of [
      () => store.set(record(Date.now())),
      () => store.delete('k'),
      () => store.deleteBySid('s'),
      () => store.deleteBySub('u'),
      () => store.withLock('k', () => Promise.resolve(1)),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'GH_STORE_UNAVAILABLE' });
    }
    store.touch(record(Date.now()), Date.now());
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(changes).toEqual([]);
    await store.close();
    expect(store.ready).toBe(false);
  });
});
