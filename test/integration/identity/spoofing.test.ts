// Identity headers sent by a client never reach the app, in any spelling, any number of times, on any path;
// for a signed-in user the app sees exactly gatehouse's one value per identity header.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { sendRequest, startTestGatehouse } from '../../helpers/gatehouse-process.js';
import { headerNames, headerValues, startUpstream, type RecordedRequest } from '../../helpers/upstream.js';

const MARK = 'SPOOFED';

/** Every spelling of the default identity headers a client might try, each value marked. */
/** node:http adds no Host header when headers are given as a flat list, so every list starts with one. */
const DEFAULT_SPOOFS = [
  'Host',
  '127.0.0.1',
  'X-Forwarded-User',
  `${MARK}-1`,
  'x_forwarded_user',
  `${MARK}-2`,
  'X-FORWARDED-USER',
  `${MARK}-3`,
  'X_Forwarded-User',
  `${MARK}-4`,
  'X-Forwarded-User',
  `${MARK}-dup-1`,
  'X-Forwarded-User',
  `${MARK}-dup-2`,
  'X-Forwarded-User',
  `${MARK}-dup-3`,
  'X-Forwarded-Email',
  `${MARK}@evil.test`,
  'X_Forwarded_Email',
  `${MARK}@evil.test`,
  'X-Forwarded-Preferred-Username',
  `${MARK}-root`,
  'x_forwarded_preferred_username',
  `${MARK}-root`,
  'X-Forwarded-Name',
  `${MARK}%20Name`,
  'X-FORWARDED-NAME',
  `${MARK}%20Name`,
  'X-Forwarded-Roles',
  `${MARK},admin`,
  'x_forwarded_roles',
  `${MARK},admin`,
  'X-Gatehouse-Assertion',
  `${MARK}.eyJ.forged`,
  'x_gatehouse_assertion',
  `${MARK}.eyJ.forged`,
  'X-Gatehouse-Whatever',
  `${MARK}-prefix`,
  'x_gatehouse_whatever',
  `${MARK}-prefix`,
];

const CUSTOM_NAMES = {
  user: 'X-Remote-User',
  email: 'X-Remote-Email',
  preferred_username: 'X-Remote-Login',
  name: 'X-Remote-Name',
  roles: 'X-Remote-Groups',
  assertion: 'X-Remote-Assertion',
};
const CUSTOM_SPOOFS = [
  ...DEFAULT_SPOOFS,
  ...Object.values(CUSTOM_NAMES).flatMap((name) => [
    name,
    `${MARK}-custom`,
    name.toUpperCase().replaceAll('-', '_'),
    `${MARK}-custom-underscore`,
    name,
    `${MARK}-custom-dup`,
  ]),
];

/** Header names the app must see only with gatehouse's values (compared lower-cased, `_` as `-`). */
function identityLike(name: string): boolean {
  const canonical = name.toLowerCase().replaceAll('_', '-');
  return canonical.startsWith('x-forwarded-')
    ? !['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'].includes(canonical)
    : canonical.startsWith('x-gatehouse-') || canonical.startsWith('x-remote-');
}

function expectNoSpoofedValue(seen: RecordedRequest): void {
  expect(seen.rawHeaders.filter((v) => v.includes(MARK))).toEqual([]);
}

function expectNoIdentity(seen: RecordedRequest): void {
  expectNoSpoofedValue(seen);
  expect(headerNames(seen.rawHeaders).filter(identityLike)).toEqual([]);
}

async function lastRequestAfter(stack: { upstream: { requests: RecordedRequest[] } }, count: number): Promise<RecordedRequest> {
  expect(stack.upstream.requests).toHaveLength(count + 1);
  return stack.upstream.requests[count] as RecordedRequest;
}

