// The app every bench row forwards to: constant bodies whose reply never depends on request headers, and a WebSocket echo.
// Run as a child: `node bench/upstream.js [port]`; prints {"url": ...} once listening on 127.0.0.1.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { serveOnLoopback } from './lib/serve-child.js';

const bodies = {
  '/fixed': Buffer.alloc(1024, 'a'),
  '/100k': Buffer.alloc(100 * 1024, 'b'),
};

const headersFor = Object.fromEntries(
  Object.entries(bodies).map(([path, body]) => [path, { 'content-type': 'text/plain', 'content-length': String(body.length) }]),
);

const server = createServer((req, res) => {
  const body = bodies[req.url ?? ''];
  if (!body) {
    res.writeHead(404, { 'content-length': '0' }).end();
    return;
  }
  res.writeHead(200, headersFor[req.url ?? '']).end(body);
});
server.keepAliveTimeout = 60_000;

const echo = new WebSocketServer({ server, path: '/ws' });
echo.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
});

serveOnLoopback(server, async () => echo.close(), Number(process.argv[2] ?? 0));
