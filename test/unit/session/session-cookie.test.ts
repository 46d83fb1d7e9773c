import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SessionCookie } from '../../../src/session/session-cookie.js';

const OLD = 'old-secret-old-secret-old-secret-0000';
const NEW = 'new-secret-new-secret-new-secret-1111';
const EIGHT_HOURS = 8 * 3600 * 1000;

function cookie(secrets: readonly string[], secure = false): SessionCookie {
  return new SessionCookie({ secrets, name: 'gatehouse_session', secure, maxAgeMs: EIGHT_HOURS });
}

/** Replaces the character at `index` with another base64url character of the same padding class. */
function flip(value: string, index: number): string {
  const replacement = value[index] === 'A' ? 'E' : 'A';
  return value.slice(0, index) + replacement + value.slice(index + 1);
}

describe('SessionCookie', () => {
  const cookies = cookie([NEW]);

  it('issues <id>.<mac>: 256-bit id, HMAC-SHA256 over "session:" + id, key = the MAC', () => {
    const { value, key } = cookies.issue();
    const [id, mac] = value.split('.') as [string, string];
    expect(value).toHaveLength(87);
    expect(Buffer.from(id, 'base64url')).toHaveLength(32);
    expect(mac).toBe(createHmac('sha256', NEW).update(`session:${id}`).digest('base64url'));
    expect(key).toBe(mac);
  });

  it('issues a new id every call', () => {
    const values = new Set(Array.from({ length: 50 }, () => cookies.issue().value));
    expect(values.size).toBe(50);
  });

  it('verifies what it issued and yields the same key', () => {
    const { value, key } = cookies.issue();
    expect(cookies.verify(value)).toEqual({ key });
  });

  it('remembers a verified value (no second HMAC) but never a refused one', () => {
    const remembering = new SessionCookie({ secrets: [NEW], name: 'gatehouse_session', secure: false, maxAgeMs: EIGHT_HOURS, rememberVerified: 2 });
    const { value, key } = remembering.issue();
    const first = remembering.verify(value);
    expect(first).toEqual({ key });
    expect(remembering.verify(value)).toBe(first);
    const forged = flip(value, 90 - 4);
    expect(remembering.verify(forged)).toEqual({ rejected: 'bad-mac' });
    expect(remembering.verify(forged)).toEqual({ rejected: 'bad-mac' });
    // Bounded: the oldest remembered value is verified again (a fresh verdict object) once pushed out.
    remembering.verify(remembering.issue().value);
    remembering.verify(remembering.issue().value);
    const again = remembering.verify(value);
    expect(again).toEqual({ key });
    expect(again).not.toBe(first);
  });

  it('reads a missing cookie as no cookie', () => {
    expect(cookies.verify(undefined)).toBeUndefined();
  });

  it('refuses every single-character change of the id or the MAC', () => {
    const { value } = cookies.issue();
    for (let i = 0; i < value.length; i++) {
      if (i === 43) continue;
      const result = cookies.verify(flip(value, i));
      expect(result, `index ${i}`).toEqual({ rejected: 'bad-mac' });
    }
  });

  it('refuses a non-canonical last character (same bytes, other spelling)', () => {
    const { value } = cookies.issue();
    const last = value.charCodeAt(86);
    const sibling = value.slice(0, 86) + String.fromCharCode(last + 1);
    expect(Buffer.from(sibling.slice(44), 'base64url')).toEqual(Buffer.from(value.slice(44), 'base64url'));
    expect(cookies.verify(sibling)).toEqual({ rejected: 'malformed' });
  });

  it.each([
    ['truncated by one', (v: string) => v.slice(0, -1), 'malformed'],
    ['id only', (v: string) => v.slice(0, 43), 'malformed'],
    ['empty', () => '', 'malformed'],
    ['one extra character', (v: string) => `${v}A`, 'oversized'],
    ['4 KiB', () => 'A'.repeat(4096), 'oversized'],
    ['standard base64 characters', (v: string) => `+${v.slice(1)}`, 'malformed'],
    ['a slash', (v: string) => `${v.slice(0, 10)}/${v.slice(11)}`, 'malformed'],
    ['an extra dot', (v: string) => `${v.slice(0, 10)}.${v.slice(11)}`, 'malformed'],
    ['no dot', (v: string) => `${v.slice(0, 43)}A${v.slice(44)}`, 'malformed'],
    ['dot moved', (v: string) => `${v.slice(0, 42)}.${v[42]}${v.slice(44)}`, 'malformed'],
    ['padding', (v: string) => `${v.slice(0, -1)}=`, 'malformed'],
    ['a space', (v: string) => `${v.slice(0, 5)} ${v.slice(6)}`, 'malformed'],
    ['non-ASCII', (v: string) => `${v.slice(0, 5)}é${v.slice(6)}`, 'malformed'],
    ['a NUL', (v: string) => `${v.slice(0, 5)}\u0000${v.slice(6)}`, 'malformed'],
  ] as const)('refuses %s', (_name, mutate, rejected) => {
    const { value } = cookies.issue();
    expect(cookies.verify(mutate(value))).toEqual({ rejected });
  });

  it('verifies a cookie of an older secret while it is listed, keyed by the old MAC', () => {
    const before = cookie([OLD]).issue();
    const rotated = cookie([NEW, OLD]);
    expect(rotated.verify(before.value)).toEqual({ key: before.key });
    const fresh = rotated.issue();
    expect(fresh.key).toBe(
      createHmac('sha256', NEW)
        .update(`session:${fresh.value.slice(0, 43)}`)
        .digest('base64url'),
    );
    expect(cookie([NEW]).verify(fresh.value)).toEqual({ key: fresh.key });
  });

  it('refuses a cookie of a removed secret', () => {
    const before = cookie([OLD]).issue();
    expect(cookie([NEW]).verify(before.value)).toEqual({ rejected: 'bad-mac' });
  });

  it('writes exact attributes without Secure on http', () => {
    expect(cookies.name).toBe('gatehouse_session');
    expect(cookies.setCookie('v')).toBe('gatehouse_session=v; Max-Age=28800; Path=/; HttpOnly; SameSite=Lax');
    expect(cookies.clearCookie()).toBe('gatehouse_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax');
  });

  it('uses the __Host- prefix and Secure on https', () => {
    const secure = cookie([NEW], true);
    expect(secure.name).toBe('__Host-gatehouse_session');
    expect(secure.setCookie('v')).toBe('__Host-gatehouse_session=v; Max-Age=28800; Path=/; HttpOnly; Secure; SameSite=Lax');
    expect(secure.clearCookie()).toBe('__Host-gatehouse_session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax');
  });

  it('refuses an invalid cookie name and an empty secret list', () => {
    expect(() => new SessionCookie({ secrets: [NEW], name: 'a;b', secure: false, maxAgeMs: 1000 })).toThrow(RangeError);
    expect(() => new SessionCookie({ secrets: [], name: 'a', secure: false, maxAgeMs: 1000 })).toThrow(RangeError);
  });
});
