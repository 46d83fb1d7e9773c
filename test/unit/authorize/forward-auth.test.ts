// ForwardAuth's answers over HTTP on 127.0.0.1, with the sender decided by an authenticator written for the test:
// the forwarded target, the access rules, the sign-on URL and its return path, the identity headers answered.
import { afterEach, describe, expect, it } from 'vitest';
import { AccessPolicy } from '../../../src/authorize/access-rules.js';
import type { Authentication, Authenticates } from '../../../src/authorize/authentication.js';
import { ForwardAuth, type ForwardAuthOptions } from '../../../src/authorize/forward-auth.js';
import { configSchema } from '../../../src/config/schema.js';
import { TokenInvalidError } from '../../../src/errors.js';
import { createLogger } from '../../../src/ops/logger.js';
import { RouteUrls } from '../../../src/route-urls.js';
import type { SessionRecord } from '../../../src/session/types.js';
import { serveRoute, type RouteServer } from '../../helpers/route-server.js';

const HEADERS = {
  user: 'X-Forwarded-User',
  email: 'X-Forwarded-Email',
  preferred_username: 'X-Forwarded-Preferred-Username',
  name: 'X-Forwarded-Name',
  roles: 'X-Forwarded-Roles',
  assertion: 'X-Gatehouse-Assertion',
};
const NAVIGATION = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };

function signedIn(sub: string, roles: string[]): Authentication {
  const record: SessionRecord = {
    key: sub,
    claims: { sub, email: `${sub}@example.test` },
    roles,
    idToken: 'id',
    tokensExpireAt: 0,
    createdAt: 0,
    expiresAt: 0,
    lastSeenAt: 0,
    refreshAt: 0,
  };
  const identity = [HEADERS.user, sub, HEADERS.email, `${sub}@example.test`, HEADERS.roles, roles.join(',')];
  return { kind: 'session', session: { record, identity, denied: false }, identity };
}

/** Who the next requests come from. */
class TestAuthenticator implements Pick<Authenticates, 'authenticate'> {
  who: Authentication = { kind: 'none' };
  authenticate(): Authentication {
    return this.who;
  }
}

const servers: RouteServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function forwardAuth(over: { rules?: unknown[]; trustProxy?: string[] } = {}): Promise<{ server: RouteServer; authenticator: TestAuthenticator }> {
  const config = configSchema.parse({ mode: 'local', access: { rules: over.rules ?? [] } });
  const options: ForwardAuthOptions = {
    urls: new RouteUrls('/.auth', 'https://app.example.com'),
    trustProxy: over.trustProxy ?? ['127.0.0.1'],
    policy: new AccessPolicy(config),
    identityHeaders: HEADERS,
    accessContact: 'it@example.com',
  };
  const authenticator = new TestAuthenticator();
  const handler = new ForwardAuth(options, authenticator, { logger: createLogger({ level: 'silent' }) });
  const server = await serveRoute((ctx, query) => handler.verify(ctx, query));
  servers.push(server);
  return { server, authenticator };
}

describe('ForwardAuth', () => {
  it('a signed-in user: 200 with the identity headers and their X-Auth-Request-* copies', async () => {
    const { server, authenticator } = await forwardAuth();
    authenticator.who = signedIn('alice', ['admin']);
    const answer = await server.send('/.auth/verify', { headers: { 'x-forwarded-uri': '/reports' } });
    expect(answer.status).toBe(200);
    expect(answer.headers).toMatchObject({
      'x-forwarded-user': 'alice',
      'x-forwarded-roles': 'admin',
      'x-auth-request-user': 'alice',
      'x-auth-request-email': 'alice@example.test',
      'x-auth-request-groups': 'admin',
      'cache-control': 'no-store',
    });
  });

  it('nobody signed in: 401 naming the login path; a navigation also gets the sign-on URL on public_url with the forwarded page', async () => {
    const { server } = await forwardAuth();
    const api = await server.send('/.auth/verify', { headers: { accept: 'application/json', 'x-forwarded-uri': '/reports?q=1' } });
    expect(api.status).toBe(401);
    expect(JSON.parse(api.body)).toEqual({ error: 'unauthenticated', login: '/.auth/login' });
    expect(api.headers['x-gatehouse-login']).toBeUndefined();
    const navigation = await server.send('/.auth/verify', { headers: { ...NAVIGATION, 'x-forwarded-uri': '/reports?q=1' } });
    expect(navigation.status).toBe(401);
    expect(navigation.headers['x-gatehouse-login']).toBe('https://app.example.com/.auth/login?rd=%2Freports%3Fq%3D1');
    const redirected = await server.send('/.auth/verify?redirect=1', { headers: { ...NAVIGATION, 'x-original-url': 'https://app.example.com/reports' } });
    expect(redirected).toMatchObject({ status: 302, headers: { location: 'https://app.example.com/.auth/login?rd=%2Freports' } });
  });

  it('a forwarded page from a peer outside trust_proxy is not believed: the user returns to /', async () => {
    const { server } = await forwardAuth({ trustProxy: [] });
    const navigation = await server.send('/.auth/verify', { headers: { ...NAVIGATION, 'x-forwarded-uri': '/reports' } });
    expect(navigation.headers['x-gatehouse-login']).toBe('https://app.example.com/.auth/login?rd=%2F');
  });

  it('the access rules decide for the forwarded path and method: 403 naming the contact when they refuse', async () => {
    const { server, authenticator } = await forwardAuth({ rules: [{ path: '/admin/', methods: ['POST'], allow: { roles: ['admin'] } }] });
    authenticator.who = signedIn('bob', ['reader']);
    const get = await server.send('/.auth/verify', { headers: { 'x-forwarded-uri': '/admin/users', 'x-forwarded-method': 'GET' } });
    expect(get.status).toBe(200);
    const post = await server.send('/.auth/verify', { headers: { 'x-forwarded-uri': '/admin/users', 'x-forwarded-method': 'POST' } });
    expect(post.status).toBe(403);
    expect(JSON.parse(post.body)).toMatchObject({ error: 'forbidden', access_contact: 'it@example.com' });
  });

  it('rules that depend on the path need the forwarded URI: without it 400; one gatehouse would refuse to proxy is 400 too', async () => {
    const { server, authenticator } = await forwardAuth({ rules: [{ path: '/admin/', allow: { roles: ['admin'] } }] });
    authenticator.who = signedIn('alice', ['admin']);
    const missing = await server.send('/.auth/verify');
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.body)).toMatchObject({ error: 'forwarded_uri_missing' });
    const refused = await server.send('/.auth/verify', { headers: { 'x-forwarded-uri': '/admin/../etc' } });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'bad_forwarded_uri' });
  });

  it('an anonymous rule passes anyone; a bad bearer token is 401 invalid_token', async () => {
    const { server, authenticator } = await forwardAuth({ rules: [{ path: '/status', allow: 'anonymous' }] });
    expect((await server.send('/.auth/verify', { headers: { 'x-forwarded-uri': '/status' } })).status).toBe(200);
    authenticator.who = { kind: 'bad_token', error: new TokenInvalidError('signature rejected') };
    const bad = await server.send('/.auth/verify', { headers: { 'x-forwarded-uri': '/reports' } });
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toContain('invalid_token');
  });
});
