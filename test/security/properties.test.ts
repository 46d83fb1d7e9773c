// Property-based checks of the invariants the hostile-input suite relies on, where the unit suites have none:
// cookie parsing at the gate never throws and never yields a session for a cookie gatehouse did not issue;
// header stripping lets no identity header through and keeps every other end-to-end header; path matching
// never classifies a protected path public. (Return-URL and normalization properties live in test/unit/auth.)
import { parse as parseCookieHeader } from 'cookie';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalTarget } from '../../src/http/request-target.js';
import { compilePathMatcher } from '../../src/authorize/path-matcher.js';
import { configSchema } from '../../src/config/schema.js';
import { canonicalHeaderName, compileIdentityHeaderTest } from '../../src/identity/strip.js';
import { buildUpstreamHeaders } from '../../src/proxy/headers.js';
import { SessionCookie } from '../../src/session/session-cookie.js';

const sessionCookie = new SessionCookie({
  secrets: ['property-secret-0123456789-abcdefghijklmnop'],
  name: 'gatehouse_session',
  secure: false,
  maxAgeMs: 3_600_000,
});

const cookieChar = fc.constantFrom(...'abcXYZ019-_.=;, %"\\\u0000\u00ff\u00e9\u2603'.split(''));
const cookieHeader = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: cookieChar, maxLength: 300 }),
  fc
    .array(fc.tuple(fc.constantFrom('gatehouse_session', 'a', 'gatehouse_signin_x', ''), fc.string({ unit: cookieChar, maxLength: 120 })), { maxLength: 20 })
    .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('; ')),
);

describe('cookie parsing at the gate (cookie.parse + SessionCookie.verify)', () => {
  it('never throws, and a cookie gatehouse did not issue never verifies', () => {
    fc.assert(
      fc.property(cookieHeader, (header) => {
        const parsed = parseCookieHeader(header);
        const verdict = sessionCookie.verify(parsed.gatehouse_session);
        expect(verdict === undefined || 'rejected' in verdict).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('an issued cookie still verifies next to any other cookies', () => {
    const { value, key } = sessionCookie.issue();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/), fc.string({ unit: cookieChar, maxLength: 40 })), { maxLength: 10 }),
        (others) => {
          const header = [
            ...others.filter(([k]) => k !== 'gatehouse_session').map(([k, v]) => `${k}=${v.replace(/[;]/g, '')}`),
            `gatehouse_session=${value}`,
          ].join('; ');
          expect(sessionCookie.verify(parseCookieHeader(header).gatehouse_session)).toEqual({ key });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('header stripping (buildUpstreamHeaders + compileIdentityHeaderTest)', () => {
  const config = configSchema.parse({ identity: { headers: { user: 'X-Remote-User' } } });
  const isIdentityHeader = compileIdentityHeaderTest(config.identity);
  const IDENTITY = [
    'x-forwarded-user',
    'x-forwarded-email',
    'x-forwarded-preferred-username',
    'x-forwarded-name',
    'x-forwarded-roles',
    'x-gatehouse-assertion',
    'x-remote-user',
    'x-gatehouse-anything',
  ];
  const HOP = new Set([
    'connection',
    'keep-alive',
    'proxy-connection',
    'proxy-authenticate',
    'proxy-authorization',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
    'expect',
    'http2-settings',
  ]);
  const MANAGED = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id', 'forwarded']);

  /** A name in random case with each `-` randomly written as `_`. */
  const spelled = (name: string): fc.Arbitrary<string> =>
    fc.array(fc.tuple(fc.boolean(), fc.boolean()), { minLength: name.length, maxLength: name.length }).map((flips) =>
      [...name]
        .map((ch, i) => {
          const [upper, underscore] = flips[i] as [boolean, boolean];
          if (ch === '-' && underscore) return '_';
          return upper ? ch.toUpperCase() : ch;
        })
        .join(''),
    );
  const identityName = fc.constantFrom(...IDENTITY).chain(spelled);
  const otherName = fc
    .stringMatching(/^[a-z][a-z0-9-]{0,15}$/)
    .filter((n) => !isIdentityHeader(n) && n !== 'host' && n !== 'cookie')
    .chain(spelled);
  const rawList = fc.array(
    fc.tuple(fc.oneof(identityName, otherName, fc.constantFrom('Connection', 'Keep-Alive', 'TE', 'Upgrade')), fc.stringMatching(/^[ -~]{0,20}$/)),
    { maxLength: 30 },
  );

  it('no identity header survives, in any case or `_` spelling; every other end-to-end header does, in order', () => {
    fc.assert(
      fc.property(rawList, fc.constantFrom(...IDENTITY), (pairs, injected) => {
        const raw = pairs.flat();
        const out = buildUpstreamHeaders(raw, { requestId: 'r', remoteAddress: '127.0.0.1', trustPeer: () => false, isIdentityHeader }, [
          injected,
          'gatehouse-value',
        ]);
        const names = out.filter((_, i) => i % 2 === 0);
        const identityOut = names.map((n, i) => [canonicalHeaderName(n), out[2 * i + 1]]).filter(([n]) => IDENTITY.includes(n as string));
        expect(identityOut).toEqual([[injected, 'gatehouse-value']]);
        const listed = new Set(pairs.filter(([n]) => n.toLowerCase() === 'connection').flatMap(([, v]) => v.split(',').map((t) => t.trim().toLowerCase())));
        const expectedKept = pairs.filter(([n]) => {
          const lower = n.toLowerCase();
          return !isIdentityHeader(n) && !HOP.has(lower) && !MANAGED.has(lower) && !(listed.has(lower) && lower !== 'close' && lower !== 'keep-alive');
        });
        const kept = [];
        for (let i = 0; i < out.length; i += 2) if (!MANAGED.has((out[i] as string).toLowerCase()) && out[i] !== injected) kept.push([out[i], out[i + 1]]);
        expect(kept).toEqual(expectedKept);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('path matching on the canonical target', () => {
  const isPublic = compilePathMatcher(['/public/', '/login.html']);
  const trick = fc.constantFrom(
    '',
    '/public',
    '/public/',
    '/public/..',
    '/public/%2e%2e',
    '/public/%2E.',
    '/public;x=1/..',
    '//public/..',
    '/public/./..',
    '/login.html/..',
    '/public/a/../..',
    '%2e',
    '//',
    '/%70ublic/',
  );
  const protectedPath = fc.constantFrom('/admin', '/admin/', '/publicity', '/login.htm', '/login.html.bak', '/api/public/x', '/publicx/y');

  it('behind any stack of tricks, the path decided on is the path a WHATWG-parsing app routes', () => {
    fc.assert(
      fc.property(fc.array(trick, { maxLength: 5 }), protectedPath, fc.constantFrom('', '?x=/public/', '#/public/', '?/login.html'), (prefixes, path, tail) => {
        const target = prefixes.join('') + path + tail;
        if (!target.startsWith('/')) return;
        const canonical = canonicalTarget(target, 'gate.example');
        if (!canonical.ok) return;
        const routed = new URL(canonical.target, 'http://app.invalid').pathname;
        expect(routed).toBe(canonical.path);
        expect(isPublic(routed)).toBe(isPublic(canonical.path));
      }),
      { numRuns: 2000 },
    );
  });
});
