// Two gatehouse replicas sharing sessions through a Redis topology of the test's own (Sentinel or Cluster): sign-in,
// logout and back-channel logout across the replicas, and signed-in load through a disruption of Redis (a failover,
// a node restart) with every outcome recorded against the moment the disruption was over.
import { randomBytes, type KeyObject } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import { expect } from 'vitest';
import { BrowserClient } from './browser-client.js';
import { ASSERTION_KEY, CLIENT_ID, CLIENT_SECRET, SESSION_SECRET, startCloudStack, waitUntilReady, type CloudStack } from './cloud-stack.js';
import { startTestGatehouse, type TestGatehouse } from './gatehouse-process.js';
import { generatedKeys } from './keys.js';
import { freePort } from './ports.js';
import { apiWith, metricValue, SESSION_COOKIE, sleep } from './session-requests.js';
import { headerValues } from './upstream.js';
import { waitFor } from './wait.js';

const KID = 'topology-test';

export interface TwoReplicas {
  stack: CloudStack;
  a: TestGatehouse;
  b: TestGatehouse;
  /** Signs `user` in through A; the Cookie header value of the session. */
  signIn(user: string): Promise<{ client: BrowserClient; cookie: string }>;
  /** A logout token for `sub` (no sid) signed with the provider's key. */
  logoutToken(sub: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * A stack (provider, upstream, replica A) and replica B, both with session.redis = `redis`. `tokenTtlS`: the
 * provider's access and ID tokens live that long, and renewal is due 1 s before they expire.
 */
export async function startTwoReplicas(redis: Record<string, unknown>, options: { tokenTtlS?: number } = {}): Promise<TwoReplicas> {
  const pair = generatedKeys('rsa', { modulusLength: 2048 });
  const providerKey: KeyObject = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.privateKey)), kid: KID, alg: 'RS256', use: 'sig' };
  const ttl = options.tokenTtlS;
  const session = { secrets: [SESSION_SECRET], store: 'redis', redis, ...(ttl === undefined ? {} : { refresh_before: '1s' }) };
  const stack = await startCloudStack({
    providerJwks: { keys: [jwk] },
    ...(ttl === undefined ? {} : { providerTtl: { accessToken: ttl, idToken: ttl } }),
    config: { session, identity: { assertion: { keys: [ASSERTION_KEY] } } },
  });
  const b = await startTestGatehouse({
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
  return {
    stack,
    a: stack.gatehouse,
    b,
    async signIn(user) {
      const client = new BrowserClient();
      await stack.signIn(client, '/', user);
      const session = client.cookie(stack.url, SESSION_COOKIE);
      // a sign-in whose session could not be stored answers 503 and sets no cookie: fail here, not at a later 401
      if (session === undefined) throw new Error(`signing in as ${user} set no session cookie`);
      return { client, cookie: `${SESSION_COOKIE}=${session}` };
    },
    logoutToken: (sub) =>
      new SignJWT({ sub, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } })
        .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'logout+jwt' })
        .setIssuer(stack.provider.issuer)
        .setAudience(CLIENT_ID)
        .setIssuedAt()
        .setJti(randomBytes(12).toString('hex'))
        .sign(providerKey),
    async close() {
      await b.shutdown();
      await stack.close();
    },
  };
}

