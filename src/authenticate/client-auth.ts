// How gatehouse authenticates as a client (sso.client_auth) wherever it calls the provider: the token endpoint
// (sign-in, refresh) and token introspection (bearer.introspection).
import * as oidc from 'openid-client';
import type { Config } from '../config/schema.js';
import { loadClientKey } from './client-key.js';

/**
 * openid-client's client_secret_basic form-encodes id and secret before Base64 (RFC 6749 §2.3.1); providers that do
 * not decode them refuse secrets with punctuation, and client_secret_post is the switch for those.
 */
export async function clientAuthentication(sso: Config['sso']): Promise<oidc.ClientAuth> {
  switch (sso.client_auth) {
    case 'none':
      return oidc.None();
    case 'client_secret_post':
      return oidc.ClientSecretPost(sso.client_secret);
    case 'private_key_jwt': {
      const { key, alg, kid } = await loadClientKey(sso.client_key);
      // the header names the algorithm the config settled (EdDSA for Ed25519, where oauth4webapi would say Ed25519)
      return oidc.PrivateKeyJwt(kid ? { key, kid } : key, { [oidc.modifyAssertion]: (header) => void (header.alg = alg) });
    }
    default:
      return oidc.ClientSecretBasic(sso.client_secret);
  }
}
