// The config schema's sections, one zod object per top-level key (listen, sso, session, ...): types, defaults and the
// description each key has in the generated reference. schema.ts puts them together.
import { z } from 'zod';
import { assertionKeyProblem, bindHostProblem, httpUrlProblem, issuerProblem, pathPatternProblem } from './checks.js';
import { formatDuration, parseDuration } from './duration.js';
import { extraAuthParamProblem, logoutUrlProblem } from '../authenticate/provider-quirks.js';

/** A duration in milliseconds; `floor` refuses values too short to be meant (500ms for a session ttl). */
export const duration = (fallback: string, floor?: string) =>
  z
    .union([z.string(), z.number()])
    .default(fallback)
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(value)} (use e.g. 90s, 5m, 8h)` });
        return z.NEVER;
      }
      const least = floor === undefined ? 0 : (parseDuration(floor) ?? 0);
      if (ms < least) {
        ctx.addIssue({ code: 'custom', message: `must be at least ${floor} (got ${formatDuration(ms)})` });
        return z.NEVER;
      }
      return ms;
    });

/** A string refused when `check` names a problem (see checks.ts). */
export const checked = (check: (value: string) => string | undefined) =>
  z.string().superRefine((value, ctx) => {
    const problem = check(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const port = z.number().int().min(0).max(65535);
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid HTTP header name');

export const listenSchema = z.strictObject({
  host: checked(bindHostProblem).default('0.0.0.0').describe('Address the proxy listens on'),
  port: port.default(8080).describe('Port the proxy listens on'),
  max_header_size: z.number().int().min(1024).default(16384).describe('Largest request head accepted, in bytes; larger gets 431'),
  header_timeout: duration('60s').describe(
    'Longest time a client may take to send the request head; then 408 and the connection is closed (nginx client_header_timeout)',
  ),
  body_timeout: duration('60s').describe(
    'Longest pause between two reads of a request body; then 408 and the connection is closed (nginx client_body_timeout). Responses and WebSockets are not cut',
  ),
});

export const opsSchema = z.strictObject({
  host: checked(bindHostProblem).default('0.0.0.0').describe('Address of the ops listener (/healthz, /readyz, /metrics)'),
  port: port.default(9090).describe('Port of the ops listener'),
});

export const upstreamSchema = z.strictObject({
  url: httpUrl.default('http://127.0.0.1:3000').describe('The app gatehouse forwards to'),
  timeout_ms: z.number().int().positive().default(30000).describe("Time to wait for the app's response headers and between body chunks; then 504"),
  connections: z.number().int().positive().default(128).describe('Most keep-alive connections to the app'),
});

export const ssoSchema = z.strictObject({
  issuer: checked(issuerProblem).default('').describe('OpenID provider issuer URL (discovery at /.well-known/openid-configuration)'),
  client_id: z.string().default('').describe('Client id registered at the provider'),
  client_secret: z.string().default('').describe('Client secret (empty for a public client)'),
  client_auth: z
    .enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'])
    .default('client_secret_basic')
    .describe(
      'How gatehouse authenticates at the token endpoint: the secret in HTTP Basic (form-encoded first, RFC 6749 §2.3.1) or in the body, a JWT signed with client_key, or nothing (public client)',
    ),
  client_key: z
    .string()
    .default('')
    .describe(
      'Private key for client_auth private_key_jwt: PEM (PKCS8, PKCS1 or SEC1) or a JWK JSON object (its kid is sent; its alg, if any, is used). Signs RS256 with an RSA key, ES256/ES384/ES512 with an EC P-256/P-384/P-521 key, EdDSA with Ed25519',
    ),
  scopes: z.array(z.string()).default(['openid', 'profile', 'email']).describe('Scopes requested; add offline_access for refresh tokens'),
  provider_label: z.string().default('Company account').describe('Name on the sign-on button ("Sign in with …")'),
  silent_reauth: z.boolean().default(true).describe("Try prompt=none first when a returning user's session expired"),
  skip_sign_on_page: z.boolean().default(false).describe('Send navigations straight to the provider instead of showing the sign-on page'),
  userinfo: z.boolean().default(true).describe('Merge claims from the userinfo endpoint when the provider has one'),
  timeout: duration('10s', '1s').describe('Timeout of each request to the provider (at least 1s)'),
  id_token_algs: z
    .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
    .default(['RS256', 'PS256', 'ES256', 'EdDSA'])
    .describe('ID token signature algorithms accepted'),
  extra_auth_params: z
    .record(z.string(), z.string())
    .default({})
    .superRefine((params, ctx) => {
      for (const name of Object.keys(params)) {
        const problem = extraAuthParamProblem(name);
        if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
      }
    })
    .describe(
      'Extra parameters of every authorization request, e.g. {access_type: offline, prompt: consent} for refresh tokens from Google; a prompt here applies to interactive sign-ins only (a silent one sends prompt=none)',
    ),
  logout_url: checked(logoutUrlProblem)
    .default('')
    .describe(
      'Logout URL for a provider whose logout is not an end_session_endpoint (Auth0 /v2/logout, Amazon Cognito /logout); {client_id}, {post_logout_redirect_uri}, {id_token_hint} and {state} are filled in, URL-encoded. Empty: the discovered end_session_endpoint',
    ),
});

export const rolesSchema = z.strictObject({
  source: z.enum(['claim', 'url']).default('claim').describe('Read provider roles from a claim or from roles.url'),
  claim: z.string().default('roles').describe('Dotted path of the roles claim in ID token/userinfo claims'),
  url: checked(httpUrlProblem)
    .default('')
    .describe("URL returning the user's roles (JSON array or {roles: [...]}) when source is url; called with the access token"),
  map: z
    .record(z.string(), z.union([z.string(), z.array(z.string())]))
    .default({})
    .describe('Provider role → app role(s); empty: provider roles pass unchanged'),
  pass_unmapped: z.boolean().default(false).describe('With a non-empty map, keep provider roles that have no mapping'),
  default: z.array(z.string()).default([]).describe('App roles every signed-in user gets'),
  required: z
    .boolean()
    .default(false)
    .describe(
      'A user with no app role gets the 403 no-access page on every path no access rule matches (shorthand for access.default refusing users without a role)',
    ),
  access_contact: z.string().default('').describe('Who grants access, shown on the no-access page'),
});

const identityHeadersSchema = z.strictObject({
  user: headerName.default('X-Forwarded-User').describe("Header carrying the provider's sub"),
  email: headerName.default('X-Forwarded-Email').describe('Header carrying the email claim'),
  preferred_username: headerName.default('X-Forwarded-Preferred-Username').describe('Header carrying preferred_username'),
  name: headerName.default('X-Forwarded-Name').describe('Header carrying the display name, percent-encoded UTF-8'),
  roles: headerName.default('X-Forwarded-Roles').describe('Header carrying app roles, comma-separated'),
  assertion: headerName.default('X-Gatehouse-Assertion').describe('Header carrying the signed identity assertion (JWT)'),
});

export const identitySchema = z.strictObject({
  headers: identityHeadersSchema.prefault({}),
  strip_prefix: z.string().default('X-Gatehouse-').describe('Every incoming header starting with this is removed too'),
  assertion: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Send the signed assertion header'),
      ttl: duration('60s', '2s').describe('Lifetime of an assertion (at least 2s)'),
      audience: z.string().default('').describe('aud of the assertion; empty: the upstream origin'),
      keys: z
        .array(checked(assertionKeyProblem))
        .default([])
        .describe('ES256 private keys (PEM or JWK JSON), newest first; empty: generated at start (development only; required with session.store redis)'),
    })
    .prefault({}),
  pass_access_token: z.boolean().default(false).describe("Send the session's current access token (renewed at refresh) as X-Forwarded-Access-Token"),
});

export const localLoginSchema = z.strictObject({
  enabled: z.boolean().default(false).describe("Offer the app's own login beside SSO in cloud mode"),
  paths: z
    .array(checked(pathPatternProblem))
    .default(['/login.html'])
    .describe("Paths of the app's own login that pass without SSO; the first is linked from the sign-on page"),
  session_cookie: z.string().default('').describe("The app's own session cookie; requests carrying it pass without SSO and without identity headers"),
  label: z.string().default('').describe('Text of the sign-on page\'s link to the app\'s own login; empty: "Use local account"'),
  return_param: z
    .string()
    .regex(/^[A-Za-z0-9._~-]*$/, 'must be a query parameter name (letters, digits, . _ ~ -) or empty')
    .default('rd')
    .describe("Query parameter that carries the page the user asked for (a same-origin path, checked like rd) to the app's own login; empty: none"),
});

const ruleAllowSchema = z
  .strictObject({
    roles: z.array(z.string()).default([]).describe('App roles (after roles.map); any one grants'),
    emails: z.array(z.string()).default([]).describe('Email addresses (compared case-insensitively, verified emails only); any one grants'),
    email_domains: z.array(z.string()).default([]).describe('Email domains; grants only when the provider says email_verified: true'),
    claims: z
      .record(z.string(), z.array(z.union([z.string(), z.number(), z.boolean()])))
      .default({})
      .describe('Dotted claim path → accepted values (e.g. groups: [finance]); a value in the claim (or the claim itself) grants'),
  })
  .superRefine((allow, ctx) => {
    if (!allow.roles.length && !allow.emails.length && !allow.email_domains.length && !Object.keys(allow.claims).length) {
      ctx.addIssue({ code: 'custom', message: 'names nobody: give roles, emails, email_domains or claims (or allow: anonymous)' });
    }
    for (const [path, values] of Object.entries(allow.claims)) {
      if (path === '' || values.length === 0) ctx.addIssue({ code: 'custom', path: ['claims', path], message: 'needs a claim path and at least one value' });
    }
  });

const accessRuleSchema = z
  .strictObject({
    path: checked(pathPatternProblem).describe('Canonical path: exact, or a prefix ending in /'),
    methods: z
      .array(z.string().regex(/^[A-Za-z]+$/, 'must be an HTTP method like GET'))
      .optional()
      .describe('Methods the rule covers (GET covers HEAD); absent: every method'),
    allow: z.union([z.enum(['anonymous']), ruleAllowSchema]).describe('anonymous, or who is allowed (any one of roles, emails, email_domains, claims)'),
  })
  .superRefine((rule, ctx) => {
    if (rule.methods !== undefined && rule.methods.length === 0)
      ctx.addIssue({ code: 'custom', path: ['methods'], message: 'is empty: leave it out to cover every method' });
  });

export const accessSchema = z.strictObject({
  rules: z
    .array(accessRuleSchema)
    .default([])
    .describe('Ordered access rules, first match wins, matched on the canonical path (public_paths come first as anonymous rules)'),
  default: z
    .enum(['signed_in', 'deny'])
    .default('signed_in')
    .describe('When no rule matches: signed_in (any signed-in user, or any with an app role under roles.required) or deny'),
});

export const bearerSchema = z.strictObject({
  enabled: z.boolean().default(false).describe('Admit API clients with Authorization: Bearer <access token> of the provider, without a cookie'),
  audiences: z.array(z.string()).default([]).describe('Accepted aud values; a token must name one (required when enabled)'),
  require_typ: z.boolean().default(false).describe('Demand the JWT header typ at+jwt (RFC 9068)'),
  introspection: z.boolean().default(false).describe("Check opaque (non-JWT) tokens at the provider's introspection endpoint (RFC 7662)"),
  cache_ttl: duration('60s').describe('A verified token is trusted this long at most without a new check (never past its exp)'),
  leeway: duration('30s').describe('Clock skew allowed on exp, nbf and iat'),
  pass_token: z.boolean().default(false).describe('Forward the Authorization header to the app (otherwise it is removed while bearer is enabled)'),
});
