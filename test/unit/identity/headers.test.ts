import { describe, expect, it } from 'vitest';
import { buildIdentityHeaders, type IdentityHeaderNames } from '../../../src/identity/headers.js';

const NAMES: IdentityHeaderNames = {
  user: 'X-Forwarded-User',
  email: 'X-Forwarded-Email',
  preferred_username: 'X-Forwarded-Preferred-Username',
  name: 'X-Forwarded-Name',
  roles: 'X-Forwarded-Roles',
  assertion: 'X-Gatehouse-Assertion',
};

function asMap(flat: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i < flat.length; i += 2) map.set(flat[i] as string, flat[i + 1] as string);
  return map;
}

describe('buildIdentityHeaders', () => {
  it('gives every claim its header, in a flat name/value list', () => {
    const headers = buildIdentityHeaders(
      { sub: 'u-123', email: 'alice@example.com', preferred_username: 'alice', name: 'Alice Example' },
      ['admin', 'viewer'],
      NAMES,
    );
    expect(headers).toEqual([
      'X-Forwarded-User',
      'u-123',
      'X-Forwarded-Email',
      'alice@example.com',
      'X-Forwarded-Preferred-Username',
      'alice',
      'X-Forwarded-Name',
      'Alice%20Example',
      'X-Forwarded-Roles',
      'admin,viewer',
    ]);
  });

  it('uses the configured names', () => {
    const names = { ...NAMES, user: 'Remote-User', roles: 'Remote-Groups' };
    expect(buildIdentityHeaders({ sub: 'u' }, ['a'], names)).toEqual(['Remote-User', 'u', 'Remote-Groups', 'a']);
  });

  it('leaves out a header whose claim is absent, empty, or only control characters', () => {
    expect(buildIdentityHeaders({ sub: 'u', email: '', name: '\r\n\0' }, [], NAMES)).toEqual(['X-Forwarded-User', 'u']);
  });

  it('never lets CR, LF or NUL into any value', () => {
    const evil = 'x\r\nX-Forwarded-User: admin\0';
    const headers = buildIdentityHeaders({ sub: evil, email: evil, preferred_username: evil, name: evil }, [evil, 'ok\n'], NAMES);
    expect(headers).toHaveLength(10);
    for (const value of headers) expect(/[\r\n\0]/.test(value)).toBe(false);
    const map = asMap(headers);
    expect(map.get('X-Forwarded-User')).toBe('xX-Forwarded-User: admin');
    expect(map.get('X-Forwarded-Name')).toBe('xX-Forwarded-User%3A%20admin');
    expect(map.get('X-Forwarded-Roles')).toBe('xX-Forwarded-User: admin,ok');
  });

  it('percent-encodes the display name as UTF-8, decodable with decodeURIComponent', () => {
    const map = asMap(buildIdentityHeaders({ sub: 'u', name: 'Zoë Ångström 山田' }, [], NAMES));
    expect(map.get('X-Forwarded-Name')).toBe('Zo%C3%AB%20%C3%85ngstr%C3%B6m%20%E5%B1%B1%E7%94%B0');
    expect(decodeURIComponent(map.get('X-Forwarded-Name') as string)).toBe('Zoë Ångström 山田');
  });

  it('percent-encodes non-ASCII and % in the other values, keeping ASCII', () => {
    const map = asMap(buildIdentityHeaders({ sub: 'u%1', email: 'zoë@example.com', preferred_username: 'zoë' }, ['rôle'], NAMES));
    expect(map.get('X-Forwarded-User')).toBe('u%251');
    expect(map.get('X-Forwarded-Email')).toBe('zo%C3%AB@example.com');
    expect(map.get('X-Forwarded-Preferred-Username')).toBe('zo%C3%AB');
    expect(map.get('X-Forwarded-Roles')).toBe('r%C3%B4le');
  });

  it('joins roles with "," and encodes a "," inside a role so splitting stays exact', () => {
    const roles = ['admin', 'team a,b', '50%', 'viewer'];
    const value = asMap(buildIdentityHeaders({ sub: 'u' }, roles, NAMES)).get('X-Forwarded-Roles') as string;
    expect(value).toBe('admin,team a%2Cb,50%25,viewer');
    expect(value.split(',').map(decodeURIComponent)).toEqual(roles);
  });

  it('leaves out the roles header when there are no roles', () => {
    expect(buildIdentityHeaders({ sub: 'u' }, [], NAMES)).toEqual(['X-Forwarded-User', 'u']);
    expect(buildIdentityHeaders({ sub: 'u' }, ['', '\n'], NAMES)).toEqual(['X-Forwarded-User', 'u']);
  });

  it('cuts a 5 KiB name at a character boundary and reports the header once', () => {
    const truncated: string[] = [];
    const name = `A${'é'.repeat(2560)}`;
    const map = asMap(buildIdentityHeaders({ sub: 'u', name }, [], NAMES, (header) => truncated.push(header)));
    // 'A' + 682 × '%C3%A9' (6 bytes each) = 4093 bytes; one more would be 4099.
    expect(map.get('X-Forwarded-Name')).toBe(`A${'%C3%A9'.repeat(682)}`);
    expect(truncated).toEqual(['X-Forwarded-Name']);
  });

  it('cuts a 5 KiB ASCII email at 4096 bytes and reports it once', () => {
    const truncated: string[] = [];
    const map = asMap(buildIdentityHeaders({ sub: 'u', email: `${'a'.repeat(5120)}@x` }, [], NAMES, (header) => truncated.push(header)));
    expect(map.get('X-Forwarded-Email')).toBe('a'.repeat(4096));
    expect(truncated).toEqual(['X-Forwarded-Email']);
  });

  it('drops whole roles that do not fit in 4 KiB, never part of one', () => {
    const truncated: string[] = [];
    const roles = Array.from({ length: 600 }, (_, i) => `role-${String(i).padStart(3, '0')}`);
    const value = asMap(buildIdentityHeaders({ sub: 'u' }, roles, NAMES, (header) => truncated.push(header))).get('X-Forwarded-Roles') as string;
    // Each role is 8 bytes plus the comma: 455 roles take 455 × 9 − 1 = 4094 bytes.
    expect(value.split(',')).toEqual(roles.slice(0, 455));
    expect(truncated).toEqual(['X-Forwarded-Roles']);
  });

  it('does not report anything when nothing was cut', () => {
    const truncated: string[] = [];
    buildIdentityHeaders({ sub: 'u', name: 'n'.repeat(4096) }, ['a'], NAMES, (header) => truncated.push(header));
    expect(truncated).toEqual([]);
  });
});
