// Start-up hints for cloud configs that are valid but most likely a mistake; each is one warn log line.
import { LOOPBACK_HOSTS } from './checks.js';
import type { Config } from './schema.js';

export function cloudConfigHints(config: Config): string[] {
  const hints: string[] = [];
  const publicUrl = new URL(config.public_url);
  if (publicUrl.protocol === 'http:' && !LOOPBACK_HOSTS.has(publicUrl.hostname)) {
    hints.push('public_url is http: the session cookie is not Secure and redirect_uri is http; behind TLS offload set public_url to the https URL users see');
  }
  if (!config.sso.scopes.includes('offline_access')) {
    hints.push('sso.scopes has no offline_access: unless the provider issues refresh tokens anyway, roles and claims are read only at sign-in');
  }
  return hints;
}
