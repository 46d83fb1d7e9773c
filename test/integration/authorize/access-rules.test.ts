// Access rules over real sockets with the dev provider: an anonymous status page, an admin area, a claim rule, an
// email-domain rule, the 403 page and JSON, re-evaluation after a refresh (a removed role closes /admin/ without a
// new sign-in), forward-auth on X-Forwarded-Uri / X-Forwarded-Method, and identity.pass_access_token.
// Date is stopped and moved by the tests (like refresh.test.ts): a refresh is due exactly where a test puts it.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { sendRequest } from '../../helpers/gatehouse-process.js';
import { apiWith, navigateWith, signedInCookieHeader } from '../../helpers/session-requests.js';
import { headerValues } from '../../helpers/upstream.js';
import { waitFor } from '../../helpers/wait.js';

const providerTtl = { accessToken: 4, idToken: 4 };
const REFRESH_DUE_MS = 2100;
const advance = (ms: number): void => {
  vi.setSystemTime(Date.now() + ms);
};

let stack: CloudStack;
let alice: string;
let carol: string;
let bob: string;

beforeAll(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  stack = await startCloudStack({
    providerTtl,
    config: {
      session: { refresh_before: '2s', refresh_interval: '3s' },
      roles: { access_contact: '#it-help' },
      identity: { pass_access_token: true },
      public_paths: ['/healthz'],
      access: {
        rules: [
          { path: '/status', allow: 'anonymous' },
          { path: '/admin/', allow: { roles: ['admin'] } },
          { path: '/reports/', methods: ['GET'], allow: { claims: { preferred_username: ['carol'] }, roles: ['admin'] } },
          { path: '/reports/', allow: { roles: ['admin'] } },
          { path: '/partners/', allow: { email_domains: ['example.test'] } },
          { path: '/closed/', allow: { emails: ['nobody@example.test'] } },
        ],
      },
    },
  });
  alice = await signedInCookieHeader(stack, 'alice');
  carol = await signedInCookieHeader(stack, 'carol');
  bob = await signedInCookieHeader(stack, 'bob');
});

afterAll(async () => {
  await stack?.close();
  vi.useRealTimers();
});

const lastSeen = (name: string): string[] => headerValues(stack.upstream.requests.at(-1)?.rawHeaders ?? [], name);

