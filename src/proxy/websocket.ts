// Joins a client socket and an upgraded app socket after a WebSocket handshake; frames flow untouched both ways.
import type { Duplex } from 'node:stream';
import type { UpgradedSocket } from './forward.js';

export function spliceUpgrade(client: Duplex, head: Buffer, upgraded: UpgradedSocket): void {
  const { socket: app } = upgraded;
  let response = `${upgraded.statusLine}\r\n`;
  for (let i = 0; i < upgraded.headers.length; i += 2) response += `${upgraded.headers[i]}: ${upgraded.headers[i + 1]}\r\n`;
  client.write(`${response}\r\n`);
  if (head.length > 0) app.write(head);
  const closeBoth = (): void => {
    client.destroy();
    app.destroy();
  };
  client.on('error', closeBoth).on('close', closeBoth);
  app.on('error', closeBoth).on('close', closeBoth);
  app.pipe(client);
  client.pipe(app);
}

/** Answers a refused upgrade on the raw socket with a complete HTTP response, then closes it. */
export function refuseUpgrade(client: Duplex, status: number, reason: string, headers: Record<string, string>, body: string): void {
  if (!client.writable) return void client.destroy();
  let head = `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  client.end(`${head}\r\n${body}`);
}
