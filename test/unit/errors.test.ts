import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { classifyProviderError } from '../../src/authenticate/provider-errors.js';
import {
  ConfigError,
  GatehouseError,
  PathPatternError,
  ProviderError,
  ProviderRefusedError,
  ProviderUnavailableError,
  publicCodeOf,
  StoreUnavailableError,
  TokenInvalidError,
} from '../../src/errors.js';
import { AssertionKeyError } from '../../src/identity/assertion.js';

describe('error classes', () => {
  it.each<[string, GatehouseError, string, number, string]>([
    ['ConfigError', new ConfigError(['a: b']), 'GH_CONFIG_INVALID', 500, 'internal_error'],
    ['AssertionKeyError', new AssertionKeyError(1, 'is garbage'), 'GH_CONFIG_INVALID', 500, 'internal_error'],
    ['PathPatternError', new PathPatternError('x', 'must start with /'), 'GH_PATH_PATTERN_INVALID', 500, 'internal_error'],
    ['ProviderUnavailableError', new ProviderUnavailableError('m'), 'GH_PROVIDER_UNAVAILABLE', 503, 'provider_unavailable'],
    ['ProviderError', new ProviderError('m'), 'GH_PROVIDER_ERROR', 502, 'provider_error'],
    ['ProviderRefusedError', new ProviderRefusedError('invalid_client', 'm'), 'GH_PROVIDER_ERROR', 502, 'provider_error'],
    ['TokenInvalidError', new TokenInvalidError('m'), 'GH_TOKEN_INVALID', 401, 'invalid_token'],
    ['StoreUnavailableError', new StoreUnavailableError('m'), 'GH_STORE_UNAVAILABLE', 503, 'store_unavailable'],
  ])('%s: its code, the status and the public code on the class', (name, error, code, status, publicCode) => {
    expect(error).toBeInstanceOf(GatehouseError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect({ code: error.code, status: error.status, publicCode: error.publicCode }).toEqual({ code, status, publicCode });
  });

  it('keeps the message and the cause for the log', () => {
    const cause = new Error('socket hang up');
    const error = new ProviderUnavailableError('provider unreachable', { cause });
    expect(error.message).toBe('provider unreachable');
    expect(error.cause).toBe(cause);
  });

  it('a refusal is a provider error that carries the OAuth error code', () => {
    const error = new ProviderRefusedError('invalid_grant', 'provider refused: invalid_grant');
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.oauthError).toBe('invalid_grant');
  });

  it('an assertion key problem is a config problem, one line naming the key', () => {
    const error = new AssertionKeyError(2, 'is not an asymmetric key');
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems).toEqual(['identity.assertion.keys.2: is not an asymmetric key']);
  });

  it.each([
    [400, 'bad_request'],
    [401, 'unauthenticated'],
    [403, 'forbidden'],
    [404, 'not_found'],
    [408, 'request_timeout'],
    [500, 'internal_error'],
    [502, 'upstream_unreachable'],
    [503, 'unavailable'],
    [504, 'upstream_timeout'],
    [418, 'error'],
  ])('the public code of a generic %i answer is %s', (status, code) => {
    expect(publicCodeOf(status)).toBe(code);
  });
});

describe('classifyProviderError', () => {
  it('an OAuth error in the response body: a refusal that carries its error code', () => {
    const answer = new oidc.ResponseBodyError('server responded with an error in the response body', {
      cause: { error: 'invalid_grant', error_description: 'code already used' },
      response: new Response(null, { status: 400 }),
    });
    const error = classifyProviderError(answer);
    expect(error).toBeInstanceOf(ProviderRefusedError);
    expect(error).toMatchObject({ oauthError: 'invalid_grant', code: 'GH_PROVIDER_ERROR' });
    expect(error.message).toBe('provider refused: invalid_grant (code already used)');
    expect(error.cause).toBe(answer);
  });

  it('a WWW-Authenticate challenge (401 invalid_client): a refusal naming the challenge error', () => {
    const challenge = new oidc.WWWAuthenticateChallengeError('server responded with a challenge in the WWW-Authenticate HTTP Header', {
      cause: [{ scheme: 'basic', parameters: { error: 'invalid_client' } }],
      response: new Response(null, { status: 401 }),
    });
    const error = classifyProviderError(challenge);
    expect(error).toBeInstanceOf(ProviderRefusedError);
    expect(error).toMatchObject({ oauthError: 'invalid_client' });
    expect(error.message).toBe('provider refused: invalid_client (HTTP 401 with WWW-Authenticate)');
  });

  it('an unreachable provider: unavailable; a class of its own passes through unchanged', () => {
    expect(classifyProviderError(new TypeError('fetch failed'))).toBeInstanceOf(ProviderUnavailableError);
    const own = new TokenInvalidError('no subject');
    expect(classifyProviderError(own)).toBe(own);
  });
});
