// http-proxy 1.18 with a keep-alive agent: kept in the bench so the choice of undici stays visible in numbers.
// Run as a child: `node bench/http-proxy.js <upstream url>`; prints {"url": ...} once listening on 127.0.0.1.
import { Agent, createServer } from 'node:http';
import httpProxy from 'http-proxy';
import { serveOnLoopback } from './lib/serve-child.js';

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: node bench/http-proxy.js <upstream url>');

const proxy = httpProxy.createProxyServer({ target: upstream, agent: new Agent({ keepAlive: true, maxSockets: 128 }) });
proxy.on('error', (_error, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502, { 'content-length': '0' }).end();
  else res.destroy();
});

const server = createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 60_000;

serveOnLoopback(server);
