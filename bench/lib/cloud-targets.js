// Cloud-mode bench rows: the dev provider runs in the bench process, each gatehouse child is registered with it
// on a port chosen up front, and a real sign-in (login + consent forms) gives each row its session cookie.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { fileURLToPath, URLSearchParams } from 'node:url';
import { request } from 'undici';
import { createClient } from 'redis';
import { gatehouseTarget } from './gatehouse-target.js';
import { freePort } from '../../test/helpers/ports.js';
import { waitFor } from '../../test/helpers/wait.js';
import { haveRedisCluster, startRedisCluster } from './redis-cluster.js';
import { signIn } from './sign-in.js';

const DEV_PROVIDER = fileURLToPath(new URL('../../dist/demo/dev-provider.js', import.meta.url));
const CLIENT_SECRET = 'bench-client-secret-0123456789';
const SESSION_SECRET = 'bench-session-secret-0123456789-abcdefghij';
const REDIS_URL = 'redis://127.0.0.1:6379';
/**
 * Configured, as production runs (required with the Redis store): every target signs with the same ES256 key. PEM out
 * of the generation, not exported from the generated key object: that can deadlock Node 20 (see demo/dev-provider.ts).
 */
const ASSERTION_KEY = generateKeyPairSync('ec', {
  namedCurve: 'P-256',
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
}).privateKey;
/** The signed-in user: alice has the admin role, so the roles header is not empty. */
export const SIGNED_IN_USER = 'alice';
/** The API the bearer row's tokens are for (a resource indicator at the dev provider: JWT access tokens, RFC 9068). */
const BENCH_API = 'https://bench.api.test/';
/** The API client of the bearer row (client credentials; its tokens carry the admin role). */
const API_CLIENT = { client_id: 'bench-api-client', client_secret: 'bench-api-client-secret-0123456789' };

/** 50 access rules none of which matches the bench paths: every request walks all of them to the default. */
export const FIFTY_RULES = Array.from({ length: 50 }, (_, i) => ({ path: `/area-${i}/`, allow: { roles: [`role-${i}`] } }));

/**
 * @typedef {import('./targets.js').Target & { headers?: Record<string, string>, redisNodes: string[], accessLogLines: () => number }} CloudTarget
 * headers: what a signed-in browser sends (its Cookie header), set by start(); redisNodes: the Redis the row's
 * sessions live on (the single node, or the cluster's primaries once started), empty with the memory store
 */

/** @param {string} url */
function clientFor(url, clientId) {
  return {
    client_id: clientId,
    client_secret: CLIENT_SECRET,
    redirect_uris: [`${url}/.auth/callback`],
    post_logout_redirect_uris: [`${url}/.auth/signed-out`],
    backchannel_logout_uri: `${url}/.auth/backchannel-logout`,
    backchannel_logout_session_required: true,
  };
}

/** Whether something answers on Redis's port (the Redis row is skipped otherwise). */
function redisListening() {
  const { hostname, port } = new URL(REDIS_URL);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.setTimeout(1000, () => socket.destroy());
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

/** Deletes every key under `prefix` (the bench's own sessions). */
async function clearRedisPrefix(prefix) {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await client.del(keys);
    }
  } finally {
    client.destroy();
  }
}

/**
 * @typedef {object} CloudRowSpec
 * @property {string} name
 * @property {string} note
 * @property {boolean} [assertion] signed assertion header on (default true)
 * @property {boolean} [redis] session.store redis
 * @property {boolean} [redisCluster] session.store redis on a three-primary Redis Cluster the row starts
 * @property {object[]} [rules] access.rules
 * @property {boolean} [bearer] authenticates with a bearer token (client credentials) instead of a session cookie
 * @property {string[]} [nodeArgs]
 * @property {string} [cwd]
 * @property {string} [main] another build's main.js
 */

/**
 * Cloud-mode rows against `upstream`, plus the shared dev provider's lifecycle. Call `startProvider` before
 * starting the rows and `stopProvider` after stopping them.
 * @param {import('./targets.js').Upstream} upstream
 * @param {CloudRowSpec[]} specs
 * @param {import('../../demo/dev-provider.js').DevClient[]} [peerClients] other rows' clients (an OIDC peer
 *   such as mod_auth_openidc), registered at the same provider; `issuer` is the provider's once started
 */
