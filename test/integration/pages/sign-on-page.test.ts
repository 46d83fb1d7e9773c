// The sign-on page (/.auth/login): provider button, optional local account link, security headers, and
// sso.skip_sign_on_page sending navigations straight to the provider.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { parseLinks } from '../../helpers/dev-provider-flow.js';

describe('sign-on page', () => {
  let plain: CloudStack;
  let branded: CloudStack;
  beforeAll(async () => {
    [plain, branded] = await Promise.all([
      startCloudStack(),
      startCloudStack({ config: { sso: { provider_label: 'Acme ID' }, local_login: { enabled: true, paths: ['/signin.html', '/other'] } } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([plain?.close(), branded?.close()]);
  });

  it('shows one button labelled with sso.provider_label, no local link when local login is off, with no-store, CSP and DENY', async () => {
    const client = new BrowserClient();
    const page = await client.navigate(`${plain.url}/.auth/login?rd=%2Fa%2Fb`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['x-frame-options']).toBe('DENY');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[^']+' 'sha256-[^']+'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/);
    expect(page.body).not.toMatch(/<script|src="http|href="http/);
    expect(parseLinks(page.body, page.url)).toEqual([{ href: `${plain.url}/.auth/start?rd=%2Fa%2Fb&interactive=1`, text: 'Sign in with Company account' }]);
    expect(page.body).not.toContain('Use local account');
  });

  it('labels the button from config and links "Use local account" to local_login.paths[0] when enabled', async () => {
    const client = new BrowserClient();
    const page = await client.navigate(`${branded.url}/.auth/login`);
    expect(page.status).toBe(200);
    expect(parseLinks(page.body, page.url)).toEqual([
      { href: `${branded.url}/.auth/start?rd=%2F&interactive=1`, text: 'Sign in with Acme ID' },
      { href: `${branded.url}/signin.html`, text: 'Use local account' },
    ]);
  });

  it('HEAD gets the headers without a body', async () => {
    const client = new BrowserClient();
    const head = await client.navigate(`${plain.url}/.auth/login`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['x-frame-options']).toBe('DENY');
    expect(head.body).toBe('');
  });

  it('a signed-in user visiting the sign-on page goes straight to rd', async () => {
    const client = new BrowserClient();
    await plain.signIn(client, '/', 'carol', 'authorize');
    const page = await client.navigate(`${plain.url}/.auth/login?rd=%2Fhome%3Ftab%3D2`);
    expect(page.status).toBe(302);
    expect(page.location).toBe(`${plain.url}/home?tab=2`);
  });
});

describe('sso.skip_sign_on_page', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack({ config: { sso: { skip_sign_on_page: true } } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('a navigation goes straight to the provider without showing the sign-on page', async () => {
    const client = new BrowserClient();
    const providerOrigin = new URL(stack.provider.issuer).origin;
    const { chain, final } = await client.follow(`${stack.url}/deep/link`, {}, { stopAt: (url) => url.origin === providerOrigin });
    expect(chain.map((response) => [response.status, new URL(response.url).pathname])).toEqual([
      [302, '/deep/link'],
      [302, '/.auth/login'],
      [302, '/.auth/start'],
    ]);
    const authorize = new URL(final.location ?? 'http://missing.invalid');
    expect(authorize.origin).toBe(providerOrigin);
    expect(authorize.searchParams.get('prompt')).toBeNull();
    expect(authorize.searchParams.get('client_id')).toBe('gatehouse-test');

    const { landed } = await stack.signIn(client, '/deep/link', 'alice', 'authorize');
    expect(landed.status).toBe(200);
    expect(landed.url).toBe(`${stack.url}/deep/link`);
  });
});
