// App roles as the app receives them: mapped from the roles claim, read from a roles URL with the user's
// access token, defaulted, and refused with 403 when roles.required and the user has none.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { headerValues } from '../../helpers/upstream.js';
import { waitFor } from '../../helpers/wait.js';

function rolesHeaderSeen(stack: CloudStack): string[] {
  return headerValues(stack.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-roles');
}

async function signedIn(stack: CloudStack, user: string): Promise<BrowserClient> {
  const client = new BrowserClient();
  const { landed } = await stack.signIn(client, '/', user);
  expect(landed.status).toBe(200);
  return client;
}

describe('roles from the claim, mapped, with defaults', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack({ config: { roles: { map: { admin: ['app-admin', 'reader'] }, default: ['viewer'] } } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a mapped provider role becomes its app roles, plus the default', async () => {
    const client = await signedIn(stack, 'alice');
    expect(rolesHeaderSeen(stack)).toEqual(['app-admin,reader,viewer']);
    const me = JSON.parse((await client.api(`${stack.url}/.auth/me`)).body) as { roles: string[] };
    expect(me.roles).toEqual(['app-admin', 'reader', 'viewer']);
    await client.close();
  });

  it('an unmapped provider role is dropped; the default remains', async () => {
    const client = await signedIn(stack, 'carol');
    expect(rolesHeaderSeen(stack)).toEqual(['viewer']);
    await client.close();
  });
});