describe('spoofed identity headers, default names (cloud mode)', () => {
  let stack: CloudStack;
  let client: BrowserClient;
  let cookie: string;
  beforeAll(async () => {
    stack = await startCloudStack({
      config: { public_paths: ['/public/'], local_login: { enabled: true, paths: ['/login.html'] } },
    });
    client = new BrowserClient();
    await stack.signIn(client, '/', 'carol');
    cookie = client.jar.header(new URL(`${stack.url}/`)) ?? '';
  });
  afterAll(async () => {
    await client?.close();
    await stack?.close();
  });

  it("signed-in user: the app sees exactly one value per identity header, gatehouse's", async () => {
    const before = stack.upstream.requests.length;
    const res = await sendRequest(`${stack.url}/app/page`, { headers: ['Accept', 'application/json', 'Cookie', cookie, ...DEFAULT_SPOOFS] });
    expect(res.status).toBe(200);
    const seen = await lastRequestAfter(stack, before);
    expectNoSpoofedValue(seen);
    const raw = seen.rawHeaders;
    expect(headerValues(raw, 'x-forwarded-user')).toEqual(['carol']);
    expect(headerValues(raw, 'x-forwarded-email')).toEqual(['carol@example.test']);
    expect(headerValues(raw, 'x-forwarded-preferred-username')).toEqual(['carol']);
    expect(headerValues(raw, 'x-forwarded-name')).toEqual(['Carol%20%C3%85ngstr%C3%B6m']);
    expect(headerValues(raw, 'x-forwarded-roles')).toEqual(['user']);
    expect(headerValues(raw, 'x-gatehouse-assertion')).toHaveLength(1);
    expect(headerValues(raw, 'x-gatehouse-assertion')[0]).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(headerNames(raw).filter(identityLike).sort()).toEqual([
      'x-forwarded-email',
      'x-forwarded-name',
      'x-forwarded-preferred-username',
      'x-forwarded-roles',
      'x-forwarded-user',
      'x-gatehouse-assertion',
    ]);
  });

  it('anonymous user on a public path: forwarded without any identity header (GET and OPTIONS)', async () => {
    for (const method of ['GET', 'OPTIONS']) {
      const before = stack.upstream.requests.length;
      const res = await sendRequest(`${stack.url}/public/logo.svg`, { method, headers: DEFAULT_SPOOFS });
      expect(res.status).toBe(200);
      const seen = await lastRequestAfter(stack, before);
      expect(seen.method).toBe(method);
      expectNoIdentity(seen);
    }
  });

  it('anonymous user on the local-login path: forwarded without any identity header', async () => {
    const before = stack.upstream.requests.length;
    const res = await sendRequest(`${stack.url}/login.html`, {
      method: 'POST',
      headers: ['Content-Type', 'application/x-www-form-urlencoded', ...DEFAULT_SPOOFS],
      body: 'user=x&password=y',
    });
    expect(res.status).toBe(200);
    const seen = await lastRequestAfter(stack, before);
    expect(seen.body?.toString()).toBe('user=x&password=y');
    expectNoIdentity(seen);
  });

  it("signed-in user on a public path: gatehouse's values only, one each", async () => {
    const before = stack.upstream.requests.length;
    const res = await sendRequest(`${stack.url}/public/x`, { headers: ['Cookie', cookie, ...DEFAULT_SPOOFS] });
    expect(res.status).toBe(200);
    const seen = await lastRequestAfter(stack, before);
    expectNoSpoofedValue(seen);
    expect(headerValues(seen.rawHeaders, 'x-forwarded-user')).toEqual(['carol']);
    expect(headerValues(seen.rawHeaders, 'x-forwarded-roles')).toEqual(['user']);
    expect(headerNames(seen.rawHeaders).filter(identityLike)).toHaveLength(6);
  });

  it('anonymous user on a protected path: refused, nothing forwarded', async () => {
    const before = stack.upstream.requests.length;
    const res = await sendRequest(`${stack.url}/app/page`, { headers: ['Accept', 'application/json', ...DEFAULT_SPOOFS] });
    expect(res.status).toBe(401);
    expect(stack.upstream.requests).toHaveLength(before);
  });

  it('/.auth/*: never forwarded, and /.auth/me reads the session, not the headers', async () => {
    const before = stack.upstream.requests.length;
    const anonymous = await sendRequest(`${stack.url}/.auth/me`, { headers: ['Accept', 'application/json', ...DEFAULT_SPOOFS] });
    expect(anonymous.status).toBe(401);
    const signedIn = await sendRequest(`${stack.url}/.auth/me`, { headers: ['Accept', 'application/json', 'Cookie', cookie, ...DEFAULT_SPOOFS] });
    expect(signedIn.status).toBe(200);
    expect(JSON.parse(signedIn.body)).toMatchObject({ sub: 'carol', email: 'carol@example.test', roles: ['user'] });
    expect(signedIn.body).not.toContain(MARK);
    const unknown = await sendRequest(`${stack.url}/.auth/anything`, { headers: DEFAULT_SPOOFS });
    expect(unknown.status).toBe(404);
    expect(stack.upstream.requests).toHaveLength(before);
  });
});

