// A session record packed into bytes: how the memory store keeps its sessions outside the V8 heap (see byte-slab.ts).
import type { ByteSlab } from './byte-slab.js';
import { CompactSessionRecord, packedTokensOf, type PackedTokens, type SessionFields } from './compact-record.js';
import type { SessionRecord } from './types.js';

/**
 * Layout: five float64 times at fixed offsets (the store reads and writes them in place), then each field (the
 * store key first, so the store's index can confirm a key in place) as a uint32 byte length (ABSENT: not set) and
 * its bytes: text fields UTF-8; packed tokens latin1 (one byte per char), but UTF-8 for a token held as its text
 * (packToken's RAW form, marked by a first byte 0), which may be any Unicode.
 */
const TIMES = ['tokensExpireAt', 'createdAt', 'expiresAt', 'lastSeenAt', 'refreshAt'] as const;
/** Where each time is, to read or write it in place. */
export const TIME_AT = Object.fromEntries(TIMES.map((name, i) => [name, i * 8])) as Readonly<Record<(typeof TIMES)[number], number>>;
const FIELDS_AT = TIMES.length * 8;
const ABSENT = 0xffffffff;

const enum Field {
  Key,
  Sub,
  Email,
  Name,
  PreferredUsername,
  Sid,
  Roles,
  PolicyClaims,
  IdToken,
  AccessToken,
  RefreshToken,
}

type Encoding = 'utf8' | 'latin1';

/** Tokens are packed into one-byte strings unless packToken kept the text (first char U+0000). */
function encodingOf(field: Field, firstByte: number): Encoding {
  return field >= Field.IdToken && firstByte !== 0 ? 'latin1' : 'utf8';
}

/**
 * The record's bytes. Kept outside the V8 heap, 100,000 sessions leave the heap a key per session instead of its
 * strings, and V8 (which collects only once the heap has grown by a factor of its live size) multiplies far less.
 */
export function packSession(record: SessionRecord): Buffer {
  const tokens = packedTokensOf(record);
  const values: Array<string | undefined> = [
    record.key,
    record.claims.sub,
    record.claims.email,
    record.claims.name,
    record.claims.preferred_username,
    record.sid,
    JSON.stringify(record.roles),
    record.policyClaims === undefined ? undefined : JSON.stringify(record.policyClaims),
    tokens.idToken,
    tokens.accessToken,
    tokens.refreshToken,
  ];
  let size = FIELDS_AT;
  const lengths = values.map((value, i) => {
    const length = value === undefined ? 0 : Buffer.byteLength(value, encodingOf(i, value.charCodeAt(0)));
    size += 4 + length;
    return length;
  });
  const bytes = Buffer.allocUnsafe(size);
  for (const name of TIMES) bytes.writeDoubleLE(record[name], TIME_AT[name]);
  let offset = FIELDS_AT;
  values.forEach((value, i) => {
    if (value === undefined) {
      offset = bytes.writeUInt32LE(ABSENT, offset);
      return;
    }
    offset = bytes.writeUInt32LE(lengths[i] as number, offset);
    offset += bytes.write(value, offset, encodingOf(i, value.charCodeAt(0)));
  });
  return bytes;
}

/**
 * The record a packed session holds (a compact record: its tokens stay packed until read). With `tokens`, the
 * record leaves its tokens in the slab and reads them from there (see SlabSessionRecord).
 */
export function unpackSession(bytes: Buffer, tokens?: { reader: PackedTokenReader; slot: number }): CompactSessionRecord {
  const values = readFields(bytes, tokens ? Field.PolicyClaims : Field.RefreshToken);
  const text = (field: Field): string | undefined => values[field];
  const claims: SessionRecord['claims'] = { sub: text(Field.Sub) as string };
  const email = text(Field.Email);
  const name = text(Field.Name);
  const preferredUsername = text(Field.PreferredUsername);
  if (email !== undefined) claims.email = email;
  if (name !== undefined) claims.name = name;
  if (preferredUsername !== undefined) claims.preferred_username = preferredUsername;
  const policyClaims = text(Field.PolicyClaims);
  const fields: SessionFields = {
    key: text(Field.Key) as string,
    claims,
    roles: JSON.parse(text(Field.Roles) as string) as string[],
    policyClaims: policyClaims === undefined ? undefined : (JSON.parse(policyClaims) as Record<string, unknown>),
    sid: text(Field.Sid),
    tokensExpireAt: bytes.readDoubleLE(TIME_AT.tokensExpireAt),
    createdAt: bytes.readDoubleLE(TIME_AT.createdAt),
    expiresAt: bytes.readDoubleLE(TIME_AT.expiresAt),
    lastSeenAt: bytes.readDoubleLE(TIME_AT.lastSeenAt),
    refreshAt: bytes.readDoubleLE(TIME_AT.refreshAt),
  };
  if (tokens) return new SlabSessionRecord(fields, tokens.reader, tokens.slot);
  return new CompactSessionRecord(fields, {
    idToken: text(Field.IdToken) as string,
    accessToken: text(Field.AccessToken),
    refreshToken: text(Field.RefreshToken),
  });
}

