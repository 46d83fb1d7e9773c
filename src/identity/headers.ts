// The identity headers of one session, computed once at sign-in/refresh; the hot path only appends them.
//
// Values follow the rule in header-value.ts (decode with `decodeURIComponent`). Roles are joined with `,`;
// each role is encoded on its own first, so a `,` inside a role arrives as `%2C` and the app reads
// `value.split(',').map(decodeURIComponent)`. A roles value over 4 KiB drops whole roles from the end,
// never part of one (a cut role name could read as another, more powerful role).
// The assertion header is not here: its value changes over time (see assertion.ts).
import type { IdentityClaims } from '../session/types.js';
import { encodeHeaderValue, HEADER_VALUE_LIMIT, type HeaderEncoding } from './header-value.js';

/** The session's current access token for the app (identity.pass_access_token); stripped from clients like every identity header. */
export const ACCESS_TOKEN_HEADER = 'x-forwarded-access-token';

/** Header names per claim; structurally `Config['identity']['headers']`. */
export interface IdentityHeaderNames {
  user: string;
  email: string;
  preferred_username: string;
  name: string;
  roles: string;
  assertion: string;
}

/**
 * The names as gatehouse sends them: lower-cased, as HTTP/2 always writes them (names are case-insensitive). undici
 * lower-cases every request header name it does not know, on every request: a new string per identity header.
 */
export function namesOnTheWire(names: IdentityHeaderNames): IdentityHeaderNames {
  return {
    user: names.user.toLowerCase(),
    email: names.email.toLowerCase(),
    preferred_username: names.preferred_username.toLowerCase(),
    name: names.name.toLowerCase(),
    roles: names.roles.toLowerCase(),
    assertion: names.assertion.toLowerCase(),
  };
}

/**
 * Flat `[name, value, name, value, …]` list for a session. A header is left out when its claim is absent
 * or empty once cleaned. `onTruncate` is called once per header that had to be cut at 4 KiB.
 */
export function buildIdentityHeaders(
  claims: IdentityClaims,
  roles: readonly string[],
  names: IdentityHeaderNames,
  onTruncate?: (header: string) => void,
): string[] {
  const headers: string[] = [];
  const add = (name: string, claim: string | undefined, encoding: HeaderEncoding): void => {
    if (claim === undefined || claim === '') return;
    const encoded = encodeHeaderValue(claim, encoding);
    if (encoded.truncated) onTruncate?.(name);
    if (encoded.value !== '') headers.push(name, encoded.value);
  };
  add(names.user, claims.sub, 'non-ascii');
  add(names.email, claims.email, 'non-ascii');
  add(names.preferred_username, claims.preferred_username, 'non-ascii');
  add(names.name, claims.name, 'uri-component');
  const joined = joinRoles(roles);
  if (joined.truncated) onTruncate?.(names.roles);
  if (joined.value !== '') headers.push(names.roles, joined.value);
  return headers;
}

function joinRoles(roles: readonly string[]): { value: string; truncated: boolean } {
  let value = '';
  for (const role of roles) {
    const encoded = encodeHeaderValue(role, 'non-ascii', Infinity).value.replaceAll(',', '%2C');
    if (encoded === '') continue;
    const next = value === '' ? encoded : `${value},${encoded}`;
    if (next.length > HEADER_VALUE_LIMIT) return { value, truncated: true };
    value = next;
  }
  return { value, truncated: false };
}
