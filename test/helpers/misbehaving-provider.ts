// A small OpenID provider for conformance tests (node:http + jose, no UI): discovery, JWKS, an authorization
// endpoint that answers at once with a code, a token endpoint (client auth, PKCE, single-use codes) and userinfo.
// `scenario` breaks exactly one thing, after the OpenID Foundation's RP test IDs where one exists. Optional extras (all
// off by default, so the provider behaves as before without them): the refresh_token grant with short token lifetimes,
// garbage answers per endpoint, a discovery document without RFC 9207's iss parameter, broken ID tokens at refresh.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createLocalJWKSet, importPKCS8, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { generatedKeys } from './keys.js';

export type Scenario =
  | 'default'
  | 'rp-id_token-issuer-mismatch'
  | 'rp-id_token-sub'
  | 'rp-id_token-aud'
  | 'rp-id_token-iat'
  | 'rp-id_token-bad-sig-rs256'
  | 'rp-id_token-sig-none'
  | 'rp-id_token-kid-absent-single-jwks'
  | 'rp-id_token-kid-absent-multiple-jwks'
  | 'rp-nonce-invalid'
  | 'rp-userinfo-bad-sub-claim'
  | 'rp-discovery-issuer-not-matching-config'
  | 'id_token-expired'
  | 'id_token-nonce-missing'
  | 'id_token-aud-multiple-without-azp'
  | 'id_token-aud-multiple-with-azp'
  | 'id_token-hs256-public-key'
  | 'id_token-kid-unknown'
  | 'pkce-verifier-mismatch'
  | 'code-replayed'
  | 'iss-parameter-wrong'
  | 'iss-parameter-missing';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** The public key as SPKI PEM: what an HS256 forgery uses as its HMAC secret. */
  publicPem: string;
}

export interface TokenRequestRecord {
  /** How the client authenticated; 'none' also for a failed authentication (then the outcome is invalid_client). */
  authMethod: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';
  /** The grant_type sent (authorization_code or refresh_token). */
  grantType: string;
  /** The code sent (empty for a refresh). */
  code: string;
  /** 'issued', 'garbage' (a `garbage` answer was sent), or the OAuth error the provider answered. */
  outcome: 'issued' | 'garbage' | string;
}

/** Endpoints that can be told to answer garbage; `refresh` is the token endpoint for grant_type=refresh_token only. */
export type GarbageEndpoint = 'token' | 'refresh' | 'userinfo' | 'jwks';

/** A raw answer sent instead of the endpoint's real one. */
export interface GarbageAnswer {
  status: number;
  contentType: string;
  body: string;
}

/**
 * The ID token in a refresh response: a valid one for the same user (default), none at all, or broken in one way
 * (signature, subject = another user whose access token and userinfo are consistent with it, audience).
 */
export type RefreshIdToken = 'valid' | 'absent' | 'bad-signature' | 'other-sub' | 'wrong-aud';

export type TestUser = { sub: string; email: string; name: string; preferred_username: string; roles: string[] };

/** The user a refresh ID token with `other-sub` names (with its own access token and userinfo claims). */
export const OTHER_USER: TestUser = { sub: 'mallory', email: 'mallory@example.test', name: 'Mallory Example', preferred_username: 'mallory', roles: ['admin'] };

