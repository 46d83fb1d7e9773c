import { calculateJwkThumbprint, createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { AssertionKeyError, AssertionSigner, loadAssertionKeys, type AssertionKeys, type AssertionSubject } from '../../../src/identity/assertion.js';
import { generatedKeys } from '../../helpers/keys.js';

const ISSUER = 'https://app.example.com';
const AUDIENCE = 'http://127.0.0.1:3000';
const T0 = 1_700_000_000_000;

function p256(): { pkcs8: string; sec1: string; jwk: string; publicJwk: Record<string, unknown> } {
  const { privateKey, publicKey, privatePem } = generatedKeys('ec', { namedCurve: 'P-256' });
  return {
    pkcs8: privatePem,
    sec1: privateKey.export({ type: 'sec1', format: 'pem' }).toString(),
    jwk: JSON.stringify(privateKey.export({ format: 'jwk' })),
    publicJwk: publicKey.export({ format: 'jwk' }) as Record<string, unknown>,
  };
}

function session(overrides: Partial<AssertionSubject> = {}): AssertionSubject {
  return {
    key: 'store-key-1',
    claims: { sub: 'u-1', email: 'zoe@example.com', name: 'Zoë Ångström 山田', preferred_username: 'zoe' },
    roles: ['admin', 'viewer'],
    sid: 'idp-sid-1',
    ...overrides,
  };
}

class FakeClock {
  now = T0;
  readonly read = (): number => this.now;
}

describe('loadAssertionKeys', () => {
  it('generates one ES256 key when none is configured, and says so', async () => {
    const keys = await loadAssertionKeys([]);
    expect(keys.generated).toBe(true);
    expect(keys.publicJwks.keys).toHaveLength(1);
    const [jwk] = keys.publicJwks.keys;
    expect(Object.keys(jwk ?? {}).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: keys.current.kid });
    expect(keys.current.kid).toBe(await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: jwk?.x as string, y: jwk?.y as string }));
  });

  it('loads PKCS8 PEM, SEC1 PEM and JWK keys, newest first, publishing public parts only', async () => {
    const [a, b, c] = [p256(), p256(), p256()];
    const keys = await loadAssertionKeys([a.pkcs8, b.jwk, `\n${c.sec1}\n`]);
    expect(keys.generated).toBe(false);
    const expectedKids = await Promise.all(
      [a, b, c].map((k) => calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: k.publicJwk['x'] as string, y: k.publicJwk['y'] as string })),
    );
    expect(keys.publicJwks.keys.map((k) => k.kid)).toEqual(expectedKids);
    expect(keys.current.kid).toBe(expectedKids[0]);
    for (const jwk of keys.publicJwks.keys) {
      expect(jwk.d).toBeUndefined();
      expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    }
  });

  it('publishes a key configured twice once', async () => {
    const a = p256();
    const keys = await loadAssertionKeys([a.pkcs8, a.jwk]);
    expect(keys.publicJwks.keys).toHaveLength(1);
  });

  it.each([
    [
      'an RSA key',
      () => generatedKeys('rsa', { modulusLength: 2048 }).privatePem,
      /^identity\.assertion\.keys\.1: is an rsa key; ES256 needs an EC P-256 private key$/,
    ],
    ['a P-384 key', () => generatedKeys('ec', { namedCurve: 'P-384' }).privatePem, /^identity\.assertion\.keys\.1: is an EC secp384r1 key; ES256/],
    [
      'an Ed25519 JWK',
      () => JSON.stringify(generatedKeys('ed25519').privateKey.export({ format: 'jwk' })),
      /^identity\.assertion\.keys\.1: is an ed25519 key; ES256/,
    ],
    ['a public key', () => generatedKeys('ec', { namedCurve: 'P-256' }).publicPem, /keys\.1: is a public key or certificate/],
    ['a public JWK', () => JSON.stringify(p256().publicJwk), /keys\.1: is a JWK without "d"/],
    ['broken JSON', () => '{"kty":', /keys\.1: starts with "\{" but is not valid JSON/],
    ['garbage', () => 'hello', /keys\.1: is neither a PEM private key nor a JWK JSON object/],
    ['a damaged PEM', () => '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----', /keys\.1: is not a readable unencrypted PEM private key/],
  ])('refuses %s, naming the key index', async (_label, make, message) => {
    const error = await loadAssertionKeys([p256().pkcs8, make()]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AssertionKeyError);
    expect((error as AssertionKeyError).index).toBe(1);
    expect((error as AssertionKeyError).code).toBe('GH_CONFIG_INVALID');
    expect((error as AssertionKeyError).problems).toEqual([expect.stringMatching(message)]);
  });
});