/** The packed tokens of a packed session, read without the other fields. */
export function unpackTokens(bytes: Buffer): PackedTokens {
  const values = readFields(bytes, Field.RefreshToken, Field.IdToken);
  return { idToken: values[Field.IdToken] as string, accessToken: values[Field.AccessToken], refreshToken: values[Field.RefreshToken] };
}

/** Where a SlabSessionRecord reads its tokens: the packed session at `slot` (the memory store). */
export interface PackedTokenReader {
  tokensAt(slot: number): PackedTokens;
}

const NO_TOKENS: PackedTokens = { idToken: '', accessToken: undefined, refreshToken: undefined };

/**
 * A record of the memory store's recent ones whose tokens stay in the slab: the ID token alone is half of a record,
 * and only logout and refresh read it. The store calls keepTokens before the record's slab entry goes and when the
 * record leaves its recent ones, so a record still held elsewhere (a logout that ends the session, then sends its
 * ID token as the hint) keeps its own tokens, never another session's.
 */
export class SlabSessionRecord extends CompactSessionRecord {
  #reader: PackedTokenReader | undefined;
  readonly #slot: number;

  constructor(fields: SessionFields, reader: PackedTokenReader, slot: number) {
    super(fields, NO_TOKENS);
    this.#reader = reader;
    this.#slot = slot;
  }

  override packedTokens(): PackedTokens {
    return this.#reader === undefined ? super.packedTokens() : this.#reader.tokensAt(this.#slot);
  }

  /** Copies the tokens out of the slab: from now on the record holds them itself. */
  keepTokens(): void {
    if (this.#reader === undefined) return;
    this.holdTokens(this.#reader.tokensAt(this.#slot));
    this.#reader = undefined;
  }
}

/** The subject and provider session id, what the store's indexes hold, read without unpacking the rest. */
export function packedSubAndSid(bytes: Buffer): { sub: string; sid: string | undefined } {
  const values = readFields(bytes, Field.Sid);
  return { sub: values[Field.Sub] as string, sid: values[Field.Sid] };
}

/** The store key of a session packed in `slab` at `slot`, read in place (the first field, always set). */
export function packedKey(slab: ByteSlab, slot: number): string {
  return slab.readUtf8(slot, FIELDS_AT + 4, FIELDS_AT + 4 + slab.readUInt32(slot, FIELDS_AT));
}

/** Whether the session packed in `slab` at `slot` has the store key `key`, compared in place. */
export function hasPackedKey(slab: ByteSlab, slot: number, key: string): boolean {
  return slab.textEquals(slot, FIELDS_AT + 4, FIELDS_AT + 4 + slab.readUInt32(slot, FIELDS_AT), key);
}

/** Fields `first` to `last` (the earlier ones are skipped, not decoded), at their Field index. */
function readFields(bytes: Buffer, last: Field = Field.RefreshToken, first: Field = Field.Key): Array<string | undefined> {
  const values: Array<string | undefined> = [];
  let offset = FIELDS_AT;
  for (let field = 0; field <= last; field++) {
    const length = bytes.readUInt32LE(offset);
    offset += 4;
    if (length === ABSENT || field < first) {
      values.push(undefined);
      if (length !== ABSENT) offset += length;
      continue;
    }
    values.push(bytes.toString(encodingOf(field, length === 0 ? 0 : (bytes[offset] as number)), offset, offset + length));
    offset += length;
  }
  return values;
}
