// Streams one HTTP request to the app over a keep-alive pool and the response back; knows nothing about identity.
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Pool, errors as undiciErrors } from 'undici';
import { filterResponseHeaders } from './headers.js';

export type UpstreamFailureKind = 'refused' | 'timeout' | 'reset' | 'protocol';

export interface UpstreamFailure {
  kind: UpstreamFailureKind;
  /** 502 or 504, for the error page. */
  status: 502 | 504;
  /** True when the response had already started: the only honest answer is to cut the connection. */
  responseStarted: boolean;
  error: Error;
}

export interface UpstreamOptions {
  url: string;
  timeoutMs: number;
  connections: number;
  /** Called with the seconds from sending the request to the app's response headers. */
  onResponseHeaders?: (seconds: number) => void;
}

export interface UpgradedSocket {
  statusLine: string;
  headers: string[];
  socket: Duplex;
}

export function classifyUpstreamError(error: Error): { kind: UpstreamFailureKind; status: 502 | 504 } {
  const code = (error as { code?: string }).code;
  if (error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError || error instanceof undiciErrors.ConnectTimeoutError) {
    return { kind: 'timeout', status: 504 };
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'EAI_AGAIN') return { kind: 'refused', status: 502 };
  if (code === 'ECONNRESET' || code === 'EPIPE' || error instanceof undiciErrors.SocketError) return { kind: 'reset', status: 502 };
  return { kind: 'protocol', status: 502 };
}

/**
 * The abort signal of one forwarded request: undici accepts an EventEmitter with `aborted` and an 'abort' event,
 * which costs far less per request than an AbortController and its AbortSignal.
 */
class ClientGone extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

export class Upstream {
  readonly origin: string;
  private readonly pool: Pool;
  private readonly timeoutMs: number;
  private readonly onResponseHeaders: ((seconds: number) => void) | undefined;

  constructor(options: UpstreamOptions) {
    this.origin = new URL(options.url).origin;
    this.timeoutMs = options.timeoutMs;
    this.onResponseHeaders = options.onResponseHeaders;
    this.pool = new Pool(this.origin, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: 4_000,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connectTimeout: Math.min(options.timeoutMs, 10_000),
    });
  }

  /**
   * Forwards `req` with `headers` and streams the answer into `res`. A client that goes away aborts the
   * upstream request. `onFailure` is called once when the app cannot be reached or fails mid-way.
   */
  forward(req: IncomingMessage, res: ServerResponse, headers: string[], onFailure: (failure: UpstreamFailure) => void): void {
    const abort = new ClientGone();
    const onClose = (): void => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    const sent = performance.now();
    this.pool.stream(
      {
        path: req.url ?? '/',
        method: req.method ?? 'GET',
        headers,
        body: hasBody ? req : null,
        signal: abort,
        opaque: res,
      },
      ({ statusCode, headers: responseHeaders, opaque }) => {
        this.onResponseHeaders?.((performance.now() - sent) / 1000);
        const out = opaque as ServerResponse;
        out.writeHead(statusCode, filterResponseHeaders(responseHeaders));
        return out;
      },
      (error) => {
        res.off('close', onClose);
        if (!error || abort.aborted) return;
        onFailure({ ...classifyUpstreamError(error), responseStarted: res.headersSent, error });
      },
    );
  }

  /** Opens an upgraded (WebSocket) connection to the app; rejects when the app refuses or is unreachable. */
  async upgrade(req: IncomingMessage, headers: string[], signal: AbortSignal): Promise<UpgradedSocket> {
    const { headers: responseHeaders, socket } = await this.pool.upgrade({
      path: req.url ?? '/',
      method: 'GET',
      headers,
      protocol: req.headers.upgrade ?? 'websocket',
      signal,
    });
    return { statusLine: 'HTTP/1.1 101 Switching Protocols', headers: flattenUpgradeHeaders(responseHeaders), socket };
  }

  get timeout(): number {
    return this.timeoutMs;
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}

function flattenUpgradeHeaders(headers: Record<string, string | string[] | undefined>): string[] {
  const out: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const item of value) out.push(name, item);
  }
  return out;
}
