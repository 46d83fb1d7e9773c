// Access rules as plain data: first match wins on the canonical path, methods, the shorthands, every grant kind.
import { describe, expect, it } from 'vitest';
import { AccessPolicy, decide, describeRequirement, policyClaimKeys, requirementJson, type AccessSubject } from '../../../src/authorize/access-rules.js';
import { configSchema, type Config } from '../../../src/config/schema.js';

function policy(over: Record<string, unknown>): { policy: AccessPolicy; config: Config } {
  const config = configSchema.parse({ mode: 'local', ...over });
  return { policy: new AccessPolicy(config), config };
}

const user = (over: Partial<AccessSubject> = {}): AccessSubject => ({ roles: [], claims: {}, ...over });

describe('AccessPolicy.requirementFor', () => {
  const { policy: rules } = policy({
    public_paths: ['/healthz'],
    access: {
      rules: [
        { path: '/status', allow: 'anonymous' },
        { path: '/admin/', methods: ['GET'], allow: { roles: ['admin'] } },
        { path: '/admin/', allow: { roles: ['owner'] } },
        { path: '/a%20b/', allow: { roles: ['spaced'] } },
      ],
    },
  });

  it('first match wins: exact path, prefix ending in / (and its bare form), methods (GET covers HEAD)', () => {
    expect(rules.requirementFor('/healthz', 'POST').source).toBe('public_paths');
    expect(rules.requirementFor('/status', 'GET').kind).toBe('anonymous');
    expect(rules.requirementFor('/status/x', 'GET').kind).toBe('signed_in');
    expect(rules.requirementFor('/admin/users', 'GET').source).toBe('access.rules.1 (/admin/)');
    expect(rules.requirementFor('/admin/users', 'HEAD').source).toBe('access.rules.1 (/admin/)');
    expect(rules.requirementFor('/admin', 'GET').source).toBe('access.rules.1 (/admin/)');
    expect(rules.requirementFor('/admin/users', 'POST').source).toBe('access.rules.2 (/admin/)');
    expect(rules.requirementFor('/administrator', 'GET').kind).toBe('signed_in');
    expect(rules.requirementFor('/', 'GET').kind).toBe('signed_in');
  });

  it('patterns are canonical like request paths (a space and %20 are one path)', () => {
    expect(rules.requirementFor('/a%20b/x', 'GET').source).toBe('access.rules.3 (/a%20b/)');
    expect(policy({ access: { rules: [{ path: '/a b/', allow: { roles: ['r'] } }] } }).policy.requirementFor('/a%20b/x', 'GET').kind).toBe('allow');
  });

  it('config order holds across the first-segment index: a / prefix between two /admin rules, several public paths', () => {
    const { policy: indexed } = policy({
      public_paths: ['/admin/open', '/static/'],
      access: {
        rules: [
          { path: '/admin/x', allow: { roles: ['a'] } },
          { path: '/', methods: ['POST'], allow: { roles: ['b'] } },
          { path: '/admin/', allow: { roles: ['c'] } },
        ],
      },
    });
    expect(indexed.requirementFor('/admin/open', 'POST').source).toBe('public_paths');
    expect(indexed.requirementFor('/static/app.js', 'GET').source).toBe('public_paths');
    expect(indexed.requirementFor('/admin/x', 'POST').source).toBe('access.rules.0 (/admin/x)');
    expect(indexed.requirementFor('/admin/y', 'POST').source).toBe('access.rules.1 (/)');
    expect(indexed.requirementFor('/admin/y', 'GET').source).toBe('access.rules.2 (/admin/)');
    expect(indexed.requirementFor('/admin', 'GET').source).toBe('access.rules.2 (/admin/)');
    expect(indexed.requirementFor('/other', 'POST').source).toBe('access.rules.1 (/)');
    expect(indexed.requirementFor('/', 'GET').kind).toBe('signed_in');
    expect(indexed.requirementFor('/adminx', 'GET').kind).toBe('signed_in');
  });

  it('the default: signed_in, any_role under roles.required, deny', () => {
    expect(policy({}).policy.requirementFor('/x', 'GET').kind).toBe('signed_in');
    expect(policy({ roles: { required: true } }).policy.requirementFor('/x', 'GET').kind).toBe('any_role');
    expect(policy({ roles: { required: true }, access: { default: 'deny' } }).policy.requirementFor('/x', 'GET').kind).toBe('deny');
  });
});

