// The Redis store on Sentinel and on Cluster, two store instances standing for two replicas, against real
// redis-server processes of the test's own: shared sessions, evictions on every instance, logout by sid and sub across
// hash slots, the refresh lock, one-time claims; on a cluster, a session's keys share one slot.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createCluster } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import { createLogger } from '../../../src/ops/logger.js';
import { createSessionStore, redisTarget } from '../../../src/session/create-store.js';
import type { RedisTarget } from '../../../src/session/redis-connection.js';
import { RedisStore } from '../../../src/session/redis-store.js';
import { Sealer } from '../../../src/session/sealer.js';
import type { SessionRecord } from '../../../src/session/types.js';
import {
  hasCommand,
  makeTestCertificates,
  redisCli,
  SENTINEL_NAME,
  startCluster,
  startSentinelSet,
  type SentinelSet,
  type TestCertificates,
  type TestCluster,
} from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait.js';

const haveRedis = hasCommand('redis-server', ['--version']) && hasCommand('redis-cli', ['--version']);
const PREFIX = 'gh-topo:';
const logger = createLogger({ level: 'silent', sync: true });
const sealer = new Sealer(['redis-topologies-test-secret-0123456789ab']);

function record(now: number, extra: Partial<SessionRecord> = {}): SessionRecord {
  return {
    key: randomBytes(32).toString('base64url'),
    claims: { sub: `user-${randomBytes(4).toString('hex')}` },
    roles: [],
    sid: `sid-${randomBytes(4).toString('hex')}`,
    idToken: 'id-token',
    tokensExpireAt: now + 3600_000,
    createdAt: now,
    expiresAt: now + 3600_000,
    lastSeenAt: now,
    refreshAt: now + 300_000,
    ...extra,
  };
}

/** The behaviour both topologies must show, given two connected stores on the same Redis. */
function sharedBehaviour(stores: () => [RedisStore, RedisStore]) {
  it("a session set on one instance is read on the other; a delete evicts it from the other's cache", async () => {
    const [a, b] = stores();
    const session = record(Date.now());
    await a.set(session);
    expect((await b.get(session.key))?.claims.sub).toBe(session.claims.sub);
    // a read that raced with the set's own eviction message is not cached; the next one is
    await waitFor(async () => (await b.get(session.key)) !== undefined && b.peek(session.key) !== undefined, { timeoutMs: 1000 });
    await a.delete(session.key);
    await waitFor(() => b.peek(session.key) === undefined, { timeoutMs: 1000 });
    expect(await b.get(session.key)).toBeUndefined();
  });

  it('deleteBySid and deleteBySub end sessions that live in different slots, on every instance', async () => {
    const [a, b] = stores();
    const now = Date.now();
    const sub = `user-${randomBytes(4).toString('hex')}`;
    const sessions = Array.from({ length: 6 }, () => record(now, { claims: { sub } }));
    for (const session of sessions) await a.set(session);
    for (const session of sessions) expect(await b.get(session.key)).toBeDefined();
    expect(await b.deleteBySid(sessions[0]?.sid as string)).toBe(1);
    await waitFor(() => a.peek(sessions[0]?.key as string) === undefined, { timeoutMs: 1000 });
    expect(await a.deleteBySub(sub)).toBe(5);
    await waitFor(() => sessions.every((session) => b.peek(session.key) === undefined), { timeoutMs: 1000 });
    for (const session of sessions) expect(await b.get(session.key)).toBeUndefined();
  });

  it('the refresh lock runs a task once across both instances; the other gets undefined at once', async () => {
    const [a, b] = stores();
    const key = randomBytes(32).toString('base64url');
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let runs = 0;
    const first = a.withLock(key, async () => {
      runs++;
      await held;
      return 'a';
    });
    await waitFor(() => runs === 1, { timeoutMs: 2000 });
    expect(await b.withLock(key, async () => 'b')).toBeUndefined();
    release();
    expect(await first).toBe('a');
    expect(await b.withLock(key, async () => 'b')).toBe('b');
  });

  it('a one-time id is claimed once across both instances', async () => {
    const [a, b] = stores();
    const id = randomBytes(8).toString('hex');
    expect(await a.claimOnce(id, 60_000)).toBe(true);
    expect(await b.claimOnce(id, 60_000)).toBe(false);
  });
}

function openStores(target: RedisTarget): [RedisStore, RedisStore] {
  const open = () => new RedisStore({ target, prefix: PREFIX, cacheTtlMs: 60_000, idleTimeoutMs: 3600_000, sealer, logger });
  return [open(), open()];
}

/** Stores built from `session.redis` config the way start-up builds them; `closeAll` closes every one opened. */
function configuredStores(): { open(redis: Record<string, unknown>): Promise<RedisStore>; closeAll(): Promise<void> } {
  const opened: RedisStore[] = [];
  return {
    async open(redis) {
      const config = configSchema.parse({ session: { store: 'redis', redis: { prefix: PREFIX, ...redis } } });
      const store = (await createSessionStore(config, { sealer, logger })) as RedisStore;
      opened.push(store);
      return store;
    },
    async closeAll() {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    },
  };
}

