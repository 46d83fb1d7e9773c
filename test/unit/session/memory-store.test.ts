import { afterEach, describe, expect, it } from 'vitest';
import { type MemoryEvictReason, MemoryStore } from '../../../src/session/memory-store.js';
import { SlabSessionRecord } from '../../../src/session/packed-session.js';
import type { SessionRecord } from '../../../src/session/types.js';
import { seededInts } from '../../helpers/seeded-random.js';

const START = 1_700_000_000_000;
const HOUR = 3600_000;
const IDLE = HOUR;
const TTL = 8 * HOUR;

class Clock {
  time = START;
  readonly now = (): number => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}

function record(key: string, now: number, extra: Partial<SessionRecord> = {}): SessionRecord {
  return {
    key,
    claims: { sub: `user-${key}` },
    roles: ['reader'],
    idToken: 'id-token',
    tokensExpireAt: now + HOUR,
    createdAt: now,
    expiresAt: now + TTL,
    lastSeenAt: now,
    refreshAt: now + 5 * 60_000,
    ...extra,
  };
}

const stores: MemoryStore[] = [];
function memoryStore(maxSessions: number, clock: Clock, evictions: MemoryEvictReason[] = [], hotSessions?: number): MemoryStore {
  const store = new MemoryStore({
    maxSessions,
    hotSessions,
    idleTimeoutMs: IDLE,
    now: clock.now,
    onEvict: (reason) => evictions.push(reason),
    sweepIntervalMs: 0,
  });
  stores.push(store);
  return store;
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

describe('MemoryStore', () => {
  it('returns the same record object from peek and get (no copy)', async () => {
    const clock = new Clock();
    const store = memoryStore(10, clock);
    const session = record('a', clock.time);
    await store.set(session);
    expect(store.peek('a')).toBe(session);
    expect(await store.get('a')).toBe(session);
    expect(store.peek('missing')).toBeUndefined();
    expect(store.size).toBe(1);
  });

  it('reads a session that left the recent records back from its packed form: same fields, activity written through', async () => {
    const clock = new Clock();
    const evictions: MemoryEvictReason[] = [];
    const store = memoryStore(10, clock, evictions, 1);
    const session = record('a', clock.time, { sid: 'sid-a', policyClaims: { email_verified: true }, accessToken: 'at', refreshToken: 'rt' });
    await store.set(session);
    await store.set(record('b', clock.time)); // the one recent record is now b's
    clock.advance(IDLE - 1);
    store.touch(session, clock.time);
    const touchedAt = clock.time;
    clock.advance(1);
    expect(store.peek('b')).toBeUndefined();
    const back = store.peek('a');
    expect(back).not.toBe(session);
    expect(JSON.parse(JSON.stringify(back))).toEqual(JSON.parse(JSON.stringify(session)));
    expect(back?.lastSeenAt).toBe(touchedAt);
    expect(store.peek('a')).toBe(back); // recent again: the same record until it leaves
    clock.advance(IDLE - 2);
    expect(store.peek('a')).toBe(back);
    clock.advance(1);
    expect(store.peek('a')).toBeUndefined();
    expect(evictions).toEqual(['idle', 'idle']);
    expect(await store.deleteBySid('sid-a')).toBe(0);
  });

  describe('a record read back from the slab, whose tokens stay there while it is recent', () => {
    const tokensOf = (key: string): Partial<SessionRecord> => ({ idToken: `id-token-${key}`, accessToken: `access-${key}`, refreshToken: `refresh-${key}` });
    const heldTokens = (session: SessionRecord | undefined): unknown[] => [session?.idToken, session?.accessToken, session?.refreshToken];

    /** A store with one recent record, holding `keys`; each read back from the slab once (the last one recent). */
    async function readBack(clock: Clock, keys: string[]): Promise<{ store: MemoryStore; read: SessionRecord[] }> {
      const store = memoryStore(10, clock, [], 1);
      for (const key of [...keys, 'other']) await store.set(record(key, clock.time, tokensOf(key)));
      const read = keys.map((key) => store.peek(key) as SessionRecord);
      return { store, read };
    }

    it('is read from the packed form and gives its own tokens', async () => {
      const { read } = await readBack(new Clock(), ['a']);
      expect(read[0]).toBeInstanceOf(SlabSessionRecord);
      expect(heldTokens(read[0])).toEqual(['id-token-a', 'access-a', 'refresh-a']);
    });

    it('keeps its tokens when its session ends and the slot goes to another session (logout reads the ID token after ending it)', async () => {
      const clock = new Clock();
      const { store, read } = await readBack(clock, ['a']);
      await store.delete('a');
      await store.set(record('c', clock.time, tokensOf('c')));
      expect(heldTokens(read[0])).toEqual(['id-token-a', 'access-a', 'refresh-a']);
      expect(heldTokens(store.peek('c'))).toEqual(['id-token-c', 'access-c', 'refresh-c']);
    });

    it('keeps its tokens when it leaves the recent records, its session then ending by a back-channel logout', async () => {
      const clock = new Clock();
      const { store, read } = await readBack(clock, ['a', 'b']); // reading b pushed a out of the one recent record
      expect(await store.deleteBySub('user-a')).toBe(1);
      await store.set(record('c', clock.time, tokensOf('c')));
      expect(heldTokens(read[0])).toEqual(['id-token-a', 'access-a', 'refresh-a']);
    });

    it('keeps its own tokens when its session is stored again with new ones (a refresh), and the store gives the new', async () => {
      const clock = new Clock();
      const { store, read } = await readBack(clock, ['a']);
      await store.set(record('a', clock.time, { idToken: 'id-token-a2', accessToken: 'access-a2', refreshToken: 'refresh-a2' }));
      expect(heldTokens(read[0])).toEqual(['id-token-a', 'access-a', 'refresh-a']);
      expect(heldTokens(store.peek('a'))).toEqual(['id-token-a2', 'access-a2', 'refresh-a2']);
    });

    it('keeps its tokens when its session expires, and when the store closes', async () => {
      const clock = new Clock();
      const { store, read } = await readBack(clock, ['a']);
      clock.advance(TTL);
      expect(store.peek('a')).toBeUndefined();
      expect(heldTokens(read[0])).toEqual(['id-token-a', 'access-a', 'refresh-a']);

      const closing = await readBack(clock, ['z']);
      await closing.store.close();
      expect(heldTokens(closing.read[0])).toEqual(['id-token-z', 'access-z', 'refresh-z']);
    });

    it('serializes with its tokens (the shape JSON and the Redis seal see)', async () => {
      const { read } = await readBack(new Clock(), ['a']);
      expect(JSON.parse(JSON.stringify(read[0])) as SessionRecord).toMatchObject({
        key: 'a',
        idToken: 'id-token-a',
        accessToken: 'access-a',
        refreshToken: 'refresh-a',
      });
    });
  });

  it('keeps at most maxSessions, evicting the least recently used first', async () => {
    const clock = new Clock();
    const evictions: MemoryEvictReason[] = [];
    const store = memoryStore(3, clock, evictions);
    for (const key of ['a', 'b', 'c']) await store.set(record(key, clock.time));
    expect(store.peek('a')).toBeDefined(); // a is now the most recently used; b the least
    await store.set(record('d', clock.time));
    expect(store.size).toBe(3);
    expect(store.peek('b')).toBeUndefined();
    expect(store.peek('a')?.key).toBe('a');
    expect(store.peek('c')?.key).toBe('c');
    expect(store.peek('d')?.key).toBe('d');
    expect(evictions).toEqual(['capacity']);
  });

  it('ends a session at its absolute expiry even when active', async () => {
    const clock = new Clock();
    const evictions: MemoryEvictReason[] = [];
    const store = memoryStore(10, clock, evictions);
    const session = record('a', clock.time);
    await store.set(session);
    for (let elapsed = 0; elapsed < TTL - 30 * 60_000; elapsed += 30 * 60_000) {
      clock.advance(30 * 60_000);
      const live = store.peek('a');
      expect(live).toBe(session);
      store.touch(session, clock.time);
    }
    clock.advance(30 * 60_000 - 1);
    expect(store.peek('a')).toBe(session);
    clock.advance(1);
    expect(store.peek('a')).toBeUndefined();
    expect(await store.get('a')).toBeUndefined();
    expect(store.size).toBe(0);
    expect(evictions).toEqual(['expired']);
  });

  it('ends a session idle for idleTimeoutMs; touch slides the window', async () => {
    const clock = new Clock();
    const evictions: MemoryEvictReason[] = [];
    const store = memoryStore(10, clock, evictions);
    const session = record('a', clock.time);
    await store.set(session);
    clock.advance(IDLE - 1);
    expect(store.peek('a')).toBe(session);
    store.touch(session, clock.time);
    expect(session.lastSeenAt).toBe(clock.time);
    clock.advance(IDLE - 1);
    expect(store.peek('a')).toBe(session);
    clock.advance(1);
    expect(store.peek('a')).toBeUndefined();
    expect(store.size).toBe(0);
    expect(evictions).toEqual(['idle']);
  });

  it('sweep drops expired and idle sessions nobody asks for', async () => {
    const clock = new Clock();
    const evictions: MemoryEvictReason[] = [];
    const store = memoryStore(10, clock, evictions);
    await store.set(record('idle', clock.time));
    await store.set(record('expiring', clock.time, { expiresAt: clock.time + 10 * 60_000 }));
    const active = record('active', clock.time);
    await store.set(active);
    clock.advance(IDLE - 1);
    store.touch(active, clock.time);
    clock.advance(1);
    store.sweep();
    expect(store.size).toBe(1);
    expect(evictions.sort()).toEqual(['expired', 'idle']);
    expect(store.peek('active')?.key).toBe('active');
  });

  it('ends every session of a sid or a sub, and only those', async () => {
    const clock = new Clock();
    const store = memoryStore(10, clock);
    await store.set(record('a1', clock.time, { sid: 'sid-1', claims: { sub: 'alice' } }));
    await store.set(record('a2', clock.time, { sid: 'sid-2', claims: { sub: 'alice' } }));
    await store.set(record('a3', clock.time, { sid: 'sid-2', claims: { sub: 'alice' } }));
    await store.set(record('b1', clock.time, { sid: 'sid-3', claims: { sub: 'bob' } }));
    expect(await store.deleteBySid('sid-2')).toBe(2);
    expect(store.peek('a2')).toBeUndefined();
    expect(store.peek('a3')).toBeUndefined();
    expect(store.peek('a1')?.key).toBe('a1');
    expect(await store.deleteBySid('sid-2')).toBe(0);
    expect(await store.deleteBySub('alice')).toBe(1);
    expect(store.peek('a1')).toBeUndefined();
    expect(store.peek('b1')?.key).toBe('b1');
    expect(await store.deleteBySid('unknown')).toBe(0);
    expect(store.size).toBe(1);
  });

  it('keeps the sid/sub indexes consistent after LRU eviction and replacement', async () => {
    const clock = new Clock();
    const store = memoryStore(2, clock);
    await store.set(record('old', clock.time, { sid: 'sid-x', claims: { sub: 'carol' } }));
    await store.set(record('k2', clock.time, { sid: 'sid-y', claims: { sub: 'dave' } }));
    await store.set(record('k3', clock.time, { sid: 'sid-z', claims: { sub: 'erin' } })); // evicts "old"
    expect(store.peek('old')).toBeUndefined();
    // a new session under the evicted key's sid must not be miscounted by the stale entry
    await store.set(record('k4', clock.time, { sid: 'sid-x', claims: { sub: 'carol' } })); // evicts k2
    expect(await store.deleteBySid('sid-x')).toBe(1);
    expect(await store.deleteBySub('dave')).toBe(0);
    // replacing a record under the same key moves it to the new sid
    await store.set(record('k3', clock.time, { sid: 'sid-new', claims: { sub: 'erin' } }));
    expect(await store.deleteBySid('sid-z')).toBe(0);
    expect(store.peek('k3')?.sid).toBe('sid-new');
    expect(await store.deleteBySid('sid-new')).toBe(1);
    expect(store.size).toBe(0);
  });

  it('does not end a session by a sid its record no longer carries', async () => {
    const clock = new Clock();
    const store = memoryStore(10, clock);
    const session = record('a', clock.time, { sid: 'before' });
    await store.set(session);
    session.sid = 'after';
    await store.set(session);
    expect(await store.deleteBySid('before')).toBe(0);
    expect(await store.deleteBySid('after')).toBe(1);
  });

  it('deletes one session', async () => {
    const clock = new Clock();
    const store = memoryStore(10, clock);
    await store.set(record('a', clock.time, { sid: 's' }));
    await store.delete('a');
    expect(store.peek('a')).toBeUndefined();
    expect(await store.deleteBySid('s')).toBe(0);
  });

  it('runs a locked task once for concurrent callers of one key, and shares its result', async () => {
    const clock = new Clock();
    const store = memoryStore(10, clock);
    let runs = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const task = async (): Promise<string> => {
      runs++;
      await gate;
      return 'refreshed';
    };
    const calls = Array.from({ length: 10 }, () => store.withLock('a', task));
    const other = store.withLock('b', task);
    release();
    expect(await Promise.all(calls)).toEqual(Array(10).fill('refreshed'));
    expect(await other).toBe('refreshed');
    expect(runs).toBe(2);
    // once finished, the next call runs again
    expect(await store.withLock('a', task)).toBe('refreshed');
    expect(runs).toBe(3);
  });

  it('releases the lock when the task fails (sync throw or rejection)', async () => {
    const clock = new Clock();
    const store = memoryStore(10, clock);
    await expect(
      store.withLock('a', () => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    await expect(store.withLock('a', () => Promise.reject(new Error('async')))).rejects.toThrow('async');
    expect(await store.withLock('a', () => Promise.resolve(7))).toBe(7);
  });

  it('is ready', () => {
    expect(memoryStore(1, new Clock()).ready).toBe(true);
  });

  it('under random sign-ins, replacements, logouts, back-channel logouts and reads agrees with a plain LRU model', async () => {
    // A small store (20 sessions, 3 hot records) so capacity eviction, slab reads and hash-table removal all run often.
    const next = seededInts(11);
    const clock = new Clock();
    const evictions: MemoryEvictReason[] = [];
    const store = memoryStore(20, clock, evictions, 3);
    /** Key to the sid it was stored with; Map order is the order of use (least recent first). */
    const model = new Map<string, string>();
    const used = (key: string): void => {
      const sid = model.get(key) as string;
      model.delete(key);
      model.set(key, sid);
    };
    let evicted = 0;
    for (let step = 0; step < 5_000; step++) {
      const key = `k${next(60)}`;
      const action = next(6);
      if (action <= 1) {
        const sid = `sid-${next(30)}`;
        if (!model.has(key) && model.size === 20) {
          model.delete(model.keys().next().value as string);
          evicted++;
        }
        model.delete(key);
        model.set(key, sid);
        await store.set(record(key, clock.time, { sid, claims: { sub: `user-${key}`, email: `${key}@example.test` } }));
      } else if (action === 2) {
        model.delete(key);
        await store.delete(key);
      } else if (action === 3) {
        const sid = `sid-${next(30)}`;
        const ended = [...model].filter(([, held]) => held === sid).map(([k]) => k);
        for (const k of ended) model.delete(k);
        expect(await store.deleteBySid(sid)).toBe(ended.length);
      } else {
        const read = store.peek(key);
        expect(read?.key).toBe(model.has(key) ? key : undefined);
        if (read !== undefined) {
          expect(read.sid).toBe(model.get(key));
          expect(read.claims.email).toBe(`${key}@example.test`);
          used(key);
        }
      }
      expect(store.size).toBe(model.size);
    }
    for (const [key, sid] of model) expect(store.peek(key)?.sid).toBe(sid);
    expect(evicted).toBeGreaterThan(100);
    expect(evictions).toEqual(Array.from({ length: evicted }, () => 'capacity'));
  });
});
