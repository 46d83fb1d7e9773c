// Local mode over real sockets: requests pass unchanged except that identity headers are always stripped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, startTestGatehouse, type TestGatehouse } from '../../helpers/gatehouse-process.js';
import { headerNames, headerValues, startUpstream, type RecordingUpstream } from '../../helpers/upstream.js';

const SPOOFED: Array<[string, string]> = [
  ['X-Forwarded-User', 'mallory'],
  ['x_forwarded_user', 'mallory-underscore'],
  ['X-FORWARDED-EMAIL', 'mallory@example.com'],
  ['X-Forwarded-Roles', 'admin'],
  ['X-Forwarded-Roles', 'admin'],
  ['X-Forwarded-Roles', 'admin'],
  ['X_Forwarded_Preferred_Username', 'mallory'],
  ['X-Forwarded-Name', 'Mallory'],
  ['X-Gatehouse-Assertion', 'eyJhbGciOiJub25lIn0.e30.'],
  ['X-Gatehouse-Anything', 'spoofed'],
  ['x_gatehouse_other', 'spoofed'],
  ['X-Remote-User', 'mallory'],
  ['x_remote_user', 'mallory'],
];

const STRIPPED = new Set([
  'x-forwarded-user',
  'x_forwarded_user',
  'x-forwarded-email',
  'x-forwarded-roles',
  'x_forwarded_preferred_username',
  'x-forwarded-name',
  'x-gatehouse-assertion',
  'x-gatehouse-anything',
  'x_gatehouse_other',
  'x-remote-user',
  'x_remote_user',
]);

function requestHead(method: string, path: string, extra: Array<[string, string]>): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: app.test', 'Connection: close', 'X-App-Header: kept', ...extra.map(([n, v]) => `${n}: ${v}`)];
  return `${lines.join('\r\n')}\r\n`;
}

describe('local mode', () => {
  let upstream: RecordingUpstream;
  let gatehouse: TestGatehouse;

  beforeAll(async () => {
    upstream = await startUpstream();
    gatehouse = await startTestGatehouse({
      upstream: { url: upstream.url },
      identity: { headers: { user: 'X-Remote-User' } },
      local_login: { paths: ['/account/login', '/login.html'] },
    });
  });

  afterAll(async () => {
    await gatehouse.shutdown();
    await upstream.close();
  });

  for (const method of ['GET', 'POST', 'OPTIONS', 'DELETE']) {
    it(`strips every identity header spelling on ${method} and forwards the rest unchanged`, async () => {
      const before = upstream.requests.length;
      const body = method === 'POST' ? 'a=1&b=2' : undefined;
      const extra: Array<[string, string]> = [...SPOOFED];
      if (body) extra.push(['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', String(body.length)]);
      const response = await rawRequest(gatehouse.url, `${requestHead(method, '/any/path?q=1', extra)}\r\n`, body);

      expect(response.status).toBe(200);
      expect(response.body).toBe('ok');
      expect(upstream.requests).toHaveLength(before + 1);
      const seen = upstream.requests[before];
      expect(seen?.method).toBe(method);
      expect(seen?.url).toBe('/any/path?q=1');
      const names = headerNames(seen?.rawHeaders ?? []);
      expect(names.filter((name) => STRIPPED.has(name))).toEqual([]);
      expect(names.filter((name) => name.includes('gatehouse') || name.includes('remote-user') || name.includes('remote_user'))).toEqual([]);
      expect(headerValues(seen?.rawHeaders ?? [], 'x-app-header')).toEqual(['kept']);
      expect(headerValues(seen?.rawHeaders ?? [], 'host')).toEqual(['app.test']);
      if (body) expect(seen?.body?.toString()).toBe(body);
    });
  }

  it('answers /.auth/login itself with a redirect to the first local login path', async () => {
    const before = upstream.requests.length;
    const response = await rawRequest(gatehouse.url, `${requestHead('GET', '/.auth/login?rd=%2Fdocs', [])}\r\n`);
    expect(response.status).toBe(302);
    expect(headerValues(response.rawHeaders, 'location')).toEqual(['/account/login']);
    expect(upstream.requests).toHaveLength(before);
  });

  it('answers other /.auth routes itself with 404 sso_inactive', async () => {
    const before = upstream.requests.length;
    const response = await rawRequest(gatehouse.url, `${requestHead('GET', '/.auth/me', [['Accept', 'application/json']])}\r\n`);
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toEqual({ error: 'sso_inactive', message: 'single sign-on is inactive (local mode)' });
    expect(upstream.requests).toHaveLength(before);
  });

  it('logs once at start that single sign-on is inactive and why', () => {
    const lines = gatehouse.logs.filter((line) => line.msg.startsWith('single sign-on inactive'));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toBe('single sign-on inactive: mode is local; requests pass through, identity headers are stripped');
    expect(lines[0]?.mode).toBe('local');
    expect(gatehouse.mode).toBe('local');
  });

  it('runs in local mode under mode auto without SSO settings (the CLI warns why: test/integration/config/cli.test.ts)', async () => {
    const auto = await startTestGatehouse({ mode: 'auto', upstream: { url: upstream.url } });
    try {
      expect(auto.mode).toBe('local');
      expect(auto.logs.filter((line) => line.msg.startsWith('single sign-on inactive'))).toEqual([]);
      const before = upstream.requests.length;
      const response = await rawRequest(auto.url, `${requestHead('GET', '/x', [['X-Forwarded-User', 'mallory']])}\r\n`);
      expect(response.status).toBe(200);
      expect(headerNames(upstream.requests[before]?.rawHeaders ?? [])).not.toContain('x-forwarded-user');
    } finally {
      await auto.shutdown();
    }
  });
});
