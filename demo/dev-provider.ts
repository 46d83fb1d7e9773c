// The embedded development OpenID provider (oidc-provider 8) used by `gatehouse demo` and the tests:
// the three demo users, oidc-provider's dev login and consent pages, refresh tokens, RP-initiated and
// back-channel logout, on plain http bound to a loopback address only.

import { createPrivateKey, generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { errors as oidcErrors, type ClientMetadata, type Configuration, type JWK, type KoaContextWithOIDC } from 'oidc-provider';
import { DEMO_USERS, demoUserClaims, findDemoUser } from './users.js';

export { DEMO_USERS, type DemoUser } from './users.js';

export interface DevClient {
  client_id: string;
  /** Absent: a public client (token_endpoint_auth_method 'none'). */
  client_secret?: string;
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
  backchannel_logout_uri?: string;
  backchannel_logout_session_required?: boolean;
  /** Default: authorization_code and refresh_token; add client_credentials for a service account (an API client). */
  grant_types?: string[];
  /** Extra claims of this client's client-credentials access tokens (e.g. the roles of a service account). */
  token_claims?: Record<string, unknown>;
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';
  /** Public keys of a private_key_jwt client (its client assertions must verify with one of them). */
  jwks?: { keys: JsonWebKey[] };
}

export interface DevProviderLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface DevProviderOptions {
  /** A loopback address: 127.0.0.1 (default), localhost or ::1. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  clients: DevClient[];
  /** Lifetimes in seconds. */
  ttl?: { accessToken?: number; idToken?: number; refreshToken?: number; session?: number };
  /** Private signing keys; default: one RS256 key generated at start. */
  jwks?: { keys: JsonWebKey[] };
  logger?: DevProviderLogger;
  /**
   * APIs by resource indicator (RFC 8707): access tokens requested for one are JWTs (RFC 9068, typ at+jwt) or opaque,
   * with `aud` the resource, scope `api`, and the user's roles, email, email_verified and changed claims in them.
   */
  resourceServers?: Record<string, { format: 'jwt' | 'opaque' }>;
  /** The RFC 7662 introspection endpoint. */
  introspection?: boolean;
}

export interface DevProvider {
  /** e.g. http://127.0.0.1:8081 */
  issuer: string;
  /** Role change at the provider, returned by the next userinfo call and the next refresh. */
  setRoles(username: string, roles: string[]): void;
  /** Changes a user's other claims (tests: an absent email, an odd display name); `undefined` removes the claim. */
  setClaims(username: string, changes: Record<string, string | undefined>): void;
  close(): Promise<void>;
}

const DEFAULT_TTL = { accessToken: 3600, idToken: 3600, refreshToken: 86_400, session: 86_400 };
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);
const INTERACTION_PATH = /^\/interaction\/[^/]+$/;
const MAX_FORM_BYTES = 16 * 1024;

// oidc-provider prints these through console.warn while the Provider is constructed; both describe
// exactly what a development provider is meant to be.
const DEV_ONLY_NOTICES = ['a quick start development-only feature devInteractions is enabled', 'a quick start development-only in-memory adapter is used'];

const LOGIN_ERRORS: Record<string, string> = {
  unknown_user: 'Unknown user. Sign in as alice, carol or bob.',
  missing_password: 'Enter a password (any password works).',
};

