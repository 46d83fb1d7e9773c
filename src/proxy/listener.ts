// What the listener's handlers share for the life of the server, and the per-request helpers they have in common:
// request id, lazily parsed cookies, and the access line.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { parse as parseCookieHeader } from 'cookie';
import type { AccessRecord, Requester } from '../ops/access-line.js';
import type { AccessLog, Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { UpstreamHeaderOptions } from './headers.js';
import type { ProxyState } from './state.js';

export interface Listener {
  readonly logger: Logger;
  readonly accessLog: AccessLog;
  readonly metrics: Metrics;
  /** Replaced whole by a reload; a request reads it once, at its start. */
  state: ProxyState;
  /** Set by drain: new requests are answered with `Connection: close`, new upgrades refused. */
  draining: boolean;
  /** Open WebSocket connections, cut at the end of a drain. */
  readonly upgradedSockets: Set<Duplex>;
  /** Requests whose `Expect: 100-continue` is answered only once they are admitted. */
  readonly expectsContinue: WeakSet<IncomingMessage>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const NO_REQUESTER: Readonly<Requester> = Object.freeze({});

/** The client's X-Request-Id when well-formed (kept end to end), else a new UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The request's cookies, parsed on first use and only then. */
export function lazyCookies(req: IncomingMessage): () => Readonly<Record<string, string | undefined>> {
  let cookies: Record<string, string | undefined> | undefined;
  return () => (cookies ??= req.headers.cookie ? parseCookieHeader(req.headers.cookie) : {});
}

/** What the access log records of the target: never the query string. */
export function pathWithoutQuery(url: string | undefined): string {
  const target = url ?? '/';
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

// The level is read from `logger` so that a level changed by a reload applies to the access lines too.
export function logAccess(listener: Listener, state: ProxyState, record: AccessRecord, who: Requester): void {
  if (state.accessLog && listener.logger.isLevelEnabled('info')) listener.accessLog(record, who);
}

/**
 * Who asked, for the access line: `remote` is the client address (the first address trust_proxy does not vouch
 * for, reading X-Forwarded-For from the right), `peer` the socket's address when that differs, `ua` the
 * User-Agent (cut at 256 characters), `sub` the forwarded user's subject, only with log.access_user.
 */
export function requester(state: ProxyState, req: IncomingMessage, peer: string, user: string | undefined): Requester {
  if (!state.accessLog) return NO_REQUESTER;
  const remote = clientAddress(peer, req.headers['x-forwarded-for'], state.trust);
  const who: Requester = { remote };
  if (remote !== peer) who.peer = peer;
  const ua = req.headers['user-agent'];
  if (ua) who.ua = ua.length > 256 ? ua.slice(0, 256) : ua;
  if (user !== undefined) who.sub = user;
  return who;
}

/** The sub of an admission that forwards a signed-in user (its first identity header is the user header), for log.access_user. */
export function userOf(state: ProxyState, identity: readonly string[]): string | undefined {
  return state.accessUser && identity[0] === state.userHeader ? identity[1] : undefined;
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

/** The options the upstream headers are built with; per request, without closures (the state's are bound once). */
export function upstreamHeaderOptions(state: ProxyState, req: IncomingMessage, requestId: string): UpstreamHeaderOptions {
  return {
    requestId,
    remoteAddress: req.socket.remoteAddress ?? '',
    trustPeer: state.trustPeer,
    isIdentityHeader: state.isIdentityHeader,
    filterCookie: state.filterCookie,
  };
}
