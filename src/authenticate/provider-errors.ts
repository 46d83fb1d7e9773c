// What a failed provider call means: unreachable (503), refused with an OAuth error, an unusable answer, or a
// rejected token; and the log text of openid-client's and jose's nested errors.
import * as oidc from 'openid-client';
import { GatehouseError, ProviderError, ProviderRefusedError, ProviderUnavailableError, TokenInvalidError } from '../errors.js';

/** Maps openid-client failures onto stable codes: the provider could not be reached, refused, or sent something invalid. */
export function classifyProviderError(error: unknown): GatehouseError {
  if (error instanceof GatehouseError) return error;
  const reason = describeError(error);
  if (error instanceof oidc.ResponseBodyError) {
    const description = error.error_description ? ` (${error.error_description.slice(0, 200)})` : '';
    const oauthError = error.error.slice(0, 64);
    return new ProviderRefusedError(oauthError, `provider refused: ${oauthError}${description}`, { cause: error });
  }
  if (error instanceof oidc.WWWAuthenticateChallengeError) {
    // e.g. 401 invalid_client at the token endpoint: a wrong client secret or client_auth, not a bad token
    const oauthError = (error.cause[0]?.parameters.error ?? `http_${error.status}`).slice(0, 64);
    return new ProviderRefusedError(oauthError, `provider refused: ${oauthError} (HTTP ${error.status} with WWW-Authenticate)`, { cause: error });
  }
  if (isNetworkError(error)) return new ProviderUnavailableError(`provider unreachable: ${reason}`, { cause: error });
  const status = unexpectedStatus(error);
  if (status !== undefined && status >= 500) return new ProviderUnavailableError(`provider answered HTTP ${status}: ${reason}`, { cause: error });
  if (status !== undefined || isUnreadableAnswer(error)) return new ProviderError(`provider answer unusable: ${reason}`, { cause: error });
  return new TokenInvalidError(`provider response rejected: ${reason}`, { cause: error });
}

/** The errors of an error and its causes (openid-client wraps oauth4webapi's), outermost first. */
function errorChain(error: unknown): Array<Error & { code?: unknown; cause?: unknown }> {
  const chain: Array<Error & { code?: unknown; cause?: unknown }> = [];
  for (let current = error; current instanceof Error && chain.length < 5; current = (current as { cause?: unknown }).cause) chain.push(current);
  return chain;
}

/** The HTTP status of an answer that was neither the expected one nor an OAuth error (a 5xx page, a 404). */
function unexpectedStatus(error: unknown): number | undefined {
  const failure = errorChain(error).find((link) => link.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM');
  return failure?.cause instanceof Response ? failure.cause.status : undefined;
}

/** A 2xx answer whose body is not the JSON it should be: the provider is broken, the user's tokens are not at fault. */
function isUnreadableAnswer(error: unknown): boolean {
  return errorChain(error).some(
    (link) => link.code === 'OAUTH_RESPONSE_IS_NOT_JSON' || (link.code === 'OAUTH_PARSE_ERROR' && link.message.includes('"response" body')),
  );
}

/** jose could not fetch the key set (a non-200 answer). */
export function isKeySetUnavailable(error: unknown): boolean {
  return errorChain(error).some((link) => link.message.startsWith('Expected 200 OK from the JSON Web Key Set'));
}

/** jose fetched something that is not a key set. */
export function isKeySetUnusable(error: unknown): boolean {
  return errorChain(error).some((link) => link.code === 'ERR_JWKS_INVALID' || link.message.startsWith('Failed to parse the JSON Web Key Set'));
}

export function isNetworkError(error: unknown): boolean {
  return errorChain(error).some(
    (link) => link.name === 'TimeoutError' || link.name === 'AbortError' || (link instanceof TypeError && link.message === 'fetch failed'),
  );
}

/**
 * "code: message" of an error and of each cause that adds something, so the log names the check that failed
 * (openid-client wraps the specific failure in a generic one). Non-Error causes are skipped: they can hold token claims.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const parts: string[] = [];
  for (const link of errorChain(error)) {
    const part = `${typeof link.code === 'string' ? `${link.code}: ` : ''}${link.message}`;
    if (!parts.some((earlier) => earlier.includes(part))) parts.push(part);
  }
  return parts.join('; ');
}
