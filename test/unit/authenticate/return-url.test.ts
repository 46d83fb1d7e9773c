import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safeReturnPath } from '../../../src/authenticate/return-url.js';

const hasBackslashOrControl = (s: string): boolean => [...s].some((ch) => ch === '\\' || ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);

const APP = 'https://app.example.com';

const openRedirects = readFileSync(new URL('../../fixtures/openredirects.txt', import.meta.url), 'utf8')
  .split('\n')
  .map((line) => line.replace(/\r$/, ''))
  .filter((line) => line !== '');

function expectSameOrigin(result: string): void {
  expect(new URL(result, APP).origin).toBe(APP);
  expect(new URL(result, `${APP}/deep/page?x=1`).origin).toBe(APP);
  expect(result.startsWith('/')).toBe(true);
  expect(result.startsWith('//')).toBe(false);
  expect(result.startsWith('/\\')).toBe(false);
  expect(hasBackslashOrControl(result)).toBe(false);
}

describe('safeReturnPath', () => {
  it('reads every payload of the open-redirect list (559 lines, the first one empty)', () => {
    expect(openRedirects).toHaveLength(558);
  });

  it.each(openRedirects)('keeps %j on the own origin', (payload) => {
    expectSameOrigin(safeReturnPath(payload));
  });

  it.each([
    '/',
    '/reports/2026?x=1#top',
    '/a%20b',
    '/caf%C3%A9',
    '/a/b/',
    '/search?q=a%2Fb&next=//x',
    '/x@example.com',
    '/?x=1',
    '/#frag',
    '/a/%2F/b',
    '/.well-known/x',
    '/' + 'a'.repeat(2047),
  ])('keeps the legitimate %j exactly', (path) => {
    expect(safeReturnPath(path)).toBe(path);
  });

  it.each([
    ['/a b', '/a%20b'],
    ['/café', '/caf%C3%A9'],
    ['/a/../b', '/b'],
    ['/a/./b', '/a/b'],
    ['/./', '/'],
    ['/a?', '/a'],
    ['/a#', '/a'],
    ['/a?q=x y', '/a?q=x%20y'],
  ])('canonicalizes %j to %j', (rd, canonical) => {
    expect(safeReturnPath(rd)).toBe(canonical);
  });

  it.each([
    null,
    undefined,
    '',
    'https://evil.example',
    'HTTPS://evil.example/',
    'javascript:alert(1)',
    'evil.example',
    ' /x',
    '//evil.example',
    '///evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    '/%2f/evil.example',
    '/%2Fevil.example',
    '/%5cevil.example',
    '/%5C%5Cevil.example',
    '/%09/evil.example',
    '/\t/evil.example',
    '/\n/evil.example',
    '/\r/evil.example',
    '/x%0aSet-Cookie:a=1',
    '/x%0D',
    '/x%00',
    '/x%1f',
    '/x%7F',
    '/x\u0000',
    '/a\\b',
    '/.//evil.example',
    '/..//evil.example',
    '/a/..//evil.example',
    '/%2e//evil.example',
    '/' + 'a'.repeat(2048),
    '/' + 'é'.repeat(400),
  ])('refuses %j', (rd) => {
    expect(safeReturnPath(rd)).toBe('/');
    expect(safeReturnPath(rd, '/home')).toBe('/home');
  });

  it('returns the fallback given, default /', () => {
    expect(safeReturnPath('//evil.example', '/start')).toBe('/start');
    expect(safeReturnPath(undefined)).toBe('/');
    expect(safeReturnPath('/ok', '/start')).toBe('/ok');
  });

  describe('properties', () => {
    const tricky = fc
      .array(
        fc.constantFrom(
          '/',
          '/',
          '\\',
          '%2f',
          '%2F',
          '%5c',
          '%09',
          '%0a',
          '%00',
          '\t',
          '\n',
          '.',
          '..',
          ':',
          '@',
          'evil.example',
          'javascript:',
          'https:',
          'http:',
          '%',
          '?',
          '#',
          'a',
          ' ',
          '\u3002',
          '%E3%80%82',
          'é',
          '%2e',
        ),
        { maxLength: 10 },
      )
      .map((p) => p.join(''));

    it('never leaves the own origin, for tricky and for arbitrary strings', () => {
      fc.assert(
        fc.property(fc.oneof(tricky, fc.string({ unit: 'binary', maxLength: 30 })), (rd) => {
          expectSameOrigin(safeReturnPath(rd));
        }),
        { numRuns: 5000 },
      );
    });

    const unreserved = fc.constantFrom(...'abcXYZ019-._~');
    const segment = fc.string({ unit: unreserved, minLength: 1, maxLength: 8 }).filter((s) => s !== '.' && s !== '..');
    const safePath = fc
      .tuple(
        fc.array(segment, { maxLength: 5 }),
        fc.boolean(),
        fc.option(fc.string({ unit: fc.constantFrom(...'abc019=&_-'), minLength: 1, maxLength: 12 })),
        fc.option(fc.string({ unit: fc.constantFrom(...'abc019-'), minLength: 1, maxLength: 8 })),
      )
      .map(
        ([segments, trailingSlash, query, hash]) =>
          '/' +
          segments.join('/') +
          (trailingSlash && segments.length > 0 ? '/' : '') +
          (query === null ? '' : '?' + query) +
          (hash === null ? '' : '#' + hash),
      );

    it('keeps every safe path exactly', () => {
      fc.assert(
        fc.property(safePath, (path) => {
          expect(safeReturnPath(path, '/fallback')).toBe(path);
        }),
        { numRuns: 3000 },
      );
    });
  });
});
