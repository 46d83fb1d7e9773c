import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/schema.js';
import { GatehouseError } from '../../../src/errors.js';
import { compileRolePolicy, fetchUrlRoles, mapRoles, parseRolesDocument, readClaimRoles } from '../../../src/identity/roles.js';

function rolesConfig(overrides: Partial<Config['roles']> = {}): Config['roles'] {
  return { source: 'claim', claim: 'roles', url: '', map: {}, pass_unmapped: false, default: [], required: false, access_contact: '', ...overrides };
}

describe('readClaimRoles', () => {
  const claims = {
    roles: ['admin', 'viewer'],
    realm_access: { roles: ['realm-a', 'realm-b'] },
    resource_access: { app: { roles: ['app-x'] }, 'my.app': { roles: ['dotted-client'] } },
    'https://example.com/roles': ['namespaced'],
    spaced: 'a b  c',
    commas: 'a,b, c',
    mixed: ['ok', 1, null, { x: 1 }, '  trimmed  ', ''],
    number: 7,
    bool: true,
    nil: null,
    object: { roles: 'nested-not-at-path' },
  };

  it('reads a top-level array', () => {
    expect(readClaimRoles(claims, 'roles')).toEqual(['admin', 'viewer']);
  });

  it('follows dotted paths', () => {
    expect(readClaimRoles(claims, 'realm_access.roles')).toEqual(['realm-a', 'realm-b']);
    expect(readClaimRoles(claims, 'resource_access.app.roles')).toEqual(['app-x']);
  });

  it('finds keys that contain dots themselves', () => {
    expect(readClaimRoles(claims, 'https://example.com/roles')).toEqual(['namespaced']);
    expect(readClaimRoles(claims, 'resource_access.my.app.roles')).toEqual(['dotted-client']);
  });

  it('splits a space- or comma-separated string', () => {
    expect(readClaimRoles(claims, 'spaced')).toEqual(['a', 'b', 'c']);
    expect(readClaimRoles(claims, 'commas')).toEqual(['a', 'b', 'c']);
  });

  it('keeps only the non-empty strings of an array, trimmed', () => {
    expect(readClaimRoles(claims, 'mixed')).toEqual(['ok', 'trimmed']);
  });

  it('gives no roles for a missing path or a claim of another type', () => {
    for (const path of ['missing', 'roles.deeper', 'realm_access.missing', 'number', 'bool', 'nil', 'object', 'realm_access', '']) {
      expect(readClaimRoles(claims, path), path).toEqual([]);
    }
  });

  it('does not read inherited properties', () => {
    expect(readClaimRoles({}, 'constructor')).toEqual([]);
    expect(readClaimRoles({}, '__proto__')).toEqual([]);
    expect(readClaimRoles({ a: {} }, 'a.toString')).toEqual([]);
  });
});

describe('parseRolesDocument', () => {
  it('reads a JSON array of strings', () => {
    expect(parseRolesDocument(['a', 'b'])).toEqual(['a', 'b']);
    expect(parseRolesDocument([])).toEqual([]);
  });

  it('reads {roles: [...]}', () => {
    expect(parseRolesDocument({ roles: ['a', ' b '], other: 1 })).toEqual(['a', 'b']);
  });

  it('refuses anything else', () => {
    for (const body of [null, 'a b', 42, {}, { roles: 'a' }, { roles: null }, ['a', 1], { roles: ['a', { b: 1 }] }, [['a']]]) {
      expect(parseRolesDocument(body), JSON.stringify(body)).toBeUndefined();
    }
  });
});

