// The OpenID provider client on openid-client 6: discovery with retry, authorization URL, code exchange, refresh, logout URL,
// and the ID token signature check against the provider's JWKS (algorithm allow-list, refetch when the provider rotates keys).
import * as oidc from 'openid-client';
import { compactVerify, createRemoteJWKSet, customFetch as joseCustomFetch } from 'jose';
import type { Config } from '../config/schema.js';
import { ProviderError, ProviderUnavailableError, TokenInvalidError } from '../errors.js';
import type { Logger } from '../ops/logger.js';
import type { Readiness } from '../ops/readiness.js';
import { clientAuthentication } from './client-auth.js';
import { classifyProviderError, describeError, isKeySetUnavailable, isKeySetUnusable, isNetworkError } from './provider-errors.js';
import { fillLogoutUrl, withExtraAuthParams } from './provider-quirks.js';

export interface ProviderTokens {
  /** ID token claims merged with userinfo claims (userinfo `sub` checked against the ID token's). */
  claims: Record<string, unknown>;
  idToken: string;
  accessToken?: string;
  refreshToken?: string;
  /** Epoch ms; the earliest of access token and ID token expiry. */
  expiresAt: number;
}

export interface AuthorizationRequest {
  state: string;
  nonce: string;
  codeChallenge: string;
  prompt?: 'none' | 'login' | 'consent';
}

export interface ProviderObserver {
  /** Called for every request to the provider with the endpoint name and its duration. */
  onRequest?(endpoint: string, seconds: number, ok: boolean): void;
}

export interface ProviderOptions {
  /** The sso section: issuer, client credentials and authentication, scopes, timeouts, algorithms, logout URL. */
  sso: Config['sso'];
  /** The absolute callback URL (redirect_uri). */
  callbackUrl: string;
  now?: () => number;
}

const READINESS_KEY = 'provider';

type ProviderKeys = ReturnType<typeof createRemoteJWKSet>;

export class Provider {
  private configuration: oidc.Configuration | undefined;
  private keys: ProviderKeys | undefined;
  private readonly issuer: URL;
  private readonly insecure: boolean;
  private readonly redirectUri: string;
  private readonly sso: Config['sso'];
  private readonly now: () => number;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private loading: Promise<void> | undefined;

  constructor(
    options: ProviderOptions,
    private readonly deps: { logger: Logger; readiness: Readiness; observer?: ProviderObserver },
  ) {
    this.sso = options.sso;
    this.now = options.now ?? Date.now;
    this.issuer = new URL(options.sso.issuer);
    this.insecure = this.issuer.protocol === 'http:';
    this.redirectUri = options.callbackUrl;
    deps.readiness.block(READINESS_KEY, 'provider metadata not loaded yet');
  }

  get ready(): boolean {
    return this.configuration !== undefined;
  }

  get callbackUrl(): string {
    return this.redirectUri;
  }

  /** Starts discovery; retries with capped exponential backoff until it succeeds. Resolves after the first attempt. */
  start(): Promise<void> {
    return (this.loading ??= this.discover(1000));
  }

  private async discover(delayMs: number): Promise<void> {
    if (this.stopped) return;
    try {
      const configuration = await this.load();
      this.keys = this.providerKeys(configuration);
      this.configuration = configuration;
      this.deps.readiness.unblock(READINESS_KEY);
      this.deps.logger.info({ issuer: this.issuer.href }, 'provider metadata loaded');
    } catch (error) {
      const reason = describeError(error);
      this.deps.readiness.block(READINESS_KEY, `provider discovery failed: ${reason}`);
      this.deps.logger.warn({ issuer: this.issuer.href, reason, retryInMs: delayMs }, 'provider discovery failed; retrying');
      this.retryTimer = setTimeout(() => void this.discover(Math.min(delayMs * 2, 30_000)), delayMs);
      this.retryTimer.unref();
    }
  }

  private async load(): Promise<oidc.Configuration> {
    const { sso } = this;
    const clientAuth = await clientAuthentication(sso);
    // No enableNonRepudiationChecks: its JWKS cache refetches an unknown kid only after 60 s, so a provider that
    // rotates its signing key would lock users out for a minute. verifySignature() checks every ID token instead.
    const execute = this.insecure ? [oidc.allowInsecureRequests] : [];
    const configuration = await oidc.discovery(this.issuer, sso.client_id, { client_secret: sso.client_secret || undefined }, clientAuth, {
      execute,
      timeout: Math.ceil(sso.timeout / 1000),
      [oidc.customFetch]: this.observedFetch(),
    });
    return configuration;
  }

  /**
   * The provider's published keys. An ID token whose kid is not in the cached set triggers one refetch (no
   * cooldown): such a token can only come from the provider's own token endpoint, so refetches are bounded by sign-ins.
   */
  private providerKeys(configuration: oidc.Configuration): ProviderKeys | undefined {
    const jwksUri = configuration.serverMetadata().jwks_uri;
    if (!jwksUri) return undefined;
    const observed = this.observedFetch();
    return createRemoteJWKSet(new URL(jwksUri), {
      cooldownDuration: 0,
      timeoutDuration: this.sso.timeout,
      [joseCustomFetch]: (url: string, options: RequestInit) => observed(url, options as oidc.CustomFetchOptions),
    });
  }

  /** Every ID token must be signed by one of the provider's keys with an algorithm from sso.id_token_algs. */
  private async verifySignature(idToken: string): Promise<void> {
    if (!this.keys) throw new TokenInvalidError('the provider publishes no jwks_uri, so its ID token signature cannot be verified');
    try {
      await compactVerify(idToken, this.keys, { algorithms: this.sso.id_token_algs });
    } catch (error) {
      if (isNetworkError(error) || isKeySetUnavailable(error)) {
        throw new ProviderUnavailableError(`provider keys unavailable: ${describeError(error)}`, { cause: error });
      }
      if (isKeySetUnusable(error)) throw new ProviderError(`provider keys unusable: ${describeError(error)}`, { cause: error });
      throw new TokenInvalidError(`ID token signature rejected: ${describeError(error)}`, { cause: error });
    }
  }

