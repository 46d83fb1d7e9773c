// `npm start`: the development provider, the demo app and gatehouse in one process, wired from config/demo.yaml.
import { createPrivateKey, createPublicKey, type JsonWebKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { startGatehouse, type Gatehouse } from '../src/gatehouse.js';
import { startDemoApp, type DemoApp } from './demo-app.js';
import { startDevProvider, type DevProvider } from './dev-provider.js';

/** config/demo.yaml of the package, from the built copy (dist/demo) or from source (demo/). */
export const DEMO_CONFIG_PATH = ['../../config/demo.yaml', '../config/demo.yaml']
  .map((relative) => fileURLToPath(new URL(relative, import.meta.url)))
  .find((path) => existsSync(path)) as string;

export interface DemoStack {
  gatehouse: Gatehouse;
  provider: DevProvider;
  app: DemoApp;
  stop(): Promise<void>;
}

export interface DemoStackOptions {
  configPath?: string;
  /** Overrides applied after loading (tests use free ports). */
  adjust?: (config: Config) => Config;
  providerTtl?: { accessToken?: number; idToken?: number; refreshToken?: number; session?: number };
}

/** The public half of sso.client_key (PEM or JWK, kid kept), registered for a private_key_jwt client. */
function publicJwk(text: string): JsonWebKey {
  const trimmed = text.trim();
  const jwk = trimmed.startsWith('{') ? (JSON.parse(trimmed) as JsonWebKey & { kid?: string }) : undefined;
  const key = jwk ? createPrivateKey({ key: jwk, format: 'jwk' }) : createPrivateKey(trimmed);
  return { ...createPublicKey(key).export({ format: 'jwk' }), ...(jwk?.kid ? { kid: jwk.kid } : {}) };
}

function port(url: string): number {
  return Number(new URL(url).port || 80);
}

export async function startDemoStack(options: DemoStackOptions = {}): Promise<DemoStack> {
  let config = loadConfig({ path: options.configPath ?? DEMO_CONFIG_PATH }).config;
  if (options.adjust) config = options.adjust(config);
  const prefix = `${config.public_url.replace(/\/$/, '')}${config.routes.prefix}`;
  const listenHost = config.listen.host === '0.0.0.0' ? '127.0.0.1' : config.listen.host;
  const provider = await startDevProvider({
    port: port(config.sso.issuer),
    ttl: options.providerTtl,
    clients: [
      {
        client_id: config.sso.client_id,
        client_secret: config.sso.client_auth === 'none' ? undefined : config.sso.client_secret,
        token_endpoint_auth_method: config.sso.client_auth,
        ...(config.sso.client_auth === 'private_key_jwt' ? { jwks: { keys: [publicJwk(config.sso.client_key)] } } : {}),
        redirect_uris: [`${prefix}/callback`],
        post_logout_redirect_uris: [`${prefix}/signed-out`],
        backchannel_logout_uri: `http://${listenHost}:${config.listen.port}${config.routes.prefix}/backchannel-logout`,
        backchannel_logout_session_required: true,
      },
    ],
  });
  const app = await startDemoApp({ host: '127.0.0.1', port: port(config.upstream.url), authPrefix: config.routes.prefix });
  const gatehouse = await startGatehouse(config);
  // the sign-in button works only once gatehouse has read the provider's metadata
  await gatehouse.readiness.whenReady();
  gatehouse.logger.info(
    { url: config.public_url, users: ['alice (admin)', 'carol (user)', 'bob (no role)'], password: 'any' },
    `demo ready: open ${config.public_url} and sign in as alice, carol or bob with any password`,
  );
  const stop = async (): Promise<void> => {
    await gatehouse.shutdown();
    await Promise.all([app.close(), provider.close()]);
  };
  return { gatehouse, provider, app, stop };
}
