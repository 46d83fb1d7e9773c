// Listener wiring: request id, header stripping, path normalization, internal routes vs gate, forwarding, access log.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { parse as parseCookieHeader } from 'cookie';
import proxyAddr from 'proxy-addr';
import type { AccessControl, Admission, RequestContext, UpgradeAdmission, UpgradeContext } from './authorize/access.js';
import { wantsJson } from './http/accept.js';
import { brandingOf, renderErrorJson, renderPage, type Branding } from './pages/render.js';
import type { Config } from './config/schema.js';
import { GatehouseError, publicCodeOf } from './errors.js';
import { hasBody } from './http/body.js';
import { requestTargetOf } from './http/request-target.js';
import { compileIdentityHeaderTest } from './identity/strip.js';
import { accessLoggerOf, type Logger } from './ops/logger.js';
import type { Metrics } from './ops/metrics.js';
import { buildUpstreamHeaders, type UpstreamHeaderOptions } from './proxy/headers.js';
import { Upstream, classifyUpstreamError, type UpstreamFailure } from './proxy/forward.js';
import { refuseUpgrade, spliceUpgrade } from './proxy/websocket.js';

export interface ProxyServerDeps {
  config: Config;
  access: AccessControl;
  logger: Logger;
  metrics: Metrics;
}

