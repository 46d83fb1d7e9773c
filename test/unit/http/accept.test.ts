import { describe, expect, it } from 'vitest';
import { wantsJson } from '../../../src/http/accept.js';

describe('wantsJson', () => {
  const CASES: [string | undefined, boolean][] = [
    [undefined, false],
    ['', false],
    ['*/*', false],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8', false],
    ['application/json', true],
    ['Application/JSON; charset=utf-8', true],
    ['application/json, text/plain, */*', true],
    ['application/problem+json', true],
    ['application/vnd.api+json;q=0.9, */*;q=0.1', true],
    ['text/html, application/json', false],
    ['application/json, text/html', true],
    ['text/html;q=0.9, application/json', true],
    ['application/json;q=0.5, text/html', false],
    ['application/json;q=0', false],
    ['application/json;q=0, text/html;q=0', false],
    ['text/html;q=0, application/json;q=0.1', true],
    ['application/json;q=oops', true],
    ['text/plain', false],
    ['application/*', false],
    ['text/json', false],
  ];
  for (const [accept, expected] of CASES) {
    it(`${JSON.stringify(accept)} → ${expected}`, () => {
      expect(wantsJson(accept)).toBe(expected);
    });
  }
});
