// One HTTP request through the listener: request id, body timeout, path normalization, internal routes vs gate,
// forwarding, the error page, the access line. Every decision reads the state captured at the request's start.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestAdmission, RequestContext } from '../authorize/access.js';
import { GatehouseError, publicCodeOf } from '../errors.js';
import { hasBody } from '../http/body.js';
import { requestTargetOf } from '../http/request-target.js';
import { isPromise } from '../maybe-promise.js';
import { wantsJson } from '../http/accept.js';
import { renderErrorJson, renderPage } from '../pages/render.js';
import { buildUpstreamHeaders } from './headers.js';
import type { UpstreamFailure } from './forward.js';
import { lazyCookies, logAccess, pathWithoutQuery, requestIdOf, requester, upstreamHeaderOptions, userOf, type Listener } from './listener.js';
import type { ProxyState } from './state.js';

type Answerable = { req: IncomingMessage; res: ServerResponse; requestId: string };

export function handleRequest(listener: Listener, req: IncomingMessage, res: ServerResponse): void {
  const state = listener.state;
  const { metrics } = listener;
  const started = performance.now();
  const requestId = requestIdOf(req);
  const socket = req.socket;
  const bytesBefore = socket.bytesWritten;
  const peer = socket.remoteAddress ?? '';
  let user: string | undefined;
  metrics.inFlight.inc();
  state.inFlight.enter();
  const done = (): void => {
    metrics.inFlight.dec();
    state.inFlight.leave();
    const seconds = (performance.now() - started) / 1000;
    const status = res.headersSent ? res.statusCode : 499;
    metrics.countRequest(status, seconds);
    const ms = Math.round(seconds * 10_000) / 10;
    const record = { reqId: requestId, method: req.method, path: pathWithoutQuery(req.url), status, ms, bytes: socket.bytesWritten - bytesBefore };
    logAccess(listener, state, record, requester(state, req, peer, user));
  };
  // Once per response (Node guards it): a tick after 'finish', or when the response is cut short.
  res.on('close', done);
  if (listener.draining) res.setHeader('connection', 'close');

  if (hasBody(req) && !req.complete) watchBody(listener, state, req, res, requestId);

  const target = requestTargetOf(req);
  if (!target.ok) {
    metrics.rejectedRequests.labels(target.reason).inc();
    sendError(state, { req, res, requestId }, 400);
    return;
  }
  // From here on the request-target is the canonical one: what every decision reads is what the app receives.
  req.url = target.target;
  const ctx: RequestContext = { req, res, requestId, path: target.path, cookies: lazyCookies(req) };
  try {
    if (target.path.startsWith(state.prefix)) return route(listener, state, ctx);
    const admitted = (admission: RequestAdmission): void => {
      if (admission.kind !== 'forward') return;
      user = userOf(state, admission.identity);
      forward(listener, state, ctx, admission.identity);
    };
    const admission = state.access.admit(ctx);
    if (isPromise(admission)) admission.then(admitted, (error: unknown) => failInternally(listener, state, ctx, error));
    else admitted(admission);
  } catch (error) {
    failInternally(listener, state, ctx, error);
  }
}

// Requests whose `Expect: 100-continue` gatehouse answers only once it admits them (a refusal goes out instead,
// with `Connection: close`: the body the client holds back is never read).
export function handleCheckContinue(listener: Listener, req: IncomingMessage, res: ServerResponse): void {
  listener.expectsContinue.add(req);
  res.setHeader('connection', 'close');
  handleRequest(listener, req, res);
}

function continueRequest(listener: Listener, req: IncomingMessage, res: ServerResponse): void {
  listener.expectsContinue.delete(req);
  if (!listener.draining) res.removeHeader('connection');
  res.writeContinue();
}

function route(listener: Listener, state: ProxyState, ctx: RequestContext): void {
  if (listener.expectsContinue.has(ctx.req)) continueRequest(listener, ctx.req, ctx.res);
  const routed = state.access.handleRoute(ctx, ctx.path.slice(state.prefix.length - 1));
  if (routed) routed.catch((error: unknown) => failInternally(listener, state, ctx, error));
}

function forward(listener: Listener, state: ProxyState, ctx: RequestContext, identity: readonly string[]): void {
  if (listener.expectsContinue.has(ctx.req)) continueRequest(listener, ctx.req, ctx.res);
  const headers = buildUpstreamHeaders(ctx.req.rawHeaders, upstreamHeaderOptions(state, ctx.req, ctx.requestId), identity);
  state.upstream.upstream.forward(ctx.req, ctx.res, headers, (failure: UpstreamFailure) => {
    listener.metrics.upstreamErrors.labels(failure.kind).inc();
    listener.logger.warn({ reqId: ctx.requestId, kind: failure.kind, err: failure.error.message }, 'upstream request failed');
    if (failure.responseStarted) ctx.res.destroy();
    else sendError(state, ctx, failure.status);
  });
}

// A request body is read with a bound on each pause (listen.body_timeout), whoever reads it: the app, or gatehouse
// itself (its own POST routes, or discarding the body of a refused request). Responses are not cut by it.
function watchBody(listener: Listener, state: ProxyState, req: IncomingMessage, res: ServerResponse, requestId: string): void {
  const { metrics } = listener;
  req.setTimeout(state.bodyTimeout, () => {
    metrics.clientTimeouts.labels('body').inc();
    listener.logger.info({ reqId: requestId, timeoutMs: state.bodyTimeout }, 'request body stalled, connection closed');
    if (res.headersSent) return void req.socket.destroy();
    res.setHeader('connection', 'close');
    sendError(state, { req, res, requestId }, 408);
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
    }, state.bodyTimeout).unref();
    socket.once('close', () => clearTimeout(cut));
  });
}

function sendError(state: ProxyState, ctx: Answerable, status: number): void {
  if (ctx.res.headersSent) return void ctx.res.destroy();
  const page = wantsJson(ctx.req.headers.accept)
    ? renderErrorJson(status, ctx.requestId, publicCodeOf(status))
    : renderPage({ kind: 'error', status, requestId: ctx.requestId }, state.branding);
  ctx.res.writeHead(page.status, page.headers).end(ctx.req.method === 'HEAD' ? undefined : page.body);
}

function failInternally(listener: Listener, state: ProxyState, ctx: RequestContext, error: unknown): void {
  // 503 when a part gatehouse needs is down, else 500; the answer does not say which part
  const failure = error instanceof GatehouseError ? error : undefined;
  listener.logger.error({ reqId: ctx.requestId, err: error instanceof Error ? error.message : String(error), code: failure?.code }, 'request failed');
  sendError(state, ctx, failure?.status === 503 ? 503 : 500);
}
