import { describe, expect, it } from 'vitest';
import { normalizeRequestPath, type RequestPath } from '../../../src/auth/request-path.js';

const ok = (path: string): RequestPath => ({ ok: true, path });
const refused = (reason: Extract<RequestPath, { ok: false }>['reason']): RequestPath => ({ ok: false, reason });

describe('normalizeRequestPath', () => {
  const cases: Array<[string, RequestPath]> = [
    // plain paths, query and fragment never read
    ['/', ok('/')],
    ['/a/b', ok('/a/b')],
    ['/a/b?x=1', ok('/a/b')],
    ['/admin?x=/public', ok('/admin')],
    ['/admin#/public', ok('/admin')],
    ['/admin?x=%2f#%00', ok('/admin')],
    ['/?x', ok('/')],
    ['/.well-known/openid-configuration', ok('/.well-known/openid-configuration')],
    ['/a/.b/..c/.../d.', ok('/a/.b/..c/.../d.')],
    ['/public/', ok('/public/')],
    ['/a%20b', ok('/a b')],

    // dot segments, raw and encoded
    ['/public/../admin', ok('/admin')],
    ['/public/%2e%2e/admin', ok('/admin')],
    ['/public/%2E%2E/admin', ok('/admin')],
    ['/public/.%2e/admin', ok('/admin')],
    ['/public/%2e./admin', ok('/admin')],
    ['/public/./admin', ok('/public/admin')],
    ['/public/%2e/admin', ok('/public/admin')],
    ['/%2e%2e/%2e%2e/etc', ok('/etc')],
    ['/../../..//x', ok('/x')],
    ['/..', ok('/')],
    ['/public/..', ok('/')],
    ['/a/b/..', ok('/a/')],
    ['/a/b/.', ok('/a/b/')],
    ['/a/b/..?x', ok('/a/')],
    ['/a/.#x', ok('/a/')],
    ['/public%2e%2e', ok('/public..')],

    // repeated slashes
    ['//public', ok('/public')],
    ['///public//x//', ok('/public/x/')],
    ['//', ok('/')],
    ['/a//../b', ok('/b')],

    // ;params dropped per segment, only a literal `;` starts them
    ['/public;jsessionid=x', ok('/public')],
    ['/a;jsessionid=1/b', ok('/a/b')],
    ['/public/..;/admin', ok('/admin')],
    ['/..;/admin', ok('/admin')],
    ['/public;/../admin', ok('/admin')],
    ['/public/%2e%2e;x/admin', ok('/admin')],
    ['/a/;x', ok('/a/')],
    ['/a/;x/b', ok('/a/b')],
    ['/a;', ok('/a')],
    ['/a%3bb', ok('/a;b')],
    ['/a%3Bjsessionid=1/b', ok('/a;jsessionid=1/b')],

    // decoded `#`, `?`, `%` are characters of the path; decoding happens once
    ['/admin%23/public', ok('/admin#/public')],
    ['/admin%3f/public', ok('/admin?/public')],
    ['/a%2525', ok('/a%25')],
    ['/a%25%32%66', ok('/a%2f')],

    // UTF-8
    ['/caf%C3%A9', ok('/café')],
    ['/caf%c3%a9/x', ok('/café/x')],
    ['/café', ok('/café')],
    ['/%F0%9F%98%80', ok('/\u{1F600}')],
    ['/\u{1F600}/x', ok('/\u{1F600}/x')],
    ['/%EF%BB%BF..', ok('/\uFEFF..')],
    ['/%EF%BB%BF../x', ok('/\uFEFF../x')],
    ['/%c2%85', ok('/\u0085')],

    // refused
    ['/public%2fadmin', refused('encoded-slash')],
    ['/public%2Fadmin', refused('encoded-slash')],
    ['/public/..%2fadmin', refused('encoded-slash')],
    ['/%2f/..', refused('encoded-slash')],
    ['/a;x%2fy/b', refused('encoded-slash')],
    ['/public%5cadmin', refused('backslash')],
    ['/public%5Cadmin', refused('backslash')],
    ['/public\\admin', refused('backslash')],
    ['/public/..\\admin', refused('backslash')],
    ['/a;\\', refused('backslash')],
    ['/%00', refused('nul')],
    ['/a%00b', refused('nul')],
    ['/a\u0000b', refused('nul')],
    ['/a%0ab', refused('control')],
    ['/a%0D%0Ab', refused('control')],
    ['/a%09', refused('control')],
    ['/a%1f', refused('control')],
    ['/a%7f', refused('control')],
    ['/a\tb', refused('control')],
    ['/a\u007fb', refused('control')],
    ['/%c0%ae%c0%ae/etc', refused('invalid-utf8')],
    ['/%c0%ae%c0%ae', refused('invalid-utf8')],
    ['/%e0%80%ae', refused('invalid-utf8')],
    ['/%ed%a0%80', refused('invalid-utf8')],
    ['/%ff', refused('invalid-utf8')],
    ['/%c3', refused('invalid-utf8')],
    ['/%c3/%a9', refused('invalid-utf8')],
    ['/%c3;%a9', refused('invalid-utf8')],
    ['/a;%ff', refused('invalid-utf8')],
    ['/\uD800', refused('invalid-utf8')],
    ['/\uDC00x', refused('invalid-utf8')],
    ['/%zz', refused('invalid-percent')],
    ['/%4', refused('invalid-percent')],
    ['/a%', refused('invalid-percent')],
    ['/a%4/b', refused('invalid-percent')],
    ['/a%g0', refused('invalid-percent')],
    ['/a%4?x', refused('invalid-percent')],
    ['/a;%zz', refused('invalid-percent')],

    // request-target forms
    ['*', refused('not-origin-form')],
    ['', refused('not-origin-form')],
    ['a/b', refused('not-origin-form')],
    ['?x', refused('not-origin-form')],
    ['ftp://host/x', refused('not-origin-form')],
    ['http:/x', refused('not-origin-form')],
    ['http://host/x?y', ok('/x')],
    ['HTTPS://host:8443/a/../b', ok('/b')],
    ['http://host', ok('/')],
    ['http://host?x=/admin', ok('/')],
    ['http://host//public', ok('/public')],
    ['http://host/public%2fadmin', refused('encoded-slash')],
  ];

  it.each(cases)('%j → %j', (target, expected) => {
    expect(normalizeRequestPath(target)).toEqual(expected);
  });

  it('hands back refusals that callers cannot alter', () => {
    const result = normalizeRequestPath('/%00');
    expect(Object.isFrozen(result)).toBe(true);
  });

  it('decodes targets longer than the retained scratch buffer', () => {
    const long = '/' + 'a%62'.repeat(30_000) + '/../x';
    expect(normalizeRequestPath(long)).toEqual(ok('/x'));
    const longName = '/' + 'caf%C3%A9'.repeat(10_000);
    expect(normalizeRequestPath(longName)).toEqual(ok('/' + 'café'.repeat(10_000)));
  });
});
