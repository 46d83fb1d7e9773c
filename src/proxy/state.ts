// Everything the listener derives from one config, built whole and never changed: a reload builds the next one and
// swaps it in with one assignment, and a request reads it once, so it finishes under the config it began with.
import proxyAddr from 'proxy-addr';
import type { AccessControl } from '../authorize/access.js';
import type { Config } from '../config/schema.js';
import { namesOnTheWire } from '../identity/headers.js';
import { compileIdentityHeaderTest, type IdentityHeaderTest } from '../identity/strip.js';
import type { Metrics } from '../ops/metrics.js';
import { brandingOf, type Branding } from '../pages/render.js';
import { Upstream } from './forward.js';

export interface ProxyState {
  readonly access: AccessControl;
  readonly upstream: UpstreamInUse;
  /** Requests that began under this state (the only part that changes). */
  readonly inFlight: InFlight;
  /** `routes.prefix/`: a path under it is an internal route. */
  readonly prefix: string;
  readonly branding: Branding;
  /** log.access and log.access_user. */
  readonly accessLog: boolean;
  readonly accessUser: boolean;
  /** identity.headers.user as sent: the first identity header of a signed-in user's admission, read for log.access_user. */
  readonly userHeader: string;
  /** listen.body_timeout. */
  readonly bodyTimeout: number;
  /** trust_proxy, compiled. */
  readonly trust: (address: string, hop: number) => boolean;
  /** Whether a peer's X-Forwarded-* are believed (warns once per process when not). */
  readonly trustPeer: (remoteAddress: string) => boolean;
  readonly isIdentityHeader: IdentityHeaderTest;
  readonly filterCookie: ((value: string) => string) | undefined;
}

/** What the states of one listener share. */
export interface ProxyStateDeps {
  metrics: Metrics;
  /** Called when a peer outside trust_proxy sent X-Forwarded-* headers. */
  onUntrustedPeer(remoteAddress: string): void;
}

/** The requests that began under one state: once it is replaced and they are all done, what it alone held is let go. */
export class InFlight {
  private requests = 0;
  private onIdle: (() => void) | undefined;

  enter(): void {
    this.requests++;
  }

  leave(): void {
    if (--this.requests === 0 && this.onIdle) this.idle();
  }

  /** Runs `onIdle` once no request of this state is in flight: now, or when the last one leaves. */
  retire(onIdle: () => void): void {
    this.onIdle = onIdle;
    if (this.requests === 0) this.idle();
  }

  private idle(): void {
    const onIdle = this.onIdle;
    this.onIdle = undefined;
    onIdle?.();
  }
}

/**
 * An upstream pool and the states that hold it: states built with the same upstream settings share one, and it
 * closes when the last of them is replaced and has no request in flight.
 */
export class UpstreamInUse {
  private holders = 0;

  constructor(
    readonly upstream: Upstream,
    /** The upstream settings it was built with. */
    readonly settings: string,
  ) {}

  hold(): this {
    this.holders++;
    return this;
  }

  drop(): void {
    if (--this.holders === 0) void this.close();
  }

  close(): Promise<void> {
    return this.upstream.close().catch(() => this.upstream.destroy());
  }
}

/** The state for `config`; with `previous` (a reload), its upstream pool is kept when the upstream settings did not change. */
export function buildProxyState(config: Config, access: AccessControl, deps: ProxyStateDeps, previous?: ProxyState): ProxyState {
  const settings = JSON.stringify(config.upstream);
  const shared =
    previous?.upstream.settings === settings
      ? previous.upstream
      : new UpstreamInUse(
          new Upstream({
            url: config.upstream.url,
            timeoutMs: config.upstream.timeout_ms,
            connections: config.upstream.connections,
            onResponseHeaders: (seconds) => deps.metrics.upstreamDuration.observe(seconds),
          }),
          settings,
        );
  const upstream = shared.hold();
  const trust = proxyAddr.compile(config.trust_proxy);
  return Object.freeze({
    access,
    upstream,
    inFlight: new InFlight(),
    prefix: `${config.routes.prefix}/`,
    branding: brandingOf(config.pages),
    accessLog: config.log.access,
    accessUser: config.log.access_user,
    userHeader: namesOnTheWire(config.identity.headers).user,
    bodyTimeout: config.listen.body_timeout,
    trust,
    trustPeer: (remoteAddress: string): boolean => {
      const trusted = trust(remoteAddress, 0);
      if (!trusted) deps.onUntrustedPeer(remoteAddress);
      return trusted;
    },
    isIdentityHeader: compileIdentityHeaderTest(config.identity, config.bearer),
    filterCookie: access.filterCookie?.bind(access),
  });
}

/**
 * After a reload replaced `previous`: resolves once the requests that began under it are done; its hold on its
 * upstream pool is dropped then (the pool closes unless a later state shares it).
 */
export function retire(previous: ProxyState): Promise<void> {
  return new Promise((resolve) =>
    previous.inFlight.retire(() => {
      previous.upstream.drop();
      resolve();
    }),
  );
}
