// API clients with bearer tokens, end to end: the dev provider (oidc-provider) issues JWT access tokens (RFC 9068)
// and opaque ones for resource indicators, gatehouse admits them without a cookie, applies the access rules and
// passes the same identity as a session; every bad token is 401 invalid_token, never a redirect or a session.
import { createHash, randomBytes, type JsonWebKey } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevProvider, type DevProvider } from '../../../demo/dev-provider.js';
import { BrowserClient } from '../../helpers/browser-client.js';
import { devClient, startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { signInAtProvider } from '../../helpers/dev-provider-flow.js';
import { sendRequest, type HttpResult } from '../../helpers/gatehouse-process.js';
import { generatedKeys } from '../../helpers/keys.js';
import { freePort } from '../../helpers/ports.js';
import { headerValues } from '../../helpers/upstream.js';

const JWT_API = 'https://api.test/jwt';
const OPAQUE_API = 'https://api.test/opaque';
const CLI = { client_id: 'reports-cli', client_secret: 'reports-cli-secret-0123456789', redirect: 'http://127.0.0.1:1/cli-callback' };

const signingKey: JsonWebKey = {
  ...generatedKeys('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
  kid: 'provider-key',
  alg: 'RS256',
  use: 'sig',
};
const publicJwk = (): JWK => {
  const { kty, n, e, kid } = signingKey as Record<string, string>;
  return { kty, n, e, kid, alg: 'RS256' } as JWK;
};

/** A second gatehouse that authenticates with private_key_jwt, also at the introspection endpoint. */
const KEYED = { client_id: 'gatehouse-keyed', key: generatedKeys('ec', { namedCurve: 'P-256' }) };

let provider: DevProvider;
let stack: CloudStack;
let keyedPort: number;
let tokenEndpoint: string;

beforeAll(async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  keyedPort = await freePort();
  provider = await startDevProvider({
    port: await freePort(),
    clients: [
      devClient(url),
      {
        client_id: KEYED.client_id,
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [KEYED.key.publicKey.export({ format: 'jwk' })] },
        redirect_uris: [`http://127.0.0.1:${keyedPort}/.auth/callback`],
      },
      {
        client_id: CLI.client_id,
        client_secret: CLI.client_secret,
        redirect_uris: [CLI.redirect],
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
        token_claims: { roles: ['reporter'] },
      },
    ],
    jwks: { keys: [signingKey] },
    resourceServers: { [JWT_API]: { format: 'jwt' }, [OPAQUE_API]: { format: 'opaque' } },
    introspection: true,
  });
  stack = await startCloudStack({
    provider,
    port,
    config: {
      bearer: { enabled: true, audiences: [JWT_API, OPAQUE_API, CLI.client_id], introspection: true },
      access: {
        rules: [
          { path: '/status', allow: 'anonymous' },
          { path: '/admin/', allow: { roles: ['admin'] } },
        ],
      },
    },
  });
  const metadata = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
  tokenEndpoint = metadata.token_endpoint;
});

afterAll(async () => {
  await stack?.close();
  await provider?.close();
});

