import type { JsonWebKey } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startDevProvider, type DevProvider } from '../../../demo/dev-provider.js';
import { BrowserClient } from '../../helpers/browser-client.js';
import { logoutAtProvider, parseForms, signInAtProvider } from '../../helpers/dev-provider-flow.js';
import { generatedKeys } from '../../helpers/keys.js';

const SCOPE = 'openid profile email roles offline_access';

interface Receiver {
  url: string;
  logoutTokens: string[];
  close(): Promise<void>;
}

/** The RP side on a real socket: receives back-channel logout POSTs (the callback is never fetched). */
async function startReceiver(): Promise<Receiver> {
  const logoutTokens: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/backchannel-logout') {
        logoutTokens.push(new URLSearchParams(Buffer.concat(chunks).toString()).get('logout_token') ?? '');
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    logoutTokens,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function beginSignIn(config: oidc.Configuration, redirectUri: string, extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: SCOPE,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url: url.href, verifier, state, nonce };
}

describe('development provider', () => {
  let receiver: Receiver;
  let provider: DevProvider;
  let config: oidc.Configuration;
  let redirectUri: string;
  let postLogoutUri: string;
  const browsers: BrowserClient[] = [];
  const warn = vi.spyOn(console, 'warn');
  const info = vi.spyOn(console, 'info');

  function browser(): BrowserClient {
    const client = new BrowserClient();
    browsers.push(client);
    return client;
  }

  const leaves = (url: URL) => url.origin !== provider.issuer;

  async function signIn(client: BrowserClient, login: string, extra: Record<string, string> = {}) {
    const request = await beginSignIn(config, redirectUri, extra);
    const start = await client.follow(request.url, {}, { stopAt: leaves });
    const flow = await signInAtProvider(client, start.final, { login }, 'skip-if-absent');
    const tokens = await oidc.authorizationCodeGrant(config, new URL(flow.final.location ?? ''), {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
      idTokenExpected: true,
    });
    return { flow, tokens, start };
  }

  beforeAll(async () => {
    receiver = await startReceiver();
    redirectUri = `${receiver.url}/callback`;
    postLogoutUri = `${receiver.url}/signed-out`;
    provider = await startDevProvider({
      port: 0,
      clients: [
        {
          client_id: 'demo-app',
          client_secret: 'demo-secret',
          redirect_uris: [redirectUri],
          post_logout_redirect_uris: [postLogoutUri],
          backchannel_logout_uri: `${receiver.url}/backchannel-logout`,
        },
      ],
    });
    config = await oidc.discovery(new URL(provider.issuer), 'demo-app', 'demo-secret', undefined, {
      execute: [oidc.allowInsecureRequests],
    });
  });

  afterAll(async () => {
    await Promise.all(browsers.map((client) => client.close()));
    await provider.close();
    await receiver.close();
  });

  afterEach(() => {
    expect(warn).not.toHaveBeenCalled();
    expect(info).not.toHaveBeenCalled();
  });

  it('publishes the discovery document the RP relies on', () => {
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(provider.issuer);
    expect(provider.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile', 'email', 'roles', 'offline_access']));
    expect(metadata.backchannel_logout_supported).toBe(true);
    expect(metadata.end_session_endpoint).toBe(`${provider.issuer}/session/end`);
    expect(metadata.revocation_endpoint).toBe(`${provider.issuer}/token/revocation`);
  });

  it('first sign-in shows login then consent and yields the right ID token claims and a refresh token', async () => {
    const client = browser();
    const { flow, tokens, start } = await signIn(client, 'alice');
    expect(start.final.status).toBe(200);
    expect(start.final.url).toMatch(new RegExp(`^${provider.issuer}/interaction/[^/]+$`));
    expect(start.final.body).not.toMatch(/fonts\.googleapis|https:\/\//);
    expect(flow.sawLogin).toBe(true);
    expect(flow.sawConsent).toBe(true);
    expect(flow.final.location?.startsWith(`${redirectUri}?code=`)).toBe(true);
    expect(tokens.claims()).toMatchObject({
      iss: provider.issuer,
      aud: 'demo-app',
      sub: 'alice',
      email: 'alice@example.test',
      email_verified: true,
      name: 'Alice Example',
      preferred_username: 'alice',
      roles: ['admin'],
    });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, 'alice');
    expect(userinfo).toEqual({
      sub: 'alice',
      email: 'alice@example.test',
      email_verified: true,
      name: 'Alice Example',
      preferred_username: 'alice',
      roles: ['admin'],
    });
  });

  it('second sign-in with prompt=none succeeds without any page', async () => {
    const client = browser();
    await signIn(client, 'carol');
    const { flow, tokens } = await signIn(client, 'carol', { prompt: 'none' });
    expect(flow.sawLogin).toBe(false);
    expect(flow.sawConsent).toBe(false);
    expect(flow.chain).toEqual([]);
    expect(tokens.claims()).toMatchObject({ sub: 'carol', name: 'Carol Ångström', roles: ['user'] });
  });

  it('prompt=none without a provider session answers login_required', async () => {
    const request = await beginSignIn(config, redirectUri, { prompt: 'none' });
    const { final, chain } = await browser().follow(request.url, {}, { stopAt: leaves });
    expect(chain.every((response) => response.status === 303 || response.status === 302)).toBe(true);
    const callback = new URL(final.location ?? '');
    expect(callback.origin + callback.pathname).toBe(redirectUri);
    expect(callback.searchParams.get('error')).toBe('login_required');
    expect(callback.searchParams.get('state')).toBe(request.state);
  });

  it('declining consent returns error=access_denied to the redirect_uri', async () => {
    const client = browser();
    const request = await beginSignIn(config, redirectUri);
    const start = await client.follow(request.url, {}, { stopAt: leaves });
    const flow = await signInAtProvider(client, start.final, { login: 'bob' }, 'decline');
    const callback = new URL(flow.final.location ?? '');
    expect(callback.origin + callback.pathname).toBe(redirectUri);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(request.state);
    expect(callback.searchParams.has('code')).toBe(false);
  });

  it('refuses unknown users and empty passwords with the login form again', async () => {
    const client = browser();
    const request = await beginSignIn(config, redirectUri);
    const start = await client.follow(request.url, {}, { stopAt: leaves });
    const [form] = parseForms(start.final.body, start.final.url);
    expect(form?.inputs).toEqual(['login', 'password']);

    const unknown = await client.follow(form?.action ?? '', { form: { ...form?.hidden, login: 'mallory', password: 'x' } });
    expect(unknown.final.status).toBe(200);
    expect(unknown.final.body).toContain('Unknown user. Sign in as alice, carol or bob.');
    expect(parseForms(unknown.final.body, unknown.final.url)[0]?.hidden.prompt).toBe('login');

    const empty = await client.follow(form?.action ?? '', { form: { ...form?.hidden, login: 'alice', password: '' } });
    expect(empty.final.body).toContain('Enter a password (any password works).');
    await expect(signInAtProvider(client, empty.final, { login: 'nobody' }, 'skip-if-absent')).rejects.toThrow(/login form again/);
  });

  it('requires PKCE', async () => {
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid', state: 's1' });
    const { final } = await browser().follow(url.href, {}, { stopAt: leaves });
    const callback = new URL(final.location ?? '');
    expect(callback.searchParams.get('error')).toBe('invalid_request');
    expect(callback.searchParams.get('error_description')).toBe('Authorization Server policy requires PKCE to be used for this request');
  });

  it('renders its own self-contained error page', async () => {
    const res = await browser().navigate(`${provider.issuer}/auth?client_id=nobody&response_type=code&scope=openid`);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('<p><strong>invalid_client</strong></p>');
    expect(res.body).not.toMatch(/fonts\.googleapis|https:\/\//);
  });

  it('a refresh after setRoles returns the new roles at userinfo and in the new ID token', async () => {
    const { tokens } = await signIn(browser(), 'carol');
    provider.setRoles('carol', ['user', 'auditor']);
    try {
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token ?? '');
      expect(refreshed.refresh_token).toEqual(expect.any(String));
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      expect(refreshed.claims()?.roles).toEqual(['user', 'auditor']);
      const userinfo = await oidc.fetchUserInfo(config, refreshed.access_token, 'carol');
      expect(userinfo.roles).toEqual(['user', 'auditor']);
    } finally {
      provider.setRoles('carol', ['user']);
    }
    expect(() => provider.setRoles('mallory', ['admin'])).toThrow('unknown demo user "mallory"');
  });

  it('RP-initiated logout sends a verifiable logout token to the loopback back-channel URI', async () => {
    const client = browser();
    const { tokens } = await signIn(client, 'alice');
    const endSession = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token ?? '',
      post_logout_redirect_uri: postLogoutUri,
      state: 'bye',
    });
    const confirm = await client.follow(endSession.href, {}, { stopAt: leaves });
    expect(confirm.final.status).toBe(200);
    expect(confirm.final.body).not.toMatch(/fonts\.googleapis|https:\/\//);
    receiver.logoutTokens.length = 0;

    const { final } = await logoutAtProvider(client, confirm.final);
    expect(final.location).toBe(`${postLogoutUri}?state=bye`);
    expect(receiver.logoutTokens).toHaveLength(1);
    const jwks = createRemoteJWKSet(new URL(`${provider.issuer}/jwks`));
    const { payload } = await jwtVerify(receiver.logoutTokens[0] ?? '', jwks, { issuer: provider.issuer, audience: 'demo-app' });
    expect(payload.sub).toBe('alice');
    expect(payload.sid).toBe(tokens.claims()?.sid);
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
    expect(payload.nonce).toBeUndefined();

    const again = await client.follow((await beginSignIn(config, redirectUri, { prompt: 'none' })).url, {}, { stopAt: leaves });
    expect(new URL(again.final.location ?? '').searchParams.get('error')).toBe('login_required');
  });
});

