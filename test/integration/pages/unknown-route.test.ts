// An unknown route (or method) under /.auth: gatehouse's error page when a browser navigates there, the JSON
// error as before for every other client; in cloud and in local mode.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { sendRequest, startTestGatehouse, type TestGatehouse } from '../../helpers/gatehouse-process.js';
import { startUpstream, type RecordingUpstream } from '../../helpers/upstream.js';

const NAVIGATION = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };

describe('unknown /.auth routes', () => {
  let cloud: CloudStack;
  let upstream: RecordingUpstream;
  let local: TestGatehouse;
  beforeAll(async () => {
    upstream = await startUpstream();
    [cloud, local] = await Promise.all([
      startCloudStack({ config: { pages: { title: 'Acme' } } }),
      startTestGatehouse({ mode: 'local', upstream: { url: upstream.url }, pages: { title: 'Acme' } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([cloud?.close(), local?.shutdown()]);
    await upstream?.close();
  });

  it('a browser navigation gets the 404 page with the request id and the page headers', async () => {
    const res = await sendRequest(`${cloud.url}/.auth/nothing-here`, { headers: { ...NAVIGATION, 'x-request-id': 'nf-1' } });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(String(res.headers['content-security-policy'])).toMatch(/^default-src 'none'; /);
    expect(res.body).toContain('<h1>Page not found</h1>');
    expect(res.body).toContain('<p>There is no page at this address.</p>');
    expect(res.body).toContain('<code>nf-1</code>');
    expect(res.body).toContain('<header><span>Acme</span></header>');
    const head = await sendRequest(`${cloud.url}/.auth/nothing-here`, { method: 'HEAD', headers: NAVIGATION });
    expect(head.status).toBe(404);
    expect(head.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(head.body).toBe('');
  });

  it('any other client gets the JSON as before: Accept JSON, fetch(), no Accept at all', async () => {
    const clients: Array<Record<string, string>> = [{ accept: 'application/json' }, { accept: 'text/html', 'sec-fetch-mode': 'cors' }, {}];
    for (const headers of clients) {
      const res = await sendRequest(`${cloud.url}/.auth/nothing-here`, { headers });
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toBe('application/json');
      expect(JSON.parse(res.body)).toEqual({ error: 'not_found' });
    }
  });

  it('a method a route does not take: the 405 page for a navigation, JSON otherwise, Allow on both', async () => {
    const page = await sendRequest(`${cloud.url}/.auth/backchannel-logout`, { headers: NAVIGATION });
    expect(page.status).toBe(405);
    expect(page.headers.allow).toBe('POST');
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<h1>Request not accepted</h1>');
    const api = await sendRequest(`${cloud.url}/.auth/me`, { method: 'DELETE', headers: { accept: 'application/json' } });
    expect(api.status).toBe(405);
    expect(api.headers.allow).toBe('GET, HEAD');
    expect(JSON.parse(api.body)).toEqual({ error: 'method_not_allowed' });
  });

  it('known routes answer as before (the sign-on page, /me JSON)', async () => {
    expect((await sendRequest(`${cloud.url}/.auth/login`, { headers: NAVIGATION })).status).toBe(200);
    const me = await sendRequest(`${cloud.url}/.auth/me`, { headers: NAVIGATION });
    expect(me.status).toBe(401);
    expect(me.headers['content-type']).toBe('application/json');
  });

  it("local mode: a browser gets the 404 page, other clients the sso_inactive JSON, /login still goes to the app's login", async () => {
    const page = await sendRequest(`${local.url}/.auth/me`, { headers: { ...NAVIGATION, 'x-request-id': 'nf-2' } });
    expect(page.status).toBe(404);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('<h1>Page not found</h1>');
    expect(page.body).toContain('<code>nf-2</code>');
    const api = await sendRequest(`${local.url}/.auth/me`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(404);
    expect(JSON.parse(api.body)).toEqual({ error: 'sso_inactive', message: 'single sign-on is inactive (local mode)' });
    const login = await sendRequest(`${local.url}/.auth/login`, { headers: NAVIGATION });
    expect(login.status).toBe(302);
    expect(login.headers.location).toBe('/login.html');
    expect(upstream.requests).toEqual([]);
  });
});
