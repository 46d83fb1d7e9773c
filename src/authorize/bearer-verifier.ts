// Checks an API client's access token against the configured provider: a JWT (RFC 9068) by its signature on the
// provider's JWKS, `iss`, `aud`, `exp`/`nbf` with leeway and optionally `typ: at+jwt`; an opaque token by RFC 7662
// introspection when bearer.introspection is on. Every refusal is GH_TOKEN_INVALID (401); a provider that cannot
// be asked is GH_PROVIDER_UNAVAILABLE (503), so a good token is never called bad because the provider is down.
import * as oidc from 'openid-client';
import { createRemoteJWKSet, customFetch as joseCustomFetch, errors as joseErrors, jwtVerify } from 'jose';
import type { Config } from '../config/schema.js';
import { clientAuthentication } from '../authenticate/client-auth.js';
import { GatehouseError, ProviderError, ProviderUnavailableError, TokenInvalidError } from '../errors.js';
import type { TokenVerifier, VerifiedToken } from './bearer.js';

/** What the verifier needs of the provider client: its discovered metadata (undefined until loaded). */
export interface ProviderMetadataSource {
  metadata(): oidc.ServerMetadata | undefined;
}

const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Claims only ID tokens carry (OIDC Core §2, §3.3.2.11): such a token is not an access token, whatever its aud. */
const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash', 's_hash'];

type KeySet = ReturnType<typeof createRemoteJWKSet>;

export class ProviderTokenVerifier implements TokenVerifier {
  private keys: { uri: string; set: KeySet } | undefined;
  private introspection: oidc.Configuration | undefined;