describe('spoofed identity headers, configured names (cloud mode)', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack({ config: { identity: { headers: CUSTOM_NAMES }, public_paths: ['/public/'] } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('signed-in user: one value per configured header, no default-named header, no spoofed value', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'alice');
    const cookie = client.jar.header(new URL(`${stack.url}/`)) ?? '';
    const before = stack.upstream.requests.length;
    const res = await sendRequest(`${stack.url}/x`, { headers: ['Accept', 'application/json', 'Cookie', cookie, ...CUSTOM_SPOOFS] });
    expect(res.status).toBe(200);
    const seen = await lastRequestAfter(stack, before);
    expectNoSpoofedValue(seen);
    const raw = seen.rawHeaders;
    expect(headerValues(raw, 'x-remote-user')).toEqual(['alice']);
    expect(headerValues(raw, 'x-remote-email')).toEqual(['alice@example.test']);
    expect(headerValues(raw, 'x-remote-login')).toEqual(['alice']);
    expect(headerValues(raw, 'x-remote-name')).toEqual(['Alice%20Example']);
    expect(headerValues(raw, 'x-remote-groups')).toEqual(['admin']);
    expect(headerValues(raw, 'x-remote-assertion')).toHaveLength(1);
    expect(headerNames(raw).filter(identityLike).sort()).toEqual([
      'x-remote-assertion',
      'x-remote-email',
      'x-remote-groups',
      'x-remote-login',
      'x-remote-name',
      'x-remote-user',
    ]);
    await client.close();
  });

  it('anonymous user on a public path: neither configured nor default names reach the app', async () => {
    const before = stack.upstream.requests.length;
    const res = await sendRequest(`${stack.url}/public/a`, { headers: CUSTOM_SPOOFS });
    expect(res.status).toBe(200);
    expectNoIdentity(await lastRequestAfter(stack, before));
  });
});

describe('spoofed identity headers (local mode)', () => {
  it('every request passes, every identity header stripped', async () => {
    const upstream = await startUpstream();
    const gatehouse = await startTestGatehouse({ mode: 'local', upstream: { url: upstream.url }, identity: { headers: CUSTOM_NAMES } });
    try {
      const url = gatehouse.url;
      const res = await sendRequest(`${url}/anything`, { headers: CUSTOM_SPOOFS });
      expect(res.status).toBe(200);
      expect(upstream.requests).toHaveLength(1);
      expectNoIdentity(upstream.requests[0] as RecordedRequest);
    } finally {
      await gatehouse.shutdown();
      await upstream.close();
    }
  });
});

describe('identity.strip_prefix set to another prefix (local mode)', () => {
  it('strips every header starting with it in any case or _ spelling; a name that merely begins alike passes', async () => {
    const upstream = await startUpstream();
    const gatehouse = await startTestGatehouse({ mode: 'local', upstream: { url: upstream.url }, identity: { strip_prefix: 'X-Internal-' } });
    try {
      const headers = [
        'Host',
        '127.0.0.1',
        'X-Internal-Token',
        MARK,
        'x_internal_debug',
        MARK,
        'X-INTERNAL-ROLE',
        MARK,
        'X-Internalish',
        'kept',
        'X-Forwarded-User',
        MARK,
      ];
      const res = await sendRequest(`${gatehouse.url}/anything`, { headers });
      expect(res.status).toBe(200);
      const raw = (upstream.requests[0] as RecordedRequest).rawHeaders;
      expect(headerNames(raw).filter((name) => name.replaceAll('_', '-').startsWith('x-internal-'))).toEqual([]);
      expect(headerValues(raw, 'x-internalish')).toEqual(['kept']);
      expect(raw).not.toContain(MARK);
    } finally {
      await gatehouse.shutdown();
      await upstream.close();
    }
  });
});