describe.skipIf(!haveRedis)(
  haveRedis ? 'Redis store on Sentinel (primary, replica, three sentinels)' : 'Redis store on Sentinel: SKIPPED, redis-server or redis-cli missing',
  () => {
    let dir = '';
    let set: SentinelSet;
    let pair: [RedisStore, RedisStore];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gh-sentinel-'));
      set = await startSentinelSet(dir);
      const config = configSchema.parse({ session: { store: 'redis', redis: { sentinel: { name: SENTINEL_NAME, nodes: set.nodes } } } });
      pair = openStores(redisTarget(config.session.redis));
      await Promise.all(pair.map((store) => store.connect()));
      expect(pair.map((store) => store.ready)).toEqual([true, true]);
    }, 40_000);
    afterAll(async () => {
      await Promise.all((pair ?? []).map((store) => store.close()));
      await set?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    sharedBehaviour(() => pair);
  },
);

describe.skipIf(!haveRedis)(
  haveRedis
    ? 'Redis store on Sentinel with passwords (data nodes and sentinels)'
    : 'Redis store on Sentinel with passwords: SKIPPED, redis-server or redis-cli missing',
  () => {
    let dir = '';
    const PASSWORD = 'data+node/pass=word';
    const SENTINEL_PASSWORD = 'sentinel:pass@word';
    let set: SentinelSet;
    const stores = configuredStores();
    const storeWith = stores.open;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gh-sentinel-auth-'));
      set = await startSentinelSet(dir, { password: PASSWORD, sentinelPassword: SENTINEL_PASSWORD });
    }, 40_000);
    afterAll(async () => {
      await stores.closeAll();
      await set?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('session.redis.password reaches the data nodes and session.redis.sentinel.password the sentinels', async () => {
      const store = await storeWith({ password: PASSWORD, sentinel: { name: SENTINEL_NAME, nodes: set.nodes, password: SENTINEL_PASSWORD } });
      expect(store.ready).toBe(true);
      const session = record(Date.now());
      await store.set(session);
      expect((await store.reload(session.key))?.claims.sub).toBe(session.claims.sub);
    });

    it("without the sentinels' password the store is not ready and refuses reads with GH_STORE_UNAVAILABLE", async () => {
      const store = await storeWith({ password: PASSWORD, sentinel: { name: SENTINEL_NAME, nodes: set.nodes, password: 'wrong' } });
      expect(store.ready).toBe(false);
      await expect(store.get('anything')).rejects.toMatchObject({ code: 'GH_STORE_UNAVAILABLE' });
    });
  },
);

const haveOpenssl = hasCommand('openssl', ['version']);
const TLS_TITLE =
  haveRedis && haveOpenssl
    ? 'Redis store on a TLS Cluster (rediss:// nodes)'
    : 'Redis store on a TLS Cluster: SKIPPED, redis-server, redis-cli or openssl missing';

describe.skipIf(!haveRedis || !haveOpenssl)(TLS_TITLE, () => {
  let dir = '';
  let cluster: TestCluster;
  let certs: TestCertificates;
  const stores = configuredStores();
  const storeWith = (caFile: string): Promise<RedisStore> => stores.open({ cluster: { nodes: cluster.urls.slice(0, 1) }, tls: { ca_file: caFile } });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-cluster-tls-'));
    certs = makeTestCertificates(dir);
    cluster = await startCluster(join(dir, 'nodes'), { tls: certs });
  }, 40_000);
  afterAll(async () => {
    await stores.closeAll();
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('rediss:// nodes and session.redis.tls.ca_file: every node (the discovered ones too) over TLS', async () => {
    const store = await storeWith(certs.caFile);
    expect(store.ready).toBe(true);
    const sessions = Array.from({ length: 6 }, () => record(Date.now()));
    for (const session of sessions) await store.set(session);
    for (const session of sessions) expect((await store.reload(session.key))?.claims.sub).toBe(session.claims.sub);
  });

  it("a CA that did not sign the nodes' certificates: not ready, reads refused with GH_STORE_UNAVAILABLE", async () => {
    const store = await storeWith(certs.otherCaFile);
    expect(store.ready).toBe(false);
    await expect(store.get('anything')).rejects.toMatchObject({ code: 'GH_STORE_UNAVAILABLE' });
  });
});

const SENTINEL_TLS_TITLE =
  haveRedis && haveOpenssl
    ? 'Redis store on Sentinel with TLS data nodes'
    : 'Redis store on Sentinel with TLS data nodes: SKIPPED, redis-server, redis-cli or openssl missing';

