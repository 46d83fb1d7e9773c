// Two gatehouse replicas sharing sessions through the real Redis on 127.0.0.1:6379: a session used on both, logout
// on one refused by the other within a second, jti replay refused across replicas, secret rotation, Redis outage.
import { randomBytes, type KeyObject } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { ASSERTION_KEY, CLIENT_ID, CLIENT_SECRET, SESSION_SECRET, startCloudStack, waitUntilReady, type CloudStack } from '../../helpers/cloud-stack.js';
import { generatedKeys } from '../../helpers/keys.js';
import { freePort } from '../../helpers/ports.js';
import { signInAtProvider } from '../../helpers/dev-provider-flow.js';
import { startTestGatehouse, type TestGatehouse } from '../../helpers/gatehouse-process.js';
import { redisAnswers, RedisRelay, REDIS_URL } from '../../helpers/redis-relay.js';
import { apiWith, metricValue, SESSION_COOKIE, sleep } from '../../helpers/session-requests.js';
import { headerValues } from '../../helpers/upstream.js';
import { waitFor } from '../../helpers/wait.js';

const redisUp = await redisAnswers();
const PREFIX = `gh-test-${randomBytes(6).toString('hex')}:`;
const NEW_SECRET = 'rotated-session-secret-0123456789-abcdefgh';
const KID = 'replicas-test';
/** Local cache lifetime of the replica whose cache entry must expire during the Redis outage. */
const SHORT_CACHE_MS = 300;

/** The config of another replica of `stack` (same public URL, provider, upstream), listening on its own port. */
async function replica(stack: CloudStack, session: Record<string, unknown>): Promise<TestGatehouse> {
  const gatehouse = await startTestGatehouse({
    mode: 'cloud',
    listen: { host: '127.0.0.1', port: await freePort() },
    public_url: stack.url,
    upstream: { url: stack.upstream.url },
    sso: {
      issuer: stack.provider.issuer,
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      scopes: ['openid', 'profile', 'email', 'roles', 'offline_access'],
    },
    session: { secrets: [SESSION_SECRET], store: 'redis', redis: { prefix: PREFIX }, ...session },
    identity: { assertion: { keys: [ASSERTION_KEY] } },
  });
  await waitUntilReady(gatehouse);
  return gatehouse;
}

async function signedIn(stack: CloudStack, user: string): Promise<{ client: BrowserClient; cookie: string }> {
  const client = new BrowserClient();
  await stack.signIn(client, '/', user);
  return { client, cookie: `${SESSION_COOKIE}=${client.cookie(stack.url, SESSION_COOKIE) as string}` };
}

/** Sign-in started on `url`; the provider's callback (to the public URL) is routed to `url`, as a load balancer may. */
async function signInVia(url: string, client: BrowserClient, user: string) {
  const toProvider = await client.follow(`${url}/.auth/start?rd=%2F&interactive=1`, {}, { stopAt: (next) => next.origin !== url });
  const page = await client.follow(toProvider.final.location as string);
  const atProvider = await signInAtProvider(client, page.final, { login: user }, 'skip-if-absent');
  const callback = new URL(atProvider.final.location as string);
  return client.navigate(`${url}${callback.pathname}${callback.search}`);
}

const REAL_REDIS = redisUp
  ? 'Redis store end to end (real Redis at 127.0.0.1:6379)'
  : 'Redis store end to end: SKIPPED, no Redis answers PING at 127.0.0.1:6379';

