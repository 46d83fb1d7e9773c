// Byte strings of many sizes kept in a few large Buffers: no heap object and no malloc block per entry.

/** Bytes per chunk; an entry larger than half a chunk gets a chunk of its own. */
const CHUNK_BYTES = 256 * 1024;
/** Each entry starts with its slot number and length (so a chunk can be walked when it is compacted). */
const ENTRY_HEADER = 8;

/**
 * Entries are written one after another into the current chunk and named by a slot number, which stays the same
 * for the entry's life: the slot table says where the entry is now. A chunk whose live bytes fall to half is
 * compacted (its live entries move to the current chunk, their slots follow), so at most about twice the live
 * bytes are held; a chunk left empty is dropped. Sessions mostly end in the order they began, so whole chunks empty.
 *
 * Why not a Buffer per entry: each costs two V8 objects (about 200 bytes of heap) and a malloc block that pins
 * the allocator's pages between short-lived allocations; 100,000 of them measured 24 MiB of RSS beyond their bytes.
 */
export class ByteSlab {
  private readonly chunks: Array<Buffer | undefined> = [];
  /** Live entry bytes (headers included) per chunk. */
  private readonly live: number[] = [];
  /** Bytes written per chunk (live and dead). */
  private readonly used: number[] = [];
  private current = -1;
  private slotChunk = new Int32Array(1024);
  private slotOffset = new Int32Array(1024);
  private slotLength = new Int32Array(1024);
  private readonly freeSlots: number[] = [];
  private slots = 0;

  /** Copies `bytes` in; returns the entry's slot. */
  add(bytes: Uint8Array): number {
    const slot = this.freeSlots.pop() ?? this.newSlot();
    this.place(slot, bytes);
    return slot;
  }

  /** The entry's bytes: a view into its chunk, valid until the next add or remove. */
  view(slot: number): Buffer {
    const offset = this.slotOffset[slot] as number;
    return (this.chunks[this.slotChunk[slot] as number] as Buffer).subarray(offset, offset + (this.slotLength[slot] as number));
  }

  readUInt32(slot: number, at: number): number {
    return (this.chunks[this.slotChunk[slot] as number] as Buffer).readUInt32LE((this.slotOffset[slot] as number) + at);
  }

  /** The entry's bytes from `start` to `end` as UTF-8 text, read in place. */
  readUtf8(slot: number, start: number, end: number): string {
    const offset = this.slotOffset[slot] as number;
    return (this.chunks[this.slotChunk[slot] as number] as Buffer).toString('utf8', offset + start, offset + end);
  }

  /** Whether the entry's bytes from `start` to `end` are `text` in UTF-8, compared in place (ASCII byte by byte). */
  textEquals(slot: number, start: number, end: number, text: string): boolean {
    const buffer = this.chunks[this.slotChunk[slot] as number] as Buffer;
    const from = (this.slotOffset[slot] as number) + start;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) return buffer.toString('utf8', from, from + end - start) === text;
      if (buffer[from + i] !== code) return false;
    }
    return text.length === end - start;
  }

  readDouble(slot: number, at: number): number {
    return (this.chunks[this.slotChunk[slot] as number] as Buffer).readDoubleLE((this.slotOffset[slot] as number) + at);
  }

  writeDouble(slot: number, at: number, value: number): void {
    (this.chunks[this.slotChunk[slot] as number] as Buffer).writeDoubleLE(value, (this.slotOffset[slot] as number) + at);
  }

  remove(slot: number): void {
    const chunk = this.slotChunk[slot] as number;
    this.slotChunk[slot] = -1;
    this.freeSlots.push(slot);
    this.live[chunk] = (this.live[chunk] as number) - ENTRY_HEADER - (this.slotLength[slot] as number);
    if (chunk !== this.current) this.reclaim(chunk);
  }

  /** Bytes held in chunks (live entries, their headers, and space not yet reclaimed). */
  get heldBytes(): number {
    return this.chunks.reduce((sum, chunk) => sum + (chunk?.length ?? 0), 0);
  }

  clear(): void {
    this.chunks.length = 0;
    this.live.length = 0;
    this.used.length = 0;
    this.current = -1;
    this.freeSlots.length = 0;
    this.slots = 0;
  }

  private place(slot: number, bytes: Uint8Array): void {
    const size = ENTRY_HEADER + bytes.length;
    let chunk = this.current;
    if (size > CHUNK_BYTES / 2) chunk = this.newChunk(size, false);
    else if (chunk < 0 || (this.used[chunk] as number) + size > CHUNK_BYTES) chunk = this.newChunk(CHUNK_BYTES, true);
    const buffer = this.chunks[chunk] as Buffer;
    const at = this.used[chunk] as number;
    buffer.writeUInt32LE(slot, at);
    buffer.writeUInt32LE(bytes.length, at + 4);
    buffer.set(bytes, at + ENTRY_HEADER);
    this.used[chunk] = at + size;
    this.live[chunk] = (this.live[chunk] as number) + size;
    this.slotChunk[slot] = chunk;
    this.slotOffset[slot] = at + ENTRY_HEADER;
    this.slotLength[slot] = bytes.length;
  }

  private newChunk(size: number, becomesCurrent: boolean): number {
    const previous = this.current;
    let chunk = this.chunks.indexOf(undefined);
    if (chunk < 0) chunk = this.chunks.length;
    this.chunks[chunk] = Buffer.allocUnsafeSlow(size);
    this.live[chunk] = 0;
    this.used[chunk] = 0;
    if (!becomesCurrent) return chunk;
    this.current = chunk;
    // the chunk it replaces is now judged like any other
    if (previous >= 0) this.reclaim(previous);
    return chunk;
  }

  /** Drops the chunk when empty, compacts it when under half live. */
  private reclaim(chunk: number): void {
    if (this.live[chunk] === 0) this.drop(chunk);
    else if ((this.live[chunk] as number) * 2 < (this.used[chunk] as number)) this.compact(chunk);
  }

  /** Moves the chunk's live entries to the current chunk, then drops it. */
  private compact(chunk: number): void {
    const buffer = this.chunks[chunk] as Buffer;
    const end = this.used[chunk] as number;
    for (let at = 0; at < end;) {
      const slot = buffer.readUInt32LE(at);
      const length = buffer.readUInt32LE(at + 4);
      if (this.slotChunk[slot] === chunk && this.slotOffset[slot] === at + ENTRY_HEADER) {
        this.live[chunk] = (this.live[chunk] as number) - ENTRY_HEADER - length;
        this.place(slot, buffer.subarray(at + ENTRY_HEADER, at + ENTRY_HEADER + length));
      }
      at += ENTRY_HEADER + length;
    }
    this.drop(chunk);
  }

  private drop(chunk: number): void {
    this.chunks[chunk] = undefined;
    this.live[chunk] = 0;
    this.used[chunk] = 0;
  }

  private newSlot(): number {
    if (this.slots === this.slotChunk.length) {
      this.slotChunk = grownTable(this.slotChunk, this.slots * 2);
      this.slotOffset = grownTable(this.slotOffset, this.slots * 2);
      this.slotLength = grownTable(this.slotLength, this.slots * 2);
    }
    return this.slots++;
  }
}

/** A copy of `table` with room for `length` entries (a slot table that has to grow). */
export function grownTable(table: Int32Array<ArrayBuffer>, length: number): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(length);
  bigger.set(table);
  return bigger;
}
