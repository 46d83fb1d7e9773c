// Identity headers as the app receives them over real sockets: default and configured names, absent claims,
// percent-encoded display names, and /.auth/me.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { headerNames, headerValues, type RecordedRequest } from '../../helpers/upstream.js';

const IDENTITY_DEFAULTS = [
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-preferred-username',
  'x-forwarded-name',
  'x-forwarded-roles',
  'x-gatehouse-assertion',
];

function lastRequest(stack: CloudStack): RecordedRequest {
  const seen = stack.upstream.requests.at(-1);
  if (!seen) throw new Error('the upstream received nothing');
  return seen;
}

describe('identity headers with the default names', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('alice: every header once, with exactly her claims', async () => {
    const client = new BrowserClient();
    const { landed } = await stack.signIn(client, '/profile', 'alice');
    expect(landed.status).toBe(200);
    const raw = lastRequest(stack).rawHeaders;
    expect(headerValues(raw, 'X-Forwarded-User')).toEqual(['alice']);
    expect(headerValues(raw, 'X-Forwarded-Email')).toEqual(['alice@example.test']);
    expect(headerValues(raw, 'X-Forwarded-Preferred-Username')).toEqual(['alice']);
    expect(headerValues(raw, 'X-Forwarded-Name')).toEqual(['Alice%20Example']);
    expect(headerValues(raw, 'X-Forwarded-Roles')).toEqual(['admin']);
    expect(headerValues(raw, 'X-Gatehouse-Assertion')).toHaveLength(1);
    // sent lower-cased, as HTTP/2 writes every name
    const sentNames = raw.filter((name, i) => i % 2 === 0 && IDENTITY_DEFAULTS.includes(name.toLowerCase()));
    expect(sentNames).toEqual(IDENTITY_DEFAULTS);
    await client.close();
  });

  it('carol: a non-ASCII display name arrives percent-encoded UTF-8 and decodes back', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'carol');
    const raw = lastRequest(stack).rawHeaders;
    expect(headerValues(raw, 'x-forwarded-name')).toEqual(['Carol%20%C3%85ngstr%C3%B6m']);
    expect(decodeURIComponent(headerValues(raw, 'x-forwarded-name')[0] ?? '')).toBe('Carol Ångström');
    expect(headerValues(raw, 'x-forwarded-roles')).toEqual(['user']);
    await client.close();
  });

  it('bob has no role: no roles header at all, the other headers present', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'bob');
    const raw = lastRequest(stack).rawHeaders;
    expect(headerValues(raw, 'x-forwarded-user')).toEqual(['bob']);
    expect(headerNames(raw)).not.toContain('x-forwarded-roles');
    await client.close();
  });

  it('/.auth/me: the exact identity JSON, no tokens, no-store', async () => {
    const client = new BrowserClient();
    const before = Date.now();
    await stack.signIn(client, '/', 'carol');
    const me = await client.api(`${stack.url}/.auth/me`);
    expect(me.status).toBe(200);
    expect(me.headers['content-type']).toBe('application/json');
    expect(me.headers['cache-control']).toBe('no-store');
    const body = JSON.parse(me.body) as Record<string, unknown>;
    expect(body).toEqual({
      sub: 'carol',
      email: 'carol@example.test',
      name: 'Carol Ångström',
      preferred_username: 'carol',
      roles: ['user'],
      access: 'granted',
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    // session.ttl defaults to 8h from sign-in
    const expiresAt = Date.parse(String(body['expires_at']));
    expect(expiresAt).toBeGreaterThanOrEqual(before + 8 * 3600_000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 8 * 3600_000 + 1000);
    expect(me.body).not.toContain('eyJ');
    expect(me.body).not.toMatch(/token/i);
    expect(me.body).not.toContain(lastRequest(stack).rawHeaders.find((v) => v.startsWith('eyJ')) ?? 'no assertion seen');
    await client.close();
  });

  it('/.auth/me without a session: 401 JSON', async () => {
    const client = new BrowserClient();
    const me = await client.api(`${stack.url}/.auth/me`);
    expect(me.status).toBe(401);
    expect(me.headers['content-type']).toBe('application/json');
    expect(JSON.parse(me.body)).toEqual({ error: 'unauthenticated', login: '/.auth/login' });
    const forged = await client.api(`${stack.url}/.auth/me`, { headers: { cookie: 'gatehouse_session=forged.value', 'x-forwarded-user': 'alice' } });
    expect(forged.status).toBe(401);
    await client.close();
  });
});

