// A three-primary Redis Cluster of the bench's own (redis-server --cluster-enabled, redis-cli --cluster create) on
// loopback ports, in a temp dir, for the cluster-store row; every node is stopped with the row.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/ports.js';
import { waitFor } from '../../test/helpers/wait.js';
import { makeTempDir, spawnTracked, stopChild, waitForPort } from './processes.js';

/** Whether redis-server and redis-cli run (the cluster row is skipped otherwise). */
export function haveRedisCluster() {
  try {
    for (const command of ['redis-server', 'redis-cli']) execFileSync(command, ['--version'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** @param {number} port */
function clusterOk(port) {
  try {
    return /cluster_state:ok/.test(execFileSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8', timeout: 5000 }));
  } catch {
    return false;
  }
}

/**
 * Starts three nodes and joins them into a cluster; resolves once every node says cluster_state:ok.
 * @returns {Promise<{ urls: string[], stop: () => Promise<void> }>}
 */
export async function startRedisCluster() {
  const dir = makeTempDir('redis-cluster');
  /** @type {import('node:child_process').ChildProcess[]} */
  const children = [];
  const ports = [];
  const stop = () => Promise.all(children.map((child) => stopChild(child))).then(() => undefined);
  try {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const nodeDir = join(dir, `node-${i}`);
      mkdirSync(nodeDir);
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', nodeDir];
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(nodeDir, 'nodes.conf'), '--cluster-port', String(await freePort()));
      children.push(spawnTracked('redis-server', args, { stdio: 'ignore' }));
      ports.push(port);
      await waitForPort(port);
    }
    execFileSync('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      stdio: 'ignore',
      timeout: 30_000,
    });
    await waitFor(() => ports.every(clusterOk), { timeoutMs: 15_000, intervalMs: 100, what: 'the bench Redis Cluster reaching cluster_state:ok' });
    return { urls: ports.map((port) => `redis://127.0.0.1:${port}`), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
