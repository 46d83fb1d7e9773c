// Two gatehouse replicas on Redis behind Sentinel (a primary, its replica, three sentinels, all real redis-server
// processes of this test): sessions, logout and back-channel logout across replicas; then the primary is killed under
// signed-in load and the sentinels promote the replica: no session is lost, and once the failover is over (the
// sentinels name the new primary and both replicas are ready) no signed-in request fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, SENTINEL_NAME, startSentinelSet, type SentinelSet } from '../../helpers/redis-server.js';
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
  ? 'two replicas on Redis Sentinel (primary, replica, three sentinels)'
  : 'two replicas on Redis Sentinel: SKIPPED, redis-server or redis-cli is not installed';

describe.skipIf(!haveRedis)(TITLE, () => {
  let dir = '';
  let set: SentinelSet;
  let replicas: TwoReplicas;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-sentinel-e2e-'));
    set = await startSentinelSet(dir);
    // a short local cache, so requests after the failover read the sessions from the new primary
    replicas = await startTwoReplicas({ sentinel: { name: SENTINEL_NAME, nodes: set.nodes }, cache_ttl: '200ms' });
  }, 60_000);
  afterAll(async () => {
    await replicas?.close();
    await set?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sessions, logout and back-channel logout work across the two replicas', async () => {
    await checkAcrossReplicas(replicas);
  });

  it('tokens renewed once for a burst on both replicas (the refresh lock holds across replicas)', async () => {
    const short = await startTwoReplicas({ sentinel: { name: SENTINEL_NAME, nodes: set.nodes } }, { tokenTtlS: TOKEN_TTL_S });
    try {
      await checkRefreshOnce(short, TOKEN_TTL_S);
    } finally {
      await short.close();
    }
  }, 30_000);

  it('primary killed under load: the replica is promoted, no session is lost, no 5xx once the failover is over', async () => {
    const sessions = [];
    for (const user of ['alice', 'alice']) sessions.push({ user, ...(await replicas.signIn(user)) });
    const oldPrimary = set.primary.port;
    expect(set.primaryPort()).toBe(oldPrimary);
    const failover = (async () => {
      await set.primary.kill();
      await waitFor(() => set.primaryPort() === set.replica.port, { timeoutMs: 20_000, intervalMs: 50 });
      await waitFor(() => replicas.a.readiness.ready && replicas.b.readiness.ready, { timeoutMs: 10_000 });
    })();
    const load = await loadThrough(replicas, sessions, failover, { after: 200 });
    await failover;
    await expectServedThrough(replicas, sessions, load);
    // sign-in, logout and back-channel logout on the promoted primary
    await checkAcrossReplicas(replicas);
  }, 60_000);
});
