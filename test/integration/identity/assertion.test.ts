// The signed identity assertion as the app receives it: verifiable with jose against /.auth/jwks.json,
// bound to its audience, reused across requests, renewed after half its life, signed with configured keys.
import { calculateJwkThumbprint, createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { generatedKeys } from '../../helpers/keys.js';

import { headerNames, headerValues } from '../../helpers/upstream.js';
import { waitFor } from '../../helpers/wait.js';

async function assertionOf(stack: CloudStack, client: BrowserClient, name = 'x-gatehouse-assertion'): Promise<string> {
  const res = await client.api(`${stack.url}/data`);
  expect(res.status).toBe(200);
  const values = headerValues(stack.upstream.requests.at(-1)?.rawHeaders ?? [], name);
  expect(values).toHaveLength(1);
  return values[0] as string;
}

describe('assertion with the defaults', () => {
  let stack: CloudStack;
  let client: BrowserClient;
  beforeAll(async () => {
    stack = await startCloudStack();
    client = new BrowserClient();
    await stack.signIn(client, '/', 'carol');
  });
  afterAll(async () => {
    await client?.close();
    await stack?.close();
  });

  it('verifies against /.auth/jwks.json with iss = public URL origin and aud = upstream origin, and carries the identity', async () => {
    const token = await assertionOf(stack, client);
    const jwks = createRemoteJWKSet(new URL(`${stack.url}/.auth/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: stack.url, audience: stack.upstream.url, algorithms: ['ES256'] });
    const published = (await (await fetch(`${stack.url}/.auth/jwks.json`)).json()) as { keys: JWK[] };
    expect(published.keys).toHaveLength(1);
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: published.keys[0]?.kid, typ: 'JWT' });
    expect(payload).toMatchObject({
      iss: stack.url,
      aud: stack.upstream.url,
      sub: 'carol',
      email: 'carol@example.test',
      name: 'Carol Ångström',
      preferred_username: 'carol',
      roles: ['user'],
    });
    expect(typeof payload['sid']).toBe('string');
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(60);
    expect(Math.abs((payload.iat ?? 0) - Date.now() / 1000)).toBeLessThan(10);
  });

  it('fails for another audience', async () => {
    const token = await assertionOf(stack, client);
    const jwks = createRemoteJWKSet(new URL(`${stack.url}/.auth/jwks.json`));
    await expect(jwtVerify(token, jwks, { issuer: stack.url, audience: 'http://other-app.test' })).rejects.toBeInstanceOf(errors.JWTClaimValidationFailed);
    await expect(jwtVerify(token, jwks, { issuer: 'http://someone-else.test', audience: stack.upstream.url })).rejects.toBeInstanceOf(
      errors.JWTClaimValidationFailed,
    );
  });

  it('is not re-signed per request: 10 requests carry the same token', async () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 10; i++) tokens.add(await assertionOf(stack, client));
    expect(tokens.size).toBe(1);
  });

  it('/.auth/jwks.json: public ES256 keys only, with a cache header', async () => {
    const res = await fetch(`${stack.url}/.auth/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/jwk-set+json');
    expect(res.headers.get('cache-control')).toMatch(/(^|[ ,])max-age=\d+/);
    const body = (await res.json()) as { keys: JWK[] };
    expect(Object.keys(body.keys[0] ?? {}).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    expect(body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(JSON.stringify(body)).not.toContain('"d"');
  });
});

// Date is stopped in this block and moved by the renewal test (timers stay real; gatehouse runs in this process and
// reads it): the token is asked for just before and at half its life, whatever the machine's speed.
describe('assertion with configured keys, audience and a short ttl', () => {
  const pemKey = generatedKeys('ec', { namedCurve: 'P-256' });
  const jwkKey = generatedKeys('ec', { namedCurve: 'P-256' });
  const pem = pemKey.privatePem;
  const jwk = JSON.stringify(jwkKey.privateKey.export({ format: 'jwk' }));
  let stack: CloudStack;
  let client: BrowserClient;
  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    stack = await startCloudStack({ config: { identity: { assertion: { ttl: '4s', audience: 'urn:example:app', keys: [pem, jwk] } } } });
    client = new BrowserClient();
    await stack.signIn(client, '/', 'alice');
  });
  afterAll(async () => {
    await client?.close();
    await stack?.close();
    vi.useRealTimers();
  });

  it('publishes both keys, newest (first) signs, aud is the configured audience', async () => {
    const pemKid = await calculateJwkThumbprint(pemKey.publicKey.export({ format: 'jwk' }) as JWK);
    const jwkKid = await calculateJwkThumbprint(jwkKey.publicKey.export({ format: 'jwk' }) as JWK);
    const published = (await (await fetch(`${stack.url}/.auth/jwks.json`)).json()) as { keys: JWK[] };
    expect(published.keys.map((key) => key.kid)).toEqual([pemKid, jwkKid]);
    const token = await assertionOf(stack, client);
    expect(decodeProtectedHeader(token).kid).toBe(pemKid);
    const jwks = createRemoteJWKSet(new URL(`${stack.url}/.auth/jwks.json`));
    const { payload } = await jwtVerify(token, jwks, { issuer: stack.url, audience: 'urn:example:app' });
    expect(payload.sub).toBe('alice');
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(4);
    await expect(jwtVerify(token, jwks, { issuer: stack.url, audience: stack.upstream.url })).rejects.toBeInstanceOf(errors.JWTClaimValidationFailed);
  });

  it('the same token until half its life, then a new one (before the old one expires)', async () => {
    // the clock has not moved since the sign-in signed the first token
    const signedAt = Date.now();
    const first = await assertionOf(stack, client);
    const firstClaims = (await jwtVerify(first, createRemoteJWKSet(new URL(`${stack.url}/.auth/jwks.json`)), { audience: 'urn:example:app' })).payload;
    expect(firstClaims.iat).toBe(Math.floor(signedAt / 1000));
    const firstExp = firstClaims.exp ?? 0;
    vi.setSystemTime(signedAt + 2000 - 1);
    expect(await assertionOf(stack, client)).toBe(first);
    // half its life: this request still gets it and starts the renewal; the next ones get the new token
    vi.setSystemTime(signedAt + 2000);
    expect(await assertionOf(stack, client)).toBe(first);
    let current = first;
    await waitFor(async () => (current = await assertionOf(stack, client)) !== first, { timeoutMs: 5000 });
    const { payload } = await jwtVerify(current, createRemoteJWKSet(new URL(`${stack.url}/.auth/jwks.json`)), {
      issuer: stack.url,
      audience: 'urn:example:app',
    });
    expect(payload.iat).toBe(Math.floor((signedAt + 2000) / 1000));
    expect(payload.exp ?? 0).toBeGreaterThan(firstExp);
    expect(payload.sub).toBe('alice');
    expect(await assertionOf(stack, client)).toBe(current);
  });
});

describe('assertion disabled', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack({ config: { identity: { assertion: { enabled: false } } } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('no assertion header upstream, /.auth/jwks.json 404', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'alice');
    const raw = stack.upstream.requests.at(-1)?.rawHeaders ?? [];
    expect(headerValues(raw, 'x-forwarded-user')).toEqual(['alice']);
    expect(headerNames(raw)).not.toContain('x-gatehouse-assertion');
    const jwks = await fetch(`${stack.url}/.auth/jwks.json`);
    expect(jwks.status).toBe(404);
    expect(await jwks.json()).toEqual({ error: 'assertion_disabled' });
    await client.close();
  });
});
