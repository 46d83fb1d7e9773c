// Redis behind Sentinel or Cluster: neither node-redis client says when its nodes are reachable again after a
// failure, so readiness is probed: after any error the connection is not ready until a probe passes (the data nodes
// answer PING and a message published on the channel comes back). Commands get a timeout of our own, since
// node-redis may retry a command across a failover for as long as it lasts.
import { randomBytes } from 'node:crypto';
import { reconnectDelay, type RedisConnection, type RedisConnectionOptions } from './redis-connection.js';

const PROBE_INTERVAL_MS = 250;
const CLOSE_TIMEOUT_MS = 3000;
/** Eviction messages start with the publisher's origin, base64url (never a colon), so no eviction looks like this. */
const PROBE_PREFIX = 'probe:';

/** Readiness by probe, a command timeout of our own (node-redis may retry a command across a failover), the channel. */
export abstract class ProbedConnection implements RedisConnection {
  protected readonly options: RedisConnectionOptions;
  private readonly probeTag = `${PROBE_PREFIX}${randomBytes(9).toString('base64url')}:`;
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

  abstract readonly sharded: boolean;
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
    // node-redis's destroy waits for a connect in progress (a primary that never answered): shutdown does not
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      timer.unref();
    });
    await Promise.race([this.stop().catch(() => undefined), bounded]);
    clearTimeout(timer);
  }

  /** Every message on the channel: probes (this replica's and the others') end here, the rest go to the store. */
  protected received(message: string): void {
    if (message.startsWith(PROBE_PREFIX)) {
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