export interface ProxyServer {
  server: Server;
  /** Applies a reloaded config and its access control to the next requests; in-flight ones finish as they began. */
  reconfigure(config: Config, access: AccessControl): void;
  /** Stops accepting, lets in-flight requests finish up to the drain timeout, then cuts what is left. */
  drain(timeoutMs: number): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const NO_FIELDS: Readonly<Record<string, string>> = Object.freeze({});

export function createProxyServer({ config, access: initialAccess, logger, metrics }: ProxyServerDeps): ProxyServer {
  const createUpstream = (settings: Config['upstream']): Upstream =>
    new Upstream({
      url: settings.url,
      timeoutMs: settings.timeout_ms,
      connections: settings.connections,
      onResponseHeaders: (seconds) => metrics.upstreamDuration.observe(seconds),
    });
  // Everything derived from config lives in these bindings so that reconfigure() can swap them between requests.
  let current = config;
  let access = initialAccess;
  let upstream = createUpstream(config.upstream);
  let isIdentityHeader = compileIdentityHeaderTest(config.identity, config.bearer);
  let trust = proxyAddr.compile(config.trust_proxy);
  let branding: Branding = brandingOf(config.pages);
  let prefix = `${config.routes.prefix}/`;
  let accessLog = config.log.access;
  let accessUser = config.log.access_user;
  let filterCookie = boundCookieFilter(initialAccess);
  const accessLogger = accessLoggerOf(logger);
  const upgradedSockets = new Set<Duplex>();
  let draining = false;
  let untrustedForwardingWarned = false;

  const reconfigure = (next: Config, nextAccess: AccessControl): void => {
    if (JSON.stringify(next.upstream) !== JSON.stringify(current.upstream)) {
      const previous = upstream;
      upstream = createUpstream(next.upstream);
      void previous.close().catch(() => previous.destroy());
    }
    current = next;
    access = nextAccess;
    isIdentityHeader = compileIdentityHeaderTest(next.identity, next.bearer);
    trust = proxyAddr.compile(next.trust_proxy);
    branding = brandingOf(next.pages);
    prefix = `${next.routes.prefix}/`;
    accessLog = next.log.access;
    accessUser = next.log.access_user;
    filterCookie = boundCookieFilter(nextAccess);
  };

  // The level is read from `logger` so that a level changed by a reload applies to the access lines too.
  const logAccess = (fields: Record<string, unknown>): void => {
    if (accessLog && logger.isLevelEnabled('info')) accessLogger.info(fields, 'request');
  };
  /**
   * Who asked, for the access line: `remote` is the client address (the first address trust_proxy does not vouch
   * for, reading X-Forwarded-For from the right), `peer` the socket's address when that differs, `ua` the
   * User-Agent (cut at 256 characters), `sub` the forwarded user's subject, only with log.access_user.
   */
  const who = (req: IncomingMessage, peer: string, user: string | undefined): Record<string, string> => {
    if (!accessLog) return NO_FIELDS;
    const remote = clientAddress(peer, req.headers['x-forwarded-for'], trust);
    const fields: Record<string, string> = { remote };
    if (remote !== peer) fields.peer = peer;
    const ua = req.headers['user-agent'];
    if (ua) fields.ua = ua.length > 256 ? ua.slice(0, 256) : ua;
    if (user !== undefined) fields.sub = user;
    return fields;
  };
  /** The sub of an admission that forwards a signed-in user (its first identity header is the user header), for log.access_user. */
  const userOf = (admission: Admission): string | undefined =>
    accessUser && admission !== null && admission[0] === current.identity.headers.user ? admission[1] : undefined;

  const trustPeer = (remoteAddress: string): boolean => {
    const trusted = trust(remoteAddress, 0);
    if (!trusted && !untrustedForwardingWarned) {
      untrustedForwardingWarned = true;
      logger.warn({ remote: remoteAddress }, 'X-Forwarded-* from a peer outside trust_proxy ignored, the app gets X-Forwarded-Proto http (logged once): add the proxy in front of gatehouse to trust_proxy');
    }
    return trusted;
  };
  // Built per request without closures: the functions above and filterCookie are bound once per config.
  const headerOptions = (req: IncomingMessage, requestId: string): UpstreamHeaderOptions => ({
    requestId,
    remoteAddress: req.socket.remoteAddress ?? '',
    trustPeer,
    isIdentityHeader,
    filterCookie,
  });

  const sendError = (ctx: { req: IncomingMessage; res: ServerResponse; requestId: string }, status: number): void => {
    if (ctx.res.headersSent) return void ctx.res.destroy();
    const page = wantsJson(ctx.req.headers.accept)
      ? renderErrorJson(status, ctx.requestId, publicCodeOf(status))
      : renderPage({ kind: 'error', status, requestId: ctx.requestId }, branding);
    ctx.res.writeHead(page.status, page.headers).end(ctx.req.method === 'HEAD' ? undefined : page.body);
  };

  const forward = (ctx: RequestContext, identity: readonly string[]): void => {
    if (expectsContinue.has(ctx.req)) continueRequest(ctx.req, ctx.res);
    const headers = buildUpstreamHeaders(ctx.req.rawHeaders, headerOptions(ctx.req, ctx.requestId), identity);
    upstream.forward(ctx.req, ctx.res, headers, (failure: UpstreamFailure) => {
      metrics.upstreamErrors.labels(failure.kind).inc();
      logger.warn({ reqId: ctx.requestId, kind: failure.kind, err: failure.error.message }, 'upstream request failed');
      if (failure.responseStarted) ctx.res.destroy();
      else sendError(ctx, failure.status);
    });
  };

  const onAdmission = (ctx: RequestContext, admission: Admission): void => {
    if (admission !== null) forward(ctx, admission);
  };

  // Requests whose `Expect: 100-continue` gatehouse answers only once it admits them (a refusal goes out instead,
  // with `Connection: close`: the body the client holds back is never read).
  const expectsContinue = new WeakSet<IncomingMessage>();
  const onCheckContinue = (req: IncomingMessage, res: ServerResponse): void => {
    expectsContinue.add(req);
    res.setHeader('connection', 'close');
    handle(req, res);
  };
  const continueRequest = (req: IncomingMessage, res: ServerResponse): void => {
    expectsContinue.delete(req);
    if (!draining) res.removeHeader('connection');
    res.writeContinue();
  };

  // A request body is read with a bound on each pause (listen.body_timeout), whoever reads it: the app, or gatehouse
  // itself (its own POST routes, or discarding the body of a refused request). Responses are not cut by it.
  const watchBody = (req: IncomingMessage, res: ServerResponse, requestId: string): void => {
    req.setTimeout(current.listen.body_timeout, () => {
      metrics.clientTimeouts.labels('body').inc();
      logger.info({ reqId: requestId, timeoutMs: current.listen.body_timeout }, 'request body stalled, connection closed');
      if (res.headersSent) return void req.socket.destroy();
      res.setHeader('connection', 'close');
      sendError({ req, res, requestId }, 408);
    });
    req.once('end', () => req.setTimeout(0));
    // Answered before the body arrived whole (a refusal, or an app answering early): the half-close lets the
    // client read the answer, and whatever it still holds open is cut after one more body_timeout.
    res.once('finish', () => {
      if (req.complete) return;
      const socket = req.socket;
      socket.end();
      const cut = setTimeout(() => {
        metrics.clientTimeouts.labels('body').inc();
        socket.destroy();
      }, current.listen.body_timeout).unref();
      socket.once('close', () => clearTimeout(cut));
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const requestId = requestIdOf(req);
    const socket = req.socket;
    const bytesBefore = socket.bytesWritten;
    const peer = socket.remoteAddress ?? '';
    let user: string | undefined;
    metrics.inFlight.inc();
    let logged = false;
    const done = (): void => {
      if (logged) return;
      logged = true;
      metrics.inFlight.dec();
      const seconds = (performance.now() - started) / 1000;
      const status = res.headersSent ? res.statusCode : 499;
      metrics.countRequest(status, seconds);
      logAccess({ reqId: requestId, method: req.method, path: pathWithoutQuery(req.url), status, ms: Math.round(seconds * 10_000) / 10, bytes: socket.bytesWritten - bytesBefore, ...who(req, peer, user) });
    };
    res.once('finish', done).once('close', done);
    if (draining) res.setHeader('connection', 'close');

    if (hasBody(req) && !req.complete) watchBody(req, res, requestId);

    const target = requestTargetOf(req);
    if (!target.ok) {
      metrics.rejectedRequests.labels(target.reason).inc();
      sendError({ req, res, requestId }, 400);
      return;
    }
    // From here on the request-target is the canonical one: what every decision reads is what the app receives.
    req.url = target.target;
    const ctx: RequestContext = {
      req,
      res,
      requestId,
      path: target.path,
      cookies: lazyCookies(req),
    };
    try {
      if (target.path.startsWith(prefix)) {
        if (expectsContinue.has(req)) continueRequest(req, res);
        const routed = access.handleRoute(ctx, target.path.slice(prefix.length - 1));
        if (routed) routed.catch((error: unknown) => failInternally(ctx, error));
        return;
      }
      const admitted = (value: Admission): void => {
        user = userOf(value);
        onAdmission(ctx, value);
      };
      const admission = access.admit(ctx);
      if (admission !== null && 'then' in admission) admission.then(admitted, (error: unknown) => failInternally(ctx, error));
      else admitted(admission);
    } catch (error) {
      failInternally(ctx, error);
    }
  };

  const failInternally = (ctx: RequestContext, error: unknown): void => {
    // 503 when a part gatehouse needs is down, else 500; the answer does not say which part
    const failure = error instanceof GatehouseError ? error : undefined;
    logger.error({ reqId: ctx.requestId, err: error instanceof Error ? error.message : String(error), code: failure?.code }, 'request failed');
    sendError(ctx, failure?.status === 503 ? 503 : 500);
  };

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const started = performance.now();
    const requestId = requestIdOf(req);
    const peer = req.socket.remoteAddress ?? '';
    let user: string | undefined;
    // an upgrade counts as a request like any other: 101 once the app accepted it, or the refusal's status
    const answered = (status: number): void => {
      metrics.countRequest(status, (performance.now() - started) / 1000);
      logAccess({ reqId: requestId, method: req.method, path: pathWithoutQuery(req.url), status, upgrade: true, ...who(req, peer, user) });
    };
    const refuse = (status: number, reason: string): void => {
      const body = JSON.stringify({ error: publicCodeOf(status), request_id: requestId });
      refuseUpgrade(socket, status, reason, { 'content-type': 'application/json' }, body);
      answered(status);
    };
    socket.on('error', () => socket.destroy());
    // RFC 6455: a WebSocket handshake is a GET. Other methods, and other protocols (h2c would hand the client a
    // tunnel to the app past every later decision), are refused.
    const target = requestTargetOf(req);
    if (!target.ok || req.method !== 'GET' || !isWebSocketUpgrade(req.headers.upgrade)) {
      metrics.rejectedRequests.labels(target.ok ? 'upgrade-not-websocket-get' : target.reason).inc();
      return refuse(400, 'Bad Request');
    }
    if (draining) return refuse(503, 'Service Unavailable');
    req.url = target.target;
    const ctx: UpgradeContext = {
      req,
      requestId,
      path: target.path,
      cookies: lazyCookies(req),
    };
    const proceed = (admission: UpgradeAdmission): void => {
      if (admission.kind === 'refuse') return refuse(admission.status, admission.status === 403 ? 'Forbidden' : 'Unauthorized');
      user = userOf(admission.identity);
      const headers = buildUpstreamHeaders(req.rawHeaders, headerOptions(req, requestId), admission.identity);
      const abort = new AbortController();
      socket.once('close', () => abort.abort());
      upstream.upgrade(req, headers, abort.signal).then(
        (upgraded) => {
          upgradedSockets.add(socket);
          socket.once('close', () => upgradedSockets.delete(socket));
          spliceUpgrade(socket, head, upgraded);
          answered(101);
        },
        (error: Error) => {
          if (abort.signal.aborted) return;
          const { kind, status } = classifyUpstreamError(error);
          metrics.upstreamErrors.labels(kind).inc();
          logger.warn({ reqId: requestId, kind, err: error.message }, 'upstream upgrade failed');
          refuse(status, status === 504 ? 'Gateway Timeout' : 'Bad Gateway');
        },
      );
    };
    if (target.path.startsWith(prefix)) return refuse(404, 'Not Found');
    try {
      const admission = access.admitUpgrade(ctx);
      if (admission instanceof Promise) admission.then(proceed, () => refuse(503, 'Service Unavailable'));
      else proceed(admission);
    } catch {
      refuse(503, 'Service Unavailable');
    }
  };

  // requestTimeout 0: a long upload that keeps moving is not cut; a stalled one is, by listen.body_timeout.
  const headerTimeout = config.listen.header_timeout;
  const server = createServer(
    {
      maxHeaderSize: config.listen.max_header_size,
      keepAliveTimeout: 5_000,
      headersTimeout: headerTimeout,
      requestTimeout: 0,
      connectionsCheckingInterval: Math.min(5_000, Math.max(100, Math.floor(headerTimeout / 4))),
    },
    handle,
  );
  server.on('checkContinue', onCheckContinue);
  server.on('upgrade', handleUpgrade);
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    // A client that hung up (mid-body included) sent nothing malformed; its request, if any, is logged as 499.
    if (error.code === 'ECONNRESET' || error.code === 'HPE_INVALID_EOF_STATE' || !socket.writable) return void socket.destroy();
    const overflow = error.code === 'HPE_HEADER_OVERFLOW';
    const stalled = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const status = overflow ? 431 : stalled ? 408 : 400;
    const requestId = randomUUID();
    if (stalled) metrics.clientTimeouts.labels('headers').inc();
    else metrics.rejectedRequests.labels(overflow ? 'header-overflow' : 'malformed').inc();
    metrics.countRequest(status, 0);
    // the request could not be parsed, so its method and path are unknown: the parser's code says why
    logAccess({ reqId: requestId, status, refused: error.code, remote: socket.remoteAddress });
    const reason = overflow ? 'Request Header Fields Too Large' : stalled ? 'Request Timeout' : 'Bad Request';
    const body = overflow ? 'request headers too large\n' : stalled ? 'request headers not received in time\n' : 'bad request\n';
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: text/plain\r\nx-request-id: ${requestId}\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
  });

