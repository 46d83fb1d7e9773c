// WebSocket upgrades in cloud mode are admitted like any other request: the session, the access rules and the
// public paths decide, and a refused upgrade never reaches the app. A ws echo app stands behind gatehouse.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { signedInCookieHeader } from '../../helpers/session-requests.js';
import { headerValues } from '../../helpers/upstream.js';

let stack: CloudStack;
const upgrades: IncomingMessage[] = [];
const app = createServer((_req, res) => res.writeHead(426).end());
const wss = new WebSocketServer({ server: app });
wss.on('connection', (socket, req) => {
  upgrades.push(req);
  socket.on('message', (data) => socket.send(data));
});

beforeAll(async () => {
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  stack = await startCloudStack({
    config: { upstream: { url: appUrl }, public_paths: ['/public/'], access: { rules: [{ path: '/admin/', allow: { roles: ['admin'] } }] } },
  });
});

afterAll(async () => {
  await stack?.close();
  for (const client of wss.clients) client.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  app.closeAllConnections();
  await new Promise<void>((resolve) => app.close(() => resolve()));
});

/** Opens a WebSocket through gatehouse; resolves with the handshake status and, when open, one echoed message. */
function open(path: string, cookie?: string): Promise<{ status: number; echo?: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${stack.url.replace('http:', 'ws:')}${path}`, { headers: cookie ? { cookie } : {} });
    socket.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      socket.terminate();
    });
    socket.once('open', () => socket.send('ping'));
    socket.once('message', (data) => {
      resolve({ status: 101, echo: String(data) });
      socket.close();
    });
    socket.once('error', (error) => (socket.readyState === WebSocket.CLOSED ? undefined : reject(error)));
  });
}

describe('WebSocket upgrades are admitted like requests', () => {
  it('anonymous: refused with 401 on a protected path, the app sees no upgrade; a public path opens without identity', async () => {
    const before = upgrades.length;
    expect(await open('/live')).toEqual({ status: 401 });
    expect(upgrades.length).toBe(before);
    expect(await open('/public/socket')).toEqual({ status: 101, echo: 'ping' });
    expect(headerValues(upgrades.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual([]);
  });

  it('signed in: the upgrade carries the identity; an access rule the user does not meet refuses it with 403 before the app', async () => {
    const carol = await signedInCookieHeader(stack, 'carol');
    expect(await open('/live', carol)).toEqual({ status: 101, echo: 'ping' });
    expect(headerValues(upgrades.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['carol']);
    const before = upgrades.length;
    expect(await open('/admin/socket', carol)).toEqual({ status: 403 });
    expect(upgrades.length).toBe(before);

    const alice = await signedInCookieHeader(stack, 'alice');
    expect(await open('/admin/socket', alice)).toEqual({ status: 101, echo: 'ping' });
    expect(headerValues(upgrades.at(-1)?.rawHeaders ?? [], 'x-forwarded-roles')).toEqual(['admin']);
  });
});
