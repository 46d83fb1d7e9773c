// Issue 15 item 4: client authentication at the token endpoint, each method against oidc-provider with a client
// registered to REQUIRE it (token_endpoint_auth_method): client_secret_basic (a secret full of punctuation, which
// openid-client form-encodes inside Basic and a compliant provider decodes), client_secret_post, private_key_jwt with
// an RSA PEM key and with an EC P-256 JWK carrying a kid, and none. A wrong secret, a key the provider does not know,
// and a secret for a client registered for private_key_jwt are refused by the provider: 502 "Sign-in failed" naming
// invalid_client, no session. (oidc-provider takes client_secret_basic and client_secret_post interchangeably, so
// those two cannot be told apart here; the misbehaving provider's conformance rows check each one's wire form.)
import type { JsonWebKey } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startDevProvider, type DevClient, type DevProvider } from '../../../demo/dev-provider.js';
import { BrowserClient } from '../../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { generatedKeys } from '../../helpers/keys.js';
import { recordTokenRequests, type TokenExchange } from '../../helpers/token-requests.js';
import { freePort } from '../../helpers/ports.js';
import { headerValues, startUpstream, type RecordingUpstream } from '../../helpers/upstream.js';

const SESSION_COOKIE = 'gatehouse_session';
/** The characters RFC 6749 §2.3.1's form-encoding touches: reserved ones, percent, plus, space (a secret is VSCHAR, printable ASCII). */
const PUNCTUATED_SECRET = 'p@ss:w0rd/+%20&=?# ~-_.!';
const POST_SECRET = 'post-secret-0123456789-abcdef';

const rsa = generatedKeys('rsa', { modulusLength: 2048 });
const ec = generatedKeys('ec', { namedCurve: 'P-256' });
const stranger = generatedKeys('rsa', { modulusLength: 2048 });
const RSA_PEM = rsa.privatePem;
const EC_JWK = JSON.stringify({ ...ec.privateKey.export({ format: 'jwk' }), kid: 'gatehouse-ec-1' });
const STRANGER_PEM = stranger.privatePem;

