// Which incoming header names are identity headers that must never reach the app from a client.
import type { Config } from '../config/schema.js';

/** Default names from the identity contract: stripped even when renamed in config, so an app reading either is safe. */
const CONTRACT_NAMES = [
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-preferred-username',
  'x-forwarded-name',
  'x-forwarded-roles',
  'x-gatehouse-assertion',
  'x-forwarded-access-token',
];

export type IdentityHeaderTest = (name: string) => boolean;

/** Header names compare lower-cased with `_` read as `-` (`X_Forwarded_User` is `x-forwarded-user`). */
export function canonicalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  return lower.includes('_') ? lower.replaceAll('_', '-') : lower;
}

/** With bearer on (and pass_token off) `Authorization` is gatehouse's credential and never reaches the app either. */
export function compileIdentityHeaderTest(identity: Config['identity'], bearer?: Config['bearer']): IdentityHeaderTest {
  const names = new Set(CONTRACT_NAMES);
  if (bearer?.enabled && !bearer.pass_token) names.add('authorization');
  for (const name of Object.values(identity.headers)) names.add(canonicalHeaderName(name));
  const prefix = canonicalHeaderName(identity.strip_prefix);
  return (name) => {
    const canonical = canonicalHeaderName(name);
    return names.has(canonical) || (prefix !== '' && canonical.startsWith(prefix));
  };
}
