// A cloud-mode stack for tests: the dev provider (oidc-provider), a recording upstream and gatehouse, all on
// 127.0.0.1 ports, plus a full browser-like sign-in through the provider's real login and consent forms.
import { startDevProvider, type DevProvider, type DevProviderOptions } from '../../demo/dev-provider.js';
import { BrowserClient, type BrowserResponse } from './browser-client.js';
import { parseLinks, signInAtProvider, type ConsentChoice } from './dev-provider-flow.js';
import { generatedKeys } from './keys.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';
import { startTestGatehouse, type TestGatehouse } from './gatehouse-process.js';
import { startUpstream, type RecordingUpstream } from './upstream.js';

export const CLIENT_ID = 'gatehouse-test';
export const CLIENT_SECRET = 'test-client-secret-0123456789';
export const SESSION_SECRET = 'test-session-secret-0123456789-abcdefghij';
/** An ES256 assertion key for replicas that must sign alike (required with the Redis store). */
export const ASSERTION_KEY = generatedKeys('ec', { namedCurve: 'P-256' }).privatePem;

export interface CloudStack {
  provider: DevProvider;
  upstream: RecordingUpstream;
  gatehouse: TestGatehouse;
  /** gatehouse's public URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** The config tree gatehouse was started with (before validation), for reload tests. */
  tree: Record<string, unknown>;
  /** Navigates to `path` and completes the sign-in at the provider; returns the page the browser lands on. */
  signIn(
    client: BrowserClient,
    path: string,
    user: string,
    consent?: ConsentChoice,
  ): Promise<{ landed: BrowserResponse; chain: BrowserResponse[]; sawConsent: boolean }>;
  close(): Promise<void>;
}

export interface CloudStackOptions {
  /** Merged over the base config (one level deep), e.g. { roles: { required: true } }. */
  config?: Record<string, unknown>;
  providerTtl?: DevProviderOptions['ttl'];
  /** Runs the provider on this port (to restart it on the same issuer); a free one by default. */
  providerPort?: number;
  /** Private signing keys of the provider (a test that signs its own logout tokens passes them). */
  providerJwks?: DevProviderOptions['jwks'];
  provider?: DevProvider;
  upstream?: RecordingUpstream;
  /** gatehouse's listen port (to register it at a provider passed in `provider`); a free one by default. */
  port?: number;
}

export function devClient(url: string, prefix = '/.auth'): DevProviderOptions['clients'][number] {
  return {
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: [`${url}${prefix}/callback`],
    post_logout_redirect_uris: [`${url}${prefix}/signed-out`],
    backchannel_logout_uri: `${url}${prefix}/backchannel-logout`,
    backchannel_logout_session_required: true,
  };
}

export function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = merged[key];
    merged[key] =
      current && typeof current === 'object' && !Array.isArray(current) && value && typeof value === 'object' && !Array.isArray(value)
        ? { ...(current as Record<string, unknown>), ...(value as Record<string, unknown>) }
        : value;
  }
  return merged;
}

export async function startCloudStack(options: CloudStackOptions = {}): Promise<CloudStack> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const provider =
    options.provider ??
    (await startDevProvider({
      port: options.providerPort ?? (await freePort()),
      clients: [devClient(url)],
      ttl: options.providerTtl,
      jwks: options.providerJwks,
    }));
  const upstream = options.upstream ?? (await startUpstream());
  const base = {
    mode: 'cloud',
    listen: { host: '127.0.0.1', port },
    ops: { host: '127.0.0.1', port: 0 },
    public_url: url,
    upstream: { url: upstream.url },
    sso: { issuer: provider.issuer, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, scopes: ['openid', 'profile', 'email', 'roles', 'offline_access'] },
    session: { secrets: [SESSION_SECRET] },
  };
  const tree = merge(base, options.config ?? {});
  const gatehouse = await startTestGatehouse(tree);
  await waitUntilReady(gatehouse);

  const signIn: CloudStack['signIn'] = async (client, path, user, consent = 'skip-if-absent') => {
    const providerOrigin = new URL(provider.issuer).origin;
    const toProvider = await client.follow(`${url}${path}`, {}, { stopAt: (next) => next.origin === providerOrigin });
    if (toProvider.final.status === 200) {
      const button = parseLinks(toProvider.final.body, toProvider.final.url).find((link) => new URL(link.href).pathname.endsWith('/start'));
      if (!button) throw new Error(`no sign-in button on ${toProvider.final.url}`);
      const clicked = await client.follow(button.href, {}, { stopAt: (next) => next.origin === providerOrigin });
      toProvider.chain.push(...clicked.chain);
      toProvider.final = clicked.final;
    }
    const first = toProvider.final.location;
    if (!first) throw new Error(`expected a redirect to the provider, got ${toProvider.final.status} at ${toProvider.final.url}`);
    const providerPage = await client.follow(first);
    const atProvider = await signInAtProvider(client, providerPage.final, { login: user }, consent);
    const callback = atProvider.final.location;
    if (!callback) throw new Error('the provider did not redirect back');
    const back = await client.follow(callback);
    return { landed: back.final, chain: [...toProvider.chain, ...providerPage.chain, ...atProvider.chain, ...back.chain], sawConsent: atProvider.sawConsent };
  };

  return {
    provider,
    upstream,
    gatehouse,
    url,
    tree,
    signIn,
    async close() {
      await gatehouse.shutdown();
      if (!options.upstream) await upstream.close();
      if (!options.provider) await provider.close();
    },
  };
}

export async function waitUntilReady(gatehouse: TestGatehouse, timeoutMs = 10_000): Promise<void> {
  await waitFor(() => gatehouse.readiness.ready, {
    timeoutMs,
    intervalMs: 20,
    what: () => `gatehouse ready (${JSON.stringify(gatehouse.readiness.reasons())})`,
  });
}
