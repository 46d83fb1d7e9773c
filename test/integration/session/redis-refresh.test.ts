// Refresh across two replicas sharing sessions through the real Redis: requests of one session arriving at both at
// once renew its tokens once. The dev provider rotates refresh tokens and revokes the whole grant when a used one is
// presented again, so a second refresh by the other replica would sign the user out at the next renewal.
// Date is stopped and moved by the test, as in refresh.test.ts (both replicas and the dev provider run in this process
// and read the same clock; Redis expiry and the replicas' caches run on real time): a refresh is due, or the tokens
// have expired, exactly when the test says so. The lock and single-flight logic itself is unit-tested
// (test/unit/session/sessions.test.ts); this is the end-to-end check with the real store and provider.
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ASSERTION_KEY, CLIENT_ID, CLIENT_SECRET, SESSION_SECRET, startCloudStack, waitUntilReady, type CloudStack } from '../../helpers/cloud-stack.js';
import { startTestGatehouse, type TestGatehouse } from '../../helpers/gatehouse-process.js';
import { freePort } from '../../helpers/ports.js';
import { redisAnswers, REDIS_URL } from '../../helpers/redis-relay.js';
import { apiWith, metricValue, signedInCookieHeader, sleep } from '../../helpers/session-requests.js';
import { headerValues } from '../../helpers/upstream.js';
import { waitFor } from '../../helpers/wait.js';

const redisUp = await redisAnswers();
const PREFIX = `gh-test-${randomBytes(6).toString('hex')}:`;
const TOKEN_TTL_S = 4;
/** refresh due 2 s after each renewal (4 s tokens, refresh_before 2s); the tokens themselves expire 2 s later. */
const session = { secrets: [SESSION_SECRET], store: 'redis', redis: { prefix: PREFIX }, refresh_before: '2s', refresh_interval: '3s' };
const REFRESH_DUE_MS = 2100;

/** Moves the stopped Date forward by `ms`. */
const advance = (ms: number): void => {
  vi.setSystemTime(Date.now() + ms);
};

const TITLE = redisUp
  ? 'refresh across two replicas (real Redis at 127.0.0.1:6379)'
  : 'refresh across two replicas: SKIPPED, no Redis answers PING at 127.0.0.1:6379';

describe.skipIf(!redisUp)(TITLE, () => {
  const raw = createClient({ url: REDIS_URL });
  let stack: CloudStack;
  let b: TestGatehouse;
  let replicas: TestGatehouse[];

  beforeAll(async () => {
    // before the stack starts: gatehouse and the provider take their clock (Date.now) when they are built
    vi.useFakeTimers({ toFake: ['Date'] });
    await raw.connect();
    stack = await startCloudStack({
      providerTtl: { accessToken: TOKEN_TTL_S, idToken: TOKEN_TTL_S },
      config: { session, identity: { assertion: { keys: [ASSERTION_KEY] } } },
    });
    b = await startTestGatehouse({
      ...stack.tree,
      listen: { host: '127.0.0.1', port: await freePort() },
      sso: {
        issuer: stack.provider.issuer,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        scopes: ['openid', 'profile', 'email', 'roles', 'offline_access'],
      },
    });
    await waitUntilReady(b);
    replicas = [stack.gatehouse, b];
  });
  afterAll(async () => {
    await b?.shutdown();
    await stack?.close();
    const keys = await raw.keys(`${PREFIX}*`);
    if (keys.length > 0) await raw.del(keys);
    raw.destroy();
    vi.useRealTimers();
  });

  const refreshes = async (outcome: string): Promise<number> => {
    const counts = await Promise.all(replicas.map((replica) => metricValue(replica, 'gatehouse_session_refreshes_total', { outcome })));
    return counts.reduce((sum, count) => sum + count, 0);
  };

  /** 10 requests to each replica at the same moment; every one must reach the app as the user. */
  async function burst(cookie: string, label: string): Promise<void> {
    const forwarded = stack.upstream.requests.length;
    const requests = replicas.flatMap((replica, r) => Array.from({ length: 10 }, (_, i) => apiWith(`${replica.url}/api/${label}-${r}-${i}`, cookie)));
    const statuses = (await Promise.all(requests)).map((res) => res.status);
    expect(statuses).toEqual(Array(20).fill(200));
    const users = stack.upstream.requests.slice(forwarded).map((request) => headerValues(request.rawHeaders, 'x-forwarded-user')[0]);
    expect(users).toEqual(Array(20).fill('alice'));
  }

  it('a burst on both replicas when a refresh is due renews once; so does one after the tokens expired; the user stays signed in', async () => {
    const cookie = await signedInCookieHeader(stack, 'alice');
    // both replicas have the session in their local cache before the refresh is due
    expect((await apiWith(`${stack.url}/api/warm-a`, cookie)).status).toBe(200);
    expect((await apiWith(`${b.url}/api/warm-b`, cookie)).status).toBe(200);
    const refused = await refreshes('invalid_grant');

    // tokens still valid: the requests go on at once, the renewal runs beside them
    let ok = await refreshes('ok');
    advance(REFRESH_DUE_MS);
    await burst(cookie, 'due');
    await waitFor(async () => (await refreshes('ok')) >= ok + 1, { timeoutMs: 3000 });
    await sleep(300);
    expect(await refreshes('ok')).toBe(ok + 1);

    // tokens expired: every request needs the renewal before it may go on
    ok = await refreshes('ok');
    advance(TOKEN_TTL_S * 1000 + 200);
    // every request of this burst waited for the renewal, so it has happened by the time they are all answered
    await burst(cookie, 'expired');
    expect(await refreshes('ok')).toBe(ok + 1);

    // the grant survived: the next renewal, through the other replica, succeeds too
    ok = await refreshes('ok');
    advance(REFRESH_DUE_MS);
    expect((await apiWith(`${b.url}/api/later`, cookie)).status).toBe(200);
    await waitFor(async () => (await refreshes('ok')) >= ok + 1, { timeoutMs: 3000 });
    expect(await refreshes('invalid_grant')).toBe(refused);
    expect((await apiWith(`${stack.url}/api/last`, cookie)).status).toBe(200);
  });
});
