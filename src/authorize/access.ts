// The interface between the listener and the authentication layer: internal routes and the gate decision.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MaybePromise } from '../maybe-promise.js';

export interface UpgradeContext {
  readonly req: IncomingMessage;
  readonly requestId: string;
  /** The normalized, decoded path every decision uses (never the query or fragment). */
  readonly path: string;
  /** Request cookies, parsed on first use. */
  cookies(): Readonly<Record<string, string | undefined>>;
}

export interface RequestContext extends UpgradeContext {
  readonly res: ServerResponse;
}

/**
 * What the gate decided: forward with these identity headers (a flat [name, value, …] list; empty: without
 * identity); `answered`: the gate answered the request itself (redirect to sign in, 401, 403, 503); `refuse`: a
 * WebSocket upgrade, whose raw socket the gate cannot answer, is refused with 401 (no valid session or token) or
 * 403 (signed in, but an access rule is not met).
 */
export type Admission =
  { readonly kind: 'forward'; readonly identity: readonly string[] } | { readonly kind: 'answered' } | { readonly kind: 'refuse'; readonly status: 401 | 403 };

export type Forward = Extract<Admission, { kind: 'forward' }>;
/** For a request: forwarded or answered. */
export type RequestAdmission = Extract<Admission, { kind: 'forward' | 'answered' }>;
/** For a WebSocket upgrade: forwarded or refused. */
export type UpgradeAdmission = Extract<Admission, { kind: 'forward' | 'refuse' }>;

export const FORWARD_WITHOUT_IDENTITY: Forward = Object.freeze({ kind: 'forward', identity: Object.freeze([]) });
export const ANSWERED: RequestAdmission = Object.freeze({ kind: 'answered' });

export interface AccessControl {
  /** Answers a request under the internal route prefix. */
  handleRoute(ctx: RequestContext, route: string): MaybePromise<void>;
  admit(ctx: RequestContext): MaybePromise<RequestAdmission>;
  admitUpgrade(ctx: UpgradeContext): MaybePromise<UpgradeAdmission>;
  /** Removes gatehouse's own cookies from a Cookie header before it goes upstream ('' drops the header). */
  filterCookie?(value: string): string;
  close?(): Promise<void>;
}