  private observedFetch(): oidc.CustomFetch {
    const observer = this.deps.observer;
    return async (url, options) => {
      const started = performance.now();
      let ok = false;
      try {
        const response = await fetch(url, options as RequestInit);
        ok = response.status < 500;
        return response;
      } finally {
        observer?.onRequest?.(this.endpointName(url), (performance.now() - started) / 1000, ok);
      }
    };
  }

  private endpointName(url: string): string {
    const meta = this.configuration?.serverMetadata();
    if (!meta) return 'discovery';
    const bare = url.split('?')[0];
    if (bare === meta.token_endpoint) return 'token';
    if (bare === meta.userinfo_endpoint) return 'userinfo';
    if (bare === meta.jwks_uri) return 'jwks';
    if (bare?.endsWith('/.well-known/openid-configuration')) return 'discovery';
    return 'other';
  }

  private require(): oidc.Configuration {
    if (!this.configuration) throw new ProviderUnavailableError('provider metadata not loaded');
    return this.configuration;
  }

  authorizationUrl(request: AuthorizationRequest): URL {
    const parameters = withExtraAuthParams(this.sso.extra_auth_params, {
      redirect_uri: this.redirectUri,
      scope: this.sso.scopes.join(' '),
      response_type: 'code',
      state: request.state,
      nonce: request.nonce,
      code_challenge: request.codeChallenge,
      code_challenge_method: 'S256',
    });
    if (request.prompt) parameters.prompt = request.prompt;
    return oidc.buildAuthorizationUrl(this.require(), parameters);
  }

  /** Exchanges the code from the callback URL; state, nonce, PKCE verifier and ID token are all checked. */
  async exchangeCode(callbackUrl: URL, checks: { state: string; nonce: string; verifier: string }): Promise<ProviderTokens> {
    const configuration = this.require();
    const response = await this.call(() =>
      oidc.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: checks.verifier,
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        idTokenExpected: true,
      }),
    );
    return this.tokensFrom(response, undefined);
  }

  /** Renews tokens; the new ID token (when one is returned) must be for the same subject. */
  async refresh(refreshToken: string, previous: { sub: string; idToken: string }): Promise<ProviderTokens> {
    const configuration = this.require();
    const response = await this.call(() => oidc.refreshTokenGrant(configuration, refreshToken));
    return this.tokensFrom(response, previous);
  }

  private async tokensFrom(
    response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
    previous: { sub: string; idToken: string } | undefined,
  ): Promise<ProviderTokens> {
    const idClaims = response.claims();
    const idToken = response.id_token ?? previous?.idToken;
    if (!idToken) throw new TokenInvalidError('token response without an ID token');
    if (idClaims) {
      await this.verifySignature(idToken);
      if (previous && idClaims.sub !== previous.sub) throw new TokenInvalidError('refreshed ID token is for another subject');
    }
    const sub = idClaims?.sub ?? previous?.sub;
    if (!sub) throw new TokenInvalidError('no subject');
    const claims: Record<string, unknown> = { ...(idClaims ?? {}) };
    if (!idClaims && previous) claims.sub = previous.sub;
    if (this.sso.userinfo && response.access_token && this.require().serverMetadata().userinfo_endpoint) {
      const configuration = this.require();
      const accessToken = response.access_token;
      const userinfo = await this.call(() => oidc.fetchUserInfo(configuration, accessToken, sub));
      for (const [name, value] of Object.entries(userinfo)) if (name !== 'sub') claims[name] = value;
    }
    const now = this.now();
    const accessExpiry = response.expires_in !== undefined ? now + response.expires_in * 1000 : Infinity;
    const idExpiry = typeof idClaims?.exp === 'number' ? idClaims.exp * 1000 : Infinity;
    const expiresAt = Math.min(accessExpiry, idExpiry);
    return {
      claims,
      idToken,
      accessToken: response.access_token,
      refreshToken: response.refresh_token,
      expiresAt: Number.isFinite(expiresAt) ? expiresAt : now + 3600_000,
    };
  }

  /**
   * RP-initiated logout URL (id_token_hint, post_logout_redirect_uri, client_id, state): sso.logout_url filled in when
   * set, else the end_session_endpoint; undefined when the provider publishes none.
   */
  endSessionUrl(request: { idTokenHint: string; postLogoutRedirectUri: string; state: string }): URL | undefined {
    const { logout_url: template, client_id } = this.sso;
    if (template)
      return new URL(
        fillLogoutUrl(template, {
          client_id,
          post_logout_redirect_uri: request.postLogoutRedirectUri,
          id_token_hint: request.idTokenHint,
          state: request.state,
        }),
      );
    const configuration = this.configuration;
    if (!configuration?.serverMetadata().end_session_endpoint) return undefined;
    return oidc.buildEndSessionUrl(configuration, {
      id_token_hint: request.idTokenHint,
      post_logout_redirect_uri: request.postLogoutRedirectUri,
      client_id,
      state: request.state,
    });
  }

  /** The origin of the provider's end_session_endpoint (a page that posts to logout must allow it as form-action). */
  endSessionOrigin(): string | undefined {
    const endpoint = this.sso.logout_url || this.configuration?.serverMetadata().end_session_endpoint;
    return endpoint ? new URL(endpoint).origin : undefined;
  }

  metadata(): oidc.ServerMetadata | undefined {
    return this.configuration?.serverMetadata();
  }

  private async call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw classifyProviderError(error);
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }
}