describe('mapRoles', () => {
  it('passes provider roles unchanged with an empty map, plus defaults, de-duplicated', () => {
    const policy = compileRolePolicy(rolesConfig({ default: ['user', 'admin'] }));
    expect(mapRoles(['admin', 'viewer', 'admin'], policy)).toEqual(['admin', 'viewer', 'user']);
  });

  it('maps one provider role to one or several app roles and drops unmapped ones', () => {
    const policy = compileRolePolicy(rolesConfig({ map: { 'idp-admins': ['admin', 'editor'], 'idp-readers': 'viewer' } }));
    expect(mapRoles(['idp-readers', 'stranger', 'idp-admins'], policy)).toEqual(['viewer', 'admin', 'editor']);
  });

  it('keeps unmapped roles with pass_unmapped', () => {
    const policy = compileRolePolicy(rolesConfig({ map: { a: 'x' }, pass_unmapped: true }));
    expect(mapRoles(['b', 'a', 'x'], policy)).toEqual(['b', 'x']);
  });

  it('adds defaults after mapped roles and de-duplicates in first-seen order', () => {
    const policy = compileRolePolicy(rolesConfig({ map: { a: ['x', 'y'], b: ['y', 'z'] }, default: ['z', 'base'] }));
    expect(mapRoles(['b', 'a'], policy)).toEqual(['y', 'z', 'x', 'base']);
  });

  it('gives only the defaults (or nothing) when no provider role maps', () => {
    expect(mapRoles(['nope'], compileRolePolicy(rolesConfig({ map: { a: 'x' }, default: ['base'] })))).toEqual(['base']);
    expect(mapRoles(['nope'], compileRolePolicy(rolesConfig({ map: { a: 'x' } })))).toEqual([]);
  });

  it('treats a provider role named like an Object.prototype member as a plain name', () => {
    const policy = compileRolePolicy(rolesConfig({ map: { a: 'x' } }));
    expect(mapRoles(['constructor', 'toString', '__proto__'], policy)).toEqual([]);
  });
});

describe('fetchUrlRoles', () => {
  let server: Server;
  let base: string;
  let received: IncomingHttpHeaders[] = [];
  let answer: { status: number; body: string; delayMs?: number } = { status: 200, body: '[]' };

  beforeAll(async () => {
    server = createServer((req, res) => {
      received.push(req.headers);
      const send = (): void => {
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      };
      if (answer.delayMs === undefined) send();
      else setTimeout(send, answer.delayMs).unref();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    received = [];
  });

  const TOKEN = 'at-secret-0123456789';

  async function expectProviderError(promise: Promise<unknown>, message: RegExp): Promise<void> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as GatehouseError).code).toBe('GH_PROVIDER_ERROR');
    expect((error as GatehouseError).message).toMatch(message);
    expect((error as GatehouseError).message).not.toContain(TOKEN);
  }

  it('sends the bearer token and Accept: application/json, and reads a JSON array', async () => {
    answer = { status: 200, body: '["admin","viewer"]' };
    await expect(fetchUrlRoles(`${base}/roles`, TOKEN, fetch, 2000)).resolves.toEqual(['admin', 'viewer']);
    expect(received).toHaveLength(1);
    expect(received[0]?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(received[0]?.accept).toBe('application/json');
  });

  it('reads {roles: [...]}', async () => {
    answer = { status: 200, body: '{"roles":["a","b"],"env":"prod"}' };
    await expect(fetchUrlRoles(`${base}/roles`, TOKEN, fetch, 2000)).resolves.toEqual(['a', 'b']);
  });

  it('fails on a status other than 200', async () => {
    answer = { status: 500, body: '{"error":"boom"}' };
    await expectProviderError(fetchUrlRoles(`${base}/roles?key=hidden`, TOKEN, fetch, 2000), /^roles URL http:\/\/127\.0\.0\.1:\d+\/roles answered 500$/);
  });

  it('fails on a redirect instead of following it with the token', async () => {
    answer = { status: 302, body: '' };
    await expectProviderError(fetchUrlRoles(`${base}/roles`, TOKEN, fetch, 2000), /answered 302$/);
    expect(received).toHaveLength(1);
  });

  it('fails on a body that is not JSON', async () => {
    answer = { status: 200, body: 'not json' };
    await expectProviderError(fetchUrlRoles(`${base}/roles`, TOKEN, fetch, 2000), /not JSON$/);
  });

  it('fails on JSON of the wrong shape', async () => {
    answer = { status: 200, body: '{"groups":["a"]}' };
    await expectProviderError(fetchUrlRoles(`${base}/roles`, TOKEN, fetch, 2000), /neither an array of strings/);
  });

  it('fails when the answer is slower than the timeout', async () => {
    answer = { status: 200, body: '["late"]', delayMs: 1000 };
    const started = Date.now();
    await expectProviderError(fetchUrlRoles(`${base}/roles`, TOKEN, fetch, 100), /did not answer within 100 ms$/);
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('fails when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expectProviderError(fetchUrlRoles(`http://127.0.0.1:${port}/roles`, TOKEN, fetch, 2000), /could not be reached$/);
  });
});