describe('roles.pass_unmapped and roles.required', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack({
      config: { roles: { map: { admin: ['app-admin'] }, pass_unmapped: true, required: true, access_contact: 'the IT service desk' } },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('an unmapped provider role passes unchanged with pass_unmapped', async () => {
    const client = await signedIn(stack, 'carol');
    expect(rolesHeaderSeen(stack)).toEqual(['user']);
    await client.close();
  });

  it('a user without any app role: 403 page naming the contact, 403 JSON for the API, /.auth/me says denied, nothing forwarded', async () => {
    const client = new BrowserClient();
    const before = stack.upstream.requests.length;
    const { landed } = await stack.signIn(client, '/reports', 'bob');
    expect(landed.status).toBe(403);
    expect(landed.headers['content-type']).toMatch(/^text\/html/);
    expect(landed.body).toContain('You don&#39;t have access to this app');
    expect(landed.body).toContain('Ask the IT service desk to grant you access.');
    expect(landed.body).toContain('bob@example.test');

    const api = await client.api(`${stack.url}/api/data`);
    expect(api.status).toBe(403);
    expect(JSON.parse(api.body)).toEqual({ error: 'no_access', message: "You don't have access to this app", access_contact: 'the IT service desk' });

    const me = await client.api(`${stack.url}/.auth/me`);
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({
      sub: 'bob',
      roles: [],
      access: 'denied',
      message: "You don't have access to this app",
      access_contact: 'the IT service desk',
    });
    expect(stack.upstream.requests).toHaveLength(before);
    await client.close();
  });
});

interface RolesServer {
  url: string;
  /** Authorization headers received, in order. */
  authorizations: Array<string | undefined>;
  answer: { status: number; body: string };
  close(): Promise<void>;
}

async function startRolesServer(): Promise<RolesServer> {
  const roles: RolesServer = { url: '', authorizations: [], answer: { status: 200, body: '[]' }, close: async () => {} };
  const server: Server = createServer((req, res) => {
    roles.authorizations.push(req.headers.authorization);
    res.writeHead(roles.answer.status, { 'content-type': 'application/json' }).end(roles.answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  roles.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/env/123/access`;
  roles.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return roles;
}

describe('roles from roles.url', () => {
  let rolesServer: RolesServer;
  let stack: CloudStack;
  beforeAll(async () => {
    rolesServer = await startRolesServer();
    stack = await startCloudStack({ config: { roles: { source: 'url', url: rolesServer.url, default: ['viewer'] } } });
  });
  afterAll(async () => {
    await stack?.close();
    await rolesServer?.close();
  });

  it("a JSON array: called with the user's access token (valid at the provider), roles reach the app, the token never does", async () => {
    rolesServer.answer = { status: 200, body: '["a","b"]' };
    const before = rolesServer.authorizations.length;
    const client = await signedIn(stack, 'alice');
    expect(rolesServer.authorizations).toHaveLength(before + 1);
    const authorization = rolesServer.authorizations.at(-1) ?? '';
    expect(authorization).toMatch(/^Bearer [\w-]{20,}$/);
    const userinfo = await fetch(`${stack.provider.issuer}/me`, { headers: { authorization } });
    expect(userinfo.status).toBe(200);
    expect(((await userinfo.json()) as { sub: string }).sub).toBe('alice');

    expect(rolesHeaderSeen(stack)).toEqual(['a,b,viewer']);
    const accessToken = authorization.slice('Bearer '.length);
    expect((stack.upstream.requests.at(-1)?.rawHeaders ?? []).join('\n')).not.toContain(accessToken);
    const me = await client.api(`${stack.url}/.auth/me`);
    expect(JSON.parse(me.body)).toMatchObject({ sub: 'alice', roles: ['a', 'b', 'viewer'] });
    expect(me.body).not.toContain(accessToken);
    await client.close();
  });

  it('{ "roles": [...] } is read the same way', async () => {
    rolesServer.answer = { status: 200, body: '{"roles":["c"],"environment":"123"}' };
    const client = await signedIn(stack, 'carol');
    expect(rolesHeaderSeen(stack)).toEqual(['c,viewer']);
    await client.close();
  });

  it('the roles URL failing at sign-in: sign-in fails with a 502 page, logged without the token, no session', async () => {
    rolesServer.answer = { status: 500, body: '{"error":"down"}' };
    const client = new BrowserClient();
    const before = stack.upstream.requests.length;
    const { landed } = await stack.signIn(client, '/x', 'carol');
    expect(landed.status).toBe(502);
    expect(landed.headers['content-type']).toMatch(/^text\/html/);
    expect(landed.body).toContain('Sign-in failed');
    expect(client.cookie(stack.url, 'gatehouse_session')).toBeUndefined();
    expect(stack.upstream.requests).toHaveLength(before);
    const failure = stack.gatehouse.logs.filter((line) => line.msg === 'sign-in failed').at(-1);
    expect(failure).toMatchObject({ reason: 'provider_error', err: expect.stringContaining(`roles URL ${rolesServer.url} answered 500`) });
    const token = (rolesServer.authorizations.at(-1) ?? '').slice('Bearer '.length);
    expect(token.length).toBeGreaterThan(20);
    expect(stack.gatehouse.logText()).not.toContain(token);
    const me = await client.api(`${stack.url}/.auth/me`);
    expect(me.status).toBe(401);
    await client.close();
  });
});

describe('roles from roles.url are read again at every refresh (4 s tokens)', () => {
  let rolesServer: RolesServer;
  let stack: CloudStack;
  beforeAll(async () => {
    // Date stopped before the stack starts and moved by the test (as in session/refresh.test.ts): the refresh is due
    // exactly when the test says, however slow the machine
    vi.useFakeTimers({ toFake: ['Date'] });
    rolesServer = await startRolesServer();
    stack = await startCloudStack({
      providerTtl: { accessToken: 4, idToken: 4 },
      config: { roles: { source: 'url', url: rolesServer.url }, session: { refresh_before: '2s', refresh_interval: '3s' } },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await rolesServer?.close();
    vi.useRealTimers();
  });

  it('a changed answer reaches the app after the refresh, fetched with the renewed access token', async () => {
    rolesServer.answer = { status: 200, body: '["reader"]' };
    const client = await signedIn(stack, 'carol');
    expect(rolesHeaderSeen(stack)).toEqual(['reader']);
    const atSignIn = rolesServer.authorizations.at(-1);

    rolesServer.answer = { status: 200, body: '["editor"]' };
    vi.setSystemTime(Date.now() + 2100);
    await waitFor(
      async () => {
        await client.api(`${stack.url}/api/roles`);
        return rolesHeaderSeen(stack)[0] === 'editor';
      },
      { timeoutMs: 3000, intervalMs: 100 },
    );
    const atRefresh = rolesServer.authorizations.at(-1);
    expect(atRefresh).toMatch(/^Bearer [\w-]{20,}$/);
    expect(atRefresh).not.toBe(atSignIn);
    expect(JSON.parse((await client.api(`${stack.url}/.auth/me`)).body)).toMatchObject({ sub: 'carol', roles: ['editor'] });
    await client.close();
  });
});
