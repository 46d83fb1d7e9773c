// Options for providers that step outside the common OpenID Connect path: extra authorization parameters (Google's
// access_type=offline, a provider that wants prompt=consent before it issues a refresh token) and a logout URL for
// providers whose logout is not an end_session_endpoint (Auth0's /v2/logout, Amazon Cognito's /logout).

/** Parameters gatehouse sets itself on every authorization request; sso.extra_auth_params may not replace them. */
export const RESERVED_AUTH_PARAMS: ReadonlySet<string> = new Set([
  'client_id',
  'redirect_uri',
  'response_type',
  'response_mode',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'request',
  'request_uri',
]);

/** Placeholders of sso.logout_url, each replaced by the URL-encoded value. */
export const LOGOUT_URL_PLACEHOLDERS = ['client_id', 'post_logout_redirect_uri', 'id_token_hint', 'state'] as const;
export type LogoutUrlValues = Record<(typeof LOGOUT_URL_PLACEHOLDERS)[number], string>;

/** Why a sso.extra_auth_params name cannot be used, or undefined. */
export function extraAuthParamProblem(name: string): string | undefined {
  if (RESERVED_AUTH_PARAMS.has(name)) return `${name} is set by gatehouse itself and cannot be replaced`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return 'parameter names are letters, digits, _ . -';
  return undefined;
}

/** Why a sso.logout_url template is unusable, or undefined. */
export function logoutUrlProblem(template: string): string | undefined {
  if (template === '') return undefined;
  const unknown = [...template.matchAll(/\{([^}]*)\}/g)]
    .map((match) => match[1] ?? '')
    .find((name) => !(LOGOUT_URL_PLACEHOLDERS as readonly string[]).includes(name));
  if (unknown !== undefined) return `unknown placeholder {${unknown}} (known: ${LOGOUT_URL_PLACEHOLDERS.map((name) => `{${name}}`).join(', ')})`;
  let url: URL;
  try {
    url = new URL(fillLogoutUrl(template, { client_id: 'c', post_logout_redirect_uri: 'p', id_token_hint: 'i', state: 's' }));
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an absolute http(s) URL';
  return undefined;
}

/** The template with every placeholder replaced by its URL-encoded value (an absent value leaves the parameter empty). */
export function fillLogoutUrl(template: string, values: LogoutUrlValues): string {
  return template.replace(/\{(client_id|post_logout_redirect_uri|id_token_hint|state)\}/g, (_whole, name: keyof LogoutUrlValues) =>
    encodeURIComponent(values[name]),
  );
}

/**
 * The authorization request's parameters: sso.extra_auth_params first, then gatehouse's own (which win). The prompt
 * of extra_auth_params applies to interactive requests only; a silent attempt always sends prompt=none.
 */
export function withExtraAuthParams(extra: Readonly<Record<string, string>>, own: Record<string, string>): Record<string, string> {
  return { ...extra, ...own };
}