describe('AssertionSigner', () => {
  let keys: AssertionKeys;

  beforeAll(async () => {
    keys = await loadAssertionKeys([p256().pkcs8]);
  });

  function signer(clock = new FakeClock(), ttlMs = 60_000): AssertionSigner {
    return new AssertionSigner({ keys, issuer: ISSUER, audience: AUDIENCE, ttlMs, now: clock.read });
  }

  it('signs an ES256 JWT that verifies against the published JWKS with issuer and audience', async () => {
    const s = signer(new FakeClock());
    const token = await s.prepare(session());
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: keys.current.kid, typ: 'JWT' });
    const { payload } = await jwtVerify(token, createLocalJWKSet(keys.publicJwks), {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['ES256'],
      currentDate: new Date(T0 + 1000),
    });
    expect(payload).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'u-1',
      email: 'zoe@example.com',
      name: 'Zoë Ångström 山田',
      preferred_username: 'zoe',
      roles: ['admin', 'viewer'],
      sid: 'idp-sid-1',
      auth: 'session',
      iat: T0 / 1000,
      exp: T0 / 1000 + 60,
    });
  });

  it('fails verification for another audience', async () => {
    const token = await signer().prepare(session());
    await expect(
      jwtVerify(token, createLocalJWKSet(keys.publicJwks), { issuer: ISSUER, audience: 'https://other.example.com', currentDate: new Date(T0) }),
    ).rejects.toBeInstanceOf(errors.JWTClaimValidationFailed);
  });

  it('fails verification against another key set', async () => {
    const token = await signer().prepare(session());
    const other = await loadAssertionKeys([]);
    await expect(jwtVerify(token, createLocalJWKSet(other.publicJwks), { currentDate: new Date(T0) })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
  });

  it('leaves out absent claims and never signs the store key', async () => {
    const token = await signer().prepare({ key: 'store-key-secret', claims: { sub: 'u-2' }, roles: [] });
    const payload = decodeJwt(token);
    expect(payload).toEqual({ iss: ISSUER, aud: AUDIENCE, sub: 'u-2', roles: [], auth: 'session', iat: T0 / 1000, exp: T0 / 1000 + 60 });
    expect(token).not.toContain('store-key-secret');
    expect(JSON.stringify(payload)).not.toContain('store-key-secret');
  });

  it("says how the user authenticated: auth bearer for an API client's token", async () => {
    const token = await signer().prepare({ key: 'bearer:h', claims: { sub: 'cli' }, roles: ['reader'], auth: 'bearer' });
    expect(decodeJwt(token)).toEqual({ iss: ISSUER, aud: AUDIENCE, sub: 'cli', roles: ['reader'], auth: 'bearer', iat: T0 / 1000, exp: T0 / 1000 + 60 });
  });

  it('returns nothing before the first signature, then the same token on every request without re-signing', async () => {
    const clock = new FakeClock();
    const s = signer(clock);
    const subject = session();
    expect(s.current(subject)).toBeUndefined();
    const token = await s.prepare(subject);
    expect(s.signatures).toBe(1);
    for (let i = 0; i < 1000; i++) {
      clock.now = T0 + i * 29; // up to 28.971 s: still more than half the life left
      expect(s.current(subject)).toBe(token);
    }
    await Promise.resolve();
    expect(s.signatures).toBe(1);
  });

  it('shares one signature between concurrent prepare calls', async () => {
    const s = signer();
    const [a, b] = await Promise.all([s.prepare(session()), s.prepare(session())]);
    expect(a).toBe(b);
    expect(s.signatures).toBe(1);
  });

  it('re-signs in the background after half the ttl, handing out the current token meanwhile', async () => {
    const clock = new FakeClock();
    const s = signer(clock);
    const subject = session();
    const first = await s.prepare(subject);
    clock.now = T0 + 30_000;
    expect(s.current(subject)).toBe(first);
    expect(s.current(subject)).toBe(first);
    await vi.waitFor(() => expect(s.signatures).toBe(2));
    const second = s.current(subject);
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect(decodeJwt(second as string)).toMatchObject({ iat: T0 / 1000 + 30, exp: T0 / 1000 + 90 });
    clock.now = T0 + 59_000;
    expect(s.current(subject)).toBe(second);
    expect(s.signatures).toBe(2);
  });

  it('stops handing out a token with less than a quarter of its life left', async () => {
    const clock = new FakeClock();
    const s = signer(clock);
    const subject = session();
    const first = await s.prepare(subject);
    clock.now = T0 + 45_000;
    expect(s.current(subject)).toBeUndefined();
    const fresh = await s.prepare(subject);
    expect(fresh).not.toBe(first);
    expect(s.signatures).toBe(2);
    expect(s.current(subject)).toBe(fresh);
  });

  it('does not hand out a token whose roles, claims or sid changed', async () => {
    const clock = new FakeClock();
    const s = signer(clock);
    const first = await s.prepare(session());
    expect(s.current(session())).toBe(first); // equal by value, other objects: still the same token
    expect(s.current(session({ roles: ['viewer'] }))).toBeUndefined();
    const changed = await s.prepare(session({ roles: ['viewer'] }));
    expect(decodeJwt(changed).roles).toEqual(['viewer']);
    expect(s.current(session({ roles: ['viewer'] }))).toBe(changed);
    expect(s.current(session({ roles: ['viewer'], claims: { sub: 'u-1', email: 'new@example.com' } }))).toBeUndefined();
    expect(s.current(session({ roles: ['viewer'], sid: 'other' }))).toBeUndefined();
  });

  it('does not answer a prepare with changed roles from a background signature of the old roles', async () => {
    const clock = new FakeClock();
    const s = signer(clock);
    await s.prepare(session());
    clock.now = T0 + 31_000;
    s.current(session()); // starts a background re-sign with the old roles
    const changed = await s.prepare(session({ roles: ['viewer'] }));
    await Promise.resolve();
    expect(s.current(session({ roles: ['viewer'] }))).toBe(changed);
  });

  it('forgets a session, also dropping a signature still under way', async () => {
    const s = signer();
    await s.prepare(session());
    s.forget('store-key-1');
    expect(s.current(session())).toBeUndefined(); // starts a signature
    s.forget('store-key-1');
    // the dropped signature completes (counted), and is not kept
    await vi.waitFor(() => expect(s.signatures).toBe(2));
    expect(s.current(session())).toBeUndefined();
  });

  it('keeps tokens per session', async () => {
    const s = signer();
    const a = await s.prepare(session({ key: 'a' }));
    const b = await s.prepare(session({ key: 'b', claims: { sub: 'u-b' } }));
    expect(s.current(session({ key: 'a' }))).toBe(a);
    expect(s.current(session({ key: 'b', claims: { sub: 'u-b' } }))).toBe(b);
  });

  it('drops the least recently used tokens beyond maxEntries', async () => {
    const s = new AssertionSigner({ keys, issuer: ISSUER, audience: AUDIENCE, ttlMs: 60_000, now: () => T0, maxEntries: 2 });
    await s.prepare(session({ key: 'a' }));
    await s.prepare(session({ key: 'b' }));
    await s.prepare(session({ key: 'c' }));
    expect(s.current(session({ key: 'c' }))).toBeDefined();
    expect(s.current(session({ key: 'b' }))).toBeDefined();
    expect(s.current(session({ key: 'a' }))).toBeUndefined();
  });

  it('refuses a ttl under 2 seconds', () => {
    expect(() => new AssertionSigner({ keys, issuer: ISSUER, audience: AUDIENCE, ttlMs: 500 })).toThrow(RangeError);
  });
});
