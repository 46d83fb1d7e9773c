// Provider roles → app roles: reading them from a claim or a roles URL, and mapping them by `roles.*` config.
import type { Config } from '../config/schema.js';
import { GatehouseError, ProviderError, TokenInvalidError } from '../errors.js';

export interface RolePolicy {
  /** Dotted path of the roles claim. */
  claim: string;
  /** Provider role → app roles; empty: provider roles pass unchanged. A Map, so a role named `constructor` is just a name. */
  map: ReadonlyMap<string, readonly string[]>;
  passUnmapped: boolean;
  defaults: readonly string[];
}

export function compileRolePolicy(roles: Config['roles']): RolePolicy {
  const map = new Map<string, readonly string[]>();
  for (const [providerRole, appRoles] of Object.entries(roles.map)) {
    map.set(providerRole, typeof appRoles === 'string' ? [appRoles] : [...appRoles]);
  }
  return { claim: roles.claim, map, passUnmapped: roles.pass_unmapped, defaults: [...roles.default] };
}

/**
 * The roles at a dotted claim path (`realm_access.roles`, `resource_access.app.roles`): an array of strings,
 * or one string of roles separated by spaces or commas. Anything else is no roles.
 * A key that itself contains dots (`https://example.com/roles`, a client id `my.app`) is found too: at each
 * level the longest key present wins.
 */
export function readClaimRoles(claims: Record<string, unknown>, claimPath: string): string[] {
  const value = lookup(claims, claimPath.split('.'), 0);
  if (typeof value === 'string') return splitRoleList(value);
  if (!Array.isArray(value)) return [];
  const roles: string[] = [];
  for (const item of value) {
    if (typeof item !== 'string') continue;
    const role = item.trim();
    if (role !== '') roles.push(role);
  }
  return roles;
}

/** The answer of `roles.url`: a JSON array of strings or `{ "roles": [...] }`; undefined when it is anything else. */
export function parseRolesDocument(body: unknown): string[] | undefined {
  const list = Array.isArray(body) ? body : isObject(body) && Array.isArray(body['roles']) ? body['roles'] : undefined;
  if (list === undefined) return undefined;
  const roles: string[] = [];
  for (const item of list) {
    if (typeof item !== 'string') return undefined;
    const role = item.trim();
    if (role !== '') roles.push(role);
  }
  return roles;
}

/**
 * App roles for a user: with an empty map the provider roles pass unchanged; otherwise each provider role
 * becomes its mapped roles, unmapped ones dropped unless `passUnmapped`. Defaults are added; the result is
 * de-duplicated in first-seen order.
 */
export function mapRoles(providerRoles: readonly string[], policy: RolePolicy): string[] {
  const appRoles = new Set<string>();
  for (const role of providerRoles) {
    const mapped = policy.map.get(role);
    if (mapped !== undefined) for (const appRole of mapped) appRoles.add(appRole);
    else if (policy.map.size === 0 || policy.passUnmapped) appRoles.add(role);
  }
  for (const role of policy.defaults) appRoles.add(role);
  return [...appRoles];
}

/**
 * GET `url` with the user's access token and read the roles it answers. Any failure (status other than
 * 200, a redirect, unreadable JSON, timeout, network error) throws `GH_PROVIDER_ERROR`; messages never
 * carry the token.
 */
export async function fetchUrlRoles(url: string, accessToken: string, fetchImpl: typeof fetch, timeoutMs: number): Promise<string[]> {
  const where = describeUrl(url);
  let response: Response;
  let text: string;
  try {
    response = await fetchImpl(url, {
      method: 'GET',
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new ProviderError(`roles URL ${where} answered ${response.status}`);
    }
    text = await response.text();
  } catch (error) {
    if (error instanceof GatehouseError) throw error;
    const reason = isTimeout(error) ? `did not answer within ${timeoutMs} ms` : 'could not be reached';
    throw new ProviderError(`roles URL ${where} ${reason}`, { cause: error });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ProviderError(`roles URL ${where} answered something that is not JSON`);
  }
  const roles = parseRolesDocument(body);
  if (roles === undefined) {
    throw new ProviderError(`roles URL ${where} answered JSON that is neither an array of strings nor {"roles": [...]}`);
  }
  return roles;
}

/** The value at a dotted claim path (keys containing dots found as in readClaimRoles); undefined when absent. */
export function claimAt(claims: Readonly<Record<string, unknown>>, claimPath: string): unknown {
  return lookup(claims, claimPath.split('.'), 0);
}

function lookup(value: unknown, segments: readonly string[], start: number): unknown {
  if (start === segments.length) return value;
  if (!isObject(value)) return undefined;
  for (let end = segments.length; end > start; end--) {
    const key = segments.slice(start, end).join('.');
    if (!Object.hasOwn(value, key)) continue;
    const found = lookup(value[key], segments, end);
    if (found !== undefined) return found;
  }
  return undefined;
}

function splitRoleList(value: string): string[] {
  return value.split(/[\s,]+/).filter((role) => role !== '');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || (error.cause instanceof Error && error.cause.name === 'TimeoutError'));
}

/** Origin and path only: a query string could carry a secret. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** Where a session's app roles come from: a claim of the ID token, or the roles URL called with the access token. */
export interface RoleSource {
  /** roles.claim, map, pass_unmapped, default */
  policy: RolePolicy;
  /** roles.source is url: the roles are fetched there with the access token (within `timeoutMs`), not read from a claim. */
  fromUrl?: { url: string; timeoutMs: number };
}

/** The app roles of freshly issued tokens (sign-in or refresh). */
export async function appRoles(
  tokens: { accessToken?: string | undefined; claims: Record<string, unknown> },
  { policy, fromUrl }: RoleSource,
): Promise<string[]> {
  let providerRoles: string[];
  if (fromUrl) {
    if (!tokens.accessToken) throw new TokenInvalidError('roles.source is url but the provider issued no access token');
    providerRoles = await fetchUrlRoles(fromUrl.url, tokens.accessToken, fetch, fromUrl.timeoutMs);
  } else {
    providerRoles = readClaimRoles(tokens.claims, policy.claim);
  }
  return mapRoles(providerRoles, policy);
}
