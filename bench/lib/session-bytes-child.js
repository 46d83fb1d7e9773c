// Where a session's bytes go: the memory held by 100,000 of each part of a session, measured one part at a time
// (live V8 heap and ArrayBuffer bytes after full collections, before and after). Run with --expose-gc; prints a
// markdown table. Part of `npm run bench:memory`.
import { compactRecord, packToken } from '../../dist/src/session/compact-record.js';
import { MemoryStore } from '../../dist/src/session/memory-store.js';
import { packSession, unpackSession } from '../../dist/src/session/packed-session.js';
import { SessionCookie } from '../../dist/src/session/session-cookie.js';
import { base64url, flat, idToken, identityClaims, sessionFields } from './session-shapes.js';

const COUNT = 100_000;
/** One claims object for the row that measures the record around it. */
const SHARED_CLAIMS = identityClaims(0);
const collect = /** @type {() => void} */ (/** @type {{ gc?: () => void }} */ (globalThis).gc);
if (!collect) throw new Error('run with --expose-gc');

/** Live V8 heap and ArrayBuffer bytes (outside the heap). */
function live() {
  collect();
  collect();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heap: heapUsed, outside: arrayBuffers };
}

/** Bytes of live heap per item for COUNT items made by `make` (kept until the next measurement). */
function bytesEach(make) {
  const before = live();
  const kept = Array.from({ length: COUNT }, (_, i) => make(i));
  const bytes = (live().heap - before.heap) / COUNT;
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

// A recent record of the memory store read back from its packed form: everything above but the tokens, which it
// reads from the slab when asked (logout, refresh). The packed forms are made (and kept) before measuring.
const packed = Array.from({ length: COUNT }, (_, i) => packSession(compactRecord(sessionFields(i, cookie.issue().key, now))));
const reader = { tokensAt: () => ({ idToken: '', accessToken: undefined, refreshToken: undefined }) };
rows.push([
  'a recent record of the memory store, read back from the slab: record, claims, key and sid (its tokens stay in the slab)',
  bytesEach((i) => unpackSession(/** @type {Buffer} */ (packed[i]), { reader, slot: i })),
]);
packed.length = 0;

// A session as the memory store keeps it: packed into the slab, indexed in typed arrays (key table, order of use, sid and sub hashes).
// One recent record (hot_sessions 1): the records of recently used sessions are the rows above.
const before = live();
const store = new MemoryStore({ maxSessions: COUNT, hotSessions: 1, idleTimeoutMs: 3_600_000, sweepIntervalMs: 0 });
for (let i = 0; i < COUNT; i++) await store.set(compactRecord(sessionFields(i, cookie.issue().key, now)));
const stored = live();
const heapEach = (stored.heap - before.heap) / COUNT;
const outsideEach = (stored.outside - before.outside) / COUNT;
void store.close();

const row = (part, heap, outside = 0) => `| ${part} | ${Math.round(Number(heap))} | ${Math.round(outside)} |`;
process.stdout.write(
  [
    '| part of a session | V8 heap bytes | bytes outside the heap |',
    '|---|--:|--:|',
    ...rows.map(([part, bytes]) => row(part, bytes)),
    row(
      '**a session in the memory store**: the record (its key included) packed into the slab; key table, order of use and sid/sub hashes in typed arrays',
      heapEach,
      outsideEach,
    ),
    '',
  ].join('\n'),
);
