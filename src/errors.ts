// gatehouse's failures, one class per kind (undici's lib/core/errors.js is the model). Each carries a stable `code`
// (logs and tests match on it, never on the message), the HTTP `status` a client gets and the `publicCode` it sees.
// The message is for the log only: it may quote a library or the provider, so no client ever sees it.

export type ErrorCode =
  'GH_CONFIG_INVALID' | 'GH_PATH_PATTERN_INVALID' | 'GH_PROVIDER_UNAVAILABLE' | 'GH_PROVIDER_ERROR' | 'GH_TOKEN_INVALID' | 'GH_STORE_UNAVAILABLE';

export abstract class GatehouseError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly status: number;
  abstract readonly publicCode: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Invalid configuration: one line per problem, each naming the key path. */
export class ConfigError extends GatehouseError {
  override readonly code = 'GH_CONFIG_INVALID';
  override readonly status = 500;
  override readonly publicCode = 'internal_error';

  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`);
  }
}

/** A path rule (public or local-login path) that is not a plain absolute path; the config layer names it. */
export class PathPatternError extends GatehouseError {
  override readonly code = 'GH_PATH_PATTERN_INVALID';
  override readonly status = 500;
  override readonly publicCode = 'internal_error';

  constructor(
    readonly pattern: string,
    readonly problem: string,
  ) {
    super(`path pattern ${JSON.stringify(pattern)} ${problem}`);
  }
}

/** The provider could not be reached, timed out, answered 5xx, or its metadata or keys are not loaded yet. */
export class ProviderUnavailableError extends GatehouseError {
  override readonly code = 'GH_PROVIDER_UNAVAILABLE';
  override readonly status = 503;
  override readonly publicCode = 'provider_unavailable';
}

/** The provider answered something unusable, or lacks what gatehouse needs (an endpoint, usable keys). */
export class ProviderError extends GatehouseError {
  override readonly code = 'GH_PROVIDER_ERROR';
  override readonly status = 502;
  override readonly publicCode = 'provider_error';
}

/** The provider answered with an OAuth error (RFC 6749 §5.2), such as invalid_grant or invalid_client. */
export class ProviderRefusedError extends ProviderError {
  constructor(
    /** The provider's `error`, at most 64 characters. */
    readonly oauthError: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A token (ID token, bearer token, token response) fails a check: signature, claims, subject. */
export class TokenInvalidError extends GatehouseError {
  override readonly code = 'GH_TOKEN_INVALID';
  override readonly status = 401;
  override readonly publicCode = 'invalid_token';
}

/** The session store (Redis) is not connected or a command failed. */
export class StoreUnavailableError extends GatehouseError {
  override readonly code = 'GH_STORE_UNAVAILABLE';
  override readonly status = 503;
  override readonly publicCode = 'store_unavailable';
}

/**
 * The `error` of gatehouse's answers that no failure class names, by status: a malformed request, a stalled body,
 * an unknown route, the app unreachable or slow, and any failure a request did not expect (500, or 503 when a part
 * gatehouse needs is down: such an answer does not say which).
 */
const STATUS_CODES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  408: 'request_timeout',
  500: 'internal_error',
  502: 'upstream_unreachable',
  503: 'unavailable',
  504: 'upstream_timeout',
};

export function publicCodeOf(status: number): string {
  return STATUS_CODES[status] ?? 'error';
}
