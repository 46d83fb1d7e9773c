// The host trap (issue 14 item 5): a navigation that arrives on another host than public_url's is sent to the
// same path and query on public_url before any sign-in starts; API requests get the 401 as before; forward-auth
// and requests from trusted proxies whose X-Forwarded-Host is public_url's host work as before.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { sendRequest, type LogLine } from '../../helpers/gatehouse-process.js';

const NAVIGATION = { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
const SESSION_NAME = 'gatehouse_session';
const PROXIED_PUBLIC_URL = 'https://app.example.test';

function warnings(stack: CloudStack, from: number): LogLine[] {
  return stack.gatehouse.logs.slice(from).filter((line) => line.level === 'warn');
}

describe('host trap', () => {
  /** public_url is http://127.0.0.1:<port>; `wrongHost` is localhost:<port>, the same listener under another name. */
  let direct: CloudStack;
  /** Behind a TLS proxy on 127.0.0.1 (trust_proxy), public_url https://app.example.test. */
  let proxied: CloudStack;
  let wrongHost: string;

  beforeAll(async () => {
    [direct, proxied] = await Promise.all([startCloudStack(), startCloudStack({ config: { public_url: PROXIED_PUBLIC_URL, trust_proxy: ['127.0.0.1/32'] } })]);
    wrongHost = `localhost:${new URL(direct.url).port}`;
  });
  afterAll(async () => {
    await Promise.all([direct?.close(), proxied?.close()]);
  });

  it('a navigation on another host goes to the same path and query on public_url, without starting a sign-in; a warn line says why, once', async () => {
    const from = direct.gatehouse.logs.length;
    const before = direct.upstream.requests.length;
    const res = await sendRequest(`${direct.url}/projects/42?tab=files&x=%2F`, { headers: { ...NAVIGATION, host: wrongHost } });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`${direct.url}/projects/42?tab=files&x=%2F`);
    expect(res.headers['set-cookie']).toBeUndefined();
    const head = await sendRequest(`${direct.url}/reports`, { method: 'HEAD', headers: { ...NAVIGATION, host: wrongHost } });
    expect(head.status).toBe(302);
    expect(head.headers.location).toBe(`${direct.url}/reports`);
    expect(direct.upstream.requests.length).toBe(before);

    const warned = warnings(direct, from);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ host: wrongHost, public_url: direct.url });
    expect(String(warned[0]?.msg)).toContain(`navigation on host ${wrongHost} redirected to public_url ${direct.url}`);
  });

  it('the redirect lands on the sign-on page for the page asked for (a normal sign-in from there)', async () => {
    const trapped = await sendRequest(`${direct.url}/deep/link?a=1`, { headers: { ...NAVIGATION, host: wrongHost } });
    const onPublic = await sendRequest(trapped.headers.location ?? '', { headers: NAVIGATION });
    expect(onPublic.status).toBe(302);
    expect(onPublic.headers.location).toBe(`/.auth/login?rd=${encodeURIComponent('/deep/link?a=1')}`);
  });

  it('the sign-on page and /start on another host go to public_url first; on public_url /start goes to the provider', async () => {
    const login = await sendRequest(`${direct.url}/.auth/login?rd=%2Fx`, { headers: { ...NAVIGATION, host: wrongHost } });
    expect(login.status).toBe(302);
    expect(login.headers.location).toBe(`${direct.url}/.auth/login?rd=%2Fx`);
    const start = await sendRequest(`${direct.url}/.auth/start?rd=%2Fx`, { headers: { ...NAVIGATION, host: wrongHost } });
    expect(start.status).toBe(302);
    expect(start.headers.location).toBe(`${direct.url}/.auth/start?rd=%2Fx`);
    expect(start.headers['set-cookie']).toBeUndefined();
    const started = await sendRequest(`${direct.url}/.auth/start?rd=%2Fx`, { headers: NAVIGATION });
    expect(started.status).toBe(302);
    expect(new URL(started.headers.location ?? '').origin).toBe(new URL(direct.provider.issuer).origin);
  });

  it('API requests on another host get the 401 JSON as before; so does a POST that accepts HTML', async () => {
    const api = await sendRequest(`${direct.url}/api/items`, { headers: { accept: 'application/json', host: wrongHost } });
    expect(api.status).toBe(401);
    expect(JSON.parse(api.body)).toEqual({ error: 'unauthenticated', login: '/.auth/login' });
    const fetchMode = await sendRequest(`${direct.url}/api/items`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'cors', host: wrongHost } });
    expect(fetchMode.status).toBe(401);
    const post = await sendRequest(`${direct.url}/form`, { method: 'POST', headers: { accept: 'text/html', host: wrongHost }, body: 'a=1' });
    expect(post.status).toBe(401);
  });

  it("on public_url's host nothing changes: navigations go to the sign-on page", async () => {
    const res = await sendRequest(`${direct.url}/projects/42`, { headers: NAVIGATION });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/.auth/login?rd=%2Fprojects%2F42');
  });

  it('forward-auth answers on any host: 401 with the sign-on URL on public_url, 302 with redirect=1, 200 for a session', async () => {
    const verify = await sendRequest(`${direct.url}/.auth/verify`, { headers: { ...NAVIGATION, host: 'gatehouse.internal:8080' } });
    expect(verify.status).toBe(401);
    expect(verify.headers['x-gatehouse-login']).toBe(`${direct.url}/.auth/login?rd=%2F`);
    const redirected = await sendRequest(`${direct.url}/.auth/verify?redirect=1`, { headers: { ...NAVIGATION, host: 'gatehouse.internal:8080' } });
    expect(redirected.status).toBe(302);
    expect(redirected.headers.location).toBe(`${direct.url}/.auth/login?rd=%2F`);

    const client = new BrowserClient();
    await direct.signIn(client, '/', 'alice');
    const cookie = `${SESSION_NAME}=${client.cookie(direct.url, SESSION_NAME) ?? ''}`;
    const signedIn = await sendRequest(`${direct.url}/.auth/verify`, { headers: { ...NAVIGATION, host: 'gatehouse.internal:8080', cookie } });
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers['x-forwarded-user']).toBe('alice');
    // a valid session passes on any host: the trap only stands before a sign-in
    const before = direct.upstream.requests.length;
    const page = await sendRequest(`${direct.url}/projects/42`, { headers: { ...NAVIGATION, host: wrongHost, cookie } });
    expect(page.status).toBe(200);
    expect(direct.upstream.requests.length).toBe(before + 1);
  });

  it("behind a trusted proxy, X-Forwarded-Host equal to public_url's host is the public host: the sign-in goes on", async () => {
    const headers = { ...NAVIGATION, host: `127.0.0.1:${new URL(proxied.url).port}`, 'x-forwarded-host': 'app.example.test', 'x-forwarded-proto': 'https' };
    const gate = await sendRequest(`${proxied.url}/projects/42`, { headers });
    expect(gate.status).toBe(302);
    expect(gate.headers.location).toBe('/.auth/login?rd=%2Fprojects%2F42');
    const login = await sendRequest(`${proxied.url}/.auth/login?rd=%2Fprojects%2F42`, { headers });
    expect(login.status).toBe(200);
    expect(login.body).toContain('Sign in with Company account');
    const start = await sendRequest(`${proxied.url}/.auth/start?rd=%2Fprojects%2F42`, { headers });
    expect(start.status).toBe(302);
    expect(new URL(start.headers.location ?? '').searchParams.get('redirect_uri')).toBe(`${PROXIED_PUBLIC_URL}/.auth/callback`);
    // a list: the first value is the host the client asked the first proxy for
    const listed = await sendRequest(`${proxied.url}/projects/42`, { headers: { ...headers, 'x-forwarded-host': 'app.example.test, internal.lb' } });
    expect(listed.headers.location).toBe('/.auth/login?rd=%2Fprojects%2F42');
  });

  it("behind a trusted proxy, another X-Forwarded-Host is trapped; an untrusted peer's X-Forwarded-Host is not believed", async () => {
    const port = new URL(proxied.url).port;
    const other = await sendRequest(`${proxied.url}/projects/42`, {
      headers: { ...NAVIGATION, host: `127.0.0.1:${port}`, 'x-forwarded-host': 'old-name.example.test' },
    });
    expect(other.status).toBe(302);
    expect(other.headers.location).toBe(`${PROXIED_PUBLIC_URL}/projects/42`);
    // direct has no trust_proxy: its X-Forwarded-Host is ignored, the Host header decides
    const spoofed = await sendRequest(`${direct.url}/projects/7`, {
      headers: { ...NAVIGATION, host: wrongHost, 'x-forwarded-host': new URL(direct.url).host },
    });
    expect(spoofed.status).toBe(302);
    expect(spoofed.headers.location).toBe(`${direct.url}/projects/7`);
  });

  it('a proxy that rewrites Host without X-Forwarded-Host would loop: the second identical request goes on, and the host is no longer redirected', async () => {
    const port = new URL(proxied.url).port;
    const rewritten = { ...NAVIGATION, host: `127.0.0.1:${port}` };
    const from = proxied.gatehouse.logs.length;
    const first = await sendRequest(`${proxied.url}/loop/check?n=1`, { headers: rewritten });
    expect(first.status).toBe(302);
    expect(first.headers.location).toBe(`${PROXIED_PUBLIC_URL}/loop/check?n=1`);
    const again = await sendRequest(`${proxied.url}/loop/check?n=1`, { headers: rewritten });
    expect(again.status).toBe(302);
    expect(again.headers.location).toBe('/.auth/login?rd=%2Floop%2Fcheck%3Fn%3D1');
    const later = await sendRequest(`${proxied.url}/elsewhere`, { headers: rewritten });
    expect(later.headers.location).toBe('/.auth/login?rd=%2Felsewhere');
    const loopWarnings = warnings(proxied, from).filter((line) => String(line.msg).includes('rewrites Host'));
    expect(loopWarnings).toHaveLength(1);
    expect(loopWarnings[0]).toMatchObject({ host: `127.0.0.1:${port}`, public_url: PROXIED_PUBLIC_URL });
  });

  it('the start-up line shows public_url as the address to open, and the socket as listen', () => {
    const line = proxied.gatehouse.logs.find((entry) => entry.msg === 'gatehouse listening');
    expect(line).toMatchObject({ mode: 'cloud', url: PROXIED_PUBLIC_URL, listen: `127.0.0.1:${new URL(proxied.url).port}` });
  });
});
