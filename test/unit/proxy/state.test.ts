// The listener's per-config state: a reload builds the next one whole, and what the previous one alone held (its
// upstream pool) is let go only when the requests that began under it are done.
import { describe, expect, it } from 'vitest';
import { createLocalAccess } from '../../../src/authorize/local-access.js';
import { configSchema, type Config } from '../../../src/config/schema.js';
import { Metrics } from '../../../src/ops/metrics.js';
import { brandingOf } from '../../../src/pages/render.js';
import { buildProxyState, retire, type ProxyState } from '../../../src/proxy/state.js';

const deps = { metrics: new Metrics({ defaultMetrics: false }), onUntrustedPeer: (): void => {} };
const configFor = (url: string, extra: Record<string, unknown> = {}): Config => configSchema.parse({ mode: 'local', upstream: { url }, ...extra });
const stateFor = (config: Config, previous?: ProxyState): ProxyState =>
  buildProxyState(config, createLocalAccess({ localLoginPaths: config.local_login.paths, branding: brandingOf(config.pages) }), deps, previous);
/** Whether the undici pool behind a state's upstream is closed (its `closed` is undici's public flag). */
const poolClosed = (state: ProxyState): boolean => (state.upstream.upstream as unknown as { pool: { closed: boolean } }).pool.closed;
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('buildProxyState', () => {
  it('derives everything from the config once, frozen; keeps the upstream pool when the upstream settings did not change', async () => {
    const first = stateFor(configFor('http://127.0.0.1:9001', { identity: { headers: { user: 'X-User' } }, log: { access_user: true } }));
    expect(Object.isFrozen(first)).toBe(true);
    expect(first).toMatchObject({ prefix: '/.auth/', userHeader: 'x-user', accessLog: true, accessUser: true });
    expect(first.isIdentityHeader('x-user')).toBe(true);
    const same = stateFor(configFor('http://127.0.0.1:9001', { pages: { title: 'Renamed' } }), first);
    expect(same.upstream).toBe(first.upstream);
    expect(same.branding).not.toBe(first.branding);
    const moved = stateFor(configFor('http://127.0.0.1:9002'), same);
    expect(moved.upstream).not.toBe(first.upstream);
    await Promise.all([retire(first), retire(same), moved.upstream.close()]);
  });
});

describe('retire', () => {
  it('resolves at once when no request of the replaced state is in flight, else when its last one is done', async () => {
    const idle = stateFor(configFor('http://127.0.0.1:9003'));
    await retire(idle);
    expect(poolClosed(idle)).toBe(true);

    const busy = stateFor(configFor('http://127.0.0.1:9003'));
    busy.inFlight.enter();
    busy.inFlight.enter();
    let done = false;
    const retired = retire(busy).then(() => (done = true));
    busy.inFlight.leave();
    await settled();
    expect(done).toBe(false);
    expect(poolClosed(busy)).toBe(false);
    busy.inFlight.leave();
    await retired;
    expect(poolClosed(busy)).toBe(true);
  });

  it('a pool two states share closes only when both are replaced and idle', async () => {
    const a = stateFor(configFor('http://127.0.0.1:9004'));
    const b = stateFor(configFor('http://127.0.0.1:9004', { pages: { title: 'B' } }), a);
    const c = stateFor(configFor('http://127.0.0.1:9005'), b);
    a.inFlight.enter();
    const aRetired = retire(a);
    await retire(b);
    expect(poolClosed(b)).toBe(false);
    a.inFlight.leave();
    await aRetired;
    expect(poolClosed(a)).toBe(true);
    expect(poolClosed(c)).toBe(false);
    await c.upstream.close();
  });
});
