// A SessionRecord that keeps its tokens as bytes: at 100,000 sessions the ID token alone is most of the memory.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { LRUCache } from 'lru-cache';
import type { IdentityClaims, SessionRecord } from './types.js';

/**
 * Packed form of a token: RAW + the text; DOTTED + segment count + 16-bit byte lengths + the decoded bytes (latin1);
 * or, for a JWS (the ID token), DEFLATED + 3 + the three lengths + the signature bytes + header and payload deflated.
 */
const RAW = '\u0000';
const DOTTED = '\u0001';
const DEFLATED = '\u0002';
/**
 * A 1 KiB window and the smallest hash table: about 5 KiB of zlib state per call instead of the default 384 KiB
 * ((1 << windowBits + 2) + (1 << memLevel + 9)); an ID token's header and payload (with the dictionary) compress
 * as well in it (455 bytes to about 250 for the bench's token).
 */
const ZLIB = { level: 9, windowBits: 10, memLevel: 1 } as const;
/**
 * Output buffers of 1 KiB instead of zlib's 16 KiB: an ID token deflates to about 250 bytes and inflates to about
 * 450, and each call's output buffer is garbage until V8 collects it; 100,000 deflates in a row left 45 MiB of
 * the allocator's pages in RSS with 16 KiB buffers, 13 MiB with 1 KiB (more chunks are used when a token needs them).
 */
const CHUNK_SIZE = 1024;
/**
 * Common JOSE header and ID token claim text: a preset dictionary lets deflate shrink a 450-byte header and payload
 * by about 45% instead of 30%. Packed forms never leave the process, so this text may change between versions.
 */
const DICTIONARY = Buffer.from(
  '{"alg":"RS256","typ":"JWT","kid":"{"iss":"https://","sub":"aud":"exp":"iat":"auth_time":"nonce":"at_hash":"c_hash":"acr":"amr":["azp":' +
    '"sid":"email":"email_verified":true,"name":"given_name":"family_name":"preferred_username":"roles":["groups":["locale":"session_state":"typ":"ID"',
  'latin1',
);
const MAX_SEGMENTS = 255;
/**
 * Role lists are few and shared by many users: a session holds the one frozen array of its list (about 90 bytes a
 * session for `['user']` otherwise). Bounded, so that a provider issuing a distinct list per user costs no more.
 */
const sharedRoleLists = new LRUCache<string, readonly string[]>({ max: 4096 });
const MAX_SEGMENT_BYTES = 0xffff;

/** A record's fields but its tokens. */
export type SessionFields = Omit<SessionRecord, 'idToken' | 'accessToken' | 'refreshToken'>;

/** The three tokens in their packed forms (see packToken). */
export interface PackedTokens {
  idToken: string;
  accessToken: string | undefined;
  refreshToken: string | undefined;
}

/**
 * Tokens that are dot-separated canonical base64url (JWTs, and most opaque tokens) are held decoded, a quarter
 * smaller, in a one-byte string (no ArrayBuffer per token); anything else as its text. The ID token's header and
 * payload are also deflated (it is half of a session). Reading a token re-encodes it (under 1 µs, 7 µs for the ID token),
 * which only refresh, logout and a cold pass_access_token header do; the per-request fields are plain.
 * JSON.stringify (the Redis seal) sees an ordinary record.
 */
export class CompactSessionRecord implements SessionRecord {
  key: string;
  claims: IdentityClaims;
  roles: readonly string[];
  policyClaims?: Record<string, unknown>;
  sid?: string;
  tokensExpireAt: number;
  createdAt: number;
  expiresAt: number;
  lastSeenAt: number;
  refreshAt: number;
  #idToken: string;
  #accessToken: string | undefined;
  #refreshToken: string | undefined;

  constructor(fields: SessionFields, tokens: PackedTokens) {
    this.key = fields.key;
    this.claims = fields.claims;
    this.roles = sharedRoles(fields.roles);
    if (fields.policyClaims !== undefined) this.policyClaims = fields.policyClaims;
    if (fields.sid !== undefined) this.sid = fields.sid;
    this.tokensExpireAt = fields.tokensExpireAt;
    this.createdAt = fields.createdAt;
    this.expiresAt = fields.expiresAt;
    this.lastSeenAt = fields.lastSeenAt;
    this.refreshAt = fields.refreshAt;
    this.#idToken = tokens.idToken;
    this.#accessToken = tokens.accessToken;
    this.#refreshToken = tokens.refreshToken;
  }

  get idToken(): string {
    return unpackToken(this.packedTokens().idToken);
  }

  get accessToken(): string | undefined {
    const packed = this.packedTokens().accessToken;
    return packed === undefined ? undefined : unpackToken(packed);
  }

  get refreshToken(): string | undefined {
    const packed = this.packedTokens().refreshToken;
    return packed === undefined ? undefined : unpackToken(packed);
  }

