// Redis killed and restarted under load (a TCP relay in front of the real Redis is cut and restored): cached
// sessions keep working, a session that needs Redis fails closed with 503, nothing crashes, and after the
// restore new sign-ins work again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionCookie } from '../../src/session/session-cookie.js';
import { BrowserClient } from '../helpers/browser-client.js';
import { metricValue } from '../helpers/session-requests.js';
import { ASSERTION_KEY, SESSION_SECRET, startCloudStack, type CloudStack } from '../helpers/cloud-stack.js';
import { sendRequest } from '../helpers/gatehouse-process.js';
import { redisAnswers, RedisRelay } from '../helpers/redis-relay.js';
import { waitFor } from '../helpers/wait.js';

const redisUp = await redisAnswers();

describe.skipIf(!redisUp)('Redis killed and restarted mid-load (needs Redis at 127.0.0.1:6379)', () => {
  let relay: RedisRelay;
  let stack: CloudStack;
  let cached: string;

  beforeAll(async () => {
    relay = await RedisRelay.start();
    stack = await startCloudStack({
      config: {
        session: { store: 'redis', redis: { url: relay.url, prefix: `gatehouse-reliability-${process.pid}:`, cache_ttl: '1h' } },
        identity: { assertion: { keys: [ASSERTION_KEY] } },
      },
    });
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'alice');
    cached = `gatehouse_session=${client.cookie(stack.url, 'gatehouse_session') ?? ''}`;
    await client.close();
  });
  afterAll(async () => {
    await stack?.close();
    await relay?.stop().catch(() => undefined);
  });

  it('a load loop of signed-in requests runs through the outage and the restore without one failure', async () => {
    const statuses = new Map<number, number>();
    let served = 0;
    let running = true;
    const loop = async (): Promise<void> => {
      while (running) {
        const res = await sendRequest(`${stack.url}/app`, { headers: { accept: 'application/json', cookie: cached } });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        served++;
      }
    };
    // each phase waits for this many more answers to the load loop, not for a time: the cache (1 h) outlives the test
    const answered = async (more: number): Promise<void> => {
      const target = served + more;
      await waitFor(() => served >= target, { timeoutMs: 10_000 });
    };
    const workers = [loop(), loop(), loop()];
    await answered(10);

    await relay.stop();
    await waitFor(() => !stack.gatehouse.readiness.ready, { timeoutMs: 10_000 });
    const readyz = await sendRequest(`${stack.gatehouse.opsUrl}/readyz`);
    expect(readyz.status).toBe(503);

    // a session with a valid MAC that is not in the local cache needs Redis: fail closed, 503, never forwarded
    const uncached = `gatehouse_session=${new SessionCookie({ secrets: [SESSION_SECRET], name: 'gatehouse_session', secure: false, maxAgeMs: 1 }).issue().value}`;
    const before = stack.upstream.requests.length;
    const miss = await sendRequest(`${stack.url}/app`, { headers: { accept: 'application/json', cookie: uncached } });
    expect(miss.status).toBe(503);
    expect(JSON.parse(miss.body)).toMatchObject({ error: 'unavailable' });
    expect(stack.upstream.requests.slice(before).some((r) => r.rawHeaders.includes(uncached))).toBe(false);

    // the load keeps being served from the local cache while Redis is down
    await answered(10);
    expect(stack.gatehouse.readiness.ready).toBe(false);
    await relay.resume();
    await waitFor(() => stack.gatehouse.readiness.ready, { timeoutMs: 10_000 });
    await answered(10);
    running = false;
    await Promise.all(workers);

    expect([...statuses.keys()]).toEqual([200]);
    expect(stack.gatehouse.logs.filter((l) => l.msg === 'request failed').map((l) => l.code)).toEqual(['GH_STORE_UNAVAILABLE']);
    // what an operator's alert reads: connection errors counted during the outage
    expect(await metricValue(stack.gatehouse, 'gatehouse_redis_errors_total', { kind: 'connection' })).toBeGreaterThan(0);
  });

  it('after the restore a new sign-in works and its session is served', async () => {
    const client = new BrowserClient();
    const { landed } = await stack.signIn(client, '/after', 'carol');
    await client.close();
    expect(landed.status).toBe(200);
    expect(stack.upstream.requests.at(-1)?.url).toBe('/after');
  });
});
