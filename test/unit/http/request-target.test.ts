import { describe, expect, it } from 'vitest';
import { canonicalTarget, type RequestTarget, type RequestTargetRefusal } from '../../../src/http/request-target.js';

const ok = (target: string): RequestTarget => {
  const q = target.indexOf('?');
  return { ok: true, path: q === -1 ? target : target.slice(0, q), target };
};
const refused = (reason: RequestTargetRefusal): RequestTarget => ({ ok: false, reason });

const HOST = 'gate.example:8080';

describe('canonicalTarget', () => {
  const cases: Array<[string, RequestTarget]> = [
    // already canonical: passed as is, query untouched
    ['/', ok('/')],
    ['/a/b', ok('/a/b')],
    ['/a/b?x=1', ok('/a/b?x=1')],
    ['/admin?x=/public/../%2f%00', ok('/admin?x=/public/../%2f%00')],
    ['/?x', ok('/?x')],
    ['/.well-known/openid-configuration', ok('/.well-known/openid-configuration')],
    ['/a/.b/..c/.../d.', ok('/a/.b/..c/.../d.')],
    ['/public/', ok('/public/')],
    ["/a;b=c/d:e@f!$&'()*+,=~_-", ok("/a;b=c/d:e@f!$&'()*+,=~_-")],

    // empty segments collapse (a leading `//` too), a trailing slash stays
    ['//public', ok('/public')],
    ['///public//x//', ok('/public/x/')],
    ['//', ok('/')],
    ['/a//b?c=//d', ok('/a/b?c=//d')],

    // dot segments in every spelling, also with ;params, are refused
    ['/public/../admin', refused('dot-segment')],
    ['/public/./admin', refused('dot-segment')],
    ['/public/%2e%2e/admin', refused('dot-segment')],
    ['/public/%2E%2E/admin', refused('dot-segment')],
    ['/public/.%2e/admin', refused('dot-segment')],
    ['/public/%2e./admin', refused('dot-segment')],
    ['/public/%2e/admin', refused('dot-segment')],
    ['/a//../b', refused('dot-segment')],
    ['/..', refused('dot-segment')],
    ['/a/.', refused('dot-segment')],
    ['/a/..?x', refused('dot-segment')],
    ['/public/..;/admin', refused('dot-segment')],
    ['/public/.;x/admin', refused('dot-segment')],
    ['/public/%2e%2e;x/admin', refused('dot-segment')],
    ['/public%2e%2e', ok('/public..')],
    ['/a/..%3B/b', ok('/a/..%3B/b')],

    // `;` is an ordinary character of its segment
    ['/public;jsessionid=x', ok('/public;jsessionid=x')],
    ['/a/;x/b', ok('/a/;x/b')],
    ['/a%3bb', ok('/a%3Bb')],

    // percent-encoding normalized: unreserved decoded, the rest upper-case hex, disallowed characters escaped
    ['/%70ublic/%7e%41%2D%5f%2E', ok('/public/~A-_.')],
    ['/a%20b', ok('/a%20b')],
    ['/a b', ok('/a%20b')],
    ['/admin%23/public', ok('/admin%23/public')],
    ['/admin%3f/public', ok('/admin%3F/public')],
    ['/a%2525', ok('/a%2525')],
    ['/a%40b%3a', ok('/a%40b%3A')],
    ['/a"<>`{}|^[]', ok('/a%22%3C%3E%60%7B%7D%7C%5E%5B%5D')],
    ['/caf%c3%a9', ok('/caf%C3%A9')],
    ['/café', ok('/caf%C3%A9')],
    ['/%F0%9F%98%80', ok('/%F0%9F%98%80')],
    ['/\u{1F600}/x', ok('/%F0%9F%98%80/x')],
    ['/%EF%BB%BF..', ok('/%EF%BB%BF..')],

    // refused: separators in disguise, control characters, bad escapes, bad UTF-8
    ['/public%2fadmin', refused('encoded-slash')],
    ['/public%2Fadmin', refused('encoded-slash')],
    ['/public%5cadmin', refused('backslash')],
    ['/public\\admin', refused('backslash')],
    ['/%00', refused('nul')],
    ['/a\u0000b', refused('nul')],
    ['/a%0ab', refused('control')],
    ['/a%7f', refused('control')],
    ['/a\tb', refused('control')],
    ['/%c0%ae%c0%ae/etc', refused('invalid-utf8')],
    ['/%e0%80%ae', refused('invalid-utf8')],
    ['/%ed%a0%80', refused('invalid-utf8')],
    ['/%ff', refused('invalid-utf8')],
    ['/%c3', refused('invalid-utf8')],
    ['/%c3/%a9', refused('invalid-utf8')],
    ['/%c3%41', refused('invalid-utf8')],
    ['/\uD800', refused('invalid-utf8')],
    ['/%zz', refused('invalid-percent')],
    ['/a%', refused('invalid-percent')],
    ['/a%4/b', refused('invalid-percent')],
    ['/a%4?x', refused('invalid-percent')],

    // a raw `#` anywhere
    ['/admin#/public', refused('fragment')],
    ['/public/x?y#z', refused('fragment')],

    // request-target forms
    ['*', refused('not-origin-form')],
    ['', refused('not-origin-form')],
    ['a/b', refused('not-origin-form')],
    ['?x', refused('not-origin-form')],
    ['ftp://gate.example:8080/x', refused('not-origin-form')],
    [`http://${HOST}/x?y`, ok('/x?y')],
    [`HTTPS://GATE.example:8080/a//b`, ok('/a/b')],
    [`http://${HOST}`, ok('/')],
    [`http://${HOST}?x=/admin`, ok('/?x=/admin')],
    [`http://${HOST}//public`, ok('/public')],
    ['http://evil.example/x', refused('foreign-authority')],
    ['http://gate.example/x', refused('foreign-authority')],
    [`http://user@${HOST}/x`, refused('foreign-authority')],
    [`http://${HOST}/public%2fadmin`, refused('encoded-slash')],
  ];

  it.each(cases)('%j → %j', (target, expected) => {
    expect(canonicalTarget(target, HOST)).toEqual(expected);
  });

  it('a configured pattern (no Host) must be origin-form', () => {
    expect(canonicalTarget(`http://${HOST}/x`)).toEqual(refused('not-origin-form'));
    expect(canonicalTarget('/x')).toEqual(ok('/x'));
  });

  it('is a fixed point: the canonical target of a canonical target is itself', () => {
    for (const [target] of cases) {
      const first = canonicalTarget(target, HOST);
      if (first.ok) expect(canonicalTarget(first.target, HOST)).toEqual(first);
    }
  });

  it('an already canonical target is handed back as the same string', () => {
    const target = '/public/app.js?v=1';
    const result = canonicalTarget(target, HOST);
    expect(result.ok && result.target).toBe(target);
  });

  it('hands back refusals that callers cannot alter', () => {
    expect(Object.isFrozen(canonicalTarget('/%00', HOST))).toBe(true);
  });

  it('handles long targets', () => {
    expect(canonicalTarget('/' + 'a%62'.repeat(30_000), HOST)).toEqual(ok('/' + 'ab'.repeat(30_000)));
    expect(canonicalTarget('/' + 'caf%c3%a9'.repeat(10_000), HOST)).toEqual(ok('/' + 'caf%C3%A9'.repeat(10_000)));
  });
});
