import { describe, expect, it } from 'vitest';
import { compactRecord } from '../../../src/session/compact-record.js';
import { TIME_AT, packSession, packedSubAndSid, unpackSession, unpackTokens } from '../../../src/session/packed-session.js';
import type { SessionRecord } from '../../../src/session/types.js';
import { sessionRecord } from '../../helpers/session-records.js';

/** Every field set, with text beyond ASCII and nested policy claims. */
function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return sessionRecord({
    claims: { sub: 'alice', email: 'alice@example.test', name: 'Zoë Ünal ✓ 🐙', preferred_username: 'zoe' },
    roles: ['user', 'admin'],
    policyClaims: { email_verified: true, org: { teams: ['a', 'b'], level: 3 } },
    ...overrides,
  });
}

const plain = (value: SessionRecord): SessionRecord => JSON.parse(JSON.stringify(value)) as SessionRecord;
const NOTHING = { idToken: '', accessToken: undefined, refreshToken: undefined };

describe('packSession / unpackSession', () => {
  it.each([
    ['every field set, text beyond ASCII', record()],
    [
      'optional fields absent',
      record({ claims: { sub: 'bob' }, roles: [], policyClaims: undefined, sid: undefined, accessToken: undefined, refreshToken: undefined }),
    ],
    ['tokens kept as text, beyond latin1', record({ idToken: 'not.a.jwt+/✓', accessToken: 'tökén', refreshToken: '' })],
    ['empty strings', record({ claims: { sub: '' }, sid: '', roles: [''] })],
  ])('gives back %s exactly, from a plain or a compact record, with its tokens or reading them from the packed form', (_name, session) => {
    for (const source of [session, compactRecord(session)]) {
      const packed = packSession(source);
      const withTokens = unpackSession(packed);
      const readingTokens = unpackSession(packed, { reader: { tokensAt: (slot) => (slot === 7 ? unpackTokens(packed) : NOTHING) }, slot: 7 });
      for (const back of [withTokens, readingTokens]) {
        expect(plain(back)).toEqual(plain(session));
        expect(back.idToken).toBe(session.idToken);
        expect(back.accessToken).toBe(session.accessToken);
        expect(back.refreshToken).toBe(session.refreshToken);
      }
    }
  });

  it('reads and writes times in place, and reads sub and sid without the rest', () => {
    const packed = packSession(record());
    expect(packed.readDoubleLE(TIME_AT.expiresAt)).toBe(1_800_000_028_800);
    packed.writeDoubleLE(1_800_000_000_999, TIME_AT.lastSeenAt);
    expect(unpackSession(packed).lastSeenAt).toBe(1_800_000_000_999);
    expect(packedSubAndSid(packed)).toEqual({ sub: 'alice', sid: 'sid-1' });
    expect(packedSubAndSid(packSession(record({ sid: undefined })))).toEqual({ sub: 'alice', sid: undefined });
  });

  it('keeps a packed JWT in one byte per byte (no UTF-8 growth of the bytes over 127)', () => {
    const session = record({ claims: { sub: 'a' }, roles: [], policyClaims: undefined, sid: undefined, accessToken: undefined, refreshToken: undefined });
    const compact = compactRecord(session);
    expect(packSession(compact).length).toBeLessThan(40 + 11 * 4 + compact.packedTokens().idToken.length + 10);
  });
});
