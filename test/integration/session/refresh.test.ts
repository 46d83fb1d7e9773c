// Token refresh against the real dev provider with 4-second tokens: renewal before expiry, role changes without a new
// sign-in, single-flight under 20 concurrent requests with rotating refresh tokens, invalid_grant, provider down.
// Date is stopped in every test here and moved by it (timers stay real; gatehouse and the dev provider run in this
// process and read the same clock): a request lands before or after a token's expiry exactly where the test puts it,
// however slow the machine.
import { exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startDevProvider, type DevProvider } from '../../../demo/dev-provider.js';
import { devClient, startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { generatedKeys } from '../../helpers/keys.js';
import { apiWith, metricValue, navigateWith, signedInCookieHeader, sleep } from '../../helpers/session-requests.js';
import { headerValues } from '../../helpers/upstream.js';
import { waitFor } from '../../helpers/wait.js';

const TOKEN_TTL_S = 4;
const providerTtl = { accessToken: TOKEN_TTL_S, idToken: TOKEN_TTL_S };
/** refresh due 2 s after sign-in (4 s tokens, refresh_before 2s; refresh_interval 3s is later). */
const sessionConfig = { session: { refresh_before: '2s', refresh_interval: '3s' }, roles: { required: true } };
const REFRESH_DUE_MS = 2100;

/** Moves the stopped Date forward by `ms`. */
const advance = (ms: number): void => {
  vi.setSystemTime(Date.now() + ms);
};

// before every stack starts: gatehouse and the provider take their clock (Date.now) when they are built
beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterAll(() => {
  vi.useRealTimers();
});

const refreshes = (stack: CloudStack, outcome: string) => metricValue(stack.gatehouse, 'gatehouse_session_refreshes_total', { outcome });
const rolesSeen = (stack: CloudStack) => headerValues(stack.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-roles');

describe('refresh with a live provider', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack({ providerTtl, config: sessionConfig });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('renews tokens before they expire: the session outlives its first tokens', async () => {
    const cookie = await signedInCookieHeader(stack, 'carol');
    const ok = await refreshes(stack, 'ok');
    advance(REFRESH_DUE_MS);
    expect((await apiWith(`${stack.url}/api/a`, cookie)).status).toBe(200);
    await waitFor(async () => (await refreshes(stack, 'ok')) === ok + 1, { timeoutMs: 3000 });
    // past the first tokens' expiry
    advance(TOKEN_TTL_S * 1000 - REFRESH_DUE_MS + 300);
    const late = await apiWith(`${stack.url}/api/b`, cookie);
    expect(late.status).toBe(200);
    expect(headerValues(stack.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['carol']);
  });

  it('a role change at the provider reaches the app without a new sign-in; removing the last role gives no-access', async () => {
    const cookie = await signedInCookieHeader(stack, 'carol');
    try {
      expect((await apiWith(`${stack.url}/api/r`, cookie)).status).toBe(200);
      expect(rolesSeen(stack)).toEqual(['user']);
      stack.provider.setRoles('carol', ['admin']);
      advance(REFRESH_DUE_MS);
      await waitFor(
        async () => {
          const res = await apiWith(`${stack.url}/api/r`, cookie);
          return res.status === 200 && rolesSeen(stack)[0] === 'admin';
        },
        { timeoutMs: 3000, intervalMs: 100 },
      );
      const me = JSON.parse((await apiWith(`${stack.url}/.auth/me`, cookie)).body) as { roles: string[]; access: string };
      expect(me).toMatchObject({ roles: ['admin'], access: 'granted' });

      stack.provider.setRoles('carol', []);
      const forwarded = stack.upstream.requests.length;
      advance(REFRESH_DUE_MS);
      await waitFor(async () => (await apiWith(`${stack.url}/api/r`, cookie)).status === 403, { timeoutMs: 3000, intervalMs: 100 });
      const page = await navigateWith(`${stack.url}/home`, cookie);
      expect(page.status).toBe(403);
      expect(page.body).toContain('have access');
      const api = await apiWith(`${stack.url}/api/r`, cookie);
      expect(JSON.parse(api.body)).toMatchObject({ error: 'no_access' });
      // only requests sent while the old roles still held reached the app
      expect(stack.upstream.requests.slice(forwarded).every((r) => headerValues(r.rawHeaders, 'x-forwarded-roles')[0] === 'admin')).toBe(true);
    } finally {
      stack.provider.setRoles('carol', ['user']);
    }
  });

  it('20 concurrent requests when a refresh is due trigger one refresh; rotated refresh tokens keep the user signed in', async () => {
    const cookie = await signedInCookieHeader(stack, 'alice');
    for (let round = 1; round <= 2; round++) {
      const ok = await refreshes(stack, 'ok');
      const refused = await refreshes(stack, 'invalid_grant');
      advance(REFRESH_DUE_MS);
      const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => apiWith(`${stack.url}/api/c${i}`, cookie).then((res) => res.status)));
      expect(statuses).toEqual(Array(20).fill(200));
      await waitFor(async () => (await refreshes(stack, 'ok')) >= ok + 1, { timeoutMs: 3000 });
      await sleep(300);
      expect(await refreshes(stack, 'ok')).toBe(ok + 1);
      expect(await refreshes(stack, 'invalid_grant')).toBe(refused);
    }
    expect((await apiWith(`${stack.url}/api/after`, cookie)).status).toBe(200);
  });
});

