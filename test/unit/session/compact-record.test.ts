import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CompactSessionRecord, compactRecord, packToken, unpackToken } from '../../../src/session/compact-record.js';
import type { SessionRecord } from '../../../src/session/types.js';
import { b64, jwt, sessionRecord } from '../../helpers/session-records.js';

describe('packToken / unpackToken', () => {
  it.each([
    ['a JWT', jwt()],
    ['an opaque base64url token', b64(32)],
    ['a token of 1 byte', b64(1)],
    ['an empty segment', `${b64(20)}..${b64(20)}`],
    ['an empty token', ''],
    ['a token with padding', `${randomBytes(10).toString('base64')}`],
    ['non-canonical base64url (stray bits in the last character)', 'AB'],
    ['a length of 1 mod 4', 'abcde'],
    ['characters outside base64url', 'gho_abc+/=~ 123'],
    ['characters beyond latin1', 'tökén-✓'],
  ])('gives back %s exactly', (_name, token) => {
    expect(unpackToken(packToken(token))).toBe(token);
  });

  it('holds a JWT as its bytes: a quarter smaller than the text', () => {
    const token = jwt();
    const packed = packToken(token);
    expect(packed.length).toBeLessThan(token.length * 0.76);
    expect(packed.charCodeAt(0)).toBe(1);
  });

  it("deflates a JWS's header and payload when asked (the ID token), and gives it back exactly", () => {
    const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const claims = {
      iss: 'https://id.example.test',
      sub: 'alice',
      aud: 'gatehouse',
      exp: 1_800_003_600,
      iat: 1_800_000_000,
      nonce: b64(32),
      sid: b64(16),
      email: 'alice@example.test',
      email_verified: true,
      name: 'Alice',
      preferred_username: 'alice',
    };
    const token = `${part({ alg: 'RS256', typ: 'JWT', kid: b64(32) })}.${part(claims)}.${b64(256)}`;
    const packed = packToken(token, true);
    expect(packed.charCodeAt(0)).toBe(2);
    expect(packed.length).toBeLessThan(packToken(token).length - 100);
    expect(unpackToken(packed)).toBe(token);
    expect(compactRecord(sessionRecord({ idToken: token })).idToken).toBe(token);
  });

  it('gives back an ID token whose header and payload take several of zlib’s 1 KiB output chunks each way', () => {
    const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    // groups of a large directory: 8 KiB of payload that deflates to well over 1 KiB
    const groups = Array.from({ length: 200 }, (_, i) => `group-${i}-${b64(6)}`);
    const token = `${part({ alg: 'RS256', typ: 'JWT', kid: b64(32) })}.${part({ sub: 'alice', aud: 'gatehouse', groups })}.${b64(256)}`;
    const packed = packToken(token, true);
    expect(packed.charCodeAt(0)).toBe(2);
    expect(packed.length).toBeGreaterThan(2048);
    expect(unpackToken(packed)).toBe(token);
  });

  it.each([
    ['random (incompressible) parts', jwt()],
    ['two segments', `${b64(300)}.${b64(20)}`],
    ['a non-canonical token', 'AB.CD.EF'],
  ])('falls back without deflate for %s', (_name, token) => {
    const packed = packToken(token, true);
    expect(packed.charCodeAt(0)).not.toBe(2);
    expect(unpackToken(packed)).toBe(token);
  });

  it('keeps any other text as it is', () => {
    expect(packToken('AB')).toBe('\u0000AB');
  });
});

describe('CompactSessionRecord', () => {
  it('reads back every field of the record it was made from', () => {
    const plain = sessionRecord({ policyClaims: { email_verified: true } });
    const compact = compactRecord(plain);
    expect(compact).toBeInstanceOf(CompactSessionRecord);
    for (const field of Object.keys(plain) as Array<keyof SessionRecord>) expect(compact[field]).toStrictEqual(plain[field]);
  });

  it('shares one frozen role list among the sessions that have it, and only when the lists are equal', () => {
    const first = compactRecord(sessionRecord({ roles: ['admin', 'user'] }));
    const second = compactRecord(sessionRecord({ roles: ['admin', 'user'] }));
    expect(second.roles).toBe(first.roles);
    expect(Object.isFrozen(first.roles)).toBe(true);
    expect(compactRecord(sessionRecord({ roles: ['user', 'admin'] })).roles).toEqual(['user', 'admin']);
    // the same text joined, another list
    const joined = compactRecord(sessionRecord({ roles: ['admin\nuser'] }));
    expect(joined.roles).toEqual(['admin\nuser']);
    const split = compactRecord(sessionRecord({ roles: ['a', 'b\nc'] }));
    const other = compactRecord(sessionRecord({ roles: ['a\nb', 'c'] }));
    expect(split.roles).toEqual(['a', 'b\nc']);
    expect(other.roles).toEqual(['a\nb', 'c']);
    expect(compactRecord(sessionRecord({ roles: [] })).roles).toEqual([]);
  });

  it('serializes (the Redis seal) to the plain record, absent tokens staying absent', () => {
    const plain = sessionRecord({ accessToken: undefined, refreshToken: undefined, sid: undefined });
    delete plain.accessToken;
    delete plain.refreshToken;
    delete plain.sid;
    const json = JSON.parse(JSON.stringify(compactRecord(plain))) as SessionRecord;
    expect(json).toEqual(plain);
    expect(Object.keys(json).sort()).toEqual(Object.keys(plain).sort());
  });

  it('keeps the per-request fields plain and writable (touch)', () => {
    const compact = compactRecord(sessionRecord());
    compact.lastSeenAt = 42;
    expect(compact.lastSeenAt).toBe(42);
    expect(JSON.parse(JSON.stringify(compact)).lastSeenAt).toBe(42);
  });
});
