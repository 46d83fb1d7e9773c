// The one config schema: every key, its type, default and meaning (the sections are in sections.ts). Defaults live
// there and here only.
import { z } from 'zod';
import { colourProblem, logoUrlProblem, pathPatternProblem, pemFileProblem, publicUrlProblem, trustProxyProblem } from './checks.js';
import { clientKeyProblem } from '../authenticate/client-key.js';
import {
  accessSchema,
  bearerSchema,
  checked,
  duration,
  identitySchema,
  listenSchema,
  localLoginSchema,
  opsSchema,
  rolesSchema,
  ssoSchema,
  upstreamSchema,
} from './sections.js';
import { sessionSchema } from './session-section.js';

export { LOOPBACK_HOSTS } from './checks.js';

/** Keys the cloud-mode check reads; it still runs beside type errors elsewhere, so one run reports every problem. */
const CLOUD_CHECK_READS: ReadonlyArray<readonly string[]> = [
  ['mode'],
  ['public_url'],
  ['sso'],
  ['session', 'secrets'],
  ['session', 'store'],
  ['roles', 'source'],
  ['roles', 'url'],
  ['identity', 'assertion'],
  ['bearer'],
];

/** An issue that leaves a value the cloud check reads malformed (the key itself, or an enclosing object, failed). */
function blocksCloudCheck(issue: { code?: string; path?: readonly PropertyKey[] }): boolean {
  if (issue.code === 'unrecognized_keys') return false;
  const path = issue.path ?? [];
  return CLOUD_CHECK_READS.some((read) => {
    const shared = Math.min(read.length, path.length);
    for (let i = 0; i < shared; i++) if (read[i] !== path[i]) return false;
    return true;
  });
}

