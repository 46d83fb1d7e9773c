import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeHeaderValue, HEADER_VALUE_LIMIT, safeHeaderValue } from '../../../src/identity/header-value.js';

const WIRE_SAFE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$|^$/;

describe('safeHeaderValue', () => {
  it('keeps printable ASCII as it is', () => {
    expect(safeHeaderValue('alice@example.com')).toBe('alice@example.com');
    expect(safeHeaderValue('a b+c/d?e=f&g')).toBe('a b+c/d?e=f&g');
  });

  it('removes CR, LF, NUL, TAB, DEL and C1 controls instead of encoding them', () => {
    expect(safeHeaderValue('ali\r\nce\0\t\x7f\x85x')).toBe('alicex');
    expect(safeHeaderValue('x\r\nX-Forwarded-User: admin')).toBe('xX-Forwarded-User: admin');
  });

  it('percent-encodes % and non-ASCII so decodeURIComponent gives the value back', () => {
    expect(safeHeaderValue('100%')).toBe('100%25');
    expect(safeHeaderValue('zoë@exämple.com')).toBe('zo%C3%AB@ex%C3%A4mple.com');
    expect(safeHeaderValue('😀')).toBe('%F0%9F%98%80');
    expect(decodeURIComponent(safeHeaderValue('Zoë 100% 山田'))).toBe('Zoë 100% 山田');
  });

  it('replaces a lone surrogate instead of throwing', () => {
    expect(safeHeaderValue('a\uD800b')).toBe('a%EF%BF%BDb');
  });

  it('cuts an ASCII value at 4 KiB', () => {
    const result = encodeHeaderValue('a'.repeat(5000), 'non-ascii');
    expect(result).toEqual({ value: 'a'.repeat(HEADER_VALUE_LIMIT), truncated: true });
  });

  it('cuts between characters, never inside a %XX triplet or a multi-byte character', () => {
    const result = encodeHeaderValue(`a${'山'.repeat(600)}`, 'non-ascii');
    // 1 + 9 per character: 455 whole characters fit in 4096 (4096 - 1 = 4095 = 455 * 9).
    expect(result.truncated).toBe(true);
    expect(result.value).toBe(`a${'%E5%B1%B1'.repeat(455)}`);
    const shifted = encodeHeaderValue(`ab${'山'.repeat(600)}`, 'non-ascii');
    expect(shifted.value).toBe(`ab${'%E5%B1%B1'.repeat(454)}`);
    expect(shifted.value.length).toBe(4088);
    expect(decodeURIComponent(shifted.value)).toBe(`ab${'山'.repeat(454)}`);
  });

  it('encodes spaces at either end, which HTTP would drop, and keeps inner ones', () => {
    expect(safeHeaderValue('  a b ')).toBe('%20%20a b%20');
    expect(safeHeaderValue('   ')).toBe('%20%20%20');
  });

  it('always yields a wire-safe value of at most 4 KiB that decodes back to the value without controls', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 3000 }), fc.constantFrom('non-ascii' as const, 'uri-component' as const), (input, encoding) => {
        const { value, truncated } = encodeHeaderValue(input, encoding);
        expect(value.length).toBeLessThanOrEqual(HEADER_VALUE_LIMIT);
        expect(/^[\x20-\x7e]*$/.test(value)).toBe(true);
        const expected = input.replace(/\p{Cc}/gu, '').replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
        const decoded = decodeURIComponent(value);
        if (truncated) {
          expect(expected.startsWith(decoded)).toBe(true);
        } else {
          expect(decoded).toBe(expected);
          expect(WIRE_SAFE.test(value)).toBe(true);
        }
      }),
    );
  });

  it('uri-component encoding is encodeURIComponent of the cleaned value', () => {
    expect(encodeHeaderValue('a b,c\n%', 'uri-component')).toEqual({ value: 'a%20b%2Cc%25', truncated: false });
    expect(encodeHeaderValue('Zoë Ångström 山田', 'uri-component')).toEqual({
      value: 'Zo%C3%AB%20%C3%85ngstr%C3%B6m%20%E5%B1%B1%E7%94%B0',
      truncated: false,
    });
  });
});