describe('identity headers with configured names and a missing roles claim', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack({
      config: {
        identity: {
          headers: {
            user: 'X-Remote-User',
            email: 'X-Remote-Email',
            preferred_username: 'X-Remote-Login',
            name: 'X-Remote-Name',
            roles: 'X-Remote-Groups',
            assertion: 'X-Remote-Assertion',
          },
        },
        roles: { claim: 'realm_access.roles' },
      },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('the configured names carry the values, the default names are absent, and no claim means no roles header', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'alice');
    const raw = lastRequest(stack).rawHeaders;
    expect(headerValues(raw, 'X-Remote-User')).toEqual(['alice']);
    expect(headerValues(raw, 'X-Remote-Email')).toEqual(['alice@example.test']);
    expect(headerValues(raw, 'X-Remote-Login')).toEqual(['alice']);
    expect(headerValues(raw, 'X-Remote-Name')).toEqual(['Alice%20Example']);
    expect(headerValues(raw, 'X-Remote-Assertion')).toHaveLength(1);
    expect(raw.filter((name) => name.toLowerCase().startsWith('x-remote-'))).toEqual([
      'x-remote-user',
      'x-remote-email',
      'x-remote-login',
      'x-remote-name',
      'x-remote-assertion',
    ]);
    expect(headerNames(raw)).not.toContain('x-remote-groups');
    for (const name of IDENTITY_DEFAULTS) expect(headerNames(raw)).not.toContain(name);
    await client.close();
  });
});

describe('identity headers from unusual provider claims', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack();
    stack.provider.setClaims('bob', { email: undefined, name: 'Zoë\r\nX-Injected: 1\u0000 Ångström 山田' });
    stack.provider.setClaims('carol', { preferred_username: `${'c'.repeat(4095)}é` });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('no email claim: no email header; CR, LF and NUL removed from the name, the rest percent-encoded UTF-8', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'bob');
    const raw = lastRequest(stack).rawHeaders;
    expect(headerValues(raw, 'x-forwarded-user')).toEqual(['bob']);
    expect(headerNames(raw)).not.toContain('x-forwarded-email');
    expect(headerNames(raw)).not.toContain('x-injected');
    expect(headerValues(raw, 'x-forwarded-name')).toEqual(['Zo%C3%ABX-Injected%3A%201%20%C3%85ngstr%C3%B6m%20%E5%B1%B1%E7%94%B0']);
    expect(decodeURIComponent(headerValues(raw, 'x-forwarded-name')[0] ?? '')).toBe('ZoëX-Injected: 1 Ångström 山田');
    const me = JSON.parse((await client.api(`${stack.url}/.auth/me`)).body) as Record<string, unknown>;
    expect(me['email']).toBeNull();
    await client.close();
  });

  it('a value over 4 KiB is cut before the character that does not fit, and logged once', async () => {
    const from = stack.gatehouse.logs.length;
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'carol');
    await client.api(`${stack.url}/again`);
    const raw = lastRequest(stack).rawHeaders;
    expect(headerValues(raw, 'x-forwarded-preferred-username')).toEqual(['c'.repeat(4095)]);
    const cut = stack.gatehouse.logs.slice(from).filter((line) => line.msg === 'identity header value over 4 KiB cut');
    expect(cut).toHaveLength(1);
    expect(cut[0]).toMatchObject({ header: 'x-forwarded-preferred-username', sub: 'carol' });
    await client.close();
  });
});