describe.skipIf(!redisUp)(REAL_REDIS, () => {
  const raw = createClient({ url: REDIS_URL });
  const extra: TestGatehouse[] = [];
  let stack: CloudStack;
  let b: TestGatehouse;
  let providerKey: KeyObject;

  beforeAll(async () => {
    await raw.connect();
    const pair = generatedKeys('rsa', { modulusLength: 2048 });
    providerKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.privateKey)), kid: KID, alg: 'RS256', use: 'sig' };
    stack = await startCloudStack({
      providerJwks: { keys: [jwk] },
      config: { session: { secrets: [SESSION_SECRET], store: 'redis', redis: { prefix: PREFIX } }, identity: { assertion: { keys: [ASSERTION_KEY] } } },
    });
    b = await replica(stack, {});
  });
  afterAll(async () => {
    for (const gatehouse of [b, ...extra]) await gatehouse?.shutdown();
    await stack?.close();
    const keys = await raw.keys(`${PREFIX}*`);
    if (keys.length > 0) await raw.del(keys);
    raw.destroy();
  });

  it('signed in through A, the session works on B; logout through B is refused by A within one second', async () => {
    const { client, cookie } = await signedIn(stack, 'carol');
    expect((await apiWith(`${stack.url}/api/on-a`, cookie)).status).toBe(200);
    const onB = await apiWith(`${b.url}/api/on-b`, cookie);
    expect(onB.status).toBe(200);
    const seen = stack.upstream.requests.at(-1);
    expect(seen?.url).toBe('/api/on-b');
    expect(headerValues(seen?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['carol']);
    expect(headerValues(seen?.rawHeaders ?? [], 'x-gatehouse-assertion')).toHaveLength(1);
    // nothing a browser could present is stored: the key is the MAC, never the session id it needs
    const sessionId = cookie.slice(`${SESSION_COOKIE}=`.length, `${SESSION_COOKIE}=`.length + 43);
    const stored = await raw.keys(`${PREFIX}*`);
    expect(stored.length).toBeGreaterThan(0);
    for (const key of stored) expect(key).not.toContain(sessionId);

    // the browser is on the public URL (A's); the load balancer routes its Sign out click to B
    const logout = await client.navigate(`${b.url}/.auth/logout`, { headers: { 'sec-fetch-site': 'same-origin' } });
    expect(logout.status).toBe(302);
    const took = await waitFor(async () => (await apiWith(`${stack.url}/api/on-a`, cookie)).status === 401, { timeoutMs: 1000 });
    expect(took).toBeLessThan(1000);
    expect((await apiWith(`${b.url}/api/on-b`, cookie)).status).toBe(401);
  });

  it('a logout token accepted by A is refused as a replay by B (jti kept in Redis)', async () => {
    const token = await new SignJWT({ sub: 'nobody', events: { 'http://schemas.openid.net/event/backchannel-logout': {} } })
      .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'logout+jwt' })
      .setIssuer(stack.provider.issuer)
      .setAudience(CLIENT_ID)
      .setIssuedAt()
      .setJti(randomBytes(12).toString('hex'))
      .sign(providerKey);
    const post = (url: string) =>
      fetch(`${url}/.auth/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }),
      });
    const onA = await post(stack.url);
    expect(onA.status).toBe(200);
    expect(await onA.json()).toEqual({ ended: 0 });
    const onB = await post(b.url);
    expect(onB.status).toBe(400);
    expect(await onB.json()).toEqual({ error: 'invalid_request', error_description: 'logout token replayed (jti already used)' });
  });

  it('secret rotation: a session made under the old secret works on a replica with [new, old], not on one with [new] only', async () => {
    const { cookie } = await signedIn(stack, 'alice');
    const rotated = await replica(stack, { secrets: [NEW_SECRET, SESSION_SECRET] });
    extra.push(rotated);
    const res = await apiWith(`${rotated.url}/api/rotated`, cookie);
    expect(res.status).toBe(200);
    expect(headerValues(stack.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['alice']);
    const newOnly = await replica(stack, { secrets: [NEW_SECRET] });
    extra.push(newOnly);
    expect((await apiWith(`${newOnly.url}/api/rotated`, cookie)).status).toBe(401);
    expect(await metricValue(newOnly, 'gatehouse_session_cookies_rejected_total', { reason: 'bad-mac' })).toBe(1);
  });

  it('Redis outage: cached sessions keep working until the cache expires, new sign-ins get 503, /readyz 503; recovery without restart', async () => {
    const relay = await RedisRelay.start();
    // Two replicas behind the same cut Redis, so no outcome depends on how fast this machine notices the outage:
    // `outage` keeps its cache entries longer than the test can run (the cached session must keep working however
    // long the outage takes to show), `shortCache` drops them after SHORT_CACHE_MS, which the test waits out (then
    // the session can no longer be read: fail closed). Waiting longer only makes both outcomes more certain.
    const outage = await replica(stack, { redis: { prefix: PREFIX, url: relay.url, cache_ttl: '1h' } });
    extra.push(outage);
    const shortCache = await replica(stack, { redis: { prefix: PREFIX, url: relay.url, cache_ttl: `${SHORT_CACHE_MS}ms` } });
    extra.push(shortCache);
    const readyz = async (gatehouse: TestGatehouse) => (await fetch(`${gatehouse.opsUrl}/readyz`)).status;
    try {
      const { cookie } = await signedIn(stack, 'carol');
      expect((await apiWith(`${outage.url}/api/cached`, cookie)).status).toBe(200);
      expect((await apiWith(`${shortCache.url}/api/cached`, cookie)).status).toBe(200);
      const cachedAt = performance.now();
      await relay.stop();
      await waitFor(async () => (await readyz(outage)) === 503 && (await readyz(shortCache)) === 503, { timeoutMs: 10_000 });
      await sleep(Math.max(0, cachedAt + SHORT_CACHE_MS + 100 - performance.now()));

      // the cache entry of shortCache has expired: the session cannot be read, fail closed
      const expired = await apiWith(`${shortCache.url}/api/cached`, cookie);
      expect(expired.status).toBe(503);
      expect(JSON.parse(expired.body)).toMatchObject({ error: 'unavailable' });
      // outage still holds it: served from the local cache while Redis is down
      const before = stack.upstream.requests.length;
      expect((await apiWith(`${outage.url}/api/cached`, cookie)).status).toBe(200);
      expect(stack.upstream.requests.slice(before).map((r) => [r.url, headerValues(r.rawHeaders, 'x-forwarded-user')])).toEqual([['/api/cached', ['carol']]]);

      const fresh = new BrowserClient();
      const landed = await signInVia(outage.url, fresh, 'alice');
      expect(landed.status).toBe(503);
      expect(landed.headers['content-type']).toMatch(/^text\/html/);
      expect(fresh.cookie(outage.url, SESSION_COOKIE)).toBeUndefined();

      await relay.resume();
      await waitFor(async () => (await readyz(outage)) === 200 && (await readyz(shortCache)) === 200, { timeoutMs: 10_000, intervalMs: 100 });
      expect((await apiWith(`${outage.url}/api/cached`, cookie)).status).toBe(200);
      expect((await apiWith(`${shortCache.url}/api/cached`, cookie)).status).toBe(200);
      const again = await signInVia(outage.url, new BrowserClient(), 'alice');
      expect(again.status).toBe(302);
      expect([again.headers['set-cookie'] ?? []].flat().some((line) => line.startsWith(`${SESSION_COOKIE}=`))).toBe(true);
    } finally {
      await relay.stop().catch(() => undefined);
    }
  });
});
