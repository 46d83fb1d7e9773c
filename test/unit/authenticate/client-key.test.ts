// sso.client_auth private_key_jwt (issue 15 item 4): the key is required, must be a private key the algorithm can use,
// comes from ${ENV}, GATEHOUSE_SSO_CLIENT_KEY or GATEHOUSE_SSO_CLIENT_KEY_FILE like the other secrets, and never shows
// in check-config output. loadClientKey imports exactly what the check accepts.
import { afterAll, describe, expect, it } from 'vitest';
import { loadClientKey } from '../../../src/authenticate/client-key.js';
import { loadConfig, maskSecrets } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { ConfigError } from '../../../src/errors.js';
import { temporaryYamlFiles } from '../../helpers/gatehouse-process.js';
import { generatedKeys } from '../../helpers/keys.js';

const yaml = temporaryYamlFiles('gatehouse-client-key-');
afterAll(yaml.remove);

const { privateKey: RSA, privatePem: RSA_PEM } = generatedKeys('rsa', { modulusLength: 2048 });
const RSA_PKCS1_PEM = RSA.export({ type: 'pkcs1', format: 'pem' }).toString();
const SMALL_RSA_PEM = generatedKeys('rsa', { modulusLength: 1024 }).privatePem;
const P256 = generatedKeys('ec', { namedCurve: 'P-256' }).privateKey;
const P384 = generatedKeys('ec', { namedCurve: 'P-384' }).privateKey;
const ED25519 = generatedKeys('ed25519').privateKey;
const X25519_PEM = generatedKeys('x25519').privatePem;
const jwk = (key: typeof P256, extra: Record<string, unknown> = {}): string => JSON.stringify({ ...key.export({ format: 'jwk' }), ...extra });
const PUBLIC_PEM = generatedKeys('rsa', { modulusLength: 2048 }).publicPem;

const BASE = [
  'mode: cloud',
  'public_url: https://app.example.com',
  'sso: { issuer: https://idp.example.com, client_id: app, client_auth: private_key_jwt }',
  `session: { secrets: ["${'s'.repeat(32)}"] }`,
].join('\n');

function load(env: NodeJS.ProcessEnv, text = BASE): Config {
  return loadConfig({ path: yaml.write(text), env }).config;
}

function problems(env: NodeJS.ProcessEnv, text = BASE): readonly string[] {
  try {
    load(env, text);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('sso.client_key', () => {
  it('is required with private_key_jwt; client_secret is not', () => {
    expect(problems({})).toEqual(['sso.client_key: required with client_auth private_key_jwt (a PEM or JWK private key)']);
  });

  it('accepts RSA (PKCS8, PKCS1), EC P-256/P-384 and Ed25519 keys, PEM or JWK, from the variable or from a file', () => {
    for (const key of [
      RSA_PEM,
      RSA_PKCS1_PEM,
      jwk(P256, { kid: 'k1' }),
      jwk(P384),
      ED25519.export({ type: 'pkcs8', format: 'pem' }).toString(),
      jwk(RSA, { alg: 'PS256' }),
    ]) {
      expect(load({ GATEHOUSE_SSO_CLIENT_KEY: key }).sso.client_key).toBe(key);
    }
    const file = yaml.write(RSA_PEM);
    expect(load({ GATEHOUSE_SSO_CLIENT_KEY_FILE: file }).sso.client_key.trim()).toBe(RSA_PEM.trim());
    const viaReference = load(
      { MY_CLIENT_KEY: RSA_PEM },
      BASE.replace('client_auth: private_key_jwt', 'client_auth: private_key_jwt, client_key: "${MY_CLIENT_KEY}"'),
    );
    expect(viaReference.sso.client_key).toBe(RSA_PEM);
  });

  it('refuses keys that cannot sign, or whose alg does not suit them, naming the problem and never the key', () => {
    const cases: Array<[string, string]> = [
      [PUBLIC_PEM, 'sso.client_key: is a public key or certificate: a private key is needed'],
      ['not a key', 'sso.client_key: is neither a PEM private key nor a JWK JSON object'],
      ['{"kty":"RSA"', 'sso.client_key: starts with "{" but is not valid JSON (expected a JWK)'],
      [JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }), 'sso.client_key: is a JWK without "d": a private key is needed'],
      [jwk(RSA, { alg: 'ES256' }), 'sso.client_key: has alg ES256, which needs an EC P-256 key, but is an RSA key'],
      [jwk(P384, { alg: 'ES256' }), 'sso.client_key: has alg ES256, which needs an EC P-256 key, but is an EC P-384 key'],
      [jwk(P256, { alg: 'RS256' }), 'sso.client_key: has alg RS256, which needs an RSA key, but is an EC P-256 key'],
      [jwk(P256, { alg: 'EdDSA' }), 'sso.client_key: has alg EdDSA, which needs an Ed25519 key, but is an EC P-256 key'],
      [jwk(P256, { alg: 'HS256' }), 'sso.client_key: has alg "HS256"; private_key_jwt signs with RS256/384/512, PS256/384/512, ES256/384/512 or EdDSA'],
      [SMALL_RSA_PEM, 'sso.client_key: is an RSA key of 1024 bits; RS256 needs at least 2048'],
      [X25519_PEM, 'sso.client_key: is an x25519 key; private_key_jwt signs with an RSA, EC (P-256, P-384, P-521) or Ed25519 key'],
    ];
    for (const [key, problem] of cases) expect(problems({ GATEHOUSE_SSO_CLIENT_KEY: key })).toEqual([problem]);
  });

  it('is masked in the printed config like the other secrets', () => {
    const loaded = loadConfig({ path: yaml.write(BASE), env: { GATEHOUSE_SSO_CLIENT_KEY: RSA_PEM } });
    expect(JSON.stringify(maskSecrets(loaded.config))).not.toContain('PRIVATE KEY');
  });

  it('loads the algorithm the check settled: RS256, ES256/ES384 by curve, the JWK alg and kid, EdDSA for Ed25519', async () => {
    expect(await summary(RSA_PEM)).toEqual({ alg: 'RS256', kid: undefined, name: 'RSASSA-PKCS1-v1_5' });
    expect(await summary(jwk(RSA, { alg: 'PS256', kid: 'rsa-pss' }))).toEqual({ alg: 'PS256', kid: 'rsa-pss', name: 'RSA-PSS' });
    expect(await summary(jwk(P256, { kid: 'ec-1' }))).toEqual({ alg: 'ES256', kid: 'ec-1', name: 'ECDSA' });
    expect(await summary(jwk(P384))).toEqual({ alg: 'ES384', kid: undefined, name: 'ECDSA' });
    expect(await summary(ED25519.export({ type: 'pkcs8', format: 'pem' }).toString())).toEqual({ alg: 'EdDSA', kid: undefined, name: 'Ed25519' });
    await expect(loadClientKey(PUBLIC_PEM)).rejects.toThrow('sso.client_key: is a public key or certificate: a private key is needed');
  });
});

async function summary(text: string): Promise<{ alg: string; kid: string | undefined; name: string }> {
  const loaded = await loadClientKey(text);
  return { alg: loaded.alg, kid: loaded.kid, name: loaded.key.algorithm.name };
}
