// `node bench/session-miss.js` (after `npm run build`): what a signed-in request costs when its session is not among
// session.hot_sessions (the per-session caches missed), part by part, in µs per call on this machine.
import { randomBytes } from 'node:crypto';
import { AssertionSigner, loadAssertionKeys } from '../dist/src/identity/assertion.js';
import { buildIdentityHeaders } from '../dist/src/identity/headers.js';
import { validateConfig } from '../dist/src/config/load.js';
import { compactRecord } from '../dist/src/session/compact-record.js';
import { SessionCookie } from '../dist/src/session/session-cookie.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20_000);
const b64 = (bytes) => randomBytes(bytes).toString('base64url');
const config = validateConfig({
  mode: 'cloud',
  public_url: 'http://127.0.0.1:1',
  upstream: { url: 'http://127.0.0.1:2' },
  sso: { issuer: 'http://127.0.0.1:1', client_id: 'bench', client_secret: 'bench-secret' },
  session: { secrets: ['bench-session-secret-0123456789-abcdefghij'] },
});
const claims = { sub: 'user-1', email: 'user-1@example.test', name: 'User 1', preferred_username: 'user-1' };
const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
// shaped like the dev provider's (and bench/lib/session-memory-child.js's): held deflated
const idToken = `${part({ alg: 'RS256', typ: 'JWT', kid: b64(32) })}.${part({ ...claims, email_verified: true, roles: ['user'], nonce: b64(32), at_hash: b64(16), sid: b64(16), auth_time: 1_800_000_000, iat: 1_800_000_000, exp: 1_800_003_600, aud: 'gatehouse-bench', iss: 'http://127.0.0.1:1' })}.${b64(256)}`;
const record = compactRecord({
  key: b64(32),
  claims,
  roles: ['user'],
  sid: b64(16),
  idToken,
  accessToken: b64(32),
  refreshToken: b64(32),
  tokensExpireAt: 0,
  createdAt: 0,
  expiresAt: 0,
  lastSeenAt: 0,
  refreshAt: 0,
});

/** µs per call, best of 3 runs of `rounds` calls (sync) or `rounds` awaited calls (async). */
async function time(name, rounds, call) {
  let best = Infinity;
  for (let run = 0; run < 3; run++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) {
      const result = call(i);
      if (result instanceof Promise) await result;
    }
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1000 / rounds);
  }
  console.log(`| ${name} | ${best.toFixed(2)} |`);
}

const cookie = new SessionCookie({ secrets: config.session.secrets, name: 'gatehouse_session', secure: false, maxAgeMs: 3_600_000, rememberVerified: 1 });
const values = Array.from({ length: 2 }, () => cookie.issue().value);
const signer = new AssertionSigner({
  keys: await loadAssertionKeys([]),
  issuer: 'http://127.0.0.1:1',
  audience: 'http://127.0.0.1:2',
  ttlMs: 60_000,
  maxEntries: 1,
});
console.log(`- ${ROUNDS} calls per run, best of 3; Node ${process.version}`);
console.log('');
console.log('| part of a miss | µs |');
console.log('|---|--:|');
// two alternating cookies with a cache of one: every verify is a miss (HMAC-SHA256 and the shape check)
await time('verify the cookie (HMAC, cache missed)', ROUNDS, (i) => cookie.verify(values[i % 2]));
await time('identity headers (buildIdentityHeaders)', ROUNDS, () => buildIdentityHeaders(record.claims, record.roles, config.identity.headers, () => {}));
await time('access token from bytes (pass_access_token)', ROUNDS, () => record.accessToken);
await time('ID token from bytes (logout, refresh)', ROUNDS, () => record.idToken);
await time('ID token to bytes (sign-in, refresh)', ROUNDS, () => compactRecord({ ...record.toJSON(), idToken }));
await time('sign the assertion (ES256, awaited one at a time)', Math.ceil(ROUNDS / 10), (i) =>
  signer.prepare({ key: `k${i}`, claims, roles: record.roles, sid: record.sid }),
);