/** The user the app saw on the last forwarded request. */
export function lastUser(stack: CloudStack): string | undefined {
  return headerValues(stack.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')[0];
}

/** Sessions made on A work on B; logout through B ends them on A; a back-channel logout by sub through B ends all. */
export async function checkAcrossReplicas(replicas: TwoReplicas): Promise<void> {
  const { stack, a, b } = replicas;
  const carol = await replicas.signIn('carol');
  expect((await apiWith(`${a.url}/api/on-a`, carol.cookie)).status).toBe(200);
  expect((await apiWith(`${b.url}/api/on-b`, carol.cookie)).status).toBe(200);
  expect(lastUser(stack)).toBe('carol');
  const logout = await carol.client.navigate(`${b.url}/.auth/logout`, { headers: { 'sec-fetch-site': 'same-origin' } });
  expect(logout.status).toBe(302);
  await waitFor(async () => (await apiWith(`${a.url}/api/on-a`, carol.cookie)).status === 401, { timeoutMs: 1000 });
  expect((await apiWith(`${b.url}/api/on-b`, carol.cookie)).status).toBe(401);

  // two sessions of one user (two slots on a cluster), both cached on A; a logout token by sub posted to B
  const first = await replicas.signIn('bob');
  const second = await replicas.signIn('bob');
  for (const { cookie } of [first, second]) expect((await apiWith(`${a.url}/api/bob`, cookie)).status).toBe(200);
  const token = await replicas.logoutToken('bob');
  const posted = await fetch(`${b.url}/.auth/backchannel-logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: token }),
  });
  expect(posted.status).toBe(200);
  expect(await posted.json()).toEqual({ ended: 2 });
  for (const { cookie } of [first, second]) {
    await waitFor(async () => (await apiWith(`${a.url}/api/bob`, cookie)).status === 401, { timeoutMs: 1000 });
  }
}

/**
 * Refresh across the replicas (started with `tokenTtlS`): once the tokens expired, 10 requests to each replica at
 * the same moment all wait for one renewal (the Redis lock lets one replica run it, the other reads the result);
 * a second renewal would present a used refresh token, which the dev provider answers by revoking the grant.
 */
export async function checkRefreshOnce(replicas: TwoReplicas, tokenTtlS: number): Promise<void> {
  const { stack, a, b } = replicas;
  const refreshes = async (outcome: string) =>
    (await metricValue(a, 'gatehouse_session_refreshes_total', { outcome })) + (await metricValue(b, 'gatehouse_session_refreshes_total', { outcome }));
  const { cookie } = await replicas.signIn('alice');
  expect((await apiWith(`${a.url}/api/warm-a`, cookie)).status).toBe(200);
  expect((await apiWith(`${b.url}/api/warm-b`, cookie)).status).toBe(200);
  const ok = await refreshes('ok');
  // the tokens expire by the provider's clock: every request of the burst needs the renewal before it may go on
  await sleep(tokenTtlS * 1000 + 200);
  const forwarded = stack.upstream.requests.length;
  const burst = [a, b].flatMap((replica, r) => Array.from({ length: 10 }, (_, i) => apiWith(`${replica.url}/api/burst-${r}-${i}`, cookie)));
  expect((await Promise.all(burst)).map((res) => res.status)).toEqual(Array(20).fill(200));
  const users = stack.upstream.requests.slice(forwarded).map((request) => headerValues(request.rawHeaders, 'x-forwarded-user')[0]);
  expect(users).toEqual(Array(20).fill('alice'));
  expect(await refreshes('ok')).toBe(ok + 1);
  expect(await refreshes('invalid_grant')).toBe(0);
  // the grant survived: the renewed session keeps working on both
  expect((await apiWith(`${a.url}/api/after-a`, cookie)).status).toBe(200);
  expect((await apiWith(`${b.url}/api/after-b`, cookie)).status).toBe(200);
}

export interface LoadOutcome {
  /** performance.now() when the request was sent */
  sentAt: number;
  status: number;
  user: string | undefined;
}

/**
 * Signed-in requests from `workers` parallel loops, alternating replicas and sessions, until `done` resolves and
 * `after` more requests were sent after it; returns every outcome and when `done` resolved.
 */
export async function loadThrough(
  replicas: TwoReplicas,
  sessions: { user: string; cookie: string }[],
  done: Promise<void>,
  options: { workers?: number; after?: number } = {},
): Promise<{ outcomes: LoadOutcome[]; doneAt: number }> {
  const outcomes: LoadOutcome[] = [];
  let doneAt = Number.POSITIVE_INFINITY;
  const finished = done.then(() => {
    doneAt = performance.now();
  });
  let failed = false;
  done.catch(() => {
    failed = true;
  });
  let sentAfter = 0;
  const after = options.after ?? 200;
  let n = 0;
  const worker = async () => {
    while (sentAfter < after && !failed) {
      const i = n++;
      const target = i % 2 === 0 ? replicas.a : replicas.b;
      const session = sessions[i % sessions.length] as { user: string; cookie: string };
      const sentAt = performance.now();
      if (sentAt > doneAt) sentAfter++;
      const res = await apiWith(`${target.url}/api/load-${i}`, session.cookie);
      outcomes.push({ sentAt, status: res.status, user: res.status === 200 ? session.user : undefined });
    }
  };
  await Promise.all([finished, ...Array.from({ length: options.workers ?? 4 }, worker)]);
  return { outcomes, doneAt };
}

/**
 * What every topology test asserts after its event (failover, resharding, restart): at least 200 requests sent
 * after it, all served; during it only 200 or 503 (never an error of gatehouse's own); and every session made
 * before it still works on both replicas.
 */
export async function expectServedThrough(
  replicas: TwoReplicas,
  sessions: { cookie: string }[],
  { outcomes, doneAt }: { outcomes: LoadOutcome[]; doneAt: number },
): Promise<void> {
  const after = outcomes.filter((outcome) => outcome.sentAt > doneAt);
  expect(after.length).toBeGreaterThanOrEqual(200);
  expect(after.filter((outcome) => outcome.status !== 200)).toEqual([]);
  expect([...new Set(outcomes.map((outcome) => outcome.status))].filter((status) => status !== 200 && status !== 503)).toEqual([]);
  for (const { cookie } of sessions) {
    expect((await apiWith(`${replicas.a.url}/api/after`, cookie)).status).toBe(200);
    expect((await apiWith(`${replicas.b.url}/api/after`, cookie)).status).toBe(200);
  }
}