async function tokenRequest(form: Record<string, string>): Promise<Record<string, string>> {
  const response = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${CLI.client_id}:${CLI.client_secret}`).toString('base64')}`,
    },
    body: new URLSearchParams(form),
  });
  const body = (await response.json()) as Record<string, string>;
  if (response.status !== 200) throw new Error(`token endpoint: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

const clientCredentials = (resource: string): Promise<string> =>
  tokenRequest({ grant_type: 'client_credentials', resource, scope: 'api' }).then((body) => body.access_token as string);

/** A user's tokens for the JWT API through the provider's real login (the CLI's authorization code flow with PKCE). */
async function userTokens(login: string): Promise<Record<string, string>> {
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL(`${provider.issuer}/auth`);
  const params = {
    client_id: CLI.client_id,
    response_type: 'code',
    scope: 'openid email api',
    redirect_uri: CLI.redirect,
    resource: JWT_API,
    state: 'cli-state',
    nonce: 'cli-nonce',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  };
  for (const [name, value] of Object.entries(params)) authorize.searchParams.set(name, value);
  const client = new BrowserClient();
  const providerOrigin = new URL(provider.issuer).origin;
  const page = await client.follow(authorize.href, {}, { stopAt: (next) => next.origin !== providerOrigin });
  const signedIn = await signInAtProvider(client, page.final, { login }, 'skip-if-absent');
  await client.close();
  const code = new URL(signedIn.final.location as string).searchParams.get('code') as string;
  return tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: CLI.redirect, code_verifier: verifier, resource: JWT_API });
}

function api(path: string, token: string | undefined, headers: Record<string, string> = {}): Promise<HttpResult> {
  return sendRequest(`${stack.url}${path}`, {
    headers: { accept: 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers },
  });
}

async function providerSigned(claims: Record<string, unknown>, header: Record<string, unknown> = { typ: 'at+jwt' }): Promise<string> {
  const key = await importJWK(signingKey as JWK, 'RS256');
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'provider-key', ...header }).sign(key);
}

const now = (): number => Math.floor(Date.now() / 1000);
const validClaims = (): Record<string, unknown> => ({ iss: provider.issuer, sub: 'svc', aud: JWT_API, client_id: CLI.client_id, iat: now(), exp: now() + 300 });

function expectInvalidToken(answer: HttpResult, label: string): void {
  expect(answer.status, label).toBe(401);
  expect(answer.headers['www-authenticate'], label).toBe('Bearer realm="gatehouse", error="invalid_token"');
  expect(JSON.parse(answer.body), label).toEqual({ error: 'invalid_token', message: 'The access token is not valid' });
  expect(answer.headers['set-cookie'], label).toBeUndefined();
  expect(answer.headers.location, label).toBeUndefined();
}

describe('bearer tokens from the provider', () => {
  it('a client-credentials JWT access token reaches the app with identity headers and an assertion saying auth bearer; Authorization is not forwarded; no session', async () => {
    const token = await clientCredentials(JWT_API);
    const before = stack.upstream.requests.length;
    const answer = await api('/reports/q1', token);
    expect(answer.status).toBe(200);
    expect(answer.headers['set-cookie']).toBeUndefined();
    const seen = stack.upstream.requests[before];
    expect(seen?.url).toBe('/reports/q1');
    const raw = seen?.rawHeaders ?? [];
    expect(headerValues(raw, 'x-forwarded-user')).toEqual([CLI.client_id]);
    expect(headerValues(raw, 'x-forwarded-roles')).toEqual(['reporter']);
    expect(headerValues(raw, 'authorization')).toEqual([]);
    const assertion = headerValues(raw, 'x-gatehouse-assertion')[0] as string;
    const jwks = (await (await fetch(`${stack.url}/.auth/jwks.json`)).json()) as { keys: JWK[] };
    const { payload } = await jwtVerify(assertion, createLocalJWKSet(jwks), { issuer: new URL(stack.url).origin });
    expect(payload).toMatchObject({ sub: CLI.client_id, roles: ['reporter'], auth: 'bearer' });
  });

  it('a request without any credential gets 401 naming both the session sign-on and the Bearer scheme', async () => {
    const answer = await api('/reports/', undefined);
    expect(answer.status).toBe(401);
    expect(answer.headers['www-authenticate']).toBe('Session realm="gatehouse", login_url="/.auth/login", Bearer realm="gatehouse"');
    expect(JSON.parse(answer.body)).toEqual({ error: 'unauthenticated', login: '/.auth/login' });
  });

  it('the access rules apply to a token: a role the token lacks is 403 JSON naming the role; an anonymous path passes', async () => {
    const token = await clientCredentials(JWT_API);
    const admin = await api('/admin/', token);
    expect(admin.status).toBe(403);
    expect(JSON.parse(admin.body)).toEqual({ error: 'forbidden', message: "You don't have access to this page", requires: { roles: ['admin'] } });
    expect((await api('/status', 'not-a-valid-token')).status).toBe(200);
  });

  it("a user token from the CLI's code flow carries the user's roles: alice reaches /admin/; her ID token is refused as an access token", async () => {
    const tokens = await userTokens('alice');
    expect(decodeJwt(tokens.access_token as string)).toMatchObject({ sub: 'alice', aud: JWT_API, roles: ['admin'] });
    const before = stack.upstream.requests.length;
    const admin = await api('/admin/users', tokens.access_token);
    expect(admin.status).toBe(200);
    const raw = stack.upstream.requests[before]?.rawHeaders ?? [];
    expect(headerValues(raw, 'x-forwarded-user')).toEqual(['alice']);
    expect(headerValues(raw, 'x-forwarded-email')).toEqual(['alice@example.test']);
    expect(headerValues(raw, 'x-forwarded-roles')).toEqual(['admin']);
    // The ID token is signed by the same provider and its aud (the CLI's client id) is in bearer.audiences here.
    expect(decodeJwt(tokens.id_token as string)).toMatchObject({ aud: CLI.client_id, nonce: 'cli-nonce' });
    expectInvalidToken(await api('/admin/users', tokens.id_token), 'ID token');
    // The refresh token introspects as active at this provider, but is no access token for this app.
    expectInvalidToken(await api('/admin/users', tokens.refresh_token), 'refresh token');
  });

  it('an opaque token is checked by introspection', async () => {
    const token = await clientCredentials(OPAQUE_API);
    expect(token.split('.')).toHaveLength(1);
    const before = stack.upstream.requests.length;
    expect((await api('/reports/', token)).status).toBe(200);
    expect(headerValues(stack.upstream.requests[before]?.rawHeaders ?? [], 'x-forwarded-user')).toEqual([CLI.client_id]);
    expectInvalidToken(await api('/reports/', `${token}x`), 'unknown opaque token');
  });

  it('introspection authenticates like the token endpoint: with sso.client_auth private_key_jwt too', async () => {
    const keyed = await startCloudStack({
      provider,
      port: keyedPort,
      config: {
        sso: {
          client_id: KEYED.client_id,
          client_auth: 'private_key_jwt',
          client_secret: '',
          client_key: KEYED.key.privatePem,
        },
        bearer: { enabled: true, audiences: [OPAQUE_API], introspection: true },
      },
    });
    try {
      const token = await clientCredentials(OPAQUE_API);
      const answer = await sendRequest(`${keyed.url}/reports/`, { headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
      expect(answer.status).toBe(200);
      expect(headerValues(keyed.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual([CLI.client_id]);
    } finally {
      await keyed.close();
    }
  });

  it('refuses forged, expired, not-yet-valid, wrong-audience, wrong-issuer, alg none and HS256-with-the-public-key tokens', async () => {
    expect((await api('/reports/', await providerSigned(validClaims()))).status).toBe(200);
    const good = await clientCredentials(JWT_API);
    const [h, p, s] = good.split('.') as [string, string, string];
    const forgedPayload = Buffer.from(JSON.stringify({ ...decodeJwt(good), sub: 'someone-else' })).toString('base64url');
    const other = generatedKeys('rsa', { modulusLength: 2048 }).privateKey;
    const cases: Record<string, string> = {
      'payload changed': `${h}.${forgedPayload}.${s}`,
      'signature cut': `${h}.${p}.${s.slice(0, -4)}`,
      'signed by another key with the provider kid': await new SignJWT(validClaims())
        .setProtectedHeader({ alg: 'RS256', kid: 'provider-key', typ: 'at+jwt' })
        .sign(other),
      expired: await providerSigned({ ...validClaims(), iat: now() - 600, exp: now() - 120 }),
      'not yet valid': await providerSigned({ ...validClaims(), nbf: now() + 600 }),
      'wrong audience': await providerSigned({ ...validClaims(), aud: 'https://other.api' }),
      'wrong issuer': await providerSigned({ ...validClaims(), iss: 'http://127.0.0.1:1' }),
      'no exp': await providerSigned({ ...validClaims(), exp: undefined }),
      'alg none': `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${Buffer.from(JSON.stringify(validClaims())).toString('base64url')}.`,
      'HS256 keyed with the public key': await new SignJWT(validClaims())
        .setProtectedHeader({ alg: 'HS256', kid: 'provider-key', typ: 'at+jwt' })
        .sign(new TextEncoder().encode(JSON.stringify(publicJwk()))),
      'ID-token claims without at+jwt': await providerSigned({ ...validClaims(), nonce: 'n' }, { typ: 'JWT' }),
      'not a token at all': 'abc def',
    };
    for (const [label, token] of Object.entries(cases)) expectInvalidToken(await api('/reports/', token), label);
    // the same for forward-auth
    expectInvalidToken(await api('/.auth/verify', cases['wrong audience'] as string, { 'x-forwarded-uri': '/reports/' }), 'forward-auth');
  });

  it('forward-auth admits a token and answers the X-Auth-Request-* headers', async () => {
    const token = await clientCredentials(JWT_API);
    const answer = await api('/.auth/verify', token, { 'x-forwarded-uri': '/reports/x', 'x-forwarded-method': 'POST' });
    expect(answer.status).toBe(200);
    expect(answer.headers['x-auth-request-user']).toBe(CLI.client_id);
    expect(answer.headers['x-auth-request-groups']).toBe('reporter');
    expect(answer.headers['x-forwarded-user']).toBe(CLI.client_id);
    expect((await api('/.auth/verify', token, { 'x-forwarded-uri': '/admin/' })).status).toBe(403);
  });
});

describe('bearer.require_typ and bearer.pass_token', () => {
  it('with require_typ a JWT without typ at+jwt is refused; with pass_token the app receives Authorization', async () => {
    const strict = await startCloudStack({
      config: { bearer: { enabled: true, audiences: [JWT_API], require_typ: true, pass_token: true } },
      providerJwks: { keys: [signingKey] },
    });
    try {
      const key = await importJWK(signingKey as JWK, 'RS256');
      const claims = { iss: strict.provider.issuer, sub: 'svc', aud: JWT_API, iat: now(), exp: now() + 300 };
      const plain = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'provider-key', typ: 'JWT' }).sign(key);
      const typed = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'provider-key', typ: 'at+jwt' }).sign(key);
      const refused = await sendRequest(`${strict.url}/x`, { headers: { authorization: `Bearer ${plain}` } });
      expect(refused.status).toBe(401);
      const before = strict.upstream.requests.length;
      expect((await sendRequest(`${strict.url}/x`, { headers: { authorization: `Bearer ${typed}` } })).status).toBe(200);
      expect(headerValues(strict.upstream.requests[before]?.rawHeaders ?? [], 'authorization')).toEqual([`Bearer ${typed}`]);
    } finally {
      await strict.close();
    }
  });
});
