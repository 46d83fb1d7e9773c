// Advisory: tokens leaked on status pages. Every HTML page gatehouse serves, fetched from a live gatehouse, carries
// CSP, X-Frame-Options DENY, Referrer-Policy no-referrer and Cache-Control no-store; reflected values are escaped;
// no token, code, cookie value or stack trace ever appears.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../helpers/cloud-stack.js';
import { rawRequest, sendRequest, type HttpResult } from '../helpers/gatehouse-process.js';
import { startUpstream } from '../helpers/upstream.js';

const XSS = '"><script>alert(1)</script><img src=x onerror=alert(2)>';
const STACK_TRACE = /\bat .*\.(?:ts|js):\d+|Error:|node_modules|\/work\//;

function expectOwnPage(res: HttpResult, status: number, secrets: readonly string[] = []): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
  expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.body).not.toMatch(STACK_TRACE);
  expect(res.body).not.toContain('<script');
  for (const secret of secrets) expect(res.body).not.toContain(secret);
}

/** Answers /reset by cutting the socket (502), /hang never (504); everything else 200. */
function faultyApp(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/reset') return void req.socket.destroy();
  if (req.url === '/hang') return;
  res.writeHead(200).end('ok');
}

describe("gatehouse's own pages", () => {
  let stack: CloudStack;
  let cookieHeader: string;
  const page = (path: string, cookie = cookieHeader): Promise<HttpResult> =>
    sendRequest(`${stack.url}${path}`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', cookie } });

  beforeAll(async () => {
    stack = await startCloudStack({
      upstream: await startUpstream(faultyApp),
      config: { upstream: { timeout_ms: 300 }, roles: { required: true }, local_login: { enabled: true, paths: ['/login.html'] } },
    });
    cookieHeader = '';
  });
  afterAll(async () => {
    await stack.close();
    await stack.upstream.close();
  });

  /** A pending sign-in the browser holds after /start: its cookie and state. */
  async function begin(): Promise<{ cookie: string; state: string }> {
    const res = await page(`/.auth/start?rd=/x`, '');
    return {
      state: new URL(res.headers.location ?? '').searchParams.get('state') ?? '',
      cookie: (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; '),
    };
  }

  it('sign-on page (with an XSS payload in rd: escaped, never reflected raw)', async () => {
    const res = await page(`/.auth/login?rd=${encodeURIComponent(`/x${XSS}`)}`, '');
    expectOwnPage(res, 200, ['<img', 'onerror=alert']);
    expect(res.body).toContain('/.auth/start?rd=');
  });

  it('signed-out page', async () => {
    expectOwnPage(await page('/.auth/signed-out', ''), 200);
  });

  it('declined page (error=access_denied with an XSS error_description)', async () => {
    const { cookie, state } = await begin();
    const res = await page(`/.auth/callback?error=access_denied&error_description=${encodeURIComponent(XSS)}&state=${state}`, cookie);
    expectOwnPage(res, 200, ['<img', 'onerror']);
    expect(res.body).toContain('declined');
  });

  it('400: sign-in expired (forged state), and a refused path', async () => {
    expectOwnPage(await page('/.auth/callback?code=SECRETCODE&state=forged-state-123456', ''), 400, ['SECRETCODE', 'forged-state']);
    const refused = await rawRequest(stack.url, 'GET /a%2fb HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\nConnection: close\r\n\r\n');
    const headers = Object.fromEntries(
      Array.from({ length: refused.rawHeaders.length / 2 }, (_, i) => [refused.rawHeaders[2 * i]?.toLowerCase(), refused.rawHeaders[2 * i + 1]]),
    );
    expectOwnPage({ status: refused.status, headers, rawHeaders: refused.rawHeaders, body: refused.body }, 400);
  });

  it('401 sign-in failed: a code that fails validation is never echoed, nor logged', async () => {
    const { cookie, state } = await begin();
    const cookieValue = cookie.split('=')[1] ?? '';
    const res = await page(`/.auth/callback?code=SECRETCODE&state=${state}`, cookie);
    expectOwnPage(res, 401, ['SECRETCODE', state, cookieValue]);
    expect(stack.gatehouse.logText()).not.toContain('SECRETCODE');
  });

  it('502: provider error at the callback (error=server_error), and an app that cuts the connection', async () => {
    const { cookie, state } = await begin();
    const providerError = await sendRequest(`${stack.url}/.auth/callback?error=server_error&error_description=${encodeURIComponent(XSS)}&state=${state}`, {
      headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate', cookie, 'x-request-id': 'own-page-502' },
    });
    expectOwnPage(providerError, 502, ['<img']);
    // the request id a user can quote to support, matching the log line
    expect(providerError.body).toContain('own-page-502');
    expect(stack.gatehouse.logs.some((line) => line.reqId === 'own-page-502' && line.msg === 'provider answered the sign-in with an error')).toBe(true);
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'alice');
    const session = `gatehouse_session=${client.cookie(stack.url, 'gatehouse_session') ?? ''}`;
    await client.close();
    expectOwnPage(await page('/reset', session), 502, [session.split('=')[1] ?? '']);
    expectOwnPage(await page('/hang', session), 504, [session.split('=')[1] ?? '']);
  });

  it('403 no-access page for a user without an app role (bob), no token in it', async () => {
    const client = new BrowserClient();
    const { landed } = await stack.signIn(client, '/', 'bob');
    const session = client.cookie(stack.url, 'gatehouse_session') ?? '';
    await client.close();
    expect(landed.status).toBe(403);
    const res = await page('/anything', `gatehouse_session=${session}`);
    expectOwnPage(res, 403, [session]);
    expect(res.body).not.toMatch(/eyJ[\w-]{10,}/);
  });

  it('404 and 405 under /.auth: the error page for a navigation, JSON for an API client; no-store, no stack trace', async () => {
    for (const [path, status] of [
      ['/.auth/nope', 404],
      ['/.auth/backchannel-logout', 405],
    ] as const) {
      const res = await page(path, '');
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).not.toMatch(STACK_TRACE);
      const api = await sendRequest(`${stack.url}${path}`, { headers: { accept: 'application/json' } });
      expect(api.status).toBe(status);
      expect(api.headers['content-type']).toBe('application/json');
      expect(api.headers['cache-control']).toBe('no-store');
      expect(api.body).not.toMatch(STACK_TRACE);
    }
  });
});
