// A redis-server of a test's own (password, ACL user, TLS), on a loopback port, without persistence; a Sentinel set
// (primary, replica, three sentinels) and a three-primary Cluster; and test certificates made with openssl. Tests that need one skip with the reason when the binary is missing.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

/** Whether an executable answers `<name> <versionFlag>` (redis-server --version, openssl version). */
export function hasCommand(name: string, versionArgs: string[]): boolean {
  try {
    execFileSync(name, versionArgs, { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

export interface RedisServer {
  readonly port: number;
  readonly pid: number;
  /** SIGTERM (a clean shutdown: an append-only file is flushed), then SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** SIGKILL: the process dies as in a crash. */
  kill(): Promise<void>;
}

/**
 * Starts `redis-server` with `args` (after `--bind 127.0.0.1 --save "" --appendonly no`) and resolves once it
 * accepts connections. `tlsPort`: listen with TLS on that port only (`--port 0 --tls-port N`); the caller passes
 * the certificate flags. Stop it with `stop()` (SIGTERM to its PID, then SIGKILL after 10 s).
 */
export async function startRedisServer(args: string[], options: { tls?: boolean; port?: number } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const listen = options.tls ? ['--port', '0', '--tls-port', String(port)] : ['--port', String(port)];
  return spawnRedis([...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], port, 'Ready to accept connections');
}

/** Starts `redis-server <args>` and resolves once its output shows `readyLine`. */
async function spawnRedis(args: string[], port: number, readyLine: string): Promise<RedisServer> {
  const child: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`redis-server did not start within 5 s:\n${output}`)), 5000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const onData = (data: Buffer) => {
      output += data.toString();
      if (output.includes(readyLine)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`redis-server exited with ${code}:\n${output}`)));
  });
  child.stdout?.removeAllListeners('data');
  child.stderr?.removeAllListeners('data');
  child.stdout?.resume();
  child.stderr?.resume();
  const pid = child.pid as number;
  const signal = (first: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      // SIGTERM makes Redis write its append-only file and exit; give it time on a loaded machine
      const force = setTimeout(() => process.kill(pid, 'SIGKILL'), first === 'SIGTERM' ? 10_000 : 2000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      process.kill(pid, first);
    });
  return { port, pid, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') };
}

/** Runs `redis-cli <args>` and returns its output. */
export function redisCli(args: string[]): string {
  return execFileSync('redis-cli', args, { encoding: 'utf8', timeout: 20_000 });
}

export const SENTINEL_NAME = 'gatehouse-test';

export interface SentinelSet {
  primary: RedisServer;
  replica: RedisServer;
  sentinels: RedisServer[];
  /** `session.redis.sentinel.nodes` */
  nodes: string[];
  /** The primary's port as the sentinels name it now. */
  primaryPort(): number;
  stop(): Promise<void>;
}

/**
 * A primary, its replica, and three sentinels (quorum 2) watching it, in `dir`: the primary is judged down after
 * 1 s without an answer, and a failover is retried after 3 s. `password`: the data nodes require it (requirepass,
 * masterauth, sentinel auth-pass); `sentinelPassword`: the sentinels require it (requirepass, sentinel-pass).
 */
