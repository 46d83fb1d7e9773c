import { describe, expect, it } from 'vitest';
import { compilePathMatcher } from '../../../src/authorize/path-matcher.js';
import { PathPatternError } from '../../../src/errors.js';
import { canonicalTarget } from '../../../src/http/request-target.js';

describe('compilePathMatcher', () => {
  it('matches an exact pattern only on that path, case-sensitively', () => {
    const matches = compilePathMatcher(['/healthz']);
    expect(matches('/healthz')).toBe(true);
    expect(matches('/healthz/')).toBe(false);
    expect(matches('/healthz/x')).toBe(false);
    expect(matches('/healthzz')).toBe(false);
    expect(matches('/HEALTHZ')).toBe(false);
    expect(matches('/')).toBe(false);
  });

  it('matches a prefix pattern on the path itself without its slash and everything below it', () => {
    const matches = compilePathMatcher(['/public/']);
    expect(matches('/public/')).toBe(true);
    expect(matches('/public/a/b.css')).toBe(true);
    expect(matches('/public')).toBe(true);
    expect(matches('/publicity')).toBe(false);
    expect(matches('/public-x/')).toBe(false);
    expect(matches('/Public/')).toBe(false);
    expect(matches('/admin')).toBe(false);
    expect(matches('/')).toBe(false);
    expect(matches('/x/public/')).toBe(false);
  });

  it('lets the root prefix match every path', () => {
    const matches = compilePathMatcher(['/']);
    expect(matches('/')).toBe(true);
    expect(matches('/anything/below')).toBe(true);
  });

  it('matches nothing without patterns', () => {
    const matches = compilePathMatcher([]);
    expect(matches('/')).toBe(false);
    expect(matches('/public/')).toBe(false);
  });

  it('combines exact and prefix patterns, nested and duplicated ones included', () => {
    const matches = compilePathMatcher(['/login.html', '/public/img/', '/public/', '/public/', '/static/']);
    expect(matches('/login.html')).toBe(true);
    expect(matches('/login.html/x')).toBe(false);
    expect(matches('/public/img/a.png')).toBe(true);
    expect(matches('/public/a')).toBe(true);
    expect(matches('/static')).toBe(true);
    expect(matches('/static/x')).toBe(true);
    expect(matches('/statics')).toBe(false);
  });

  it('puts patterns in canonical form like request paths', () => {
    const matches = compilePathMatcher(['//public//', '/café/', '/%7euser/', '/a b']);
    expect(matches('/public/x')).toBe(true);
    expect(matches('/caf%C3%A9/menu')).toBe(true);
    expect(matches('/café/menu')).toBe(false);
    expect(matches('/~user/x')).toBe(true);
    expect(matches('/a%20b')).toBe(true);
  });

  it.each([
    ['public/', 'must start with /'],
    ['', 'must start with /'],
    ['^/public/.*', 'must start with /'],
    ['/a?b', 'must be a plain path: no ?, # or * (a prefix ends in /)'],
    ['/a#b', 'must be a plain path: no ?, # or * (a prefix ends in /)'],
    ['/public/*', 'must be a plain path: no ?, # or * (a prefix ends in /)'],
    ['/a%2fb', 'is not a valid path (encoded-slash)'],
    ['/a\\b', 'is not a valid path (backslash)'],
    ['/a%zz', 'is not a valid path (invalid-percent)'],
    ['/a/../b', 'is not a valid path (dot-segment)'],
    ['/x/.', 'is not a valid path (dot-segment)'],
  ])('refuses the pattern %j, naming it', (pattern, problem) => {
    let thrown: unknown;
    try {
      compilePathMatcher(['/ok/', pattern]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PathPatternError);
    const error = thrown as PathPatternError;
    expect(error.code).toBe('GH_PATH_PATTERN_INVALID');
    expect(error.pattern).toBe(pattern);
    expect(error.problem).toBe(problem);
    expect(error.message).toBe(`path pattern ${JSON.stringify(pattern)} ${problem}`);
  });

  describe("on canonical request paths (peers' advisories)", () => {
    const matches = compilePathMatcher(['/public/', '/healthz']);
    const decide = (target: string): boolean | string => {
      const path = canonicalTarget(target, 'gate.example');
      return path.ok ? matches(path.path) : path.reason;
    };

    it.each<[string, boolean | string]>([
      ['/public/app.js', true],
      ['/public', true],
      ['/public;jsessionid=1', false],
      ['/public/x;jsessionid=1', true],
      ['/public/../admin', 'dot-segment'],
      ['/public/%2e%2e/admin', 'dot-segment'],
      ['/public/..;/admin', 'dot-segment'],
      ['/public%2fadmin', 'encoded-slash'],
      ['/public%5c..%5cadmin', 'backslash'],
      ['/admin?x=/public/', false],
      ['/admin?/public/', false],
      ['/admin#/public/', 'fragment'],
      ['/admin%23/public/', false],
      ['/admin%3f/public/', false],
      ['/admin/%2e%2e/public/x', 'dot-segment'],
      ['/%70ublic/x', true],
      ['//public/x', true],
      ['/healthz', true],
      ['/healthz?probe=1', true],
      ['/healthz/../admin', 'dot-segment'],
      ['/healthz/admin', false],
      ['/admin/healthz', false],
      ['/HEALTHZ', false],
      ['http://evil/public/x', 'foreign-authority'],
      ['http://gate.example/public/x', true],
      ['*', 'not-origin-form'],
    ])('%j → %j', (target, expected) => {
      expect(decide(target)).toBe(expected);
    });
  });
});
