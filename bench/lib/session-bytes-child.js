// Where a session's bytes go: the V8 heap held by 100,000 of each part of a session, as the memory store keeps it,
// measured one part at a time (live heap after full collections, before and after). Run with --expose-gc; prints a
// markdown table. Part of `npm run bench:memory`.
import { compactRecord, packToken } from '../../dist/src/session/compact-record.js';
import { MemoryStore } from '../../dist/src/session/memory-store.js';
import { SessionCookie } from '../../dist/src/session/session-cookie.js';
import { base64url, flat, idToken, identityClaims, sessionFields } from './session-shapes.js';

const COUNT = 100_000;
/** One claims object for the row that measures the record around it. */
const SHARED_CLAIMS = identityClaims(0);
const collect = /** @type {() => void} */ (/** @type {{ gc?: () => void }} */ (globalThis).gc);
if (!collect) throw new Error('run with --expose-gc');

function liveHeap() {
  collect();
  collect();
  return process.memoryUsage().heapUsed;
}

/** Bytes of live heap per item for COUNT items made by `make` (kept until the next measurement). */
function bytesEach(make) {
  const before = liveHeap();
  const kept = Array.from({ length: COUNT }, (_, i) => make(i));
  const bytes = (liveHeap() - before) / COUNT;
  kept.length = 0;
  return bytes;
}

const cookie = new SessionCookie({ secrets: ['bench-session-secret-0123456789-abcdefghij'], name: 'gh', secure: false, maxAgeMs: 3_600_000 });
const now = Date.now();
const tokens = Array.from({ length: COUNT }, (_, i) => idToken(`user-${i}`));
const rows = [
  ['ID token as text (about 1000 characters)', bytesEach((i) => flat(/** @type {string} */ (tokens[i])))],
  ['ID token as held: signature bytes, header and payload deflated', bytesEach((i) => packToken(/** @type {string} */ (tokens[i]), true))],
  ['access and refresh tokens as held (bytes)', 2 * bytesEach(() => packToken(base64url(32)))],
  ['identity claims (sub, email, name, preferred_username)', bytesEach((i) => identityClaims(i))],
  [
    'the record itself: key, sid, five timestamps, shared role list',
    bytesEach(() => compactRecord({ ...sessionFields(0, cookie.issue().key, now), claims: SHARED_CLAIMS, idToken: 'x', accessToken: 'x', refreshToken: 'x' })),
  ],
];
tokens.length = 0;

const records = Array.from({ length: COUNT }, (_, i) => compactRecord(sessionFields(i, cookie.issue().key, now)));
const before = liveHeap();
const store = new MemoryStore({ maxSessions: COUNT, idleTimeoutMs: 3_600_000, sweepIntervalMs: 0 });
for (const record of records) await store.set(record);
rows.push(['memory store: LRU entry, sid and sub indexes', (liveHeap() - before) / COUNT]);
const whole = (() => {
  records.length = 0;
  const emptied = liveHeap();
  void store.close();
  return (emptied - liveHeap()) / COUNT;
})();

process.stdout.write(
  [
    '| part of a session | bytes |',
    '|---|--:|',
    ...rows.map(([part, bytes]) => `| ${part} | ${Math.round(Number(bytes))} |`),
    `| **a whole session in the store** (all of the above but the ID token as text) | **${Math.round(whole)}** |`,
    '',
  ].join('\n'),
);
