// A cloud-mode gatehouse in front of the misbehaving provider (misbehaving-provider.ts) on a free 127.0.0.1 port, with
// a recording upstream, and one sign-in attempt through it (/.auth/start → provider → /.auth/callback), for the tests
// that replay a provider breaking one thing (conformance, refresh, garbage answers, provider options).
import { expect } from 'vitest';
import { BrowserClient, type BrowserResponse } from './browser-client.js';
import { merge, waitUntilReady } from './cloud-stack.js';
import { startTestGatehouse, type TestGatehouse } from './gatehouse-process.js';
import { startMisbehavingProvider, type MisbehavingProvider, type MisbehavingProviderOptions, type SigningKey } from './misbehaving-provider.js';
import { freePort } from './ports.js';
import { startUpstream, type RecordingUpstream } from './upstream.js';

export interface MisbehavingStackOptions {
  /** The provider's signing keys (pre-generated: generating them is the slow part). */
  keys: SigningKey[];
  /** Client registered at the provider and configured in gatehouse. */
  clientId?: string;
  clientSecret?: string;
  /** gatehouse's session.secrets[0]. */
  sessionSecret?: string;
  /** Provider options over the client, redirect URI and keys (scenario, garbage, refresh tokens, …). */
  provider?: Partial<MisbehavingProviderOptions>;
  /** Merged over the gatehouse config one level deep: sso and session keys are added to the base ones, not replacing them. */
  config?: Record<string, unknown>;
  /** A shared upstream (the caller closes it); without one the stack starts its own and closes it in close(). */
  upstream?: RecordingUpstream;
  /** Wait for readiness before returning (default true); if it never comes, everything is shut down and the error rethrown. */
  waitReady?: boolean;
}

export interface MisbehavingStack {
  provider: MisbehavingProvider;
  gatehouse: TestGatehouse;
  upstream: RecordingUpstream;
  /** gatehouse's public URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Shuts down gatehouse and the provider, and the upstream when the stack started it. */
  close(): Promise<void>;
}

export interface SignInAttempt {
  client: BrowserClient;
  /** gatehouse's redirect to the provider's authorization endpoint. */
  authorizeUrl: URL;
  /** The provider's redirect back to /.auth/callback. */
  callbackUrl: URL;
  /** gatehouse's answer at /.auth/callback. */
  callback: BrowserResponse;
}

export async function startMisbehavingStack(options: MisbehavingStackOptions): Promise<MisbehavingStack> {
  const {
    keys,
    clientId = 'misbehaving-rp',
    clientSecret = 'misbehaving-secret-0123456789',
    sessionSecret = 'misbehaving-session-secret-0123456789-abcdef',
  } = options;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const upstream = options.upstream ?? (await startUpstream());
  const closeUpstream = async (): Promise<void> => {
    if (!options.upstream) await upstream.close();
  };
  let provider: MisbehavingProvider;
  try {
    provider = await startMisbehavingProvider({ clientId, clientSecret, redirectUri: `${url}/.auth/callback`, keys, ...options.provider });
  } catch (error) {
    await closeUpstream();
    throw error;
  }
  let gatehouse: TestGatehouse;
  try {
    const base = {
      mode: 'cloud',
      listen: { host: '127.0.0.1', port },
      public_url: url,
      upstream: { url: upstream.url },
      sso: { issuer: provider.issuer, client_id: clientId, client_secret: clientSecret },
      session: { secrets: [sessionSecret] },
    };
    gatehouse = await startTestGatehouse(merge(base, options.config ?? {}));
  } catch (error) {
    await provider.close();
    await closeUpstream();
    throw error;
  }
  const stack: MisbehavingStack = {
    provider,
    gatehouse,
    upstream,
    url,
    async close() {
      await gatehouse.shutdown();
      await provider.close();
      await closeUpstream();
    },
  };
  if (options.waitReady ?? true) {
    try {
      await waitUntilReady(gatehouse);
    } catch (error) {
      await stack.close();
      throw error;
    }
  }
  return stack;
}

/**
 * /.auth/start?rd=`returnPath`&interactive=1 → the provider (it answers at once) → /.auth/callback, checking each hop
 * is a redirect and the provider sends the browser back to this gatehouse's callback. `client` may carry cookies from
 * earlier steps; a fresh one by default.
 */
export async function attemptSignIn(stack: Pick<MisbehavingStack, 'url'>, returnPath: string, client = new BrowserClient()): Promise<SignInAttempt> {
  const toProvider = await client.navigate(`${stack.url}/.auth/start?rd=${encodeURIComponent(returnPath)}&interactive=1`);
  expect(toProvider.status).toBe(302);
  const authorizeUrl = new URL(toProvider.location as string);
  const atProvider = await client.navigate(authorizeUrl.href);
  expect(atProvider.status).toBe(302);
  const callbackUrl = new URL(atProvider.location as string);
  expect(`${callbackUrl.origin}${callbackUrl.pathname}`).toBe(`${stack.url}/.auth/callback`);
  return { client, authorizeUrl, callbackUrl, callback: await client.navigate(callbackUrl.href) };
}