describe.skipIf(!haveRedis || !haveOpenssl)(SENTINEL_TLS_TITLE, () => {
  let dir = '';
  let set: SentinelSet;
  let certs: TestCertificates;
  const stores = configuredStores();
  const storeWith = stores.open;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-sentinel-tls-'));
    certs = makeTestCertificates(dir);
    set = await startSentinelSet(dir, { tls: certs });
  }, 40_000);
  afterAll(async () => {
    await stores.closeAll();
    await set?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sentinel.tls: true and session.redis.tls.ca_file: the primary the sentinels name is reached over TLS', async () => {
    const store = await storeWith({ sentinel: { name: SENTINEL_NAME, nodes: set.nodes, tls: true }, tls: { ca_file: certs.caFile } });
    expect(store.ready).toBe(true);
    const session = record(Date.now());
    await store.set(session);
    expect((await store.reload(session.key))?.claims.sub).toBe(session.claims.sub);
  });

  it('without sentinel.tls the TLS-only primary cannot be used: not ready, reads refused', async () => {
    const store = await storeWith({ sentinel: { name: SENTINEL_NAME, nodes: set.nodes } });
    expect(store.ready).toBe(false);
    await expect(store.get('anything')).rejects.toMatchObject({ code: 'GH_STORE_UNAVAILABLE' });
  });
});

describe.skipIf(!haveRedis)(
  haveRedis ? 'Redis store on Cluster (three primaries)' : 'Redis store on Cluster: SKIPPED, redis-server or redis-cli missing',
  () => {
    let dir = '';
    let cluster: TestCluster;
    let pair: [RedisStore, RedisStore];
    const extra: RedisStore[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gh-cluster-'));
      cluster = await startCluster(dir);
      const config = configSchema.parse({ session: { store: 'redis', redis: { cluster: { nodes: cluster.urls } } } });
      pair = openStores(redisTarget(config.session.redis));
      await Promise.all(pair.map((store) => store.connect()));
      expect(pair.map((store) => store.ready)).toEqual([true, true]);
    }, 40_000);
    afterEach(async () => {
      await Promise.all(extra.splice(0).map((store) => store.close()));
    });
    afterAll(async () => {
      await Promise.all((pair ?? []).map((store) => store.close()));
      await cluster?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    sharedBehaviour(() => pair);

    it('keeps a session and its lock in one hash slot ({hash tag}); sessions spread over the nodes', async () => {
      const raw = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })) });
      await raw.connect();
      try {
        const now = Date.now();
        const sessions = Array.from({ length: 12 }, () => record(now));
        for (const session of sessions) await pair[0].set(session);
        for (const session of sessions) {
          const sessionKey = `${PREFIX}s:{${session.key}}`;
          expect(await raw.exists(sessionKey)).toBe(1);
          const slot = await raw.clusterKeySlot(sessionKey);
          expect(await raw.clusterKeySlot(`${PREFIX}lock:{${session.key}}`)).toBe(slot);
        }
        const perNode = await Promise.all(raw.masters.map(async (master) => (await raw.nodeClient(master)).dbSize()));
        expect(perNode).toHaveLength(3);
        for (const keys of perNode) expect(keys).toBeGreaterThan(0);
      } finally {
        raw.destroy();
      }
    });

    it('after a resharding, a transaction on a moved slot reaches its new node (node-redis follows MOVED only for single commands)', async () => {
      const raw = createCluster({ rootNodes: cluster.urls.map((url) => ({ url })) });
      await raw.connect();
      try {
        // redis-cli moves the source's lowest slots: node 0's 0..499 go to node 2. The session's sid and sub indexes
        // stay outside them: a single command on a moved slot would follow MOVED and refresh the slot map first.
        const moves = async (key: string) => (await raw.clusterKeySlot(key)) < 500;
        const inMovingSlot = async (): Promise<SessionRecord> => {
          for (;;) {
            const session = record(Date.now());
            if (
              (await moves(`${PREFIX}s:{${session.key}}`)) &&
              !(await moves(`${PREFIX}sub:${session.claims.sub}`)) &&
              !(await moves(`${PREFIX}sid:${session.sid}`))
            )
              return session;
          }
        };
        const before = await inMovingSlot();
        await pair[0].set(before);
        await cluster.reshard(0, 2, 500);
        // pair[0] has sent nothing since: its slot map still names node 0 for these slots
        const after = await inMovingSlot();
        await pair[0].set(after);
        expect((await pair[1].get(after.key))?.claims.sub).toBe(after.claims.sub);
        await pair[0].delete(before.key);
        expect(await pair[1].reload(before.key)).toBeUndefined();
        expect(redisCli(['-p', String(cluster.nodes[2]?.port), 'exists', `${PREFIX}s:{${after.key}}`]).trim()).toBe('1');
      } finally {
        raw.destroy();
      }
    }, 60_000);

    it('createSessionStore builds a ready cluster store from config', async () => {
      const config = configSchema.parse({ session: { store: 'redis', redis: { prefix: PREFIX, cluster: { nodes: cluster.urls.slice(0, 1) } } } });
      const store = (await createSessionStore(config, { sealer, logger })) as RedisStore;
      extra.push(store);
      expect(store.ready).toBe(true);
      const session = record(Date.now());
      await store.set(session);
      expect((await pair[1].get(session.key))?.claims.sub).toBe(session.claims.sub);
    });
  },
);
