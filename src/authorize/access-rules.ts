// Access rules: who may use which path. `access.rules` (first match wins, on the canonical path every decision
// reads), `access.default`, and the two older keys as shorthands: `public_paths` are anonymous rules placed
// first, `roles.required` makes the default refuse users without an app role. Pure: plain objects in, a
// decision out, so it is evaluated on every request (a role removed at refresh takes effect at once).
import type { Config } from '../config/schema.js';
import { compilePathMatcher, type PathMatcher } from './path-matcher.js';
import { canonicalTarget } from '../http/request-target.js';
import { claimAt } from '../identity/roles.js';

/** Who asks: app roles after roles.map, and the claims the rules read (see policyClaimKeys). */
export interface AccessSubject {
  roles: readonly string[];
  email?: string | undefined;
  claims: Readonly<Record<string, unknown>>;
}

export interface Grants {
  roles: readonly string[];
  /** Lower-cased. */
  emails: ReadonlySet<string>;
  /** Lower-cased. */
  emailDomains: readonly string[];
  claims: ReadonlyArray<{ path: string; values: ReadonlySet<string> }>;
}

/** What a path asks of a request; `source` names the config entry that decided (for logs and tests). */
export type Requirement =
  | { readonly kind: 'anonymous'; readonly source: string }
  | { readonly kind: 'signed_in'; readonly source: string }
  /** roles.required on the default: a signed-in user with at least one app role. */
  | { readonly kind: 'any_role'; readonly source: string }
  | { readonly kind: 'deny'; readonly source: string }
  | { readonly kind: 'allow'; readonly source: string; readonly grants: Grants };

/** A refusal: `no_access` (no app role at all, roles.required) or `forbidden` (a rule or the default refuses). */
export type Verdict = { readonly granted: true } | { readonly granted: false; readonly code: 'no_access' | 'forbidden'; readonly requirement: Requirement };

const GRANTED: Verdict = Object.freeze({ granted: true as const });

interface CompiledRule {
  matches: PathMatcher;
  methods: ReadonlySet<string> | undefined;
  requirement: Requirement;
  /** The first path segment every path it matches starts with; undefined: it can match any path (`/` prefix, several public paths). */
  segment: string | undefined;
}

type PolicyConfig = Pick<Config, 'access' | 'public_paths' | 'roles'>;

export class AccessPolicy {
  /** Per first path segment, the rules that can match a path starting with it, in config order. */
  private readonly bySegment: ReadonlyMap<string, readonly CompiledRule[]>;
  /** The rules that can match a path whose first segment no rule names. */
  private readonly anySegment: readonly CompiledRule[];
  private readonly fallback: Requirement;
  /** Top-level claim names a session keeps for the rules (email_verified, the first segments of claim paths). */
  readonly claimKeys: readonly string[];
  /** Whether any requirement other than anonymous/signed_in exists (forward-auth then needs the original URI). */
  readonly pathDependent: boolean;

  constructor(config: PolicyConfig) {
    const rules: CompiledRule[] = [];
    if (config.public_paths.length > 0) {
      rules.push({
        matches: compilePathMatcher(config.public_paths),
        methods: undefined,
        requirement: { kind: 'anonymous', source: 'public_paths' },
        segment: undefined,
      });
    }
    config.access.rules.forEach((rule, index) => {
      const source = `access.rules.${index} (${rule.path})`;
      const requirement: Requirement =
        rule.allow === 'anonymous' ? { kind: 'anonymous', source } : { kind: 'allow', source, grants: compileGrants(rule.allow) };
      const matches = compilePathMatcher([rule.path]);
      rules.push({ matches, methods: methodSet(rule.methods), requirement, segment: segmentOfPattern(rule.path) });
    });
    // Indexed by first segment so that 50 rules cost what the few rules for that segment cost (docs/performance.md: bench row).
    this.anySegment = rules.filter((rule) => rule.segment === undefined);
    const bySegment = new Map<string, CompiledRule[]>();
    for (const rule of rules)
      if (rule.segment !== undefined && !bySegment.has(rule.segment))
        bySegment.set(
          rule.segment,
          rules.filter((r) => r.segment === undefined || r.segment === rule.segment),
        );
    this.bySegment = bySegment;
    this.fallback =
      config.access.default === 'deny'
        ? { kind: 'deny', source: 'access.default' }
        : config.roles.required
          ? { kind: 'any_role', source: 'roles.required' }
          : { kind: 'signed_in', source: 'access.default' };
    this.claimKeys = policyClaimKeys(config.access.rules);
    this.pathDependent = config.access.rules.length > 0 || config.public_paths.length > 0 || config.access.default === 'deny';
  }

  /** The requirement of the first rule matching the canonical path and method; the default when none does. */
  requirementFor(path: string, method: string | undefined): Requirement {
    if (this.anySegment.length === 0 && this.bySegment.size === 0) return this.fallback;
    const end = path.indexOf('/', 1);
    const rules = this.bySegment.get(end === -1 ? path.slice(1) : path.slice(1, end)) ?? this.anySegment;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule;
      if (rule.matches(path) && (rule.methods === undefined || rule.methods.has(method ?? 'GET'))) return rule.requirement;
    }
    return this.fallback;
  }
}

