// The proxy listener: the node:http server, its per-config state swapped whole at reload, and the drain.
import { createServer, type Server, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { AccessControl } from './authorize/access.js';
import type { Config } from './config/schema.js';
import { accessLogOf, type Logger } from './ops/logger.js';
import type { Metrics } from './ops/metrics.js';
import { handleClientError } from './proxy/client-error.js';
import type { Listener } from './proxy/listener.js';
import { handleCheckContinue, handleRequest } from './proxy/requests.js';
import { buildProxyState, retire } from './proxy/state.js';
import { handleUpgrade } from './proxy/upgrades.js';

export interface ProxyServerDeps {
  config: Config;
  access: AccessControl;
  logger: Logger;
  metrics: Metrics;
}

export interface ProxyServer {
  server: Server;
  /**
   * Applies a reloaded config and its access control to the requests that begin after it; a request that began
   * before finishes under the config it began with, its admission included. Resolves once those are all done.
   */
  reconfigure(config: Config, access: AccessControl): Promise<void>;
  /** Stops accepting, lets in-flight requests finish up to the drain timeout, then cuts what is left. */
  drain(timeoutMs: number): Promise<void>;
}

export function createProxyServer({ config, access, logger, metrics }: ProxyServerDeps): ProxyServer {
  let untrustedForwardingWarned = false;
  const stateDeps = {
    metrics,
    onUntrustedPeer: (remote: string): void => {
      if (untrustedForwardingWarned) return;
      untrustedForwardingWarned = true;
      logger.warn(
        { remote },
        'X-Forwarded-* from a peer outside trust_proxy ignored, the app gets X-Forwarded-Proto http (logged once): add the proxy in front of gatehouse to trust_proxy',
      );
    },
  };
  const listener: Listener = {
    logger,
    accessLog: accessLogOf(logger),
    metrics,
    state: buildProxyState(config, access, stateDeps),
    draining: false,
    upgradedSockets: new Set(),
    expectsContinue: new WeakSet(),
  };

  const server = createServer(serverOptions(config.listen), (req, res) => handleRequest(listener, req, res));
  server.on('checkContinue', (req, res) => handleCheckContinue(listener, req, res));
  server.on('upgrade', (req, socket, head) => handleUpgrade(listener, req, socket, head));
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => handleClientError(listener, error, socket));

  const reconfigure = (next: Config, nextAccess: AccessControl): Promise<void> => {
    const previous = listener.state;
    listener.state = buildProxyState(next, nextAccess, stateDeps, previous);
    return retire(previous);
  };

  const drain = async (timeoutMs: number): Promise<void> => {
    listener.draining = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
    if ((await Promise.race([closed, timer])) === 'timeout') {
      logger.warn({ timeoutMs }, 'drain timeout reached, closing remaining connections');
      server.closeAllConnections();
    }
    for (const socket of listener.upgradedSockets) socket.destroy();
    await listener.state.upstream.close();
  };

  return { server, drain, reconfigure };
}

// requestTimeout 0: a long upload that keeps moving is not cut; a stalled one is, by listen.body_timeout.
function serverOptions(listen: Config['listen']): ServerOptions {
  return {
    maxHeaderSize: listen.max_header_size,
    keepAliveTimeout: 5_000,
    headersTimeout: listen.header_timeout,
    requestTimeout: 0,
    connectionsCheckingInterval: Math.min(5_000, Math.max(100, Math.floor(listen.header_timeout / 4))),
  };
}
