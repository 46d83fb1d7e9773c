// Advisory: skip-auth rules bypassed through path tricks. Every trick aimed at a protected path through a public
// or local-login path is answered by gatehouse itself (400 or the unauthenticated answer); the app sees nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudStack, type CloudStack } from '../helpers/cloud-stack.js';
import { rawRequest, sendRequest, type RawResponse } from '../helpers/gatehouse-process.js';

const CONFIG = { public_paths: ['/public/'], local_login: { enabled: true, paths: ['/login.html'] } };

/** [request-target, expected status for an anonymous API request]: 400 when refused outright, 401 when read as protected. */
const TRICKS: ReadonlyArray<readonly [string, 400 | 401]> = [
  ['/public/../admin', 400],
  ['/public/%2e%2e/admin', 400],
  ['/public/%2E%2E/admin', 400],
  ['/public%2fadmin', 400],
  ['/public%2Fadmin', 400],
  ['/public%5cadmin', 400],
  ['/public\\admin', 400],
  ['//admin', 401],
  ['/public;jsessionid=x/../admin', 400],
  ['/public;jsessionid=x/admin', 401],
  ['/admin?x=/public/', 401],
  ['/admin%23/public/', 401],
  ['/admin%3F/public/', 401],
  ['/public/%c0%ae%c0%ae/admin', 400],
  ['/public/%00/../admin', 400],
  ['/public/%zz/../admin', 400],
  ['/login.html/../admin', 400],
  ['/login.html%2f..%2fadmin', 400],
  ['/.auth/../admin', 400],
];

/** The request-target exactly as written (a URL-based client would resolve the dots first). */
function get(url: string, target: string, accept: 'json' | 'navigation'): Promise<RawResponse> {
  const headers = accept === 'json' ? 'Accept: application/json\r\n' : 'Accept: text/html\r\nSec-Fetch-Mode: navigate\r\n';
  // public_url's host: a navigation on another host would be sent to public_url first (the host trap)
  return rawRequest(url, `GET ${target} HTTP/1.1\r\nHost: ${new URL(url).host}\r\n${headers}Connection: close\r\n\r\n`);
}

function header(response: RawResponse, name: string): string | undefined {
  const at = response.rawHeaders.findIndex((value, i) => i % 2 === 0 && value.toLowerCase() === name);
  return at === -1 ? undefined : response.rawHeaders[at + 1];
}

describe('path tricks against public_paths and local-login paths (anonymous)', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack({ config: CONFIG });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('control: a real public path and the local-login path do reach the app', async () => {
    const before = stack.upstream.requests.length;
    expect((await sendRequest(`${stack.url}/public/app.css`)).status).toBe(200);
    expect((await sendRequest(`${stack.url}/login.html`)).status).toBe(200);
    expect(stack.upstream.requests.slice(before).map((r) => r.url)).toEqual(['/public/app.css', '/login.html']);
  });

  for (const [target, status] of TRICKS) {
    it(`${target} → ${status}, nothing forwarded`, async () => {
      const before = stack.upstream.requests.length;
      const api = await get(stack.url, target, 'json');
      expect(api.status).toBe(status);
      if (status === 401) expect(JSON.parse(api.body)).toEqual({ error: 'unauthenticated', login: '/.auth/login' });
      const navigation = await get(stack.url, target, 'navigation');
      if (status === 401) {
        expect(navigation.status).toBe(302);
        // the return URL is the canonical target, the one the app would have been given
        expect(header(navigation, 'location')).toBe(`/.auth/login?rd=${encodeURIComponent(target.replace(/^\/\/+/, '/'))}`);
      } else {
        expect(navigation.status).toBe(400);
        expect(header(navigation, 'content-type')).toMatch(/^text\/html/);
      }
      expect(stack.upstream.requests.length).toBe(before);
    });
  }

  it('/admin#/public/ with a raw # over a raw socket → 400, nothing forwarded', async () => {
    const before = stack.upstream.requests.length;
    const response = await rawRequest(stack.url, 'GET /admin#/public/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nConnection: close\r\n\r\n');
    expect(response.status).toBe(400);
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('absolute-form targets: http://127.0.0.1/admin → 401, http://127.0.0.1/public/../admin → 400; * → 400', async () => {
    const before = stack.upstream.requests.length;
    const absolute = await rawRequest(
      stack.url,
      'GET http://127.0.0.1/admin HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nConnection: close\r\n\r\n',
    );
    expect(absolute.status).toBe(401);
    const dotted = await rawRequest(
      stack.url,
      'GET http://127.0.0.1/public/../admin HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nConnection: close\r\n\r\n',
    );
    expect(dotted.status).toBe(400);
    const asterisk = await rawRequest(stack.url, 'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(asterisk.status).toBe(400);
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('the process is still serving after every trick (no crash)', async () => {
    expect((await sendRequest(`${stack.url}/public/still-up`)).status).toBe(200);
    expect(stack.gatehouse.logs.filter((line) => line.msg === 'request failed')).toEqual([]);
  });
});
