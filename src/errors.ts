// Error classes with stable codes: callers and tests match on `code`, never on the message.

export type ErrorCode =
  | 'GH_CONFIG_INVALID'
  | 'GH_UPSTREAM_UNREACHABLE'
  | 'GH_UPSTREAM_TIMEOUT'
  | 'GH_PROVIDER_UNAVAILABLE'
  | 'GH_PROVIDER_ERROR'
  | 'GH_STATE_INVALID'
  | 'GH_TOKEN_INVALID'
  | 'GH_STORE_UNAVAILABLE';

export class GatehouseError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Invalid configuration: one line per problem, each naming the key path. */
export class ConfigError extends GatehouseError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('GH_CONFIG_INVALID', `invalid configuration:\n${problems.join('\n')}`);
    this.problems = problems;
  }
}
