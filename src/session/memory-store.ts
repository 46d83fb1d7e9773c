// Sessions of one replica in process memory: bounded by max_sessions (least recently used out first), absolute and idle expiry, found by sid/sub for back-channel logout.
import { LRUCache } from 'lru-cache';
import { ByteSlab } from './byte-slab.js';
import {
  SlabSessionRecord,
  TIME_AT,
  hasPackedKey,
  packSession,
  packedKey,
  packedSubAndSid,
  unpackSession,
  unpackTokens,
  type PackedTokenReader,
} from './packed-session.js';
import { SessionIndex } from './session-index.js';
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
 * Every session is kept packed in a slab outside the V8 heap (packed-session.ts, byte-slab.ts) and indexed there too
 * (session-index.ts): what the V8 heap holds grows with the recently used sessions only. Those are also kept as
 * records, so the hot path reads no bytes and a record keeps its identity (per-record caches key on it) while it is
 * in use; a record read back from the slab leaves its tokens there until it leaves the recent ones or its session
 * ends (SlabSessionRecord). A record's lastSeenAt is written through to its packed form.
 */
export class MemoryStore implements SessionStore {
  readonly ready = true;
  private readonly slab = new ByteSlab();
  private readonly index = new SessionIndex((slot, key) => hasPackedKey(this.slab, slot, key));
  private readonly records: LRUCache<string, HotSession>;
  private readonly tokens: PackedTokenReader = { tokensAt: (slot) => unpackTokens(this.slab.view(slot)) };
  private readonly flights = new SingleFlight();
  private readonly claimed = new LRUCache<string, true>({ max: MAX_CLAIMED_IDS });
  private readonly maxSessions: number;
  private readonly idleTimeoutMs: number;
  private readonly now: () => number;
  private readonly onEvict: ((reason: MemoryEvictReason) => void) | undefined;
  private readonly sweepTimer: NodeJS.Timeout | undefined;

  constructor(options: MemoryStoreOptions) {
    this.maxSessions = options.maxSessions;
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.now = options.now ?? Date.now;
    this.onEvict = options.onEvict;
    // Called before a slab entry goes (remove deletes the record first) and when a record leaves the recent ones.
    this.records = new LRUCache<string, HotSession>({ max: options.hotSessions ?? 10_000, dispose: ({ record }) => keepTokens(record) });
    const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    if (sweepIntervalMs > 0) {
      this.sweepTimer = setInterval(() => this.sweep(), sweepIntervalMs);
      this.sweepTimer.unref();
    }
  }

  /** Live sessions held (expired ones count until they are asked for or swept). */
  get size(): number {
    return this.index.size;
  }

  /** The live record (and marks it recently used); an expired or idle one is dropped and reads as undefined. */
  peek(key: string): SessionRecord | undefined {
    const hot = this.records.get(key);
    const slot = hot?.slot ?? this.index.find(key);
    if (slot < 0) return undefined;
    const ended = this.endReason(slot, this.now());
    if (ended !== undefined) {
      this.remove(slot, key);
      this.onEvict?.(ended);
      return undefined;
    }
    this.index.use(slot);
    if (hot !== undefined) return hot.record;
    const record = unpackSession(this.slab.view(slot), { reader: this.tokens, slot });
    this.records.set(key, { record, slot });
    return record;
  }

  get(key: string): Promise<SessionRecord | undefined> {
    return Promise.resolve(this.peek(key));
  }

  reload(key: string): Promise<SessionRecord | undefined> {
    return this.get(key);
  }

  set(record: SessionRecord): Promise<void> {
    const held = this.index.find(record.key);
    if (held >= 0) this.remove(held, record.key);
    else if (this.index.size >= this.maxSessions) {
      const oldest = this.index.oldestSlot;
      this.remove(oldest, packedKey(this.slab, oldest));
      this.onEvict?.('capacity');
    }
    const slot = this.slab.add(packSession(record));
    this.index.add(record.key, slot, record.sid, record.claims.sub);
    this.records.set(record.key, { record, slot });
    return Promise.resolve();
  }

  touch(record: SessionRecord, now: number): void {
    record.lastSeenAt = now;
    const slot = this.records.peek(record.key)?.slot ?? this.index.find(record.key);
    if (slot >= 0) this.slab.writeDouble(slot, TIME_AT.lastSeenAt, now);
  }

  delete(key: string): Promise<void> {
    const slot = this.index.find(key);
    if (slot >= 0) this.remove(slot, key);
    return Promise.resolve();
  }

  deleteBySid(sid: string): Promise<number> {
    return Promise.resolve(this.removeWhere(this.index.slotsWithSid(sid), (slot) => this.subAndSid(slot).sid === sid));
  }

  deleteBySub(sub: string): Promise<number> {
    return Promise.resolve(this.removeWhere(this.index.slotsWithSub(sub), (slot) => this.subAndSid(slot).sub === sub));
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
    for (const slot of this.index.slots()) {
      const reason = this.endReason(slot, now);
      if (reason === undefined) continue;
      this.remove(slot, packedKey(this.slab, slot));
      this.onEvict?.(reason);
    }
  }

  close(): Promise<void> {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.index.clear();
    this.records.clear();
    this.slab.clear();
    this.claimed.clear();
    return Promise.resolve();
  }

  private remove(slot: number, key: string): void {
    this.records.delete(key);
    this.index.remove(slot);
    this.slab.remove(slot);
  }

  private subAndSid(slot: number): { sub: string; sid: string | undefined } {
    return packedSubAndSid(this.slab.view(slot));
  }

  private endReason(slot: number, now: number): MemoryEvictReason | undefined {
    if (now >= this.slab.readDouble(slot, TIME_AT.expiresAt)) return 'expired';
    if (now >= this.slab.readDouble(slot, TIME_AT.lastSeenAt) + this.idleTimeoutMs) return 'idle';
    return undefined;
  }

  /** The candidates are confirmed against the stored session: a hash can be shared, and a session stored again with a new sid is never ended by its old sid. */
  private removeWhere(candidates: number[], matches: (slot: number) => boolean): number {
    let ended = 0;
    for (const slot of candidates) {
      if (!matches(slot)) continue;
      this.remove(slot, packedKey(this.slab, slot));
      ended++;
    }
    return ended;
  }
}

function keepTokens(record: SessionRecord): void {
  if (record instanceof SlabSessionRecord) record.keepTokens();
}

/** A recently used session: its record, and its slot so the hot path does not look the key up again. */
interface HotSession {
  record: SessionRecord;
  slot: number;
}