describe('refresh when the provider refuses or is down', () => {
  // oidc-provider's in-memory adapter is shared by every Provider in a process, so a restarted dev provider still
  // knows the grants; a refresh token that expires before the refresh is due gets the same invalid_grant.
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack({ providerTtl: { ...providerTtl, refreshToken: 1 }, config: sessionConfig });
  });
  afterAll(async () => {
    await stack?.gatehouse.shutdown();
    await stack?.upstream.close();
    await stack?.provider.close().catch(() => undefined);
  });

  it('invalid_grant ends the session; the next navigation re-authenticates', async () => {
    const cookie = await signedInCookieHeader(stack, 'carol');
    const refused = await refreshes(stack, 'invalid_grant');
    const from = stack.gatehouse.logs.length;
    advance(REFRESH_DUE_MS);
    // this request still rides on valid tokens and starts the refresh, which the provider refuses
    expect((await apiWith(`${stack.url}/api/x`, cookie)).status).toBe(200);
    await waitFor(async () => (await refreshes(stack, 'invalid_grant')) === refused + 1, { timeoutMs: 3000 });
    expect((await apiWith(`${stack.url}/api/x`, cookie)).status).toBe(401);
    const nav = await navigateWith(`${stack.url}/page`, cookie);
    expect(nav.status).toBe(302);
    expect(nav.headers.location).toBe('/.auth/login?rd=%2Fpage');
    expect(stack.gatehouse.logs.slice(from).some((line) => line.msg === 'refresh refused by the provider (invalid_grant); session ended')).toBe(true);
  });

  it('provider down: the session works until its tokens expire, with a warn log line, then ends', async () => {
    const cookie = await signedInCookieHeader(stack, 'carol');
    const signedInAt = Date.now();
    const unavailable = await refreshes(stack, 'provider_unavailable');
    const from = stack.gatehouse.logs.length;
    await stack.provider.close();
    advance(REFRESH_DUE_MS);
    expect((await apiWith(`${stack.url}/api/x`, cookie)).status).toBe(200);
    await waitFor(async () => (await refreshes(stack, 'provider_unavailable')) === unavailable + 1, { timeoutMs: 3000 });
    const warning = stack.gatehouse.logs.slice(from).find((line) => line.msg === 'session refresh failed; the session stays valid until its tokens expire');
    expect(warning).toMatchObject({ level: 'warn', sub: 'carol' });
    expect((await apiWith(`${stack.url}/api/x`, cookie)).status).toBe(200);
    vi.setSystemTime(signedInAt + TOKEN_TTL_S * 1000 + 200);
    expect((await apiWith(`${stack.url}/api/x`, cookie)).status).toBe(401);
    expect(stack.gatehouse.logs.slice(from).some((line) => line.msg === 'session refresh failed and its tokens have expired; session ended')).toBe(true);
  });
});

describe('provider signing-key rotation while users are signed in', () => {
  let stack: CloudStack;
  let rotated: DevProvider | undefined;
  const signingJwk = async (kid: string) => ({
    ...(await exportJWK(generatedKeys('rsa', { modulusLength: 2048 }).privateKey)),
    kid,
    alg: 'RS256',
    use: 'sig',
  });

  beforeAll(async () => {
    stack = await startCloudStack({ providerTtl, providerJwks: { keys: [await signingJwk('key-before')] }, config: sessionConfig });
  });
  afterAll(async () => {
    await stack?.gatehouse.shutdown();
    await stack?.upstream.close();
    await rotated?.close();
  });

  it('the refreshed ID token is signed with a key gatehouse has not seen: it fetches the new key set and the session goes on', async () => {
    const cookie = await signedInCookieHeader(stack, 'alice');
    const ok = await refreshes(stack, 'ok');
    const failed = (await refreshes(stack, 'error')) + (await refreshes(stack, 'invalid_grant'));
    // the provider restarts with only a new key published (its grants live on in the shared in-memory adapter)
    const port = Number(new URL(stack.provider.issuer).port);
    await stack.provider.close();
    rotated = await startDevProvider({ port, clients: [devClient(stack.url)], ttl: providerTtl, jwks: { keys: [await signingJwk('key-after')] } });

    advance(REFRESH_DUE_MS);
    expect((await apiWith(`${stack.url}/api/rotated`, cookie)).status).toBe(200);
    await waitFor(async () => (await refreshes(stack, 'ok')) === ok + 1, { timeoutMs: 3000 });
    expect((await refreshes(stack, 'error')) + (await refreshes(stack, 'invalid_grant'))).toBe(failed);
    // past the first tokens' expiry the session lives on the renewed ones
    advance(TOKEN_TTL_S * 1000 - REFRESH_DUE_MS + 300);
    expect((await apiWith(`${stack.url}/api/later`, cookie)).status).toBe(200);
    expect(headerValues(stack.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['alice']);
  });
});
