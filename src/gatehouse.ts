// One running gatehouse: proxy listener, ops listener, access control for the configured mode, and orderly shutdown.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { AccessControl } from './authorize/access.js';
import type { CloudAccess } from './authorize/cloud-access.js';
import { createLocalAccess } from './authorize/local-access.js';
import { cloudConfigHints } from './config/hints.js';
import { resolveMode, type Config, type Mode } from './config/schema.js';
import { ConfigError } from './errors.js';
import { createLogger, flushLogger, type Logger } from './ops/logger.js';
import { Metrics } from './ops/metrics.js';
import { createOpsServer } from './ops/ops-server.js';
import { brandingOf } from './pages/render.js';
import { Readiness } from './ops/readiness.js';
import { createProxyServer } from './server.js';

export interface GatehouseOptions {
  logger?: Logger;
  /** Collect Node's default process metrics (off in tests that start many instances). */
  defaultMetrics?: boolean;
}

export interface Gatehouse {
  mode: Mode;
  url: string;
  port: number;
  opsUrl: string;
  opsPort: number;
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  /** Applies a changed config without dropping connections or sessions; throws ConfigError (and keeps running as before) when it cannot. */
  reload(config: Config): Promise<void>;
  /** Readiness 503, stop accepting, let in-flight requests finish (up to shutdown.drain_timeout), close. */
  shutdown(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function urlFor(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}

async function createAccess(
  config: Config,
  mode: Mode,
  deps: { logger: Logger; metrics: Metrics; readiness: Readiness },
  previous?: AccessControl,
): Promise<AccessControl> {
  if (mode === 'local') {
    // Under mode auto the CLI says so in a warn line naming why (it knows which file keys and variables it read).
    if (!previous && config.mode === 'local') {
      deps.logger.info({ mode }, 'single sign-on inactive: mode is local; requests pass through, identity headers are stripped');
    }
    return createLocalAccess({ localLoginPaths: config.local_login.paths, branding: brandingOf(config.pages) });
  }
  if (!previous) for (const hint of cloudConfigHints(config)) deps.logger.warn(hint);
  const { createCloudAccess } = await import('./authorize/cloud-access.js');
  return createCloudAccess(config, deps, previous as CloudAccess | undefined);
}

/** Keys a running process cannot change: they need a restart. */
const RESTART_ONLY: ReadonlyArray<[string, (c: Config) => unknown]> = [
  ['mode', (c) => resolveMode(c)],
  ['listen', (c) => c.listen],
  ['ops', (c) => c.ops],
  ['session.store', (c) => c.session.store],
  ['session.redis', (c) => c.session.redis],
  ['session.max_sessions', (c) => c.session.max_sessions],
  ['session.idle_timeout', (c) => c.session.idle_timeout],
];

function restartOnlyChanges(running: Config, next: Config): string[] {
  return RESTART_ONLY.filter(([, read]) => JSON.stringify(read(running)) !== JSON.stringify(read(next))).map(
    ([key]) => `${key}: cannot change while running (restart gatehouse to apply it)`,
  );
}

export async function startGatehouse(config: Config, options: GatehouseOptions = {}): Promise<Gatehouse> {
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const metrics = new Metrics({ defaultMetrics: options.defaultMetrics });
  const readiness = new Readiness();
  const mode = resolveMode(config);
  const deps = { logger, metrics, readiness };
  let running = config;
  let access = await createAccess(config, mode, deps);
  const proxy = createProxyServer({ config, access, logger, metrics });
  const ops = createOpsServer(metrics, readiness);
  const opsPort = await listen(ops, config.ops.host, config.ops.port);
  const port = await listen(proxy.server, config.listen.host, config.listen.port);
  const url = urlFor(config.listen.host, port);
  // In cloud mode the address to open is public_url (sign-in cookies are set for its host; another host is
  // redirected there): the line shows it as `url`, and the socket as `listen`, without a scheme.
  const shown = mode === 'cloud' ? config.public_url : url;
  logger.info(
    { mode, url: shown, listen: url.slice('http://'.length), ops: urlFor(config.ops.host, opsPort), upstream: config.upstream.url },
    'gatehouse listening',
  );

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (stopping ??= (async () => {
      readiness.block('shutdown', 'shutting down');
      logger.info({ drainTimeoutMs: running.shutdown.drain_timeout }, 'shutting down: draining in-flight requests');
      await proxy.drain(running.shutdown.drain_timeout);
      await access.close?.();
      ops.closeAllConnections();
      await new Promise<void>((resolve) => ops.close(() => resolve()));
      logger.info('gatehouse stopped');
      flushLogger(logger);
    })());

  let reloading: Promise<void> = Promise.resolve();
  const reload = (next: Config): Promise<void> =>
    (reloading = reloading
      .catch(() => undefined)
      .then(async () => {
        const refused = restartOnlyChanges(running, next);
        if (refused.length > 0) throw new ConfigError(refused);
        const nextAccess = await createAccess(next, mode, deps, access);
        const previous = access;
        // The previous access control still admits the requests that began under it: what its successor does not
        // carry over (a provider client, a Redis store) is released once they are done.
        const previousDone = proxy.reconfigure(next, nextAccess);
        access = nextAccess;
        running = next;
        logger.level = next.log.level;
        previousDone
          .then(() => (previous as Partial<CloudAccess>).release?.(nextAccess as CloudAccess))
          .catch((error: unknown) =>
            logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'closing what the previous config used failed'),
          );
        logger.info({ mode }, 'config reloaded');
      }));

  return { mode, url, port, opsUrl: urlFor(config.ops.host, opsPort), opsPort, logger, metrics, readiness, shutdown, reload };
}
