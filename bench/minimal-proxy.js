// The Node ceiling: the least a proxy can do with undici (hop-by-hop headers dropped, Pool.stream straight into the response).
// Run as a child: `node bench/minimal-proxy.js <upstream url>`; prints {"url": ...} once listening on 127.0.0.1.
import { createServer } from 'node:http';
import { Pool } from 'undici';
import { serveOnLoopback } from './lib/serve-child.js';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect', 'host']);

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: node bench/minimal-proxy.js <upstream url>');
const pool = new Pool(upstream, { connections: 128 });

/** @param {import('node:http').IncomingHttpHeaders | Record<string, string | string[] | undefined>} headers */
function endToEnd(headers) {
  /** @type {Record<string, string | string[]>} */
  const kept = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) kept[name] = value;
  }
  return kept;
}

const server = createServer((req, res) => {
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  pool.stream(
    {
      path: req.url ?? '/',
      method: /** @type {import('undici').Dispatcher.HttpMethod} */ (req.method),
      headers: endToEnd(req.headers),
      body: hasBody ? req : undefined,
      opaque: res,
    },
    ({ statusCode, headers, opaque }) => {
      const reply = /** @type {import('node:http').ServerResponse} */ (opaque);
      reply.writeHead(statusCode, endToEnd(headers));
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
