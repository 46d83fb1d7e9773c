// Each metric family docs/operators/metrics.md documents appears on /metrics, with its Prometheus type, after the event it counts:
// sign-ins through the real dev provider, a silent re-auth, a refresh, a failed callback, a back-channel logout,
// a rejected cookie, a proxied request and a refused upstream.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { sendRequest } from '../../helpers/gatehouse-process.js';
import { waitFor } from '../../helpers/wait.js';

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

function typeOf(text: string, family: string): string | undefined {
  return new RegExp(`^# TYPE ${family} (\\w+)$`, 'm').exec(text)?.[1];
}

describe('metrics on /metrics after real events', () => {
  let stack: CloudStack;
  let text: string;

  beforeAll(async () => {
    // Date stopped before the stack starts and moved by the test: the refresh is due when the test says, not after a sleep
    vi.useFakeTimers({ toFake: ['Date'] });
    stack = await startCloudStack({ config: { session: { refresh_interval: '1s' } } });
    const metrics = async (): Promise<string> => (await sendRequest(`${stack.gatehouse.opsUrl}/metrics`)).body;

    const alice = new BrowserClient();
    await stack.signIn(alice, '/', 'alice', 'authorize');
    // the session cookie dropped, the provider session kept: the next sign-in is silent (prompt=none) and succeeds
    alice.jar.store(new URL(stack.url), 'gatehouse_session=; Path=/; Max-Age=0');
    const silent = await alice.follow(`${stack.url}/.auth/start?rd=%2F`);
    expect(silent.final.url).toBe(`${stack.url}/`);
    expect(silent.final.status).toBe(200);

    // a returning-user hint without a provider session: prompt=none comes back login_required, then interactive
    const stranger = new BrowserClient();
    stranger.jar.store(new URL(stack.url), 'gatehouse_returning=1; Path=/');
    await stranger.follow(
      `${stack.url}/.auth/start?rd=%2F`,
      {},
      { stopAt: (next) => next.searchParams.get('prompt') === null && next.pathname.endsWith('/auth') },
    );

    vi.setSystemTime(Date.now() + 1100);
    await alice.navigate(`${stack.url}/after-refresh-interval`);
    await waitFor(async () => sample(await metrics(), 'gatehouse_session_refreshes_total{outcome="ok"}') === 1, { what: 'the refresh counted' });

    await alice.navigate(`${stack.url}/.auth/callback?state=unknown&code=x`);
    await sendRequest(`${stack.url}/x`, { headers: { cookie: 'gatehouse_session=not-a-session-cookie' } });
    await sendRequest(`${stack.url}/.auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'logout_token=not.a.jwt',
    });
    await stack.upstream.close();
    expect((await alice.api(`${stack.url}/app-is-down`)).status).toBe(502);
    text = await metrics();
  });
  afterAll(async () => {
    await stack?.close();
    vi.useRealTimers();
  });

  it.each([
    // alice's first sign-in and the stranger's interactive retry; alice's and the stranger's prompt=none tries
    ['gatehouse_sign_ins_started_total', 'counter', 'gatehouse_sign_ins_started_total{silent="false"}', 2],
    ['gatehouse_sign_ins_started_total', 'counter', 'gatehouse_sign_ins_started_total{silent="true"}', 2],
    ['gatehouse_sign_ins_completed_total', 'counter', 'gatehouse_sign_ins_completed_total{silent="false"}', 1],
    ['gatehouse_sign_ins_completed_total', 'counter', 'gatehouse_sign_ins_completed_total{silent="true"}', 1],
    ['gatehouse_sign_ins_failed_total', 'counter', 'gatehouse_sign_ins_failed_total{reason="state"}', 1],
    ['gatehouse_silent_reauth_fallbacks_total', 'counter', 'gatehouse_silent_reauth_fallbacks_total{error="login_required"}', 1],
    ['gatehouse_session_refreshes_total', 'counter', 'gatehouse_session_refreshes_total{outcome="ok"}', 1],
    ['gatehouse_backchannel_logouts_total', 'counter', 'gatehouse_backchannel_logouts_total{outcome="invalid"}', 1],
    ['gatehouse_session_cookies_rejected_total', 'counter', 'gatehouse_session_cookies_rejected_total{reason="malformed"}', 1],
    ['gatehouse_sessions_live', 'gauge', 'gatehouse_sessions_live', 2],
    ['gatehouse_upstream_errors_total', 'counter', 'gatehouse_upstream_errors_total{kind="refused"}', 1],
  ])('%s (%s): %s = %d', (family, type, series, value) => {
    expect(typeOf(text, family)).toBe(type);
    expect(sample(text, series)).toBe(value);
  });

  it('observes the provider latency by endpoint and the app latency to response headers', () => {
    expect(typeOf(text, 'gatehouse_provider_request_duration_seconds')).toBe('histogram');
    expect(sample(text, 'gatehouse_provider_request_duration_seconds_count{endpoint="token"}')).toBe(3); // two code exchanges, one refresh
    expect(sample(text, 'gatehouse_provider_request_duration_seconds_count{endpoint="discovery"}')).toBe(1);
    expect(typeOf(text, 'gatehouse_upstream_response_seconds')).toBe('histogram');
    const forwarded = stack.upstream.requests.length;
    expect(forwarded).toBeGreaterThan(0);
    expect(sample(text, 'gatehouse_upstream_response_seconds_count')).toBe(forwarded);
    expect(sample(text, 'gatehouse_upstream_response_seconds_bucket{le="+Inf"}')).toBe(forwarded);
  });

  it('declares the Redis error counter even with the memory store', () => {
    expect(typeOf(text, 'gatehouse_redis_errors_total')).toBe('counter');
  });
});
