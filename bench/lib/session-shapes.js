// Sessions shaped like the dev provider's, for the memory bench: an RS256 ID token of about 1000 characters, opaque
// 43-character access and refresh tokens, four identity claims and one role; every string its own flat copy, as
// JSON.parse makes them.
import { randomBytes } from 'node:crypto';

export const base64url = (bytes) => randomBytes(bytes).toString('base64url');

/** A flat copy: template literals make cons strings (a tree of parts), which tokens and claims parsed from JSON are not. */
export const flat = (text) => Buffer.from(text, 'latin1').toString('latin1');

/** A token-shaped string of the dev provider's sizes; each call allocates a distinct string. */
export function idToken(sub) {
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: base64url(32) })).toString('base64url');
  const payload = Buffer.from(
    JSON.stringify({
      sub,
      email: `${sub}@example.test`,
      email_verified: true,
      name: `User ${sub}`,
      preferred_username: sub,
      roles: ['user'],
      nonce: base64url(32),
      at_hash: base64url(16),
      sid: base64url(16),
      auth_time: 1_800_000_000,
      iat: 1_800_000_000,
      exp: 1_800_003_600,
      aud: 'gatehouse-bench',
      iss: 'http://127.0.0.1:1',
    }),
  ).toString('base64url');
  return flat(`${header}.${payload}.${base64url(256)}`);
}

export function identityClaims(i) {
  const sub = flat(`user-${i}`);
  return { sub, email: flat(`${sub}@example.test`), name: flat(`User ${sub}`), preferred_username: sub };
}

/** The plain SessionRecord of user `i` (what Sessions.create hands to compactRecord). */
export function sessionFields(i, key, now) {
  const claims = identityClaims(i);
  return {
    key,
    claims,
    roles: [flat('user')],
    sid: base64url(16),
    idToken: idToken(claims.sub),
    accessToken: base64url(32),
    refreshToken: base64url(32),
    tokensExpireAt: now + 3_600_000,
    createdAt: now,
    expiresAt: now + 8 * 3_600_000,
    lastSeenAt: now,
    refreshAt: now + 3_600_000,
  };
}