describe('development provider lifecycle', () => {
  function signingKey(kid: string): JsonWebKey {
    const { privateKey } = generatedKeys('rsa', { modulusLength: 2048 });
    return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
  }

  async function kids(issuer: string): Promise<string[]> {
    const res = await fetch(`${issuer}/jwks`);
    const body = (await res.json()) as { keys: { kid: string; d?: string }[] };
    expect(body.keys.every((key) => key.d === undefined)).toBe(true);
    return body.keys.map((key) => key.kid);
  }

  it('restarted on the same port with other keys serves the new JWKS', async () => {
    const first = await startDevProvider({ port: 0, clients: [], jwks: { keys: [signingKey('key-one')] } });
    expect(await kids(first.issuer)).toEqual(['key-one']);
    await first.close();
    const port = Number(new URL(first.issuer).port);
    const second = await startDevProvider({ port, clients: [], jwks: { keys: [signingKey('key-two')] } });
    try {
      expect(second.issuer).toBe(first.issuer);
      expect(await kids(second.issuer)).toEqual(['key-two']);
    } finally {
      await second.close();
    }
  });

  it('close() ends open keep-alive connections and stops listening', async () => {
    const provider = await startDevProvider({ port: 0, clients: [] });
    const client = new BrowserClient();
    const discovery = await client.api(`${provider.issuer}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    await provider.close();
    await expect(fetch(`${provider.issuer}/jwks`)).rejects.toThrow();
    await client.close();
  });

  it('only binds loopback addresses', async () => {
    await expect(startDevProvider({ host: '0.0.0.0', port: 0, clients: [] })).rejects.toThrow(/loopback/);
  });
});
