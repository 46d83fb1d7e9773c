import { describe, expect, it } from 'vitest';
import { Sealer } from '../../../src/session/sealer.js';

const OLD = 'old-secret-old-secret-old-secret-0000';
const NEW = 'new-secret-new-secret-new-secret-1111';
const DATA = { state: 'abc', nonce: 'n-1', returnTo: '/reports?x=1', n: 42, nested: { list: [1, 'é'] } };

/** Replaces the character at `index` with another base64url character. */
function flip(value: string, index: number): string {
  const replacement = value[index] === 'A' ? 'B' : 'A';
  return value.slice(0, index) + replacement + value.slice(index + 1);
}

describe('Sealer', () => {
  const sealer = new Sealer([NEW]);

  it('round-trips JSON under one purpose', () => {
    const sealed = sealer.seal(DATA, 'pending');
    expect(sealed.startsWith('v1.')).toBe(true);
    expect(sealed.split('.')).toHaveLength(3);
    expect(sealer.unseal(sealed, 'pending')).toEqual(DATA);
  });

  it('round-trips bytes', () => {
    const bytes = Buffer.from([0, 1, 2, 255]);
    const sealed = sealer.sealBytes(bytes, 'raw');
    expect(sealer.unsealBytes(sealed, 'raw')).toEqual(bytes);
  });

  it('uses a fresh IV: sealing the same value twice differs', () => {
    expect(sealer.seal(DATA, 'p')).not.toBe(sealer.seal(DATA, 'p'));
  });

  it('hides the plaintext', () => {
    const sealed = sealer.seal({ token: 'secret-token-value' }, 'p');
    expect(sealed).not.toContain('secret');
    expect(Buffer.from(sealed.split('.')[2] as string, 'base64url').toString('latin1')).not.toContain('secret-token-value');
  });

  it('refuses every single-character change', () => {
    const sealed = sealer.seal(DATA, 'p');
    for (let i = 3; i < sealed.length; i++) {
      if (sealed[i] === '.') continue;
      expect(sealer.unseal(flip(sealed, i), 'p'), `index ${i}`).toBeUndefined();
    }
  });

  it.each([
    ['empty', ''],
    ['version only', 'v1'],
    ['wrong version', 'v2.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA'],
    ['too short body', 'v1.AAAAAAAAAAAAAAAA.AAAA'],
    ['extra part', 'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.x'],
    ['not base64url', 'v1.AAAAAAAAAAAAAAAA.AAAA+AAAAAAAAAAAAAAAAA'],
    ['padding', 'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA=='],
    ['short iv', 'v1.AAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA'],
  ])('refuses %s', (_name, value) => {
    expect(sealer.unseal(value, 'p')).toBeUndefined();
    expect(sealer.unsealBytes(value, 'p')).toBeUndefined();
  });

  it('refuses a truncated value', () => {
    const sealed = sealer.seal(DATA, 'p');
    expect(sealer.unseal(sealed.slice(0, -1), 'p')).toBeUndefined();
    expect(sealer.unseal(sealed.slice(0, -4), 'p')).toBeUndefined();
  });

  it('refuses a non-string without throwing', () => {
    expect(sealer.unseal(undefined as unknown as string, 'p')).toBeUndefined();
  });

  it('refuses authentic bytes that are not JSON', () => {
    const sealed = sealer.sealBytes(Buffer.from('{not json', 'utf8'), 'p');
    expect(sealer.unseal(sealed, 'p')).toBeUndefined();
  });

  it('keeps purposes apart', () => {
    const sealed = sealer.seal(DATA, 'pending-sign-in');
    expect(sealer.unseal(sealed, 'session-store')).toBeUndefined();
    expect(sealer.unseal(sealed, 'pending-sign-in')).toEqual(DATA);
  });

  it('opens values sealed under an older secret while it is listed, and seals with the newest', () => {
    const before = new Sealer([OLD]).seal(DATA, 'p');
    const rotated = new Sealer([NEW, OLD]);
    expect(rotated.unseal(before, 'p')).toEqual(DATA);
    expect(new Sealer([NEW]).unseal(rotated.seal(DATA, 'p'), 'p')).toEqual(DATA);
    expect(new Sealer([OLD]).unseal(rotated.seal(DATA, 'p'), 'p')).toBeUndefined();
  });

  it('refuses values of a removed secret', () => {
    const before = new Sealer([OLD]).seal(DATA, 'p');
    expect(new Sealer([NEW]).unseal(before, 'p')).toBeUndefined();
  });

  it('needs a secret', () => {
    expect(() => new Sealer([])).toThrow(RangeError);
  });
});
