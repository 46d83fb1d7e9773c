// The private key of `sso.client_auth: private_key_jwt` (RFC 7523 client assertions, OpenID Connect Core §9): read from
// PEM or a JWK, its signing algorithm settled once (the JWK's `alg`, else the usual one for the key type), checked
// by the config schema (clientKeyProblem) and imported for openid-client's PrivateKeyJwt (loadClientKey).
import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { CryptoKey } from 'jose';

export type ClientKeyAlg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA';

export interface ClientKey {
  key: CryptoKey;
  alg: ClientKeyAlg;
  /** The JWK's kid, sent in the assertion header so the provider picks the registered key; absent for PEM. */
  kid?: string;
}

interface ParsedKey {
  keyObject: KeyObject;
  alg: ClientKeyAlg;
  kid?: string;
}

const RSA_ALGS: ReadonlySet<string> = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
/** node:crypto's curve names for the ES algorithms. */
const EC_ALGS: Readonly<Record<string, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/** The problem with `sso.client_key` (the text after "sso.client_key: "), or undefined; never echoes the key. */
export function clientKeyProblem(text: string): string | undefined {
  const parsed = parse(text);
  return typeof parsed === 'string' ? parsed : undefined;
}

/** The key ready for signing client assertions; throws with the same problem clientKeyProblem names. */
export async function loadClientKey(text: string): Promise<ClientKey> {
  const parsed = parse(text);
  if (typeof parsed === 'string') throw new Error(`sso.client_key: ${parsed}`);
  const { alg, kid } = parsed;
  // jose is loaded here, not with the config schema that calls clientKeyProblem: local mode never signs.
  const { importPKCS8 } = await import('jose');
  const key = await importPKCS8(parsed.keyObject.export({ format: 'pem', type: 'pkcs8' }).toString(), alg);
  return { key, alg, ...(kid ? { kid } : {}) };
}

/** The public half as a JWK (with the kid and alg gatehouse signs with): what the client registers at the provider. */
export function clientPublicJwk(text: string): JsonWebKey & { alg: ClientKeyAlg; kid?: string; use: 'sig' } {
  const parsed = parse(text);
  if (typeof parsed === 'string') throw new Error(`sso.client_key: ${parsed}`);
  const { alg, kid } = parsed;
  return { ...createPublicKey(parsed.keyObject).export({ format: 'jwk' }), alg, use: 'sig', ...(kid ? { kid } : {}) };
}

function parse(value: string): ParsedKey | string {
  const text = value.trim();
  if (text === '') return 'is empty: private_key_jwt needs a private key (PEM or JWK)';
  let keyObject: KeyObject;
  let jwk: (JsonWebKey & { alg?: unknown; kid?: unknown }) | undefined;
  if (text.startsWith('{')) {
    try {
      jwk = JSON.parse(text) as JsonWebKey & { alg?: unknown; kid?: unknown };
    } catch {
      return 'starts with "{" but is not valid JSON (expected a JWK)';
    }
    if (typeof jwk !== 'object' || jwk === null || !('d' in jwk)) return 'is a JWK without "d": a private key is needed';
    try {
      keyObject = createPrivateKey({ key: jwk, format: 'jwk' });
    } catch {
      return 'is not a usable private JWK';
    }
  } else {
    if (!text.includes('-----BEGIN')) return 'is neither a PEM private key nor a JWK JSON object';
    if (/-----BEGIN (?:PUBLIC KEY|RSA PUBLIC KEY|CERTIFICATE)/.test(text)) return 'is a public key or certificate: a private key is needed';
    try {
      keyObject = createPrivateKey({ key: text, format: 'pem' });
    } catch {
      return 'is not a readable unencrypted PEM private key (PKCS8, PKCS1 or SEC1)';
    }
  }
  const wanted = jwk?.alg;
  if (wanted !== undefined && typeof wanted !== 'string') return 'has an "alg" that is not a string';
  const alg = wanted ?? defaultAlg(keyObject);
  if (alg === undefined) return `is ${describeKey(keyObject)}; private_key_jwt signs with an RSA, EC (P-256, P-384, P-521) or Ed25519 key`;
  const unsuitable = algProblem(alg, keyObject);
  if (unsuitable) return unsuitable;
  const kid = typeof jwk?.kid === 'string' && jwk.kid !== '' ? jwk.kid : undefined;
  return { keyObject, alg: alg as ClientKeyAlg, ...(kid ? { kid } : {}) };
}

function defaultAlg(key: KeyObject): ClientKeyAlg | undefined {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType !== 'ec') return undefined;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return (Object.keys(EC_ALGS) as ClientKeyAlg[]).find((alg) => EC_ALGS[alg] === curve);
}

/** Whether `alg` (from the JWK) can be made with this key: RS/PS need RSA (2048 bits at least), ESxxx its curve, EdDSA Ed25519. */
function algProblem(alg: string, key: KeyObject): string | undefined {
  const kind = describeKey(key);
  if (RSA_ALGS.has(alg)) {
    if (key.asymmetricKeyType !== 'rsa') return `has alg ${alg}, which needs an RSA key, but is ${kind}`;
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    return bits < 2048 ? `is an RSA key of ${bits} bits; ${alg} needs at least 2048` : undefined;
  }
  const curve = EC_ALGS[alg];
  if (curve !== undefined)
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === curve
      ? undefined
      : `has alg ${alg}, which needs an EC ${curveName(curve)} key, but is ${kind}`;
  if (alg === 'EdDSA') return key.asymmetricKeyType === 'ed25519' ? undefined : `has alg EdDSA, which needs an Ed25519 key, but is ${kind}`;
  return `has alg ${JSON.stringify(alg.slice(0, 20))}; private_key_jwt signs with RS256/384/512, PS256/384/512, ES256/384/512 or EdDSA`;
}

function describeKey(key: KeyObject): string {
  if (key.asymmetricKeyType === 'ec') return `an EC ${curveName(key.asymmetricKeyDetails?.namedCurve ?? 'unknown-curve')} key`;
  if (key.asymmetricKeyType === 'rsa') return 'an RSA key';
  return `an ${key.asymmetricKeyType ?? 'unknown'} key`;
}

function curveName(curve: string): string {
  return { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }[curve] ?? curve;
}
