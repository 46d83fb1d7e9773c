// Sessions of one replica in process memory: LRU-bounded, absolute and idle expiry, sid/sub indexes for back-channel logout.
import { LRUCache } from 'lru-cache';
import { ByteSlab } from './byte-slab.js';
import { TIME_AT, packSession, packedSubAndSid, unpackSession } from './packed-session.js';
import { SingleFlight } from './single-flight.js';
import type { SessionRecord, SessionStore } from './types.js';

/** Why a session left the store other than by `delete`: pushed out by max_sessions, past its ttl, or idle too long. */
export type MemoryEvictReason = 'capacity' | 'expired' | 'idle';

/** Most one-time identifiers (logout token jtis) remembered; the oldest are forgotten first. */
const MAX_CLAIMED_IDS = 100_000;

export interface MemoryStoreOptions {
  maxSessions: number;
  /** How many recently used sessions are also held as records (session.hot_sessions); default 10,000. */
  hotSessions?: number;
  idleTimeoutMs: number;
  /** Clock in epoch milliseconds (injected by tests). */
  now?: () => number;
  onEvict?: (reason: MemoryEvictReason) => void;
  /** How often expired sessions nobody asks for are swept out; 0 disables the timer (tests call `sweep`). Default 60 s. */
  sweepIntervalMs?: number;
}

/**
 * Every session is kept packed in a slab outside the V8 heap (packed-session.ts, byte-slab.ts); the recently used
 * ones are also kept as records, so the hot path reads no bytes and a record keeps its identity (per-record caches
 * key on it) while it is in use. A record's lastSeenAt is written through to its packed form.
 */
export class MemoryStore implements SessionStore {
  readonly ready = true;
  /** Store key to the session's slot in the slab. */
  private readonly cache: LRUCache<string, number>;
  private readonly slab = new ByteSlab();
  private readonly records: LRUCache<string, SessionRecord>;
  private readonly bySid: KeyIndex = new Map();
  private readonly bySub: KeyIndex = new Map();
  private readonly flights = new SingleFlight();
  private readonly claimed = new LRUCache<string, true>({ max: MAX_CLAIMED_IDS });
  private readonly idleTimeoutMs: number;
  private readonly now: () => number;
  private readonly onEvict: ((reason: MemoryEvictReason) => void) | undefined;
  private readonly sweepTimer: NodeJS.Timeout | undefined;

  constructor(options: MemoryStoreOptions) {
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.now = options.now ?? Date.now;
    this.onEvict = options.onEvict;
    this.records = new LRUCache<string, SessionRecord>({ max: options.hotSessions ?? 10_000 });
    this.cache = new LRUCache<string, number>({
      max: options.maxSessions,
      dispose: (slot, key, reason) => {
        const { sub, sid } = this.subAndSid(slot);
        this.slab.remove(slot);
        unindex(this.bySid, sid, key);
        unindex(this.bySub, sub, key);
        this.records.delete(key);
        if (reason === 'evict') this.onEvict?.('capacity');
      },
    });
    const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    if (sweepIntervalMs > 0) {
      this.sweepTimer = setInterval(() => this.sweep(), sweepIntervalMs);
      this.sweepTimer.unref();
    }
  }

  /** Live sessions held (expired ones count until they are asked for or swept). */
  get size(): number {
    return this.cache.size;
  }

  /** The live record (and marks it recently used); an expired or idle one is dropped and reads as undefined. */
  peek(key: string): SessionRecord | undefined {
    const slot = this.cache.get(key);
    if (slot === undefined) return undefined;
    const ended = this.endReason(slot, this.now());
    if (ended !== undefined) {
      this.cache.delete(key);
      this.onEvict?.(ended);
      return undefined;
    }
    let record = this.records.get(key);
    if (record === undefined) {
      record = unpackSession(key, this.slab.view(slot));
      this.records.set(key, record);
    }
    return record;
  }

  get(key: string): Promise<SessionRecord | undefined> {
    return Promise.resolve(this.peek(key));
  }

  reload(key: string): Promise<SessionRecord | undefined> {
    return this.get(key);
  }