  const drain = async (timeoutMs: number): Promise<void> => {
    draining = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
    if ((await Promise.race([closed, timer])) === 'timeout') {
      logger.warn({ timeoutMs }, 'drain timeout reached, closing remaining connections');
      server.closeAllConnections();
    }
    for (const socket of upgradedSockets) socket.destroy();
    await upstream.close().catch(() => upstream.destroy());
  };

  return { server, drain, reconfigure };
}

function isWebSocketUpgrade(upgrade: string | undefined): boolean {
  return upgrade !== undefined && upgrade.trim().toLowerCase() === 'websocket';
}

/**
 * The client's address as trust_proxy sees it (proxy-addr's rule): from the peer leftwards through X-Forwarded-For,
 * the first address not in trust_proxy; the leftmost one when every hop is trusted. Not proxy-addr itself: it reads
 * `req.connection`, which can be null when the access line is written (a TypeError seen in the browser tests);
 * `peer` is read at the request's start.
 */
function clientAddress(peer: string, forwardedFor: string | string[] | undefined, trust: (address: string, hop: number) => boolean): string {
  if (forwardedFor === undefined || !trust(peer, 0)) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  let address = peer;
  for (let i = hops.length - 1, hop = 1; i >= 0; i--, hop++) {
    address = (hops[i] as string).trim();
    if (!trust(address, hop)) break;
  }
  return address;
}

/** The client's X-Request-Id when well-formed (kept end to end), else a new UUID. */
function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The request's cookies, parsed on first use and only then. */
function lazyCookies(req: IncomingMessage): () => Readonly<Record<string, string | undefined>> {
  let cookies: Record<string, string | undefined> | undefined;
  return () => (cookies ??= req.headers.cookie ? parseCookieHeader(req.headers.cookie) : {});
}

/** What the access log records of the target: never the query string. */
function pathWithoutQuery(url: string | undefined): string {
  const target = url ?? '/';
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

function boundCookieFilter(access: AccessControl): ((value: string) => string) | undefined {
  return access.filterCookie?.bind(access);
}

