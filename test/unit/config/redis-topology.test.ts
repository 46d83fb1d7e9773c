// session.redis.url, .sentinel and .cluster: exactly one, each checked with a line naming its key; and the target
// the store is built for.
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, maskSecrets, validateConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { ConfigError } from '../../../src/errors.js';
import { redisTarget } from '../../../src/session/create-store.js';
import { temporaryYamlFiles } from '../../helpers/gatehouse-process.js';

const yaml = temporaryYamlFiles('gatehouse-redis-topology-');

function problemsOf(redis: Record<string, unknown>): readonly string[] {
  try {
    validateConfig({ mode: 'local', session: { redis } });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

const target = (redis: Record<string, unknown>) => redisTarget(validateConfig({ mode: 'local', session: { redis } }).session.redis);

describe('session.redis topologies', () => {
  it('url alone (or nothing) is one node; sentinel and cluster become their targets', () => {
    expect(target({})).toEqual({ kind: 'node', url: 'redis://127.0.0.1:6379' });
    expect(target({ url: 'rediss://redis.example:6380' })).toEqual({ kind: 'node', url: 'rediss://redis.example:6380' });
    expect(target({ sentinel: { name: 'mymaster', nodes: ['sentinel-0:26379', '[::1]:26380', '10.0.0.3:26381'] } })).toEqual({
      kind: 'sentinel',
      name: 'mymaster',
      nodes: [
        { host: 'sentinel-0', port: 26379 },
        { host: '::1', port: 26380 },
        { host: '10.0.0.3', port: 26381 },
      ],
      tls: false,
    });
    expect(target({ sentinel: { name: 'm', nodes: ['s:26379'], username: 'watcher', password: 'pw' }, password: 'data' })).toEqual({
      kind: 'sentinel',
      name: 'm',
      nodes: [{ host: 's', port: 26379 }],
      tls: false,
      auth: { username: 'watcher', password: 'pw' },
    });
    expect(target({ cluster: { nodes: ['redis://r0:7000', 'redis://r1:7001'] } })).toEqual({ kind: 'cluster', urls: ['redis://r0:7000', 'redis://r1:7001'] });
  });

  it("the sentinels' password is a secret: masked wherever the config is printed", () => {
    const config = validateConfig({
      mode: 'local',
      session: { redis: { password: 'data-pw', sentinel: { name: 'm', nodes: ['s:26379'], username: 'watcher', password: 'sentinel-pw' } } },
    });
    const masked = (maskSecrets(config) as Config).session.redis;
    expect(masked.sentinel).toEqual({ name: 'm', nodes: ['s:26379'], tls: false, username: 'watcher', password: '***' });
    expect(masked.password).toBe('***');
  });

  afterAll(() => yaml.remove());

  it("comes from the environment too: comma-separated nodes, the sentinels' password from a file", () => {
    const env = {
      GATEHOUSE_SESSION_REDIS_SENTINEL_NAME: 'mymaster',
      GATEHOUSE_SESSION_REDIS_SENTINEL_NODES: 'sentinel-0:26379, sentinel-1:26379',
      GATEHOUSE_SESSION_REDIS_SENTINEL_PASSWORD_FILE: yaml.write('s3cr:et/+\n'),
    };
    const { config } = loadConfig({ path: yaml.write('mode: local\n'), env });
    expect(redisTarget(config.session.redis)).toEqual({
      kind: 'sentinel',
      name: 'mymaster',
      nodes: [
        { host: 'sentinel-0', port: 26379 },
        { host: 'sentinel-1', port: 26379 },
      ],
      tls: false,
      auth: { username: '', password: 's3cr:et/+' },
    });
    const cluster = loadConfig({ path: yaml.write('mode: local\n'), env: { GATEHOUSE_SESSION_REDIS_CLUSTER_NODES: 'redis://r0:7000,redis://r1:7001' } }).config;
    expect(redisTarget(cluster.session.redis)).toEqual({ kind: 'cluster', urls: ['redis://r0:7000', 'redis://r1:7001'] });
  });

  it('refuses more than one of url, sentinel, cluster, naming the second', () => {
    expect(problemsOf({ url: 'redis://r:6379', sentinel: { name: 'm', nodes: ['s:26379'] } })).toEqual([
      'session.redis.sentinel: set exactly one of session.redis.url, session.redis.sentinel, session.redis.cluster (got url and sentinel)',
    ]);
    expect(problemsOf({ sentinel: { name: 'm', nodes: ['s:26379'] }, cluster: { nodes: ['redis://r0:7000'] } })).toEqual([
      'session.redis.cluster: set exactly one of session.redis.url, session.redis.sentinel, session.redis.cluster (got sentinel and cluster)',
    ]);
  });

  it('sentinel needs a name and host:port nodes', () => {
    expect(problemsOf({ sentinel: { nodes: ['s:26379'] } })).toEqual([
      'session.redis.sentinel.name: names the primary the sentinels watch; required with sentinel.nodes',
    ]);
    expect(problemsOf({ sentinel: { name: 'm' } })).toEqual(['session.redis.sentinel.nodes: needs at least one sentinel host:port']);
    expect(problemsOf({ sentinel: { name: 'm', nodes: ['redis://s:26379', 's'] } })).toEqual([
      'session.redis.sentinel.nodes.0: must be host:port, like sentinel-0:26379 (got "redis://s:26379")',
      'session.redis.sentinel.nodes.1: must be host:port, like sentinel-0:26379 (got "s")',
    ]);
  });

  it('cluster nodes are redis URLs of one scheme without credentials; the prefix leaves hash tags to gatehouse', () => {
    expect(problemsOf({ cluster: { nodes: ['r0:7000'] } })[0]).toMatch(/^session\.redis\.cluster\.nodes\.0: /);
    expect(problemsOf({ cluster: { nodes: ['redis://r0:7000', 'rediss://r1:7001'] } })).toEqual([
      'session.redis.cluster.nodes: mixes redis:// and rediss://; every node of a cluster speaks the same',
    ]);
    expect(problemsOf({ cluster: { nodes: ['redis://:pw@r0:7000'] } })).toEqual([
      'session.redis.cluster.nodes.0: carries credentials; set session.redis.username/password (they apply to every node)',
    ]);
    expect(problemsOf({ cluster: { nodes: ['redis://r0:7000'] }, prefix: 'app{1}:' })).toEqual([
      'session.redis.prefix: must not contain { or } with cluster: gatehouse puts its own {hash tags} after the prefix',
    ]);
  });

  it('tls files need TLS on the chosen topology', () => {
    expect(problemsOf({ sentinel: { name: 'm', nodes: ['s:26379'] }, tls: { ca_file: '/nonexistent/ca.pem' } })).toEqual([
      'session.redis.tls: needs session.redis.sentinel.tls: true',
    ]);
    expect(problemsOf({ cluster: { nodes: ['redis://r0:7000'] }, tls: { ca_file: '/nonexistent/ca.pem' } })).toEqual([
      'session.redis.tls: needs rediss:// cluster nodes',
    ]);
    expect(problemsOf({ url: 'redis://r:6379', tls: { ca_file: '/nonexistent/ca.pem' } })).toEqual(['session.redis.tls: needs a rediss:// url']);
  });
});