export async function cloudTargets(upstream, specs, peerClients = []) {
  const ports = await Promise.all(specs.map(() => freePort()));
  /** @type {{ close: () => Promise<void> } | undefined} */
  let provider;
  let issuer = '';
  const prefixes = new Set();

  /** @type {CloudTarget[]} */
  const targets = specs.map((spec, i) => {
    const port = /** @type {number} */ (ports[i]);
    const publicUrl = `http://127.0.0.1:${port}`;
    const clientId = `bench-${spec.name}`;
    const redisPrefix = `gh-bench-${randomBytes(6).toString('hex')}:`;
    /** @type {{ urls: string[], stop: () => Promise<void> } | undefined} */
    let cluster;
    const redisConfig = () =>
      spec.redisCluster
        ? { store: 'redis', redis: { cluster: { nodes: cluster?.urls ?? [] }, prefix: redisPrefix } }
        : spec.redis
          ? { store: 'redis', redis: { url: REDIS_URL, prefix: redisPrefix } }
          : {};
    const config = (upstreamUrl) => ({
      mode: 'cloud',
      listen: { host: '127.0.0.1', port },
      ops: { host: '127.0.0.1', port: 0 },
      public_url: publicUrl,
      upstream: { url: upstreamUrl },
      sso: { issuer, client_id: clientId, client_secret: CLIENT_SECRET, scopes: ['openid', 'profile', 'email', 'roles', 'offline_access'] },
      session: { secrets: [SESSION_SECRET], ...redisConfig() },
      identity: { assertion: { enabled: spec.assertion ?? true, keys: [ASSERTION_KEY] } },
      ...(spec.rules ? { access: { rules: spec.rules } } : {}),
      ...(spec.bearer ? { bearer: { enabled: true, audiences: [BENCH_API], require_typ: true } } : {}),
      log: { level: 'info', access: true },
      shutdown: { drain_timeout: '1s' },
    });
    const child = gatehouseTarget(upstream, { name: spec.name, note: spec.note, config, nodeArgs: spec.nodeArgs, cwd: spec.cwd, main: spec.main });
    /** @type {CloudTarget} */
    const target = {
      name: spec.name,
      url: '',
      pid: 0,
      note: spec.note,
      headers: undefined,
      redisNodes: [],
      async start() {
        if (spec.redis && !(await redisListening())) {
          target.note = `${spec.name}: skipped, nothing listens on ${REDIS_URL}`;
          return false;
        }
        if (spec.redis) prefixes.add(redisPrefix);
        if (spec.redisCluster) {
          if (!haveRedisCluster()) {
            target.note = `${spec.name}: skipped, redis-server or redis-cli is not installed`;
            return false;
          }
          cluster = await startRedisCluster();
        }
        target.redisNodes = cluster?.urls ?? (spec.redis ? [REDIS_URL] : []);
        await child.start();
        target.url = child.url;
        target.pid = child.pid;
        target.headers = spec.bearer
          ? { authorization: `Bearer ${await clientCredentialsToken(issuer)}` }
          : { cookie: await signInWhenReady({ gatehouseUrl: child.url, user: SIGNED_IN_USER }) };
        return true;
      },
      async stop() {
        await child.stop();
        await cluster?.stop();
      },
      accessLogLines: () => child.accessLogLines(),
    };
    return target;
  });

  return {
    targets,
    get issuer() {
      return issuer;
    },
    async startProvider() {
      /** @type {{ startDevProvider: (o: object) => Promise<{ issuer: string, close: () => Promise<void> }> }} */
      const { startDevProvider } = await import(DEV_PROVIDER);
      const apiClient = {
        ...API_CLIENT,
        redirect_uris: ['http://127.0.0.1:1/unused'],
        grant_types: ['authorization_code', 'client_credentials'],
        token_claims: { roles: ['admin'] },
      };
      const started = await startDevProvider({
        port: 0,
        clients: [...specs.map((spec, i) => clientFor(`http://127.0.0.1:${ports[i]}`, `bench-${spec.name}`)), ...peerClients, apiClient],
        resourceServers: { [BENCH_API]: { format: 'jwt' } },
      });
      provider = started;
      issuer = started.issuer;
    },
    async stopProvider() {
      for (const prefix of prefixes) await clearRedisPrefix(prefix).catch((error) => console.error(`bench: could not clear ${prefix}*: ${error.message}`));
      await provider?.close();
    },
  };
}

/** A JWT access token for BENCH_API from the dev provider (client credentials); it lives an hour, longer than a bench. */
async function clientCredentialsToken(issuer) {
  const { statusCode, body } = await request(`${issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${API_CLIENT.client_id}:${API_CLIENT.client_secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: BENCH_API, scope: 'api' }).toString(),
  });
  const answer = /** @type {{ access_token?: unknown }} */ (await body.json());
  if (statusCode !== 200 || typeof answer.access_token !== 'string')
    throw new Error(`bench: client-credentials token refused: ${statusCode} ${JSON.stringify(answer)}`);
  return answer.access_token;
}

/**
 * gatehouse listens before provider discovery finishes (/start answers 503 until then), so sign-in is retried.
 * @param {Parameters<typeof signIn>[0]} options
 */
export async function signInWhenReady(options, timeoutMs = 10_000) {
  let cookie = '';
  let failure;
  const signedIn = async () => {
    try {
      cookie = await signIn(options);
      return true;
    } catch (error) {
      failure = error;
      return false;
    }
  };
  await waitFor(signedIn, { timeoutMs, intervalMs: 100, what: () => `sign-in of ${options.user} (last attempt: ${failure?.message})` });
  return cookie;
}
