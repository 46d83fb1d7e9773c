// The connection a Redis session store uses: one node, a Sentinel-watched primary or a Cluster.
import { NodeConnection, type RedisConnection, type RedisConnectionOptions, type RedisTarget, type RedisTlsOptions } from './redis-connection.js';
import { ClusterConnection } from './redis-cluster.js';
import { SentinelConnection } from './redis-sentinel.js';

export interface RedisConnectOptions {
  /** One node (`url`), a Sentinel-watched primary, or a Cluster; `url` alone is short for one node. */
  target?: RedisTarget;
  url?: string;
  /** ACL user and password beside the URL, taken as they are (no URL-encoding); never logged. */
  username?: string;
  password?: string;
  tls?: RedisTlsOptions;
  /** A command without an answer after this long fails. Default 2 s. */
  commandTimeoutMs?: number;
}

export function targetOf(options: RedisConnectOptions): RedisTarget {
  if (options.target) return options.target;
  if (options.url) return { kind: 'node', url: options.url };
  throw new Error('a Redis session store needs a target or a url');
}

export function connectRedis(
  options: RedisConnectOptions,
  hooks: Pick<RedisConnectionOptions, 'channel' | 'onMessage' | 'onError' | 'onReadyChange'>,
): RedisConnection {
  const target = targetOf(options);
  const shared: RedisConnectionOptions = {
    target,
    username: options.username,
    password: options.password,
    tls: options.tls,
    commandTimeoutMs: options.commandTimeoutMs ?? 2000,
    ...hooks,
  };
  if (target.kind === 'sentinel') return new SentinelConnection(target, shared);
  if (target.kind === 'cluster') return new ClusterConnection(target.urls, shared);
  return new NodeConnection(target.url, shared);
}
