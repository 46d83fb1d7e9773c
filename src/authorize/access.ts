// The interface between the listener and the authentication layer: internal routes and the gate decision.
import type { IncomingMessage, ServerResponse } from 'node:http';

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
 * What the gate decided for a request outside the internal routes: a flat [name, value, …] list of identity
 * headers to add before forwarding (empty: forward without identity), or `null` when the gate has
 * already answered the request itself (redirect to sign in, 401, 403, 503).
 */
export type Admission = readonly string[] | null;

/**
 * What the gate decided for a WebSocket upgrade, whose raw socket it cannot answer itself: forward with these
 * identity headers (empty: without identity), or refuse with 401 (no valid session or token) or 403 (signed in,
 * but an access rule is not met).
 */
export type UpgradeAdmission = { readonly kind: 'forward'; readonly identity: readonly string[] } | { readonly kind: 'refuse'; readonly status: 401 | 403 };

export interface AccessControl {
  /** Answers a request under the internal route prefix. */
  handleRoute(ctx: RequestContext, route: string): Promise<void> | void;
  admit(ctx: RequestContext): Admission | Promise<Admission>;
  admitUpgrade(ctx: UpgradeContext): UpgradeAdmission | Promise<UpgradeAdmission>;
  /** Removes gatehouse's own cookies from a Cookie header before it goes upstream ('' drops the header). */
  filterCookie?(value: string): string;
  close?(): Promise<void>;
}
