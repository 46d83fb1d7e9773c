// The Node ceiling: the least a proxy can do with undici (hop-by-hop headers dropped, a dispatch handler writing straight into
// the response; undici's Pool.stream helper costs about a quarter more CPU per request).
// Run as a child: `node bench/minimal-proxy.js <upstream url> [identity headers] [access log file]`; prints {"url": ...} once
// listening on 127.0.0.1.
// With an access log file it also does, in the fewest steps, what gatehouse does for every request in local mode: a request id,
// X-Forwarded-For/-Proto/-Host and X-Request-Id sent upstream, a JSON access line with gatehouse's fields appended to that file
// in 32 KiB batches, and the request counted (in flight, by status, a duration histogram): the floor of local mode.
// With identity headers too (JSON: a flat [name, value, …] list) it also drops the client's Cookie and appends those headers
// to every request, so it carries the bytes a signed-in gatehouse request carries: the floor of a signed-in request.
import { randomUUID } from 'node:crypto';
import { openSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createServer } from 'node:http';
import { Pool } from 'undici';
import { serveOnLoopback } from './lib/serve-child.js';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect', 'host']);

const [upstream, identityJson, accessLogFile] = process.argv.slice(2);
if (!upstream) throw new Error('usage: node bench/minimal-proxy.js <upstream url> [identity headers as JSON] [access log file]');
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

const duties = accessLogFile ? localModeDuties(accessLogFile) : undefined;

/** The least work behind each of gatehouse's per-request duties in local mode. @param {string} file */
function localModeDuties(file) {
  const fd = openSync(file, 'a');
  let held = '';
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const write = () => {
    timer = undefined;
    if (held) writeSync(fd, held);
    held = '';
  };
  let stampedMs = 0;
  let stamp = '';
  const counts = { inFlight: 0, byStatus: new Map(), buckets: new Float64Array(12), sum: 0 };
  const BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
  const count = (/** @type {number} */ status, /** @type {number} */ seconds) => {
    counts.byStatus.set(status, (counts.byStatus.get(status) ?? 0) + 1);
    counts.sum += seconds;
    const bucket = BOUNDS.findIndex((bound) => seconds <= bound);
    if (bucket !== -1) counts.buckets[bucket] = /** @type {number} */ (counts.buckets[bucket]) + 1;
  };
  return {
    /**
     * Adds the forwarding headers to `headers` and the access line and counts at the response's end.
     * @param {import('node:http').IncomingMessage} req
     * @param {import('node:http').ServerResponse} res
     * @param {Record<string, string | string[]>} headers
     */
    begin(req, res, headers) {
      const started = performance.now();
      const socket = req.socket;
      const bytesBefore = socket.bytesWritten;
      const requestId = randomUUID();
      const remote = socket.remoteAddress ?? '';
      headers['x-forwarded-for'] = remote;
      headers['x-forwarded-proto'] = 'http';
      if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
      headers['x-request-id'] = requestId;
      counts.inFlight++;
      res.on('close', () => {
        counts.inFlight--;
        const seconds = (performance.now() - started) / 1000;
        count(res.statusCode, seconds);
        const now = Date.now();
        if (now !== stampedMs) {
          stampedMs = now;
          stamp = new Date(now).toISOString();
        }
        const ua = req.headers['user-agent'];
        held += `{"level":"info","time":"${stamp}","service":"gatehouse","reqId":"${requestId}","method":"${req.method}","path":"${req.url}","status":${res.statusCode},"ms":${Math.round(seconds * 10_000) / 10},"bytes":${socket.bytesWritten - bytesBefore},"remote":"${remote}"${ua ? `,"ua":"${ua}"` : ''},"msg":"request"}\n`;
        if (held.length > 32 * 1024) write();
        else timer ??= setTimeout(write, 100);
      });
    },
  };
}

/** Streams the app's response into the client's, with backpressure; a client that goes away aborts the app's request. */
class Relay {
  /** @type {import('undici').Dispatcher.DispatchController | undefined} */
  controller;

  /** @param {import('node:http').ServerResponse} res */
  constructor(res) {
    this.res = res;
    res.on('close', this.onClose);
  }

  onClose = () => this.controller?.abort(new Error('client closed the connection'));

  /** @param {import('undici').Dispatcher.DispatchController} controller */
  onRequestStart(controller) {
    this.controller = controller;
  }

  /**
   * @param {import('undici').Dispatcher.DispatchController} _controller
   * @param {number} statusCode
   * @param {import('node:http').IncomingHttpHeaders} headers
   */
  onResponseStart(_controller, statusCode, headers) {
    this.res.writeHead(statusCode, endToEnd(headers, HOP_BY_HOP));
  }

  /** @param {import('undici').Dispatcher.DispatchController} controller @param {Buffer} chunk */
  onResponseData(controller, chunk) {
    if (this.res.write(chunk)) return;
    controller.pause();
    this.res.once('drain', () => controller.resume());
  }

  onResponseEnd() {
    this.res.off('close', this.onClose);
    this.res.end();
  }

  onResponseError() {
    this.res.off('close', this.onClose);
    if (this.res.headersSent) this.res.destroy();
    else this.res.writeHead(502, { 'content-length': '0' }).end();
  }
}

const server = createServer((req, res) => {
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  const headers = forwarded(req.headers);
  duties?.begin(req, res, headers);
  pool.dispatch(
    {
      path: req.url ?? '/',
      method: /** @type {import('undici').Dispatcher.HttpMethod} */ (req.method),
      headers,
      body: hasBody ? req : undefined,
    },
    new Relay(res),
  );
});
server.keepAliveTimeout = 60_000;

serveOnLoopback(server, () => pool.close());