  constructor(
    private readonly config: Config,
    private readonly provider: ProviderMetadataSource,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  verify(token: string): Promise<VerifiedToken> {
    if (JWS_COMPACT.test(token)) return this.verifyJwt(token);
    if (this.config.bearer.introspection) return this.introspect(token);
    return Promise.reject(invalid('not a JWT and bearer.introspection is off'));
  }

  private metadata(): oidc.ServerMetadata {
    const metadata = this.provider.metadata();
    if (!metadata) throw new ProviderUnavailableError('provider metadata not loaded');
    return metadata;
  }

  private keySet(metadata: oidc.ServerMetadata): KeySet {
    const uri = metadata.jwks_uri;
    if (!uri) throw new ProviderError('the provider publishes no jwks_uri, so access tokens cannot be verified');
    if (this.keys?.uri !== uri) {
      // The default cooldown (30 s) stays: tokens with an unknown kid come from anyone and must not make us hammer the JWKS.
      const set = createRemoteJWKSet(new URL(uri), {
        timeoutDuration: this.config.sso.timeout,
        [joseCustomFetch]: (url: string, options: RequestInit) => this.fetchImpl(url, options),
      });
      this.keys = { uri, set };
    }
    return this.keys.set;
  }

  private async verifyJwt(token: string): Promise<VerifiedToken> {
    const metadata = this.metadata();
    const { bearer, sso } = this.config;
    let verified;
    try {
      verified = await jwtVerify(token, this.keySet(metadata), {
        issuer: metadata.issuer,
        audience: bearer.audiences,
        algorithms: sso.id_token_algs,
        clockTolerance: Math.round(bearer.leeway / 1000),
        requiredClaims: ['exp', 'sub'],
        ...(bearer.require_typ ? { typ: 'at+jwt' } : {}),
      });
    } catch (error) {
      if (error instanceof GatehouseError) throw error;
      if (error instanceof joseErrors.JWKSTimeout || isNetworkError(error)) {
        throw new ProviderUnavailableError('provider keys unavailable', { cause: error });
      }
      if (error instanceof joseErrors.JWKSInvalid) throw new ProviderError('provider keys unusable', { cause: error });
      throw invalid(reasonOf(error), error);
    }
    const typ = verified.protectedHeader.typ?.toLowerCase();
    if (typ !== 'at+jwt' && typ !== 'application/at+jwt' && ID_TOKEN_CLAIMS.some((claim) => verified.payload[claim] !== undefined)) {
      throw invalid('an ID token is not an access token');
    }
    return { claims: { ...verified.payload }, expiresAt: (verified.payload.exp as number) * 1000 };
  }

  private async introspect(token: string): Promise<VerifiedToken> {
    const metadata = this.metadata();
    if (!metadata.introspection_endpoint) throw new ProviderError('bearer.introspection is on but the provider publishes no introspection_endpoint');
    const client = await this.client(metadata);
    let answer: oidc.IntrospectionResponse;
    try {
      answer = await oidc.tokenIntrospection(client, token, { token_type_hint: 'access_token' });
    } catch (error) {
      if (error instanceof oidc.ResponseBodyError || error instanceof oidc.ClientError) {
        throw new ProviderError(`introspection refused: ${reasonOf(error)}`, { cause: error });
      }
      throw new ProviderUnavailableError('introspection endpoint unavailable', { cause: error });
    }
    if (answer.active !== true) throw invalid('introspection: not active');
    // A refresh token introspects as active too: only access tokens (token_type Bearer, or none said) are admitted.
    if (answer.token_type !== undefined && answer.token_type.toLowerCase() !== 'bearer' && answer.token_type !== 'access_token')
      throw invalid('introspection: not an access token');
    if (answer.iss !== undefined && answer.iss !== metadata.issuer) throw invalid('introspection: another issuer');
    const audiences = typeof answer.aud === 'string' ? [answer.aud] : Array.isArray(answer.aud) ? answer.aud : [];
    if (!audiences.some((aud) => this.config.bearer.audiences.includes(aud))) throw invalid('introspection: aud names none of bearer.audiences');
    const now = Date.now();
    const leeway = this.config.bearer.leeway;
    if (typeof answer.exp !== 'number') throw invalid('introspection: no exp');
    if (answer.exp * 1000 + leeway <= now) throw invalid('introspection: expired');
    if (typeof answer.nbf === 'number' && answer.nbf * 1000 - leeway > now) throw invalid('introspection: not yet valid');
    const sub = answer.sub ?? answer.client_id;
    if (typeof sub !== 'string' || sub === '') throw invalid('introspection: no sub');
    return { claims: { ...answer, sub }, expiresAt: answer.exp * 1000 };
  }

  /** The client that introspects: gatehouse's own client id and credentials (sso.client_auth). */
  private async client(metadata: oidc.ServerMetadata): Promise<oidc.Configuration> {
    const kept = this.introspection;
    if (kept !== undefined && kept.serverMetadata().introspection_endpoint === metadata.introspection_endpoint) return kept;
    const { sso } = this.config;
    const configuration = new oidc.Configuration(metadata, sso.client_id, sso.client_secret || undefined, await clientAuthentication(sso));
    if (new URL(metadata.issuer).protocol === 'http:') oidc.allowInsecureRequests(configuration);
    configuration.timeout = Math.ceil(sso.timeout / 1000);
    configuration[oidc.customFetch] = (url, options) => this.fetchImpl(url, options as RequestInit);
    this.introspection = configuration;
    return configuration;
  }
}

function invalid(reason: string, cause?: unknown): TokenInvalidError {
  return new TokenInvalidError(reason, cause === undefined ? undefined : { cause });
}

/** A short reason for logs (jose's codes and messages name the failed check, never the token). */
function reasonOf(error: unknown): string {
  if (error instanceof joseErrors.JOSEError) return `${error.code}: ${error.message}`.slice(0, 200);
  return error instanceof Error ? error.message.slice(0, 200) : String(error);
}

function isNetworkError(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (current.name === 'TypeError' && current.message === 'fetch failed') return true;
    if ((current as { code?: string }).code === 'ECONNREFUSED') return true;
  }
  return false;
}