  packedTokens(): PackedTokens {
    return { idToken: this.#idToken, accessToken: this.#accessToken, refreshToken: this.#refreshToken };
  }

  /** For a subclass that holds its tokens elsewhere until it takes them in. */
  protected holdTokens(tokens: PackedTokens): void {
    this.#idToken = tokens.idToken;
    this.#accessToken = tokens.accessToken;
    this.#refreshToken = tokens.refreshToken;
  }

  /** A plain record with the tokens as text: what JSON (the Redis seal) and spreads need. */
  toJSON(): SessionRecord {
    const plain: SessionRecord = {
      key: this.key,
      claims: this.claims,
      roles: this.roles,
      idToken: this.idToken,
      tokensExpireAt: this.tokensExpireAt,
      createdAt: this.createdAt,
      expiresAt: this.expiresAt,
      lastSeenAt: this.lastSeenAt,
      refreshAt: this.refreshAt,
    };
    if (this.policyClaims !== undefined) plain.policyClaims = this.policyClaims;
    if (this.sid !== undefined) plain.sid = this.sid;
    const { accessToken, refreshToken } = this.packedTokens();
    if (accessToken !== undefined) plain.accessToken = unpackToken(accessToken);
    if (refreshToken !== undefined) plain.refreshToken = unpackToken(refreshToken);
    return plain;
  }
}

/** The record with its tokens held as bytes (see CompactSessionRecord). */
export function compactRecord(record: SessionRecord): CompactSessionRecord {
  return new CompactSessionRecord(record, packTokens(record));
}

/** The record's tokens packed: taken as they are from a compact record, packed from a plain one. */
export function packedTokensOf(record: SessionRecord): PackedTokens {
  return record instanceof CompactSessionRecord ? record.packedTokens() : packTokens(record);
}

function packTokens(record: SessionRecord): PackedTokens {
  return {
    idToken: packToken(record.idToken, true),
    accessToken: record.accessToken === undefined ? undefined : packToken(record.accessToken),
    refreshToken: record.refreshToken === undefined ? undefined : packToken(record.refreshToken),
  };
}

function sharedRoles(roles: readonly string[]): readonly string[] {
  const key = roles.join('\n');
  let shared = sharedRoleLists.get(key);
  // the key is only a hint (a role may contain the separator): the list is shared only when equal
  if (shared === undefined || shared.length !== roles.length || shared.some((role, i) => role !== roles[i])) {
    shared = Object.freeze([...roles]);
    sharedRoleLists.set(key, shared);
  }
  return shared;
}

const CANONICAL_SEGMENT = /^[A-Za-z0-9_-]*$/;

/** `deflate`: also compress a JWS's header and payload (about 20 µs at sign-in and refresh; 7 µs to read it back at logout). */
export function packToken(token: string, deflate = false): string {
  const segments = token.split('.');
  if (segments.length > MAX_SEGMENTS) return RAW + token;
  const lengths: number[] = [];
  const bytes: Buffer[] = [];
  for (const segment of segments) {
    if (!CANONICAL_SEGMENT.test(segment)) return RAW + token;
    const decoded = Buffer.from(segment, 'base64url');
    // Only a spelling that re-encodes to itself (no stray padding bits, no `len % 4 == 1`) can be rebuilt from bytes.
    if (decoded.length > MAX_SEGMENT_BYTES || decoded.toString('base64url') !== segment) return RAW + token;
    lengths.push(decoded.length);
    bytes.push(decoded);
  }
  if (deflate && segments.length === 3) {
    const deflated = deflateRawSync(Buffer.concat([bytes[0] as Buffer, bytes[1] as Buffer]), { ...ZLIB, chunkSize: CHUNK_SIZE, dictionary: DICTIONARY });
    if (deflated.length < (bytes[0] as Buffer).length + (bytes[1] as Buffer).length) {
      return Buffer.concat([Buffer.from(prefix(DEFLATED, lengths), 'latin1'), bytes[2] as Buffer, deflated]).toString('latin1');
    }
  }
  const header = prefix(DOTTED, lengths);
  // `+ ''` does not flatten; Buffer's latin1 decode returns one flat one-byte string.
  return Buffer.concat([Buffer.from(header, 'latin1'), ...bytes]).toString('latin1');
}

function prefix(kind: string, lengths: readonly number[]): string {
  let text = kind + String.fromCharCode(lengths.length);
  for (const length of lengths) text += String.fromCharCode(length >> 8, length & 0xff);
  return text;
}

export function unpackToken(packed: string): string {
  if (packed.charCodeAt(0) === 0) return packed.slice(1);
  const count = packed.charCodeAt(1);
  const lengthAt = (i: number): number => (packed.charCodeAt(2 + i * 2) << 8) | packed.charCodeAt(3 + i * 2);
  const start = 2 + count * 2;
  if (packed.charCodeAt(0) === 2) {
    const bytes = Buffer.from(packed, 'latin1');
    const headerLength = lengthAt(0);
    const signatureEnd = start + lengthAt(2);
    const inflated = inflateRawSync(bytes.subarray(signatureEnd), { windowBits: ZLIB.windowBits, chunkSize: CHUNK_SIZE, dictionary: DICTIONARY });
    return `${inflated.toString('base64url', 0, headerLength)}.${inflated.toString('base64url', headerLength)}.${bytes.toString('base64url', start, signatureEnd)}`;
  }
  const bytes = Buffer.from(packed, 'latin1');
  let offset = start;
  const segments: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = lengthAt(i);
    segments.push(bytes.toString('base64url', offset, offset + length));
    offset += length;
  }
  return segments.join('.');
}