export interface MisbehavingProviderOptions {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** Pre-generated RSA keys (generating them is the slow part); the first signs, the second is published in some scenarios. */
  keys: SigningKey[];
  scenario?: Scenario;
  /** id_token_signing_alg_values_supported in discovery; RS256 only by default. */
  advertisedAlgs?: string[];
  user?: TestUser;
  /** Extra claims in every ID token (none by default: the user's claims come only from userinfo). */
  idTokenClaims?: Record<string, unknown>;
  /** When set, an authorization request with prompt=none is answered with this error (e.g. consent_required) instead of a code. */
  promptNoneError?: string;
  /** error_description sent with promptNoneError (none by default). */
  promptNoneErrorDescription?: string;
  /** When set, every authorization request (silent or not) is answered with this error instead of a code. */
  authorizationError?: AuthorizationError;
  /** Lifetime in seconds of access and ID tokens (expires_in and exp); 300 by default. */
  tokenLifetime?: number;
  /** Issue a refresh token with the code grant and accept grant_type=refresh_token (off by default: unsupported_grant_type). */
  refreshTokens?: boolean;
  /** Initial garbage answers per endpoint (see MisbehavingProvider.garbage); none by default. */
  garbage?: Partial<Record<GarbageEndpoint, GarbageAnswer>>;
  /** Initial ID token of refresh responses (see MisbehavingProvider.refreshIdToken); 'valid' by default. */
  refreshIdToken?: RefreshIdToken;
  /** false: discovery omits authorization_response_iss_parameter_supported (RFC 9207); advertised (true) by default. */
  advertiseIssParameter?: boolean;
  /**
   * Public keys of the client: set, the token endpoint accepts private_key_jwt client assertions (RFC 7523) signed by
   * one of them (iss = sub = client id, aud = the issuer or the token endpoint, unexpired) and advertises the method.
   */
  clientJwks?: JWK[];
  /**
   * Google: with refreshTokens, a refresh token only for an authorization request that carried all of these parameters
   * (access_type=offline, https://developers.google.com/identity/protocols/oauth2/web-server#offline); the
   * offline_access scope alone gets none.
   */
  refreshTokensOnlyWith?: Record<string, string>;
  /**
   * Auth0 without RP-initiated logout: GET /v2/logout?client_id&returnTo ends the provider session and redirects to
   * returnTo, which must be an Allowed Logout URL of the client (https://auth0.com/docs/api/authentication/logout/auth-0-logout;
   * by default the redirect URI's /.auth/signed-out); discovery has no end_session_endpoint either way.
   */
  auth0Logout?: { allowedReturnTo?: string };
}

/** An error answer to the authorization request (redirected back with state and iss, RFC 6749 §4.1.2.1). */
export interface AuthorizationError {
  error: string;
  description?: string;
}

export interface MisbehavingProvider {
  issuer: string;
  scenario: Scenario;
  /** The error answering prompt=none requests right now (assignable at any time; undefined: a code as usual). */
  promptNoneError: AuthorizationError | undefined;
  /** The error answering every authorization request right now (assignable; wins over promptNoneError). */
  authorizationError: AuthorizationError | undefined;
  /** Every token request, with the client authentication method it used. */
  tokenRequests: TokenRequestRecord[];
  /** Authorization headers seen at userinfo. */
  userinfoAuthorizations: string[];
  /** Every code, access token and ID token handed out (to prove none is leaked). */
  issued: string[];
  jwksFetches(): number;
  /** Starts signing with `key` and publishes only it at jwks_uri (the previous key is retired). */
  rotateSigningKey(key: SigningKey): void;
  /** Endpoints answering garbage right now (assign or delete entries at any time). */
  garbage: Partial<Record<GarbageEndpoint, GarbageAnswer>>;
  /** The ID token of the next refresh responses (assignable at any time). */
  refreshIdToken: RefreshIdToken;
  /** Every request to Auth0's /v2/logout (with auth0Logout). */
  logouts: URL[];
  close(): Promise<void>;
}

interface IssuedCode {
  code: string;
  challenge: string;
  nonce: string | undefined;
  redirectUri: string;
  used: boolean;
  /** A refresh token may be issued for this code (refreshTokensOnlyWith satisfied, or not set). */
  offline: boolean;
}

const LIFETIME = 300;

export async function generateSigningKey(kid: string): Promise<SigningKey> {
  const keys = generatedKeys('rsa', { modulusLength: 2048 });
  const publicJwk = { ...(keys.publicKey.export({ format: 'jwk' }) as JWK), kid, use: 'sig', alg: 'RS256' };
  return { kid, privateKey: await importPKCS8(keys.privatePem, 'RS256'), publicJwk, publicPem: keys.publicPem };
}