describe('decide', () => {
  const { policy: rules } = policy({
    access: {
      rules: [
        { path: '/admin/', allow: { roles: ['admin'] } },
        {
          path: '/reports/',
          allow: { email_domains: ['Example.com'], emails: ['Auditor@partner.example'], claims: { groups: ['finance'], 'org.unit': ['42'] } },
        },
      ],
    },
  });
  const admin = rules.requirementFor('/admin/', 'GET');
  const reports = rules.requirementFor('/reports/q1', 'GET');

  it('roles: any one of the listed app roles grants', () => {
    expect(decide(admin, user({ roles: ['user', 'admin'] }))).toEqual({ granted: true });
    expect(decide(admin, user({ roles: ['user'] }))).toEqual({ granted: false, code: 'forbidden', requirement: admin });
  });

  it('emails and email domains only with email_verified true (or "true"), compared case-insensitively', () => {
    expect(decide(reports, user({ email: 'ann@EXAMPLE.com', claims: { email_verified: true } })).granted).toBe(true);
    expect(decide(reports, user({ email: 'ann@example.com', claims: { email_verified: 'true' } })).granted).toBe(true);
    expect(decide(reports, user({ email: 'ann@example.com', claims: { email_verified: false } })).granted).toBe(false);
    expect(decide(reports, user({ email: 'ann@example.com', claims: {} })).granted).toBe(false);
    expect(decide(reports, user({ email: 'ann@sub.example.com', claims: { email_verified: true } })).granted).toBe(false);
    expect(decide(reports, user({ email: 'ann@example.com.evil', claims: { email_verified: true } })).granted).toBe(false);
    expect(decide(reports, user({ email: 'auditor@partner.example', claims: { email_verified: true } })).granted).toBe(true);
    expect(decide(reports, user({ email: 'auditor@partner.example', claims: { email_verified: false } })).granted).toBe(false);
  });

  it('claims: a value in an array claim or the scalar claim itself, at a dotted path', () => {
    expect(decide(reports, user({ claims: { groups: ['staff', 'finance'] } })).granted).toBe(true);
    expect(decide(reports, user({ claims: { groups: 'finance' } })).granted).toBe(true);
    expect(decide(reports, user({ claims: { groups: 'finance,staff' } })).granted).toBe(false);
    expect(decide(reports, user({ claims: { groups: [{ name: 'finance' }] } })).granted).toBe(false);
    expect(decide(reports, user({ claims: { org: { unit: 42 } } })).granted).toBe(true);
    expect(decide(reports, user({ claims: { 'org.unit': ['42'] } })).granted).toBe(true);
    expect(decide(reports, user({ claims: { org: { unit: 43 } } })).granted).toBe(false);
  });

  it('any_role refuses a user without app roles with no_access; deny refuses everyone', () => {
    const anyRole = policy({ roles: { required: true } }).policy.requirementFor('/', 'GET');
    expect(decide(anyRole, user({ roles: [] }))).toEqual({ granted: false, code: 'no_access', requirement: anyRole });
    expect(decide(anyRole, user({ roles: ['x'] })).granted).toBe(true);
    const deny = policy({ access: { default: 'deny' } }).policy.requirementFor('/', 'GET');
    expect(decide(deny, user({ roles: ['admin'] }))).toEqual({ granted: false, code: 'forbidden', requirement: deny });
  });

  it("names what is missing, without listing other people's email addresses", () => {
    expect(describeRequirement(admin)).toBe('the role admin');
    expect(describeRequirement(reports)).toBe(
      'groups finance, or org.unit 42, or a verified email address at example.com, or an email address on the allowed list',
    );
    expect(requirementJson(reports)).toEqual({
      claims: { groups: ['finance'], 'org.unit': ['42'] },
      email_domains: ['example.com'],
      emails: 'an allowed list (not shown)',
    });
  });
});

describe('config', () => {
  it('keeps the claims the rules read, every prefix of a dotted path', () => {
    const { config } = policy({ access: { rules: [{ path: '/r/', allow: { email_domains: ['x.org'], claims: { 'resource_access.app.roles': ['a'] } } }] } });
    expect(policyClaimKeys(config.access.rules)).toEqual(['email_verified', 'resource_access', 'resource_access.app', 'resource_access.app.roles']);
  });

  it('refuses a rule that names nobody, a bad path, a bad method', () => {
    const result = configSchema.safeParse({
      mode: 'local',
      access: {
        rules: [
          { path: '/a/', allow: {} },
          { path: 'nope', allow: 'anonymous' },
          { path: '/b', methods: ['G T'], allow: 'anonymous' },
        ],
      },
    });
    expect(result.success).toBe(false);
    const messages = result.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    expect(messages).toEqual([
      'access.rules.0.allow: names nobody: give roles, emails, email_domains or claims (or allow: anonymous)',
      'access.rules.1.path: "nope" must start with /',
      'access.rules.2.methods.0: must be an HTTP method like GET',
    ]);
  });

  it('bearer.enabled needs audiences in cloud mode', () => {
    const result = configSchema.safeParse({
      mode: 'cloud',
      public_url: 'https://app.example',
      sso: { issuer: 'https://id.example', client_id: 'c', client_secret: 's' },
      session: { secrets: ['x'.repeat(32)] },
      bearer: { enabled: true },
    });
    expect(result.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toEqual([
      'bearer.audiences: required when bearer.enabled: the aud values of access tokens meant for this app',
    ]);
  });
});
