// Redis behind Sentinel and Redis Cluster (node-redis createSentinel / createCluster). Neither client says when its
// nodes are reachable again after a failure, so readiness is probed: after any error the connection is not ready
// until a probe passes (the data nodes answer PING and a message published on the channel comes back).
import { randomBytes } from 'node:crypto';
import { createClient, createCluster, createSentinel } from 'redis';
import { dataNodeOptions, reconnectDelay, type RedisConnection, type RedisConnectionOptions } from './redis-connection.js';

const PROBE_INTERVAL_MS = 250;

/** Readiness by probe, a command timeout of our own (node-redis may retry a command across a failover), the channel. */
abstract class ProbedConnection implements RedisConnection {
  protected readonly options: RedisConnectionOptions;
  private readonly probeTag = `probe:${randomBytes(9).toString('base64url')}:`;
  private probeCount = 0;
  private probeWaiter: { message: string; resolve: () => void } | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private isReady = false;
  private everReady = false;
  protected closed = false;
  private settleConnect: (() => void) | undefined;

  constructor(options: RedisConnectionOptions) {
    this.options = options;
  }

  get ready(): boolean {
    return this.isReady;
  }

  abstract get canSend(): boolean;
  protected abstract start(): Promise<void>;
  protected abstract checkData(): Promise<void>;
  protected abstract sendNow(key: string, args: readonly string[]): Promise<unknown>;
  protected abstract transactionNow(key: string, commands: readonly (readonly string[])[]): Promise<unknown[]>;
  protected abstract stop(): Promise<void>;

  connect(): Promise<void> {
    const settled = new Promise<void>((resolve) => {
      this.settleConnect = resolve;
    });
    void this.startLoop(0);
    return settled;
  }

  send(key: string, args: readonly string[]): Promise<unknown> {
    return this.timed(this.sendNow(key, args));
  }

  transaction(key: string, commands: readonly (readonly string[])[]): Promise<unknown[]> {
    return this.timed(this.transactionNow(key, commands));
  }

