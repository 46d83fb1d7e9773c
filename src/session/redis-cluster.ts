// Redis Cluster (node-redis createCluster): commands routed by their key's slot, evictions over regular pub/sub.
import { createCluster } from 'redis';
import { dataNodeOptions, type RedisConnectionOptions } from './redis-connection.js';
import { ProbedConnection } from './redis-probed-connection.js';

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
  readonly sharded = true;
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
