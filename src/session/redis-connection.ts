// One way to talk to Redis whatever its topology (one node, Sentinel, Cluster): commands routed by the key they
// touch, MULTI/EXEC within one hash slot, a subscription that survives reconnects, and whether all of it works now.
import { createClient } from 'redis';

/** TLS material for a `rediss://` URL (PEM text, not file names); absent fields use Node's defaults (system CAs). */
export interface RedisTlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Where Redis is: one node by URL, a Sentinel-watched primary by name, or a Cluster by some of its nodes. */
export type RedisTarget =
  | { kind: 'node'; url: string }
  | { kind: 'sentinel'; name: string; nodes: readonly { host: string; port: number }[]; tls: boolean; auth?: { username?: string; password?: string } }
  | { kind: 'cluster'; urls: readonly string[] };

export interface RedisConnectionOptions {
  target: RedisTarget;
  /** ACL user and password of the data nodes, taken as they are (no URL-encoding); never logged. */
  username?: string;
  password?: string;
  tls?: RedisTlsOptions;
  commandTimeoutMs: number;
  /** The one channel this connection subscribes to. */
  channel: string;
  onMessage(message: string): void;
  /** Every connection failure (a metric, a log line); the connection keeps reconnecting. */
  onError(error: unknown): void;
  /**
   * `ready` changed. `resync` (with ready true): messages on the channel may have been missed since the last time
   * the connection was ready, so anything cached on their account must be forgotten.
   */
  onReadyChange(ready: boolean, resync: boolean): void;
}

export interface RedisConnection {
  /** Commands are answered and messages on the channel arrive. */
  readonly ready: boolean;
  /** Keys live on several nodes (a cluster): a transaction may only touch keys of one hash slot. */
  readonly sharded: boolean;
  /** False while a command is known to fail at once (one node, disconnected): the caller answers 503 without trying. */
  readonly canSend: boolean;
  /** Starts connecting; resolves once ready or after the first failure, never rejects, keeps reconnecting. */
  connect(): Promise<void>;
  /** One command; `key` is the key it touches (routes it on a cluster). */
  send(key: string, args: readonly string[]): Promise<unknown>;
  /** MULTI/EXEC; every key the commands touch shares `key`'s hash slot (keyless PUBLISH may join). */
  transaction(key: string, commands: readonly (readonly string[])[]): Promise<unknown[]>;
  publish(key: string, message: string): Promise<unknown>;
  close(): Promise<void>;
}

const MAX_RECONNECT_DELAY_MS = 5000;

export function reconnectDelay(retries: number): number {
  return Math.min(100 * 2 ** retries, MAX_RECONNECT_DELAY_MS) + Math.floor(Math.random() * 100);
}

/** Options every data-node client gets: credentials, TLS material, fail fast while disconnected, timeouts. */
export function dataNodeOptions(options: RedisConnectionOptions, tlsOn: boolean, reconnect: (retries: number) => number | Error = reconnectDelay) {
  const { username, password, tls, commandTimeoutMs } = options;
  return {
    // empty means unset: node-redis would otherwise send AUTH with an empty password
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    // fail fast while disconnected instead of queueing: the caller answers 503 and the local cache keeps serving
    disableOfflineQueue: true,
    commandOptions: { timeout: commandTimeoutMs },
    socket: {
      ...(tlsOn ? { tls: true as const } : {}),
      ...(tls?.ca ? { ca: tls.ca } : {}),
      ...(tls?.cert ? { cert: tls.cert } : {}),
      ...(tls?.key ? { key: tls.key } : {}),
      connectTimeout: commandTimeoutMs,
      reconnectStrategy: reconnect,
    },
  };
}

function createNodeClient(url: string, options: RedisConnectionOptions) {
  const base = dataNodeOptions(options, false);
  // the URL's scheme decides TLS (rediss://); the socket options only add trust anchors and a client certificate
  return createClient({ ...base, url });
}

type NodeClient = ReturnType<typeof createNodeClient>;

/** One Redis node: a command connection and a subscriber connection, each reconnecting on its own. */
export class NodeConnection implements RedisConnection {
  readonly sharded = false;
  private readonly client: NodeClient;
  private readonly subscriber: NodeClient;
  private readonly options: RedisConnectionOptions;
  private subscribed = false;
  private subscriberLost = false;
  private isReady = false;
  private closed = false;
  private settleConnect: (() => void) | undefined;

  constructor(url: string, options: RedisConnectionOptions) {
    this.options = options;
    this.client = createNodeClient(url, options);
    this.subscriber = this.client.duplicate();
    this.client.on('error', (error: Error) => this.failed(error));
    this.client.on('ready', () => this.update());
    this.subscriber.on('error', (error: Error) => {
      if (this.subscribed) this.subscriberLost = true;
      this.failed(error);
    });
    this.subscriber.on('ready', () => this.subscriberReady());
  }

  get ready(): boolean {
    return this.isReady;
  }

  get canSend(): boolean {
    return this.client.isReady;
  }

  connect(): Promise<void> {
    const settled = new Promise<void>((resolve) => {
      this.settleConnect = resolve;
    });
    // the returned promises settle only when connected (or closed); failures arrive as 'error' events
    this.client.connect().catch(() => undefined);
    this.subscriber.connect().catch(() => undefined);
    return settled;
  }

  send(_key: string, args: readonly string[]): Promise<unknown> {
    return this.client.sendCommand([...args]);
  }

  transaction(_key: string, commands: readonly (readonly string[])[]): Promise<unknown[]> {
    const multi = this.client.multi();
    for (const args of commands) multi.addCommand([...args]);
    return multi.exec() as Promise<unknown[]>;
  }

  publish(key: string, message: string): Promise<unknown> {
    return this.send(key, ['PUBLISH', this.options.channel, message]);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.update();
    for (const client of [this.subscriber, this.client]) {
      try {
        client.destroy();
      } catch {
        // already closed
      }
    }
  }

  private failed(error: Error): void {
    this.options.onError(error);
    this.update();
    this.settle();
  }

  private subscriberReady(): void {
    if (this.subscribed) {
      this.update();
      return;
    }
    this.subscriber
      .subscribe(this.options.channel, (message: string) => this.options.onMessage(message))
      .then(() => {
        this.subscribed = true;
        this.update();
      })
      .catch((error: unknown) => this.options.onError(error));
  }

  private update(): void {
    const ready = !this.closed && this.client.isReady && this.subscriber.isReady && this.subscribed;
    if (ready === this.isReady) return;
    this.isReady = ready;
    // evictions published while the subscriber was down were missed; forget the cache only now that both
    // connections are back, so cached sessions keep being served until Redis can answer for them
    const resync = ready && this.subscriberLost;
    if (resync) this.subscriberLost = false;
    this.options.onReadyChange(ready, resync);
    if (ready) this.settle();
  }

  private settle(): void {
    const settle = this.settleConnect;
    this.settleConnect = undefined;
    settle?.();
  }
}