export async function startSentinelSet(dir: string, auth: { password?: string; sentinelPassword?: string; tls?: TestCertificates } = {}): Promise<SentinelSet> {
  const started: RedisServer[] = [];
  const { tls } = auth;
  // with tls, the data nodes listen with TLS only; replication and the sentinels reach them over TLS, with a client
  // certificate (the server one is for serverAuth only); the sentinels themselves stay plain
  const tlsFiles = tls
    ? [
        ...['--tls-replication', 'yes', '--tls-ca-cert-file', tls.caFile, '--tls-cert-file', tls.serverCertFile, '--tls-key-file', tls.serverKeyFile],
        ...['--tls-client-cert-file', tls.clientCertFile, '--tls-client-key-file', tls.clientKeyFile],
      ]
    : [];
  const dataAuth = [
    ...(auth.password ? ['--requirepass', auth.password, '--masterauth', auth.password] : []),
    ...(tls ? ['--tls-auth-clients', 'no', ...tlsFiles] : []),
  ];
  const cliAuth = (password: string | undefined) => (password ? ['--no-auth-warning', '-a', password] : []);
  const dataCli = [...cliAuth(auth.password), ...(tls ? ['--tls', '--cacert', tls.caFile] : [])];
  try {
    const primary = await startRedisServer(['--dir', dir, '--dbfilename', 'primary.rdb', ...dataAuth], { tls: Boolean(tls) });
    started.push(primary);
    const replica = await startRedisServer(['--dir', dir, '--dbfilename', 'replica.rdb', ...dataAuth, '--replicaof', '127.0.0.1', String(primary.port)], {
      tls: Boolean(tls),
    });
    started.push(replica);
    await waitFor(() => /master_link_status:up/.test(redisCli([...dataCli, '-p', String(replica.port), 'info', 'replication'])), {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: 'replica in sync',
    });
    const sentinels: RedisServer[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const file = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_NAME} 1000`,
          `sentinel failover-timeout ${SENTINEL_NAME} 3000`,
          `sentinel parallel-syncs ${SENTINEL_NAME} 1`,
          ...(auth.password ? [`sentinel auth-pass ${SENTINEL_NAME} ${auth.password}`] : []),
          ...(auth.sentinelPassword ? [`requirepass ${auth.sentinelPassword}`, `sentinel sentinel-pass ${auth.sentinelPassword}`] : []),
          ...(tls ? [`tls-replication yes`, `tls-ca-cert-file ${tls.caFile}`, `tls-cert-file ${tls.clientCertFile}`, `tls-key-file ${tls.clientKeyFile}`] : []),
          '',
        ].join('\n'),
      );
      const sentinel = await spawnRedis([file, '--sentinel'], port, '+monitor master');
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    const ask = (sentinel: RedisServer, what: string) =>
      redisCli([...cliAuth(auth.sentinelPassword), '-p', String(sentinel.port), 'sentinel', what, SENTINEL_NAME]);
    // a failover needs every sentinel to know the replica and the other sentinels (hello messages every 2 s)
    await waitFor(() => sentinels.every((s) => /num-other-sentinels\n2\n/.test(ask(s, 'master')) && /num-slaves\n1\n/.test(ask(s, 'master'))), {
      timeoutMs: 15_000,
      intervalMs: 50,
      what: 'sentinels know each other and the replica',
    });
    const primaryPort = () =>
      Number(
        ask(sentinels[0] as RedisServer, 'get-master-addr-by-name')
          .trim()
          .split('\n')[1],
      );
    return {
      primary,
      replica,
      sentinels,
      nodes: sentinels.map((s) => `127.0.0.1:${s.port}`),
      primaryPort,
      stop: () => stopAll(started),
    };
  } catch (error) {
    await stopAll(started);
    throw error;
  }
}

async function stopAll(servers: RedisServer[]): Promise<void> {
  await Promise.all(servers.map((server) => server.kill()));
}

export interface TestCluster {
  nodes: RedisServer[];
  /** `session.redis.cluster.nodes` */
  urls: string[];
  /** Stops node `index` cleanly and starts it again on the same port with its data (append-only file) and nodes.conf. */
  restart(index: number): Promise<void>;
  /** Every node says cluster_state:ok. */
  healthy(): boolean;
  /** Moves `slots` hash slots from node `from` to node `to` (redis-cli --cluster reshard; keys migrate with them). */
  reshard(from: number, to: number, slots: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Three primaries, no replicas, each with an append-only file in its own folder of `dir`. `tls`: clients and the
 * cluster bus speak TLS only (no client certificate required), with the server certificate of `tls`.
 */
export async function startCluster(dir: string, options: { tls?: TestCertificates } = {}): Promise<TestCluster> {
  const nodes: RedisServer[] = [];
  const argsOf: string[][] = [];
  const { tls } = options;
  // the bus connects node to node with a client certificate (the server one is for serverAuth only)
  const tlsArgs = tls
    ? [
        ...['--tls-cluster', 'yes', '--tls-auth-clients', 'no', '--tls-ca-cert-file', tls.caFile],
        ...['--tls-cert-file', tls.serverCertFile, '--tls-key-file', tls.serverKeyFile],
        ...['--tls-client-cert-file', tls.clientCertFile, '--tls-client-key-file', tls.clientKeyFile],
      ]
    : [];
  const cli = (args: string[]) => redisCli([...(tls ? ['--tls', '--cacert', tls.caFile] : []), ...args]);
  try {
    for (let i = 0; i < 3; i++) {
      const nodeDir = join(dir, `node-${i}`);
      mkdirSync(nodeDir, { recursive: true });
      // appendfsync always: a write is on disk before Redis acknowledges it, so a restart (even one that ends in
      // SIGKILL on a loaded machine) loses no session written just before it; everysec could lose the last second
      const args = [
        '--dir',
        nodeDir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(nodeDir, 'nodes.conf'),
        '--cluster-port',
        String(await freePort()),
        '--cluster-node-timeout',
        '2000',
        ...tlsArgs,
      ];
      argsOf.push(args);
      nodes.push(await startRedisServer(args, { tls: Boolean(tls) }));
    }
    cli(['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    const healthy = () => {
      try {
        return nodes.every((node) => /cluster_state:ok/.test(cli(['-p', String(node.port), 'cluster', 'info'])));
      } catch {
        return false;
      }
    };
    await waitFor(healthy, { timeoutMs: 15_000, intervalMs: 50, what: 'cluster state ok' });
    return {
      nodes,
      urls: nodes.map((node) => `${tls ? 'rediss' : 'redis'}://127.0.0.1:${node.port}`),
      healthy,
      async reshard(from, to, slots) {
        const id = (index: number) => cli(['-p', String(nodes[index]?.port), 'cluster', 'myid']).trim();
        const args = [
          '--cluster',
          'reshard',
          `127.0.0.1:${nodes[from]?.port}`,
          '--cluster-from',
          id(from),
          '--cluster-to',
          id(to),
          '--cluster-slots',
          String(slots),
          '--cluster-yes',
        ];
        await new Promise<void>((resolve, reject) => {
          execFile('redis-cli', [...(tls ? ['--tls', '--cacert', tls.caFile] : []), ...args], { timeout: 60_000 }, (error) =>
            error ? reject(error) : resolve(),
          );
        });
        await waitFor(healthy, { timeoutMs: 15_000, intervalMs: 50, what: 'cluster state ok after resharding' });
      },
      async restart(index) {
        const node = nodes[index] as RedisServer;
        await node.stop();
        nodes[index] = await startRedisServer(argsOf[index] as string[], { port: node.port, tls: Boolean(tls) });
        await waitFor(healthy, { timeoutMs: 15_000, intervalMs: 50, what: 'cluster state ok after restart' });
      },
      stop: () => stopAll(nodes),
    };
  } catch (error) {
    await stopAll(nodes);
    throw error;
  }
}

export interface TestCertificates {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A second CA that signed nothing here: trusting only it must fail. */
  otherCaFile: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

/** A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate, all P-256, in `dir`. */
export function makeTestCertificates(dir: string): TestCertificates {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    openssl(['req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=gatehouse test ${ca}`], dir);
  }
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const leaf of ['server', 'client']) {
    openssl(['req', '-new', ...ec, '-keyout', `${leaf}.key`, '-out', `${leaf}.csr`, '-subj', `/CN=gatehouse test ${leaf}`], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${leaf}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        `${leaf}.ext`,
        '-out',
        `${leaf}.pem`,
      ],
      dir,
    );
  }
  return {
    caFile: join(dir, 'ca.pem'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
    otherCaFile: join(dir, 'other-ca.pem'),
  };
}
