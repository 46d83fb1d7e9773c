// The real Redis for tests: whether it answers, and a TCP relay in front of it that a test can cut and restore,
// standing in for a Redis outage without stopping the machine's Redis.
import net from 'node:net';
import { freePort } from './ports.js';

export const REDIS_PORT = 6379;
export const REDIS_URL = `redis://127.0.0.1:${REDIS_PORT}`;

/** Whether a Redis server answers PING on 127.0.0.1:6379 within a second. */
export function redisAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(REDIS_PORT, '127.0.0.1');
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString('latin1').startsWith('+PONG')));
  });
}

/** A TCP relay to the real Redis that a test can cut and restore, standing in for a Redis outage. */
export class RedisRelay {
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly port: number,
    private server: net.Server,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisRelay> {
    const port = await freePort();
    const relay = new RedisRelay(port, net.createServer());
    await relay.listen();
    return relay;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async resume(): Promise<void> {
    this.server = net.createServer();
    await this.listen();
  }

  private async listen(): Promise<void> {
    this.server.on('connection', (client) => {
      const upstream = net.connect(REDIS_PORT, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
  }
}
