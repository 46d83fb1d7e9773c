// The bench rows: each is a small object { name, start(), url, pid, stop() } so later rows (cloud mode) are one more factory.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { makeTempDir, startNodeServer, stopChild } from './processes.js';

/**
 * @typedef {object} Target
 * @property {string} name
 * @property {string} url base URL once started, e.g. http://127.0.0.1:PORT
 * @property {number} pid the process whose CPU is measured for this row
 * @property {string} [note] shown under the table (e.g. how the row is configured)
 * @property {() => Promise<boolean>} start resolves false when the row cannot run here (it is then skipped)
 * @property {() => Promise<void>} stop
 */

/**
 * @typedef {object} Upstream
 * @property {string} url
 * @property {number} pid
 * @property {() => Promise<void>} stop
 */

const script = (name) => fileURLToPath(new URL(`../${name}`, import.meta.url));

/** @returns {Promise<Upstream>} */
export async function startUpstream() {
  const { child, url } = await startNodeServer(script('upstream.js'), []);
  return { url, pid: /** @type {number} */ (child.pid), stop: () => stopChild(child) };
}

/** The upstream itself, no proxy: the 1.0 every ratio is taken against. @returns {Target} */
export function directTarget(upstream) {
  return {
    name: 'direct',
    url: upstream.url,
    pid: upstream.pid,
    note: "direct: node:http upstream, no proxy; CPU is the upstream's",
    start: async () => true,
    stop: async () => {},
  };
}

/**
 * A proxy written as one node script taking the upstream URL (and `args()`, read when it starts). @returns {Target}
 * @param {() => Promise<string[]>} [args]
 * @param {string[]} [nodeArgs] flags for node itself (e.g. --cpu-prof)
 */
function nodeProxyTarget(name, file, upstream, note, args = async () => [], nodeArgs = []) {
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let child;
  return {
    name,
    url: '',
    pid: 0,
    note,
    async start() {
      const started = await startNodeServer(script(file), [upstream.url, ...(await args())], nodeArgs);
      child = started.child;
      this.url = started.url;
      this.pid = /** @type {number} */ (child.pid);
      return true;
    },
    async stop() {
      if (child) await stopChild(child);
    },
  };
}

/**
 * @param {Upstream} upstream
 * @param {{ name?: string, nodeArgs?: string[] }} [options] nodeArgs: flags for node itself (e.g. --cpu-prof)
 * @returns {Target}
 */
export function undiciMinimalTarget(upstream, options = {}) {
  return nodeProxyTarget(
    options.name ?? 'undici-min',
    'minimal-proxy.js',
    upstream,
    'undici-min: bench/minimal-proxy.js, an undici 7 Pool (128 connections) with a dispatch handler writing into the response, hop-by-hop headers dropped',
    undefined,
    options.nodeArgs,
  );
}

/**
 * undici-min doing, in the fewest steps, what gatehouse does for every request in local mode and nothing else: the
 * floor of local mode. @returns {Target}
 * @param {Upstream} upstream
 */
export function undiciLocalDutiesTarget(upstream) {
  return nodeProxyTarget(
    'undici-min-local',
    'minimal-proxy.js',
    upstream,
    "undici-min-local: undici-min plus local mode's duties done in the fewest steps: a UUID request id, X-Forwarded-For/-Proto/-Host and X-Request-Id sent upstream, a JSON access line with gatehouse's fields (no escaping) appended to a file in 32 KiB batches, the request counted in plain numbers (in flight, by status, a duration histogram)",
    async () => ['[]', join(makeTempDir('undici-min-local'), 'access.log')],
  );
}

/** gatehouse's identity headers under their default names (identity.headers, the assertion included), lower-cased as undici reads them. */
async function defaultIdentityHeaderNames() {
  const { configSchema } = await import('../../dist/src/config/schema.js');
  return Object.values(configSchema.parse({}).identity.headers).map((name) => name.toLowerCase());
}

/**
 * undici-min-local carrying what a signed-in request carries: the client sends `signedIn`'s session cookie, the proxy
 * drops it and appends the identity headers `signedIn` (a started gatehouse-cloud row) answers its /.auth/verify with
 * for that session. Nothing else differs from undici-min-local, so it is the floor of a signed-in request.
 * @returns {Target & { headers?: Record<string, string> }}
 * @param {Upstream} upstream
 * @param {Target & { headers?: Record<string, string> }} signedIn
 */
export function undiciSignedInTarget(upstream, signedIn) {
  const target = nodeProxyTarget(
    'undici-min-signed-in',
    'minimal-proxy.js',
    upstream,
    "undici-min-signed-in: undici-min-local with the bytes of a signed-in request and no other work: the client sends gatehouse-cloud's session cookie, the proxy drops it and appends gatehouse-cloud's identity headers for that session (as its /.auth/verify answers them, the assertion included) to every request",
    async () => {
      const { statusCode, headers, body } = await request(`${signedIn.url}/.auth/verify`, { headers: signedIn.headers });
      await body.dump();
      if (statusCode !== 200) throw new Error(`${signedIn.name} answered /.auth/verify with ${statusCode}`);
      const identity = (await defaultIdentityHeaderNames()).flatMap((name) => {
        const value = headers[name];
        return typeof value === 'string' ? [name, value] : [];
      });
      return [JSON.stringify(identity), join(makeTempDir('undici-min-signed-in'), 'access.log')];
    },
  );
  // the scenario's signed-in requests send the cookie of gatehouse-cloud's session, known once that row started
  Object.defineProperty(target, 'headers', { get: () => signedIn.headers, enumerable: true });
  return target;
}

/** @returns {Target} */
export function httpProxyTarget(upstream) {
  return nodeProxyTarget('http-proxy', 'http-proxy.js', upstream, 'http-proxy: bench/http-proxy.js, http-proxy 1.18.1 with a keep-alive agent (128 sockets)');
}
