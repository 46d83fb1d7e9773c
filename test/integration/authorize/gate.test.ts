// The gate over real sockets: navigation vs API answers, public and local-login paths, the app's own session
// cookie, identity headers on public paths, path tricks against public_paths, and /.auth/login in local mode.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { rawRequest, sendRequest, startTestGatehouse, type TestGatehouse } from '../../helpers/gatehouse-process.js';
import { headerValues, startUpstream, type RecordingUpstream } from '../../helpers/upstream.js';

const IDENTITY = ['x-forwarded-user', 'x-forwarded-email', 'x-forwarded-preferred-username', 'x-forwarded-name', 'x-forwarded-roles', 'x-gatehouse-assertion'];

function identityHeaders(rawHeaders: readonly string[]): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  for (const name of IDENTITY) {
    const values = headerValues(rawHeaders, name);
    if (values.length) found[name] = values;
  }
  return found;
}

describe('gate in cloud mode', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack({
      config: { public_paths: ['/public/', '/health'], local_login: { enabled: true, paths: ['/local-login'], session_cookie: 'app_session' } },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('navigations (Accept text/html or Sec-Fetch-Mode navigate, GET/HEAD) get 302 to the sign-on page with rd', async () => {
    const before = stack.upstream.requests.length;
    const byAccept = await sendRequest(`${stack.url}/a/b?c=d`, { headers: { accept: 'text/html' } });
    expect(byAccept.status).toBe(302);
    expect(byAccept.headers.location).toBe('/.auth/login?rd=%2Fa%2Fb%3Fc%3Dd');
    expect(byAccept.headers['cache-control']).toBe('no-store');
    const byFetchMode = await sendRequest(`${stack.url}/x`, { headers: { accept: '*/*', 'sec-fetch-mode': 'navigate' } });
    expect(byFetchMode.status).toBe(302);
    expect(byFetchMode.headers.location).toBe('/.auth/login?rd=%2Fx');
    const head = await sendRequest(`${stack.url}/x`, { method: 'HEAD', headers: { accept: 'text/html' } });
    expect(head.status).toBe(302);
    expect(head.headers.location).toBe('/.auth/login?rd=%2Fx');
    expect(head.body).toBe('');
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('POST, fetch/XHR and clients without Accept get 401 JSON with WWW-Authenticate', async () => {
    const before = stack.upstream.requests.length;
    const expected = { error: 'unauthenticated', login: '/.auth/login' };
    const cases: Array<{ method?: string; headers: Record<string, string> }> = [
      { method: 'POST', headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' } },
      { headers: { accept: 'text/html', 'sec-fetch-mode': 'cors' } },
      { headers: { accept: 'application/json', 'x-requested-with': 'XMLHttpRequest' } },
      { headers: {} },
      { method: 'DELETE', headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } },
    ];
    for (const { method, headers } of cases) {
      const response = await sendRequest(`${stack.url}/api/items`, { method, headers, body: method === 'POST' ? 'a=1' : undefined });
      expect(response.status).toBe(401);
      expect(response.headers['content-type']).toBe('application/json');
      expect(response.headers['www-authenticate']).toBe('Session realm="gatehouse", login_url="/.auth/login"');
      expect(JSON.parse(response.body)).toEqual(expected);
    }
    const head = await sendRequest(`${stack.url}/api/items`, { method: 'HEAD' });
    expect(head.status).toBe(401);
    expect(head.body).toBe('');
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('public paths pass without a session and without identity headers, forged ones stripped', async () => {
    for (const path of ['/public/app.css', '/public/', '/public', '/health']) {
      const response = await sendRequest(`${stack.url}${path}`, {
        headers: { accept: 'text/html', 'x-forwarded-user': 'mallory', X_Forwarded_Roles: 'admin' },
      });
      expect(response.status).toBe(200);
      expect(response.body).toBe('ok');
      const seen = stack.upstream.requests.at(-1);
      expect(seen?.url).toBe(path);
      expect(identityHeaders(seen?.rawHeaders ?? [])).toEqual({});
    }
    const notPublic = await sendRequest(`${stack.url}/health/x`, { headers: { accept: 'application/json' } });
    expect(notPublic.status).toBe(401);
  });

  it('a signed-in user on a public path gets identity headers; an unknown session does not', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'alice', 'authorize');
    const signedIn = await client.navigate(`${stack.url}/public/page`);
    expect(signedIn.status).toBe(200);
    const seen = identityHeaders(stack.upstream.requests.at(-1)?.rawHeaders ?? []);
    expect(seen['x-forwarded-user']).toEqual(['alice']);
    expect(seen['x-forwarded-roles']).toEqual(['admin']);
    expect(seen['x-gatehouse-assertion']).toHaveLength(1);

    const unknown = await sendRequest(`${stack.url}/public/page`, { headers: { cookie: 'gatehouse_session=not-a-session' } });
    expect(unknown.status).toBe(200);
    expect(identityHeaders(stack.upstream.requests.at(-1)?.rawHeaders ?? [])).toEqual({});
  });

  it('local-login paths and requests carrying the app session cookie pass without SSO and without identity headers', async () => {
    const login = await sendRequest(`${stack.url}/local-login?next=%2F`, { headers: { accept: 'text/html', 'x-forwarded-user': 'mallory' } });
    expect(login.status).toBe(200);
    expect(stack.upstream.requests.at(-1)?.url).toBe('/local-login?next=%2F');
    expect(identityHeaders(stack.upstream.requests.at(-1)?.rawHeaders ?? [])).toEqual({});

    const own = await sendRequest(`${stack.url}/dashboard`, {
      headers: { accept: 'application/json', cookie: 'app_session=abc123; gatehouse_returning=1', 'x-forwarded-email': 'a@b' },
    });
    expect(own.status).toBe(200);
    const seen = stack.upstream.requests.at(-1);
    expect(seen?.url).toBe('/dashboard');
    expect(identityHeaders(seen?.rawHeaders ?? [])).toEqual({});
    expect(headerValues(seen?.rawHeaders ?? [], 'cookie')).toEqual(['app_session=abc123']);

    const empty = await sendRequest(`${stack.url}/dashboard`, { headers: { accept: 'application/json', cookie: 'app_session=' } });
    expect(empty.status).toBe(401);
  });

  it('path tricks against public_paths never reach the upstream unauthenticated', async () => {
    const protectedPaths = ['/PUBLIC/x', '/public;x/admin', '/admin?/public/', '/admin%23/public/', '/admin%3F/public/', '/admin/public/', '/%61dmin/public/'];
    // dot segments in any spelling are refused, never resolved (the app could read them another way)
    const refusedPaths = [
      '/public/../admin',
      '/public/%2e%2e/admin',
      '/public/%2E%2E/admin',
      '/public/./../admin',
      '/public/x/../../admin',
      '/public;x/../admin',
      '/public/..;/admin',
      '/public%2fadmin',
      '/public%2Fadmin',
      '/public/..%2fadmin',
      '/public/%5c../admin',
      '/public\\..\\admin',
      '/public/%00/../admin',
      '/public/%zz',
    ];
    const before = stack.upstream.requests.length;
    for (const path of protectedPaths) {
      const response = await rawRequest(stack.url, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nConnection: close\r\n\r\n`);
      expect([path, response.status]).toEqual([path, 401]);
    }
    for (const path of refusedPaths) {
      const response = await rawRequest(stack.url, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nConnection: close\r\n\r\n`);
      expect([path, response.status]).toEqual([path, 400]);
    }
    expect(stack.upstream.requests.length).toBe(before);

    const doubled = await rawRequest(stack.url, 'GET //public/x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(doubled.status).toBe(200);
    expect(stack.upstream.requests.at(-1)?.url).toBe('/public/x');
  });
});

describe('gate in local mode', () => {
  let upstream: RecordingUpstream;
  let gatehouse: TestGatehouse;
  beforeAll(async () => {
    upstream = await startUpstream();
    gatehouse = await startTestGatehouse({ mode: 'local', upstream: { url: upstream.url }, local_login: { paths: ['/signin.html'] } });
  });
  afterAll(async () => {
    await gatehouse?.shutdown();
    await upstream?.close();
  });

  it('/.auth/login redirects to the local login page and everything else passes without identity', async () => {
    const login = await sendRequest(`${gatehouse.url}/.auth/login?rd=%2Fx`, { headers: { accept: 'text/html' } });
    expect(login.status).toBe(302);
    expect(login.headers.location).toBe('/signin.html');
    const page = await sendRequest(`${gatehouse.url}/admin`, { headers: { accept: 'text/html', 'x-forwarded-user': 'mallory' } });
    expect(page.status).toBe(200);
    expect(upstream.requests.at(-1)?.url).toBe('/admin');
    expect(identityHeaders(upstream.requests.at(-1)?.rawHeaders ?? [])).toEqual({});
  });
});