describe('sso.client_auth against oidc-provider requiring each method', () => {
  let provider: DevProvider;
  let upstream: RecordingUpstream;
  let tokenEndpoint: string;
  const stacks = new Map<string, CloudStack>();
  const ports = new Map<string, number>();

  /** gatehouse instances: name → the client it signs in as and its sso settings. */
  const gatehouses: Record<string, { client: string; sso: Record<string, unknown> }> = {
    basic: { client: 'rp-basic', sso: { client_auth: 'client_secret_basic', client_secret: PUNCTUATED_SECRET } },
    post: { client: 'rp-post', sso: { client_auth: 'client_secret_post', client_secret: POST_SECRET } },
    jwtRsa: { client: 'rp-jwt-rsa', sso: { client_auth: 'private_key_jwt', client_key: RSA_PEM, client_secret: '' } },
    jwtEc: { client: 'rp-jwt-ec', sso: { client_auth: 'private_key_jwt', client_key: EC_JWK, client_secret: '' } },
    none: { client: 'rp-none', sso: { client_auth: 'none', client_secret: '' } },
    wrongSecret: { client: 'rp-post', sso: { client_auth: 'client_secret_post', client_secret: `${POST_SECRET}-wrong` } },
    wrongKey: { client: 'rp-jwt-rsa', sso: { client_auth: 'private_key_jwt', client_key: STRANGER_PEM, client_secret: '' } },
    wrongMethod: { client: 'rp-jwt-rsa', sso: { client_auth: 'client_secret_post', client_secret: POST_SECRET } },
  };

  beforeAll(async () => {
    upstream = await startUpstream();
    for (const name of Object.keys(gatehouses)) ports.set(name, await freePort());
    const callbacks = (client: string): string[] =>
      Object.entries(gatehouses)
        .filter(([, g]) => g.client === client)
        .map(([name]) => `http://127.0.0.1:${ports.get(name)}/.auth/callback`);
    const publicJwk = (key: typeof rsa.publicKey, kid?: string): JsonWebKey => ({ ...key.export({ format: 'jwk' }), ...(kid ? { kid } : {}) });
    const clients: DevClient[] = [
      { client_id: 'rp-basic', client_secret: PUNCTUATED_SECRET, token_endpoint_auth_method: 'client_secret_basic', redirect_uris: callbacks('rp-basic') },
      { client_id: 'rp-post', client_secret: POST_SECRET, token_endpoint_auth_method: 'client_secret_post', redirect_uris: callbacks('rp-post') },
      {
        client_id: 'rp-jwt-rsa',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [publicJwk(rsa.publicKey)] },
        redirect_uris: callbacks('rp-jwt-rsa'),
      },
      {
        client_id: 'rp-jwt-ec',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [publicJwk(ec.publicKey, 'gatehouse-ec-1')] },
        redirect_uris: callbacks('rp-jwt-ec'),
      },
      { client_id: 'rp-none', token_endpoint_auth_method: 'none', redirect_uris: callbacks('rp-none') },
    ];
    provider = await startDevProvider({ port: await freePort(), clients });
    const discovery = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as {
      token_endpoint: string;
      token_endpoint_auth_methods_supported: string[];
    };
    expect(discovery.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']),
    );
    tokenEndpoint = discovery.token_endpoint;
    for (const [name, { client, sso }] of Object.entries(gatehouses)) {
      stacks.set(name, await startCloudStack({ provider, upstream, port: ports.get(name), config: { sso: { client_id: client, ...sso } } }));
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    for (const stack of stacks.values()) await stack.close();
    await provider?.close();
    await upstream?.close();
  });

  async function signIn(name: string): Promise<{ stack: CloudStack; client: BrowserClient; status: number; body: string; request: TokenExchange }> {
    const stack = stacks.get(name) as CloudStack;
    const requests = recordTokenRequests(() => tokenEndpoint);
    const client = new BrowserClient();
    const { landed } = await stack.signIn(client, `/${name}?x=1`, 'alice', 'authorize');
    expect(requests).toHaveLength(1);
    return { stack, client, status: landed.status, body: landed.body, request: requests[0] as TokenExchange };
  }

  function expectSignedIn(stack: CloudStack, client: BrowserClient, status: number, path: string): void {
    expect(status).toBe(200);
    expect(upstream.requests.at(-1)?.url).toBe(path);
    expect(headerValues(upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['alice']);
    expect(client.cookie(stack.url, SESSION_COOKIE)).toMatch(/\S{20,}/);
  }

  it('client_secret_basic: id and secret form-encoded inside Basic (RFC 6749 §2.3.1); a secret with punctuation works with a decoding provider', async () => {
    const { stack, client, status, request } = await signIn('basic');
    expectSignedIn(stack, client, status, '/basic?x=1');
    // every character but letters and digits is escaped, `-` of the client id included, and space becomes `+`
    const credentials = Buffer.from((request.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
    expect(credentials).toBe('rp%2Dbasic:p%40ss%3Aw0rd%2F%2B%2520%26%3D%3F%23+%7E%2D%5F%2E%21');
    const [id = '', secret = ''] = credentials.split(':').map((part) => decodeURIComponent(part.replaceAll('+', ' ')));
    expect([id, secret]).toEqual(['rp-basic', PUNCTUATED_SECRET]);
    expect(request.body.has('client_secret')).toBe(false);
    expect([request.answer.status, request.answer.error]).toEqual([200, undefined]);
  });

  it('client_secret_post: client_id and client_secret in the body, no Authorization header', async () => {
    const { stack, client, status, request } = await signIn('post');
    expectSignedIn(stack, client, status, '/post?x=1');
    expect(request.headers.authorization).toBeUndefined();
    expect([request.body.get('client_id'), request.body.get('client_secret')]).toEqual(['rp-post', POST_SECRET]);
    expect([request.answer.status, request.answer.error]).toEqual([200, undefined]);
  });

  for (const [name, clientId, alg, kid] of [
    ['jwtRsa', 'rp-jwt-rsa', 'RS256', undefined],
    ['jwtEc', 'rp-jwt-ec', 'ES256', 'gatehouse-ec-1'],
  ] as const) {
    it(`private_key_jwt (${alg}${kid ? ', JWK with kid' : ', PEM'}): a signed client assertion, no secret anywhere`, async () => {
      const { stack, client, status, request } = await signIn(name);
      expectSignedIn(stack, client, status, `/${name}?x=1`);
      expect(request.headers.authorization).toBeUndefined();
      expect(request.body.has('client_secret')).toBe(false);
      expect(request.body.get('client_id')).toBe(clientId);
      expect(request.body.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      const assertion = request.body.get('client_assertion') ?? '';
      expect(decodeProtectedHeader(assertion)).toEqual({ alg, ...(kid ? { kid } : {}) });
      const claims = decodeJwt(assertion);
      expect(claims).toMatchObject({ iss: clientId, sub: clientId, aud: provider.issuer });
      expect(typeof claims.jti).toBe('string');
      expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(60);
      expect([request.answer.status, request.answer.error]).toEqual([200, undefined]);
    });
  }

  it('none: client_id only (a public client)', async () => {
    const { stack, client, status, request } = await signIn('none');
    expectSignedIn(stack, client, status, '/none?x=1');
    expect(request.headers.authorization).toBeUndefined();
    expect([...request.body.keys()].filter((key) => key.startsWith('client_'))).toEqual(['client_id']);
  });

  for (const [name, what] of [
    ['wrongSecret', 'a wrong client_secret (client_secret_post)'],
    ['wrongKey', 'a private key the provider does not know (private_key_jwt)'],
    ['wrongMethod', 'a secret for a client registered for private_key_jwt'],
  ] as const) {
    it(`${what}: the provider refuses, 502 "Sign-in failed" naming invalid_client, no session`, async () => {
      const { stack, client, status, body, request } = await signIn(name);
      expect([request.answer.status, request.answer.error]).toEqual([401, 'invalid_client']);
      expect(status).toBe(502);
      expect(body).toContain('Sign-in failed');
      expect(client.cookie(stack.url, SESSION_COOKIE)).toBeUndefined();
      const failure = stack.gatehouse.logs.filter((line) => line.msg === 'sign-in failed').at(-1);
      expect(failure?.reason).toBe('provider_error');
      expect(String(failure?.err)).toMatch(/^GH_PROVIDER_ERROR: provider refused: invalid_client/);
      expect(stack.gatehouse.logText()).not.toContain('PRIVATE KEY');
    });
  }
});
