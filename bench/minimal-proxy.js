// The Node ceiling: the least a proxy can do with undici (hop-by-hop headers dropped, Pool.stream straight into the response).
// Run as a child: `node bench/minimal-proxy.js <upstream url> [identity headers]`; prints {"url": ...} once listening on 127.0.0.1.
// With identity headers (JSON: a flat [name, value, …] list) it also drops the client's Cookie and appends those headers to every
// request, so it carries the bytes a signed-in gatehouse request carries and does nothing else: the floor of a signed-in request.
import { createServer } from 'node:http';
import { Pool } from 'undici';
import { serveOnLoopback } from './lib/serve-child.js';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect', 'host']);

const [upstream, identityJson] = process.argv.slice(2);
if (!upstream) throw new Error('usage: node bench/minimal-proxy.js <upstream url> [identity headers as JSON]');
/** @type {string[]} */
const identity = identityJson ? JSON.parse(identityJson) : [];
const dropped = identity.length > 0 ? new Set([...HOP_BY_HOP, 'cookie']) : HOP_BY_HOP;
const pool = new Pool(upstream, { connections: 128 });

/**
 * @param {import('node:http').IncomingHttpHeaders | Record<string, string | string[] | undefined>} headers
 * @param {ReadonlySet<string>} drop
 */
function endToEnd(headers, drop) {
  /** @type {Record<string, string | string[]>} */
  const kept = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !drop.has(name)) kept[name] = value;
  }
  return kept;
}

/** @param {import('node:http').IncomingHttpHeaders} headers */
function forwarded(headers) {
  const kept = endToEnd(headers, dropped);
  for (let i = 0; i < identity.length; i += 2) kept[/** @type {string} */ (identity[i])] = /** @type {string} */ (identity[i + 1]);
  return kept;
}

const server = createServer((req, res) => {
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  pool.stream(
    {
      path: req.url ?? '/',
      method: /** @type {import('undici').Dispatcher.HttpMethod} */ (req.method),
      headers: forwarded(req.headers),
      body: hasBody ? req : undefined,
      opaque: res,
    },
    ({ statusCode, headers, opaque }) => {
      const reply = /** @type {import('node:http').ServerResponse} */ (opaque);
      reply.writeHead(statusCode, endToEnd(headers, HOP_BY_HOP));
      return reply;
    },
    (error) => {
      if (!error) return;
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { 'content-length': '0' }).end();
    },
  );
});
server.keepAliveTimeout = 60_000;

serveOnLoopback(server, () => pool.close());