export async function startDevProvider(opts: DevProviderOptions): Promise<DevProvider> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host)) {
    throw new Error(`dev provider host must be a loopback address (127.0.0.1, localhost, ::1), got "${host}"`);
  }
  const logger = opts.logger ?? { info: () => {}, warn: (obj, msg) => console.warn(`dev provider: ${msg ?? ''}`, obj) };
  const rolesByUser = new Map(DEMO_USERS.map((user) => [user.username, [...user.roles]]));
  const claimChanges = new Map<string, Record<string, string | undefined>>();

  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${host === '::1' ? '[::1]' : host}:${port}`;

  const config = providerConfiguration(opts, rolesByUser, claimChanges);
  const provider = withoutDevOnlyNotices(() => new Provider(issuer, config));
  provider.use(loginSubmission(provider));
  provider.use(devPageAdjustments);
  provider.on('server_error', (_ctx: unknown, err: Error) => logger.warn({ err }, 'dev provider server error'));
  provider.on('backchannel.error', (_ctx: unknown, err: Error, client: { clientId: string }) =>
    logger.warn({ err, clientId: client.clientId }, 'back-channel logout delivery failed'),
  );
  provider.on('backchannel.success', (_ctx: unknown, client: { clientId: string }, accountId: string) =>
    logger.info({ clientId: client.clientId, accountId }, 'back-channel logout delivered'),
  );
  server.on('request', provider.callback());

  return {
    issuer,
    setRoles(username, roles) {
      if (!rolesByUser.has(username)) throw new Error(`unknown demo user "${username}"`);
      rolesByUser.set(username, [...roles]);
    },
    setClaims(username, changes) {
      if (!rolesByUser.has(username)) throw new Error(`unknown demo user "${username}"`);
      claimChanges.set(username, { ...claimChanges.get(username), ...changes });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function providerConfiguration(
  opts: DevProviderOptions,
  rolesByUser: Map<string, string[]>,
  claimChanges: Map<string, Record<string, string | undefined>>,
): Configuration {
  const ttl = { ...DEFAULT_TTL, ...opts.ttl };
  const keys = opts.jwks?.keys ?? [generateSigningKey()];
  return {
    clients: opts.clients.map(clientMetadata),
    jwks: { keys: keys as JWK[] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'roles'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      roles: ['roles'],
    },
    // Scope claims go into the ID token too (not only userinfo), like many enterprise providers do.
    conformIdTokenClaims: false,
    ...apiTokens(opts, rolesByUser, claimChanges),
    findAccount(_ctx, sub) {
      const user = findDemoUser(sub);
      if (!user) return undefined;
      return { accountId: sub, claims: () => withChanges(demoUserClaims(user, rolesByUser.get(sub) ?? []), claimChanges.get(sub)) };
    },
    responseTypes: ['code'],
    pkce: { methods: ['S256'], required: () => true },
    // oidc-provider drops offline_access unless the request also says prompt=consent; an RP that
    // re-reads roles needs a refresh token on every sign-in, so every code exchange yields one.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    clientBasedCORS: () => false,
    ttl: {
      AccessToken: ttl.accessToken,
      ClientCredentials: ttl.accessToken,
      AuthorizationCode: 60,
      IdToken: ttl.idToken,
      RefreshToken: ttl.refreshToken,
      Session: ttl.session,
      Grant: Math.max(ttl.refreshToken, ttl.session),
      Interaction: 3600,
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      backchannelLogout: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      introspection: { enabled: opts.introspection ?? false },
      clientCredentials: { enabled: opts.clients.some((client) => client.grant_types?.includes('client_credentials')) },
      ...(opts.resourceServers ? { resourceIndicators: resourceIndicators(opts.resourceServers) } : {}),
    },
    renderError,
  };
}

/** Claims of API access tokens: the user's (roles and changed claims included), or the client's token_claims. */
function apiTokens(
  opts: DevProviderOptions,
  rolesByUser: Map<string, string[]>,
  claimChanges: Map<string, Record<string, string | undefined>>,
): Pick<Configuration, 'extraTokenClaims'> {
  if (!opts.resourceServers) return {};
  return {
    extraTokenClaims(_ctx, token) {
      const accountId = 'accountId' in token ? token.accountId : undefined;
      const user = typeof accountId === 'string' ? findDemoUser(accountId) : undefined;
      if (user) {
        const {
          sub: _sub,
          name: _name,
          preferred_username: _username,
          ...claims
        } = withChanges(demoUserClaims(user, rolesByUser.get(user.username) ?? []), claimChanges.get(user.username));
        return claims;
      }
      return opts.clients.find((client) => client.client_id === token.clientId)?.token_claims;
    },
  };
}

function resourceIndicators(servers: Record<string, { format: 'jwt' | 'opaque' }>): NonNullable<NonNullable<Configuration['features']>['resourceIndicators']> {
  return {
    enabled: true,
    defaultResource: (_ctx, _client, oneOf) => oneOf ?? undefined!,
    useGrantedResource: () => true,
    getResourceServerInfo(_ctx, resource) {
      const server = servers[resource];
      if (!server) throw new oidcErrors.InvalidTarget();
      return { scope: 'api', audience: resource, accessTokenFormat: server.format, ...(server.format === 'jwt' ? { jwt: { sign: { alg: 'RS256' } } } : {}) };
    },
  };
}

function withChanges(claims: { sub: string }, changes: Record<string, string | undefined> | undefined): { sub: string; [claim: string]: unknown } {
  const changed: { sub: string; [claim: string]: unknown } = { ...claims };
  for (const [name, value] of Object.entries(changes ?? {})) {
    if (value === undefined) delete changed[name];
    else changed[name] = value;
  }
  return changed;
}

function clientMetadata(client: DevClient): ClientMetadata {
  const metadata: ClientMetadata = {
    client_id: client.client_id,
    redirect_uris: client.redirect_uris,
    grant_types: client.grant_types ?? ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: client.token_endpoint_auth_method ?? (client.client_secret ? 'client_secret_basic' : 'none'),
  };
  if (client.client_secret !== undefined) metadata.client_secret = client.client_secret;
  if (client.jwks) metadata.jwks = { keys: client.jwks.keys as JWK[] };
  if (client.post_logout_redirect_uris) metadata.post_logout_redirect_uris = client.post_logout_redirect_uris;
  if (client.backchannel_logout_uri) {
    metadata.backchannel_logout_uri = client.backchannel_logout_uri;
    metadata.backchannel_logout_session_required = client.backchannel_logout_session_required ?? true;
  }
  return metadata;
}

// The key leaves the generation as PEM and is exported as a JWK from a key object of its own: exporting the generated
// key object itself deadlocked a test worker on Node 20.20 (gdb: ExportJWKRsaKey holds the key's mutex, allocates, the
// GC runs the finished KeyGenJob's destructor, which waits for that same mutex).
function generateSigningKey(): JsonWebKey {
  const pem = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;
  return { ...createPrivateKey(pem).export({ format: 'jwk' }), kid: randomBytes(8).toString('base64url'), alg: 'RS256', use: 'sig' };
}

function withoutDevOnlyNotices<T>(build: () => T): T {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    const first = args[0];
    if (typeof first === 'string' && DEV_ONLY_NOTICES.some((notice) => first.includes(notice))) return;
    warn.apply(console, args);
  };
  try {
    return build();
  } finally {
    console.warn = warn;
  }
}

type KoaMiddleware = (ctx: KoaContextWithOIDC, next: () => Promise<unknown>) => Promise<unknown>;

// The dev login accepts any login; this one admits only the demo users, with a non-empty password,
// and sends anything else back to the login form with an error. Consent stays oidc-provider's own.
function loginSubmission(provider: Provider): KoaMiddleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || !INTERACTION_PATH.test(ctx.path)) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res).catch(() => undefined);
    if (details?.prompt.name !== 'login' || !ctx.is('application/x-www-form-urlencoded')) return next();

    const form = await readForm(ctx.req);
    const login = form.get('login')?.trim() ?? '';
    const error = !findDemoUser(login) ? 'unknown_user' : form.get('password') ? undefined : 'missing_password';
    ctx.set('cache-control', 'no-store');
    if (error) {
      ctx.redirect(`${ctx.path}?error=${error}`);
    } else {
      const result = { login: { accountId: login } };
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
    }
    ctx.status = 303;
    return undefined;
  };
}

// Keeps the dev pages self-contained (their stylesheet imports a web font) and says who may sign in.
const devPageAdjustments: KoaMiddleware = async (ctx, next) => {
  await next();
  if (ctx.method !== 'GET' || !INTERACTION_PATH.test(ctx.path) || typeof ctx.body !== 'string') return;
  let html = ctx.body.replace(/@import url\(https:\/\/fonts\.googleapis\.com[^)]*\);?/g, '');
  html = html.replace('placeholder="Enter any login"', 'placeholder="alice, carol or bob"');
  html = html.replace('>Continue</button>', '>Authorize</button>');
  const loginError = typeof ctx.query.error === 'string' ? LOGIN_ERRORS[ctx.query.error] : undefined;
  if (loginError && html.includes('name="prompt" value="login"')) {
    html = html.replace('<form', `<p class="login-error" role="alert" style="color:#b00020">${loginError}</p>\n<form`);
  }
  ctx.body = html;
};

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new Error('login form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function logoutSource(ctx: KoaContextWithOIDC, form: string): Promise<void> {
  ctx.type = 'html';
  ctx.body = page(
    'Sign out',
    `<h1>Sign out of the development provider?</h1>
${form}
<button autofocus type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button>`,
  );
}

async function postLogoutSuccessSource(ctx: KoaContextWithOIDC): Promise<void> {
  ctx.type = 'html';
  ctx.body = page('Signed out', '<h1>Signed out</h1><p>You are signed out of the development provider.</p>');
}

async function renderError(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }): Promise<void> {
  ctx.type = 'html';
  ctx.body = page('Error', `<h1>Something went wrong</h1><p><strong>${escapeHtml(out.error)}</strong></p><p>${escapeHtml(out.error_description ?? '')}</p>`);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · development provider</title>
<style>body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;padding:3rem 1rem;color:#1f2328}
main{max-width:22rem;margin:0 auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.3rem;font-weight:600}button{display:block;width:100%;margin:.5rem 0;padding:.6rem;border:0;border-radius:4px;
background:#2f6feb;color:#fff;font-size:1rem;cursor:pointer}button.secondary{background:#e6e8eb;color:#1f2328}</style>
</head><body><main>${body}</main></body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