export const configSchema = z
  .strictObject({
    mode: z
      .enum(['auto', 'cloud', 'local'])
      .default('auto')
      .describe('cloud enforces SSO; local steps aside; auto is cloud as soon as any sso.* key or GATEHOUSE_SSO_* variable is set, local only when none is'),
    listen: listenSchema.prefault({}),
    ops: opsSchema.prefault({}),
    public_url: checked(publicUrlProblem)
      .default('')
      .describe('External URL of the app behind gatehouse, an origin without a path (https://app.example.com); builds redirect_uri. Required in cloud mode'),
    upstream: upstreamSchema.prefault({}),
    sso: ssoSchema.prefault({}),
    session: sessionSchema.prefault({}),
    roles: rolesSchema.prefault({}),
    identity: identitySchema.prefault({}),
    local_login: localLoginSchema.prefault({}),
    access: accessSchema.prefault({}),
    bearer: bearerSchema.prefault({}),
    public_paths: z
      .array(checked(pathPatternProblem))
      .default([])
      .describe('Paths that pass without SSO: exact, or prefixes ending in /; shorthand for access rules with allow: anonymous placed first'),
    cors_preflight: z.enum(['reject', 'pass']).default('reject').describe('pass forwards unauthenticated OPTIONS preflights to the app'),
    routes: z
      .strictObject({
        prefix: z
          .string()
          .regex(/^\/[A-Za-z0-9._~-]+$/, 'must be one path segment like /.auth')
          .default('/.auth')
          .describe("Prefix of gatehouse's own routes"),
      })
      .prefault({}),
    pages: z
      .strictObject({
        title: z.string().default('').describe("App name on gatehouse's pages"),
        logo_url: checked(logoUrlProblem).default('').describe("Logo on gatehouse's pages (http(s) URL)"),
        accent_color: checked(colourProblem).default('').describe("Button colour on gatehouse's pages (#rrggbb or #rgb)"),
      })
      .prefault({}),
    trust_proxy: z.array(checked(trustProxyProblem)).default([]).describe('CIDRs of proxies whose X-Forwarded-* headers are believed'),
    shutdown: z.strictObject({ drain_timeout: duration('10s').describe('Longest wait for in-flight requests at SIGTERM') }).prefault({}),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level'),
        access: z
          .boolean()
          .default(true)
          .describe('One access log line per request: method, path without query, status, duration, bytes, client address, user agent'),
        access_user: z.boolean().default(false).describe("Add the forwarded user's sub to access lines (personal data, hence off by default)"),
      })
      .prefault({}),
  })
  .superRefine(
    (config, ctx) => {
      if (config.listen.port !== 0 && config.listen.port === config.ops.port) {
        ctx.addIssue({
          code: 'custom',
          path: ['ops', 'port'],
          message: `is listen.port too (${config.listen.port}): the ops listener needs a port of its own`,
        });
      }
      const cloud = resolveMode(config) === 'cloud';
      if (!cloud) return;
      const required: Array<[string[], unknown]> = [
        [['public_url'], config.public_url],
        [['sso', 'issuer'], config.sso.issuer],
        [['sso', 'client_id'], config.sso.client_id],
      ];
      for (const [path, value] of required) {
        if (!value) ctx.addIssue({ code: 'custom', path, message: 'required in cloud mode' });
      }
      if (config.session.secrets.length === 0)
        ctx.addIssue({ code: 'custom', path: ['session', 'secrets'], message: 'required in cloud mode (at least one secret of 32+ characters)' });
      config.session.secrets.forEach((secret, i) => {
        if (secret.length < 32) ctx.addIssue({ code: 'custom', path: ['session', 'secrets', i], message: 'must be at least 32 characters' });
      });
      if ((config.sso.client_auth === 'client_secret_basic' || config.sso.client_auth === 'client_secret_post') && !config.sso.client_secret) {
        ctx.addIssue({ code: 'custom', path: ['sso', 'client_secret'], message: `required with client_auth ${config.sso.client_auth}` });
      }
      if (config.sso.client_auth === 'private_key_jwt') {
        const problem = config.sso.client_key
          ? clientKeyProblem(config.sso.client_key)
          : 'required with client_auth private_key_jwt (a PEM or JWK private key)';
        if (problem) ctx.addIssue({ code: 'custom', path: ['sso', 'client_key'], message: problem });
      }
      if (config.bearer.enabled && config.bearer.audiences.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['bearer', 'audiences'],
          message: 'required when bearer.enabled: the aud values of access tokens meant for this app',
        });
      }
      if (config.roles.source === 'url' && !config.roles.url)
        ctx.addIssue({ code: 'custom', path: ['roles', 'url'], message: 'required when roles.source is url' });
      if (config.session.store === 'redis') {
        for (const [key, file] of Object.entries(config.session.redis.tls)) {
          const problem = file ? pemFileProblem(file) : undefined;
          if (problem) ctx.addIssue({ code: 'custom', path: ['session', 'redis', 'tls', key], message: problem });
        }
      }
      const { assertion } = config.identity;
      if (config.session.store === 'redis' && assertion.enabled && assertion.keys.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['identity', 'assertion', 'keys'],
          message: 'required when session.store is redis: every replica must sign with the same key (an EC P-256 private key, PEM or JWK)',
        });
      }
    },
    { when: ({ issues }) => !issues.some(blocksCloudCheck) },
  );

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type Mode = 'cloud' | 'local';

type ModeFields = { mode: 'auto' | 'cloud' | 'local'; sso: { issuer: string; client_id: string } };

/**
 * The mode in force: `auto` is cloud when an issuer or a client id is configured (a partial SSO config then fails
 * the cloud checks instead of passing everything through). The loader also turns `auto` into `cloud` when any
 * other sso.* key or GATEHOUSE_SSO_* variable is set (see load.ts).
 */
export function resolveMode(config: ModeFields): Mode {
  if (config.mode !== 'auto') return config.mode;
  return config.sso.issuer || config.sso.client_id ? 'cloud' : 'local';
}

/** Key paths whose values never appear in output. */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'sso.client_secret',
  'sso.client_key',
  'session.secrets',
  'identity.assertion.keys',
  'session.redis.password',
  'session.redis.sentinel.password',
]);
