import { describe, expect, it } from 'vitest';
import { SessionIndex, hashText } from '../../../src/session/session-index.js';
import { seededInts } from '../../helpers/seeded-random.js';

/** The index beside a plain model: slot to key, and the keys in order of use (most recent last). */
class Model {
  readonly keys: Array<string | undefined> = [];
  readonly index = new SessionIndex((slot, key) => this.keys[slot] === key);
  readonly order: string[] = [];
  private readonly free: number[] = [];

  add(key: string, sid?: string, sub = `sub-${key}`): number {
    const slot = this.free.pop() ?? this.keys.length;
    this.keys[slot] = key;
    this.index.add(key, slot, sid, sub);
    this.order.push(key);
    return slot;
  }

  remove(key: string): void {
    const slot = this.index.find(key);
    expect(slot).toBeGreaterThanOrEqual(0);
    this.index.remove(slot);
    this.keys[slot] = undefined;
    this.free.push(slot);
    this.order.splice(this.order.indexOf(key), 1);
  }

  use(key: string): void {
    this.index.use(this.index.find(key));
    this.order.splice(this.order.indexOf(key), 1);
    this.order.push(key);
  }

  expectConsistent(absent: string[]): void {
    expect(this.index.size).toBe(this.order.length);
    for (const key of this.order) expect(this.keys[this.index.find(key)]).toBe(key);
    for (const key of absent) expect(this.index.find(key)).toBe(-1);
    expect(this.index.slots().map((slot) => this.keys[slot])).toEqual([...this.order].reverse());
    expect(this.index.oldestSlot).toBe(this.order.length === 0 ? -1 : this.index.find(this.order[0] as string));
  }
}

describe('SessionIndex', () => {
  it('under random adds, removes and uses finds every key held, none removed, and keeps the order of use', () => {
    const next = seededInts(7);
    const model = new Model();
    const removed: string[] = [];
    let made = 0;
    // 20,000 operations over up to a few thousand keys: the table grows several times, and runs of
    // colliding buckets are long enough for removal's backward shift to move entries across the wrap.
    for (let step = 0; step < 20_000; step++) {
      const roll = next(10);
      if (roll < 5 || model.order.length === 0) model.add(`key-${made++}`);
      else if (roll < 8) {
        const key = model.order[next(model.order.length)] as string;
        model.remove(key);
        removed.push(key);
      } else model.use(model.order[next(model.order.length)] as string);
      if (step % 2_000 === 0) model.expectConsistent(removed.slice(-200));
    }
    model.expectConsistent(removed);
    while (model.order.length > 0) model.remove(model.order[0] as string);
    model.expectConsistent(removed);
  });

  it('confirms a key through the slab, not by its hash alone', () => {
    const keys = ['a', 'b'];
    // keyOf says slot 0 holds "b": a lookup of "a" hashes to slot 0 but is not confirmed.
    const index = new SessionIndex((slot, key) => keys[1 - slot] === key);
    index.add('a', 0, undefined, 'x');
    expect(index.find('a')).toBe(-1);
  });

  it('names the slots whose sid or sub hashes alike; a session without a sid matches no sid', () => {
    const model = new Model();
    const alice1 = model.add('k1', 'sid-1', 'alice');
    const alice2 = model.add('k2', 'sid-2', 'alice');
    const bob = model.add('k3', undefined, 'bob');
    expect(model.index.slotsWithSub('alice').sort()).toEqual([alice1, alice2].sort());
    expect(model.index.slotsWithSid('sid-2')).toEqual([alice2]);
    expect(model.index.slotsWithSub('bob')).toEqual([bob]);
    expect(model.index.slotsWithSid('')).toEqual([]);
    model.remove('k2');
    expect(model.index.slotsWithSid('sid-2')).toEqual([]);
  });

  it('clear forgets every key', () => {
    const model = new Model();
    for (let i = 0; i < 100; i++) model.add(`key-${i}`);
    model.index.clear();
    expect(model.index.size).toBe(0);
    expect(model.index.find('key-1')).toBe(-1);
    expect(model.index.slots()).toEqual([]);
  });

  it('hashes every character: keys one character apart differ', () => {
    const key = 'x'.repeat(43);
    const hashes = new Set([hashText(key)]);
    for (let i = 0; i < key.length; i++) hashes.add(hashText(`${key.slice(0, i)}y${key.slice(i + 1)}`));
    expect(hashes.size).toBe(44);
  });
});
