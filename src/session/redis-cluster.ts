// Redis Cluster (node-redis createCluster): commands routed by their key's slot, evictions over regular pub/sub.
import { setTimeout as delay } from 'node:timers/promises';
import { createCluster } from 'redis';
import { dataNodeOptions, type RedisConnectionOptions } from './redis-connection.js';
import { ProbedConnection } from './redis-probed-connection.js';

/** How often a transaction is sent again after a redirect (node-redis's limit for single commands is 16 too). */
const MAX_TRANSACTION_REDIRECTS = 16;
/** A slot being migrated answers ASK until its keys have moved: the transaction is sent again after this pause. */
const ASK_RETRY_MS = 50;

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

  /**
   * node-redis follows MOVED and ASK for single commands but not for MULTI: after a resharding its slot map is stale
   * and every transaction on a moved slot failed with MOVED (nothing was applied: EXEC aborts). So a redirected
   * transaction is sent again: after MOVED once a keyed read has followed the redirect (which refreshes the slot map),
   * after ASK once the slot's migration has had a moment.
   */
  protected async transactionNow(key: string, commands: readonly (readonly string[])[]): Promise<unknown[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const multi = this.cluster.multi(key);
        for (const args of commands) multi.addCommand(key, false, [...args]);
        return (await multi.exec()) as unknown[];
      } catch (error) {
        const redirect = error instanceof Error ? /^(MOVED|ASK) /.exec(error.message)?.[1] : undefined;
        if (redirect === undefined || attempt >= MAX_TRANSACTION_REDIRECTS) throw error;
        if (redirect === 'MOVED') await this.cluster.sendCommand(key, false, ['EXISTS', key]);
        else await delay(ASK_RETRY_MS);
      }
    }
  }

  protected async stop(): Promise<void> {
    this.cluster.destroy();
  }
}