describe('access rules', () => {
  it('an anonymous path passes without a session (and with identity when signed in); identity headers sent by the client never arrive', async () => {
    const anonymous = await sendRequest(`${stack.url}/status`, { headers: { 'x-forwarded-access-token': 'spoofed', 'x-forwarded-user': 'spoofed' } });
    expect(anonymous.status).toBe(200);
    expect(lastSeen('x-forwarded-user')).toEqual([]);
    expect(lastSeen('x-forwarded-access-token')).toEqual([]);
    expect((await apiWith(`${stack.url}/healthz`)).status).toBe(200);
    expect((await apiWith(`${stack.url}/status`, bob)).status).toBe(200);
    expect(lastSeen('x-forwarded-user')).toEqual(['bob']);
    expect((await apiWith(`${stack.url}/status/more`)).status).toBe(401);
  });

  it('the admin area: alice (admin) passes; carol gets the 403 page naming the role and the contact, or 403 JSON; the app sees neither refusal', async () => {
    expect((await apiWith(`${stack.url}/admin/users`, alice)).status).toBe(200);
    expect(lastSeen('x-forwarded-roles')).toEqual(['admin']);
    const forwarded = stack.upstream.requests.length;
    const page = await navigateWith(`${stack.url}/admin/users`, carol);
    expect(page.status).toBe(403);
    expect(page.body).toContain('have access to this page');
    expect(page.body).toContain('This page needs the role admin.');
    expect(page.body).toContain('#it-help');
    const api = await apiWith(`${stack.url}/admin/users`, carol);
    expect(api.status).toBe(403);
    expect(JSON.parse(api.body)).toEqual({
      error: 'forbidden',
      message: "You don't have access to this page",
      requires: { roles: ['admin'] },
      access_contact: '#it-help',
    });
    expect(stack.upstream.requests.length).toBe(forwarded);
    // everything else stays open to every signed-in user (access.default signed_in)
    expect((await apiWith(`${stack.url}/home`, bob)).status).toBe(200);
  });

  it('a claim rule with methods: carol may GET /reports/ by her claim, not POST (the next rule wants admin)', async () => {
    expect((await apiWith(`${stack.url}/reports/q1`, carol)).status).toBe(200);
    const post = await sendRequest(`${stack.url}/reports/q1`, { method: 'POST', headers: { accept: 'application/json', cookie: carol }, body: 'x' });
    expect(post.status).toBe(403);
    expect((await apiWith(`${stack.url}/reports/q1`, bob)).status).toBe(403);
  });

  it('email domains need email_verified; an email list not matching refuses without naming the addresses', async () => {
    expect((await apiWith(`${stack.url}/partners/`, bob)).status).toBe(200);
    const closed = await navigateWith(`${stack.url}/closed/x`, bob);
    expect(closed.status).toBe(403);
    expect(closed.body).toContain('an email address on the allowed list');
    expect(closed.body).not.toContain('nobody@example.test');
  });

  it('rules are evaluated at every request: a role removed at the provider closes /admin/ at the next refresh, without a new sign-in', async () => {
    const cookie = await signedInCookieHeader(stack, 'alice');
    try {
      expect((await apiWith(`${stack.url}/admin/`, cookie)).status).toBe(200);
      stack.provider.setRoles('alice', []);
      advance(REFRESH_DUE_MS);
      await waitFor(async () => (await apiWith(`${stack.url}/admin/`, cookie)).status === 403, { timeoutMs: 3000, intervalMs: 100 });
      expect((await apiWith(`${stack.url}/home`, cookie)).status).toBe(200);
      stack.provider.setRoles('alice', ['admin']);
      advance(REFRESH_DUE_MS);
      await waitFor(async () => (await apiWith(`${stack.url}/admin/`, cookie)).status === 200, { timeoutMs: 3000, intervalMs: 100 });
    } finally {
      stack.provider.setRoles('alice', ['admin']);
    }
  });

  it("identity.pass_access_token: the app gets the session's access token, the renewed one after a refresh", async () => {
    const cookie = await signedInCookieHeader(stack, 'carol');
    expect((await apiWith(`${stack.url}/api`, cookie)).status).toBe(200);
    const first = lastSeen('x-forwarded-access-token');
    expect(first).toHaveLength(1);
    expect(first[0]).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    advance(REFRESH_DUE_MS);
    await waitFor(async () => (await apiWith(`${stack.url}/api`, cookie)).status === 200 && lastSeen('x-forwarded-access-token')[0] !== first[0], {
      timeoutMs: 3000,
      intervalMs: 100,
    });
    // the renewed token is the one the provider accepts now
    const userinfo = await fetch(`${stack.provider.issuer}/me`, { headers: { authorization: `Bearer ${lastSeen('x-forwarded-access-token')[0] as string}` } });
    expect(userinfo.status).toBe(200);
  });
});

describe('forward-auth with access rules', () => {
  const verify = (headers: Record<string, string>) => sendRequest(`${stack.url}/.auth/verify`, { headers: { accept: 'application/json', ...headers } });

  it('decides X-Forwarded-Uri and X-Forwarded-Method with the same rules and answers X-Auth-Request-* headers', async () => {
    const allowed = await verify({ cookie: alice, 'x-forwarded-uri': '/admin/x?y=1' });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['x-auth-request-user']).toBe('alice');
    expect(allowed.headers['x-auth-request-email']).toBe('alice@example.test');
    expect(allowed.headers['x-auth-request-preferred-username']).toBe('alice');
    expect(allowed.headers['x-auth-request-groups']).toBe('admin');
    expect(allowed.headers['x-forwarded-user']).toBe('alice');

    const refused = await verify({ cookie: carol, 'x-forwarded-uri': '/admin/x' });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'forbidden', requires: { roles: ['admin'] } });
    expect((await verify({ cookie: carol, 'x-forwarded-uri': '/reports/', 'x-forwarded-method': 'GET' })).status).toBe(200);
    expect((await verify({ cookie: carol, 'x-forwarded-uri': '/reports/', 'x-forwarded-method': 'POST' })).status).toBe(403);
    // the URI is decided in canonical form: an encoded spelling of /admin/ is /admin/
    expect((await verify({ cookie: carol, 'x-forwarded-uri': '/%61dmin/x' })).status).toBe(403);
    expect((await verify({ cookie: carol, 'x-original-url': 'https://app.example/admin//x' })).status).toBe(403);
    const anonymous = await verify({ 'x-forwarded-uri': '/status' });
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers['x-auth-request-user']).toBeUndefined();
  });

  it('without a forwarded URI, rules that depend on the path make the answer 400 instead of deciding for /', async () => {
    const answer = await verify({ cookie: carol });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'forwarded_uri_missing' });
  });
});
