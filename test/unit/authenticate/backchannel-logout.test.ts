// BackchannelLogout over HTTP on 127.0.0.1: logout tokens signed with a key the test publishes (its JWKS served on
// 127.0.0.1), a real memory store, and the clock in the test's hands for the token's age.
import type { KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackchannelLogout } from '../../../src/authenticate/backchannel-logout.js';
import { createLogger } from '../../../src/ops/logger.js';
import { MemoryStore } from '../../../src/session/memory-store.js';
import type { SessionRecord } from '../../../src/session/types.js';
import { generatedKeys } from '../../helpers/keys.js';
import { serveRoute, type RouteServer } from '../../helpers/route-server.js';

const ISSUER = 'http://idp.test';
const CLIENT_ID = 'gatehouse-test';
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const START = 1_700_000_000_000;

let keys: { privateKey: KeyObject; jwk: Record<string, unknown> };
let jwksServer: Server;
let jwksUri: string;
let clockTime = START;
let store: MemoryStore;
let server: RouteServer;
const outcomes: string[] = [];
let jti = 0;

beforeAll(async () => {
  const pair = generatedKeys('ec', { namedCurve: 'P-256' });
  keys = { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' } };
  jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [keys.jwk] })));
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
  store = new MemoryStore({ maxSessions: 100, idleTimeoutMs: 3600_000, now: () => clockTime, sweepIntervalMs: 0 });
  const handler = new BackchannelLogout(
    { clientId: CLIENT_ID, algorithms: ['ES256'], timeoutMs: 5000, now: () => clockTime },
    { metadata: () => ({ issuer: ISSUER, jwks_uri: jwksUri }) },
    store,
    { logger: createLogger({ level: 'silent' }), onLogout: (outcome) => outcomes.push(outcome) },
  );
  server = await serveRoute((ctx) => handler.handle(ctx));
});
afterAll(async () => {
  await server?.close();
  await store?.close();
  await new Promise<void>((resolve) => jwksServer?.close(() => resolve()));
});

function session(key: string, sub: string, sid?: string): SessionRecord {
  return {
    key,
    claims: { sub },
    roles: [],
    sid,
    idToken: 'id',
    tokensExpireAt: clockTime + 600_000,
    createdAt: clockTime,
    expiresAt: clockTime + 3600_000,
    lastSeenAt: clockTime,
    refreshAt: clockTime + 300_000,
  };
}

function logoutToken(claims: JWTPayload, audience = CLIENT_ID): Promise<string> {
  return new SignJWT({ events: { [EVENT]: {} }, jti: `jti-${++jti}`, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'logout+jwt' })
    .setIssuer(ISSUER)
    .setAudience(audience)
    .setIssuedAt(Math.floor(clockTime / 1000))
    .sign(keys.privateKey);
}

const post = (body: string) => server.send('/.auth/backchannel-logout', { method: 'POST', headers: FORM, body });

describe('BackchannelLogout', () => {
  it("a token with sid ends that provider session's sessions only; one with sub alone ends every session of the subject", async () => {
    await store.set(session('a1', 'alice', 'sid-1'));
    await store.set(session('a2', 'alice', 'sid-2'));
    await store.set(session('b1', 'bob', 'sid-3'));
    const bySid = await post(`logout_token=${await logoutToken({ sub: 'alice', sid: 'sid-1' })}`);
    expect(bySid.status).toBe(200);
    expect(JSON.parse(bySid.body)).toEqual({ ended: 1 });
    expect(store.peek('a2')).toBeDefined();
    const bySub = await post(`logout_token=${await logoutToken({ sub: 'alice' })}`);
    expect(JSON.parse(bySub.body)).toEqual({ ended: 1 });
    expect(store.peek('a2')).toBeUndefined();
    expect(store.peek('b1')).toBeDefined();
  });

  it('the same token twice: the replay is refused (jti remembered)', async () => {
    const token = await logoutToken({ sub: 'carol' });
    expect((await post(`logout_token=${token}`)).status).toBe(200);
    const replay = await post(`logout_token=${token}`);
    expect(replay.status).toBe(400);
    expect(JSON.parse(replay.body)).toMatchObject({ error: 'invalid_request', error_description: 'logout token replayed (jti already used)' });
  });

  it("a token older than five minutes on gatehouse's clock is refused", async () => {
    const token = await logoutToken({ sub: 'dave' });
    clockTime += 6 * 60_000;
    try {
      const stale = await post(`logout_token=${token}`);
      expect(stale.status).toBe(400);
    } finally {
      clockTime = START;
    }
  });

  it('refuses what the spec forbids: a nonce, no logout event, another audience, neither sid nor sub, two tokens, another body type', async () => {
    const refused = async (body: string, headers: Record<string, string> = FORM): Promise<string> => {
      const answer = await server.send('/.auth/backchannel-logout', { method: 'POST', headers, body });
      expect(answer.status).toBe(400);
      return (JSON.parse(answer.body) as { error_description: string }).error_description;
    };
    expect(await refused(`logout_token=${await logoutToken({ sub: 'erin', nonce: 'n' })}`)).toContain('nonce');
    expect(await refused(`logout_token=${await logoutToken({ sub: 'erin', events: { other: {} } })}`)).toContain('back-channel logout event');
    expect(await refused(`logout_token=${await logoutToken({ sub: 'erin' }, 'another-client')}`)).toContain('aud');
    expect(await refused(`logout_token=${await logoutToken({})}`)).toContain('neither sid nor sub');
    const token = await logoutToken({ sub: 'erin' });
    expect(await refused(`logout_token=${token}&logout_token=${token}`)).toBe('exactly one logout_token is required');
    expect(await refused(JSON.stringify({ logout_token: token }), { 'content-type': 'application/json' })).toContain('x-www-form-urlencoded');
    expect(outcomes.filter((outcome) => outcome === 'invalid').length).toBeGreaterThanOrEqual(6);
  });
});
