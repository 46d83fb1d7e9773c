import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoApp, type DemoApp } from '../../../demo/demo-app.js';
import { BrowserClient } from '../../helpers/browser-client.js';
import { parseForms } from '../../helpers/dev-provider-flow.js';

describe('demo app', () => {
  let app: DemoApp;
  const client = new BrowserClient();

  beforeAll(async () => {
    app = await startDemoApp({ port: 0, authPrefix: '/.sso' });
  });

  afterAll(async () => {
    await client.close();
    await app.close();
  });

  it('answers /healthz with ok', async () => {
    const res = await client.api(`${app.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok');
  });

  it('shows the identity headers it receives, HTML-escaped, on any deep link', async () => {
    const res = await client.navigate(`${app.url}/reports/2026?x=1&y=<b>`, {
      headers: {
        'x-forwarded-user': 'carol',
        'x-forwarded-email': 'carol@example.test',
        'x-forwarded-preferred-username': '<script>alert(1)</script>',
        'x-forwarded-name': 'Carol%20%C3%85ngstr%C3%B6m',
        'x-forwarded-roles': 'user,auditor',
        'x-gatehouse-assertion': 'eyJhbGciOiJFUzI1NiJ9.e30.sig',
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('<html lang="en">');
    expect(res.body).toContain('<meta name="viewport"');
    expect(res.body).toContain('<title>Demo app</title>');
    expect(res.body).toContain('Signed in through gatehouse as <strong>Carol Ångström</strong>.');
    expect(res.body).toContain('<tr><th>X-Forwarded-User</th><td>carol</td></tr>');
    expect(res.body).toContain('<tr><th>X-Forwarded-Email</th><td>carol@example.test</td></tr>');
    expect(res.body).toContain('<tr><th>X-Forwarded-Preferred-Username</th><td>&#60;script&#62;alert(1)&#60;/script&#62;</td></tr>');
    expect(res.body).not.toContain('<script>');
    expect(res.body).toContain('<tr><th>X-Forwarded-Name</th><td>Carol Ångström</td></tr>');
    expect(res.body).toContain('<tr><th>X-Forwarded-Roles</th><td>user,auditor</td></tr>');
    expect(res.body).toContain('<tr><th>X-Gatehouse-Assertion</th><td>present</td></tr>');
    expect(res.body).toContain('Path requested: <code>/reports/2026?x=1&#38;y=%3Cb%3E</code>');
    expect(res.body).toContain('<a class="button" href="/.sso/logout">Sign out</a>');
    expect(res.body).not.toMatch(/<(?:link|script|img)\b/);
  });

  it('says "Not signed in" with a link to its own login page when it has neither headers nor a session', async () => {
    const res = await client.navigate(`${app.url}/`);
    expect(res.status).toBe(200);
    expect(res.body).toContain('Not signed in. <a href="/login.html">Sign in with a local account</a>');
    expect(res.body).toContain('<tr><th>X-Forwarded-User</th><td><span class="absent">absent</span></td></tr>');
    expect(res.body).toContain('<tr><th>X-Gatehouse-Assertion</th><td>absent</td></tr>');
    expect(res.body).not.toContain('Sign out');
  });

  it('has its own local login with its own cookie, and a local logout', async () => {
    const local = new BrowserClient();
    try {
      const loginPage = await local.navigate(`${app.url}/login.html`);
      expect(loginPage.status).toBe(200);
      const [form] = parseForms(loginPage.body, loginPage.url);
      expect(form).toEqual({ action: `${app.url}/local-login`, method: 'POST', hidden: {}, inputs: ['username', 'password'] });

      const refused = await local.navigate(form?.action ?? '', { form: { username: 'dana', password: '' } });
      expect(refused.status).toBe(400);
      expect(refused.body).toContain('Enter a username and a password.');
      expect(refused.headers['set-cookie']).toBeUndefined();

      const login = await local.navigate(form?.action ?? '', { form: { username: '<dana>', password: 'pw' } });
      expect(login.status).toBe(303);
      expect(login.location).toBe(`${app.url}/`);
      expect(login.headers['set-cookie']).toMatch(/^demo_session=[A-Za-z0-9_-]{32}; Path=\/; HttpOnly; SameSite=Lax$/);

      const home = await local.navigate(login.location ?? '');
      expect(home.body).toContain('Signed in with a local account: <strong>&#60;dana&#62;</strong>');
      expect(home.body).not.toContain('Not signed in');
      const whoami = await local.api(`${app.url}/api/whoami`);
      expect(JSON.parse(whoami.body)).toEqual({ user: null, email: null, name: null, roles: [], localUser: '<dana>' });

      const logout = await local.follow(`${app.url}/local-logout`, { method: 'POST' });
      expect(logout.chain[0]?.status).toBe(303);
      expect(local.cookie(app.url, 'demo_session')).toBeUndefined();
      expect(logout.final.body).toContain('Not signed in.');
    } finally {
      await local.close();
    }
  });

  it('forgets a session cookie it did not issue', async () => {
    const res = await client.navigate(`${app.url}/`, { headers: { cookie: 'demo_session=forged' } });
    expect(res.body).toContain('Not signed in.');
  });

  it('/api/whoami returns the identity from the headers as JSON', async () => {
    const res = await client.api(`${app.url}/api/whoami`, {
      headers: {
        'x-forwarded-user': 'alice',
        'x-forwarded-email': 'alice@example.test',
        'x-forwarded-name': 'Alice%20Example',
        'x-forwarded-roles': 'admin, user',
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(res.body)).toEqual({
      user: 'alice',
      email: 'alice@example.test',
      name: 'Alice Example',
      roles: ['admin', 'user'],
      localUser: null,
    });
  });

  it('refuses methods it does not serve', async () => {
    const res = await client.api(`${app.url}/reports`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, POST');
  });
});
