// The bench rows: each is a small object { name, start(), url, pid, stop() } so later rows (cloud mode) are one more factory.
import { fileURLToPath } from 'node:url';
import { startNodeServer, stopChild } from './processes.js';

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

/** A proxy written as one node script taking the upstream URL. @returns {Target} */
function nodeProxyTarget(name, file, upstream, note) {
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let child;
  return {
    name,
    url: '',
    pid: 0,
    note,
    async start() {
      const started = await startNodeServer(script(file), [upstream.url]);
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

/** @returns {Target} */
export function undiciMinimalTarget(upstream) {
  return nodeProxyTarget(
    'undici-min',
    'minimal-proxy.js',
    upstream,
    'undici-min: bench/minimal-proxy.js, undici 7 Pool.stream (128 connections), hop-by-hop headers dropped',
  );
}

/** @returns {Target} */
export function httpProxyTarget(upstream) {
  return nodeProxyTarget('http-proxy', 'http-proxy.js', upstream, 'http-proxy: bench/http-proxy.js, http-proxy 1.18.1 with a keep-alive agent (128 sockets)');
}
