import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ByteSlab } from '../../../src/session/byte-slab.js';

const CHUNK = 256 * 1024;

/** Random entries, each remembered by slot, so every check compares the slab with what went in. */
class Model {
  readonly slab = new ByteSlab();
  readonly entries = new Map<number, Buffer>();

  add(size: number): number {
    const bytes = randomBytes(size);
    const slot = this.slab.add(bytes);
    expect(this.entries.has(slot)).toBe(false);
    this.entries.set(slot, bytes);
    return slot;
  }

  remove(slot: number): void {
    this.slab.remove(slot);
    this.entries.delete(slot);
  }

  expectIntact(): void {
    for (const [slot, bytes] of this.entries) expect(this.slab.view(slot).equals(bytes)).toBe(true);
  }

  liveBytes(): number {
    let sum = 0;
    for (const bytes of this.entries.values()) sum += bytes.length + 8;
    return sum;
  }
}

describe('ByteSlab', () => {
  it('gives back each entry exactly, whatever its size, empty and larger than a chunk included', () => {
    const model = new Model();
    for (const size of [0, 1, 7, 800, 4096, CHUNK / 2, CHUNK + 5, 3 * CHUNK]) model.add(size);
    model.expectIntact();
  });

  it('reads and writes a double in place', () => {
    const slab = new ByteSlab();
    slab.add(Buffer.alloc(100));
    const slot = slab.add(Buffer.alloc(40));
    slab.writeDouble(slot, 24, 1_800_000_000_123);
    expect(slab.readDouble(slot, 24)).toBe(1_800_000_000_123);
    expect(slab.view(slot).readDoubleLE(24)).toBe(1_800_000_000_123);
  });

  it('reuses the slots of removed entries', () => {
    const slab = new ByteSlab();
    const first = slab.add(Buffer.from('a'));
    slab.add(Buffer.from('b'));
    slab.remove(first);
    expect(slab.add(Buffer.from('c'))).toBe(first);
    expect(slab.view(first).toString()).toBe('c');
  });

  it('under random churn keeps every live entry intact and holds at most about twice the live bytes', () => {
    const model = new Model();
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let step = 0; step < 20_000; step++) {
      const slots = [...model.entries.keys()];
      if (slots.length > 0 && random() < 0.45) model.remove(slots[Math.floor(random() * slots.length)] as number);
      else model.add(200 + Math.floor(random() * 1500));
      if (step % 1000 === 0) model.expectIntact();
    }
    model.expectIntact();
    // compacted chunks hold at least half live bytes; the current chunk and an oversized one may be partly empty
    expect(model.slab.heldBytes).toBeLessThanOrEqual(2 * model.liveBytes() + 2 * CHUNK);
  });

  it('lets go of the chunks when sessions end in the order they began', () => {
    const model = new Model();
    const slots = Array.from({ length: 2000 }, () => model.add(1000));
    expect(model.slab.heldBytes).toBeGreaterThan(7 * CHUNK);
    for (const slot of slots.slice(0, 1900)) model.remove(slot);
    model.expectIntact();
    expect(model.slab.heldBytes).toBeLessThanOrEqual(2 * CHUNK);
  });

  it('holds nothing after clear', () => {
    const model = new Model();
    for (let i = 0; i < 500; i++) model.add(1000);
    model.slab.clear();
    expect(model.slab.heldBytes).toBe(0);
    expect(model.slab.add(Buffer.from('x'))).toBe(0);
  });

  it('compares text in place: equal, a byte off, longer or shorter, and beyond ASCII', () => {
    const slab = new ByteSlab();
    const slot = slab.add(Buffer.from('\u0000\u0000key-é✓tail', 'utf8'));
    const end = 2 + Buffer.byteLength('key-é✓', 'utf8');
    expect(slab.readUtf8(slot, 2, end)).toBe('key-é✓');
    expect(slab.textEquals(slot, 2, end, 'key-é✓')).toBe(true);
    expect(slab.textEquals(slot, 2, end, 'key-e✓')).toBe(false);
    expect(slab.textEquals(slot, 2, end, 'key-é✓t')).toBe(false);
    expect(slab.textEquals(slot, 2, 6, 'key-')).toBe(true);
    expect(slab.textEquals(slot, 2, 6, 'key')).toBe(false);
    expect(slab.textEquals(slot, 2, 6, 'key-t')).toBe(false);
    expect(slab.textEquals(slot, 2, 6, 'kez-')).toBe(false);
  });
});