  publish(key: string, message: string): Promise<unknown> {
    return this.send(key, ['PUBLISH', this.options.channel, message]);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.probeTimer !== undefined) clearTimeout(this.probeTimer);
    this.setReady(false);
    this.settle();
    await this.stop().catch(() => undefined);
  }

  /** Every message on the channel: probes end here, the rest go to the store. */
  protected received(message: string): void {
    if (message.startsWith(this.probeTag)) {
      if (this.probeWaiter?.message === message) this.probeWaiter.resolve();
      return;
    }
    this.options.onMessage(message);
  }

  /** A node, a sentinel or the subscription failed: not ready until a probe passes again. */
  protected failed(error: unknown): void {
    if (this.closed) return;
    this.options.onError(error);
    this.setReady(false);
    this.settle();
    this.scheduleProbe(PROBE_INTERVAL_MS);
  }

  private async startLoop(retries: number): Promise<void> {
    if (this.closed) return;
    try {
      await this.start();
    } catch (error) {
      this.failed(error);
      if (this.probeTimer !== undefined) clearTimeout(this.probeTimer);
      this.probeTimer = undefined;
      const timer = setTimeout(() => void this.startLoop(retries + 1), reconnectDelay(retries));
      timer.unref();
      return;
    }
    this.scheduleProbe(0);
  }

  private scheduleProbe(delayMs: number): void {
    if (this.closed || this.probing || this.probeTimer !== undefined) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      void this.probe();
    }, delayMs);
    this.probeTimer.unref();
  }

  private async probe(): Promise<void> {
    this.probing = true;
    const message = `${this.probeTag}${this.probeCount++}`;
    let passed = false;
    try {
      await this.timed(this.checkData());
      const arrived = new Promise<void>((resolve) => {
        this.probeWaiter = { message, resolve };
      });
      await this.publish(message, message);
      await this.timed(arrived);
      passed = true;
    } catch {
      // the failure was already reported by the client's error event, or the probe message did not come back
    } finally {
      this.probeWaiter = undefined;
      this.probing = false;
    }
    if (this.closed) return;
    if (passed) this.setReady(true);
    else this.scheduleProbe(PROBE_INTERVAL_MS);
  }

  private setReady(ready: boolean): void {
    if (ready === this.isReady || (ready && this.closed)) return;
    this.isReady = ready;
    // any failure may have cost the subscription a message (a node restarted, the primary moved): resync
    const resync = ready && this.everReady;
    if (ready) this.everReady = true;
    this.options.onReadyChange(ready, resync);
    if (ready) this.settle();
  }

  private timed<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.options.commandTimeoutMs} ms`)), this.options.commandTimeoutMs);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  private settle(): void {
    const settle = this.settleConnect;
    this.settleConnect = undefined;
    settle?.();
  }
}

interface SentinelTarget {
  name: string;
  nodes: readonly { host: string; port: number }[];
  tls: boolean;
  /** The sentinels' own credentials (sentinel requirepass / ACL), apart from the data nodes'. */
  auth?: { username?: string; password?: string };
}

function newSentinel(options: RedisConnectionOptions, target: SentinelTarget) {
  const { username, password } = target.auth ?? {};
  return createSentinel({
    name: target.name,
    sentinelRootNodes: target.nodes.map(({ host, port }) => ({ host, port })),
    nodeClientOptions: dataNodeOptions(options, target.tls),
    sentinelClientOptions: {
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      socket: { connectTimeout: options.commandTimeoutMs },
    },
    // errors of the primary's connection reach our 'error' listener, so readiness follows them
    passthroughClientErrorEvents: true,
    maxCommandRediscovers: 3,
  });
}

/** The primary a set of sentinels names; node-redis follows a failover (switch-master) to the new primary. */
export class SentinelConnection extends ProbedConnection {
  private readonly target: SentinelTarget;
  private sentinel: ReturnType<typeof newSentinel> | undefined;

  constructor(target: SentinelTarget, options: RedisConnectionOptions) {
    super(options);
    this.target = target;
  }

  get canSend(): boolean {
    return this.sentinel?.isReady === true;
  }

  protected async start(): Promise<void> {
    await this.sentinel?.destroy().catch(() => undefined);
    this.sentinel = undefined;
    await this.someSentinelAnswers();
    const sentinel = newSentinel(this.options, this.target);
    this.sentinel = sentinel;
    sentinel.on('error', (error: unknown) => this.failed(error));
    await sentinel.connect();
    if (this.closed) return;
    await sentinel.subscribe(this.options.channel, (message: string) => this.received(message));
  }

  protected async checkData(): Promise<void> {
    await this.sendNow('', ['PING']);
  }

  /**
   * Asks the sentinels for the primary before node-redis does: its connect loop prints a failure with console.log,
   * which would put a line that is not JSON into the log, so an unreachable or refusing set fails here instead.
   */
  private async someSentinelAnswers(): Promise<void> {
    const { username, password } = this.target.auth ?? {};
    const problems: string[] = [];
    for (const { host, port } of this.target.nodes) {
      const client = createClient({
        ...(username ? { username } : {}),
        ...(password ? { password } : {}),
        socket: { host, port, connectTimeout: this.options.commandTimeoutMs, reconnectStrategy: false },
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const primary = await client.sendCommand(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.target.name]);
        if (Array.isArray(primary) && primary.length === 2) return;
        problems.push(`${host}:${port} knows no primary named ${this.target.name}`);
      } catch (error) {
        problems.push(`${host}:${port}: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        client.destroy();
      }
    }
    throw new Error(`no sentinel answers for ${this.target.name} (${problems.join('; ')})`);
  }

  protected sendNow(_key: string, args: readonly string[]): Promise<unknown> {
    if (this.sentinel === undefined || !this.sentinel.isReady) return Promise.reject(new Error('sentinel not connected'));
    return this.sentinel.sendCommand(false, [...args]);
  }

  protected transactionNow(_key: string, commands: readonly (readonly string[])[]): Promise<unknown[]> {
    if (this.sentinel === undefined || !this.sentinel.isReady) return Promise.reject(new Error('sentinel not connected'));
    const multi = this.sentinel.multi();
    for (const args of commands) multi.addCommand(false, [...args]);
    return multi.exec() as Promise<unknown[]>;
  }

  protected async stop(): Promise<void> {
    await this.sentinel?.destroy();
  }
}

function newCluster(options: RedisConnectionOptions, urls: readonly string[]) {
  const tls = urls.every((url) => /^rediss:/i.test(url));
  return createCluster({
    rootNodes: urls.map((url) => ({ url })),
    defaults: dataNodeOptions(options, tls),
  });
}

/**
 * A Redis Cluster. Commands go to the primary of their key's slot (MOVED/ASK followed by node-redis); evictions use
 * regular pub/sub, which the cluster bus carries to every node, so the subscriber may sit on any node.
 */
export class ClusterConnection extends ProbedConnection {
  private readonly cluster: ReturnType<typeof newCluster>;
  private subscribed = false;

  constructor(urls: readonly string[], options: RedisConnectionOptions) {
    super(options);
    this.cluster = newCluster(options, urls);
    this.cluster.on('error', (error: unknown) => this.failed(error));
    this.cluster.on('node-error', (error: unknown) => this.failed(error));
  }

  get canSend(): boolean {
    return this.cluster.isOpen;
  }

  protected async start(): Promise<void> {
    if (!this.cluster.isOpen) await this.cluster.connect();
    if (this.closed || this.subscribed) return;
    await this.cluster.subscribe(this.options.channel, (message: string) => this.received(message));
    this.subscribed = true;
  }

  protected async checkData(): Promise<void> {
    await Promise.all(this.cluster.masters.map(async (master) => (await this.cluster.nodeClient(master)).ping()));
  }

  protected sendNow(key: string, args: readonly string[]): Promise<unknown> {
    return this.cluster.sendCommand(key, false, [...args]);
  }

  protected transactionNow(key: string, commands: readonly (readonly string[])[]): Promise<unknown[]> {
    const multi = this.cluster.multi(key);
    for (const args of commands) multi.addCommand(key, false, [...args]);
    return multi.exec() as Promise<unknown[]>;
  }

  protected async stop(): Promise<void> {
    this.cluster.destroy();
  }
}