/** Whether a signed-in subject meets the requirement (anonymous and signed_in always do). */
export function decide(requirement: Requirement, subject: AccessSubject): Verdict {
  switch (requirement.kind) {
    case 'anonymous':
    case 'signed_in':
      return GRANTED;
    case 'any_role':
      return subject.roles.length > 0 ? GRANTED : { granted: false, code: 'no_access', requirement };
    case 'deny':
      return { granted: false, code: 'forbidden', requirement };
    case 'allow':
      return meets(requirement.grants, subject) ? GRANTED : { granted: false, code: 'forbidden', requirement };
  }
}

/**
 * What a refused user lacks, in words for the no-access page: roles, claim values and email domains are named;
 * allowed email addresses are not (they are other people's addresses).
 */
export function describeRequirement(requirement: Requirement): string | undefined {
  if (requirement.kind === 'deny') return 'no rule allows this page for anyone';
  if (requirement.kind !== 'allow') return undefined;
  const { grants } = requirement;
  const parts: string[] = [];
  if (grants.roles.length === 1) parts.push(`the role ${grants.roles[0] as string}`);
  else if (grants.roles.length > 1) parts.push(`one of the roles ${grants.roles.join(', ')}`);
  for (const { path, values } of grants.claims) parts.push(`${path} ${values.size === 1 ? '' : 'one of '}${[...values].join(', ')}`);
  if (grants.emailDomains.length > 0) parts.push(`a verified email address at ${grants.emailDomains.join(', ')}`);
  if (grants.emails.size > 0) parts.push('an email address on the allowed list');
  return parts.join(', or ');
}

/** The JSON form of what a refused API client lacks (the same facts as describeRequirement). */
export function requirementJson(requirement: Requirement): Record<string, unknown> | undefined {
  if (requirement.kind !== 'allow') return undefined;
  const { grants } = requirement;
  const json: Record<string, unknown> = {};
  if (grants.roles.length > 0) json['roles'] = [...grants.roles];
  if (grants.claims.length > 0) json['claims'] = Object.fromEntries(grants.claims.map(({ path, values }) => [path, [...values]]));
  if (grants.emailDomains.length > 0) json['email_domains'] = [...grants.emailDomains];
  if (grants.emails.size > 0) json['emails'] = 'an allowed list (not shown)';
  return json;
}

/**
 * The top-level claims a session must keep so the rules can be evaluated later (at every request, after
 * refresh): email_verified, and for a claim path `a.b.c` each of `a`, `a.b`, `a.b.c` (keys may contain dots).
 */
export function policyClaimKeys(rules: Config['access']['rules']): string[] {
  const keys = new Set<string>();
  for (const rule of rules) {
    if (rule.allow === 'anonymous') continue;
    if (rule.allow.email_domains.length > 0 || rule.allow.emails.length > 0) keys.add('email_verified');
    for (const path of Object.keys(rule.allow.claims)) {
      const segments = path.split('.');
      for (let end = 1; end <= segments.length; end++) keys.add(segments.slice(0, end).join('.'));
    }
  }
  return [...keys];
}

/** The claims named by `keys` (absent ones left out). */
export function pickClaims(claims: Readonly<Record<string, unknown>>, keys: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const key of keys) if (Object.hasOwn(claims, key)) picked[key] = claims[key];
  return picked;
}

function compileGrants(allow: Exclude<Config['access']['rules'][number]['allow'], 'anonymous'>): Grants {
  return {
    roles: [...allow.roles],
    emails: new Set(allow.emails.map((email) => email.toLowerCase())),
    emailDomains: allow.email_domains.map((domain) => domain.toLowerCase().replace(/^@/, '')),
    claims: Object.entries(allow.claims).map(([path, values]) => ({ path, values: new Set(values.map(String)) })),
  };
}

/** The first segment of a (canonical) pattern; undefined for `/` itself, which as a prefix matches every path. */
function segmentOfPattern(pattern: string): string | undefined {
  const canonical = canonicalTarget(pattern);
  if (!canonical.ok || canonical.path === '/') return undefined;
  const end = canonical.path.indexOf('/', 1);
  return end === -1 ? canonical.path.slice(1) : canonical.path.slice(1, end);
}

/** GET covers HEAD too: a page readable with GET is readable with HEAD. */
function methodSet(methods: readonly string[] | undefined): ReadonlySet<string> | undefined {
  if (methods === undefined) return undefined;
  const set = new Set(methods.map((method) => method.toUpperCase()));
  if (set.has('GET')) set.add('HEAD');
  return set;
}

function meets(grants: Grants, subject: AccessSubject): boolean {
  for (const role of grants.roles) if (subject.roles.includes(role)) return true;
  if ((grants.emails.size > 0 || grants.emailDomains.length > 0) && subject.email !== undefined && emailVerified(subject.claims)) {
    const email = subject.email.toLowerCase();
    if (grants.emails.has(email)) return true;
    const at = email.lastIndexOf('@');
    if (at > 0 && grants.emailDomains.includes(email.slice(at + 1))) return true;
  }
  for (const { path, values } of grants.claims) {
    const value = claimAt(subject.claims, path);
    if (Array.isArray(value)) {
      for (const item of value) if (isScalar(item) && values.has(String(item))) return true;
    } else if (isScalar(value) && values.has(String(value))) {
      return true;
    }
  }
  return false;
}

/** `true`, or the string "true" some providers send (Amazon Cognito). */
function emailVerified(claims: Readonly<Record<string, unknown>>): boolean {
  const verified = claims['email_verified'];
  return verified === true || verified === 'true';
}

function isScalar(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}