export async function startMisbehavingProvider(options: MisbehavingProviderOptions): Promise<MisbehavingProvider> {
  const user = options.user ?? { sub: 'alice', email: 'alice@example.test', name: 'Alice Example', preferred_username: 'alice', roles: ['admin'] };
  const lifetime = options.tokenLifetime ?? LIFETIME;
  const codes = new Map<string, IssuedCode>();
  /** Access token → the user it was issued for. */
  const accessTokens = new Map<string, TestUser>();
  const refreshTokens = new Set<string>();
  const sockets = new Set<Socket>();
  let signing = options.keys[0] as SigningKey;
  let published: SigningKey[] = [signing];
  let jwksFetches = 0;
  let lastCode: string | undefined;
  let issuer = '';

  const provider: MisbehavingProvider = {
    issuer: '',
    scenario: options.scenario ?? 'default',
    tokenRequests: [],
    userinfoAuthorizations: [],
    issued: [],
    garbage: { ...options.garbage },
    promptNoneError: options.promptNoneError === undefined ? undefined : { error: options.promptNoneError, description: options.promptNoneErrorDescription },
    authorizationError: options.authorizationError,
    refreshIdToken: options.refreshIdToken ?? 'valid',
    logouts: [],
    jwksFetches: () => jwksFetches,
    rotateSigningKey(key) {
      signing = key;
      published = [key];
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };

  function discovery(): Record<string, unknown> {
    return {
      issuer: provider.scenario === 'rp-discovery-issuer-not-matching-config' ? `${issuer}/somewhere-else` : issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      userinfo_endpoint: `${issuer}/userinfo`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: options.advertisedAlgs ?? ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', ...(options.clientJwks ? ['private_key_jwt'] : [])],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: ['openid', 'profile', 'email'],
      ...(options.advertiseIssParameter === false ? {} : { authorization_response_iss_parameter_supported: true }),
    };
  }

  function jwks(): { keys: JWK[] } {
    const scenario = provider.scenario;
    if (scenario === 'rp-id_token-kid-absent-single-jwks') return { keys: [withoutKid(signing.publicJwk)] };
    if (scenario === 'rp-id_token-kid-absent-multiple-jwks') return { keys: options.keys.map((key) => key.publicJwk) };
    return { keys: published.map((key) => key.publicJwk) };
  }

  function authorize(url: URL, res: ServerResponse): void {
    const query = url.searchParams;
    const redirectUri = query.get('redirect_uri');
    if (query.get('client_id') !== options.clientId || redirectUri !== options.redirectUri) return json(res, 400, { error: 'invalid_request' });
    if (query.get('response_type') !== 'code' || query.get('code_challenge_method') !== 'S256' || !query.get('code_challenge')) {
      return json(res, 400, { error: 'invalid_request', error_description: 'response_type code with PKCE S256 is required' });
    }
    const refusal = provider.authorizationError ?? (query.get('prompt') === 'none' ? provider.promptNoneError : undefined);
    if (refusal !== undefined) {
      const refused = new URL(redirectUri);
      refused.searchParams.set('error', refusal.error);
      if (refusal.description !== undefined) refused.searchParams.set('error_description', refusal.description);
      const state = query.get('state');
      if (state !== null) refused.searchParams.set('state', state);
      refused.searchParams.set('iss', issuer);
      res.writeHead(302, { location: refused.href, 'cache-control': 'no-store' }).end();
      return;
    }
    const challenge = provider.scenario === 'pkce-verifier-mismatch' ? s256(randomBytes(32).toString('base64url')) : (query.get('code_challenge') as string);
    let code = random();
    if (provider.scenario === 'code-replayed' && lastCode) code = lastCode;
    else {
      const offline = Object.entries(options.refreshTokensOnlyWith ?? {}).every(([name, value]) => query.get(name) === value);
      codes.set(code, { code, challenge, nonce: query.get('nonce') ?? undefined, redirectUri, used: false, offline });
    }
    lastCode = code;
    provider.issued.push(code);
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    const state = query.get('state');
    if (state !== null) back.searchParams.set('state', state);
    if (provider.scenario === 'iss-parameter-wrong') back.searchParams.set('iss', 'https://idp.attacker.example');
    else if (provider.scenario !== 'iss-parameter-missing') back.searchParams.set('iss', issuer);
    res.writeHead(302, { location: back.href, 'cache-control': 'no-store' }).end();
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    const authMethod = await clientAuthentication(req, form);
    const grantType = form.get('grant_type') ?? '';
    const record: TokenRequestRecord = { authMethod: authMethod ?? 'none', grantType, code: form.get('code') ?? '', outcome: 'issued' };
    provider.tokenRequests.push(record);
    const refuse = (status: number, error: string, description: string): void => {
      record.outcome = error;
      json(res, status, { error, error_description: description });
    };
    if (!authMethod) return refuse(401, 'invalid_client', 'client authentication failed');
    if (grantType === 'refresh_token' && options.refreshTokens) return refresh(form, record, res);
    if (grantType !== 'authorization_code') return refuse(400, 'unsupported_grant_type', 'only authorization_code');
    const garbage = provider.garbage.token;
    if (garbage) {
      record.outcome = 'garbage';
      return answer(res, garbage);
    }
    const issuedCode = codes.get(form.get('code') ?? '');
    if (!issuedCode) return refuse(400, 'invalid_grant', 'unknown code');
    if (issuedCode.used) return refuse(400, 'invalid_grant', 'code already used');
    issuedCode.used = true;
    if (form.get('redirect_uri') !== issuedCode.redirectUri) return refuse(400, 'invalid_grant', 'redirect_uri mismatch');
    if (s256(form.get('code_verifier') ?? '') !== issuedCode.challenge) return refuse(400, 'invalid_grant', 'PKCE verification failed');
    const accessToken = random();
    accessTokens.set(accessToken, user);
    const idToken = await idTokenFor(issuedCode.nonce);
    provider.issued.push(accessToken, idToken);
    const body: Record<string, unknown> = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: lifetime,
      id_token: idToken,
      scope: 'openid profile email',
    };
    if (options.refreshTokens && issuedCode.offline) {
      const refreshToken = random();
      refreshTokens.add(refreshToken);
      provider.issued.push(refreshToken);
      body.refresh_token = refreshToken;
    }
    json(res, 200, body);
  }

  /** grant_type=refresh_token: new access token and (per refreshIdToken) ID token; the refresh token is not rotated. */
  async function refresh(form: URLSearchParams, record: TokenRequestRecord, res: ServerResponse): Promise<void> {
    if (!refreshTokens.has(form.get('refresh_token') ?? '')) {
      record.outcome = 'invalid_grant';
      return json(res, 400, { error: 'invalid_grant', error_description: 'unknown refresh token' });
    }
    const garbage = provider.garbage.refresh;
    if (garbage) {
      record.outcome = 'garbage';
      return answer(res, garbage);
    }
    const mode = provider.refreshIdToken;
    const holder = mode === 'other-sub' ? OTHER_USER : user;
    const accessToken = random();
    accessTokens.set(accessToken, holder);
    provider.issued.push(accessToken);
    const body: Record<string, unknown> = { access_token: accessToken, token_type: 'Bearer', expires_in: lifetime, scope: 'openid profile email' };
    if (mode !== 'absent') {
      const now = Math.floor(Date.now() / 1000);
      const claims: JWTPayload = {
        ...options.idTokenClaims,
        iss: issuer,
        sub: holder.sub,
        aud: mode === 'wrong-aud' ? 'another-client' : options.clientId,
        iat: now,
        exp: now + lifetime,
        auth_time: now,
      };
      const signed = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: signing.kid }).sign(signing.privateKey);
      const idToken = mode === 'bad-signature' ? corruptSignature(signed) : signed;
      provider.issued.push(idToken);
      body.id_token = idToken;
    }
    json(res, 200, body);
  }

  async function clientAuthentication(req: IncomingMessage, form: URLSearchParams): Promise<TokenRequestRecord['authMethod'] | undefined> {
    const assertion = form.get('client_assertion');
    if (assertion !== null || form.has('client_assertion_type')) {
      if (!options.clientJwks || assertion === null || form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
        return undefined;
      if (req.headers.authorization !== undefined || form.has('client_secret')) return undefined;
      try {
        await jwtVerify(assertion, createLocalJWKSet({ keys: options.clientJwks }), {
          issuer: options.clientId,
          subject: options.clientId,
          audience: [issuer, `${issuer}/token`],
          requiredClaims: ['exp', 'jti'],
        });
        const clientId = form.get('client_id');
        return clientId === null || clientId === options.clientId ? 'private_key_jwt' : undefined;
      } catch {
        return undefined;
      }
    }
    const header = req.headers.authorization;
    if (header?.startsWith('Basic ')) {
      const [id = '', secret = ''] = Buffer.from(header.slice(6), 'base64').toString().split(':');
      const ok = decodeURIComponent(id) === options.clientId && decodeURIComponent(secret) === options.clientSecret && !form.has('client_secret');
      return ok ? 'client_secret_basic' : undefined;
    }
    if (form.get('client_id') === options.clientId && form.get('client_secret') === options.clientSecret) return 'client_secret_post';
    return undefined;
  }

  async function idTokenFor(nonce: string | undefined): Promise<string> {
    const scenario = provider.scenario;
    const now = Math.floor(Date.now() / 1000);
    const claims: JWTPayload & Record<string, unknown> = {
      ...options.idTokenClaims,
      iss: issuer,
      sub: user.sub,
      aud: options.clientId,
      iat: now,
      exp: now + lifetime,
      auth_time: now,
      nonce,
    };
    if (scenario === 'rp-id_token-issuer-mismatch') claims.iss = 'https://idp.attacker.example';
    if (scenario === 'rp-id_token-sub') delete claims.sub;
    if (scenario === 'rp-id_token-aud') claims.aud = 'another-client';
    if (scenario === 'rp-id_token-iat') delete claims.iat;
    if (scenario === 'rp-nonce-invalid') claims.nonce = 'a-nonce-this-client-never-sent';
    if (scenario === 'id_token-nonce-missing') delete claims.nonce;
    if (scenario === 'id_token-expired') Object.assign(claims, { iat: now - 900, auth_time: now - 900, exp: now - 600 });
    if (scenario === 'id_token-aud-multiple-without-azp') claims.aud = [options.clientId, 'another-client'];
    if (scenario === 'id_token-aud-multiple-with-azp') Object.assign(claims, { aud: [options.clientId, 'another-client'], azp: options.clientId });
    if (scenario === 'rp-id_token-sig-none') return `${b64json({ alg: 'none', typ: 'JWT' })}.${b64json(claims)}.`;
    if (scenario === 'id_token-hs256-public-key') {
      return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: signing.kid }).sign(new TextEncoder().encode(signing.publicPem));
    }
    const withKid = !scenario.startsWith('rp-id_token-kid-absent');
    const kid = scenario === 'id_token-kid-unknown' ? 'a-key-never-published' : signing.kid;
    const signed = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(withKid ? { kid } : {}) }).sign(signing.privateKey);
    return scenario === 'rp-id_token-bad-sig-rs256' ? corruptSignature(signed) : signed;
  }

  function userinfo(req: IncomingMessage, res: ServerResponse): void {
    const header = req.headers.authorization ?? '';
    provider.userinfoAuthorizations.push(header);
    const holder = header.startsWith('Bearer ') ? accessTokens.get(header.slice(7)) : undefined;
    if (!holder) {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      return;
    }
    const garbage = provider.garbage.userinfo;
    if (garbage) return answer(res, garbage);
    const claims = { ...holder };
    if (provider.scenario === 'rp-userinfo-bad-sub-claim') claims.sub = 'mallory';
    json(res, 200, claims);
  }

  /** Auth0's logout endpoint: returnTo must be an allowed logout URL of the client named by client_id. */
  function auth0Logout(url: URL, res: ServerResponse): void {
    provider.logouts.push(url);
    const returnTo = url.searchParams.get('returnTo');
    if (returnTo === null) return void res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
    const allowed = options.auth0Logout?.allowedReturnTo ?? new URL('/.auth/signed-out', options.redirectUri).href;
    if (url.searchParams.get('client_id') !== options.clientId || returnTo !== allowed) return json(res, 400, { error: 'invalid_request' });
    res.writeHead(302, { location: returnTo, 'cache-control': 'no-store' }).end();
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /.well-known/openid-configuration') return json(res, 200, discovery());
    if (route === 'GET /jwks') {
      jwksFetches += 1;
      const garbage = provider.garbage.jwks;
      return garbage ? answer(res, garbage) : json(res, 200, jwks());
    }
    if (route === 'GET /authorize') return authorize(url, res);
    if (route === 'POST /token') return void token(req, res).catch(() => json(res, 500, { error: 'server_error' }));
    if (route === 'GET /userinfo') return userinfo(req, res);
    if (route === 'GET /v2/logout' && options.auth0Logout) return auth0Logout(url, res);
    json(res, 404, { error: 'not_found' });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  provider.issuer = issuer;
  return provider;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function answer(res: ServerResponse, garbage: GarbageAnswer): void {
  res.writeHead(garbage.status, { 'content-type': garbage.contentType, 'cache-control': 'no-store' }).end(garbage.body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.once('end', () => resolve(body));
    req.once('error', reject);
  });
}

function random(): string {
  return randomBytes(24).toString('base64url');
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function withoutKid(jwk: JWK): JWK {
  const { kid: _kid, ...rest } = jwk;
  return rest;
}

/** Flips one bit in the middle of the signature: the header and claims stay valid, only the signature is wrong. */
function corruptSignature(jws: string): string {
  const [header, payload, signature = ''] = jws.split('.');
  const bytes = Buffer.from(signature, 'base64url');
  const middle = Math.floor(bytes.length / 2);
  bytes[middle] = (bytes[middle] as number) ^ 0x01;
  return `${header}.${payload}.${bytes.toString('base64url')}`;
}