  set(record: SessionRecord): Promise<void> {
    this.cache.set(record.key, this.slab.add(packSession(record)));
    this.records.set(record.key, record);
    index(this.bySid, record.sid, record.key);
    index(this.bySub, record.claims.sub, record.key);
    return Promise.resolve();
  }

  touch(record: SessionRecord, now: number): void {
    record.lastSeenAt = now;
    const slot = this.cache.peek(record.key);
    if (slot !== undefined) this.slab.writeDouble(slot, TIME_AT.lastSeenAt, now);
  }

  delete(key: string): Promise<void> {
    this.cache.delete(key);
    return Promise.resolve();
  }

  deleteBySid(sid: string): Promise<number> {
    return Promise.resolve(this.deleteIndexed(this.bySid, sid, (slot) => this.subAndSid(slot).sid === sid));
  }

  deleteBySub(sub: string): Promise<number> {
    return Promise.resolve(this.deleteIndexed(this.bySub, sub, (slot) => this.subAndSid(slot).sub === sub));
  }

  /** In-process single flight: concurrent calls for one key share the first call's result. */
  withLock<T>(key: string, task: () => Promise<T>): Promise<T | undefined> {
    return this.flights.run(key, task);
  }

  claimOnce(id: string, ttlMs: number): Promise<boolean> {
    if (this.claimed.has(id)) return Promise.resolve(false);
    this.claimed.set(id, true, { ttl: ttlMs });
    return Promise.resolve(true);
  }

  /** Drops every expired or idle session now. */
  sweep(): void {
    const now = this.now();
    const ended: Array<[string, MemoryEvictReason]> = [];
    for (const [key, slot] of this.cache.entries()) {
      const reason = this.endReason(slot, now);
      if (reason !== undefined) ended.push([key, reason]);
    }
    for (const [key, reason] of ended) {
      this.cache.delete(key);
      this.onEvict?.(reason);
    }
  }

  close(): Promise<void> {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.cache.clear();
    this.records.clear();
    this.slab.clear();
    this.claimed.clear();
    return Promise.resolve();
  }

  private subAndSid(slot: number): { sub: string; sid: string | undefined } {
    return packedSubAndSid(this.slab.view(slot));
  }

  private endReason(slot: number, now: number): MemoryEvictReason | undefined {
    if (now >= this.slab.readDouble(slot, TIME_AT.expiresAt)) return 'expired';
    if (now >= this.slab.readDouble(slot, TIME_AT.lastSeenAt) + this.idleTimeoutMs) return 'idle';
    return undefined;
  }

  /** Index entries are checked against the stored session, so a session stored again with a new sid is never ended by its old sid. */
  private deleteIndexed(indexMap: KeyIndex, value: string, matches: (slot: number) => boolean): number {
    const keys = indexMap.get(value);
    if (keys === undefined) return 0;
    let ended = 0;
    for (const key of typeof keys === 'string' ? [keys] : [...keys]) {
      const slot = this.cache.peek(key);
      if (slot !== undefined && matches(slot)) {
        this.cache.delete(key);
        ended++;
      }
    }
    indexMap.delete(value);
    return ended;
  }
}

/**
 * Store keys by sid or sub. Nearly every value has one session, so it is held as the bare key and only becomes a
 * Set when a second session shares it: at 100,000 sessions a Set per entry would cost tens of MiB.
 */
type KeyIndex = Map<string, string | Set<string>>;

function index(indexMap: KeyIndex, value: string | undefined, key: string): void {
  if (value === undefined) return;
  const keys = indexMap.get(value);
  if (keys === undefined || keys === key) indexMap.set(value, key);
  else if (typeof keys === 'string') indexMap.set(value, new Set([keys, key]));
  else keys.add(key);
}

function unindex(indexMap: KeyIndex, value: string | undefined, key: string): void {
  if (value === undefined) return;
  const keys = indexMap.get(value);
  if (keys === undefined) return;
  if (typeof keys === 'string') {
    if (keys === key) indexMap.delete(value);
    return;
  }
  keys.delete(key);
  if (keys.size === 1) indexMap.set(value, keys.values().next().value as string);
  else if (keys.size === 0) indexMap.delete(value);
}
