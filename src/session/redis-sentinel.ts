// Redis behind Sentinel (node-redis createSentinel): the primary a set of sentinels names, followed through a failover.
import { createClient, createSentinel } from 'redis';
import { dataNodeOptions, reconnectDelay, type RedisConnectionOptions } from './redis-connection.js';
import { ProbedConnection } from './redis-probed-connection.js';

interface SentinelTarget {
  name: string;
  nodes: readonly { host: string; port: number }[];
  tls: boolean;
  /** The sentinels' own credentials (sentinel requirepass / ACL), apart from the data nodes'. */
  auth?: { username?: string; password?: string };
}

/** `open`: false once the connection is closed; a data-node client then stops reconnecting (see `stop`). */
function newSentinel(options: RedisConnectionOptions, target: SentinelTarget, open: () => boolean) {
  const { username, password } = target.auth ?? {};
  return createSentinel({
    name: target.name,
    sentinelRootNodes: target.nodes.map(({ host, port }) => ({ host, port })),
    nodeClientOptions: dataNodeOptions(options, target.tls, (retries) => (open() ? reconnectDelay(retries) : new Error('session store closed'))),
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
  readonly sharded = false;
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
    const sentinel = newSentinel(this.options, this.target, () => !this.closed);
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
