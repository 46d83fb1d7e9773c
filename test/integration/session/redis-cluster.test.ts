// Two gatehouse replicas on a Redis Cluster (three primaries, real redis-server processes of this test, append-only
// files): sessions, logout and back-channel logout across replicas and hash slots, the refresh lock; then, under
// signed-in load, 2,000 slots are resharded to another node and one node is restarted: no session is lost, and once
// the cluster is whole again (every node says cluster_state:ok and both replicas are ready) no signed-in request fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, redisCli, startCluster, type TestCluster } from '../../helpers/redis-server.js';
import {
  checkAcrossReplicas,
  checkRefreshOnce,
  expectServedThrough,
  loadThrough,
  startTwoReplicas,
  type TwoReplicas,
} from '../../helpers/redis-topology-replicas.js';
import { waitFor } from '../../helpers/wait.js';

const TOKEN_TTL_S = 3;
const haveRedis = hasCommand('redis-server', ['--version']) && hasCommand('redis-cli', ['--version']);
const TITLE = haveRedis
  ? 'two replicas on Redis Cluster (three primaries)'
  : 'two replicas on Redis Cluster: SKIPPED, redis-server or redis-cli is not installed';

describe.skipIf(!haveRedis)(TITLE, () => {
  let dir = '';
  let cluster: TestCluster;
  let replicas: TwoReplicas;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-cluster-e2e-'));
    cluster = await startCluster(dir);
    // a short local cache, so requests after the restart read the sessions from the cluster
    replicas = await startTwoReplicas({ cluster: { nodes: cluster.urls.slice(0, 2) }, cache_ttl: '200ms' });
  }, 60_000);
  afterAll(async () => {
    await replicas?.close();
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sessions, logout and back-channel logout work across the two replicas', async () => {
    await checkAcrossReplicas(replicas);
  });

  it('tokens renewed once for a burst on both replicas (the refresh lock holds across replicas)', async () => {
    const short = await startTwoReplicas({ cluster: { nodes: cluster.urls } }, { tokenTtlS: TOKEN_TTL_S });
    try {
      await checkRefreshOnce(short, TOKEN_TTL_S);
    } finally {
      await short.close();
    }
  }, 30_000);

  it('2,000 slots resharded to another node under load: no session is lost, no 5xx once the move is over', async () => {
    const sessions = [];
    const keysOn = (node: number) =>
      redisCli(['-p', String(cluster.nodes[node]?.port), '--scan', '--pattern', 'gatehouse:s:*'])
        .split('\n')
        .filter(Boolean);
    const slotOf = (key: string) => Number(redisCli(['-p', String(cluster.nodes[0]?.port), 'cluster', 'keyslot', key]).trim());
    // sessions until some live in the slots that move (redis-cli moves the source's lowest slots: 0..1999)
    const moving = () => keysOn(0).filter((key) => slotOf(key) < 2000);
    while (sessions.length < 4 || moving().length < 2) sessions.push({ user: 'alice', ...(await replicas.signIn('alice')) });
    const moved = moving();
    const move = (async () => {
      await cluster.reshard(0, 2, 2000);
      await waitFor(() => replicas.a.readiness.ready && replicas.b.readiness.ready, { timeoutMs: 10_000 });
    })();
    const load = await loadThrough(replicas, sessions, move, { after: 200 });
    await move;
    await expectServedThrough(replicas, sessions, load);
    // the sessions' keys went with their slots
    expect(keysOn(2)).toEqual(expect.arrayContaining(moved));
    for (const key of moved) expect(keysOn(0)).not.toContain(key);
  }, 90_000);

  it('a node restarted under load: no session is lost, no 5xx once the cluster is whole again', async () => {
    const sessions = [];
    // sessions until the node to restart holds some (the session keys spread over the slots)
    const onNode = () =>
      redisCli(['-p', String(cluster.nodes[1]?.port), '--scan', '--pattern', 'gatehouse:s:*'])
        .split('\n')
        .filter(Boolean).length;
    while (sessions.length < 4 || onNode() < 2) sessions.push({ user: 'alice', ...(await replicas.signIn('alice')) });
    const restart = (async () => {
      await cluster.restart(1);
      await waitFor(() => replicas.a.readiness.ready && replicas.b.readiness.ready, { timeoutMs: 10_000 });
    })();
    const load = await loadThrough(replicas, sessions, restart, { after: 200 });
    await restart;
    await expectServedThrough(replicas, sessions, load);
    await checkAcrossReplicas(replicas);
  }, 60_000);
});
