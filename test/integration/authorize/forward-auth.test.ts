// Forward-auth (/.auth/verify): directly against gatehouse, and behind a real nginx using auth_request the way
// config/ingress-nginx.example.yaml configures ingress-nginx.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { freePort } from '../../helpers/ports.js';
import { headerValues, startUpstream, type RecordingUpstream } from '../../helpers/upstream.js';
import { waitFor } from '../../helpers/wait.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

const NAVIGATION = { accept: 'text/html', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };

/** One GET on its own connection; `from` picks the source address (127.0.0.2 is a peer outside trust_proxy). */
function get(url: string, headers: Record<string, string> = {}, from = '127.0.0.1'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false, localAddress: from }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject).end();
  });
}

const IDENTITY = ['x-forwarded-user', 'x-forwarded-email', 'x-forwarded-preferred-username', 'x-forwarded-name', 'x-forwarded-roles', 'x-gatehouse-assertion'];

describe('GET /.auth/verify', () => {
  let stack: CloudStack;
  let aliceCookie: string;
  let bobCookie: string;

  beforeAll(async () => {
    stack = await startCloudStack({ config: { trust_proxy: ['127.0.0.1'], roles: { required: true } } });
    const alice = new BrowserClient();
    await stack.signIn(alice, '/', 'alice', 'authorize');
    aliceCookie = `gatehouse_session=${alice.cookie(stack.url, 'gatehouse_session')}`;
    const bob = new BrowserClient();
    await stack.signIn(bob, '/', 'bob', 'authorize');
    bobCookie = `gatehouse_session=${bob.cookie(stack.url, 'gatehouse_session')}`;
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('answers 200 with the same identity headers gatehouse injects upstream, as response headers', async () => {
    const verified = await get(`${stack.url}/.auth/verify`, { cookie: aliceCookie });
    expect(verified.status).toBe(200);
    expect(verified.body).toBe('');
    expect(verified.headers['cache-control']).toBe('no-store');
    expect(verified.headers['x-forwarded-user']).toBe('alice');
    expect(verified.headers['x-forwarded-email']).toBe('alice@example.test');
    expect(verified.headers['x-forwarded-roles']).toBe('admin');

    await get(`${stack.url}/page`, { cookie: aliceCookie });
    const upstreamSaw = stack.upstream.requests.at(-1)?.rawHeaders ?? [];
    for (const name of IDENTITY) {
      expect(headerValues(upstreamSaw, name), name).toEqual([verified.headers[name]]);
    }
  });

  it('answers 401 JSON without a session, with the sign-on URL only for navigations', async () => {
    const api = await get(`${stack.url}/.auth/verify`, { 'x-forwarded-uri': '/reports' });
    expect(api.status).toBe(401);
    expect(JSON.parse(api.body)).toEqual({ error: 'unauthenticated', login: '/.auth/login' });
    expect(api.headers['x-gatehouse-login']).toBeUndefined();
    for (const name of IDENTITY) expect(api.headers[name]).toBeUndefined();

    const nav = await get(`${stack.url}/.auth/verify`, { ...NAVIGATION, 'x-forwarded-uri': '/reports/2026?x=1' });
    expect(nav.status).toBe(401);
    expect(nav.headers['x-gatehouse-login']).toBe(`${stack.url}/.auth/login?rd=%2Freports%2F2026%3Fx%3D1`);
  });

  it('reads the original URL from X-Original-URL, keeps only its path, refuses unsafe return paths, and answers 400 to a target the canonical form refuses', async () => {
    const original = await get(`${stack.url}/.auth/verify`, { ...NAVIGATION, 'x-original-url': 'https://elsewhere.example/a/b?c=d' });
    expect(original.headers['x-gatehouse-login']).toBe(`${stack.url}/.auth/login?rd=%2Fa%2Fb%3Fc%3Dd`);
    const unsafe = await get(`${stack.url}/.auth/verify`, { ...NAVIGATION, 'x-forwarded-uri': '//evil.example/x' });
    expect(unsafe.headers['x-gatehouse-login']).toBe(`${stack.url}/.auth/login?rd=%2F`);
    // Forms the canonical request-target refuses are refused here too, as gatehouse refuses them when it proxies.
    for (const refused of ['/\\evil.example', 'javascript:alert(1)', '/a/../admin/', '/a%2Fb']) {
      const answer = await get(`${stack.url}/.auth/verify`, { ...NAVIGATION, 'x-forwarded-uri': refused });
      expect(answer.status, refused).toBe(400);
      expect(JSON.parse(answer.body), refused).toMatchObject({ error: 'bad_forwarded_uri' });
    }
  });

  it('ignores X-Forwarded-Uri from a peer outside trust_proxy', async () => {
    const answer = await get(`${stack.url}/.auth/verify`, { ...NAVIGATION, 'x-forwarded-uri': '/reports' }, '127.0.0.2');
    expect(answer.status).toBe(401);
    expect(answer.headers['x-gatehouse-login']).toBe(`${stack.url}/.auth/login?rd=%2F`);
    const warned = stack.gatehouse.logs.filter((line) =>
      line.msg.startsWith('forward-auth: X-Original-URL / X-Forwarded-Uri from a peer outside trust_proxy ignored'),
    );
    expect(warned.map((line) => [line.level, line.remote])).toEqual([['warn', '127.0.0.2']]);
  });

  it('with ?redirect=1 answers a navigation with a 302 to the sign-on page (Traefik, Envoy)', async () => {
    const answer = await get(`${stack.url}/.auth/verify?redirect=1`, { ...NAVIGATION, 'x-forwarded-uri': '/reports' });
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe(`${stack.url}/.auth/login?rd=%2Freports`);
    const api = await get(`${stack.url}/.auth/verify?redirect=1`, { 'x-forwarded-uri': '/reports' });
    expect(api.status).toBe(401);
  });

  it('answers 403 when roles.required and the user has no app role', async () => {
    const answer = await get(`${stack.url}/.auth/verify`, { cookie: bobCookie });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({ error: 'no_access', message: "You don't have access to this app" });
    expect(answer.headers['x-forwarded-user']).toBeUndefined();
  });

  describe('behind nginx auth_request', () => {
    const nginxMissing = spawnSync('nginx', ['-v']).error !== undefined;
    let nginx: ChildProcess | undefined;
    let dir: string;
    let app: RecordingUpstream;
    let nginxUrl: string;

    beforeAll(async () => {
      if (nginxMissing) return;
      app = await startUpstream();
      const port = await freePort();
      nginxUrl = `http://127.0.0.1:${port}`;
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-nginx-'));
      const gatehouse = new URL(stack.url).host;
      writeFileSync(join(dir, 'nginx.conf'), nginxConfig(port, gatehouse, new URL(app.url).host, dir));
      const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
      nginx = child;
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const up = async () => {
        if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
        return get(`${nginxUrl}/.auth/me`).then(
          () => true,
          () => false,
        );
      };
      await waitFor(up, { timeoutMs: 5000, intervalMs: 25, what: () => `nginx answering (${stderr})` });
    });
    afterAll(async () => {
      if (nginx && nginx.exitCode === null) {
        const exited = new Promise((resolve) => nginx?.once('exit', resolve));
        nginx.kill('SIGTERM');
        await exited;
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
      await app?.close();
    });

    it.skipIf(nginxMissing)('an anonymous API request gets 401 and never reaches the app', async () => {
      const answer = await get(`${nginxUrl}/api/data`, { 'x-forwarded-user': 'mallory' });
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Session realm="gatehouse", login_url="/.auth/login"');
      expect(app.requests).toHaveLength(0);
    });

    it.skipIf(nginxMissing)('an anonymous navigation is redirected to the sign-on page with its return path', async () => {
      const answer = await get(`${nginxUrl}/reports/2026?x=1`, NAVIGATION);
      expect(answer.status).toBe(302);
      expect(answer.headers.location).toBe(`${stack.url}/.auth/login?rd=%2Freports%2F2026%3Fx%3D1`);
      expect(app.requests).toHaveLength(0);
    });

    it.skipIf(nginxMissing)('a signed-in request reaches the app with the identity headers, spoofed ones replaced', async () => {
      const answer = await get(`${nginxUrl}/hello?q=1`, {
        cookie: aliceCookie,
        'x-forwarded-user': 'mallory',
        'x-forwarded-roles': 'superuser',
        'x-gatehouse-assertion': 'forged',
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toBe('ok');
      const seen = app.requests.at(-1);
      expect(seen?.url).toBe('/hello?q=1');
      const raw = seen?.rawHeaders ?? [];
      expect(headerValues(raw, 'x-forwarded-user')).toEqual(['alice']);
      expect(headerValues(raw, 'x-forwarded-email')).toEqual(['alice@example.test']);
      expect(headerValues(raw, 'x-forwarded-roles')).toEqual(['admin']);
      const assertion = headerValues(raw, 'x-gatehouse-assertion');
      expect(assertion).toHaveLength(1);
      expect(assertion[0]).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    });

    it.skipIf(nginxMissing)('a request with a user who has no app role gets 403 and never reaches the app', async () => {
      const before = app.requests.length;
      const answer = await get(`${nginxUrl}/hello`, { cookie: bobCookie, 'x-forwarded-user': 'alice' });
      expect(answer.status).toBe(403);
      expect(app.requests).toHaveLength(before);
    });
  });
});

/** The plain-nginx equivalent of what ingress-nginx generates from the auth-url / auth-signin annotations. */
function nginxConfig(port: number, gatehouse: string, app: string, dir: string): string {
  const identity = [
    ['gh_user', 'x_forwarded_user', 'X-Forwarded-User'],
    ['gh_email', 'x_forwarded_email', 'X-Forwarded-Email'],
    ['gh_username', 'x_forwarded_preferred_username', 'X-Forwarded-Preferred-Username'],
    ['gh_name', 'x_forwarded_name', 'X-Forwarded-Name'],
    ['gh_roles', 'x_forwarded_roles', 'X-Forwarded-Roles'],
    ['gh_assertion', 'x_gatehouse_assertion', 'X-Gatehouse-Assertion'],
  ];
  return `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location = /_gatehouse_verify {
      internal;
      proxy_pass http://${gatehouse}/.auth/verify;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
    }
    location /.auth/ {
      proxy_pass http://${gatehouse};
    }
    location / {
      auth_request /_gatehouse_verify;
${identity.map(([variable, upstream]) => `      auth_request_set $${variable} $upstream_http_${upstream};`).join('\n')}
      auth_request_set $gh_login $upstream_http_x_gatehouse_login;
      error_page 401 = @gatehouse_sign_in;
${identity.map(([variable, , header]) => `      proxy_set_header ${header} $${variable};`).join('\n')}
      proxy_pass http://${app};
    }
    location @gatehouse_sign_in {
      if ($gh_login = "") { return 401; }
      return 302 $gh_login;
    }
  }
}
`;
}
