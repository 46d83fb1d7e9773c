// Streams one HTTP request to the app over a keep-alive pool and the response back; knows nothing about identity.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import { hasBody } from '../http/body.js';
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
  if (
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError ||
    error instanceof undiciErrors.ConnectTimeoutError
  ) {
    return { kind: 'timeout', status: 504 };
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'EAI_AGAIN') return { kind: 'refused', status: 502 };
  if (code === 'ECONNRESET' || code === 'EPIPE' || error instanceof undiciErrors.SocketError) return { kind: 'reset', status: 502 };
  return { kind: 'protocol', status: 502 };
}

/** Why gatehouse aborted an upstream request: its client went away. */
class ClientGoneError extends Error {
  constructor() {
    super('client closed the connection');
    this.name = 'ClientGoneError';
  }
}

/**
 * Streams one upstream response into the client's response with backpressure. Owning the dispatch handler (rather
 * than undici's stream helper) lets gatehouse tell an app failing mid-body from a client that went away.
 */
class ResponseRelay implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private clientGone = false;
  private readonly sent = performance.now();

  constructor(
    private readonly res: ServerResponse,
    private readonly onResponseHeaders: ((seconds: number) => void) | undefined,
    private readonly onFailure: (failure: UpstreamFailure) => void,
  ) {
    res.on('close', this.onClientClose);
  }

  // Also when the response was finished by someone else (gatehouse's 408 for a stalled upload): the app's
  // request must not outlive the client's.
  private readonly onClientClose = (): void => {
    this.clientGone = true;
    this.controller?.abort(new ClientGoneError());
  };

  private readonly onDrain = (): void => this.controller?.resume();

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new ClientGoneError());
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.onResponseHeaders?.((performance.now() - this.sent) / 1000);
    this.res.writeHead(statusCode, filterResponseHeaders(headers));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', this.onDrain);
    }
  }

  onResponseEnd(): void {
    this.res.off('close', this.onClientClose);
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.res.off('close', this.onClientClose);
    if (this.clientGone || error instanceof ClientGoneError) return;
    this.onFailure({ ...classifyUpstreamError(error), responseStarted: this.res.headersSent, error });
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
    this.pool.dispatch(
      { path: req.url ?? '/', method: (req.method ?? 'GET') as Dispatcher.HttpMethod, headers, body: hasBody(req) ? req : null },
      new ResponseRelay(res, this.onResponseHeaders, onFailure),
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
