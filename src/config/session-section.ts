// The `session` section of the config schema: lifetimes, the cookie, and the store (memory, or Redis on one node,
// behind Sentinel or as a Cluster).
import { z } from 'zod';
import { redisUrlProblem, sentinelNodeProblem } from './checks.js';
import { checked, duration } from './sections.js';

const REDIS_URL_DEFAULT = 'redis://127.0.0.1:6379';

const redisSchema = z
  .strictObject({
    url: checked(redisUrlProblem).default(REDIS_URL_DEFAULT).describe('Redis URL of one node (redis:// or rediss://); leave unset with sentinel or cluster'),
    username: z.string().default('').describe('Redis ACL user; empty: the default user'),
    password: z.string().default('').describe('Redis password, any bytes, no URL-encoding; empty: none'),
    tls: z
      .strictObject({
        ca_file: z.string().default('').describe('PEM file of the CA(s) that signed the Redis server certificate (rediss://); empty: the system CAs'),
        cert_file: z.string().default('').describe('PEM client certificate for Redis servers that require one (rediss://, with key_file)'),
        key_file: z.string().default('').describe('PEM private key of cert_file'),
      })
      .prefault({}),
    sentinel: z
      .strictObject({
        name: z.string().default('').describe('Name of the primary the sentinels watch (sentinel monitor <name>); with nodes'),
        nodes: z
          .array(checked(sentinelNodeProblem))
          .default([])
          .describe('Sentinels as host:port (a few suffice; the rest are discovered); set instead of url for a primary with failover'),
        tls: z.boolean().default(false).describe('TLS to the primary and replicas the sentinels name (then tls.* apply)'),
        username: z.string().default('').describe('ACL user at the sentinels themselves (not the data nodes); empty: the default user'),
        password: z.string().default('').describe('Password of the sentinels themselves (sentinel requirepass), any bytes; empty: none'),
      })
      .prefault({}),
    cluster: z
      .strictObject({
        nodes: z
          .array(checked(redisUrlProblem))
          .default([])
          .describe('Some nodes of a Redis Cluster as redis:// or rediss:// URLs (the rest are discovered); set instead of url'),
      })
      .prefault({}),
    prefix: z.string().default('gatehouse:').describe('Prefix of every Redis key and channel'),
    cache_ttl: duration('5s').describe('How long a replica keeps a session in its local cache in front of Redis'),
  })
  .superRefine((redis, ctx) => {
    const { ca_file, cert_file, key_file } = redis.tls;
    const sentinel = redis.sentinel.nodes.length > 0 || redis.sentinel.name !== '';
    const cluster = redis.cluster.nodes.length > 0;
    // url has a default, so "set" means changed from it
    const url = redis.url !== REDIS_URL_DEFAULT;
    const chosen = [url && 'url', sentinel && 'sentinel', cluster && 'cluster'].filter((key) => key !== false);
    if (chosen.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [chosen[1] as string],
        message: `set exactly one of session.redis.url, session.redis.sentinel, session.redis.cluster (got ${chosen.join(' and ')})`,
      });
    }
    if (sentinel && redis.sentinel.name === '')
      ctx.addIssue({ code: 'custom', path: ['sentinel', 'name'], message: 'names the primary the sentinels watch; required with sentinel.nodes' });
    if (sentinel && redis.sentinel.nodes.length === 0)
      ctx.addIssue({ code: 'custom', path: ['sentinel', 'nodes'], message: 'needs at least one sentinel host:port' });
    if (cluster && new Set(redis.cluster.nodes.map((node) => /^rediss:/i.test(node))).size > 1) {
      ctx.addIssue({ code: 'custom', path: ['cluster', 'nodes'], message: 'mixes redis:// and rediss://; every node of a cluster speaks the same' });
    }
    if (cluster && /[{}]/.test(redis.prefix)) {
      ctx.addIssue({ code: 'custom', path: ['prefix'], message: 'must not contain { or } with cluster: gatehouse puts its own {hash tags} after the prefix' });
    }
    for (const [i, node] of redis.cluster.nodes.entries()) {
      if (/^[a-z]+:\/\/[^/?#]*@/i.test(node))
        ctx.addIssue({
          code: 'custom',
          path: ['cluster', 'nodes', i],
          message: 'carries credentials; set session.redis.username/password (they apply to every node)',
        });
    }
    const tlsOn = sentinel ? redis.sentinel.tls : cluster ? /^rediss:/i.test(redis.cluster.nodes[0] ?? '') : /^rediss:\/\//i.test(redis.url);
    if ((ca_file || cert_file || key_file) && !tlsOn) {
      ctx.addIssue({
        code: 'custom',
        path: ['tls'],
        message: sentinel ? 'needs session.redis.sentinel.tls: true' : cluster ? 'needs rediss:// cluster nodes' : 'needs a rediss:// url',
      });
    }
    if (Boolean(cert_file) !== Boolean(key_file))
      ctx.addIssue({ code: 'custom', path: ['tls', cert_file ? 'key_file' : 'cert_file'], message: 'cert_file and key_file go together' });
    if ((redis.username || redis.password) && /^[a-z]+:\/\/[^/?#]*@/i.test(redis.url)) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'carries credentials while session.redis.username/password are set; keep them in one place' });
    }
  });

export const sessionSchema = z.strictObject({
  secrets: z
    .array(z.string())
    .default([])
    .describe('Cookie MAC and encryption secrets, newest first; older ones still verify (rotation). At least 32 characters'),
  cookie_name: z
    .string()
    .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "must be a valid cookie name (letters, digits and !#$%&'*+.^_`|~-)")
    .default('gatehouse_session')
    .describe('Session cookie name (__Host- is prepended when public_url is https)'),
  ttl: duration('8h', '2s').describe('Absolute session lifetime (at least 2s)'),
  idle_timeout: duration('1h', '1s').describe('Session ends after this long without a request (at least 1s)'),
  refresh_interval: duration('5m', '1s').describe('Re-read claims and roles at least this often (needs a refresh token; at least 1s)'),
  refresh_before: duration('60s').describe('Renew tokens this long before they expire'),
  max_sessions: z.number().int().positive().default(100000).describe('Most sessions kept in memory; least recently used evicted first'),
  hot_sessions: z
    .number()
    .int()
    .positive()
    .default(10000)
    .describe(
      'Recently active sessions whose record (memory store), identity headers, signed assertion and verified cookie stay ready; others are rebuilt on their next request',
    ),
  store: z.enum(['memory', 'redis']).default('memory').describe('memory (one replica) or redis (shared by replicas)'),
  redis: redisSchema.prefault({}),
});
