// One WebSocket upgrade through the listener: only a WebSocket GET, the gate's decision, then the app's handshake
// spliced to the client's socket. Every decision reads the state captured at the upgrade's start.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { UpgradeAdmission, UpgradeContext } from '../authorize/access.js';
import { publicCodeOf } from '../errors.js';
import { requestTargetOf } from '../http/request-target.js';
import { isPromise } from '../maybe-promise.js';
import { buildUpstreamHeaders } from './headers.js';
import { classifyUpstreamError } from './forward.js';
import { lazyCookies, logAccess, pathWithoutQuery, requestIdOf, requester, upstreamHeaderOptions, userOf, type Listener } from './listener.js';
import type { ProxyState } from './state.js';
import { refuseUpgrade, spliceUpgrade } from './websocket.js';

/** The upgrade being answered: how it ends is counted and logged once, as a request like any other. */
interface Upgrade {
  readonly ctx: UpgradeContext;
  readonly socket: Duplex;
  readonly head: Buffer;
  /** 101 once the app accepted it, or the refusal's status; `user` for log.access_user. */
  answered(status: number, user?: string): void;
  /** Ends it with a JSON refusal on the raw socket. */
  refuse(status: number, reason: string, user?: string): void;
  /** The client went away during the handshake: nothing to answer or log. */
  abandoned(): void;
}

export function handleUpgrade(listener: Listener, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const state = listener.state;
  const requestId = requestIdOf(req);
  state.inFlight.enter();
  const answers = upgradeAnswers(listener, state, req, socket, requestId);
  socket.on('error', () => socket.destroy());
  // RFC 6455: a WebSocket handshake is a GET. Other methods, and other protocols (h2c would hand the client a
  // tunnel to the app past every later decision), are refused.
  const target = requestTargetOf(req);
  if (!target.ok || req.method !== 'GET' || !isWebSocketUpgrade(req.headers.upgrade)) {
    listener.metrics.rejectedRequests.labels(target.ok ? 'upgrade-not-websocket-get' : target.reason).inc();
    return answers.refuse(400, 'Bad Request');
  }
  if (listener.draining) return answers.refuse(503, 'Service Unavailable');
  req.url = target.target;
  if (target.path.startsWith(state.prefix)) return answers.refuse(404, 'Not Found');
  admit(listener, state, { ctx: { req, requestId, path: target.path, cookies: lazyCookies(req) }, socket, head, ...answers });
}

/** How an upgrade ends, each way counted and logged once; the in-flight count is left at the first end. */
function upgradeAnswers(
  listener: Listener,
  state: ProxyState,
  req: IncomingMessage,
  socket: Duplex,
  requestId: string,
): Pick<Upgrade, 'answered' | 'refuse' | 'abandoned'> {
  const started = performance.now();
  const peer = req.socket.remoteAddress ?? '';
  let open = true;
  /** Whether this is the first end: the upstream pool is let go, and the upgrade counted, once. */
  const end = (): boolean => {
    if (!open) return false;
    open = false;
    state.inFlight.leave();
    return true;
  };
  const answered = (status: number, user?: string): void => {
    if (!end()) return;
    listener.metrics.countRequest(status, (performance.now() - started) / 1000);
    logAccess(
      listener,
      state,
      {
        reqId: requestId,
        method: req.method,
        path: pathWithoutQuery(req.url),
        status,
        upgrade: true,
      },
      requester(state, req, peer, user),
    );
  };
  const refuse = (status: number, reason: string, user?: string): void => {
    const body = JSON.stringify({ error: publicCodeOf(status), request_id: requestId });
    refuseUpgrade(socket, status, reason, { 'content-type': 'application/json' }, body);
    answered(status, user);
  };
  return { answered, refuse, abandoned: () => void end() };
}

function admit(listener: Listener, state: ProxyState, upgrade: Upgrade): void {
  try {
    const admission = state.access.admitUpgrade(upgrade.ctx);
    if (isPromise(admission))
      admission.then(
        (admitted) => proceed(listener, state, upgrade, admitted),
        () => upgrade.refuse(503, 'Service Unavailable'),
      );
    else proceed(listener, state, upgrade, admission);
  } catch {
    upgrade.refuse(503, 'Service Unavailable');
  }
}

function proceed(listener: Listener, state: ProxyState, upgrade: Upgrade, admission: UpgradeAdmission): void {
  if (admission.kind === 'refuse') return upgrade.refuse(admission.status, admission.status === 403 ? 'Forbidden' : 'Unauthorized');
  const { ctx, socket } = upgrade;
  const user = userOf(state, admission.identity);
  const headers = buildUpstreamHeaders(ctx.req.rawHeaders, upstreamHeaderOptions(state, ctx.req, ctx.requestId), admission.identity);
  const abort = new AbortController();
  socket.once('close', () => abort.abort());
  state.upstream.upstream.upgrade(ctx.req, headers, abort.signal).then(
    (upgraded) => {
      listener.upgradedSockets.add(socket);
      socket.once('close', () => listener.upgradedSockets.delete(socket));
      spliceUpgrade(socket, upgrade.head, upgraded);
      upgrade.answered(101, user);
    },
    (error: Error) => {
      if (abort.signal.aborted) return upgrade.abandoned();
      const { kind, status } = classifyUpstreamError(error);
      listener.metrics.upstreamErrors.labels(kind).inc();
      listener.logger.warn({ reqId: ctx.requestId, kind, err: error.message }, 'upstream upgrade failed');
      upgrade.refuse(status, status === 504 ? 'Gateway Timeout' : 'Bad Gateway', user);
    },
  );
}

function isWebSocketUpgrade(upgrade: string | undefined): boolean {
  return upgrade !== undefined && upgrade.trim().toLowerCase() === 'websocket';
}
