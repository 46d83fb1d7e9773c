// A SessionRecord that keeps its tokens as bytes: at 100,000 sessions the ID token alone is most of the memory.
import type { IdentityClaims, SessionRecord } from './types.js';

/** Packed form of a token: RAW + the text, or DOTTED + segment count + 16-bit byte lengths + the decoded bytes (latin1). */
const RAW = '\u0000';
const DOTTED = '\u0001';
const MAX_SEGMENTS = 255;
const MAX_SEGMENT_BYTES = 0xffff;

/**
 * Tokens that are dot-separated canonical base64url (JWTs, and most opaque tokens) are held decoded, a quarter
 * smaller, in a one-byte string (no ArrayBuffer per token); anything else as its text. Reading a token re-encodes it
 * (a few µs), which only refresh, logout and a cold pass_access_token header do; the per-request fields are plain.
 * JSON.stringify (the Redis seal) sees an ordinary record.
 */
export class CompactSessionRecord implements SessionRecord {
  key: string;
  claims: IdentityClaims;
  roles: string[];
  policyClaims?: Record<string, unknown>;
  sid?: string;
  tokensExpireAt: number;
  createdAt: number;
  expiresAt: number;
  lastSeenAt: number;
  refreshAt: number;
  readonly #idToken: string;
  readonly #accessToken: string | undefined;
  readonly #refreshToken: string | undefined;

  constructor(record: SessionRecord) {
    this.key = record.key;
    this.claims = record.claims;
    this.roles = record.roles;
    if (record.policyClaims !== undefined) this.policyClaims = record.policyClaims;
    if (record.sid !== undefined) this.sid = record.sid;
    this.tokensExpireAt = record.tokensExpireAt;
    this.createdAt = record.createdAt;
    this.expiresAt = record.expiresAt;
    this.lastSeenAt = record.lastSeenAt;
    this.refreshAt = record.refreshAt;
    this.#idToken = packToken(record.idToken);
    this.#accessToken = record.accessToken === undefined ? undefined : packToken(record.accessToken);
    this.#refreshToken = record.refreshToken === undefined ? undefined : packToken(record.refreshToken);
  }

  get idToken(): string {
    return unpackToken(this.#idToken);
  }

  get accessToken(): string | undefined {
    return this.#accessToken === undefined ? undefined : unpackToken(this.#accessToken);
  }

  get refreshToken(): string | undefined {
    return this.#refreshToken === undefined ? undefined : unpackToken(this.#refreshToken);
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
    if (this.#accessToken !== undefined) plain.accessToken = this.accessToken;
    if (this.#refreshToken !== undefined) plain.refreshToken = this.refreshToken;
    return plain;
  }
}

/** The record with its tokens held as bytes (see CompactSessionRecord). */
export function compactRecord(record: SessionRecord): SessionRecord {
  return new CompactSessionRecord(record);
}

const CANONICAL_SEGMENT = /^[A-Za-z0-9_-]*$/;

export function packToken(token: string): string {
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
  let header = DOTTED + String.fromCharCode(segments.length);
  for (const length of lengths) header += String.fromCharCode(length >> 8, length & 0xff);
  // `+ ''` does not flatten; Buffer's latin1 decode returns one flat one-byte string.
  return Buffer.concat([Buffer.from(header, 'latin1'), ...bytes]).toString('latin1');
}

export function unpackToken(packed: string): string {
  if (packed.charCodeAt(0) === 0) return packed.slice(1);
  const count = packed.charCodeAt(1);
  const bytes = Buffer.from(packed, 'latin1');
  let offset = 2 + count * 2;
  const segments: string[] = [];
  for (let i = 0; i < count; i++) {
    const length = (packed.charCodeAt(2 + i * 2) << 8) | packed.charCodeAt(3 + i * 2);
    segments.push(bytes.toString('base64url', offset, offset + length));
    offset += length;
  }
  return segments.join('.');
}
