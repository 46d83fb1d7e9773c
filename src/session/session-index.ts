// The memory store's index of its sessions, in typed arrays outside the V8 heap: store key to slab slot, the order of
// use (for max_sessions), and a hash of each session's sid and sub (for back-channel logout).
import { grownTable } from './byte-slab.js';

/** FNV-1a over UTF-16 code units: cheap for 43-character keys, and every bit of every character counts. */
export function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash | 0;
}

/** A hash for a value that is not set: never equal to a text's, so it matches nothing. */
const NO_HASH = 0;
const noZero = (hash: number): number => hash || 1;

/**
 * Slots are the session slab's entry numbers. The key table uses open addressing with linear probing (a bucket
 * holds slot + 1, 0 is empty; removal shifts the run back, so there are no tombstones); only the hashes are held
 * here, and `holdsKey` compares a candidate's key in the slab to confirm it. Recency is a doubly linked list through
 * two arrays. A sid or sub is found by scanning the hashes of the live slots: back-channel logout is rare, and a
 * scan of 100,000 slots takes under a millisecond.
 *
 * Why not Maps and an LRU of strings: per session they held a key string, a map entry, the LRU's entries and the sid
 * and sub strings with their map entries, about 280 bytes of V8 heap that V8 then multiplies as it grows the heap.
 */
export class SessionIndex {
  private buckets = new Int32Array(2048);
  private keyHash = new Int32Array(1024);
  private sidHash = new Int32Array(1024);
  private subHash = new Int32Array(1024);
  private newer = new Int32Array(1024);
  private older = new Int32Array(1024);
  private newest = -1;
  private oldest = -1;
  private count = 0;

  constructor(private readonly holdsKey: (slot: number, key: string) => boolean) {}

  get size(): number {
    return this.count;
  }

  /** The least recently used slot, or -1. */
  get oldestSlot(): number {
    return this.oldest;
  }

  /** The key's slot, or -1; does not change its recency. */
  find(key: string): number {
    const hash = hashText(key);
    const mask = this.buckets.length - 1;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const held = this.buckets[at] as number;
      if (held === 0) return -1;
      const slot = held - 1;
      if (this.keyHash[slot] === hash && this.holdsKey(slot, key)) return slot;
    }
  }

  /** Adds a key that is not held yet, as the most recently used. */
  add(key: string, slot: number, sid: string | undefined, sub: string): void {
    this.fit(slot);
    if ((this.count + 1) * 2 > this.buckets.length) this.rehash(this.buckets.length * 2);
    const hash = hashText(key);
    this.keyHash[slot] = hash;
    this.sidHash[slot] = sid === undefined ? NO_HASH : noZero(hashText(sid));
    this.subHash[slot] = noZero(hashText(sub));
    this.place(slot, hash);
    this.link(slot);
    this.count++;
  }

  remove(slot: number): void {
    const mask = this.buckets.length - 1;
    let at = (this.keyHash[slot] as number) & mask;
    while (this.buckets[at] !== slot + 1) at = (at + 1) & mask;
    // Backward shift: move up every later entry of the run whose home bucket is not between the hole and itself.
    for (let next = (at + 1) & mask; this.buckets[next] !== 0; next = (next + 1) & mask) {
      const home = (this.keyHash[(this.buckets[next] as number) - 1] as number) & mask;
      const stays = at <= next ? at < home && home <= next : at < home || home <= next;
      if (!stays) {
        this.buckets[at] = this.buckets[next] as number;
        at = next;
      }
    }
    this.buckets[at] = 0;
    this.unlink(slot);
    this.count--;
  }

  /** Marks the slot most recently used. */
  use(slot: number): void {
    if (slot === this.newest) return;
    this.unlink(slot);
    this.link(slot);
  }

  /** Every slot, most recently used first. */
  slots(): number[] {
    const all: number[] = [];
    for (let slot = this.newest; slot >= 0; slot = this.older[slot] as number) all.push(slot);
    return all;
  }

  /** Slots whose sid hashes like `sid`: the caller confirms each against the session. */
  slotsWithSid(sid: string): number[] {
    return this.matching(this.sidHash, noZero(hashText(sid)));
  }

  /** Slots whose sub hashes like `sub`: the caller confirms each against the session. */
  slotsWithSub(sub: string): number[] {
    return this.matching(this.subHash, noZero(hashText(sub)));
  }

  clear(): void {
    this.buckets.fill(0);
    this.newest = -1;
    this.oldest = -1;
    this.count = 0;
  }

  private matching(hashes: Int32Array, hash: number): number[] {
    const found: number[] = [];
    for (let slot = this.newest; slot >= 0; slot = this.older[slot] as number) if (hashes[slot] === hash) found.push(slot);
    return found;
  }

  private place(slot: number, hash: number): void {
    const mask = this.buckets.length - 1;
    let at = hash & mask;
    while (this.buckets[at] !== 0) at = (at + 1) & mask;
    this.buckets[at] = slot + 1;
  }

  private rehash(size: number): void {
    const old = this.buckets;
    this.buckets = new Int32Array(size);
    for (const held of old) if (held !== 0) this.place(held - 1, this.keyHash[held - 1] as number);
  }

  private link(slot: number): void {
    this.older[slot] = this.newest;
    this.newer[slot] = -1;
    if (this.newest >= 0) this.newer[this.newest] = slot;
    else this.oldest = slot;
    this.newest = slot;
  }

  private unlink(slot: number): void {
    const newer = this.newer[slot] as number;
    const older = this.older[slot] as number;
    if (newer >= 0) this.older[newer] = older;
    else this.newest = older;
    if (older >= 0) this.newer[older] = newer;
    else this.oldest = newer;
  }

  /** Grows the per-slot arrays to hold `slot`. */
  private fit(slot: number): void {
    if (slot < this.keyHash.length) return;
    let size = this.keyHash.length;
    while (size <= slot) size *= 2;
    this.keyHash = grownTable(this.keyHash, size);
    this.sidHash = grownTable(this.sidHash, size);
    this.subHash = grownTable(this.subHash, size);
    this.newer = grownTable(this.newer, size);
    this.older = grownTable(this.older, size);
  }
}
