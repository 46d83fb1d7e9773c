// Session records for unit tests of how a session is held: random tokens shaped like a provider's.
import { randomBytes } from 'node:crypto';
import type { SessionRecord } from '../../src/session/types.js';

export const b64 = (bytes: number): string => randomBytes(bytes).toString('base64url');
/** An RS256-sized JWS: header, payload and a 256-byte signature. */
export const jwt = (): string => `${b64(60)}.${b64(400)}.${b64(256)}`;

/** A signed-in session with every token set and fixed times; `overrides` replace whole fields. */
export function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    key: 'k1',
    claims: { sub: 'alice', email: 'alice@example.test' },
    roles: ['user'],
    sid: 'sid-1',
    idToken: jwt(),
    accessToken: b64(32),
    refreshToken: b64(32),
    tokensExpireAt: 1_800_000_003_600,
    createdAt: 1_800_000_000_001,
    expiresAt: 1_800_000_028_800,
    lastSeenAt: 1_800_000_000_002,
    refreshAt: 1_800_000_003_000,
    ...overrides,
  };
}
